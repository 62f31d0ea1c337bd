/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "deepgram_query.h"

#include <glib.h>

#include <arpa/inet.h>

#include <cstring>
#include <memory>

namespace dgf {
namespace {

const char *bool_text(bool b) {
  return b ? "true" : "false";
}

bool is_unreserved(unsigned char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_key_char(unsigned char c) {
  return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* Why `text` cannot go into a request, or nullptr. CR/LF would split an HTTP
 * header line if anything ever copied it there; NUL truncates C strings. */
const char *text_problem(std::string_view text) {
  if (text.find('\r') != std::string_view::npos || text.find('\n') != std::string_view::npos)
    return "contains a line break (CR or LF)";
  if (text.find('\0') != std::string_view::npos)
    return "contains a NUL byte";
  if (!g_utf8_validate_len(text.data(), text.size(), nullptr))
    return "is not valid UTF-8";
  return nullptr;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\0')
      out += "\\0";
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

bool reserved(std::string_view key) {
  for (const std::string &r : deepgram_reserved_query_keys())
    if (key.size() == r.size() && g_ascii_strncasecmp(key.data(), r.data(), key.size()) == 0)
      return true;
  return false;
}

class QueryBuilder {
public:
  void add_text(std::string_view key, std::string_view value) {
    if (!query_.empty())
      query_ += '&';
    query_ += percent_encode(key);
    query_ += '=';
    query_ += percent_encode(value);
  }
  void add_flag(std::string_view key, const std::optional<bool> &value) {
    if (value)
      add_text(key, bool_text(*value));
  }
  void add_number(std::string_view key, uint32_t value) { add_text(key, std::to_string(value)); }
  std::string take() { return std::move(query_); }

private:
  std::string query_;
};

/* Checks a value the element sets itself, e.g. the model property. */
std::optional<QueryError> check_value(const char *what, std::string_view value) {
  if (const char *problem = text_problem(value))
    return QueryError{std::string(what) + " " + quoted(value) + " " + problem};
  return std::nullopt;
}

std::optional<QueryError> check_extra(const std::string &key, const std::string &value) {
  if (key.empty())
    return QueryError{"extra option with value " + quoted(value) + " has an empty key"};
  for (unsigned char c : key)
    if (!is_key_char(c))
      return QueryError{"extra option key " + quoted(key) +
                        " may only use letters, digits, '_', '.' and '-'"};
  if (reserved(key))
    return QueryError{"extra option \"" + key +
                      "\" is set by the element itself; use its property instead"};
  return check_value(("extra option \"" + key + "\" value").c_str(), value);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    c = g_ascii_tolower(c);
  return out;
}

struct UriUnref {
  void operator()(GUri *uri) const { g_uri_unref(uri); }
};

} // namespace

const std::vector<std::string> &deepgram_reserved_query_keys() noexcept {
  static const std::vector<std::string> keys = {
      "model",        "language",         "encoding",   "sample_rate",  "channels",
      "multichannel", "interim_results",  "punctuate",  "smart_format", "diarize",
      "endpointing",  "utterance_end_ms", "vad_events", "utterances",   "keyterm",
  };
  return keys;
}

std::string percent_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

Expected<QueryParams, QueryError> parse_extra_options(std::string_view text) noexcept {
  try {
    if (const char *problem = text_problem(text))
      return QueryError{"extra options " + quoted(text) + " " + problem};
    QueryParams params;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t amp = text.find('&', pos);
      std::string_view segment =
          text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
      pos = amp == std::string_view::npos ? text.size() + 1 : amp + 1;
      if (segment.empty())
        continue;
      size_t eq = segment.find('=');
      if (eq == std::string_view::npos)
        return QueryError{"extra option " + quoted(segment) + " is not key=value"};
      params.emplace_back(std::string(segment.substr(0, eq)), std::string(segment.substr(eq + 1)));
    }
    return params;
  } catch (...) {
    return QueryError{"out of memory"};
  }
}

Expected<std::string, QueryError> build_deepgram_query(const DeepgramQueryOptions &o) noexcept {
  try {
    if (auto e = check_value("model", o.model))
      return *e;
    if (auto e = check_value("language", o.language))
      return *e;
    if (o.raw_audio && (o.sample_rate == 0 || o.channels == 0))
      return QueryError{"raw audio needs a sample rate and a channel count above 0"};
    if (o.utterance_end_ms && o.interim_results != true)
      return QueryError{"utterance_end_ms needs interim_results=true (Deepgram rejects it "
                        "otherwise)"};
    for (size_t i = 0; i < o.keyterms.size(); i++) {
      std::string what = "keyterm " + std::to_string(i + 1);
      if (o.keyterms[i].empty())
        return QueryError{what + " is empty"};
      if (auto e = check_value(what.c_str(), o.keyterms[i]))
        return *e;
    }
    for (const auto &[key, value] : o.extra)
      if (auto e = check_extra(key, value))
        return *e;

    QueryBuilder q;
    if (!o.model.empty())
      q.add_text("model", o.model);
    if (!o.language.empty())
      q.add_text("language", o.language);
    if (o.raw_audio) {
      q.add_text("encoding", "linear16");
      q.add_number("sample_rate", o.sample_rate);
      q.add_number("channels", o.channels);
    }
    q.add_flag("multichannel", o.multichannel);
    q.add_flag("interim_results", o.interim_results);
    q.add_flag("punctuate", o.punctuate);
    q.add_flag("smart_format", o.smart_format);
    q.add_flag("diarize", o.diarize);
    if (o.endpointing == Endpointing::Disabled)
      q.add_text("endpointing", "false");
    else if (o.endpointing == Endpointing::Milliseconds)
      q.add_number("endpointing", o.endpointing_ms);
    if (o.utterance_end_ms)
      q.add_number("utterance_end_ms", *o.utterance_end_ms);
    q.add_flag("vad_events", o.vad_events);
    q.add_flag("utterances", o.utterances);
    for (const std::string &term : o.keyterms)
      q.add_text("keyterm", term);
    for (const auto &[key, value] : o.extra)
      q.add_text(key, value);
    return q.take();
  } catch (...) {
    return QueryError{"out of memory"};
  }
}

bool is_loopback_host(std::string_view host) noexcept {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN + 16)
    return false;
  char buf[INET6_ADDRSTRLEN + 16];
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  if (g_ascii_strcasecmp(buf, "localhost") == 0)
    return true;
  unsigned char addr[16];
  if (inet_pton(AF_INET, buf, addr) == 1)
    return addr[0] == 127;
  if (inet_pton(AF_INET6, buf, addr) == 1) {
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(addr, v6_loopback, 16) == 0)
      return true;
    return std::memcmp(addr, v4_mapped, 12) == 0 && addr[12] == 127;
  }
  return false;
}

Expected<ServiceUrl, QueryError> parse_service_url(std::string_view text, UrlKind kind) noexcept {
  try {
    if (const char *problem = text_problem(text))
      return QueryError{"url " + quoted(text) + " " + problem};
    std::string url(text);
    GError *error = nullptr;
    /* ENCODED: keep the path as given, so re-serialising does not change it. */
    std::unique_ptr<GUri, UriUnref> uri(g_uri_parse(url.c_str(), G_URI_FLAGS_ENCODED, &error));
    if (!uri) {
      std::string message = "url " + quoted(text) + " is not a valid URI: " + error->message;
      g_clear_error(&error);
      return QueryError{std::move(message)};
    }

    ServiceUrl out;
    out.scheme = lowercase(g_uri_get_scheme(uri.get()));
    const char *want = kind == UrlKind::WebSocket ? "ws:// or wss://" : "http:// or https://";
    if (kind == UrlKind::WebSocket && out.scheme != "ws" && out.scheme != "wss")
      return QueryError{"url " + quoted(text) + ": scheme must be " + want};
    if (kind == UrlKind::Http && out.scheme != "http" && out.scheme != "https")
      return QueryError{"url " + quoted(text) + ": scheme must be " + want};
    out.secure = out.scheme == "wss" || out.scheme == "https";

    if (g_uri_get_userinfo(uri.get()))
      return QueryError{"url must not embed credentials (user:password@); use the api-key "
                        "property"};
    const char *host = g_uri_get_host(uri.get());
    if (!host || !*host)
      return QueryError{"url " + quoted(text) + " has no host"};
    out.host = host;
    if (g_uri_get_query(uri.get()))
      return QueryError{"url " + quoted(text) +
                        " has a query; set options through the element's properties or "
                        "extra-options"};
    if (g_uri_get_fragment(uri.get()))
      return QueryError{"url " + quoted(text) + " has a fragment (#...)"};

    int port = g_uri_get_port(uri.get());
    if (port == 0)
      return QueryError{"url " + quoted(text) + ": port 0 is not a port to connect to"};
    out.port = port > 0 ? port : (out.secure ? 443 : 80);
    out.path = g_uri_get_path(uri.get());
    out.loopback = is_loopback_host(out.host);

    bool ipv6 = out.host.find(':') != std::string::npos;
    out.base = out.scheme + "://" + (ipv6 ? "[" + out.host + "]" : out.host);
    if (port > 0)
      out.base += ":" + std::to_string(port);
    out.base += out.path;
    return out;
  } catch (...) {
    return QueryError{"out of memory"};
  }
}

std::string request_url(const ServiceUrl &url, const std::string &query) {
  return query.empty() ? url.base : url.base + "?" + query;
}

} // namespace dgf
