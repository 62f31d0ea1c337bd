/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator auth: Token / Bearer (any case), subprotocols, 401 shape,
 * dg-request-id on every response. */
#include <glib.h>

#include <memory>
#include <set>

#include "auth.h"
#include "emu_test_client.h"
#include "emulator.h"

using emutest::WsClient;

namespace {

std::unique_ptr<dgemu::Emulator> start_emu(const std::string &key) {
  dgemu::Options o;
  o.api_key = key;
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

const char kQuery[] = "/v1/listen?encoding=linear16&sample_rate=16000";

bool is_uuid(const std::string &s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return false;
    } else if (!g_ascii_isxdigit(s[i])) {
      return false;
    }
  }
  return true;
}

void test_parse() {
  dgemu::Credentials c;
  g_assert_true(dgemu::parse_authorization("Token abc", &c));
  EMU_ASSERT_STREQ(c.scheme, "token");
  EMU_ASSERT_STREQ(c.key, "abc");
  g_assert_true(dgemu::parse_authorization("tOkEn   abc  ", &c));
  EMU_ASSERT_STREQ(c.key, "abc");
  g_assert_true(dgemu::parse_authorization("BEARER eyJhbGciOi.x.y", &c));
  EMU_ASSERT_STREQ(c.scheme, "bearer");
  g_assert_false(dgemu::parse_authorization("Basic abc", &c));
  g_assert_false(dgemu::parse_authorization("Token", &c));
  g_assert_false(dgemu::parse_authorization("Token ", &c));
  g_assert_false(dgemu::parse_authorization(nullptr, &c));
  g_assert_true(dgemu::parse_ws_protocols("token, KEY1", &c));
  EMU_ASSERT_STREQ(c.key, "KEY1");
  g_assert_true(c.from_subprotocol);
  g_assert_false(dgemu::parse_ws_protocols("token", &c));
  g_assert_false(dgemu::parse_ws_protocols("chat, x", &c));
  g_assert_true(dgemu::credentials_valid({"token", "k", false}, ""));
  g_assert_true(dgemu::credentials_valid({"token", "k", false}, "k"));
  g_assert_false(dgemu::credentials_valid({"token", "x", false}, "k"));
  g_assert_false(dgemu::credentials_valid({"token", "", false}, ""));
}

void test_live_variants() {
  auto emu = start_emu("secret");
  std::string url = emu->ws_url() + kQuery;
  for (const char *h :
       {"Token secret", "token secret", "TOKEN secret", "Bearer secret", "bearer secret"}) {
    WsClient c;
    g_assert_true(c.connect(url, {{"Authorization", h}}));
    g_assert_true(is_uuid(c.response_header("dg-request-id")));
  }
  {
    /* Browsers: Sec-WebSocket-Protocol: token, KEY; the server picks "token". */
    WsClient c;
    g_assert_true(c.connect(url, {}, {"token", "secret"}));
    EMU_ASSERT_STREQ(c.protocol(), "token");
  }
  {
    WsClient c;
    g_assert_false(c.connect(url, {}, {"token", "wrong"}));
    g_assert_cmpint(c.status(), ==, 401);
  }
  for (const char *h : {"Token wrong", "Basic c2VjcmV0", "secret"}) {
    WsClient c;
    g_assert_false(c.connect(url, {{"Authorization", h}}));
    g_assert_cmpint(c.status(), ==, 401);
    g_assert_true(is_uuid(c.response_header("dg-request-id")));
    g_assert_false(c.response_header("dg-error").empty());
  }
  {
    WsClient c;
    g_assert_false(c.connect(url));
    g_assert_cmpint(c.status(), ==, 401);
  }
  WsClient waiter;
  waiter.wait([&] { return emu->counters().live_accepted == 6; }, 2);
  g_assert_cmpint(emu->counters().live_refused, ==, 5);
  g_assert_cmpint(emu->counters().live_accepted, ==, 6);
}

void test_any_key_when_none_configured() {
  auto emu = start_emu("");
  WsClient c;
  g_assert_true(c.connect(emu->ws_url() + kQuery, {{"Authorization", "Token whatever"}}));
  WsClient d;
  g_assert_false(d.connect(emu->ws_url() + kQuery));
  g_assert_cmpint(d.status(), ==, 401);
}

void test_401_body() {
  auto emu = start_emu("secret");
  /* A handshake by hand, to read the refusal's body. */
  auto r = emutest::http("GET", emu->http_url() + kQuery,
                         {{"Authorization", "Token nope"},
                          {"Connection", "Upgrade"},
                          {"Upgrade", "websocket"},
                          {"Sec-WebSocket-Version", "13"},
                          {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  g_assert_cmpint(r.status, ==, 401);
  g_assert_nonnull(r.obj());
  EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_code"), "INVALID_AUTH");
  g_assert_false(emutest::str(r.obj(), "err_msg").empty());
  std::string rid = r.header("dg-request-id");
  g_assert_true(is_uuid(rid));
  EMU_ASSERT_STREQ(emutest::str(r.obj(), "request_id"), rid);
  g_assert_false(r.header("dg-error").empty());
  EMU_ASSERT_STREQ(r.header("content-type"), "application/json");

  /* Pre-recorded: same error shape. */
  auto b = emutest::http("POST", emu->http_url() + "/v1/listen", {{"Authorization", "Token x"}},
                         "RIFF", "audio/wav");
  g_assert_cmpint(b.status, ==, 401);
  EMU_ASSERT_STREQ(emutest::str(b.obj(), "err_code"), "INVALID_AUTH");
  EMU_ASSERT_STREQ(emutest::str(b.obj(), "request_id"), b.header("dg-request-id"));
  auto ok =
      emutest::http("POST", emu->http_url() + "/v1/listen", {{"authorization", "bearer secret"}},
                    emutest::make_wav(std::vector<int16_t>(1600, 0), 16000, 1), "audio/wav");
  g_assert_cmpint(ok.status, ==, 200);
}

void test_request_id_everywhere() {
  auto emu = start_emu("");
  std::set<std::string> ids;
  auto check = [&](const emutest::HttpResult &r) {
    std::string id = r.header("dg-request-id");
    g_assert_true(is_uuid(id));
    g_assert_true(ids.insert(id).second);
  };
  check(emutest::http("GET", emu->http_url() + "/nope"));
  check(emutest::http("GET", emu->http_url() + "/_emulator/health"));
  check(emutest::http("PUT", emu->http_url() + "/v1/listen", {{"Authorization", "Token k"}}));
  check(emutest::http("GET", emu->http_url() + kQuery, {{"Authorization", "Token k"}}));
  auto nf = emutest::http("GET", emu->http_url() + "/v2/listen");
  g_assert_cmpint(nf.status, ==, 404);
  EMU_ASSERT_STREQ(emutest::str(nf.obj(), "request_id"), nf.header("dg-request-id"));
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/auth/parse", test_parse);
  g_test_add_func("/server/auth/live-variants", test_live_variants);
  g_test_add_func("/server/auth/any-key", test_any_key_when_none_configured);
  g_test_add_func("/server/auth/401-body", test_401_body);
  g_test_add_func("/server/auth/request-id-everywhere", test_request_id_everywhere);
  return g_test_run();
}
