/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "resampler.h"

#include <algorithm>
#include <cmath>

namespace dgemu {

namespace {
constexpr double kPi = 3.141592653589793;
constexpr double kZeroCrossings = 8; /* each side of the kernel */
} // namespace

Resampler::Resampler(int in_rate, int out_rate)
    : step_(static_cast<double>(in_rate) / out_rate),
      /* Just below the lower Nyquist rate, so downsampling does not alias. */
      cutoff_(0.5 * std::min(1.0, static_cast<double>(out_rate) / in_rate) * 0.92),
      half_width_(kZeroCrossings / (2 * cutoff_)) {}

double Resampler::sample_at(double pos) const {
  auto first = static_cast<int64_t>(std::ceil(pos - half_width_));
  auto last = static_cast<int64_t>(std::floor(pos + half_width_));
  double sum = 0;
  for (int64_t k = std::max<int64_t>(first, 0); k <= last; k++) {
    if (static_cast<uint64_t>(k) >= input_count_)
      break; /* silence after the end (flush) */
    double d = pos - static_cast<double>(k);
    double x = 2 * cutoff_ * d;
    double sinc = x == 0 ? 1.0 : std::sin(kPi * x) / (kPi * x);
    double window = 0.5 + 0.5 * std::cos(kPi * d / half_width_); /* Hann */
    sum += buffer_[static_cast<size_t>(k - static_cast<int64_t>(buffer_start_))] * 2 * cutoff_ *
           sinc * window;
  }
  return sum;
}

void Resampler::produce(uint64_t input_end, std::vector<int16_t> *out) {
  for (;;) {
    double pos = static_cast<double>(output_count_) * step_;
    if (pos >= static_cast<double>(input_count_) ||
        pos + half_width_ >= static_cast<double>(input_end))
      break;
    double v = std::round(sample_at(pos));
    out->push_back(static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0)));
    output_count_++;
  }
  /* Keep only the input the next output's kernel still reaches. */
  double next = static_cast<double>(output_count_) * step_ - half_width_ - 1;
  if (next > static_cast<double>(buffer_start_)) {
    auto drop = std::min<uint64_t>(static_cast<uint64_t>(next) - buffer_start_, buffer_.size());
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(drop));
    buffer_start_ += drop;
  }
}

void Resampler::feed(const int16_t *in, size_t count, std::vector<int16_t> *out) {
  buffer_.insert(buffer_.end(), in, in + count);
  input_count_ += count;
  produce(input_count_, out);
}

void Resampler::flush(std::vector<int16_t> *out) {
  produce(UINT64_MAX, out);
}

} // namespace dgemu
