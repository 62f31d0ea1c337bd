/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator fault injection: every fault type, on command and scheduled,
 * the control endpoint and the counters. Time windows are crossed by
 * advancing the emulator's fault clock, never by sleeping. */
#include <glib.h>
#include <glib/gstdio.h>

#include <memory>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"

using emutest::WsClient;

namespace {

const int kRate = 16000;
const emutest::Headers kAuth = {{"Authorization", "Token k"}};

std::unique_ptr<dgemu::Emulator> start_emu(dgemu::Options o = dgemu::Options()) {
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

std::string url(dgemu::Emulator &emu) {
  return emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000";
}

void inject(dgemu::Emulator &emu, const std::string &json) {
  std::string err;
  auto ids = emu.inject_json(json, &err);
  if (ids.empty())
    g_error("inject %s: %s", json.c_str(), err.c_str());
}

void send_seconds(WsClient &c, uint32_t first_block, uint32_t blocks) {
  auto audio = dgemu::sequence_blocks(kRate, 1, first_block, blocks);
  for (size_t pos = 0; pos < audio.size(); pos += 320)
    c.send_audio(audio.data() + pos, std::min<size_t>(320, audio.size() - pos));
}

bool no_close_frame(const WsClient &c) {
  return c.close_code() == 0 || c.close_code() == SOUP_WEBSOCKET_CLOSE_ABNORMAL;
}

emutest::HttpResult post_wav(dgemu::Emulator &emu) {
  return emutest::http("POST", emu.http_url() + "/v1/listen", kAuth,
                       emutest::make_wav(dgemu::sequence_blocks(kRate, 1, 0, 5), kRate, 1),
                       "audio/wav");
}

void test_refuse_count() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"refuse","status":429,"count":2,"retry_after":3})");
  for (int i = 0; i < 2; i++) {
    WsClient c;
    g_assert_false(c.connect(url(*emu), kAuth));
    g_assert_cmpint(c.status(), ==, 429);
    EMU_ASSERT_STREQ(c.response_header("Retry-After"), "3");
    g_assert_false(c.response_header("dg-error").empty());
    g_assert_cmpuint(c.response_header("dg-request-id").size(), ==, 36);
  }
  WsClient ok;
  g_assert_true(ok.connect(url(*emu), kAuth));
  /* The server counts the connection right after writing its 101. */
  ok.wait([&] { return emu->counters().live_accepted == 1; }, 2);
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.live_refused, ==, 2);
  g_assert_cmpint(k.live_accepted, ==, 1);
  g_assert_cmpint(k.fired("refuse"), ==, 2);
}

void test_refuse_statuses_and_body() {
  auto emu = start_emu();
  for (int status : {401, 402, 403, 500, 503}) {
    inject(*emu, "{\"type\":\"refuse\",\"count\":1,\"status\":" + std::to_string(status) + "}");
    auto r = emutest::http("GET", url(*emu).replace(0, 2, "http"),
                           {{"Authorization", "Token k"},
                            {"Connection", "Upgrade"},
                            {"Upgrade", "websocket"},
                            {"Sec-WebSocket-Version", "13"},
                            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    g_assert_cmpint(r.status, ==, status);
    g_assert_nonnull(r.obj());
    g_assert_false(emutest::str(r.obj(), "err_code").empty());
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "request_id"), r.header("dg-request-id"));
  }
  auto r = emutest::http("GET", emu->http_url() + "/_emulator/counters");
  JsonObject *fired = json_object_get_object_member(r.obj(), "faults_fired");
  g_assert_cmpint(json_object_get_int_member(fired, "refuse"), ==, 5);
}

void test_refuse_window() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"refuse","status":503,"duration":30})");
  {
    WsClient c;
    g_assert_false(c.connect(url(*emu), kAuth));
    g_assert_cmpint(c.status(), ==, 503);
  }
  emu->advance_clock(30);
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
}

void test_close_after_bytes() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  inject(*emu, R"({"type":"close","code":1011,"reason":"NET-0000","after_bytes":32000})");
  send_seconds(c, 0, 15);
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1011);
  g_assert_nonnull(strstr(c.close_reason().c_str(), "net0000"));
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
  g_assert_cmpint(emu->counters().fired("close"), ==, 1);
}

void test_close_after_seconds_on_clock() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  send_seconds(c, 0, 2);
  inject(*emu, R"({"type":"close","code":1000,"reason":"bye","after_s":5})");
  c.pump(0.1);
  g_assert_false(c.closed());
  emu->advance_clock(5);
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);
  EMU_ASSERT_STREQ(c.close_reason(), "bye");
}

void test_close_new_connections() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"close","target":"new","count":1,"code":1008,"reason":"DATA-0000"})");
  WsClient a;
  g_assert_true(a.connect(url(*emu), kAuth));
  g_assert_true(a.wait_closed());
  g_assert_cmpint(a.close_code(), ==, 1008);
  WsClient b;
  g_assert_true(b.connect(url(*emu), kAuth));
  b.pump(0.1);
  g_assert_false(b.closed());
}

void test_stall() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  inject(*emu, R"({"type":"stall"})");
  send_seconds(c, 0, 20);
  c.send_text(R"({"type":"CloseStream"})");
  c.pump(0.3);
  g_assert_cmpuint(c.frames().size(), ==, 0);
  g_assert_false(c.closed());
  c.wait([&] { return emu->counters().audio_seconds_live >= 1.99; }, 2);
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.fired("stall"), ==, 1);
  g_assert_cmpfloat(k.audio_seconds_live, >=, 1.99); /* audio is still read */
}

void test_drop() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  send_seconds(c, 0, 5);
  c.wait([&] { return emu->counters().audio_seconds_live >= 0.49; });
  size_t before = c.frames().size();
  inject(*emu, R"({"type":"drop"})");
  g_assert_true(c.wait_closed());
  /* No close frame: libsoup reports no close code (1006 in browsers). */
  g_assert_true(no_close_frame(c));
  g_assert_cmpuint(c.frames().size(), ==, before); /* no Metadata */
  g_assert_cmpint(emu->counters().fired("drop"), ==, 1);
  c.wait([&] { return emu->counters().live_open == 0; }, 2);
  g_assert_cmpint(emu->counters().live_open, ==, 0);
}

void test_delay() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  inject(*emu, R"({"type":"delay","ms":300})");
  gint64 t0 = g_get_monotonic_time();
  send_seconds(c, 0, 10);
  g_assert_true(c.wait([&] { return !c.finals().empty(); }, 3));
  gint64 waited = g_get_monotonic_time() - t0;
  g_assert_cmpint(waited, >=, 280000);
  g_assert_cmpint(emu->counters().fired("delay"), ==, 1);
}

void test_malformed() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(url(*emu), kAuth));
  inject(*emu, R"({"type":"malformed","frames":1})");
  send_seconds(c, 0, 20);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  g_assert_cmpuint(c.frames().size(), >=, 3);
  g_assert_null(c.frames()[0].node);
  g_assert_nonnull(c.frames()[1].node);
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
  g_assert_cmpint(emu->counters().fired("malformed"), ==, 1);
}

void test_batch_error_and_delay() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"batch_error","status":503,"count":1,"retry_after":2})");
  auto r = post_wav(*emu);
  g_assert_cmpint(r.status, ==, 503);
  EMU_ASSERT_STREQ(r.header("retry-after"), "2");
  g_assert_nonnull(r.obj());
  EMU_ASSERT_STREQ(emutest::str(r.obj(), "request_id"), r.header("dg-request-id"));
  g_assert_cmpint(post_wav(*emu).status, ==, 200);

  inject(*emu, R"({"type":"batch_error","status":429,"duration":10})");
  g_assert_cmpint(post_wav(*emu).status, ==, 429);
  g_assert_cmpint(post_wav(*emu).status, ==, 429);
  emu->advance_clock(10);
  g_assert_cmpint(post_wav(*emu).status, ==, 200);

  inject(*emu, R"({"type":"batch_delay","ms":250,"count":1})");
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 240000);
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.batch_failed, ==, 3);
  g_assert_cmpint(k.batch_ok, ==, 3);
  g_assert_cmpint(k.fired("batch_error"), ==, 3);
  g_assert_cmpint(k.fired("batch_delay"), ==, 1);
}

void test_outage_live_scheduled() {
  auto emu = start_emu();
  WsClient a;
  g_assert_true(a.connect(url(*emu), kAuth));
  send_seconds(a, 0, 2);
  inject(*emu, R"({"type":"outage","api":"live","start":10,"duration":5})");
  WsClient b;
  g_assert_true(b.connect(url(*emu), kAuth));
  emu->advance_clock(10);
  g_assert_true(a.wait_closed());
  g_assert_true(b.wait_closed());
  g_assert_true(no_close_frame(a));
  {
    WsClient c;
    g_assert_false(c.connect(url(*emu), kAuth));
    g_assert_cmpint(c.status(), ==, 503);
  }
  g_assert_cmpint(post_wav(*emu).status, ==, 200); /* batch is up */
  emu->advance_clock(5);
  WsClient d;
  g_assert_true(d.connect(url(*emu), kAuth));
  g_assert_cmpint(emu->counters().fired("outage"), ==, 3);
}

void test_outage_both_with_close_frame() {
  auto emu = start_emu();
  WsClient a;
  g_assert_true(a.connect(url(*emu), kAuth));
  inject(*emu, R"({"type":"outage","api":"both","code":1011,"reason":"NET-0000","duration":5})");
  g_assert_true(a.wait_closed());
  g_assert_cmpint(a.close_code(), ==, 1011);
  EMU_ASSERT_STREQ(a.frames().back().type(), "Metadata");
  g_assert_cmpint(post_wav(*emu).status, ==, 503);
  emu->advance_clock(5);
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
}

void test_timeline_file() {
  gchar *path = nullptr;
  int fd = g_file_open_tmp("dgemu-faults-XXXXXX.json", &path, nullptr);
  g_assert_cmpint(fd, >=, 0);
  const char *timeline = R"({"faults":[
    {"type":"refuse","at":30,"status":402,"count":1},
    {"type":"batch_error","at":60,"status":500,"count":1}
  ]})";
  g_assert_true(g_file_set_contents(path, timeline, -1, nullptr));
  close(fd);
  dgemu::Options o;
  o.faults_file = path;
  auto emu = start_emu(o);
  {
    WsClient c;
    g_assert_true(c.connect(url(*emu), kAuth));
  }
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  emu->advance_clock(30);
  {
    WsClient c;
    g_assert_false(c.connect(url(*emu), kAuth));
    g_assert_cmpint(c.status(), ==, 402);
  }
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  emu->advance_clock(30);
  g_assert_cmpint(post_wav(*emu).status, ==, 500);
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  emu->stop();

  /* A bad file stops start() with a clear error. */
  g_assert_true(g_file_set_contents(path, R"([{"type":"refuse","statsu":503}])", -1, nullptr));
  dgemu::Emulator bad(o);
  std::string err;
  g_assert_false(bad.start(&err));
  g_assert_nonnull(strstr(err.c_str(), "fault #1"));
  g_assert_nonnull(strstr(err.c_str(), "statsu"));
  g_unlink(path);
  g_free(path);
}

void test_control_endpoint() {
  auto emu = start_emu();
  std::string base = emu->http_url() + "/_emulator";
  auto h = emutest::http("GET", base + "/health");
  g_assert_cmpint(h.status, ==, 200);
  EMU_ASSERT_STREQ(emutest::str(h.obj(), "engine"), "sequence");

  auto add = emutest::http("POST", base + "/faults", {},
                           R"([{"type":"refuse","status":503,"count":1},
                               {"type":"batch_error","status":500,"at":20,"duration":5}])",
                           "application/json");
  g_assert_cmpint(add.status, ==, 200);
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(add.obj(), "ids")), ==, 2);
  auto list = emutest::http("GET", base + "/faults");
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(list.obj(), "faults")), ==,
                   2);
  {
    WsClient c;
    g_assert_false(c.connect(url(*emu), kAuth));
    g_assert_cmpint(c.status(), ==, 503);
  }
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  auto clk = emutest::http("POST", base + "/clock", {}, R"({"advance":20})", "application/json");
  g_assert_cmpint(clk.status, ==, 200);
  g_assert_cmpfloat(emutest::num(clk.obj(), "now"), >=, 20);
  g_assert_cmpint(post_wav(*emu).status, ==, 500);

  auto counters = emutest::http("GET", base + "/counters");
  JsonObject *k = counters.obj();
  g_assert_cmpint(json_object_get_int_member(k, "live_refused"), ==, 1);
  g_assert_cmpint(json_object_get_int_member(k, "batch_ok"), ==, 1);
  g_assert_cmpint(json_object_get_int_member(k, "batch_failed"), ==, 1);
  for (const char *m :
       {"live_accepted", "live_open", "audio_seconds_live", "audio_seconds_batch", "faults_fired"})
    g_assert_true(json_object_has_member(k, m));

  auto bad =
      emutest::http("POST", base + "/faults", {}, R"({"type":"explode"})", "application/json");
  g_assert_cmpint(bad.status, ==, 400);
  g_assert_nonnull(strstr(emutest::str(bad.obj(), "err_msg").c_str(), "explode"));

  g_assert_cmpint(emutest::http("DELETE", base + "/faults").status, ==, 200);
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
  g_assert_cmpint(emutest::http("POST", base + "/reset", {}, "", "application/json").status, ==,
                  200);
  g_assert_cmpint(emu->counters().batch_ok, ==, 0);
  g_assert_cmpint(emutest::http("GET", base + "/nothing").status, ==, 404);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/faults/refuse-count", test_refuse_count);
  g_test_add_func("/server/faults/refuse-statuses", test_refuse_statuses_and_body);
  g_test_add_func("/server/faults/refuse-window", test_refuse_window);
  g_test_add_func("/server/faults/close-after-bytes", test_close_after_bytes);
  g_test_add_func("/server/faults/close-after-seconds", test_close_after_seconds_on_clock);
  g_test_add_func("/server/faults/close-new", test_close_new_connections);
  g_test_add_func("/server/faults/stall", test_stall);
  g_test_add_func("/server/faults/drop", test_drop);
  g_test_add_func("/server/faults/delay", test_delay);
  g_test_add_func("/server/faults/malformed", test_malformed);
  g_test_add_func("/server/faults/batch", test_batch_error_and_delay);
  g_test_add_func("/server/faults/outage-live", test_outage_live_scheduled);
  g_test_add_func("/server/faults/outage-both-close", test_outage_both_with_close_frame);
  g_test_add_func("/server/faults/timeline-file", test_timeline_file);
  g_test_add_func("/server/faults/control-endpoint", test_control_endpoint);
  return g_test_run();
}
