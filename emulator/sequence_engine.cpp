/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sequence_engine.h"

#include <algorithm>
#include <cstdio>

namespace dgemu {

namespace {

/* Headers decode at any rate; the block length only sets each word's end, so
 * rates the generator does not make (e.g. 11025 Hz) still work, rounded. */
uint64_t block_samples_for(int rate, int block_ms) {
  uint64_t exact = sequence_block_samples(rate, block_ms);
  if (exact != 0)
    return exact;
  auto rounded = static_cast<uint64_t>((static_cast<int64_t>(rate) * block_ms + 500) / 1000);
  return std::max<uint64_t>(rounded, 2 * kSequenceHeaderSamples);
}

} // namespace

SequenceRecognizer::SequenceRecognizer(int sample_rate, int block_ms)
    : rate_(sample_rate > 0 ? sample_rate : 16000),
      block_samples_(block_samples_for(rate_, block_ms > 0 ? block_ms : kSequenceDefaultBlockMs)) {}

EngineWord SequenceRecognizer::word_for(const SequenceHit &hit, uint64_t end) const {
  char text[16];
  std::snprintf(text, sizeof text, "b%06u", hit.block);
  EngineWord word;
  word.word = text;
  word.punctuated_word = text;
  word.start = static_cast<double>(hit.offset) / rate_;
  word.end = static_cast<double>(end) / rate_;
  word.confidence = 1.0;
  return word;
}

void SequenceRecognizer::advance_final_until(uint64_t sample) {
  final_until_ = std::max(final_until_, sample);
}

void SequenceRecognizer::finalize_elapsed() {
  uint64_t fed = decoder_.samples_fed();
  while (!pending_.empty() && pending_.front().offset + block_samples_ <= fed) {
    const SequenceHit &hit = pending_.front();
    final_.push_back(word_for(hit, hit.offset + block_samples_));
    advance_final_until(hit.offset + block_samples_);
    pending_.pop_front();
  }
  if (!pending_.empty()) {
    advance_final_until(pending_.front().offset);
  } else {
    /* A header not yet complete starts at most 47 samples back: the audio
     * before that holds no more words, so stretches without blocks become
     * final too. */
    uint64_t partial = kSequenceHeaderSamples - 1;
    advance_final_until(fed > partial ? fed - partial : 0);
  }
}

void SequenceRecognizer::feed(const int16_t *samples, size_t count) {
  for (const SequenceHit &hit : decoder_.feed(samples, count))
    pending_.push_back(hit);
  finalize_elapsed();
}

std::vector<EngineWord> SequenceRecognizer::take_final() {
  std::vector<EngineWord> words;
  words.swap(final_);
  return words;
}

double SequenceRecognizer::final_until() const {
  return static_cast<double>(final_until_) / rate_;
}

std::vector<EngineWord> SequenceRecognizer::interim() {
  std::vector<EngineWord> words;
  for (const SequenceHit &hit : pending_)
    words.push_back(word_for(hit, hit.offset + block_samples_));
  return words;
}

void SequenceRecognizer::finish() {
  uint64_t fed = decoder_.samples_fed();
  for (const SequenceHit &hit : pending_)
    final_.push_back(word_for(hit, std::min(hit.offset + block_samples_, fed)));
  pending_.clear();
  decoder_.cut();
  advance_final_until(fed);
}

double SequenceRecognizer::fed_seconds() const {
  return static_cast<double>(decoder_.samples_fed()) / rate_;
}

std::unique_ptr<Recognizer> SequenceEngine::create(int sample_rate) {
  return std::make_unique<SequenceRecognizer>(sample_rate, block_ms_);
}

} // namespace dgemu
