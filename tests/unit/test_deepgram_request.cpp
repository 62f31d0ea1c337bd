/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepgram_request: from the sinks' settings to a checked request, and the
 * error naming the property that is wrong. */
#include <glib.h>

#include "deepgram_request.h"

using namespace dgf;

namespace {

DgCommonSettings settings(const char *url, const char *key = "k") {
  DgCommonSettings s;
  s.url = url;
  s.api_key = key;
  return s;
}

std::string error_of(const DgCommonSettings &s, UrlKind kind = UrlKind::WebSocket) {
  auto r = dg_build_request(s, DeepgramQueryOptions{}, kind);
  g_assert_false(r.ok());
  return r.error().message;
}

bool starts_with(const std::string &text, const char *prefix) {
  return text.rfind(prefix, 0) == 0;
}

void test_builds_url_query_and_header() {
  DgCommonSettings s = settings("wss://api.deepgram.com/v1/listen", "secret");
  s.language = "en-US";
  s.smart_format = true;
  s.keyterms = " GStreamer , ,Deepgram";
  s.extra_options = "tag=studio a";
  auto r = dg_build_request(s, DeepgramQueryOptions{}, UrlKind::WebSocket);
  g_assert_true(r.ok());
  const std::string &url = r->full_url;
  g_assert_true(starts_with(url, "wss://api.deepgram.com/v1/listen?"));
  for (const char *part : {"model=nova-3", "language=en-US", "smart_format=true",
                           "keyterm=GStreamer", "keyterm=Deepgram", "tag=studio%20a"})
    g_assert_true(url.find(part) != std::string::npos);
  g_assert_true(url.find("secret") == std::string::npos); /* the key is never in the URL */
  g_assert_cmpstr(r->authorization.c_str(), ==, "Token secret");
}

void test_errors_name_the_property() {
  g_assert_true(
      starts_with(error_of(settings("wss://api.deepgram.com/v1/listen", "")), "api-key:") ||
      g_getenv("DEEPGRAM_API_KEY"));
  g_assert_true(starts_with(error_of(settings("wss://a b/v1/listen")), "url:"));
  g_assert_true(starts_with(error_of(settings("https://api.deepgram.com/v1/listen")), "url:"));
  g_assert_true(
      starts_with(error_of(settings("wss://api.deepgram.com/v1/listen", "k\r\nX: y")), "api-key:"));
  DgCommonSettings s = settings("wss://api.deepgram.com/v1/listen");
  s.model = "";
  g_assert_true(starts_with(error_of(s), "model:"));
  s = settings("wss://api.deepgram.com/v1/listen");
  s.extra_options = "novalue";
  g_assert_true(starts_with(error_of(s), "extra-options:"));
  s.extra_options = "=novalue";
  g_assert_true(starts_with(error_of(s), "extra-options:"));
  s.extra_options = "model=base"; /* the element sets model itself */
  g_assert_true(starts_with(error_of(s), "extra-options:"));
}

/* The key goes in clear text only to this machine, unless allowed. */
void test_clear_text_key_only_to_loopback() {
  g_assert_true(dg_build_request(settings("ws://127.0.0.1:9/v1/listen"), DeepgramQueryOptions{},
                                 UrlKind::WebSocket)
                    .ok());
  DgCommonSettings remote = settings("ws://stt.example.net/v1/listen");
  g_assert_true(error_of(remote).find("clear text") != std::string::npos);
  remote.allow_insecure = true;
  g_assert_true(dg_build_request(remote, DeepgramQueryOptions{}, UrlKind::WebSocket).ok());
}

void test_key_from_environment() {
  g_setenv("DEEPGRAM_API_KEY", "from-env", TRUE);
  std::string from_env = dg_resolve_api_key(settings("x", ""));
  std::string from_property = dg_resolve_api_key(settings("x", "prop"));
  g_assert_cmpstr(from_env.c_str(), ==, "from-env");
  g_assert_cmpstr(from_property.c_str(), ==, "prop");
  g_unsetenv("DEEPGRAM_API_KEY");
}

void test_insecure_warning_only_when_unchecked() {
  DgCommonSettings s = settings("wss://api.deepgram.com/v1/listen");
  g_assert_true(dg_insecure_tls_warning(s).empty());
  s.tls_verify = false;
  g_assert_true(dg_insecure_tls_warning(s).find("tls-verify=false") != std::string::npos);
}

} // namespace

int main(int argc, char **argv) {
  g_unsetenv("DEEPGRAM_API_KEY");
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/deepgram-request/builds-url-query-and-header",
                  test_builds_url_query_and_header);
  g_test_add_func("/deepgram-request/errors-name-the-property", test_errors_name_the_property);
  g_test_add_func("/deepgram-request/clear-text-key-only-to-loopback",
                  test_clear_text_key_only_to_loopback);
  g_test_add_func("/deepgram-request/key-from-environment", test_key_from_environment);
  g_test_add_func("/deepgram-request/insecure-warning-only-when-unchecked",
                  test_insecure_warning_only_when_unchecked);
  return g_test_run();
}
