/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: dg-emulator's /v1/listen query parsing
 * (emulator/listen_options.h), the query string exactly as a client sends it.
 *
 * Invariants: accepted options lie in the ranges Deepgram accepts
 * (sample_rate 0 or 1000..384000, channels 1..64, endpointing -1 (off) or
 * 0..600000 ms, utterance_end_ms 0..600000, utt_split >= 0 and not NaN); the
 * raw list has one entry per non-empty '&' segment; keyterms are the raw
 * "keyterm" values in order; a refusal names the parameter; parsing is
 * deterministic.
 */
#include "fuzz_common.h"
#include "listen_options.h"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  /* A URI query is a C string: stop at the first NUL, as libsoup would. */
  std::string query(reinterpret_cast<const char *>(data),
                    strnlen(reinterpret_cast<const char *>(data), size));
  dgemu::ListenOptions o;
  std::string error;
  bool ok = dgemu::parse_listen_options(query.c_str(), &o, &error);

  size_t segments = 0;
  gchar **parts = g_strsplit(query.c_str(), "&", -1);
  for (gchar **p = parts; *p; p++)
    segments += **p != '\0';
  g_strfreev(parts);
  FUZZ_CHECK(o.raw.size() == segments);

  if (!ok) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(error.find("query parameter") != std::string::npos);
    return 0;
  }
  FUZZ_CHECK(o.sample_rate == 0 || (o.sample_rate >= 1000 && o.sample_rate <= 384000));
  FUZZ_CHECK(o.channels >= 1 && o.channels <= 64);
  FUZZ_CHECK(o.endpointing_ms >= -1 && o.endpointing_ms <= 600000);
  FUZZ_CHECK(o.utterance_end_ms >= 0 && o.utterance_end_ms <= 600000);
  FUZZ_CHECK(!std::isnan(o.utt_split) && o.utt_split >= 0);
  std::vector<std::string> terms;
  for (const auto &[k, v] : o.raw)
    if (k == "keyterm")
      terms.push_back(v);
  FUZZ_CHECK(terms == o.keyterms);

  dgemu::ListenOptions again;
  FUZZ_CHECK(dgemu::parse_listen_options(query.c_str(), &again, &error));
  FUZZ_CHECK(again.raw == o.raw && again.sample_rate == o.sample_rate &&
             again.channels == o.channels && again.encoding == o.encoding);
  return 0;
}
