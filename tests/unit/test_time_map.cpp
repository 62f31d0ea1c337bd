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

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/time-map/linear", test_contiguous_audio_maps_linearly);
  g_test_add_func("/time-map/gap", test_gap_does_not_shift_later_times);
  g_test_add_func("/time-map/reset", test_reset_restarts_at_zero);
  g_test_add_func("/time-map/hostile", test_hostile_times);
  g_test_add_func("/time-map/forget", test_forget_before_keeps_recent);
  return g_test_run();
}
