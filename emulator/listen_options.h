/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: the query options of /v1/listen (live and pre-recorded).
 *
 * Booleans are the strings "true"/"false" as Deepgram takes them. Which
 * options Deepgram takes, and the refusals for those the emulator does not
 * act on (redact, tag, ...), are option_rules.h's business.
 */
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dgemu {

struct ListenOptions {
  std::string model = "general";
  std::string language = "en";
  std::string encoding; /* empty: containerized audio (WAV) expected */
  int sample_rate = 0;  /* 0: not given */
  int channels = 1;
  bool multichannel = false;
  bool interim_results = false;
  bool punctuate = false;
  bool smart_format = false;
  bool diarize = false;
  int endpointing_ms = 10;  /* < 0: endpointing=false */
  int utterance_end_ms = 0; /* 0: no UtteranceEnd */
  bool vad_events = false;
  bool utterances = false; /* pre-recorded only */
  double utt_split = 0.8;  /* pre-recorded only */
  std::vector<std::string> keyterms;
  /* Every parameter as given, repeated keys included. */
  std::vector<std::pair<std::string, std::string>> raw;

  bool punctuated() const { return punctuate || smart_format; }
};

/* Parses a URL query string (without '?'). Returns false with *error set for
 * values Deepgram would reject (e.g. sample_rate=abc, channels=0). */
bool parse_listen_options(const char *query, ListenOptions *out, std::string *error);

} // namespace dgemu
