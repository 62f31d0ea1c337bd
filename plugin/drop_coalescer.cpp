/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drop_coalescer.h"

#include "timeline.h"

namespace dgf {

std::optional<DropReport> DropCoalescer::add(uint64_t start, uint64_t duration,
                                             const std::string &reason, const std::string &detail) {
  if (duration == 0)
    return std::nullopt;
  if (run_ && run_->reason == reason && continues(run_->start + run_->duration, start) &&
      run_->duration < max_run_) {
    uint64_t end = start + duration;
    run_->duration = end > run_->start ? end - run_->start : run_->duration;
    run_->buffers++;
    return std::nullopt;
  }
  std::optional<DropReport> done = flush();
  run_ = DropReport{start, duration, reason, 1, detail};
  return done;
}

std::optional<DropReport> DropCoalescer::flush() {
  std::optional<DropReport> done;
  done.swap(run_);
  return done;
}

} // namespace dgf
