/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: the JSON text frames of the live API (Deepgram's shapes). */
#pragma once

#include "engine.h"
#include "listen_options.h"
#include "server_context.h"

#include <string>
#include <vector>

namespace dgemu {

struct ResultsFrame {
  int channel = 0;
  int channels = 1;
  double start = 0; /* seconds, connection-relative */
  double duration = 0;
  bool is_final = false;
  bool speech_final = false;
  bool from_finalize = false;
  std::vector<EngineWord> words; /* connection-relative times */
};

std::string results_json(const ResultsFrame &r, const ListenOptions &opts,
                         const std::string &request_id, const ModelInfo &model);

std::string metadata_json(const std::string &request_id, const std::string &sha256,
                          const std::string &created, double duration, int channels,
                          const ModelInfo &model);

std::string speech_started_json(int channel, int channels, double timestamp);

std::string utterance_end_json(int channel, int channels, double last_word_end);

/* The odd_shapes fault: the same messages in shapes Deepgram's own SDK tests
 * use or that a newer Deepgram may send: "channel":[i] (no count), unknown
 * members; a Metadata with only type and request_id. */
std::string odd_speech_started_json(int channel, double timestamp);
std::string odd_utterance_end_json(int channel, double last_word_end);
std::string thin_metadata_json(const std::string &request_id);

/* The transcript Deepgram builds from words: punctuated words when
 * punctuate or smart_format, else the plain words, joined by spaces. */
std::string join_transcript(const std::vector<EngineWord> &words, bool punctuated);

/* Mean word confidence (0 for no words). */
double mean_confidence(const std::vector<EngineWord> &words);

/* Adds one Deepgram word object. */
void add_word_json(JsonBuilder *b, const EngineWord &w, const ListenOptions &opts);

} // namespace dgemu
