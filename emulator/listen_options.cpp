/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "listen_options.h"

#include <glib.h>

#include <cstdlib>

namespace dgemu {

namespace {

bool parse_bool(const std::string &v, bool *out) {
  gchar *l = g_ascii_strdown(v.c_str(), -1);
  std::string s = l;
  g_free(l);
  if (s == "true" || s == "1" || s.empty()) {
    *out = true;
    return true;
  }
  if (s == "false" || s == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool parse_int(const std::string &v, long lo, long hi, int *out) {
  if (v.empty())
    return false;
  char *end = nullptr;
  long n = strtol(v.c_str(), &end, 10);
  if (*end != '\0' || n < lo || n > hi)
    return false;
  *out = static_cast<int>(n);
  return true;
}

std::string unescape(const std::string &s) {
  std::string plus = s;
  for (auto &c : plus)
    if (c == '+')
      c = ' ';
  gchar *u = g_uri_unescape_string(plus.c_str(), nullptr);
  std::string out = u ? u : plus;
  g_free(u);
  return out;
}

} // namespace

bool parse_listen_options(const char *query, ListenOptions *out, std::string *error) {
  *out = ListenOptions();
  if (!query || !*query)
    return true;
  gchar **pairs = g_strsplit(query, "&", -1);
  for (gchar **p = pairs; *p; p++) {
    if (!**p)
      continue;
    std::string pair = *p;
    size_t eq = pair.find('=');
    std::string key = unescape(pair.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : unescape(pair.substr(eq + 1));
    out->raw.emplace_back(key, value);
  }
  g_strfreev(pairs);

  for (const auto &kv : out->raw) {
    const std::string &k = kv.first;
    const std::string &v = kv.second;
    bool ok = true;
    if (k == "model")
      out->model = v;
    else if (k == "language")
      out->language = v;
    else if (k == "encoding")
      out->encoding = v;
    else if (k == "sample_rate")
      ok = parse_int(v, 1000, 384000, &out->sample_rate);
    else if (k == "channels")
      ok = parse_int(v, 1, 64, &out->channels);
    else if (k == "multichannel")
      ok = parse_bool(v, &out->multichannel);
    else if (k == "interim_results")
      ok = parse_bool(v, &out->interim_results);
    else if (k == "punctuate")
      ok = parse_bool(v, &out->punctuate);
    else if (k == "smart_format")
      ok = parse_bool(v, &out->smart_format);
    else if (k == "diarize")
      ok = parse_bool(v, &out->diarize);
    else if (k == "vad_events")
      ok = parse_bool(v, &out->vad_events);
    else if (k == "utterances")
      ok = parse_bool(v, &out->utterances);
    else if (k == "utt_split") {
      char *end = nullptr;
      double d = g_ascii_strtod(v.c_str(), &end);
      ok = !v.empty() && *end == '\0' && d >= 0;
      if (ok)
        out->utt_split = d;
    } else if (k == "endpointing") {
      bool b;
      if (parse_bool(v, &b) && !v.empty() && v != "1" && v != "0")
        out->endpointing_ms = b ? 10 : -1;
      else
        ok = parse_int(v, 0, 600000, &out->endpointing_ms);
    } else if (k == "utterance_end_ms")
      ok = parse_int(v, 0, 600000, &out->utterance_end_ms);
    else if (k == "keyterm")
      out->keyterms.push_back(v);
    if (!ok) {
      if (error)
        *error = "Invalid value for query parameter '" + k + "': '" + v + "'";
      return false;
    }
  }
  return true;
}

} // namespace dgemu
