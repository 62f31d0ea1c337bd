/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chaos soak's accounting: what became of every block of sequence audio
 * (docs/sequence-audio.md: block b's word is "b%06u", starting at
 * origin + b * block). Pure C++, no GStreamer. Every block sent lands in
 * exactly one class, so the columns of a row add up to `sent`. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chaos {

struct Word {
  std::string text;
  uint64_t start = 0; /* ns */
};

struct Range {
  uint64_t start = 0, duration = 0; /* ns, a reported stt/audio-dropped */
};

struct Tally {
  uint32_t sent = 0;
  uint32_t once = 0;       /* exactly one word, at its time */
  uint32_t lost = 0;       /* no word, and no reported drop covers it */
  uint32_t duplicated = 0; /* more than one word (a drop never excuses that) */
  uint32_t mistimed = 0;   /* one word at the wrong time, outside reported drops */
  uint32_t dropped = 0;    /* no word (or a wrong time) inside a reported drop */
  uint32_t stray = 0;      /* words that are no block sent */
  std::vector<uint32_t> lost_blocks, duplicated_blocks, mistimed_blocks;
  bool clean() const { return lost == 0 && duplicated == 0 && mistimed == 0 && stray == 0; }
  /* "lost 3 [12 13 14], duplicated 1 [40]" (first few of each), or "". */
  std::string describe() const;
};

/* Blocks [0, sent); a block is covered by a drop when its span overlaps one. */
Tally tally_blocks(const std::vector<Word> &words, uint32_t sent, uint64_t block_ns,
                   const std::vector<Range> &drops, uint64_t tolerance_ns);

/* The captions' view: words in output order, no timing per word. Checks each
 * block once (missing ones excused by drops) and in order. */
struct CaptionTally {
  uint32_t words = 0;
  uint32_t missing = 0, duplicated = 0, out_of_order = 0, stray = 0;
  bool clean() const { return missing == 0 && duplicated == 0 && out_of_order == 0 && stray == 0; }
};
CaptionTally tally_captions(const std::vector<std::string> &words, uint32_t sent, uint64_t block_ns,
                            const std::vector<Range> &drops);

} // namespace chaos
