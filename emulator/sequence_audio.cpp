/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sequence_audio.h"

#include <algorithm>
#include <cmath>

namespace dgemu {

namespace {

constexpr int kSyncPattern[kSequenceSyncSamples] = {+1, -1, +1, +1, -1, -1, +1, -1};

/* Speech content: three tones so any energy detector or recognizer sees a
 * loud, steady signal (about -19 dBFS RMS). */
constexpr double kToneHz[] = {440.0, 660.0, 990.0};
constexpr double kToneAmplitude = 3000.0;
constexpr double kTwoPi = 6.283185307179586;

int16_t bit_sample(bool one) {
  return one ? kSequenceHeaderAmplitude : static_cast<int16_t>(-kSequenceHeaderAmplitude);
}

int16_t tone_sample(int rate, size_t n) {
  double t = static_cast<double>(n) / rate;
  double v = 0.0;
  for (double hz : kToneHz)
    v += kToneAmplitude * std::sin(kTwoPi * hz * t);
  auto s = static_cast<int16_t>(std::lround(v));
  /* Content never holds a header value, so no window that overlaps content
   * can pass for a header. */
  if (s == kSequenceHeaderAmplitude || s == -kSequenceHeaderAmplitude)
    s += s > 0 ? 1 : -1;
  return s;
}

/* The header is 48 samples that are each exactly +A or -A, sync first. */
bool header_in(const int16_t *s, size_t stride, uint32_t *block) {
  for (size_t i = 0; i < kSequenceSyncSamples; i++)
    if (s[i * stride] != kSyncPattern[i] * kSequenceHeaderAmplitude)
      return false;
  uint64_t bits = 0;
  for (size_t i = kSequenceSyncSamples; i < kSequenceHeaderSamples; i++) {
    int16_t v = s[i * stride];
    if (v != kSequenceHeaderAmplitude && v != -kSequenceHeaderAmplitude)
      return false;
    bits = (bits << 1) | (v > 0 ? 1u : 0u);
  }
  auto id = static_cast<uint32_t>(bits >> 8);
  if (sequence_checksum(id) != static_cast<uint8_t>(bits & 0xff))
    return false;
  if (block)
    *block = id;
  return true;
}

} // namespace

size_t sequence_block_samples(int rate, int block_ms) {
  if (rate < 8000 || rate > 48000 || block_ms <= 0 || block_ms > 60000)
    return 0;
  int64_t product = static_cast<int64_t>(rate) * block_ms;
  if (product % 1000 != 0)
    return 0;
  auto samples = static_cast<size_t>(product / 1000);
  return samples >= 2 * kSequenceHeaderSamples ? samples : 0;
}

uint8_t sequence_checksum(uint32_t block) {
  uint8_t crc = 0xff;
  for (int shift = 24; shift >= 0; shift -= 8) {
    crc ^= static_cast<uint8_t>(block >> shift);
    for (int bit = 0; bit < 8; bit++)
      crc = static_cast<uint8_t>(crc & 0x80 ? (crc << 1) ^ 0x07 : crc << 1);
  }
  return crc;
}

void sequence_write_header(uint32_t block, int16_t *out) {
  for (size_t i = 0; i < kSequenceSyncSamples; i++)
    out[i] = static_cast<int16_t>(kSyncPattern[i] * kSequenceHeaderAmplitude);
  uint64_t bits = (static_cast<uint64_t>(block) << 8) | sequence_checksum(block);
  for (size_t i = 0; i < kSequenceIdSamples + kSequenceChecksumSamples; i++)
    out[kSequenceSyncSamples + i] = bit_sample((bits >> (39 - i)) & 1);
}

std::vector<int16_t> sequence_blocks(int rate, int channels, uint32_t first_block, uint32_t count,
                                     const BlockKindFn &kind, int block_ms) {
  size_t frames = sequence_block_samples(rate, block_ms);
  if (frames == 0 || channels < 1 || channels > 8)
    return {};
  std::vector<int16_t> one(frames);
  std::vector<int16_t> out(frames * channels * count);
  int16_t *dst = out.data();
  for (uint32_t i = 0; i < count; i++) {
    uint32_t block = first_block + i;
    bool speech = !kind || kind(block) == BlockKind::speech;
    sequence_write_header(block, one.data());
    for (size_t n = kSequenceHeaderSamples; n < frames; n++)
      one[n] = speech ? tone_sample(rate, n - kSequenceHeaderSamples) : 0;
    for (size_t n = 0; n < frames; n++)
      for (int c = 0; c < channels; c++)
        *dst++ = one[n];
  }
  return out;
}

BlockKindFn sequence_pattern(const std::string &pattern) {
  std::vector<BlockKind> kinds;
  for (char c : pattern) {
    if (c == 's' || c == 'S')
      kinds.push_back(BlockKind::speech);
    else if (c == '.' || c == '_' || c == '-')
      kinds.push_back(BlockKind::silence);
    else
      return {};
  }
  if (kinds.empty())
    return {};
  return [kinds](uint32_t block) { return kinds[block % kinds.size()]; };
}

bool sequence_header_at(const int16_t *samples, size_t frames, int channels, size_t frame,
                        uint32_t *block) {
  if (channels < 1 || frame > frames || frames - frame < kSequenceHeaderSamples)
    return false;
  return header_in(samples + frame * channels, static_cast<size_t>(channels), block);
}

HeaderSpan sequence_header_span(int rate, uint64_t index, int block_ms) {
  uint64_t frames = sequence_block_samples(rate, block_ms);
  return {index * frames, index * frames + kSequenceHeaderSamples};
}

bool sequence_cut_splits_header(int rate, uint64_t frame, int block_ms) {
  uint64_t frames = sequence_block_samples(rate, block_ms);
  if (frames == 0)
    return false;
  uint64_t into_block = frame % frames;
  return into_block > 0 && into_block < kSequenceHeaderSamples;
}

std::vector<SequenceHit> SequenceDecoder::feed(const int16_t *samples, size_t count) {
  std::vector<SequenceHit> hits;
  if (count == 0)
    return hits;
  /* Scan the kept tail plus the new samples; a header may straddle feeds. */
  scan_.assign(tail_.begin(), tail_.end());
  scan_.insert(scan_.end(), samples, samples + count);
  uint64_t scan_origin = fed_ - tail_.size();
  for (size_t p = 0; p + kSequenceHeaderSamples <= scan_.size(); p++) {
    if (scan_[p] != kSequenceHeaderAmplitude) /* cheap reject: sync starts with +A */
      continue;
    uint32_t block = 0;
    if (header_in(scan_.data() + p, 1, &block))
      hits.push_back({block, scan_origin + p});
  }
  fed_ += count;
  size_t keep = std::min(scan_.size(), kSequenceHeaderSamples - 1);
  tail_.assign(scan_.end() - static_cast<std::ptrdiff_t>(keep), scan_.end());
  return hits;
}

} // namespace dgemu
