/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One stt/audio-dropped report per stretch of lost audio.
 *
 * Audio is lost buffer by buffer (a live source while the service is down, a
 * drain that timed out), but a user wants to read "12.4 s from 01:02 dropped:
 * connect-failed", not 97 messages. Drops that continue the previous one
 * (timeline.h) with the same reason extend it; a different reason, a jump in
 * time, or a run reaching `max_run` of audio ends it (so a long outage is
 * still reported as it goes, not only at its end).
 *
 * Plain C++; not thread-safe (the owner serializes calls).
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dgf {

struct DropReport {
  uint64_t start = 0;    /* ns, pipeline time */
  uint64_t duration = 0; /* ns */
  std::string reason;
  uint32_t buffers = 0; /* pieces of audio the report covers */
  std::string detail;   /* the first piece's: what happened, in words */
};

class DropCoalescer {
public:
  static constexpr uint64_t kDefaultMaxRun = 10000000000ull; /* 10 s of audio */
  explicit DropCoalescer(uint64_t max_run = kDefaultMaxRun) : max_run_(max_run) {}

  /* Audio [start, start + duration) dropped for `reason`. Returns the run it
   * ended, if it could not extend it. */
  std::optional<DropReport> add(uint64_t start, uint64_t duration, const std::string &reason,
                                const std::string &detail = {});
  /* Ends the current run (state change, EOS, a quiet moment). */
  std::optional<DropReport> flush();
  bool pending() const { return run_.has_value(); }

private:
  uint64_t max_run_;
  std::optional<DropReport> run_;
};

} // namespace dgf
