/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <cmath>
#include <vector>

#include "quiet_detector.h"

using dgf::QuietDetector;

static const uint64_t MS = 1000000;
static const int RATE = 16000;

/* ms of audio: a tone at -12 dBFS on `loud_channel` (all when -1), or zeros. */
static std::vector<int16_t> audio(int channels, int ms, bool loud, int loud_channel = -1) {
  std::vector<int16_t> pcm;
  int frames = RATE * ms / 1000;
  for (int f = 0; f < frames; f++)
    for (int c = 0; c < channels; c++) {
      bool on = loud && (loud_channel < 0 || loud_channel == c);
      pcm.push_back(on ? static_cast<int16_t>(8000 * std::sin(f * 0.17)) : 0);
    }
  return pcm;
}

static void push(QuietDetector &d, const std::vector<int16_t> &pcm, int channels) {
  d.push(pcm.data(), pcm.size() / channels);
}

static void test_run_grows_in_quiet_and_resets_on_speech() {
  QuietDetector d(RATE, 1, -40.0);
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  push(d, audio(1, 100, false), 1);
  g_assert_cmpuint(d.quiet_run(), ==, 100 * MS);
  push(d, audio(1, 60, true), 1);
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  push(d, audio(1, 40, false), 1);
  g_assert_cmpuint(d.quiet_run(), ==, 40 * MS);
}

static void test_partial_windows_wait_for_the_rest() {
  QuietDetector d(RATE, 1, -40.0);
  /* 10 ms pieces: every second push completes a 20 ms window. */
  auto piece = audio(1, 10, false);
  push(d, piece, 1);
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  push(d, piece, 1);
  g_assert_cmpuint(d.quiet_run(), ==, 20 * MS);
  /* A window half loud, half quiet is loud (its RMS is far above -40 dBFS). */
  push(d, audio(1, 10, true), 1);
  push(d, piece, 1);
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  /* An odd 30 ms piece: one window counted, 10 ms pending. */
  push(d, audio(1, 30, false), 1);
  g_assert_cmpuint(d.quiet_run(), ==, 20 * MS);
  push(d, piece, 1);
  g_assert_cmpuint(d.quiet_run(), ==, 40 * MS);
}

static void test_one_loud_channel_keeps_it_speaking() {
  QuietDetector d(RATE, 2, -40.0);
  push(d, audio(2, 200, true, 1), 2);
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  push(d, audio(2, 200, false), 2);
  g_assert_cmpuint(d.quiet_run(), ==, 200 * MS);
}

static void test_threshold_is_in_dbfs() {
  /* A -30 dBFS RMS tone is quiet under -20 dBFS and loud under -40 dBFS. */
  std::vector<int16_t> pcm;
  const double amplitude = 32768.0 * std::pow(10.0, -30.0 / 20.0) * std::sqrt(2.0);
  for (int f = 0; f < RATE / 10; f++)
    pcm.push_back(static_cast<int16_t>(amplitude * std::sin(2 * M_PI * 440.0 * f / RATE)));
  QuietDetector lenient(RATE, 1, -20.0), strict(RATE, 1, -40.0);
  push(lenient, pcm, 1);
  push(strict, pcm, 1);
  g_assert_cmpuint(lenient.quiet_run(), ==, 100 * MS);
  g_assert_cmpuint(strict.quiet_run(), ==, 0);
}

static void test_reset_forgets_history() {
  QuietDetector d(RATE, 1, -40.0);
  push(d, audio(1, 110, false), 1); /* 100 ms counted, 10 ms pending */
  d.reset();
  g_assert_cmpuint(d.quiet_run(), ==, 0);
  push(d, audio(1, 10, false), 1); /* the old 10 ms must not complete a window */
  g_assert_cmpuint(d.quiet_run(), ==, 0);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/quiet/run", test_run_grows_in_quiet_and_resets_on_speech);
  g_test_add_func("/quiet/partial-windows", test_partial_windows_wait_for_the_rest);
  g_test_add_func("/quiet/per-channel", test_one_loud_channel_keeps_it_speaking);
  g_test_add_func("/quiet/threshold-db", test_threshold_is_in_dbfs);
  g_test_add_func("/quiet/reset", test_reset_forgets_history);
  return g_test_run();
}
