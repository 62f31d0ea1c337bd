/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "input_monitor.h"

using dgf::InputMonitor;

static const uint64_t MS = 1000000;

/* 2 % packet loss over a minute of 20 ms packets, with jitter: counted, no
 * warning; 5 %: one warning, not one per window. */
static void run_loss(int every, int *warnings, dgf::InputStats *stats) {
  InputMonitor m;
  *warnings = 0;
  for (int i = 0; i < 3000; i++) {
    if (i % every == every - 1)
      continue;
    uint64_t pts = i * 20 * MS + (i % 2 ? 23000 : 0); /* +-23 us of demuxer jitter */
    if (m.on_buffer(pts, 20 * MS))
      (*warnings)++;
  }
  *stats = m.stats();
}

static void test_loss_is_counted_and_warned_once() {
  int warnings;
  dgf::InputStats s;
  run_loss(50, &warnings, &s); /* 2 % */
  g_assert_cmpint(warnings, ==, 0);
  g_assert_cmpuint(s.gaps, ==, 59); /* the last packet lost has nothing after it */
  g_assert_cmpuint(s.missing, >=, 59 * 19 * MS);
  g_assert_cmpuint(s.pauses, ==, 0);
  run_loss(20, &warnings, &s); /* 5 % */
  g_assert_cmpint(warnings, ==, 1);
}

static void test_jitter_alone_is_no_gap() {
  InputMonitor m;
  for (int i = 0; i < 500; i++)
    g_assert_false(m.on_buffer(i * 21333333ull + (i % 3) * 28000, 21333333));
  g_assert_cmpuint(m.stats().gaps, ==, 0);
}

static void test_a_pause_is_not_loss() {
  InputMonitor m;
  uint64_t t = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 500; i++, t += 20 * MS)
      g_assert_false(m.on_buffer(t, 20 * MS));
    t += 10000 * MS; /* the sender pauses 10 s */
  }
  g_assert_cmpuint(m.stats().pauses, ==, 2);
  g_assert_cmpuint(m.stats().gaps, ==, 2);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/input-monitor/loss", test_loss_is_counted_and_warned_once);
  g_test_add_func("/input-monitor/jitter", test_jitter_alone_is_no_gap);
  g_test_add_func("/input-monitor/pause", test_a_pause_is_not_loss);
  return g_test_run();
}
