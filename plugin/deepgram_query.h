/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Deepgram request: query string from options, and the service URL check.
 *
 * build_deepgram_query() turns element properties into `model=...&...`, with
 * RFC 3986 percent-encoding (unreserved characters kept, space as %20) and
 * booleans as "true"/"false". It refuses, with a message naming the culprit:
 * CR, LF or NUL anywhere, invalid UTF-8, empty or odd keys, and extra options
 * that repeat a key the element sets itself (use the property instead).
 *
 * parse_service_url() checks the `url` property: ws/wss (live) or http/https
 * (pre-recorded) only, no credentials, query or fragment in it, and says
 * whether the host is loopback, so an element can refuse to send its API key
 * in clear text to anything but this machine.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expected.h"

namespace dgf {

struct QueryError {
  std::string message;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

enum class Endpointing {
  ServerDefault, /* not sent (Deepgram: 10 ms) */
  Disabled,      /* endpointing=false */
  Milliseconds,  /* endpointing=<endpointing_ms> */
};

/* Unset optionals and empty strings are not sent: Deepgram's default applies. */
struct DeepgramQueryOptions {
  std::string model;
  std::string language;
  /* Raw PCM (the live API): send encoding=linear16, sample_rate, channels.
   * False for audio/wav uploads and for containerized audio (FLAC, Ogg
   * Opus), whose headers already say so. */
  bool raw_audio = true;
  uint32_t sample_rate = 16000;
  uint32_t channels = 1;
  std::optional<bool> multichannel;
  std::optional<bool> interim_results;
  std::optional<bool> punctuate;
  std::optional<bool> smart_format;
  std::optional<bool> diarize;
  Endpointing endpointing = Endpointing::ServerDefault;
  uint32_t endpointing_ms = 10;
  std::optional<uint32_t> utterance_end_ms; /* needs interim_results=true */
  std::optional<bool> vad_events;
  std::optional<bool> utterances;    /* pre-recorded */
  std::vector<std::string> keyterms; /* one keyterm=... each, in order */
  QueryParams extra;                 /* anything else, raw (unencoded) values */
};

/* The query string, without the leading '?'. */
Expected<std::string, QueryError>
build_deepgram_query(const DeepgramQueryOptions &options) noexcept;

/* Splits an extra-options property value, "numerals=true&tag=a b", into
 * pairs. Values are taken literally (a '%' is a percent sign, not an escape);
 * empty segments are skipped; a segment without '=' is an error. */
Expected<QueryParams, QueryError> parse_extra_options(std::string_view text) noexcept;

/* Keys the element sets from its own properties; extra options may not use
 * them. */
const std::vector<std::string> &deepgram_reserved_query_keys() noexcept;

/* RFC 3986 percent-encoding: A-Z a-z 0-9 - . _ ~ kept, other bytes %XX. */
std::string percent_encode(std::string_view text);

enum class UrlKind {
  WebSocket, /* ws:// or wss:// (live) */
  Http,      /* http:// or https:// (pre-recorded) */
};

struct ServiceUrl {
  std::string scheme;    /* lowercase */
  std::string host;      /* without IPv6 brackets */
  int port = 0;          /* explicit, or the scheme's default */
  std::string path;      /* as given, percent-encoded */
  bool secure = false;   /* wss or https */
  bool loopback = false; /* 127.0.0.0/8, ::1, localhost */
  std::string base;      /* scheme://host[:port]path, ready for "?" + query */
};

/* Parses and checks a service URL (GLib's GUri). */
Expected<ServiceUrl, QueryError> parse_service_url(std::string_view url, UrlKind kind) noexcept;

/* True for localhost, 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. Anything
 * else, including names that merely resolve to loopback, is not. */
bool is_loopback_host(std::string_view host) noexcept;

/* Whether an API key may go to `url`: over TLS, or in clear text only to this
 * machine, unless the user explicitly allowed insecure transport. */
inline bool may_send_api_key(const ServiceUrl &url, bool allow_insecure) noexcept {
  return url.secure || url.loopback || allow_insecure;
}

/* url.base + "?" + query (just the base when query is empty). */
std::string request_url(const ServiceUrl &url, const std::string &query);

} // namespace dgf
