/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caption splitter: one final transcript into caption-sized cues.
 *
 * A live or batch result can hold a whole paragraph; on screen a caption
 * should be at most a couple of short lines and a few seconds. The splitter
 * cuts a transcript at word boundaries, using the words' own times, into cues
 * of at most `max_lines` lines of at most `max_line_chars` characters, each
 * at most `max_duration` on screen. A cue also ends at a pause, and after a
 * sentence once it holds half a line. With `speaker_lines` every speaker
 * change starts a new line, and a cue holding two speakers marks each turn
 * with "- ". Rules and examples: docs/captions.md.
 *
 * Times are pipeline nanoseconds. Plain C++, no GStreamer types.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgf {

/* One word as shown (punctuated), with its time. */
struct CaptionWord {
  std::string text;
  uint64_t start = 0; /* ns */
  uint64_t end = 0;   /* ns */
  int speaker = -1;   /* diarization label, -1 when none */
};

struct CaptionSplitSettings {
  unsigned max_line_chars = 42;          /* characters (code points) per line; 0: no limit */
  unsigned max_lines = 2;                /* lines per cue; at least 1 */
  uint64_t max_duration = 5000000000ull; /* ns on screen; 0: no limit */
  uint64_t pause = 1500000000ull;        /* a silence this long between words ends a cue */
  uint64_t linger = 1000000000ull;       /* a cue stays up this long after its last word,
                                            within its transcript, until the next cue */
  bool speaker_lines = false;            /* a speaker change starts a new line */

  /* Off when nothing limits a caption: transcripts then pass whole. */
  bool enabled() const { return max_line_chars > 0 || max_duration > 0 || speaker_lines; }
};

struct CaptionCue {
  uint64_t start = 0;    /* ns */
  uint64_t duration = 0; /* ns */
  std::vector<std::string> lines;
  /* The lines joined by '\n', as a text/x-raw buffer carries them. */
  std::string text() const;
};

/* Splits the final transcript `text` over [start, start + duration) whose
 * words are `words` (in order; empty: the text's words, timed in proportion
 * to their length). Cues come out in order, never overlapping, each within
 * [start of its first word, end of the transcript]; every word appears once,
 * in order. Disabled settings give the transcript back whole. Empty text and
 * no words: no cue. */
std::vector<CaptionCue> split_caption(const std::vector<CaptionWord> &words, uint64_t start,
                                      uint64_t duration, const std::string &text,
                                      const CaptionSplitSettings &settings);

/* Characters (UTF-8 code points) in `s`. */
size_t utf8_length(const std::string &s);

} // namespace dgf
