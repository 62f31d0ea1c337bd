/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "voice_activity.h"

#include <algorithm>
#include <cmath>

namespace dgemu {

VoiceActivity::VoiceActivity(int sample_rate)
    : rate_(sample_rate > 0 ? sample_rate : 16000),
      frame_samples_(std::max<size_t>(1, static_cast<size_t>(rate_) * kFrameMs / 1000)) {}

void VoiceActivity::feed(const int16_t *samples, size_t count) {
  for (size_t i = 0; i < count; i++) {
    double s = samples[i];
    sum_sq_ += s * s;
    if (++in_frame_ == frame_samples_)
      frame_done();
  }
}

void VoiceActivity::frame_done() {
  bool voiced = std::sqrt(sum_sq_ / static_cast<double>(frame_samples_)) >= kVoicedRms;
  frames_++;
  in_frame_ = 0;
  sum_sq_ = 0;
  if (!voiced)
    return;
  /* The frame's start, computed where it is used: GCC 12 at -O2 takes a
   * local pushed by reference for a dangling pointer. */
  if (speech_end_ < 0 || (frame_start(frames_ - 1) - speech_end_) * 1000 >= kMinPauseMs - 1e-6)
    onsets_.push_back(frame_start(frames_ - 1));
  speech_end_ = seconds();
}

std::vector<double> VoiceActivity::take_onsets() {
  std::vector<double> out;
  out.swap(onsets_);
  return out;
}

double VoiceActivity::frame_start(uint64_t frame) const {
  return static_cast<double>(frame * frame_samples_) / rate_;
}

double VoiceActivity::seconds() const {
  return static_cast<double>(frames_ * frame_samples_) / rate_;
}

double VoiceActivity::silence() const {
  return speech_end_ < 0 ? seconds() : seconds() - speech_end_;
}

} // namespace dgemu
