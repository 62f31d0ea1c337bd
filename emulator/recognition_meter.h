/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: time spent recognizing per second of audio recognized (the
 * real-time factor), added up from every thread that recognizes. */
#pragma once

#include <mutex>

namespace dgemu {

class RecognitionMeter {
public:
  void add(double busy_s, double audio_s) {
    std::lock_guard<std::mutex> lock(mutex_);
    busy_ += busy_s;
    audio_ += audio_s;
  }

  /* Busy seconds per audio second since the previous call; -1 when no audio
   * was recognized meanwhile. */
  double take_rtf() {
    std::lock_guard<std::mutex> lock(mutex_);
    double rtf = audio_ > 0 ? busy_ / audio_ : -1;
    busy_ = audio_ = 0;
    return rtf;
  }

private:
  std::mutex mutex_;
  double busy_ = 0;
  double audio_ = 0;
};

} // namespace dgemu
