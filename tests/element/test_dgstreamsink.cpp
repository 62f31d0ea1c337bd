/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink against dg-emulator (sequence engine): every block transcribed
 * exactly once at the right time, through every fault the emulator has. */
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <cstring>

#include "dg_test_support.h"
#include "stream_sink_harness.h"

using dgtest::BusLog;
using namespace streamtest;

namespace {

void test_happy_path() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "");
  stream_blocks(run, 120);
  assert_perfect(dgtest::check_blocks(run.log->finals(), 0, 120, 0));
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
  g_assert_cmpuint(run.stat("connections"), ==, 1);
  g_assert_cmpuint(run.stat("failures"), ==, 0);
  /* Every final carries the session and the branch. */
  for (const auto &t : run.log->finals()) {
    g_assert_cmpstr(t.branch.c_str(), ==, "stream");
    g_assert_false(t.session_id.empty());
  }
}

void test_interim_and_final() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "interim-results=true");
  stream_blocks(run, 60);
  g_assert_cmpuint(run.log->interims().size(), >, 0);
  assert_perfect(dgtest::check_blocks(run.log->finals(), 0, 60, 0));
}

void test_keepalive_across_gap() {
  dgemu::Options options;
  options.idle_timeout_s = 0.6; /* NET-0001 after 0.6 s without audio or text */
  auto emu = dgtest::start_emulator(options);
  Run run(*emu, "keepalive-interval=150");
  dgtest::push_sequence(run.src, 16000, 1, 0, 10, 0, false);
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  /* A silent stretch three times the idle timeout: only KeepAlives flow.
   * The wait is the behaviour under test (wall-clock idleness). */
  g_usleep(2 * G_USEC_PER_SEC);
  /* After the gap, blocks 10..19 start at 10 s: Deepgram's clock has not
   * moved, the pipeline's has; the time map must bridge it. */
  dgtest::push_sequence(run.src, 16000, 1, 10, 10, 9 * GST_SECOND);
  g_assert_true(run.log->run_to_end());
  g_assert_cmpuint(run.stat("failures"), ==, 0);
  g_assert_cmpuint(run.stat("keepalives"), >=, 3);
  g_assert_cmpint(emu->counters().live_accepted, ==, 1);
  auto finals = run.log->finals();
  assert_perfect(dgtest::check_blocks(finals, 0, 10, 0));
  assert_perfect(dgtest::check_blocks(finals, 10, 10, 9 * GST_SECOND));
}

void test_eos_waits_for_delayed_results() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(R"({"type":"delay","ms":400,"target":"new"})", &error);
  g_assert_cmpstr(error.c_str(), ==, "");
  Run run(*emu, "");
  stream_blocks(run, 30);
  assert_perfect(dgtest::check_blocks(run.log->finals(), 0, 30, 0));
}

void test_wrong_key_is_an_error() {
  dgemu::Options options;
  options.api_key = "the-right-key";
  auto emu = dgtest::start_emulator(options);
  Run run(*emu, "");
  dgtest::push_sequence(run.src, 16000, 1, 0, 20, 0);
  g_assert_false(run.log->run_to_end());
  auto errors = run.log->errors();
  g_assert_cmpuint(errors.size(), >=, 1);
  g_assert_nonnull(strstr(errors[0].c_str(), "refused the API key"));
  g_assert_null(strstr(errors[0].c_str(), "test-key"));
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
}

/* Faults that end a connection mid-stream: the sink reconnects and replays
 * what was never acknowledged; nothing lost, nothing duplicated. */
void check_recovers_from(const char *fault_json, const char *extra_props = "",
                         long long min_accepted = 2) {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(fault_json, &error);
  g_assert_cmpstr(error.c_str(), ==, "");
  Run run(*emu, extra_props);
  stream_blocks(run, 100);
  auto report = dgtest::check_blocks(run.log->finals(), 0, 100, 0);
  assert_perfect(report);
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
  g_assert_cmpuint(run.stat("failures"), >=, 1);
  g_assert_cmpint(emu->counters().live_accepted, >=, min_accepted);
}

void test_handshake_503_retries() {
  auto emu_refusals = R"({"type":"refuse","status":503,"count":2})";
  check_recovers_from(emu_refusals, "", 1);
}
void test_handshake_429_retries() {
  check_recovers_from(R"({"type":"refuse","status":429,"count":1})", "", 1);
}
void test_close_1011_mid_stream() {
  check_recovers_from(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1})");
}
void test_tcp_drop_mid_stream() {
  check_recovers_from(R"({"type":"drop","after_audio_ms":1500,"target":"new","count":1})");
}
void test_stall_mid_stream() {
  check_recovers_from(R"({"type":"stall","after_audio_ms":1500,"target":"new","count":1})",
                      "stall-timeout=400");
}
void test_malformed_json_mid_stream() {
  /* A garbled Results frame: the sink cannot trust the connection's acks,
   * so it reconnects and replays; the garbled words come back. */
  check_recovers_from(R"({"type":"malformed","after_audio_ms":1000,"target":"new","count":1})");
}

/* A file (appsrc is not live) with a replay window of one second and a
 * connection refused twice in the middle: render waits for room instead of
 * reporting "reconnect-backlog" drops, and every block comes back once. */
void test_file_waits_through_a_reconnect() {
  check_recovers_from(
      R"([{"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1},
          {"type":"refuse","status":503,"count":2,"at":0.3}])",
      "replay-window=1000", 2);
}

void test_undecodable_audio_is_an_error_naming_caps() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(
      R"({"type":"close","code":1008,"reason":"DATA-0000","after_bytes":16000,"target":"new"})",
      &error);
  g_assert_cmpstr(error.c_str(), ==, "");
  Run run(*emu, "");
  dgtest::push_sequence(run.src, 16000, 1, 0, 50, 0);
  g_assert_false(run.log->run_to_end());
  auto errors = run.log->errors();
  g_assert_cmpuint(errors.size(), >=, 1);
  g_assert_nonnull(strstr(errors[0].c_str(), "could not decode"));
  g_assert_nonnull(strstr(errors[0].c_str(), "rate=(int)16000"));
}

/* The storm the breaker exists for: once one pipeline has found the service
 * down, another pipeline with the same breaker does not even connect. */
void test_open_breaker_spares_the_service() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(R"({"type":"refuse","status":503})", &error); /* down for good */
  const char *props = "breaker=spare-test finalize-timeout=100";
  Run first(*emu, props);
  dgtest::push_sequence(first.src, 16000, 1, 0, 10, 0, false);
  gst_element_set_state(first.pipeline, GST_STATE_PLAYING);
  /* Three refusals trip the breaker (threshold 3); then the first waits. */
  for (int i = 0; i < 500 && emu->counters().live_refused < 3; i++)
    g_usleep(10000);
  g_assert_cmpint(emu->counters().live_refused, ==, 3);

  Run second(*emu, props);
  dgtest::push_sequence(second.src, 16000, 1, 0, 10, 0, false);
  gst_element_set_state(second.pipeline, GST_STATE_PLAYING);
  for (int i = 0; i < 100; i++) {
    GstStructure *s = second.stats();
    bool down = g_str_equal(gst_structure_get_string(s, "state"), "down");
    gst_structure_free(s);
    if (down)
      break;
    g_usleep(10000);
  }
  GstStructure *s = second.stats();
  g_assert_cmpstr(gst_structure_get_string(s, "state"), ==, "down");
  g_assert_nonnull(strstr(gst_structure_get_string(s, "last-error"), "breaker open"));
  gst_structure_free(s);
  g_assert_cmpint(emu->counters().live_refused, ==, 3); /* the second never asked */
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
  gst_element_set_state(second.pipeline, GST_STATE_NULL);
  gst_element_set_state(first.pipeline, GST_STATE_NULL);
}

void test_multichannel() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "multichannel=true",
          "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=2");
  stream_blocks(run, 40, 2);
  auto finals = run.log->finals();
  assert_perfect(dgtest::check_blocks(finals, 0, 40, 0, 0));
  assert_perfect(dgtest::check_blocks(finals, 0, 40, 0, 1));
}

/* Without multichannel the sink takes mono only, and the refusal of stereo
 * names the caps and what to do (audioconvert downmixes). */
void test_stereo_needs_multichannel_or_a_downmix() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "", "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=2");
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  dgtest::push_sequence(run.src, 16000, 2, 0, 5, 0);
  g_assert_false(run.log->run_to_end(10 * GST_SECOND));
  auto errors = run.log->errors();
  g_assert_cmpuint(errors.size(), >=, 1);
  g_assert_nonnull(strstr(errors[0].c_str(), "channels=(int)2"));
  g_assert_nonnull(strstr(errors[0].c_str(), "audioconvert"));
  g_assert_nonnull(strstr(errors[0].c_str(), "multichannel=true"));
}

void test_bad_url_is_a_settings_error() {
  auto emu = dgtest::start_emulator();
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(
      "appsrc ! dgstreamsink url=ws://user:pw@example.com/v1/listen api-key=k", &err);
  g_assert_no_error(err);
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PAUSED), ==, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  g_assert_nonnull(m);
  GError *gerr = nullptr;
  gst_message_parse_error(m, &gerr, nullptr);
  g_assert_nonnull(strstr(gerr->message, "url"));
  g_error_free(gerr);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

void test_key_never_printed() {
  /* The whole debug log and gst-launch -v output of a real run. */
  auto emu = dgtest::start_emulator();
  gchar *wav_path = g_build_filename(g_get_tmp_dir(), "dgstreamsink-secret.wav", nullptr);
  std::string wav = wav_path;
  g_free(wav_path);
  GstElement *p = gst_parse_launch(("appsrc name=s format=time caps=" + std::string(kCaps16kMono) +
                                    " ! wavenc ! filesink location=" + wav)
                                       .c_str(),
                                   nullptr);
  GstElement *s = gst_bin_get_by_name(GST_BIN(p), "s");
  dgtest::push_sequence(s, 16000, 1, 0, 20, 0);
  {
    BusLog log(p);
    g_assert_true(log.run_to_end());
  }
  gst_object_unref(s);
  gst_object_unref(p);

  /* Given through DEEPGRAM_API_KEY, the key appears nowhere. Given as a
   * property on the command line, only GStreamer's own parser echoes the
   * command line (gstparse.c, parse.l, types.h at DEBUG/INFO); nothing of
   * ours, and nothing in -v output, ever prints it. */
  const char *secret = "SeCrEt-4f1d9c2b7e";
  for (bool on_command_line : {false, true}) {
    std::string launch = "gst-launch-1.0 -v -m filesrc location=" + wav +
                         " ! wavparse ! dgstreamsink url=" + emu->ws_url() + "/v1/listen" +
                         (on_command_line ? std::string(" api-key=") + secret : "");
    gchar *argv[] = {(gchar *)"/bin/sh", (gchar *)"-c", (gchar *)launch.c_str(), nullptr};
    gchar **envp = g_environ_setenv(g_get_environ(), "GST_DEBUG", "*:9", TRUE);
    envp = g_environ_setenv(envp, "GST_DEBUG_NO_COLOR", "1", TRUE);
    envp = on_command_line ? g_environ_unsetenv(envp, "DEEPGRAM_API_KEY")
                           : g_environ_setenv(envp, "DEEPGRAM_API_KEY", secret, TRUE);
    gchar *out = nullptr, *err = nullptr;
    gint status = 0;
    GError *error = nullptr;
    g_assert_true(g_spawn_sync(nullptr, argv, envp, G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err,
                               &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, nullptr));
    g_assert_nonnull(strstr(out, "stt/transcript"));
    g_assert_cmpuint(strlen(err), >, 10000); /* the debug log really was on */
    g_assert_null(strstr(out, secret));
    /* Only the lines holding the key (splitting the whole multi-MB log
     * into lines is quadratic under ASan, whose strstr measures the rest of
     * the string on every call). */
    for (const char *hit = strstr(err, secret); hit; hit = strstr(hit + 1, secret)) {
      const char *start = hit;
      while (start > err && start[-1] != '\n')
        start--;
      const char *end = strchr(hit, '\n');
      std::string line(start, end ? end : hit + strlen(hit));
      bool core_parser = line.find(" gstparse.c:") != std::string::npos ||
                         line.find(" parse.l:") != std::string::npos ||
                         line.find(" types.h:") != std::string::npos;
      if (!on_command_line || !core_parser)
        g_error("API key leaked: %s", line.c_str());
    }
    g_free(out);
    g_free(err);
    g_strfreev(envp);
  }
  g_unlink(wav.c_str());
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/dgstreamsink/file-waits-through-a-reconnect",
                  test_file_waits_through_a_reconnect);
  g_test_add_func("/dgstreamsink/stereo-needs-multichannel",
                  test_stereo_needs_multichannel_or_a_downmix);
  g_test_add_func("/dgstreamsink/happy-path", test_happy_path);
  g_test_add_func("/dgstreamsink/interim-and-final", test_interim_and_final);
  g_test_add_func("/dgstreamsink/keepalive-across-gap", test_keepalive_across_gap);
  g_test_add_func("/dgstreamsink/eos-waits-for-delayed-results",
                  test_eos_waits_for_delayed_results);
  g_test_add_func("/dgstreamsink/wrong-key-error", test_wrong_key_is_an_error);
  g_test_add_func("/dgstreamsink/handshake-503-retries", test_handshake_503_retries);
  g_test_add_func("/dgstreamsink/handshake-429-retries", test_handshake_429_retries);
  g_test_add_func("/dgstreamsink/close-1011", test_close_1011_mid_stream);
  g_test_add_func("/dgstreamsink/tcp-drop", test_tcp_drop_mid_stream);
  g_test_add_func("/dgstreamsink/stall", test_stall_mid_stream);
  g_test_add_func("/dgstreamsink/malformed-json", test_malformed_json_mid_stream);
  g_test_add_func("/dgstreamsink/multichannel", test_multichannel);
  g_test_add_func("/dgstreamsink/undecodable-audio-error",
                  test_undecodable_audio_is_an_error_naming_caps);
  g_test_add_func("/dgstreamsink/open-breaker-spares-service",
                  test_open_breaker_spares_the_service);
  g_test_add_func("/dgstreamsink/bad-url", test_bad_url_is_a_settings_error);
  g_test_add_func("/dgstreamsink/key-never-printed", test_key_never_printed);
  return g_test_run();
}
