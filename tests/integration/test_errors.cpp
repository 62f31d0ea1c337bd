/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors as an application meets them, reading the bus: Deepgram's refusals
 * against dg-emulator (its error bodies and dg-error header), an unreachable
 * service, Ctrl-C while both APIs are down. Permanent failures are one ERROR
 * within one attempt, never a retry loop; the ERROR comes before any EOS;
 * transient ones are WARNINGs and retries; lost audio is one report per
 * stretch, naming the cause. */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstring>
#include <string>

#include "dg_test_support.h"
#include "gststtfailover.h"

using dgtest::BusLog;

namespace {

const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

std::string unique_breaker() {
  static int n = 0;
  return "errors-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

/* What the application saw first, ERROR or EOS, and the ERROR's text. */
struct Ending {
  bool error = false, eos = false;
  std::string text; /* message + debug */
};

/* A loopback port nobody listens on: connections to it are refused. */
unsigned closed_port() {
  GSocket *sock =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
  GInetAddress *loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *any = g_inet_socket_address_new(loopback, 0);
  g_assert_true(g_socket_bind(sock, any, FALSE, nullptr));
  GSocketAddress *bound = g_socket_get_local_address(sock, nullptr);
  unsigned port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_object_unref(bound);
  g_object_unref(any);
  g_object_unref(loopback);
  g_object_unref(sock); /* closes it, never listened */
  return port;
}

/* An EOS, or the ERROR that came instead, in the test log. */
void expect_eos(const Ending &e) {
  if (!e.eos)
    g_test_message("expected EOS, got %s", e.error ? e.text.c_str() : "nothing");
  g_assert_true(e.eos);
}

/* Plays the pipeline and reads the bus as an application does, up to the
 * first ERROR or EOS. */
Ending play_until_end(GstElement *pipeline, GstClockTime timeout = 30 * GST_SECOND) {
  Ending e;
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(m, &err, &debug);
    e.error = true;
    e.text = std::string(err->message) + " | " + (debug ? debug : "");
    g_error_free(err);
    g_free(debug);
  } else if (m) {
    e.eos = true;
  }
  if (m)
    gst_message_unref(m);
  gst_object_unref(bus);
  return e;
}

struct Pipeline {
  GstElement *pipeline = nullptr, *src = nullptr;
  std::unique_ptr<BusLog> log;
  Pipeline(const dgemu::Emulator &emu, const std::string &tail, bool live = false) {
    std::string desc = std::string("appsrc name=src format=time is-live=") +
                       (live ? "true" : "false") + " caps=" + kCaps + " ! " + tail;
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    g_assert_no_error(err);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    log = std::make_unique<BusLog>(pipeline);
  }
  ~Pipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    log.reset();
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }
};

/* 402 on the live upgrade, alone: one ERROR naming the status, Deepgram's
 * words and the request id, after one attempt; no EOS before it. */
void test_stream_402_is_one_error() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"refuse","status":402})");
  Pipeline p(*emu, "dgstreamsink url=@WS@ api-key=k breaker=" + unique_breaker());
  dgtest::push_sequence(p.src, 16000, 1, 0, 30, 0);
  Ending e = play_until_end(p.pipeline);
  g_assert_true(e.error);
  g_assert_nonnull(strstr(e.text.c_str(), "402"));
  /* Deepgram's words come in the upgrade's dg-error header (libsoup gives
   * no body for a refused upgrade). */
  g_assert_nonnull(strstr(e.text.c_str(), "enough credits"));
  g_assert_nonnull(strstr(e.text.c_str(), "request"));
  g_assert_cmpint(emu->counters().live_refused, ==, 1); /* not retried */
}

/* 402 on every pre-recorded request, alone: an ERROR with Deepgram's words,
 * no EOS first, and no retry (only the requests already in flight, at most
 * max-in-flight, were made); audio reported dropped names the cause. */
void test_batch_402_is_one_error() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"batch_error","status":402})");
  Pipeline p(*emu, "dgbatchsink url=@HTTP@ api-key=k min-chunk=1000 max-chunk=2000 "
                   "breaker=" +
                       unique_breaker());
  dgtest::push_sequence(p.src, 16000, 1, 0, 30, 0);
  Ending e = play_until_end(p.pipeline);
  g_assert_true(e.error);
  g_assert_nonnull(strstr(e.text.c_str(), "ASR_PAYMENT_REQUIRED"));
  g_assert_nonnull(strstr(e.text.c_str(), "credit"));
  g_assert_cmpint(emu->counters().batch_failed, >=, 1);
  g_assert_cmpint(emu->counters().batch_failed, <=, 2); /* max-in-flight's default */
  for (const auto &d : p.log->dropped())
    g_assert_cmpstr(d.reason.c_str(), ==, "server-error");
}

/* 401 and 404 on the pre-recorded API: the ERROR always reaches the bus
 * before EOS (it used to come after it in most runs). */
void test_batch_error_before_eos() {
  for (int status : {401, 404}) {
    for (int run = 0; run < 5; run++) {
      auto emu = dgtest::start_emulator();
      dgtest::inject(*emu, "{\"type\":\"batch_error\",\"status\":" + std::to_string(status) + "}");
      Pipeline p(*emu,
                 "dgbatchsink url=@HTTP@ api-key=k min-chunk=500 breaker=" + unique_breaker());
      dgtest::push_sequence(p.src, 16000, 1, 0, 8, 0); /* EOS follows at once */
      Ending e = play_until_end(p.pipeline);
      g_assert_true(e.error);
      g_assert_false(e.eos);
      g_assert_nonnull(strstr(e.text.c_str(), std::to_string(status).c_str()));
    }
  }
}

/* Behind sttfailover, 402 on the live API is a WARNING and a failover with
 * the reason; the pre-recorded API carries every block; no retry loop. */
void test_failover_live_402_degrades() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"refuse","status":402})");
  std::string b = unique_breaker();
  Pipeline p(*emu, "sttfailover name=f mode=stream-first breaker=" + b +
                       " retry-backoff-min=50 retry-backoff-max=100"
                       " f.stream ! queue ! dgstreamsink url=@WS@ api-key=k breaker=" +
                       b +
                       " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=k min-chunk=500"
                       " breaker=" +
                       b + "-batch f.text ! fakesink async=false");
  dgtest::push_sequence(p.src, 16000, 1, 0, 40, 0);
  Ending e = play_until_end(p.pipeline);
  expect_eos(e);
  auto degraded = p.log->element_messages("stt/degraded");
  g_assert_cmpuint(degraded.size(), ==, 1);
  gint code = 0;
  gst_structure_get_int(degraded[0], "code", &code);
  g_assert_cmpint(code, ==, 402);
  for (GstStructure *s : degraded)
    gst_structure_free(s);
  bool warned = false;
  for (const auto &w : p.log->warnings())
    warned = warned || strstr(w.c_str(), "402");
  g_assert_true(warned);
  g_assert_cmpuint(p.log->errors().size(), ==, 0);
  g_assert_true(dgtest::check_blocks(p.log->finals(), 0, 40, 0).perfect());
  g_assert_cmpint(emu->counters().live_refused, ==, 1); /* refused for good: no retry */
}

/* Both APIs refuse the key: the failover posts the ERROR (the sinks only
 * warn), and it comes before any EOS. */
void test_both_refused_is_an_error() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"([{"type":"refuse","status":401},{"type":"batch_error","status":401}])");
  std::string b = unique_breaker();
  Pipeline p(*emu, "sttfailover name=f mode=stream-first breaker=" + b +
                       " f.stream ! queue ! dgstreamsink url=@WS@ api-key=k breaker=" + b +
                       " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=k min-chunk=500"
                       " breaker=" +
                       b + "-batch f.text ! fakesink async=false");
  dgtest::push_sequence(p.src, 16000, 1, 0, 40, 0);
  Ending e = play_until_end(p.pipeline);
  g_assert_true(e.error);
  g_assert_false(e.eos);
  g_assert_nonnull(strstr(e.text.c_str(), "401"));
}

/* A live feed while both APIs are down: WARNINGs say so, and an EOS (Ctrl-C
 * with -e) ends the run in seconds, the audio reported dropped with the cause
 * instead of waited for. */
void test_both_down_live_eos_is_prompt() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"outage","api":"both","duration":600})");
  std::string b = unique_breaker();
  Pipeline p(*emu,
             "sttfailover name=f breaker=" + b +
                 " f.stream ! queue ! dgstreamsink url=@WS@ api-key=k breaker=" + b +
                 " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=k min-chunk=500"
                 " max-chunk=2000 retry-backoff-min=50 retry-backoff-max=200 breaker=" +
                 b + "-batch f.text ! fakesink async=false",
             true);
  gst_element_set_state(p.pipeline, GST_STATE_PLAYING);
  dgtest::push_sequence(p.src, 16000, 1, 0, 30, 0, false);
  g_assert_true(p.log->wait_for("stt/degraded", 1));
  /* The feed goes on (replays to batch ride on the next buffers). */
  dgtest::push_sequence(p.src, 16000, 1, 30, 10, 0, false);
  g_assert_true(p.log->wait_for_warning("Neither")); /* both down, said without -m */
  gint64 start = g_get_monotonic_time();
  gst_app_src_end_of_stream(GST_APP_SRC(p.src));
  Ending e = play_until_end(p.pipeline, 60 * GST_SECOND);
  double seconds = (g_get_monotonic_time() - start) / 1e6;
  g_printerr("# EOS while both APIs are down: %.1f s to the end\n", seconds);
  expect_eos(e);
  g_assert_cmpfloat(seconds, <, 20.0); /* not drain-timeout (120 s) */
  auto drops = p.log->dropped();
  g_assert_cmpuint(drops.size(), >=, 1);
  uint64_t dropped = 0;
  for (const auto &d : drops) {
    g_assert_true(d.reason == "server-error" || d.reason == "connect-failed");
    dropped += d.duration;
  }
  g_assert_cmpuint(dropped, >=, 2 * GST_SECOND);
}

/* A live source and a service that refuses every connection: audio past
 * replay-window is lost, one report per stretch (not one per buffer), with
 * the cause and the number of buffers it covers. */
void test_live_drops_are_one_report_per_stretch() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"refuse","status":503})");
  Pipeline p(*emu,
             "dgstreamsink url=@WS@ api-key=k replay-window=1000 retry-backoff-min=20 "
             "retry-backoff-max=50 breaker=" +
                 unique_breaker(),
             true);
  /* As a live source does: the first second, the refusal, then the rest. */
  gst_element_set_state(p.pipeline, GST_STATE_PLAYING);
  dgtest::push_sequence(p.src, 16000, 1, 0, 1, 0, false);
  g_assert_true(p.log->wait_for_warning("503"));
  dgtest::push_sequence(p.src, 16000, 1, 1, 59, 0);
  Ending e = play_until_end(p.pipeline);
  expect_eos(e);
  auto drops = p.log->dropped();
  g_assert_cmpuint(drops.size(), >=, 1);
  g_assert_cmpuint(drops.size(), <=, 3); /* 60 buffers: never one each */
  uint32_t buffers = 0;
  for (const auto &d : drops) {
    g_assert_cmpstr(d.reason.c_str(), ==, "server-error");
    g_assert_nonnull(strstr(d.detail.c_str(), "503"));
    buffers += d.buffers;
  }
  g_assert_cmpuint(buffers, >=, 50);
  bool said = false; /* the drop itself is a WARNING too, visible without -m */
  for (const auto &w : p.log->warnings())
    said = said || strstr(w.c_str(), "will not be transcribed");
  g_assert_true(said);
}

/* The README's bin on a file, with Deepgram unreachable: a WARNING at once
 * that says so, then the ERROR max-outage promises, before any EOS; never
 * minutes of silence and an empty caption file. */
void test_unreachable_file_errors_at_max_outage() {
  std::string port = std::to_string(closed_port());
  std::string b = unique_breaker();
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(
      (std::string("appsrc name=src format=time caps=") + kCaps +
       " ! dgtranscribebin api-key=k max-outage=2000 stream-url=ws://127.0.0.1:" + port +
       "/v1/listen batch-url=http://127.0.0.1:" + port + "/v1/listen breaker=" + b +
       " batch-breaker=" + b + "-batch ! fakesink async=false")
          .c_str(),
      &err);
  g_assert_no_error(err);
  BusLog log(pipeline);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  dgtest::push_sequence(src, 16000, 1, 0, 20, 0);
  Ending e = play_until_end(pipeline);
  g_assert_true(e.error);
  g_assert_false(e.eos);
  g_assert_nonnull(strstr(e.text.c_str(), "max-outage"));
  bool said = false;
  for (const auto &w : log.warnings())
    said = said || strstr(w.c_str(), "pre-recorded API failed");
  g_assert_true(said);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

/* A live dgstreamsink alone, Deepgram unreachable: a WARNING within the
 * first connect attempt, not silence until EOS. */
void test_unreachable_live_warns_at_once() {
  std::string port = std::to_string(closed_port());
  GError *err = nullptr;
  GstElement *pipeline =
      gst_parse_launch((std::string("appsrc name=src format=time is-live=true caps=") + kCaps +
                        " ! dgstreamsink api-key=k url=ws://127.0.0.1:" + port +
                        "/v1/listen breaker=" + unique_breaker())
                           .c_str(),
                       &err);
  g_assert_no_error(err);
  BusLog log(pipeline);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  dgtest::push_sequence(src, 16000, 1, 0, 2, 0, false);
  g_assert_true(log.wait_for_warning("Deepgram's live API failed"));
  g_assert_cmpuint(log.errors().size(), ==, 0); /* transient: it keeps trying */
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/errors/stream-402-is-one-error", test_stream_402_is_one_error);
  g_test_add_func("/errors/batch-402-is-one-error", test_batch_402_is_one_error);
  g_test_add_func("/errors/batch-error-before-eos", test_batch_error_before_eos);
  g_test_add_func("/errors/failover-live-402-degrades", test_failover_live_402_degrades);
  g_test_add_func("/errors/both-refused-is-an-error", test_both_refused_is_an_error);
  g_test_add_func("/errors/both-down-live-eos-is-prompt", test_both_down_live_eos_is_prompt);
  g_test_add_func("/errors/unreachable-file-errors-at-max-outage",
                  test_unreachable_file_errors_at_max_outage);
  g_test_add_func("/errors/unreachable-live-warns-at-once", test_unreachable_live_warns_at_once);
  g_test_add_func("/errors/live-drops-one-report-per-stretch",
                  test_live_drops_are_one_report_per_stretch);
  return g_test_run();
}
