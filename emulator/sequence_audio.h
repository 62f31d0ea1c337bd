/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sequence test audio: blocks whose first samples carry the block number.
 *
 * The emulator's "sequence" engine decodes these headers and returns one word
 * per block ("b000123") with exact times, so integrity tests can prove that
 * every block was transcribed exactly once and at the right time. The format
 * is specified in docs/sequence-audio.md.
 *
 * This file has no dependency beyond the C++ standard library: the plugin's
 * element tests link it (sequence_audio_dep) to generate audio.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dgemu {

constexpr int kSequenceDefaultBlockMs = 100;
constexpr size_t kSequenceSyncSamples = 8;
constexpr size_t kSequenceIdSamples = 32;
constexpr size_t kSequenceChecksumSamples = 8;
constexpr size_t kSequenceHeaderSamples =
    kSequenceSyncSamples + kSequenceIdSamples + kSequenceChecksumSamples; /* 48 */
constexpr int16_t kSequenceHeaderAmplitude = 512;

enum class BlockKind { speech, silence };
using BlockKindFn = std::function<BlockKind(uint32_t block)>;

/* Samples per channel in one block; 0 when the rate (8000-48000) or block_ms
 * is unsupported, rate * block_ms is not a multiple of 1000, or the block is
 * too short to hold its header plus as much content. */
size_t sequence_block_samples(int rate, int block_ms = kSequenceDefaultBlockMs);

/* CRC-8 (polynomial 0x07, initial value 0xFF) of the block number's 4 bytes,
 * most significant byte first. */
uint8_t sequence_checksum(uint32_t block);

/* Writes the 48 header samples of one channel. */
void sequence_write_header(uint32_t block, int16_t *out);

/* Interleaved S16 audio of `count` blocks numbered first_block,
 * first_block + 1, ...; `kind` chooses speech (tones) or silence (zeros) per
 * block, and may be empty (all speech). Empty when the parameters are
 * unsupported (see sequence_block_samples, channels 1-8). */
std::vector<int16_t> sequence_blocks(int rate, int channels, uint32_t first_block, uint32_t count,
                                     const BlockKindFn &kind = {},
                                     int block_ms = kSequenceDefaultBlockMs);

/* A repeating pattern of block kinds: 's'/'S' speech, '.'/'_'/'-' silence;
 * block n uses pattern[n % size]. An empty or invalid pattern means all
 * speech. */
BlockKindFn sequence_pattern(const std::string &pattern);

/* True when a valid header starts at `frame` of interleaved audio (channel 0
 * is checked); *block receives its number. */
bool sequence_header_at(const int16_t *samples, size_t frames, int channels, size_t frame,
                        uint32_t *block = nullptr);

/* The frames [begin, end) that hold the header of the index-th block of
 * audio made by sequence_blocks (index counts from the first block made). */
struct HeaderSpan {
  uint64_t begin = 0;
  uint64_t end = 0;
};
HeaderSpan sequence_header_span(int rate, uint64_t index, int block_ms = kSequenceDefaultBlockMs);

/* True when cutting the audio before `frame` would split a header, which
 * makes both pieces lose that block's word. Cutters avoid such cuts. */
bool sequence_cut_splits_header(int rate, uint64_t frame, int block_ms = kSequenceDefaultBlockMs);

/* A header found in a stream. */
struct SequenceHit {
  uint32_t block = 0;
  uint64_t offset = 0; /* sample index of the header's first sample */
};

/* Finds headers in one channel's samples fed in pieces of any size, with no
 * alignment assumed. Each complete header yields one hit when its last sample
 * is fed. */
class SequenceDecoder {
public:
  std::vector<SequenceHit> feed(const int16_t *samples, size_t count);

  /* A discontinuity: forget a partly seen header (it will not be decoded). */
  void cut() { tail_.clear(); }

  uint64_t samples_fed() const { return fed_; }

private:
  std::vector<int16_t> tail_; /* the last up to 47 samples, a header may start there */
  std::vector<int16_t> scan_;
  uint64_t fed_ = 0;
};

} // namespace dgemu
