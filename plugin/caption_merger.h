/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caption merger: final transcripts from the stream and batch branches,
 * out in timestamp order with no overlaps.
 *
 * Each branch "owes" the audio routed to it that it has not acknowledged yet
 * (stt/ack). A caption is released only once no branch can still produce
 * anything earlier: its start lies before the watermark, the earliest owed
 * audio over both branches (or the live edge when nobody owes anything).
 * A released caption is cut short where the next one starts, so the output
 * never overlaps; when the watermark moves on over audio that produced no
 * words, a Gap covers that span, so caption muxers keep flowing.
 *
 * Times are pipeline nanoseconds. Plain C++, no GStreamer types. Not
 * thread-safe: the owner serializes calls.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "timeline.h"

namespace dgf {

enum class Branch { Stream = 0, Batch = 1 };
/* "stream" or "batch", as stt/transcript's branch field. */
const char *branch_name(Branch branch);

/* A word of a caption with what Deepgram said about it. */
struct CaptionWordInfo {
  std::string word;            /* punctuated when Deepgram punctuated it */
  uint64_t start = 0, end = 0; /* ns */
  double confidence = 0.0;
  int speaker = -1;                 /* diarization label, -1 none */
  double speaker_confidence = -1.0; /* -1 unknown */
  std::string language;             /* "" unknown */
};

/* What a caption user may want besides the text: carried to the text pad's
 * DgfTranscriptMeta. */
struct CaptionDetails {
  int channel = 0;
  std::string language; /* the transcript's detected language, "" unknown */
  int speaker = -1;     /* the utterance's speaker (pre-recorded utterances), -1 none */
  bool from_finalize = false;
  std::string request_id;
  std::vector<CaptionWordInfo> words; /* the caption's own words */
};

struct Caption {
  uint64_t start = 0;    /* ns */
  uint64_t duration = 0; /* ns */
  std::string text;
  Branch branch = Branch::Stream;
  std::string session_id; /* speaker labels compare only within one session */
  /* When its audio was: `start` unless the caption came late and was moved. */
  uint64_t spoken_at = UINT64_MAX;
  CaptionDetails details{};
  uint64_t audio_start() const { return spoken_at != UINT64_MAX ? spoken_at : start; }
};

/* Nothing will be said from start for duration. */
struct CaptionGap {
  uint64_t start = 0;
  uint64_t duration = 0;
};

using CaptionOutput = std::variant<Caption, CaptionGap>;

struct CaptionMergerStats {
  uint64_t captions = 0;   /* released */
  uint64_t gaps = 0;       /* released */
  uint64_t duplicates = 0; /* dropped repeats of (session, start, text) */
  uint64_t late = 0;       /* arrived after output had passed their start; moved later */
};

class CaptionMerger {
public:
  /* Audio [start, start + duration) went to `branch`: it owes a result. */
  void routed(Branch branch, uint64_t start, uint64_t duration);
  /* `branch` has final results for all its audio before `position`. */
  void acked(Branch branch, uint64_t position);
  /* `branch` will never answer for what it owes (it died and its audio was
   * re-routed, or it drained at EOS). */
  void abandon(Branch branch);
  /* What `branch` still owes a result for, oldest first. */
  const std::vector<TimeRange> &owed(Branch branch) const {
    return owed_[static_cast<int>(branch)].list();
  }
  /* Audio up to `position` exists but went nowhere (an audio GAP, a drop). */
  void advance_live_edge(uint64_t position);

  /* A final transcript. Empty text is ignored. Returns false for a repeat. */
  bool add_final(Caption caption);

  /* Everything releasable now, in order. A live pipeline's clock may force
   * the output on to `clock_position`: captions starting before it are
   * released, and a gap covers the rest, even over audio still owed (its
   * captions then come late, moved after what was already output). */
  std::vector<CaptionOutput> take(uint64_t clock_position = 0);
  /* EOS: everything still held, in order, then a gap to the live edge. */
  std::vector<CaptionOutput> finish();

  /* No branch can still produce a caption starting before this. */
  uint64_t watermark() const;
  uint64_t live_edge() const { return live_edge_; }
  /* Where the output has got to (the end of what take() released). */
  uint64_t emitted_to() const { return emitted_to_; }
  bool has_pending() const { return !pending_.empty(); }
  /* take() would release a caption now (not only a gap). */
  bool caption_ready() const;
  const CaptionMergerStats &stats() const { return stats_; }
  void reset();

private:
  /* Merges the first pending caption into the next when both start at once. */
  bool join_same_start(std::multimap<uint64_t, Caption>::iterator first);
  /* Outputs `caption` after what was output; it ends by `next_start`. */
  void emit(std::vector<CaptionOutput> &out, Caption caption, uint64_t next_start);
  void gap_to(std::vector<CaptionOutput> &out, uint64_t position);
  void note_origin(uint64_t position);

  TimeRanges owed_[2];
  uint64_t live_edge_ = 0;
  bool have_origin_ = false;
  uint64_t emitted_to_ = 0; /* end of the last output */
  std::multimap<uint64_t, Caption> pending_;
  /* Recent (session, start, text) keys; bounded so a long run stays small. */
  std::set<std::tuple<std::string, uint64_t, std::string>> seen_;
  std::deque<std::tuple<std::string, uint64_t, std::string>> seen_order_;
  CaptionMergerStats stats_;
};

} // namespace dgf
