/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "quiet_detector.h"

#include <algorithm>
#include <cmath>

namespace dgf {

double loudest_channel_energy(const int16_t *samples, size_t frames, int channels) {
  if (frames == 0)
    return 0.0;
  double loudest = 0.0;
  for (int c = 0; c < channels; c++) {
    double sum = 0.0;
    for (size_t f = 0; f < frames; f++) {
      double s = samples[f * channels + c];
      sum += s * s;
    }
    loudest = std::max(loudest, sum / frames);
  }
  return loudest;
}

double quiet_energy_for(double threshold_db) {
  double amplitude = 32768.0 * std::pow(10.0, threshold_db / 20.0);
  return amplitude * amplitude;
}

QuietDetector::QuietDetector(int rate, int channels, double threshold_db, uint64_t window_ns)
    : rate_(std::max(rate, 1)), channels_(std::max(channels, 1)),
      quiet_energy_(quiet_energy_for(threshold_db)) {
  window_frames_ = std::max<size_t>(
      1, static_cast<size_t>((static_cast<unsigned __int128>(window_ns) * rate_) / 1000000000u));
  partial_.reserve(window_frames_ * channels_);
}

uint64_t QuietDetector::frames_to_ns(uint64_t frames) const {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(frames) * 1000000000u) / rate_);
}

void QuietDetector::push(const int16_t *samples, size_t frames) {
  const size_t window_samples = window_frames_ * channels_;
  size_t done = 0;
  while (done < frames) {
    const int16_t *window;
    size_t take;
    if (partial_.empty() && frames - done >= window_frames_) {
      window = samples + done * channels_; /* a whole window in place: no copy */
      take = window_frames_;
    } else {
      take = std::min(frames - done, window_frames_ - partial_.size() / channels_);
      partial_.insert(partial_.end(), samples + done * channels_,
                      samples + (done + take) * channels_);
      if (partial_.size() < window_samples) {
        done += take;
        continue;
      }
      window = partial_.data();
    }
    done += take;
    bool quiet = loudest_channel_energy(window, window_frames_, channels_) < quiet_energy_;
    quiet_frames_ = quiet ? quiet_frames_ + window_frames_ : 0;
    partial_.clear();
  }
}

void QuietDetector::reset() {
  partial_.clear();
  quiet_frames_ = 0;
}

} // namespace dgf
