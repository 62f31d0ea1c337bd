/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One notion of contiguous time for real timestamps.
 *
 * Demuxers and depayloaders (tsdemux, RTP) stamp buffers a few µs off the
 * sample count, and drifting clocks add more; two pieces of audio whose
 * timestamps differ by less than about half a frame are one stretch of audio,
 * not a gap and not an overlap. Every ledger, map, chunker and merger judges
 * contiguity here, so their two ends always meet: a sliver below the
 * tolerance is never owed, never replayed and never reported dropped.
 *
 * Times are nanoseconds. Plain C++, no GStreamer types.
 */
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dgf {

/* About half a 20 ms packet (RTP) or a 21 ms AAC frame. */
constexpr uint64_t kJitterTolerance = 10000000;

/* Does audio stamped `pts` continue audio that ended at `expected`? */
inline bool continues(uint64_t expected, uint64_t pts) {
  uint64_t distance = pts > expected ? pts - expected : expected - pts;
  return distance <= kJitterTolerance;
}

/* Too short to be audio of its own: a rounding or jitter sliver. */
inline bool negligible(uint64_t duration) {
  return duration <= kJitterTolerance;
}

struct TimeRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t duration() const { return end - start; }
  bool operator==(const TimeRange &o) const { return start == o.start && end == o.end; }
};

/* Sorted, non-overlapping ranges; ranges that touch within the tolerance are
 * one range. */
class TimeRanges {
public:
  void insert(TimeRange r) {
    if (r.end <= r.start)
      return;
    if (!ranges_.empty() && continues(ranges_.back().end, r.start)) {
      ranges_.back().end = std::max(ranges_.back().end, r.end); /* the usual case */
      return;
    }
    auto at =
        std::upper_bound(ranges_.begin(), ranges_.end(), r,
                         [](const TimeRange &a, const TimeRange &b) { return a.start < b.start; });
    ranges_.insert(at, r);
    std::vector<TimeRange> merged;
    for (const TimeRange &x : ranges_) {
      if (!merged.empty() && x.start <= merged.back().end + kJitterTolerance)
        merged.back().end = std::max(merged.back().end, x.end);
      else
        merged.push_back(x);
    }
    ranges_ = std::move(merged);
  }

  /* Everything before `position` is done; a range ending within the
   * tolerance after it is done too. */
  void remove_before(uint64_t position) {
    auto first_kept = std::find_if(ranges_.begin(), ranges_.end(), [&](const TimeRange &r) {
      return r.end > position + kJitterTolerance;
    });
    ranges_.erase(ranges_.begin(), first_kept);
    if (!ranges_.empty() && ranges_.front().start < position)
      ranges_.front().start = position;
  }

  void clear() { ranges_.clear(); }
  bool empty() const { return ranges_.empty(); }
  const TimeRange &front() const { return ranges_.front(); }
  const std::vector<TimeRange> &list() const { return ranges_; }
  std::vector<TimeRange> take() {
    std::vector<TimeRange> out;
    out.swap(ranges_);
    return out;
  }

private:
  std::vector<TimeRange> ranges_;
};

} // namespace dgf
