/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "time_map.h"

#include <algorithm>
#include <cmath>

namespace dgf {

uint64_t TimeMap::frames_to_ns(uint64_t frames) const {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(frames) * 1000000000u) / rate_);
}

void TimeMap::reset(int rate) {
  rate_ = rate > 0 ? rate : 1;
  runs_.clear();
  sent_frames_ = 0;
}

void TimeMap::append(uint64_t pts, uint64_t frames) {
  if (frames == 0)
    return;
  if (!runs_.empty()) {
    Run &last = runs_.back();
    if (continues(last.pts + frames_to_ns(last.frames), pts)) {
      last.frames += frames;
      sent_frames_ += frames;
      return;
    }
  }
  runs_.push_back(Run{sent_frames_, pts, frames});
  sent_frames_ += frames;
}

uint64_t TimeMap::to_pipeline(double seconds) const {
  if (runs_.empty())
    return 0;
  double f = std::isfinite(seconds) && seconds > 0 ? std::llround(seconds * rate_) : 0.0;
  uint64_t frame = f >= static_cast<double>(sent_frames_) ? sent_frames_ : static_cast<uint64_t>(f);
  /* Most lookups hit the newest runs: search from the back. */
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if (frame >= it->first_frame) {
      uint64_t into = frame - it->first_frame;
      if (into > it->frames)
        into = it->frames;
      return it->pts + frames_to_ns(into);
    }
  }
  return runs_.front().pts; /* before the oldest run kept */
}

uint64_t TimeMap::end_pts() const {
  if (runs_.empty())
    return 0;
  return runs_.back().pts + frames_to_ns(runs_.back().frames);
}

void TimeMap::forget_before(double seconds) {
  double f = std::isfinite(seconds) && seconds > 0 ? seconds * rate_ : 0.0;
  while (runs_.size() > 1 &&
         static_cast<double>(runs_.front().first_frame + runs_.front().frames) <= f)
    runs_.pop_front();
}

void TimeMap::forget_frames_before(uint64_t frame) {
  while (runs_.size() > 1 && runs_.front().first_frame + runs_.front().frames <= frame)
    runs_.pop_front();
}

TimeMap TimeMap::slice(uint64_t first, uint64_t count) const {
  TimeMap out(rate_);
  uint64_t end = first + count;
  for (const Run &r : runs_) {
    uint64_t from = std::max(first, r.first_frame);
    uint64_t to = std::min(end, r.first_frame + r.frames);
    if (from >= to)
      continue;
    out.runs_.push_back(Run{from - first, r.pts + frames_to_ns(from - r.first_frame), to - from});
    out.sent_frames_ = to - first;
  }
  return out;
}

std::vector<TimeRange> TimeMap::spans() const {
  std::vector<TimeRange> out;
  for (const Run &r : runs_)
    out.push_back(TimeRange{r.pts, r.pts + frames_to_ns(r.frames)});
  return out;
}

} // namespace dgf
