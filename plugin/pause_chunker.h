/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cuts a stream of interleaved S16LE audio into chunks for the pre-recorded
 * API: at a pause (energy-based) once a chunk is at least min_chunk long, at
 * the quietest point before max_chunk when no pause came, at a gap in the
 * timestamps once the chunk is at least min_chunk long, or when asked
 * (stt/flush, EOS). A gap in a shorter chunk joins the audio on both sides in
 * one upload, so jitter and dropped packets never make tiny requests: the
 * chunk's time map puts every word back at its pipeline time.
 *
 * A pause is a run of windows whose loudest channel stays under the
 * threshold, so a speaker on one channel is never cut because another channel
 * is quiet. Cuts fall on window boundaries at the quietest window of the run.
 *
 * Each chunk's bytes are laid out behind `kHeadroom` spare bytes, so the
 * caller writes a WAV header in place and uploads the chunk with no copy.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "time_map.h"

namespace dgf {

struct ChunkerSettings {
  uint64_t min_chunk = 5000000000ull;  /* ns; a pause before this is ignored */
  uint64_t max_chunk = 30000000000ull; /* ns; a chunk never grows past this */
  double pause_threshold_db = -40.0;   /* dBFS RMS under which a window is quiet */
  uint64_t min_pause = 300000000ull;   /* ns of quiet that make a pause */
  uint64_t window = 20000000ull;       /* ns per energy window */
};

enum class CutReason { Pause, MaxChunk, Gap, Flush };
const char *cut_reason_name(CutReason reason);

struct AudioChunk {
  uint64_t start = 0;    /* pipeline time of the first sample, ns */
  uint64_t duration = 0; /* ns of audio (a chunk joined over a gap spans more) */
  size_t frames = 0;
  TimeMap map; /* chunk-relative frames -> pipeline time */
  uint64_t end() const { return map.end_pts(); }
  CutReason reason = CutReason::Flush;
  /* kHeadroom spare bytes, then frames * channels S16LE samples. */
  std::shared_ptr<std::vector<uint8_t>> storage;
  static constexpr size_t kHeadroom = 44;
  const uint8_t *audio() const { return storage->data() + kHeadroom; }
  size_t audio_bytes() const { return storage->size() - kHeadroom; }
};

class PauseChunker {
public:
  PauseChunker(const ChunkerSettings &settings, int rate, int channels);

  /* Appends audio starting at `pts`. A pts that does not continue the
   * pending audio (timeline.h) first cuts the pending chunk if it is at least
   * min_chunk long. Returns the chunks this append completed, oldest first. */
  std::vector<AudioChunk> push(uint64_t pts, const int16_t *samples, size_t frames);

  /* Cuts whatever is pending (nothing if empty). */
  std::vector<AudioChunk> flush();

  uint64_t pending_duration() const { return frames_to_ns(pending_frames_); }
  const ChunkerSettings &settings() const { return settings_; }

private:
  uint64_t frames_to_ns(uint64_t frames) const;
  void account_windows();
  /* Frame index at which to cut when a cut is due, or 0 for none. */
  size_t find_pause_cut() const;
  size_t find_quietest_cut(size_t limit_frames) const;
  AudioChunk cut(size_t at_frame, CutReason reason);

  ChunkerSettings settings_;
  int rate_;
  int channels_;
  size_t window_frames_;
  double quiet_energy_; /* mean square per sample under which a window is quiet */
  size_t min_frames_, max_frames_, min_pause_windows_;

  std::vector<uint8_t> pending_; /* kHeadroom, then the pending audio */
  size_t pending_frames_ = 0;
  /* Frames since the first push -> pipeline time; chunk times derive from
   * its runs, so rounding never accumulates. */
  TimeMap map_;
  uint64_t consumed_frames_ = 0;      /* frames already cut into chunks */
  std::vector<double> window_energy_; /* per complete window of the pending chunk */
};

} // namespace dgf
