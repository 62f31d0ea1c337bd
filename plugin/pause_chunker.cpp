/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pause_chunker.h"

#include "quiet_detector.h"
#include "timeline.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dgf {

const char *cut_reason_name(CutReason reason) {
  switch (reason) {
  case CutReason::Pause:
    return "pause";
  case CutReason::MaxChunk:
    return "max-chunk";
  case CutReason::Gap:
    return "gap";
  case CutReason::Flush:
    return "flush";
  }
  return "unknown";
}

namespace {
uint64_t ns_to_frames(uint64_t ns, int rate) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(ns) * rate) / 1000000000u);
}
} // namespace

PauseChunker::PauseChunker(const ChunkerSettings &settings, int rate, int channels)
    : settings_(settings), rate_(std::max(rate, 1)), channels_(std::max(channels, 1)), map_(rate_) {
  window_frames_ = std::max<size_t>(1, ns_to_frames(settings_.window, rate_));
  max_frames_ = std::max<size_t>(window_frames_, ns_to_frames(settings_.max_chunk, rate_));
  min_frames_ = std::min<size_t>(ns_to_frames(settings_.min_chunk, rate_), max_frames_);
  min_pause_windows_ = std::max<size_t>(
      1, (ns_to_frames(settings_.min_pause, rate_) + window_frames_ - 1) / window_frames_);
  quiet_energy_ = quiet_energy_for(settings_.pause_threshold_db);
  pending_.assign(AudioChunk::kHeadroom, 0);
}

uint64_t PauseChunker::frames_to_ns(uint64_t frames) const {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(frames) * 1000000000u) / rate_);
}

std::vector<AudioChunk> PauseChunker::push(uint64_t pts, const int16_t *samples, size_t frames) {
  std::vector<AudioChunk> out;
  if (frames == 0)
    return out;
  if (pending_frames_ > 0 && !continues(map_.end_pts(), pts) && pending_frames_ >= min_frames_)
    out.push_back(cut(pending_frames_, CutReason::Gap));
  map_.append(pts, frames);

  const size_t frame_bytes = sizeof(int16_t) * channels_;
  size_t done = 0;
  while (done < frames) {
    size_t take = std::min(frames - done, max_frames_ - pending_frames_);
    const auto *bytes = reinterpret_cast<const uint8_t *>(samples + done * channels_);
    pending_.insert(pending_.end(), bytes, bytes + take * frame_bytes);
    pending_frames_ += take;
    done += take;
    account_windows();

    if (size_t at = find_pause_cut())
      out.push_back(cut(at, CutReason::Pause));
    else if (pending_frames_ >= max_frames_)
      out.push_back(cut(find_quietest_cut(max_frames_), CutReason::MaxChunk));
  }
  return out;
}

std::vector<AudioChunk> PauseChunker::flush() {
  std::vector<AudioChunk> out;
  if (pending_frames_ > 0)
    out.push_back(cut(pending_frames_, CutReason::Flush));
  return out;
}

void PauseChunker::account_windows() {
  const auto *all = reinterpret_cast<const int16_t *>(pending_.data() + AudioChunk::kHeadroom);
  size_t complete = pending_frames_ / window_frames_;
  for (size_t w = window_energy_.size(); w < complete; w++)
    window_energy_.push_back(
        loudest_channel_energy(all + w * window_frames_ * channels_, window_frames_, channels_));
}

size_t PauseChunker::find_pause_cut() const {
  size_t first = std::max<size_t>(1, (min_frames_ + window_frames_ - 1) / window_frames_);
  size_t run_start = 0, run_len = 0;
  for (size_t w = first; w < window_energy_.size(); w++) {
    if (window_energy_[w] < quiet_energy_) {
      if (run_len++ == 0)
        run_start = w;
      if (run_len >= min_pause_windows_) {
        /* The quietest window of the run; ties go to the middle-most. */
        size_t best = run_start;
        double middle = run_start + (run_len - 1) / 2.0;
        for (size_t i = run_start; i < run_start + run_len; i++) {
          if (window_energy_[i] < window_energy_[best] ||
              (window_energy_[i] == window_energy_[best] &&
               std::abs(i - middle) < std::abs(best - middle)))
            best = i;
        }
        return best * window_frames_;
      }
    } else {
      run_len = 0;
    }
  }
  return 0;
}

size_t PauseChunker::find_quietest_cut(size_t limit_frames) const {
  size_t first = std::max<size_t>(1, (min_frames_ + window_frames_ - 1) / window_frames_);
  size_t last = std::min(window_energy_.size(), limit_frames / window_frames_);
  if (first >= last)
    return limit_frames;
  size_t best = last - 1;
  for (size_t w = last; w-- > first;) {
    if (window_energy_[w] < window_energy_[best])
      best = w;
  }
  /* Only a quiet window is worth a shorter chunk; in steady speech cut at the limit. */
  return window_energy_[best] < quiet_energy_ ? best * window_frames_ : limit_frames;
}

AudioChunk PauseChunker::cut(size_t at, CutReason reason) {
  at = std::min(at, pending_frames_);
  const size_t frame_bytes = sizeof(int16_t) * channels_;
  AudioChunk chunk;
  chunk.map = map_.slice(consumed_frames_, at);
  chunk.start = chunk.map.start_pts();
  chunk.frames = at;
  chunk.duration = frames_to_ns(consumed_frames_ + at) - frames_to_ns(consumed_frames_);
  chunk.reason = reason;

  /* The chunk gets an exact-size copy, made once: a held chunk costs its
   * audio plus the header room, and retries never copy again. */
  auto begin = pending_.begin() + AudioChunk::kHeadroom;
  auto split = begin + at * frame_bytes;
  chunk.storage = std::make_shared<std::vector<uint8_t>>();
  chunk.storage->reserve(AudioChunk::kHeadroom + at * frame_bytes);
  chunk.storage->assign(AudioChunk::kHeadroom, 0);
  chunk.storage->insert(chunk.storage->end(), begin, split);
  pending_.erase(begin, split);

  pending_frames_ -= at;
  consumed_frames_ += at;
  map_.forget_frames_before(consumed_frames_);
  if (at % window_frames_ == 0) {
    window_energy_.erase(window_energy_.begin(),
                         window_energy_.begin() +
                             std::min(window_energy_.size(), at / window_frames_));
  } else {
    window_energy_.clear(); /* unaligned cut (gap, flush): recount what is left */
    account_windows();
  }
  return chunk;
}

} // namespace dgf
