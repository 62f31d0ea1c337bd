/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Watches the input's timestamps for audio that never arrived.
 *
 * A live feed loses packets (UDP, a weak link): the demuxer skips ahead and
 * marks DISCONT, and the words in the hole are gone before any transcription
 * could see them. That is not our drop, but it is loss a user should hear of:
 * every hole is counted, and a WARNING is due (once) when the holes shorter
 * than a pause add up to more than `loss_warn_ratio` of the input over a
 * window. A longer hole is a pause in the source, counted apart.
 *
 * Times are nanoseconds. Plain C++; not thread-safe (the streaming thread).
 */
#pragma once

#include <cstdint>

namespace dgf {

struct InputStats {
  uint32_t gaps = 0;     /* holes in the timestamps, loss and pauses */
  uint64_t missing = 0;  /* ns of audio in those holes */
  uint32_t pauses = 0;   /* holes of a pause's length or more */
  uint64_t received = 0; /* ns of audio that did arrive */
};

class InputMonitor {
public:
  static constexpr uint64_t kPause = 1000000000ull;   /* a hole this long is a pause */
  static constexpr uint64_t kWindow = 10000000000ull; /* loss is judged per 10 s of input */
  static constexpr double kWarnRatio = 0.03;

  /* A buffer [pts, pts + duration). Returns true once, when the loss in the
   * current window first passes kWarnRatio: the caller warns. */
  bool on_buffer(uint64_t pts, uint64_t duration);
  /* A GAP event or a new segment: the next timestamp starts afresh. */
  void restart() { have_expected_ = false; }

  const InputStats &stats() const { return stats_; }
  /* The loss ratio of the window that triggered the warning. */
  double warned_ratio() const { return warned_ratio_; }

private:
  InputStats stats_;
  bool have_expected_ = false;
  uint64_t expected_ = 0;
  uint64_t window_received_ = 0;
  uint64_t window_lost_ = 0;
  bool warned_ = false;
  double warned_ratio_ = 0.0;
};

} // namespace dgf
