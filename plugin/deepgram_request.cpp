/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "deepgram_request.h"

#include <glib.h>

namespace dgf {

std::string dg_resolve_api_key(const DgCommonSettings &settings) {
  if (!settings.api_key.empty())
    return settings.api_key;
  const char *env = g_getenv("DEEPGRAM_API_KEY");
  return env ? env : "";
}

std::vector<std::string> dg_split_keyterms(const std::string &text) {
  std::vector<std::string> out;
  gchar **parts = g_strsplit(text.c_str(), ",", -1);
  for (gchar **p = parts; p && *p; p++) {
    gchar *term = g_strstrip(*p);
    if (*term)
      out.emplace_back(term);
  }
  g_strfreev(parts);
  return out;
}

Expected<DgRequest, QueryError> dg_build_request(const DgCommonSettings &settings,
                                                 DeepgramQueryOptions options, UrlKind kind) {
  constexpr size_t kMaxUrl = 8192;
  if (settings.url.size() > kMaxUrl)
    return QueryError{"url: longer than " + std::to_string(kMaxUrl) + " bytes"};
  for (unsigned char c : settings.url)
    if (c <= 0x20 || c == 0x7f)
      return QueryError{"url: contains a space or control character (percent-encode it)"};
  auto url = parse_service_url(settings.url, kind);
  if (!url)
    return QueryError{"url: " + url.error().message};
  std::string key = dg_resolve_api_key(settings);
  if (key.empty())
    return QueryError{"api-key: no API key (set the api-key property or DEEPGRAM_API_KEY)"};
  if (key.find_first_of("\r\n") != std::string::npos)
    return QueryError{"api-key: contains a line break"};
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f || c >= 0x80) /* the key itself is never echoed */
      return QueryError{"api-key: contains a control or non-ASCII character"};
  if (settings.model.empty())
    return QueryError{"model: empty (leave it unset for the default, " +
                      std::string(kDefaultModel) + ")"};
  if (!may_send_api_key(url.value(), settings.allow_insecure))
    return QueryError{"url: refusing to send the API key in clear text to " + url->host +
                      " (use wss:// or https://, or set allow-insecure=true)"};

  options.model = settings.model;
  options.language = settings.language;
  options.punctuate = settings.punctuate;
  if (settings.smart_format)
    options.smart_format = true;
  if (settings.diarize)
    options.diarize = true;
  options.keyterms = dg_split_keyterms(settings.keyterms);
  auto extra = parse_extra_options(settings.extra_options);
  if (!extra)
    return QueryError{"extra-options: " + extra.error().message};
  options.extra = extra.value();
  auto query = build_deepgram_query(options);
  if (!query) {
    /* Name the property: the query checks extra options against its own. */
    const std::string &why = query.error().message;
    return QueryError{(why.rfind("extra option", 0) == 0 ? "extra-options: " : "") + why};
  }

  DgRequest request;
  request.url = url.value();
  request.full_url = request_url(request.url, query.value());
  request.authorization = "Token " + key;
  return request;
}

std::string dg_insecure_tls_warning(const DgCommonSettings &settings) {
  if (settings.tls_verify)
    return {};
  return "tls-verify=false: the server's TLS certificate is not checked, so anyone on the path "
         "can impersonate Deepgram and read the API key and the audio (use ca-file instead)";
}

} // namespace dgf
