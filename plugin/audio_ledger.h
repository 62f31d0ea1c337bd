/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The un-acknowledged audio ledger.
 *
 * Audio sent to a live STT session is at risk until a final result covers
 * it. The ledger keeps it (bounded by a window of audio time) so that when the
 * session dies the audio can be replayed elsewhere with its original
 * timestamps. Audio the window cannot hold is not forgotten: its range is kept
 * as "at risk" and handed out as lost if the session dies before acking it.
 *
 * Times are nanoseconds on one timeline (pipeline time). Payload is whatever
 * the caller replays (a GstBuffer wrapper in the elements); Trim cuts the
 * front off a payload when an ack lands inside it, so no acked audio is ever
 * replayed (that would duplicate words).
 *
 * Not thread-safe: the owner serializes calls.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "timeline.h"

namespace dgf {

template <typename Payload> class AudioLedger {
public:
  struct Entry {
    uint64_t start;
    uint64_t duration;
    Payload payload;
    uint64_t end() const { return start + duration; }
  };

  /* Returns `payload` without its first `skip` ns (`skip` < duration). */
  using Trim = std::function<Payload(const Payload &payload, uint64_t skip)>;

  struct Takeover {
    std::vector<Entry> replay;   /* oldest first, acked parts removed */
    std::vector<TimeRange> lost; /* evicted by the window and never acked */
  };

  AudioLedger(uint64_t window, Trim trim) : window_(window), trim_(std::move(trim)) {}

  void set_window(uint64_t window) {
    window_ = window;
    evict_over_window();
  }
  uint64_t window() const { return window_; }

  /* Audio just sent to the live session. */
  void append(uint64_t start, uint64_t duration, Payload payload) {
    if (duration == 0)
      return;
    entries_.push_back(Entry{start, duration, std::move(payload)});
    held_ += duration;
    evict_over_window();
  }

  /* Everything before `position` has final results. Audio that ends within
   * the jitter tolerance after it counts as acked too (timeline.h). */
  void ack(uint64_t position) {
    while (!entries_.empty() && entries_.front().end() <= position + kJitterTolerance) {
      held_ -= entries_.front().duration;
      entries_.pop_front();
    }
    if (!entries_.empty() && entries_.front().start < position) {
      Entry &e = entries_.front();
      uint64_t skip = position - e.start;
      e.payload = trim_(e.payload, skip);
      e.start += skip;
      e.duration -= skip;
      held_ -= skip;
    }
    at_risk_.remove_before(position);
    acked_ = std::max(acked_, position);
  }

  /* The session died: hand out what to replay and what is lost; empty after. */
  Takeover take_all() {
    Takeover out;
    out.replay.assign(std::make_move_iterator(entries_.begin()),
                      std::make_move_iterator(entries_.end()));
    out.lost = at_risk_.take();
    clear();
    return out;
  }

  void clear() {
    entries_.clear();
    at_risk_.clear();
    held_ = 0;
  }

  uint64_t held() const { return held_; }   /* ns of audio held for replay */
  uint64_t acked() const { return acked_; } /* highest ack seen */
  size_t size() const { return entries_.size(); }
  const std::vector<TimeRange> &at_risk() const { return at_risk_.list(); }

private:
  void evict_over_window() {
    while (held_ > window_ && !entries_.empty()) {
      Entry &e = entries_.front();
      at_risk_.insert(TimeRange{e.start, e.end()});
      held_ -= e.duration;
      entries_.pop_front();
    }
  }

  uint64_t window_;
  Trim trim_;
  std::deque<Entry> entries_;
  TimeRanges at_risk_;
  uint64_t held_ = 0;
  uint64_t acked_ = 0;
};

} // namespace dgf
