/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sequence block codec: encoder, unaligned decoder, false-header safety. */
#include <glib.h>

#include <cmath>
#include <random>
#include <vector>

#include "sequence_audio.h"

using namespace dgemu;

namespace {

std::vector<int16_t> channel_of(const std::vector<int16_t> &interleaved, int channels, int c) {
  std::vector<int16_t> mono;
  for (size_t i = c; i < interleaved.size(); i += channels)
    mono.push_back(interleaved[i]);
  return mono;
}

std::vector<SequenceHit> decode_in_pieces(const std::vector<int16_t> &mono,
                                          const std::vector<size_t> &sizes) {
  SequenceDecoder decoder;
  std::vector<SequenceHit> hits;
  size_t pos = 0, i = 0;
  while (pos < mono.size()) {
    size_t n = std::min(sizes[i++ % sizes.size()], mono.size() - pos);
    for (const SequenceHit &h : decoder.feed(mono.data() + pos, n))
      hits.push_back(h);
    pos += n;
  }
  g_assert_cmpuint(decoder.samples_fed(), ==, mono.size());
  return hits;
}

void assert_hits_are_blocks(const std::vector<SequenceHit> &hits, uint32_t first, uint32_t count,
                            size_t block_samples, uint64_t offset0 = 0) {
  g_assert_cmpuint(hits.size(), ==, count);
  for (uint32_t k = 0; k < count; k++) {
    g_assert_cmpuint(hits[k].block, ==, first + k);
    g_assert_cmpuint(hits[k].offset, ==, offset0 + k * block_samples);
  }
}

double rms_dbfs(const int16_t *s, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += static_cast<double>(s[i]) * s[i];
  return 20 * std::log10(std::sqrt(sum / n) / 32768.0);
}

} // namespace

static void test_checksum_and_header() {
  /* CRC-8 poly 0x07 init 0xff over bytes 00 00 00 00 and 00 00 00 7b: the
   * values the worked example in docs/sequence-audio.md uses. */
  g_assert_cmpuint(sequence_checksum(0), ==, 0xd1);
  g_assert_cmpuint(sequence_checksum(123), ==, 0xb7);
  for (uint32_t block : {0u, 1u, 123u, 999999u, 0x80000000u, 0xffffffffu}) {
    int16_t h[kSequenceHeaderSamples];
    sequence_write_header(block, h);
    for (int16_t v : h)
      g_assert_true(v == 512 || v == -512);
    uint32_t got = 0;
    g_assert_true(sequence_header_at(h, kSequenceHeaderSamples, 1, 0, &got));
    g_assert_cmpuint(got, ==, block);
    /* One flipped bit breaks the checksum; a header cut short is no header. */
    h[20] = static_cast<int16_t>(-h[20]);
    g_assert_false(sequence_header_at(h, kSequenceHeaderSamples, 1, 0, nullptr));
    h[20] = static_cast<int16_t>(-h[20]);
    g_assert_false(sequence_header_at(h, kSequenceHeaderSamples - 1, 1, 0, nullptr));
    h[47] = 511;
    g_assert_false(sequence_header_at(h, kSequenceHeaderSamples, 1, 0, nullptr));
  }
}

static void test_block_samples() {
  g_assert_cmpuint(sequence_block_samples(16000), ==, 1600);
  g_assert_cmpuint(sequence_block_samples(44100), ==, 4410);
  g_assert_cmpuint(sequence_block_samples(8000, 20), ==, 160);
  g_assert_cmpuint(sequence_block_samples(44100, 7), ==, 0); /* 308.7 samples */
  g_assert_cmpuint(sequence_block_samples(8000, 10), ==, 0); /* 80 < 96 samples */
  g_assert_cmpuint(sequence_block_samples(96000), ==, 0);    /* out of range */
  g_assert_cmpuint(sequence_block_samples(16000, 0), ==, 0);
  g_assert_true(sequence_blocks(16000, 9, 0, 3).empty());
  g_assert_true(sequence_blocks(44100, 1, 0, 3, {}, 7).empty());
  g_assert_cmpuint(sequence_blocks(48000, 2, 0, 3).size(), ==, 3 * 4800 * 2);
}

static void test_round_trip_rates_and_channels() {
  BlockKindFn pattern = sequence_pattern("sss..s.");
  for (int rate : {8000, 16000, 44100, 48000}) {
    for (int channels : {1, 2, 8}) {
      const uint32_t first = 4242, count = 30;
      std::vector<int16_t> audio = sequence_blocks(rate, channels, first, count, pattern);
      size_t b = sequence_block_samples(rate);
      g_assert_cmpuint(audio.size(), ==, b * channels * count);
      for (int c = 0; c < channels; c++) {
        std::vector<int16_t> mono = channel_of(audio, channels, c);
        assert_hits_are_blocks(decode_in_pieces(mono, {mono.size()}), first, count, b);
      }
      for (uint32_t k = 0; k < count; k++) {
        uint32_t got = 0;
        HeaderSpan span = sequence_header_span(rate, k);
        g_assert_cmpuint(span.begin, ==, k * b);
        g_assert_cmpuint(span.end - span.begin, ==, kSequenceHeaderSamples);
        g_assert_true(sequence_header_at(audio.data(), b * count, channels, span.begin, &got));
        g_assert_cmpuint(got, ==, first + k);
        g_assert_false(sequence_header_at(audio.data(), b * count, channels, span.begin + 1));
      }
    }
  }
}

static void test_block_ms_configurable() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 7, 20, {}, 20);
  assert_hits_are_blocks(decode_in_pieces(audio, {audio.size()}), 7, 20, 320);
  g_assert_cmpuint(sequence_header_span(16000, 3, 20).begin, ==, 960);
}

static void test_unaligned_feeds() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 40, sequence_pattern("ss."));
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; round++) {
    std::vector<size_t> sizes;
    for (int i = 0; i < 64; i++)
      sizes.push_back(std::uniform_int_distribution<size_t>(1, 3000)(rng));
    assert_hits_are_blocks(decode_in_pieces(audio, sizes), 0, 40, 1600);
  }
  assert_hits_are_blocks(decode_in_pieces(audio, {1}), 0, 40, 1600);
  assert_hits_are_blocks(decode_in_pieces(audio, {47}), 0, 40, 1600);
  assert_hits_are_blocks(decode_in_pieces(audio, {48}), 0, 40, 1600);
  assert_hits_are_blocks(decode_in_pieces(audio, {0, 5, 0, 200}), 0, 40, 1600);
}

static void test_stream_starting_anywhere() {
  /* A new connection may start mid-block: its first hit is the next header,
   * at an offset relative to its own first sample. */
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 100, 10);
  std::vector<int16_t> late(audio.begin() + 2 * 1600 + 777, audio.end());
  assert_hits_are_blocks(decode_in_pieces(late, {333}), 103, 7, 1600, 1600 - 777);
}

static void test_no_false_headers_in_tone_and_noise() {
  const int rate = 16000;
  const size_t n = 60 * rate;
  std::mt19937 rng(99);
  std::normal_distribution<double> noise(0.0, 300.0);
  std::uniform_int_distribution<int> full(-32768, 32767);
  std::vector<int16_t> audio(n);
  for (size_t i = 0; i < n; i++) {
    /* Tones sweeping through the header's level, plus noise; every 5 s
     * switches to full-scale white noise. */
    double t = static_cast<double>(i) / rate;
    double v = 512.0 * std::sin(2 * M_PI * 440 * t) +
               8000.0 * std::sin(2 * M_PI * 97 * t) * std::sin(2 * M_PI * 0.1 * t);
    v += noise(rng);
    audio[i] = (static_cast<int>(t) / 5) % 2 ? static_cast<int16_t>(full(rng))
                                             : static_cast<int16_t>(std::lround(v));
  }
  g_assert_cmpuint(decode_in_pieces(audio, {4096}).size(), ==, 0);

  /* Speech blocks with their headers blanked: the content alone is no header. */
  std::vector<int16_t> blocks = sequence_blocks(rate, 1, 0, 600);
  for (size_t k = 0; k < 600; k++)
    std::fill_n(blocks.begin() + k * 1600, kSequenceHeaderSamples, 0);
  g_assert_cmpuint(decode_in_pieces(blocks, {1000}).size(), ==, 0);
}

static void test_split_blocks_exactly_once() {
  const size_t b = 1600;
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 10);
  auto hits_of = [&](size_t from, size_t to) {
    std::vector<int16_t> piece(audio.begin() + from, audio.begin() + to);
    std::vector<uint32_t> blocks;
    for (const SequenceHit &h : decode_in_pieces(piece, {piece.size()}))
      blocks.push_back(h.block);
    return blocks;
  };
  /* Cut after block 4's header: only the first piece has block 4. */
  size_t cut = 4 * b + 100;
  g_assert_false(sequence_cut_splits_header(16000, cut));
  g_assert_cmpuint(hits_of(0, cut).size(), ==, 5);
  g_assert_cmpuint(hits_of(0, cut).back(), ==, 4);
  g_assert_cmpuint(hits_of(cut, audio.size()).front(), ==, 5);
  /* Cut at a block boundary: block 4 goes to the second piece. */
  cut = 4 * b;
  g_assert_false(sequence_cut_splits_header(16000, cut));
  g_assert_cmpuint(hits_of(0, cut).size(), ==, 4);
  g_assert_cmpuint(hits_of(cut, audio.size()).front(), ==, 4);
  /* Cut inside block 4's header: neither piece has it. */
  for (size_t into : {1, 20, 47}) {
    cut = 4 * b + into;
    g_assert_true(sequence_cut_splits_header(16000, cut));
    g_assert_cmpuint(hits_of(0, cut).size(), ==, 4);
    g_assert_cmpuint(hits_of(cut, audio.size()).front(), ==, 5);
  }
  g_assert_false(sequence_cut_splits_header(16000, 4 * b + 48));
}

static void test_decoder_cut_forgets_partial_header() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 2);
  SequenceDecoder decoder;
  g_assert_cmpuint(decoder.feed(audio.data(), 1600 + 20).size(), ==, 1);
  decoder.cut();
  g_assert_cmpuint(decoder.feed(audio.data() + 1620, 3200 - 1620).size(), ==, 0);
  g_assert_cmpuint(decoder.samples_fed(), ==, 3200);
}

static void test_speech_and_silence_levels() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 2, sequence_pattern("s."));
  double speech = rms_dbfs(audio.data(), 1600);
  double silence = rms_dbfs(audio.data() + 1600, 1600);
  g_assert_cmpfloat(speech, >, -25.0);
  g_assert_cmpfloat(silence, <, -50.0);
  g_assert_cmpfloat(silence, >, -52.0);
  for (size_t i = 1600 + kSequenceHeaderSamples; i < 3200; i++)
    g_assert_cmpint(audio[i], ==, 0);
}

static void test_pattern() {
  BlockKindFn p = sequence_pattern("sS._-");
  g_assert_true(p(0) == BlockKind::speech);
  g_assert_true(p(1) == BlockKind::speech);
  g_assert_true(p(2) == BlockKind::silence);
  g_assert_true(p(4) == BlockKind::silence);
  g_assert_true(p(5) == BlockKind::speech);
  g_assert_false(static_cast<bool>(sequence_pattern("")));
  g_assert_false(static_cast<bool>(sequence_pattern("sx")));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/sequence-audio/checksum-and-header", test_checksum_and_header);
  g_test_add_func("/sequence-audio/block-samples", test_block_samples);
  g_test_add_func("/sequence-audio/round-trip", test_round_trip_rates_and_channels);
  g_test_add_func("/sequence-audio/block-ms", test_block_ms_configurable);
  g_test_add_func("/sequence-audio/unaligned-feeds", test_unaligned_feeds);
  g_test_add_func("/sequence-audio/start-anywhere", test_stream_starting_anywhere);
  g_test_add_func("/sequence-audio/no-false-headers", test_no_false_headers_in_tone_and_noise);
  g_test_add_func("/sequence-audio/split-blocks", test_split_blocks_exactly_once);
  g_test_add_func("/sequence-audio/decoder-cut", test_decoder_cut_forgets_partial_header);
  g_test_add_func("/sequence-audio/levels", test_speech_and_silence_levels);
  g_test_add_func("/sequence-audio/pattern", test_pattern);
  return g_test_run();
}
