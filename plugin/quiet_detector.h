/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How long the audio has been quiet: the energy half of pause detection,
 * shared by the batch chunker (where to cut a chunk) and the failover (where
 * to cut back to streaming without splitting a word).
 *
 * Audio is measured in fixed windows; a window is quiet when its loudest
 * channel's RMS is under the threshold, so a speaker on one channel keeps the
 * whole stream "speaking". Interleaved S16LE only.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dgf {

/* Mean square per sample of the loudest channel over `frames` frames. */
double loudest_channel_energy(const int16_t *samples, size_t frames, int channels);

/* The mean square under which a window is quiet, for a dBFS RMS threshold. */
double quiet_energy_for(double threshold_db);

class QuietDetector {
public:
  QuietDetector(int rate, int channels, double threshold_db, uint64_t window_ns = 20000000ull);

  /* Appends audio; a partial window waits for the next call. */
  void push(const int16_t *samples, size_t frames);
  /* ns of quiet windows that end at the last complete window (0 after a
   * loud one). Audio of an incomplete window is not counted yet. */
  uint64_t quiet_run() const { return frames_to_ns(quiet_frames_); }
  /* Forget all history: the next run starts from nothing. */
  void reset();

private:
  uint64_t frames_to_ns(uint64_t frames) const;

  int rate_;
  int channels_;
  size_t window_frames_;
  double quiet_energy_;
  std::vector<int16_t> partial_; /* samples of the incomplete window */
  uint64_t quiet_frames_ = 0;
};

} // namespace dgf
