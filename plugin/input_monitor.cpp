/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "input_monitor.h"

#include "timeline.h"

namespace dgf {

bool InputMonitor::on_buffer(uint64_t pts, uint64_t duration) {
  if (have_expected_ && pts > expected_ && !continues(expected_, pts)) {
    uint64_t hole = pts - expected_;
    stats_.gaps++;
    stats_.missing += hole;
    if (hole >= kPause)
      stats_.pauses++;
    else
      window_lost_ += hole;
  }
  have_expected_ = true;
  expected_ = pts + duration;
  stats_.received += duration;
  window_received_ += duration;
  bool warn = false;
  if (window_received_ + window_lost_ >= kWindow) {
    double ratio = static_cast<double>(window_lost_) / (window_received_ + window_lost_);
    if (ratio > kWarnRatio && !warned_) {
      warned_ = true;
      warned_ratio_ = ratio;
      warn = true;
    }
    window_received_ = window_lost_ = 0;
  }
  return warn;
}

} // namespace dgf
