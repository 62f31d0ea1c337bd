/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "sequence" engine: one word per block of sequence test audio
 * (sequence_audio.h), with exact times. */
#pragma once

#include <deque>

#include "engine.h"
#include "sequence_audio.h"

namespace dgemu {

/* A block's word is final once its whole duration has been fed, or at
 * finish(). finish() also acts as a cut: a header straddling it is lost. */
class SequenceRecognizer : public Recognizer {
public:
  /* A sample_rate <= 0 is taken as 16000. */
  SequenceRecognizer(int sample_rate, int block_ms = kSequenceDefaultBlockMs);

  void feed(const int16_t *samples, size_t count) override;
  std::vector<EngineWord> take_final() override;
  double final_until() const override;
  std::vector<EngineWord> interim() override;
  void finish() override;
  double fed_seconds() const override;

private:
  EngineWord word_for(const SequenceHit &hit, uint64_t end) const;
  void finalize_elapsed();
  void advance_final_until(uint64_t sample);

  int rate_;
  uint64_t block_samples_;
  SequenceDecoder decoder_;
  std::deque<SequenceHit> pending_; /* header seen, block not yet elapsed */
  std::vector<EngineWord> final_;   /* final, not yet taken */
  uint64_t final_until_ = 0;        /* in samples */
};

class SequenceEngine : public Engine {
public:
  explicit SequenceEngine(int block_ms = kSequenceDefaultBlockMs) : block_ms_(block_ms) {}
  std::string name() const override { return "sequence"; }
  std::unique_ptr<Recognizer> create(int sample_rate) override;
  /* Cheap and exact: synchronous, so tests see results at exact instants. */
  bool may_lag() const override { return false; }

private:
  int block_ms_;
};

} // namespace dgemu
