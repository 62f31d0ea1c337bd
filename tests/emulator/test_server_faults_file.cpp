/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator fault format: parsing (good and bad timelines) and the
 * controller's logic on an injected clock. */
#include <glib.h>

#include <string>
#include <vector>

#include "faults.h"

using dgemu::Fault;
using dgemu::FaultController;
using dgemu::FaultType;

namespace {

void assert_streq(const std::string &a, const std::string &b) {
  g_assert_cmpstr(a.c_str(), ==, b.c_str());
}

std::string parse_error(const std::string &json) {
  std::vector<Fault> out;
  std::string err;
  g_assert_false(dgemu::parse_faults_json(json, &out, &err));
  g_assert_true(out.empty());
  g_assert_cmpstr(err.c_str(), !=, "");
  return err;
}

std::vector<Fault> parse_ok(const std::string &json) {
  std::vector<Fault> out;
  std::string err;
  if (!dgemu::parse_faults_json(json, &out, &err))
    g_error("%s: %s", json.c_str(), err.c_str());
  return out;
}

void test_parse_every_type() {
  auto f = parse_ok(R"([
    {"type":"refuse","status":429,"count":2,"retry_after":1.5,"comment":"x"},
    {"type":"close","at":5,"code":1011,"reason":"NET-0000","after_s":1.5,"after_bytes":100},
    {"type":"stall","target":"new","count":1,"after_audio_ms":2500},
    {"type":"drop","target":"all","duration":3},
    {"type":"delay","ms":500},
    {"type":"malformed","frames":"all"},
    {"type":"batch_error","status":503,"duration":10,"retry_after":2},
    {"type":"batch_delay","ms":2000,"count":3},
    {"type":"outage","api":"live","start":5,"duration":10}
  ])");
  g_assert_cmpuint(f.size(), ==, 9);
  g_assert_true(f[0].type == FaultType::Refuse);
  g_assert_cmpint(f[0].status, ==, 429);
  g_assert_cmpint(f[0].count, ==, 2);
  g_assert_cmpfloat(f[0].retry_after, ==, 1.5);
  g_assert_true(f[1].type == FaultType::Close);
  g_assert_cmpfloat(f[1].at, ==, 5);
  g_assert_cmpint(f[1].effect.code, ==, 1011);
  g_assert_cmpfloat(f[1].effect.after_s, ==, 1.5);
  g_assert_cmpint(f[1].effect.after_bytes, ==, 100);
  g_assert_cmpint(f[1].effect.after_audio_ms, ==, -1);
  g_assert_true(f[2].target == dgemu::Target::New);
  g_assert_cmpint(f[2].effect.after_audio_ms, ==, 2500);
  g_assert_true(f[3].target == dgemu::Target::All);
  g_assert_cmpint(f[4].effect.delay_ms, ==, 500);
  g_assert_cmpint(f[5].effect.frames, ==, -1);
  g_assert_cmpfloat(f[6].duration, ==, 10);
  g_assert_cmpint(f[7].delay_ms, ==, 2000);
  g_assert_true(f[8].type == FaultType::Outage);
  g_assert_true(f[8].api == dgemu::ApiScope::Live);
  g_assert_cmpfloat(f[8].at, ==, 5);
  g_assert_cmpint(f[8].status, ==, 503);
  /* Defaults. */
  auto d = parse_ok(R"({"type":"close"})");
  g_assert_cmpint(d[0].effect.code, ==, 1011);
  g_assert_cmpstr(d[0].effect.reason.c_str(), ==, "NET-0000");
  auto one = parse_ok(R"({"faults":[{"type":"refuse"}]})");
  g_assert_cmpint(one[0].status, ==, 503);
  g_assert_cmpint(one[0].count, ==, -1);
}

void test_parse_errors() {
  g_assert_nonnull(strstr(parse_error("not json").c_str(), "not valid JSON"));
  g_assert_nonnull(strstr(parse_error("42").c_str(), "expected an array"));
  g_assert_nonnull(strstr(parse_error(R"([{"status":503}])").c_str(), "missing 'type'"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"boom"}])").c_str(), "unknown type 'boom'"));
  std::string e = parse_error(R"([{"type":"refuse"},{"type":"refuse","statsu":1}])");
  g_assert_nonnull(strstr(e.c_str(), "fault #2"));
  g_assert_nonnull(strstr(e.c_str(), "unknown field 'statsu'"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"refuse","status":200}])").c_str(), "status"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"refuse","count":0}])").c_str(), "count"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"refuse","count":1.5}])").c_str(), "count"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"refuse","at":-1}])").c_str(), "'at'"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"refuse","at":"soon"}])").c_str(), "number"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"close","code":1006}])").c_str(), "code"));
  g_assert_nonnull(
      strstr(parse_error(R"([{"type":"close","reason":")" + std::string(130, 'x') + "\"}]").c_str(),
             "reason"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"delay"}])").c_str(), "needs 'ms'"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"stall","count":2}])").c_str(), "target"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"stall","target":"some"}])").c_str(), "target"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"outage","api":"rest"}])").c_str(), "api"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"malformed","frames":0}])").c_str(), "frames"));
  g_assert_nonnull(strstr(parse_error(R"([{"type":"batch_delay","ms":1,"code":1000}])").c_str(),
                          "unknown field 'code'"));
  std::vector<Fault> out;
  std::string err;
  g_assert_false(dgemu::load_faults_file("/nonexistent/faults.json", &out, &err));
  g_assert_nonnull(strstr(err.c_str(), "/nonexistent/faults.json"));
}

void test_controller_clock() {
  double t = 100.0;
  FaultController fc([&] { return t; });
  g_assert_cmpfloat(fc.now(), ==, 0);
  fc.add(parse_ok(R"([{"type":"refuse","at":10,"duration":5,"status":429}])"), false);
  std::vector<dgemu::ConnEffect> effects;
  g_assert_cmpint(fc.check_live_handshake(&effects).status, ==, 0);
  t += 10;
  g_assert_cmpint(fc.check_live_handshake(&effects).status, ==, 429);
  fc.advance(5);
  g_assert_cmpfloat(fc.now(), ==, 15);
  g_assert_cmpint(fc.check_live_handshake(&effects).status, ==, 0);
  g_assert_true(fc.snapshot().empty()); /* expired faults are dropped */

  /* "now"-relative: at counts from the current clock. */
  fc.add(parse_ok(R"([{"type":"batch_error","at":1,"count":1,"status":500}])"), true);
  g_assert_cmpint(fc.check_batch_request().error.status, ==, 0);
  fc.advance(1);
  g_assert_cmpint(fc.check_batch_request().error.status, ==, 500);
  g_assert_cmpint(fc.check_batch_request().error.status, ==, 0);
}

void test_controller_poll() {
  double t = 0;
  FaultController fc([&] { return t; });
  fc.add(parse_ok(R"([{"type":"close","at":2},{"type":"stall","target":"new","count":2},
                      {"type":"drop","target":"all","at":1,"count":1},
                      {"type":"outage","api":"batch","at":1,"duration":1}])"),
         false);
  auto fired = fc.poll();
  g_assert_cmpuint(fired.size(), ==, 0); /* "new" faults do not act on open connections */
  std::vector<dgemu::ConnEffect> e;
  fc.check_live_handshake(&e);
  g_assert_cmpuint(e.size(), ==, 1);
  t = 1;
  fired = fc.poll();
  g_assert_cmpuint(fired.size(), ==, 1); /* the drop (all); the batch outage has no live side */
  g_assert_true(fired[0].type == FaultType::Drop);
  e.clear();
  fc.check_live_handshake(&e);
  g_assert_cmpuint(e.size(), ==, 2); /* stall #2 and the drop's one new connection */
  e.clear();
  fc.check_live_handshake(&e);
  g_assert_cmpuint(e.size(), ==, 0);
  g_assert_cmpint(fc.check_batch_request().error.status, ==, 503);
  t = 2;
  fired = fc.poll();
  g_assert_cmpuint(fired.size(), ==, 1);
  g_assert_true(fired[0].type == FaultType::Close);
  g_assert_cmpuint(fc.poll().size(), ==, 0);
  g_assert_cmpint(fc.check_batch_request().error.status, ==, 0);
  g_assert_true(fc.snapshot().empty());
}

void test_reason_texts() {
  g_assert_nonnull(strstr(dgemu::close_reason_text("NET-0001").c_str(), "dpgr.am/net0001"));
  g_assert_nonnull(strstr(dgemu::close_reason_text("NET-0000").c_str(), "dpgr.am/net0000"));
  g_assert_nonnull(strstr(dgemu::close_reason_text("DATA-0000").c_str(), "dpgr.am/data0000"));
  assert_streq(dgemu::close_reason_text("custom"), "custom");
  for (const char *r : {"NET-0000", "NET-0001", "DATA-0000"})
    g_assert_cmpuint(dgemu::close_reason_text(r).size(), <=, 123);
  assert_streq(dgemu::err_code_for_status(401), "INVALID_AUTH");
  assert_streq(dgemu::err_code_for_status(402), "ASR_PAYMENT_REQUIRED");
  assert_streq(dgemu::err_code_for_status(403), "INSUFFICIENT_PERMISSIONS");
  assert_streq(dgemu::err_code_for_status(429), "TOO_MANY_REQUESTS");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/faults-file/parse-every-type", test_parse_every_type);
  g_test_add_func("/server/faults-file/parse-errors", test_parse_errors);
  g_test_add_func("/server/faults-file/controller-clock", test_controller_clock);
  g_test_add_func("/server/faults-file/controller-poll", test_controller_poll);
  g_test_add_func("/server/faults-file/reason-texts", test_reason_texts);
  return g_test_run();
}
