/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which stt/audio-dropped reports also become a bus WARNING.
 *
 * Every dropped stretch is posted as an element message, but a
 * gst-launch-1.0 user only sees WARNINGs: the first drop of each reason is
 * one, and after that at most one per reason every `quiet_period`, saying
 * how many reports it stands for. A long outage in force-stream mode then
 * reads as a handful of lines, not one per second.
 *
 * Plain C++; not thread-safe (the owner serializes calls).
 */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace dgf {

class DropWarnings {
public:
  static constexpr uint64_t kDefaultQuietPeriod = 30000000000ull; /* 30 s */
  explicit DropWarnings(uint64_t quiet_period = kDefaultQuietPeriod)
      : quiet_period_(quiet_period) {}

  /* A report with `reason` at `now` (ns, any monotonic clock). Returns the
   * number of earlier reports of that reason it also stands for (0 for the
   * first), or nothing when it should stay a message only. */
  std::optional<uint32_t> warn(const std::string &reason, uint64_t now);
  /* A new run (READY): every reason warns again. */
  void reset() { by_reason_.clear(); }

private:
  struct Seen {
    uint64_t warned_at = 0;
    uint32_t silent = 0; /* reports since */
  };
  uint64_t quiet_period_;
  std::map<std::string, Seen> by_reason_;
};

} // namespace dgf
