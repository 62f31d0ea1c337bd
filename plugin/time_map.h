/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Maps a live connection's audio clock to pipeline time.
 *
 * Deepgram times are seconds of audio received on one connection: they start
 * at 0 on every connection and do not advance across a gap in the audio
 * (a GAP event, a DISCONT, a paused pipeline) while pipeline time does. The
 * map keeps one run per contiguous stretch of audio sent, so every Deepgram
 * time lands on the right pipeline time even after gaps and reconnects.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "timeline.h"

namespace dgf {

class TimeMap {
public:
  explicit TimeMap(int rate = 16000) : rate_(rate > 0 ? rate : 1) {}

  /* A new connection (or new caps): Deepgram's clock restarts at 0. */
  void reset(int rate);

  /* `frames` frames were sent, the first at pipeline time `pts`. Audio that
   * continues the previous run (within the jitter tolerance, timeline.h)
   * extends it, so a jittery source is one run; a run drifting further than
   * the tolerance from its timestamps starts a new run there. */
  void append(uint64_t pts, uint64_t frames);

  /* Pipeline time of connection-relative `seconds`; times past the audio
   * sent clamp to its end. 0 runs: returns 0. */
  uint64_t to_pipeline(double seconds) const;

  uint64_t sent_frames() const { return sent_frames_; }
  double sent_seconds() const { return static_cast<double>(sent_frames_) / rate_; }
  /* Pipeline time just after the last frame sent (0 when nothing sent). */
  uint64_t end_pts() const;
  bool empty() const { return runs_.empty(); }

  /* Drops runs that end at or before connection-relative `seconds`, keeping
   * the map small on a long connection. */
  void forget_before(double seconds);
  /* The same, in frames. */
  void forget_frames_before(uint64_t frame);

  /* Frames [first, first + count) as a map of their own (its frame 0 is
   * `first` here), each run's time taken from the run it came from. */
  TimeMap slice(uint64_t first, uint64_t count) const;
  /* Pipeline time of the first frame kept (0 when empty). */
  uint64_t start_pts() const { return runs_.empty() ? 0 : runs_.front().pts; }
  /* The pipeline time each run covers, oldest first. */
  std::vector<TimeRange> spans() const;

private:
  struct Run {
    uint64_t first_frame; /* connection-relative */
    uint64_t pts;
    uint64_t frames;
  };
  uint64_t frames_to_ns(uint64_t frames) const;

  int rate_;
  std::deque<Run> runs_;
  uint64_t sent_frames_ = 0;
};

} // namespace dgf
