/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "time_map.h"

static const uint64_t MS = 1000000;

static void test_contiguous_audio_maps_linearly() {
  dgf::TimeMap map(16000);
  for (int i = 0; i < 10; i++)
    map.append(5000 * MS + i * 100 * MS, 1600);
  g_assert_cmpuint(map.to_pipeline(0.0), ==, 5000 * MS);
  g_assert_cmpuint(map.to_pipeline(0.25), ==, 5250 * MS);
  g_assert_cmpuint(map.to_pipeline(1.0), ==, 6000 * MS);
  g_assert_cmpuint(map.end_pts(), ==, 6000 * MS);
  g_assert_cmpfloat(map.sent_seconds(), ==, 1.0);
}

static void test_gap_does_not_shift_later_times() {
  /* 1 s of audio, a 10 s gap (only KeepAlives sent), 1 s more: Deepgram says
   * the second stretch starts at 1.0 s; the pipeline says 11.0 s. */
  dgf::TimeMap map(8000);
  map.append(0, 8000);
  map.append(11000 * MS, 8000);
  g_assert_cmpuint(map.to_pipeline(0.5), ==, 500 * MS);
  g_assert_cmpuint(map.to_pipeline(1.0), ==, 11000 * MS);
  g_assert_cmpuint(map.to_pipeline(1.5), ==, 11500 * MS);
  g_assert_cmpuint(map.to_pipeline(99.0), ==, 12000 * MS); /* clamped to the audio sent */
}

static void test_reset_restarts_at_zero() {
  dgf::TimeMap map(16000);
  map.append(0, 16000);
  map.reset(48000);
  map.append(30000 * MS, 4800);
  g_assert_cmpuint(map.to_pipeline(0.0), ==, 30000 * MS);
  g_assert_cmpuint(map.to_pipeline(0.1), ==, 30100 * MS);
}

static void test_hostile_times() {
  dgf::TimeMap map(16000);
  g_assert_cmpuint(map.to_pipeline(1.0), ==, 0);
  map.append(7 * MS, 160);
  g_assert_cmpuint(map.to_pipeline(-3.0), ==, 7 * MS);
  g_assert_cmpuint(map.to_pipeline(0.0 / 0.0), ==, 7 * MS);
  g_assert_cmpuint(map.to_pipeline(1e300), ==, 17 * MS);
}

static void test_forget_before_keeps_recent() {
  dgf::TimeMap map(1000);
  map.append(0, 1000);
  map.append(5000 * MS, 1000);
  map.append(9000 * MS, 1000);
  map.forget_before(1.0); /* the first run ends at 1.0 s: gone */
  g_assert_cmpuint(map.to_pipeline(2.5), ==, 9500 * MS);
  g_assert_cmpuint(map.to_pipeline(1.5), ==, 5500 * MS);
  g_assert_cmpuint(map.to_pipeline(0.5), ==, 5000 * MS); /* before the oldest kept */
}

/* A sender clock 50 ppm fast, as drifting feeds are, plus a few us of
 * demuxer jitter: for ten minutes every word maps to within the jitter
 * tolerance of its buffer's own timestamp (runs re-anchor as the drift
 * grows), and the map holds only a few runs. */
static void test_drift_and_jitter_stay_within_tolerance() {
  dgf::TimeMap map(48000);
  const uint64_t frames = 960; /* 20 ms packets */
  uint64_t sent = 0;
  for (int i = 0; i < 30000; i++) {
    uint64_t ideal = sent * 1000000000ull / 48000;
    uint64_t pts = ideal + ideal / 20000 + (i % 3) * 9000; /* +50 ppm, +-9 us */
    map.append(pts, frames);
    double at = static_cast<double>(sent) / 48000;
    uint64_t mapped = map.to_pipeline(at);
    uint64_t off = mapped > pts ? mapped - pts : pts - mapped;
    g_assert_cmpuint(off, <=, dgf::kJitterTolerance);
    sent += frames;
    if (i % 500 == 0)
      map.forget_before(at - 1.0);
  }
  g_assert_cmpuint(map.spans().size(), <=, 6);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/time-map/drift", test_drift_and_jitter_stay_within_tolerance);
  g_test_add_func("/time-map/linear", test_contiguous_audio_maps_linearly);
  g_test_add_func("/time-map/gap", test_gap_does_not_shift_later_times);
  g_test_add_func("/time-map/reset", test_reset_restarts_at_zero);
  g_test_add_func("/time-map/hostile", test_hostile_times);
  g_test_add_func("/time-map/forget", test_forget_before_keeps_recent);
  return g_test_run();
}
