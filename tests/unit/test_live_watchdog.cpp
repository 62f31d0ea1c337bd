/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <cstring>

#include "live_watchdog.h"

using dgf::LiveWatchdog;
using Due = dgf::LiveWatchdog::Due;

static const uint64_t MS = 1000000;
static const uint64_t S = 1000 * MS;

/* Ticks every 100 ms from `from` to `to` (ns); returns the first verdict in
 * `stop_at` (or Nothing), answering KeepAlive and Finalize as the sink does. */
static Due run(LiveWatchdog &w, uint64_t from, uint64_t to, uint64_t *at = nullptr) {
  for (uint64_t t = from; t <= to; t += 100 * MS) {
    Due d = w.check(t);
    if (d == Due::KeepAlive)
      w.on_text_sent(t);
    if (d == Due::Finalize)
      w.on_finalize_sent(t);
    if (d == Due::Stall || d == Due::InterimStall) {
      if (at)
        *at = t;
      return d;
    }
  }
  return Due::Nothing;
}

static void test_burst_answered_slower_than_sent_is_not_a_stall() {
  /* A minute of a file sent at once; the service answers a final every 3 s
   * of wall time, covering 3.75 s of audio (1.25x real time). */
  LiveWatchdog w;
  w.reset(0);
  w.on_audio_sent(0, 60.0);
  double answered = 0;
  for (uint64_t t = 0; t < 48 * S; t += 3 * S) {
    g_assert_true(run(w, t, t + 3 * S - 100 * MS) == Due::Nothing);
    answered += 3.75;
    w.on_final(t + 3 * S, answered);
  }
  g_assert_false(w.owed() && w.answered() >= 60.0);
}

static void test_silent_server_is_found() {
  LiveWatchdog w;
  w.reset(0);
  for (uint64_t t = 0; t < 3 * S; t += 100 * MS)
    w.on_audio_sent(t, static_cast<double>(t + 100 * MS) / S);
  uint64_t at = 0;
  g_assert_true(run(w, 3 * S, 30 * S, &at) == Due::Stall);
  /* Owed from the first check after audio was heard: 10 s later it is dead. */
  g_assert_cmpuint(at, >=, 13 * S);
  g_assert_cmpuint(at, <=, 13 * S + 200 * MS);
  g_assert_nonnull(strstr(w.stall_reason().c_str(), "10000 ms"));
}

static void test_burst_with_no_answer_at_all_is_found() {
  LiveWatchdog w;
  w.reset(0);
  w.on_audio_sent(0, 120.0);
  uint64_t at = 0;
  g_assert_true(run(w, 0, 30 * S, &at) == Due::Stall);
  g_assert_cmpuint(at, <=, 10 * S + 200 * MS);
}

static void test_pause_finalizes_then_holds_without_a_stall() {
  LiveWatchdog w;
  w.reset(0);
  for (uint64_t t = 0; t < 5 * S; t += 100 * MS)
    w.on_audio_sent(t, static_cast<double>(t + 100 * MS) / S);
  w.on_final(4 * S, 3.0); /* the last 2 s still owed when the source pauses */
  /* Within idle_finalize (1 s) of the last audio, a Finalize is due. */
  Due d = Due::Nothing;
  uint64_t t = 5 * S;
  for (; t < 7 * S && d != Due::Finalize; t += 100 * MS)
    d = w.check(t);
  g_assert_true(d == Due::Finalize);
  g_assert_cmpuint(t, <=, 6 * S + 200 * MS);
  w.on_finalize_sent(t);
  w.on_final(t + 300 * MS, 5.0); /* from_finalize: all audio answered */
  g_assert_false(w.owed());
  /* A minute of pause: KeepAlives only, never a stall, no second Finalize. */
  int keepalives = 0;
  for (uint64_t u = t + 400 * MS; u < t + 60 * S; u += 100 * MS) {
    Due v = w.check(u);
    g_assert_true(v == Due::Nothing || v == Due::KeepAlive);
    if (v == Due::KeepAlive) {
      keepalives++;
      w.on_text_sent(u);
    }
  }
  g_assert_cmpint(keepalives, >=, 19);
}

static void test_finalize_never_answered_is_a_stall() {
  LiveWatchdog w;
  w.reset(0);
  w.on_audio_sent(0, 2.0);
  w.on_final(1 * S, 1.0);
  w.check(2 * S);
  w.on_finalize_sent(2 * S);
  uint64_t at = 0;
  g_assert_true(run(w, 2 * S, 30 * S, &at) == Due::Stall);
  g_assert_cmpuint(at, <=, 12 * S + 200 * MS);
}

static void test_endless_interims_are_a_stall() {
  LiveWatchdog w;
  w.reset(0);
  Due d = Due::Nothing;
  uint64_t t = 0;
  for (; t < 30 * S && d == Due::Nothing; t += 100 * MS) {
    w.on_audio_sent(t, static_cast<double>(t + 100 * MS) / S);
    w.on_interim(t);
    d = w.check(t);
    if (d == Due::KeepAlive)
      d = Due::Nothing;
  }
  g_assert_true(d == Due::InterimStall);
  g_assert_nonnull(strstr(w.stall_reason().c_str(), "interim"));
}

static void test_no_finalize_while_nothing_is_owed() {
  LiveWatchdog w;
  w.reset(0);
  w.on_audio_sent(0, 1.0);
  w.on_final(500 * MS, 1.0);
  g_assert_true(run(w, 1 * S, 20 * S) == Due::Nothing);
  g_assert_false(w.owed());
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/watchdog/busy-is-not-a-stall",
                  test_burst_answered_slower_than_sent_is_not_a_stall);
  g_test_add_func("/watchdog/silent-server", test_silent_server_is_found);
  g_test_add_func("/watchdog/burst-no-answer", test_burst_with_no_answer_at_all_is_found);
  g_test_add_func("/watchdog/pause", test_pause_finalizes_then_holds_without_a_stall);
  g_test_add_func("/watchdog/finalize-unanswered", test_finalize_never_answered_is_a_stall);
  g_test_add_func("/watchdog/interims", test_endless_interims_are_a_stall);
  g_test_add_func("/watchdog/nothing-owed", test_no_finalize_while_nothing_is_owed);
  return g_test_run();
}
