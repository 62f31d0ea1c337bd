/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From the Deepgram settings both sinks share (the properties url, api-key,
 * model, ...) to a request: the checked endpoint, the full URL with its query
 * (deepgram_query.h builds the query) and the Authorization header. Plain
 * C++ and GLib, no GStreamer: unit-tested directly. */
#pragma once

#include <string>
#include <vector>

#include "audio_encoding.h"
#include "deepgram_query.h"
#include "expected.h"

namespace dgf {

constexpr const char *kDefaultModel = "nova-3";

/* The settings both sinks share (the elements guard them with their settings
 * mutex). */
struct DgCommonSettings {
  std::string url;
  std::string api_key; /* write-only property; never logged */
  std::string model = kDefaultModel;
  std::string language;
  bool punctuate = true;
  bool smart_format = false;
  bool diarize = false;
  std::string keyterms;      /* comma-separated */
  std::string extra_options; /* "key=value&key=value", sent as-is (encoded) */
  bool allow_insecure = false;
  std::string ca_file;
  bool tls_verify = true;
  bool multichannel = false;                    /* off: mono only, upstream downmixes */
  int max_outage_ms = -1;                       /* standalone give-up; -1: by liveness */
  AudioEncoding encoding = AudioEncoding::Auto; /* on the wire (Auto: resolved at start) */
  uint32_t bitrate = 0;                         /* opus, bit/s; 0: the default */
};

/* The api-key property, else DEEPGRAM_API_KEY from the environment. */
std::string dg_resolve_api_key(const DgCommonSettings &settings);

/* Splits "a, b ,c" into {"a","b","c"}, dropping empty items. */
std::vector<std::string> dg_split_keyterms(const std::string &text);

/* Checks the URL and options and builds the request URL; the error says
 * which property is wrong. */
struct DgRequest {
  ServiceUrl url;
  std::string full_url;      /* with the query; contains no secret */
  std::string authorization; /* "Token <key>"; never logged */
};
Expected<DgRequest, QueryError> dg_build_request(const DgCommonSettings &settings,
                                                 DeepgramQueryOptions options, UrlKind kind);

/* The warning to post at start when tls-verify is off for a TLS URL; empty
 * otherwise. */
std::string dg_insecure_tls_warning(const DgCommonSettings &settings);

} // namespace dgf
