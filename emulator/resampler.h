/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A streaming windowed-sinc resampler for mono S16 audio, so the
 * pocketsphinx engine can take any rate its 16 kHz model cannot. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dgemu {

class Resampler {
public:
  Resampler(int in_rate, int out_rate);

  /* Appends to *out the output samples that the input so far determines;
   * output sample n is the input signal at time n / out_rate. */
  void feed(const int16_t *in, size_t count, std::vector<int16_t> *out);

  /* End of input: the remaining output up to the input's duration, with
   * silence assumed after the last sample. */
  void flush(std::vector<int16_t> *out);

private:
  double sample_at(double pos) const;
  void produce(uint64_t input_end, std::vector<int16_t> *out);

  double step_;       /* input samples per output sample */
  double cutoff_;     /* cycles per input sample */
  double half_width_; /* kernel half width, in input samples */
  std::vector<float> buffer_;
  uint64_t buffer_start_ = 0; /* input index of buffer_[0] */
  uint64_t input_count_ = 0;
  uint64_t output_count_ = 0;
};

} // namespace dgemu
