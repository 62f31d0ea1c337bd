/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <string>

#include "deepgram_query.h"

using namespace dgf;

/* Not g_assert_cmpstr: it would keep a pointer into a destroyed temporary. */
static void assert_str(const std::string &got, const char *want) {
  if (got != want)
    g_error("got \"%s\", want \"%s\"", got.c_str(), want);
}

static std::string query_of(const DeepgramQueryOptions &o) {
  auto q = build_deepgram_query(o);
  if (!q.ok())
    g_error("unexpected error: %s", q.error().message.c_str());
  return q.value();
}

static void assert_query(const DeepgramQueryOptions &o, const char *expected) {
  std::string got = query_of(o);
  if (got != expected)
    g_error("query\n  got  %s\n  want %s", got.c_str(), expected);
}

static void assert_query_rejected(const DeepgramQueryOptions &o, const char *reason) {
  auto q = build_deepgram_query(o);
  if (q.ok())
    g_error("accepted: %s", q.value().c_str());
  if (q.error().message.find(reason) == std::string::npos)
    g_error("error \"%s\" does not mention \"%s\"", q.error().message.c_str(), reason);
}

static void test_defaults() {
  DeepgramQueryOptions o;
  assert_query(o, "encoding=linear16&sample_rate=16000&channels=1");
  o.raw_audio = false; /* a WAV upload: the header carries the format */
  assert_query(o, "");
}

static void test_all_options() {
  DeepgramQueryOptions o;
  o.model = "nova-3";
  o.language = "en-US";
  o.sample_rate = 48000;
  o.channels = 2;
  o.multichannel = true;
  o.interim_results = true;
  o.punctuate = true;
  o.smart_format = false;
  o.diarize = true;
  o.endpointing = Endpointing::Milliseconds;
  o.endpointing_ms = 300;
  o.utterance_end_ms = 1000;
  o.vad_events = true;
  o.utterances = false;
  o.keyterms = {"Deepgram AI", "Zürich"};
  o.extra = {{"numerals", "true"}, {"tag", "a b"}};
  assert_query(o, "model=nova-3&language=en-US&encoding=linear16&sample_rate=48000&channels=2"
                  "&multichannel=true&interim_results=true&punctuate=true&smart_format=false"
                  "&diarize=true&endpointing=300&utterance_end_ms=1000&vad_events=true"
                  "&utterances=false&keyterm=Deepgram%20AI&keyterm=Z%C3%BCrich"
                  "&numerals=true&tag=a%20b");
}

static void test_endpointing_disabled() {
  DeepgramQueryOptions o;
  o.raw_audio = false;
  o.endpointing = Endpointing::Disabled;
  assert_query(o, "endpointing=false");
  o.endpointing = Endpointing::ServerDefault;
  o.endpointing_ms = 500; /* ignored unless Milliseconds */
  assert_query(o, "");
}

static void test_percent_encoding() {
  assert_str(percent_encode("AZaz09-._~"), "AZaz09-._~");
  assert_str(percent_encode("a b+c&d=e/f?g#h%i"), "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25i");
  assert_str(percent_encode("\xe2\x82\xac"), "%E2%82%AC");
  /* A value cannot smuggle a second parameter in. */
  DeepgramQueryOptions o;
  o.raw_audio = false;
  o.model = "nova-3&diarize=true";
  assert_query(o, "model=nova-3%26diarize%3Dtrue");
}

static void test_rejects_bad_text() {
  DeepgramQueryOptions o;
  o.model = "nova-3\r\nX-Injected: 1";
  assert_query_rejected(o, "model \"nova-3\\r\\nX-Injected: 1\" contains a line break");
  o = {};
  o.language = std::string("en\0x", 4);
  assert_query_rejected(o, "language \"en\\0x\" contains a NUL byte");
  o = {};
  o.keyterms = {"ok", "bad\xc3"};
  assert_query_rejected(o, "keyterm 2 \"bad\xc3\" is not valid UTF-8");
  o = {};
  o.keyterms = {""};
  assert_query_rejected(o, "keyterm 1 is empty");
  o = {};
  o.extra = {{"tag", "a\nb"}};
  assert_query_rejected(o, "extra option \"tag\" value \"a\\nb\" contains a line break");
  o = {};
  o.extra = {{"", "x"}};
  assert_query_rejected(o, "has an empty key");
  o = {};
  o.extra = {{"bad key", "x"}};
  assert_query_rejected(o, "may only use letters");
  o = {};
  o.sample_rate = 0;
  assert_query_rejected(o, "sample rate");
  o = {};
  o.utterance_end_ms = 1000;
  assert_query_rejected(o, "utterance_end_ms needs interim_results=true");
}

static void test_rejects_reserved_extra_keys() {
  for (const std::string &key : deepgram_reserved_query_keys()) {
    DeepgramQueryOptions o;
    o.extra = {{"numerals", "true"}, {key, "x"}};
    std::string reason = "extra option \"" + key + "\" is set by the element itself";
    assert_query_rejected(o, reason.c_str());
  }
  DeepgramQueryOptions o;
  o.extra = {{"Punctuate", "true"}}; /* case does not sneak past */
  assert_query_rejected(o, "\"Punctuate\" is set by the element itself");
  g_assert_cmpuint(deepgram_reserved_query_keys().size(), ==, 15);
}

static void test_parse_extra_options() {
  auto p = parse_extra_options("numerals=true&tag=a b&&redact=pci&search=x=y&empty=");
  g_assert_true(p.ok());
  g_assert_cmpuint(p->size(), ==, 5);
  g_assert_cmpstr((*p)[0].first.c_str(), ==, "numerals");
  g_assert_cmpstr((*p)[0].second.c_str(), ==, "true");
  g_assert_cmpstr((*p)[1].second.c_str(), ==, "a b");
  g_assert_cmpstr((*p)[2].first.c_str(), ==, "redact");
  g_assert_cmpstr((*p)[3].first.c_str(), ==, "search");
  g_assert_cmpstr((*p)[3].second.c_str(), ==, "x=y");
  g_assert_cmpstr((*p)[4].second.c_str(), ==, "");
  g_assert_cmpuint(parse_extra_options("")->size(), ==, 0);
  g_assert_cmpuint(parse_extra_options("&")->size(), ==, 0);

  auto no_value = parse_extra_options("numerals=true&profanity_filter");
  g_assert_false(no_value.ok());
  g_assert_cmpstr(no_value.error().message.c_str(), ==,
                  "extra option \"profanity_filter\" is not key=value");
  g_assert_false(parse_extra_options("a=b\r\nc=d").ok());

  /* A literal '%' stays literal: encoded once, never decoded. */
  DeepgramQueryOptions o;
  o.raw_audio = false;
  o.extra = parse_extra_options("tag=100%").value();
  assert_query(o, "tag=100%25");
}

static ServiceUrl url_of(const char *text, UrlKind kind) {
  auto u = parse_service_url(text, kind);
  if (!u.ok())
    g_error("%s: %s", text, u.error().message.c_str());
  return u.value();
}

static void assert_url_rejected(const std::string &text, UrlKind kind, const char *reason) {
  auto u = parse_service_url(text, kind);
  if (u.ok())
    g_error("accepted url %s", text.c_str());
  if (u.error().message.find(reason) == std::string::npos)
    g_error("error \"%s\" does not mention \"%s\"", u.error().message.c_str(), reason);
}

static void test_service_urls() {
  ServiceUrl live = url_of("wss://api.deepgram.com/v1/listen", UrlKind::WebSocket);
  g_assert_cmpstr(live.scheme.c_str(), ==, "wss");
  g_assert_cmpstr(live.host.c_str(), ==, "api.deepgram.com");
  g_assert_cmpint(live.port, ==, 443);
  g_assert_cmpstr(live.path.c_str(), ==, "/v1/listen");
  g_assert_true(live.secure);
  g_assert_false(live.loopback);
  g_assert_cmpstr(live.base.c_str(), ==, "wss://api.deepgram.com/v1/listen");
  assert_str(request_url(live, "model=nova-3"), "wss://api.deepgram.com/v1/listen?model=nova-3");
  assert_str(request_url(live, ""), "wss://api.deepgram.com/v1/listen");

  ServiceUrl emu = url_of("ws://127.0.0.1:8080/v1/listen", UrlKind::WebSocket);
  g_assert_cmpint(emu.port, ==, 8080);
  g_assert_false(emu.secure);
  g_assert_true(emu.loopback);
  g_assert_cmpstr(emu.base.c_str(), ==, "ws://127.0.0.1:8080/v1/listen");

  ServiceUrl v6 = url_of("http://[::1]:9000/v1/listen", UrlKind::Http);
  g_assert_cmpstr(v6.host.c_str(), ==, "::1");
  g_assert_true(v6.loopback);
  g_assert_cmpint(v6.port, ==, 9000);
  g_assert_cmpstr(v6.base.c_str(), ==, "http://[::1]:9000/v1/listen");

  ServiceUrl upper = url_of("HTTPS://api.deepgram.com/v1/listen", UrlKind::Http);
  g_assert_cmpstr(upper.scheme.c_str(), ==, "https");
  g_assert_true(upper.secure);

  ServiceUrl plain = url_of("http://example.com/v1/listen", UrlKind::Http);
  g_assert_cmpint(plain.port, ==, 80);
  g_assert_false(plain.loopback);
  g_assert_false(may_send_api_key(plain, false));
  g_assert_true(may_send_api_key(plain, true));
  g_assert_true(may_send_api_key(emu, false));
  g_assert_true(may_send_api_key(live, false));
}

static void test_service_urls_rejected() {
  assert_url_rejected("https://api.deepgram.com/v1/listen", UrlKind::WebSocket,
                      "scheme must be ws:// or wss://");
  assert_url_rejected("wss://api.deepgram.com/v1/listen", UrlKind::Http,
                      "scheme must be http:// or https://");
  assert_url_rejected("ftp://api.deepgram.com/", UrlKind::Http, "scheme must be");
  assert_url_rejected("wss://user:secret@api.deepgram.com/v1/listen", UrlKind::WebSocket,
                      "must not embed credentials");
  assert_url_rejected("wss://key@api.deepgram.com/v1/listen", UrlKind::WebSocket,
                      "must not embed credentials");
  assert_url_rejected("wss://api.deepgram.com/v1/listen?model=nova-3", UrlKind::WebSocket,
                      "has a query");
  assert_url_rejected("wss://api.deepgram.com/v1/listen#x", UrlKind::WebSocket, "fragment");
  assert_url_rejected("wss:///v1/listen", UrlKind::WebSocket, "has no host");
  assert_url_rejected("wss://api.deepgram.com:0/v1/listen", UrlKind::WebSocket, "port 0");
  assert_url_rejected("api.deepgram.com/v1/listen", UrlKind::WebSocket, "not a valid URI");
  assert_url_rejected("wss://api.deepgram.com:99999/", UrlKind::WebSocket, "not a valid URI");
  assert_url_rejected("wss://api.deepgram.com/v1\r\nHost: evil", UrlKind::WebSocket, "line break");
  assert_url_rejected(std::string("wss://a\0b/", 10), UrlKind::WebSocket, "NUL");
  assert_url_rejected("", UrlKind::Http, "not a valid URI");
}

static void test_loopback_hosts() {
  for (const char *host : {"localhost", "LocalHost", "127.0.0.1", "127.255.255.254", "::1", "[::1]",
                           "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"})
    if (!is_loopback_host(host))
      g_error("%s should be loopback", host);
  for (const char *host :
       {"", "128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "::2", "localhost.example.com",
        "127.0.0.1.nip.io", "127.1", "::ffff:10.0.0.1", "api.deepgram.com", "[::1"})
    if (is_loopback_host(host))
      g_error("%s should not be loopback", host);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/deepgram-query/defaults", test_defaults);
  g_test_add_func("/deepgram-query/all-options", test_all_options);
  g_test_add_func("/deepgram-query/endpointing-disabled", test_endpointing_disabled);
  g_test_add_func("/deepgram-query/percent-encoding", test_percent_encoding);
  g_test_add_func("/deepgram-query/rejects-bad-text", test_rejects_bad_text);
  g_test_add_func("/deepgram-query/rejects-reserved-extra", test_rejects_reserved_extra_keys);
  g_test_add_func("/deepgram-query/parse-extra-options", test_parse_extra_options);
  g_test_add_func("/deepgram-query/url/accepted", test_service_urls);
  g_test_add_func("/deepgram-query/url/rejected", test_service_urls_rejected);
  g_test_add_func("/deepgram-query/url/loopback-hosts", test_loopback_hosts);
  return g_test_run();
}
