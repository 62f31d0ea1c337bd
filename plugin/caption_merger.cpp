#include "caption_merger.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace dgf {
namespace {

constexpr size_t kSeenLimit = 4096;

void insert_range(std::vector<TimeRange> &ranges, TimeRange r) {
  if (!ranges.empty() && ranges.back().end == r.start) {
    ranges.back().end = r.end; /* contiguous audio: the usual case */
    return;
  }
  auto at =
      std::upper_bound(ranges.begin(), ranges.end(), r,
                       [](const TimeRange &a, const TimeRange &b) { return a.start < b.start; });
  ranges.insert(at, r);
  std::vector<TimeRange> merged;
  for (const TimeRange &x : ranges) {
    if (!merged.empty() && x.start <= merged.back().end)
      merged.back().end = std::max(merged.back().end, x.end);
    else
      merged.push_back(x);
  }
  ranges = std::move(merged);
}

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
  insert_range(owed_[static_cast<int>(branch)], TimeRange{start, start + duration});
  live_edge_ = std::max(live_edge_, start + duration);
}

void CaptionMerger::acked(Branch branch, uint64_t position) {
  auto &ranges = owed_[static_cast<int>(branch)];
  while (!ranges.empty() && ranges.front().end <= position)
    ranges.erase(ranges.begin());
  if (!ranges.empty() && ranges.front().start < position)
    ranges.front().start = position;
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

void CaptionMerger::emit(std::vector<CaptionOutput> &out, Caption caption, uint64_t clip_end) {
  uint64_t start = caption.start;
  uint64_t end = std::max(clip_end, start);
  if (start < emitted_to_) {
    /* Output already went past it: show it now rather than lose the words. */
    stats_.late++;
    start = emitted_to_;
    end = std::max(end, start);
  }
  gap_to(out, start);
  caption.start = start;
  caption.duration = end - start;
  emitted_to_ = end;
  stats_.captions++;
  out.push_back(std::move(caption));
}

std::vector<CaptionOutput> CaptionMerger::take() {
  std::vector<CaptionOutput> out;
  const uint64_t w = watermark();
  while (!pending_.empty()) {
    auto first = pending_.begin();
    if (first->first >= w)
      break;
    uint64_t end = first->second.start + first->second.duration;
    auto next = std::next(first);
    uint64_t clip = end;
    if (next != pending_.end() && next->first < w)
      clip = std::min(end, next->first);
    else if (w < end)
      break; /* something may still start inside it: wait to know where to cut */
    Caption c = std::move(first->second);
    pending_.erase(first);
    emit(out, std::move(c), clip);
  }
  gap_to(out, pending_.empty() ? w : std::min(w, pending_.begin()->first));
  return out;
}

std::vector<CaptionOutput> CaptionMerger::finish() {
  std::vector<CaptionOutput> out;
  while (!pending_.empty()) {
    auto first = pending_.begin();
    uint64_t end = first->second.start + first->second.duration;
    auto next = std::next(first);
    if (next != pending_.end())
      end = std::min(end, next->first);
    Caption c = std::move(first->second);
    pending_.erase(first);
    emit(out, std::move(c), end);
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
