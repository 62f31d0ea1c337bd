/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "caption_merger.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace dgf {
namespace {

constexpr size_t kSeenLimit = 4096;

} // namespace

const char *branch_name(Branch branch) {
  return branch == Branch::Stream ? "stream" : "batch";
}

void CaptionMerger::note_origin(uint64_t position) {
  if (!have_origin_) {
    have_origin_ = true;
    emitted_to_ = position;
  }
}

void CaptionMerger::routed(Branch branch, uint64_t start, uint64_t duration) {
  if (duration == 0)
    return;
  note_origin(start);
  owed_[static_cast<int>(branch)].insert(TimeRange{start, start + duration});
  live_edge_ = std::max(live_edge_, start + duration);
}

void CaptionMerger::acked(Branch branch, uint64_t position) {
  owed_[static_cast<int>(branch)].remove_before(position);
}

void CaptionMerger::abandon(Branch branch) {
  owed_[static_cast<int>(branch)].clear();
}

void CaptionMerger::advance_live_edge(uint64_t position) {
  note_origin(position);
  live_edge_ = std::max(live_edge_, position);
}

bool CaptionMerger::add_final(Caption caption) {
  if (caption.text.empty())
    return true;
  auto key = std::make_tuple(caption.session_id, caption.start, caption.text);
  if (!seen_.insert(key).second) {
    stats_.duplicates++;
    return false;
  }
  seen_order_.push_back(key);
  if (seen_order_.size() > kSeenLimit) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  note_origin(caption.start);
  uint64_t start = caption.start;
  pending_.emplace(start, std::move(caption));
  return true;
}

uint64_t CaptionMerger::watermark() const {
  uint64_t w = std::numeric_limits<uint64_t>::max();
  bool owed = false;
  for (const auto &ranges : owed_) {
    if (!ranges.empty()) {
      w = std::min(w, ranges.front().start);
      owed = true;
    }
  }
  return owed ? w : live_edge_;
}

void CaptionMerger::gap_to(std::vector<CaptionOutput> &out, uint64_t position) {
  if (!have_origin_ || position <= emitted_to_)
    return;
  out.push_back(CaptionGap{emitted_to_, position - emitted_to_});
  emitted_to_ = position;
  stats_.gaps++;
}

void CaptionMerger::emit(std::vector<CaptionOutput> &out, Caption caption, uint64_t next_start) {
  uint64_t start = caption.start;
  uint64_t end = start + caption.duration;
  if (start < emitted_to_) {
    /* Output already went past it: show it now rather than lose the words,
     * until its own end or for half its duration, whichever is later, so a
     * run of late captions is readable and still catches up with the audio. */
    if (!continues(emitted_to_, start))
      stats_.late++; /* more than jitter */
    caption.spoken_at = start;
    start = emitted_to_;
    end = std::max(end, start + caption.duration / 2);
  }
  if (next_start > start)
    end = std::min(end, next_start); /* the next caption takes over */
  gap_to(out, start);
  caption.start = start;
  caption.duration = end - start;
  emitted_to_ = end;
  stats_.captions++;
  out.push_back(std::move(caption));
}

bool CaptionMerger::join_same_start(std::multimap<uint64_t, Caption>::iterator first) {
  auto next = std::next(first);
  if (next == pending_.end() || next->first != first->first)
    return false;
  /* Two captions from one instant would make a zero-length cue: one cue. */
  next->second.text = first->second.text + "\n" + next->second.text;
  next->second.duration = std::max(next->second.duration, first->second.duration);
  auto &words = next->second.details.words;
  const auto &earlier = first->second.details.words;
  words.insert(words.begin(), earlier.begin(), earlier.end());
  pending_.erase(first);
  return true;
}

bool CaptionMerger::caption_ready() const {
  if (pending_.empty())
    return false;
  /* take()'s test for its first caption, without a clock. */
  const uint64_t w = watermark();
  auto first = pending_.begin();
  if (first->first >= w)
    return false;
  auto next = std::next(first);
  bool next_known = next != pending_.end() && next->first < w;
  return next_known || w >= first->second.start + first->second.duration;
}

std::vector<CaptionOutput> CaptionMerger::take(uint64_t clock_position) {
  std::vector<CaptionOutput> out;
  const uint64_t known = watermark();
  const bool forced = clock_position > known;
  const uint64_t w = forced ? clock_position : known;
  while (!pending_.empty()) {
    auto first = pending_.begin();
    if (first->first >= w)
      break;
    uint64_t end = first->second.start + first->second.duration;
    auto next = std::next(first);
    bool next_known = next != pending_.end() && next->first < w;
    if (!next_known && known < end && !forced)
      break; /* something may still start inside it: wait to know where to cut */
    if (join_same_start(first))
      continue;
    uint64_t next_start = next != pending_.end() ? next->first : UINT64_MAX;
    Caption c = std::move(first->second);
    pending_.erase(first);
    emit(out, std::move(c), next_start);
  }
  gap_to(out, pending_.empty() ? w : std::min(w, pending_.begin()->first));
  return out;
}

std::vector<CaptionOutput> CaptionMerger::finish() {
  std::vector<CaptionOutput> out;
  while (!pending_.empty()) {
    auto first = pending_.begin();
    auto next = std::next(first);
    if (join_same_start(first))
      continue;
    uint64_t next_start = next != pending_.end() ? next->first : UINT64_MAX;
    Caption c = std::move(first->second);
    pending_.erase(first);
    emit(out, std::move(c), next_start);
  }
  owed_[0].clear();
  owed_[1].clear();
  gap_to(out, live_edge_);
  return out;
}

void CaptionMerger::reset() {
  *this = CaptionMerger{};
}

} // namespace dgf
