/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "audio_ledger.h"

/* A payload that remembers which span of the original audio it holds. */
struct Span {
  uint64_t first = 0; /* ns offset into the original buffer */
};
using Ledger = dgf::AudioLedger<Span>;
static Span trim_span(const Span &s, uint64_t skip) {
  return Span{s.first + skip};
}

static const uint64_t MS = 1000000;

static void test_ack_drops_covered_entries() {
  Ledger l(30000 * MS, trim_span);
  for (uint64_t i = 0; i < 10; i++)
    l.append(i * 100 * MS, 100 * MS, Span{});
  g_assert_cmpuint(l.held(), ==, 1000 * MS);
  l.ack(300 * MS);
  g_assert_cmpuint(l.size(), ==, 7);
  g_assert_cmpuint(l.held(), ==, 700 * MS);
  l.ack(200 * MS); /* an older ack changes nothing */
  g_assert_cmpuint(l.size(), ==, 7);
}

static void test_ack_inside_entry_trims_front() {
  Ledger l(30000 * MS, trim_span);
  l.append(0, 100 * MS, Span{});
  l.append(100 * MS, 100 * MS, Span{});
  l.ack(150 * MS);
  auto t = l.take_all();
  g_assert_cmpuint(t.replay.size(), ==, 1);
  g_assert_cmpuint(t.replay[0].start, ==, 150 * MS);
  g_assert_cmpuint(t.replay[0].duration, ==, 50 * MS);
  g_assert_cmpuint(t.replay[0].payload.first, ==, 50 * MS);
  g_assert_cmpuint(t.lost.size(), ==, 0);
  g_assert_cmpuint(l.held(), ==, 0);
}

static void test_window_overflow_reports_lost_only_if_never_acked() {
  Ledger l(250 * MS, trim_span);
  for (uint64_t i = 0; i < 5; i++)
    l.append(i * 100 * MS, 100 * MS, Span{});
  /* 500 ms sent, window 250: the first 300 ms are evicted but merely at risk. */
  g_assert_cmpuint(l.held(), ==, 200 * MS);
  g_assert_cmpuint(l.at_risk().size(), ==, 1);
  g_assert_true((l.at_risk()[0] == dgf::TimeRange{0, 300 * MS}));

  l.ack(120 * MS); /* the live session covered part of it after all */
  auto t = l.take_all();
  g_assert_cmpuint(t.lost.size(), ==, 1);
  g_assert_cmpuint(t.lost[0].start, ==, 120 * MS);
  g_assert_cmpuint(t.lost[0].end, ==, 300 * MS);
  g_assert_cmpuint(t.replay.size(), ==, 2);
  g_assert_cmpuint(t.replay[0].start, ==, 300 * MS);
}

static void test_fully_acked_at_risk_is_forgotten() {
  Ledger l(100 * MS, trim_span);
  for (uint64_t i = 0; i < 4; i++)
    l.append(i * 100 * MS, 100 * MS, Span{});
  l.ack(400 * MS);
  auto t = l.take_all();
  g_assert_cmpuint(t.lost.size(), ==, 0);
  g_assert_cmpuint(t.replay.size(), ==, 0);
}

static void test_gaps_keep_separate_ranges() {
  Ledger l(0, trim_span); /* window 0: nothing held, everything at risk */
  l.append(0, 100 * MS, Span{});
  l.append(500 * MS, 100 * MS, Span{});
  g_assert_cmpuint(l.at_risk().size(), ==, 2);
  l.set_window(10 * MS);
  auto t = l.take_all();
  g_assert_cmpuint(t.lost.size(), ==, 2);
  g_assert_cmpuint(t.lost[1].start, ==, 500 * MS);
}

static void test_zero_duration_ignored() {
  Ledger l(1000 * MS, trim_span);
  l.append(0, 0, Span{});
  g_assert_cmpuint(l.size(), ==, 0);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ledger/ack-drops", test_ack_drops_covered_entries);
  g_test_add_func("/ledger/ack-trims", test_ack_inside_entry_trims_front);
  g_test_add_func("/ledger/window-overflow", test_window_overflow_reports_lost_only_if_never_acked);
  g_test_add_func("/ledger/acked-at-risk-forgotten", test_fully_acked_at_risk_is_forgotten);
  g_test_add_func("/ledger/gaps", test_gaps_keep_separate_ranges);
  g_test_add_func("/ledger/zero-duration", test_zero_duration_ignored);
  return g_test_run();
}
