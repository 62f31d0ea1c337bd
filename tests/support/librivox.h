/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real speech for accuracy tests: the LibriVox clips that pocketsphinx-testdata
 * installs, their reference transcripts, and the word error rate. Standard C++
 * only, so the emulator's engine tests use it too.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace librivox {

inline const char *const kDir = "/usr/share/pocketsphinx/test/data/librivox";

struct Utterance {
  std::string id;                     /* file name without .wav */
  std::vector<std::string> reference; /* lowercase words */
  std::vector<int16_t> audio;         /* 16 kHz mono */
};

/* Every clip listed in the transcription file, in its order; empty when the
 * test data is not installed. Aborts on a clip that is not 16 kHz mono PCM. */
std::vector<Utterance> utterances();

/* The clips in one stream, each after a second of silence, then half a second
 * of silence, so a recognizer must find the utterance ends itself. */
struct Session {
  std::vector<int16_t> audio;
  std::vector<std::pair<double, double>> spans; /* each utterance's seconds */
  std::vector<std::string> reference;
};
Session session(const std::vector<Utterance> &utterances);

/* A transcript's words as the references write them: lowercase, letters,
 * digits and apostrophes only ("Well," -> "well"). */
std::vector<std::string> normalised_words(const std::string &text);

/* Word-level edit distance over the reference length. */
double word_error_rate(const std::vector<std::string> &reference,
                       const std::vector<std::string> &hypothesis);

} // namespace librivox
