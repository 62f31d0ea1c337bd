/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator refuses what Deepgram refuses, and what it does not emulate,
 * over real HTTP and WebSocket: a 400 with Deepgram's error body and the
 * dg-error header, on live before the upgrade; lenient names what it ignored
 * in dg-emulator-ignored. */
#include <glib.h>

#include <memory>
#include <string>
#include <vector>

#include "deepgram_models.h"
#include "emu_test_client.h"
#include "emulator.h"

namespace {

const emutest::Headers kAuth = {{"Authorization", "Token k"}};
const char kLive[] = "encoding=linear16&sample_rate=16000&";

std::unique_ptr<dgemu::Emulator> start_emu(bool lenient) {
  dgemu::Options opts;
  opts.lenient = lenient;
  auto emu = std::make_unique<dgemu::Emulator>(opts);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

std::string silence_wav() {
  return emutest::make_wav(std::vector<int16_t>(16000, 0), 16000, 1);
}

emutest::HttpResult post(dgemu::Emulator &emu, const std::string &query) {
  return emutest::http("POST", emu.http_url() + "/v1/listen?" + query, kAuth, silence_wav(),
                       "audio/wav");
}

/* Deepgram's legacy error body, its request id that of the header, and
 * dg-error carrying the message. */
void check_error_body(const std::string &body, const std::string &dg_error,
                      const std::string &request_id, const char *code, const char *msg_part) {
  JsonParser *parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, body.c_str(), -1, nullptr));
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  EMU_ASSERT_STREQ(emutest::str(o, "err_code"), code);
  std::string msg = emutest::str(o, "err_msg");
  if (msg.find(msg_part) == std::string::npos)
    g_error("err_msg \"%s\" lacks \"%s\"", msg.c_str(), msg_part);
  EMU_ASSERT_STREQ(dg_error, msg);
  g_assert_false(request_id.empty());
  EMU_ASSERT_STREQ(emutest::str(o, "request_id"), request_id);
  g_object_unref(parser);
}

/* A live refusal: the handshake itself gets the 400 (no 101, no session).
 * The body is read from a handshake made by hand (libsoup's WebSocket client
 * does not keep it). */
void expect_live_refusal(dgemu::Emulator &emu, const std::string &query, const char *code,
                         const char *msg_part) {
  emu.reset_counters();
  std::string path = "/v1/listen?" + std::string(kLive) + query;
  emutest::WsClient c;
  g_assert_false(c.connect(emu.ws_url() + path, kAuth));
  g_assert_cmpint(c.status(), ==, 400);
  auto r = emutest::http("GET", emu.http_url() + path,
                         {{"Authorization", "Token k"},
                          {"Connection", "Upgrade"},
                          {"Upgrade", "websocket"},
                          {"Sec-WebSocket-Version", "13"},
                          {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  g_assert_cmpint(r.status, ==, 400);
  check_error_body(r.body, r.header("dg-error"), r.header("dg-request-id"), code, msg_part);
  dgemu::Counters n = emu.counters();
  g_assert_cmpint(n.live_refused, ==, 2);
  g_assert_cmpint(n.live_accepted, ==, 0);
}

void expect_batch_refusal(dgemu::Emulator &emu, const std::string &query, const char *code,
                          const char *msg_part) {
  emu.reset_counters();
  auto r = post(emu, query);
  g_assert_cmpint(r.status, ==, 400);
  check_error_body(r.body, r.header("dg-error"), r.header("dg-request-id"), code, msg_part);
  g_assert_cmpint(emu.counters().batch_failed, ==, 1);
  g_assert_cmpint(emu.counters().batch_ok, ==, 0);
}

void test_keywords_with_nova3() {
  auto emu = start_emu(false);
  const char *msg = "Keywords are not supported for Nova-3. Please use `keyterm` instead.";
  expect_live_refusal(*emu, "model=nova-3&keywords=Deepgram:2", "INVALID_QUERY_PARAMETER", msg);
  expect_batch_refusal(*emu, "model=nova-3&keywords=Deepgram", "INVALID_QUERY_PARAMETER", msg);
  /* keywords with nova-2 and keyterm with nova-3 are fine. */
  emutest::WsClient ok;
  g_assert_true(
      ok.connect(emu->ws_url() + "/v1/listen?" + kLive + "model=nova-2&keywords=a", kAuth));
  g_assert_cmpint(post(*emu, "model=nova-3&keyterm=a&keyterm=b").status, ==, 200);
}

void test_unknown_model_and_language() {
  auto emu = start_emu(true); /* lenient changes none of these */
  for (const char *q : {"model=bogus-model", "model=", "model=nova-3&language=xx-YY",
                        "model=nova-2-meeting&language=en-GB"}) {
    expect_live_refusal(*emu, q, "Bad Request", dgemu::kNoSuchModelMessage);
    expect_batch_refusal(*emu, q, "Bad Request", dgemu::kNoSuchModelMessage);
  }
  /* Whisper Cloud is pre-recorded only. */
  expect_live_refusal(*emu, "model=whisper-large", "Bad Request", dgemu::kNoSuchModelMessage);
  g_assert_cmpint(post(*emu, "model=whisper-large").status, ==, 200);
}

void test_bad_values() {
  auto emu = start_emu(true);
  expect_live_refusal(*emu, "punctuate=yes", "Bad Request",
                      "Invalid value for query parameter 'punctuate'");
  expect_live_refusal(*emu, "interim_results=1", "Bad Request", "'interim_results'");
  expect_batch_refusal(*emu, "numerals=maybe", "Bad Request", "'numerals'");
  expect_batch_refusal(*emu, "smart_format=", "Bad Request", "'smart_format'");
}

void test_not_emulated_refused() {
  auto emu = start_emu(false);
  expect_live_refusal(*emu, "model=nova-3&redact=pci", "Bad Request", "does not emulate redact");
  expect_live_refusal(*emu, "tag=x&search=a", "Bad Request", "does not emulate tag,search");
  expect_live_refusal(*emu, "model=nova-3&language=fr", "Bad Request",
                      "does not emulate language=fr");
  expect_batch_refusal(*emu, "paragraphs=true", "Bad Request", "does not emulate paragraphs");
  expect_batch_refusal(*emu, "callback=http%3A%2F%2F127.0.0.1%3A9%2F", "Bad Request",
                       "does not emulate callback");
  expect_batch_refusal(*emu, "summarize=v2", "Bad Request", "--lenient");
}

void test_lenient_lists_what_it_ignored() {
  auto emu = start_emu(true);
  auto r = post(*emu, "model=nova-3&redact=pci&tag=a&tag=b&punctuate=true");
  g_assert_cmpint(r.status, ==, 200);
  EMU_ASSERT_STREQ(r.header("dg-emulator-ignored"), "redact,tag");
  auto fr = post(*emu, "model=nova-3&language=fr");
  g_assert_cmpint(fr.status, ==, 200);
  EMU_ASSERT_STREQ(fr.header("dg-emulator-ignored"), "language=fr");

  emutest::WsClient c;
  g_assert_true(
      c.connect(emu->ws_url() + "/v1/listen?" + kLive + "model=nova-3&tag=x&numerals=true", kAuth));
  EMU_ASSERT_STREQ(c.response_header("dg-emulator-ignored"), "tag,numerals");
  /* Nothing ignored, no header; unknown options are not Deepgram's: no header either. */
  emutest::WsClient plain;
  g_assert_true(
      plain.connect(emu->ws_url() + "/v1/listen?" + kLive + "model=nova-3&foo=bar", kAuth));
  EMU_ASSERT_STREQ(plain.response_header("dg-emulator-ignored"), "");
  auto clean = post(*emu, "model=nova-3&punctuate=true");
  g_assert_cmpint(clean.status, ==, 200);
  EMU_ASSERT_STREQ(clean.header("dg-emulator-ignored"), "");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/options/keywords-with-nova-3", test_keywords_with_nova3);
  g_test_add_func("/server/options/unknown-model-and-language", test_unknown_model_and_language);
  g_test_add_func("/server/options/bad-values", test_bad_values);
  g_test_add_func("/server/options/not-emulated-refused", test_not_emulated_refused);
  g_test_add_func("/server/options/lenient-lists-ignored", test_lenient_lists_what_it_ignored);
  return g_test_run();
}
