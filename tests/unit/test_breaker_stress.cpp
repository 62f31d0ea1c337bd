/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stress: 8 threads x 100k mixed calls on one breaker, then exact counters.
 *
 * Each thread tallies what the breaker told it (permit or refusal, report
 * accepted or ignored); the snapshot must match the sums exactly, and the
 * listener must have seen one unbroken chain of events. tools/run-tsan.sh runs
 * this under ThreadSanitizer. The fake clock is advanced by the threads
 * themselves, so timers fire without sleeping. */
#include <glib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "breaker.h"

using namespace dgf;
using std::chrono::milliseconds;

namespace {

constexpr int kThreads = 8;
constexpr int kCallsPerThread = 100000;

struct Tally {
  uint64_t acquires = 0, permits = 0, probes = 0, refusals = 0;
  uint64_t reports = 0, successes = 0, failures = 0, cancellations = 0;
};

/* Delivery is serialised by the breaker, so plain fields are safe here;
 * TSan checks that claim. */
struct EventChain {
  std::atomic<int> inside{0};
  bool serial = true;
  bool chained = true;
  BreakerState last_to = BreakerState::Closed;
  uint64_t last_sequence = 0;
  uint64_t last_generation = 0;
  uint64_t events = 0, trips = 0, expiries = 0;

  void on_event(Breaker &breaker, const BreakerEvent &e) {
    if (++inside != 1)
      serial = false;
    chained = chained && e.from == last_to && e.sequence == last_sequence + 1 &&
              e.generation > last_generation;
    last_to = e.to;
    last_sequence = e.sequence;
    last_generation = e.generation;
    events++;
    bool automatic_open =
        e.to == BreakerState::Open &&
        (e.cause == BreakerCause::FailureThreshold || e.cause == BreakerCause::ProbeFailed ||
         e.cause == BreakerCause::ProbeExpired);
    trips += automatic_open;
    expiries += e.cause == BreakerCause::ProbeExpired;
    if (events % 64 == 0)
      breaker.snapshot(); /* re-entrant read under contention */
    --inside;
  }
};

uint64_t xorshift(uint64_t &s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

void report_one(Breaker &b, Tally &t, const BreakerPermit &p, uint64_t roll) {
  BreakerOutcome outcome = roll % 100 < 55   ? BreakerOutcome::Success
                           : roll % 100 < 95 ? BreakerOutcome::Failure
                                             : BreakerOutcome::Cancelled;
  t.reports++;
  if (!b.report(p, outcome))
    return;
  t.successes += outcome == BreakerOutcome::Success;
  t.failures += outcome == BreakerOutcome::Failure;
  t.cancellations += outcome == BreakerOutcome::Cancelled;
}

void worker(Breaker &b, std::atomic<int64_t> &clock_ms, std::atomic<bool> &go, int index,
            Tally &t) {
  uint64_t seed = 0x9e3779b97f4a7c15ull * (index + 1);
  std::deque<BreakerPermit> outstanding;
  while (!go.load()) /* start together, so the calls really interleave */
    std::this_thread::yield();
  for (int i = 0; i < kCallsPerThread; i++) {
    uint64_t roll = xorshift(seed);
    unsigned op = roll % 1000;
    if (op < 450) {
      BreakerPermit p = b.try_acquire();
      t.acquires++;
      if (p.allowed) {
        t.permits++;
        t.probes += p.is_probe;
        outstanding.push_back(p);
      } else {
        t.refusals++;
      }
      if (outstanding.size() > 8) {
        report_one(b, t, outstanding.front(), roll >> 20);
        outstanding.pop_front();
      }
    } else if (op < 800) {
      if (outstanding.empty()) {
        report_one(b, t, BreakerPermit{}, roll >> 20); /* refused: ignored */
      } else {
        report_one(b, t, outstanding.front(), roll >> 20);
        outstanding.pop_front();
      }
    } else if (op < 900) {
      clock_ms.fetch_add(1);
    } else if (op < 950) {
      b.snapshot();
    } else if (op < 990) {
      b.poll();
      b.next_deadline();
    } else if (op < 997) {
      BreakerPermit ancient{true, false, 0}; /* generation 0 never exists */
      report_one(b, t, ancient, roll >> 20);
    } else {
      switch ((roll >> 32) % 3) {
      case 0:
        b.force_open();
        break;
      case 1:
        b.force_closed();
        break;
      default:
        b.release_override();
      }
    }
  }
  for (const BreakerPermit &p : outstanding)
    report_one(b, t, p, 0);
}

} // namespace

static void test_exact_counters() {
  const BreakerTime origin = BreakerTime{} + std::chrono::hours(1);
  std::atomic<int64_t> clock_ms{0};
  BreakerSettings s;
  s.failure_threshold = 3;
  s.open_base = milliseconds(10);
  s.open_cap = milliseconds(80);
  s.probe_timeout = milliseconds(10);
  Breaker breaker(
      "stress", s, [&] { return origin + milliseconds(clock_ms.load()); }, [] { return 0.5; });

  EventChain chain;
  breaker.add_listener([&](const BreakerEvent &e) { chain.on_event(breaker, e); });
  std::atomic<uint64_t> churn_calls{0};
  std::atomic<bool> done{false};
  /* A listener added and removed over and over while events fly. */
  std::thread churn([&] {
    while (!done.load()) {
      uint64_t id = breaker.add_listener([&](const BreakerEvent &) { churn_calls++; });
      std::this_thread::yield();
      breaker.remove_listener(id);
    }
  });

  std::vector<Tally> tallies(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kThreads; i++)
    threads.emplace_back(worker, std::ref(breaker), std::ref(clock_ms), std::ref(go), i,
                         std::ref(tallies[i]));
  go = true;
  for (auto &t : threads)
    t.join();
  done = true;
  churn.join();

  Tally sum;
  for (const Tally &t : tallies) {
    sum.acquires += t.acquires;
    sum.permits += t.permits;
    sum.probes += t.probes;
    sum.refusals += t.refusals;
    sum.reports += t.reports;
    sum.successes += t.successes;
    sum.failures += t.failures;
    sum.cancellations += t.cancellations;
  }
  BreakerSnapshot snap = breaker.snapshot();
  g_test_message("acquires %lu permits %lu probes %lu refusals %lu trips %lu expiries %lu "
                 "changes %lu churn-calls %lu",
                 (unsigned long)sum.acquires, (unsigned long)snap.permits,
                 (unsigned long)snap.probes, (unsigned long)snap.refusals,
                 (unsigned long)snap.trips, (unsigned long)snap.probe_expiries,
                 (unsigned long)snap.state_changes, (unsigned long)churn_calls.load());

  g_assert_cmpuint(snap.permits, ==, sum.permits);
  g_assert_cmpuint(snap.probes, ==, sum.probes);
  g_assert_cmpuint(snap.refusals, ==, sum.refusals);
  g_assert_cmpuint(snap.permits + snap.refusals, ==, sum.acquires);
  g_assert_cmpuint(snap.successes, ==, sum.successes);
  g_assert_cmpuint(snap.failures, ==, sum.failures);
  g_assert_cmpuint(snap.cancellations, ==, sum.cancellations);
  g_assert_cmpuint(snap.successes + snap.failures + snap.cancellations + snap.ignored_reports, ==,
                   sum.reports);

  g_assert_true(chain.serial);
  g_assert_true(chain.chained);
  g_assert_cmpuint(chain.events, ==, snap.state_changes);
  g_assert_cmpuint(chain.trips, ==, snap.trips);
  g_assert_cmpuint(chain.expiries, ==, snap.probe_expiries);
  g_assert_true(chain.last_to == snap.state);
  /* The run must have exercised the machine, not idled in one state. */
  g_assert_cmpuint(snap.trips, >, 100);
  g_assert_cmpuint(snap.probes, >, 100);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/breaker/stress/exact-counters", test_exact_counters);
  return g_test_run();
}
