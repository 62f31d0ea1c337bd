/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unbroken speech for the pocketsphinx tests: Debian's LibriVox clips back to
 * back with their leading and trailing silence cut (~23 s), so no pause ends
 * an utterance. Empty when the test data is not installed. */
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "librivox.h"

namespace emutest {

/* The clip without its leading and trailing silence: 10 ms frames quieter
 * than 1/20 of the loudest frame's RMS, keeping 50 ms either side. */
inline std::vector<int16_t> trim_silence(const std::vector<int16_t> &audio) {
  const size_t frame = 160;
  std::vector<double> rms;
  for (size_t pos = 0; pos + frame <= audio.size(); pos += frame) {
    double sum = 0;
    for (size_t i = pos; i < pos + frame; i++)
      sum += static_cast<double>(audio[i]) * audio[i];
    rms.push_back(std::sqrt(sum / frame));
  }
  if (rms.empty())
    return audio;
  double threshold = *std::max_element(rms.begin(), rms.end()) / 20;
  size_t first = 0, last = rms.size();
  while (first < last && rms[first] <= threshold)
    first++;
  while (last > first && rms[last - 1] <= threshold)
    last--;
  size_t begin = first > 5 ? (first - 5) * frame : 0;
  size_t end = std::min(audio.size(), (last + 5) * frame);
  return std::vector<int16_t>(audio.begin() + static_cast<long>(begin),
                              audio.begin() + static_cast<long>(end));
}

struct ContinuousSpeech {
  std::vector<int16_t> audio; /* 16 kHz mono */
  std::vector<std::string> reference;
};

inline ContinuousSpeech continuous_librivox() {
  ContinuousSpeech s;
  for (const librivox::Utterance &u : librivox::utterances()) {
    std::vector<int16_t> speech = trim_silence(u.audio);
    s.audio.insert(s.audio.end(), speech.begin(), speech.end());
    s.reference.insert(s.reference.end(), u.reference.begin(), u.reference.end());
  }
  return s;
}

} // namespace emutest
