/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <cmath>
#include <vector>

#include "pause_chunker.h"

using dgf::AudioChunk;
using dgf::ChunkerSettings;
using dgf::CutReason;
using dgf::PauseChunker;

static const uint64_t MS = 1000000;
static const int RATE = 16000;

/* ms of audio per channel: loud (a tone) or quiet (zeros). */
static void append(std::vector<int16_t> &pcm, int channels, int ms, bool loud,
                   int loud_channel = -1) {
  int frames = RATE * ms / 1000;
  for (int f = 0; f < frames; f++)
    for (int c = 0; c < channels; c++) {
      bool on = loud && (loud_channel < 0 || loud_channel == c);
      pcm.push_back(on ? static_cast<int16_t>(8000 * std::sin(f * 0.17)) : 0);
    }
}

static ChunkerSettings settings(uint64_t min_ms, uint64_t max_ms) {
  ChunkerSettings s;
  s.min_chunk = min_ms * MS;
  s.max_chunk = max_ms * MS;
  s.min_pause = 300 * MS;
  s.window = 20 * MS;
  return s;
}

static void test_steady_speech_cuts_at_max_chunk() {
  PauseChunker chunker(settings(1000, 3000), RATE, 1);
  std::vector<int16_t> pcm;
  append(pcm, 1, 7000, true);
  auto chunks = chunker.push(0, pcm.data(), pcm.size());
  g_assert_cmpuint(chunks.size(), ==, 2);
  for (size_t i = 0; i < chunks.size(); i++) {
    g_assert_cmpuint(chunks[i].start, ==, i * 3000 * MS);
    g_assert_cmpuint(chunks[i].duration, ==, 3000 * MS);
    g_assert_true(chunks[i].reason == CutReason::MaxChunk);
    g_assert_cmpuint(chunks[i].audio_bytes(), ==, 3 * RATE * 2);
    /* Held audio costs the audio plus the header room, nothing more. */
    g_assert_cmpuint(chunks[i].storage->capacity(), ==, chunks[i].storage->size());
  }
  g_assert_cmpuint(chunker.pending_duration(), ==, 1000 * MS);
  auto rest = chunker.flush();
  g_assert_cmpuint(rest.size(), ==, 1);
  g_assert_cmpuint(rest[0].start, ==, 6000 * MS);
  g_assert_true(rest[0].reason == CutReason::Flush);
  g_assert_cmpuint(chunker.flush().size(), ==, 0);
}

static void test_pause_before_min_chunk_is_ignored_then_used_after() {
  PauseChunker chunker(settings(2000, 30000), RATE, 1);
  std::vector<int16_t> pcm;
  append(pcm, 1, 1000, true);
  append(pcm, 1, 500, false); /* too early: chunk would be under min */
  append(pcm, 1, 1000, true);
  append(pcm, 1, 600, false); /* starts at 2500 ms: a real pause */
  append(pcm, 1, 1000, true);
  std::vector<AudioChunk> chunks;
  /* Feed in 10 ms buffers, as a live pipeline would. */
  size_t step = RATE / 100;
  for (size_t off = 0; off < pcm.size(); off += step) {
    auto got = chunker.push(off * 1000000000ull / RATE, pcm.data() + off, step);
    chunks.insert(chunks.end(), got.begin(), got.end());
  }
  g_assert_cmpuint(chunks.size(), ==, 1);
  g_assert_true(chunks[0].reason == CutReason::Pause);
  /* Cut inside the pause [2500, 3100) ms, never inside speech. */
  g_assert_cmpuint(chunks[0].duration, >=, 2500 * MS);
  g_assert_cmpuint(chunks[0].duration, <, 3100 * MS);
  g_assert_cmpuint(chunker.pending_duration() + chunks[0].duration, ==, 4100 * MS);
}

static void test_one_loud_channel_is_not_a_pause() {
  PauseChunker chunker(settings(500, 4000), RATE, 2);
  std::vector<int16_t> pcm;
  append(pcm, 2, 1000, true);
  append(pcm, 2, 1000, true, 1); /* channel 0 pauses, channel 1 still talks */
  append(pcm, 2, 500, true);
  auto chunks = chunker.push(0, pcm.data(), pcm.size() / 2);
  g_assert_cmpuint(chunks.size(), ==, 0);
  auto rest = chunker.flush();
  g_assert_cmpuint(rest[0].duration, ==, 2500 * MS);
  g_assert_cmpuint(rest[0].audio_bytes(), ==, 2500u * RATE / 1000 * 2 * 2);
}

static void test_gap_in_timestamps_cuts_a_long_enough_chunk() {
  PauseChunker chunker(settings(1000, 30000), RATE, 1);
  std::vector<int16_t> pcm;
  append(pcm, 1, 1000, true);
  g_assert_cmpuint(chunker.push(0, pcm.data(), pcm.size()).size(), ==, 0);
  /* Next buffer claims 10 s: the first second (>= min-chunk) is a chunk of its own. */
  auto chunks = chunker.push(10000 * MS, pcm.data(), pcm.size());
  g_assert_cmpuint(chunks.size(), ==, 1);
  g_assert_true(chunks[0].reason == CutReason::Gap);
  g_assert_cmpuint(chunks[0].start, ==, 0);
  g_assert_cmpuint(chunks[0].duration, ==, 1000 * MS);
  g_assert_cmpuint(chunks[0].end(), ==, 1000 * MS);
  auto rest = chunker.flush();
  g_assert_cmpuint(rest[0].start, ==, 10000 * MS);
}

static void test_gap_in_a_short_chunk_joins_it() {
  /* A source pause while degraded: 1 s, a 10 s hole, 1 s. One upload, and
   * every second of it still maps to its own pipeline time. */
  PauseChunker chunker(settings(5000, 30000), RATE, 1);
  std::vector<int16_t> pcm;
  append(pcm, 1, 1000, true);
  g_assert_cmpuint(chunker.push(0, pcm.data(), pcm.size()).size(), ==, 0);
  g_assert_cmpuint(chunker.push(11000 * MS, pcm.data(), pcm.size()).size(), ==, 0);
  auto rest = chunker.flush();
  g_assert_cmpuint(rest.size(), ==, 1);
  const AudioChunk &c = rest[0];
  g_assert_cmpuint(c.start, ==, 0);
  g_assert_cmpuint(c.duration, ==, 2000 * MS);
  g_assert_cmpuint(c.end(), ==, 12000 * MS);
  g_assert_cmpuint(c.map.to_pipeline(0.5), ==, 500 * MS);
  g_assert_cmpuint(c.map.to_pipeline(1.5), ==, 11500 * MS);
  auto spans = c.map.spans();
  g_assert_cmpuint(spans.size(), ==, 2);
  g_assert_cmpuint(spans[1].start, ==, 11000 * MS);
}

/* Timestamps as tsdemux gives them: each packet a few tens of µs off the
 * sample count, and now and then a lost packet. A degraded minute of it is
 * at most ceil(60 / min-chunk) + 1 uploads, each at least min-chunk long but
 * the last, and no audio goes missing. */
static void test_jitter_and_loss_never_make_small_chunks() {
  const uint64_t min_ms = 5000;
  PauseChunker chunker(settings(min_ms, 30000), 48000, 2);
  const size_t frames = 1024; /* one AAC frame */
  std::vector<int16_t> pcm(frames * 2, 2000);
  std::vector<AudioChunk> chunks;
  uint64_t sent = 0;
  guint32 seed = 7;
  for (uint64_t n = 0;; n++) {
    uint64_t ideal = n * frames * 1000000000ull / 48000;
    if (ideal >= 60000 * MS)
      break;
    seed = seed * 1103515245u + 12345u;
    if (seed % 50 == 0)
      continue;                                                  /* 2 % packet loss */
    int64_t jitter = static_cast<int64_t>(seed % 57000) - 28000; /* +-28 us */
    uint64_t pts = ideal + 1000 * MS + jitter;
    auto got = chunker.push(pts, pcm.data(), frames);
    chunks.insert(chunks.end(), got.begin(), got.end());
    sent += frames;
  }
  auto rest = chunker.flush();
  chunks.insert(chunks.end(), rest.begin(), rest.end());
  g_assert_cmpuint(chunks.size(), <=, (60000 + min_ms - 1) / min_ms + 1);
  uint64_t got_frames = 0;
  for (size_t i = 0; i < chunks.size(); i++) {
    if (i + 1 < chunks.size())
      g_assert_cmpuint(chunks[i].duration, >=, min_ms * MS);
    got_frames += chunks[i].frames;
  }
  g_assert_cmpuint(got_frames, ==, sent);
}

static void test_times_do_not_drift_over_many_cuts() {
  /* 44.1 kHz: a 20 ms window is 882 frames, a frame is 22675.7 ns. */
  ChunkerSettings s = settings(0, 1000);
  PauseChunker chunker(s, 44100, 1);
  std::vector<int16_t> pcm(44100 * 60 + 17, 3000); /* loud, never a pause */
  auto chunks = chunker.push(5 * MS, pcm.data(), pcm.size());
  auto rest = chunker.flush();
  chunks.insert(chunks.end(), rest.begin(), rest.end());
  uint64_t frames = 0;
  for (const auto &c : chunks) {
    g_assert_cmpuint(c.start, ==, 5 * MS + frames * 1000000000ull / 44100);
    frames += c.frames;
  }
  g_assert_cmpuint(frames, ==, pcm.size());
}

static void test_silence_only_cuts_at_pause_after_min() {
  PauseChunker chunker(settings(1000, 30000), RATE, 1);
  std::vector<int16_t> pcm;
  append(pcm, 1, 5000, false);
  auto chunks = chunker.push(0, pcm.data(), pcm.size());
  g_assert_cmpuint(chunks.size(), >=, 1);
  g_assert_cmpuint(chunks[0].duration, >=, 1000 * MS);
  g_assert_cmpuint(chunks[0].duration, <=, 1300 * MS);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/chunker/max-chunk", test_steady_speech_cuts_at_max_chunk);
  g_test_add_func("/chunker/pause-after-min",
                  test_pause_before_min_chunk_is_ignored_then_used_after);
  g_test_add_func("/chunker/per-channel", test_one_loud_channel_is_not_a_pause);
  g_test_add_func("/chunker/gap-cuts-long-chunk", test_gap_in_timestamps_cuts_a_long_enough_chunk);
  g_test_add_func("/chunker/gap-joins-short-chunk", test_gap_in_a_short_chunk_joins_it);
  g_test_add_func("/chunker/jitter-and-loss", test_jitter_and_loss_never_make_small_chunks);
  g_test_add_func("/chunker/no-drift", test_times_do_not_drift_over_many_cuts);
  g_test_add_func("/chunker/silence", test_silence_only_cuts_at_pause_after_min);
  return g_test_run();
}
