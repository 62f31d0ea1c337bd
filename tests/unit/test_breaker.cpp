/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The breaker's state machine on a fake clock and a fixed random source:
 * transitions, timers (both sides of every deadline), backoff, clamps and
 * overrides. No test sleeps. */
#include <glib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "breaker.h"

using namespace dgf;
using std::chrono::milliseconds;

namespace {

struct Fixture {
  BreakerTime now = BreakerTime{} + std::chrono::hours(1);
  double random = 0.0; /* 0 -> the full window, so open times are exact */
  std::vector<BreakerEvent> events;
  std::unique_ptr<Breaker> breaker;

  explicit Fixture(BreakerSettings settings = test_settings()) {
    breaker = std::make_unique<Breaker>(
        "test", settings, [this] { return now; }, [this] { return random; });
    breaker->add_listener([this](const BreakerEvent &e) { events.push_back(e); });
  }

  static BreakerSettings test_settings() {
    BreakerSettings s;
    s.failure_threshold = 3;
    s.open_base = milliseconds(1000);
    s.open_cap = milliseconds(8000);
    s.probe_timeout = milliseconds(500);
    return s;
  }

  void advance(milliseconds d) { now += d; }
  BreakerState state() { return breaker->snapshot().state; }
  void fail(int n, FailureSource source = FailureSource::Service) {
    for (int i = 0; i < n; i++)
      g_assert_true(breaker->report(breaker->try_acquire(), BreakerOutcome::Failure, source));
  }
  /* From closed: trip, wait out the open time, take the probe. */
  BreakerPermit open_then_probe() {
    fail(Fixture::test_settings().failure_threshold);
    g_assert_true(state() == BreakerState::Open);
    advance(breaker->snapshot().open_for);
    BreakerPermit probe = breaker->try_acquire();
    g_assert_true(probe.allowed && probe.is_probe);
    return probe;
  }
};

void assert_event(const BreakerEvent &e, BreakerState from, BreakerState to, BreakerCause cause) {
  g_assert_cmpstr(breaker_state_name(e.from), ==, breaker_state_name(from));
  g_assert_cmpstr(breaker_state_name(e.to), ==, breaker_state_name(to));
  g_assert_cmpstr(breaker_cause_name(e.cause), ==, breaker_cause_name(cause));
}

} // namespace

static void test_names() {
  g_assert_cmpstr(breaker_state_name(BreakerState::Closed), ==, "closed");
  g_assert_cmpstr(breaker_state_name(BreakerState::Open), ==, "open");
  g_assert_cmpstr(breaker_state_name(BreakerState::HalfOpen), ==, "half-open");
  g_assert_cmpstr(breaker_override_name(BreakerOverride::ForcedOpen), ==, "forced-open");
  g_assert_cmpstr(breaker_cause_name(BreakerCause::ProbeExpired), ==, "probe-expired");
  g_assert_cmpstr(breaker_cause_name(BreakerCause::PathRestored), ==, "path-restored");
}

/* The network came back: one probe now instead of after the open time; if
 * it fails the next open time is the doubled one (no probe storm). */
static void test_path_restored_probes_early() {
  Fixture f;
  f.fail(3, FailureSource::Network);
  g_assert_true(f.state() == BreakerState::Open);
  f.advance(milliseconds(100)); /* 900 ms of open time left */
  g_assert_true(f.breaker->note_path_restored());
  g_assert_true(f.state() == BreakerState::HalfOpen);
  assert_event(f.events.back(), BreakerState::Open, BreakerState::HalfOpen,
               BreakerCause::PathRestored);
  BreakerPermit probe = f.breaker->try_acquire();
  g_assert_true(probe.allowed && probe.is_probe);
  g_assert_false(f.breaker->try_acquire().allowed); /* one probe only */
  g_assert_false(f.breaker->note_path_restored());  /* half-open: nothing to do */
  f.breaker->report(probe, BreakerOutcome::Failure);
  g_assert_true(f.state() == BreakerState::Open);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 2000);
}

/* Many pipelines share a breaker: some saw their connection reset by the
 * outage, one's probe was then answered 503. The service answered, so no
 * path check and no early probe, whoever still thinks the network failed:
 * the open time stands (a failover storm once probed once a second). */
static void test_service_answer_ends_path_checks() {
  Fixture f;
  f.breaker->note_path_lost(); /* a connection in use was reset */
  g_assert_true(f.breaker->claim_path_check(milliseconds(100)));
  f.fail(3, FailureSource::Service); /* handshakes answered 503 */
  g_assert_true(f.state() == BreakerState::Open);
  f.advance(milliseconds(500)); /* of 1000 ms open; past the check interval */
  g_assert_false(f.breaker->claim_path_check(milliseconds(100)));
  g_assert_false(f.breaker->note_path_restored());
  g_assert_true(f.state() == BreakerState::Open);
  /* Nothing failed at the network level: nothing to check either. */
  Fixture fresh;
  g_assert_false(fresh.breaker->claim_path_check(milliseconds(1000)));
}

/* One early probe per return of the network: the path check that finds it
 * back half-opens the breaker once; the next needs a new network failure. */
static void test_one_early_probe_per_return() {
  Fixture f;
  f.fail(3, FailureSource::Network);
  g_assert_true(f.breaker->note_path_restored());
  BreakerPermit probe = f.breaker->try_acquire();
  f.breaker->report(probe, BreakerOutcome::Failure, FailureSource::Service);
  g_assert_true(f.state() == BreakerState::Open);
  g_assert_false(f.breaker->note_path_restored());
  f.breaker->note_path_lost();
  g_assert_true(f.breaker->note_path_restored());
}

/* One reachability check per interval for every user of the breaker. */
static void test_path_check_is_claimed_once_per_interval() {
  Fixture f;
  f.breaker->note_path_lost();
  g_assert_true(f.breaker->claim_path_check(milliseconds(1000)));
  g_assert_false(f.breaker->claim_path_check(milliseconds(1000)));
  f.advance(milliseconds(999));
  g_assert_false(f.breaker->claim_path_check(milliseconds(1000)));
  f.advance(milliseconds(1));
  g_assert_true(f.breaker->claim_path_check(milliseconds(1000)));
}

static void test_defaults() {
  BreakerSettings s;
  g_assert_cmpint(s.failure_threshold, ==, 3);
  g_assert_cmpint(s.open_base.count(), ==, 30000);
  g_assert_cmpint(s.open_cap.count(), ==, 300000);
  g_assert_cmpint(s.probe_timeout.count(), ==, 30000);
  g_assert_cmpfloat(s.jitter, ==, 1.0);
  std::string notes = "x";
  g_assert_true(s.clamped(&notes) == s);
  g_assert_cmpstr(notes.c_str(), ==, "");

  Breaker b("defaults"); /* real clock and random */
  BreakerSnapshot snap = b.snapshot();
  g_assert_true(snap.state == BreakerState::Closed);
  g_assert_true(snap.override_mode == BreakerOverride::None);
  g_assert_false(snap.open_until.has_value());
  g_assert_true(b.try_acquire().allowed);
  g_assert_false(b.next_deadline().has_value());
}

static void test_clamps() {
  BreakerSettings s;
  s.failure_threshold = 0;
  s.open_base = milliseconds(0);
  s.open_cap = milliseconds(-5);
  s.probe_timeout = milliseconds(-1);
  s.jitter = -0.5;
  std::string notes;
  BreakerSettings c = s.clamped(&notes);
  g_assert_cmpint(c.failure_threshold, ==, 1);
  g_assert_cmpint(c.open_base.count(), ==, BreakerSettings::kMinDuration.count());
  g_assert_cmpint(c.open_cap.count(), ==, BreakerSettings::kMinDuration.count());
  g_assert_cmpint(c.probe_timeout.count(), ==, BreakerSettings::kMinDuration.count());
  g_assert_cmpfloat(c.jitter, ==, 0.0);
  g_assert_nonnull(strstr(notes.c_str(), "failure-threshold: asked 0, using 1"));
  g_assert_nonnull(strstr(notes.c_str(), "open-base: asked 0ms, using 10ms"));
  g_assert_nonnull(strstr(notes.c_str(), "jitter: asked -0.5, using 0"));

  s = BreakerSettings{};
  s.failure_threshold = -7;
  s.open_base = milliseconds(60000);
  s.open_cap = milliseconds(1000); /* below base: raised to base */
  s.probe_timeout = std::chrono::hours(1000);
  s.jitter = std::nan("");
  c = s.clamped();
  g_assert_cmpint(c.failure_threshold, ==, 1);
  g_assert_cmpint(c.open_cap.count(), ==, 60000);
  g_assert_cmpint(c.probe_timeout.count(), ==, BreakerSettings::kMaxDuration.count());
  g_assert_cmpfloat(c.jitter, ==, 1.0);
  s.jitter = 7;
  g_assert_cmpfloat(s.clamped().jitter, ==, 1.0);

  /* The breaker applies the clamp: threshold 0 trips on the first failure. */
  BreakerSettings zero = Fixture::test_settings();
  zero.failure_threshold = 0;
  Fixture f(zero);
  g_assert_cmpint(f.breaker->settings().failure_threshold, ==, 1);
  f.fail(1);
  g_assert_true(f.state() == BreakerState::Open);
}

static void test_trip_on_threshold() {
  Fixture f;
  f.fail(2);
  g_assert_true(f.state() == BreakerState::Closed);
  g_assert_cmpuint(f.breaker->snapshot().consecutive_failures, ==, 2);
  g_assert_cmpuint(f.events.size(), ==, 0);
  f.fail(1);
  g_assert_cmpuint(f.events.size(), ==, 1);
  assert_event(f.events[0], BreakerState::Closed, BreakerState::Open,
               BreakerCause::FailureThreshold);
  g_assert_cmpint(f.events[0].open_for.count(), ==, 1000);
  g_assert_true(f.events[0].open_until == f.now + milliseconds(1000));
  g_assert_cmpuint(f.events[0].consecutive_failures, ==, 3);
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_cmpuint(snap.trips, ==, 1);
  g_assert_true(snap.open_until == f.now + milliseconds(1000));
  g_assert_true(f.breaker->next_deadline() == snap.open_until);
}

static void test_success_resets_count() {
  Fixture f;
  f.fail(2);
  g_assert_true(f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Success));
  g_assert_cmpuint(f.breaker->snapshot().consecutive_failures, ==, 0);
  f.fail(2);
  g_assert_true(f.state() == BreakerState::Closed);
  f.fail(1);
  g_assert_true(f.state() == BreakerState::Open);
}

static void test_open_timer_both_sides() {
  Fixture f;
  f.fail(3);
  f.advance(milliseconds(999));
  g_assert_false(f.breaker->try_acquire().allowed);
  g_assert_true(f.state() == BreakerState::Open);
  g_assert_cmpuint(f.events.size(), ==, 1);
  f.advance(milliseconds(1));
  BreakerPermit probe = f.breaker->try_acquire();
  g_assert_true(probe.allowed && probe.is_probe);
  g_assert_cmpuint(f.events.size(), ==, 2);
  assert_event(f.events[1], BreakerState::Open, BreakerState::HalfOpen, BreakerCause::OpenElapsed);
  g_assert_cmpuint(probe.generation, ==, f.events[1].generation);

  /* poll() moves the state too, without anyone asking for a permit. */
  Fixture g;
  g.fail(3);
  g.advance(milliseconds(999));
  g_assert_true(g.breaker->poll() == g.now + milliseconds(1));
  g.advance(milliseconds(1));
  g_assert_false(g.breaker->poll().has_value()); /* half-open, no probe out */
  g_assert_cmpuint(g.events.size(), ==, 2);
  g_assert_true(g.events[1].to == BreakerState::HalfOpen);
}

static void test_single_probe() {
  Fixture f;
  f.open_then_probe();
  uint64_t refusals = f.breaker->snapshot().refusals;
  for (int i = 0; i < 5; i++)
    g_assert_false(f.breaker->try_acquire().allowed);
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_cmpuint(snap.refusals, ==, refusals + 5);
  g_assert_cmpuint(snap.probes, ==, 1);
  g_assert_true(snap.probe_deadline == f.now + milliseconds(500));
}

static void test_probe_success_closes() {
  Fixture f;
  BreakerPermit probe = f.open_then_probe();
  g_assert_true(f.breaker->report(probe, BreakerOutcome::Success));
  assert_event(f.events.back(), BreakerState::HalfOpen, BreakerState::Closed,
               BreakerCause::ProbeSucceeded);
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_cmpuint(snap.consecutive_failures, ==, 0);
  g_assert_false(snap.probe_deadline.has_value());
  g_assert_true(f.breaker->try_acquire().allowed);
  g_assert_true(f.breaker->try_acquire().allowed);
}

static void test_probe_failure_reopens() {
  Fixture f;
  BreakerPermit probe = f.open_then_probe();
  g_assert_true(f.breaker->report(probe, BreakerOutcome::Failure));
  assert_event(f.events.back(), BreakerState::HalfOpen, BreakerState::Open,
               BreakerCause::ProbeFailed);
  g_assert_cmpint(f.events.back().open_for.count(), ==, 2000); /* doubled */
  g_assert_cmpuint(f.breaker->snapshot().trips, ==, 2);
}

static void test_probe_lease_both_sides() {
  Fixture f;
  BreakerPermit probe = f.open_then_probe();
  f.advance(milliseconds(499));
  g_assert_false(f.breaker->try_acquire().allowed);
  g_assert_true(f.state() == BreakerState::HalfOpen);
  g_assert_true(f.breaker->poll() == f.now + milliseconds(1));
  f.advance(milliseconds(1));
  f.breaker->poll();
  assert_event(f.events.back(), BreakerState::HalfOpen, BreakerState::Open,
               BreakerCause::ProbeExpired);
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_cmpuint(snap.probe_expiries, ==, 1);
  g_assert_cmpint(snap.open_for.count(), ==, 2000);
  g_assert_true(snap.open_until == f.now + milliseconds(2000));

  /* The probe's late success is from an old generation: ignored. */
  g_assert_false(f.breaker->report(probe, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::Open);
  g_assert_cmpuint(f.breaker->snapshot().ignored_reports, ==, 1);

  /* Still ignored once a new probe is out: it must not close the breaker. */
  f.advance(milliseconds(2000));
  BreakerPermit second = f.breaker->try_acquire();
  g_assert_true(second.is_probe);
  g_assert_cmpuint(second.generation, !=, probe.generation);
  g_assert_false(f.breaker->report(probe, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::HalfOpen);
  g_assert_true(f.breaker->report(second, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::Closed);
}

static void test_report_at_lease_deadline_is_late() {
  /* The lease is [issue, deadline): a result at the deadline is too late. */
  Fixture f;
  BreakerPermit probe = f.open_then_probe();
  f.advance(milliseconds(500));
  g_assert_false(f.breaker->report(probe, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::Open);
}

static void test_cancelled_probe() {
  Fixture f;
  BreakerPermit probe = f.open_then_probe();
  size_t events = f.events.size();
  g_assert_true(f.breaker->report(probe, BreakerOutcome::Cancelled));
  g_assert_true(f.state() == BreakerState::HalfOpen);
  g_assert_cmpuint(f.events.size(), ==, events);
  g_assert_false(f.breaker->next_deadline().has_value());
  BreakerPermit next = f.breaker->try_acquire();
  g_assert_true(next.is_probe);
  /* The abandoned call's result, arriving late, is stale. */
  g_assert_false(f.breaker->report(probe, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::HalfOpen);
  g_assert_cmpuint(f.breaker->snapshot().cancellations, ==, 1);
}

static void test_stale_generation() {
  Fixture f;
  BreakerPermit old = f.breaker->try_acquire();
  BreakerPermit probe = f.open_then_probe();
  g_assert_false(f.breaker->report(old, BreakerOutcome::Failure));
  g_assert_true(f.breaker->report(probe, BreakerOutcome::Success));
  /* Closed again, in a newer generation: the old failures don't count. */
  for (int i = 0; i < 10; i++)
    g_assert_false(f.breaker->report(old, BreakerOutcome::Failure));
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_true(snap.state == BreakerState::Closed);
  g_assert_cmpuint(snap.consecutive_failures, ==, 0);
  g_assert_cmpuint(snap.ignored_reports, ==, 11);

  /* A refused permit is never counted either. */
  BreakerPermit refused;
  refused.generation = snap.generation;
  g_assert_false(f.breaker->report(refused, BreakerOutcome::Failure));
}

static void test_backoff_sequence_cap_and_reset() {
  Fixture f;
  f.fail(3);
  std::vector<long> opens;
  opens.push_back(f.breaker->snapshot().open_for.count());
  for (int i = 0; i < 5; i++) {
    f.advance(f.breaker->snapshot().open_for);
    g_assert_true(f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Failure));
    opens.push_back(f.breaker->snapshot().open_for.count());
  }
  std::vector<long> expected = {1000, 2000, 4000, 8000, 8000, 8000};
  g_assert_true(opens == expected);

  /* Closing resets the backoff to base. */
  f.advance(milliseconds(8000));
  g_assert_true(f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Success));
  f.fail(3);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 1000);
}

static void test_backoff_jitter() {
  Fixture f;
  f.random = 0.5; /* half the window */
  f.fail(3);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 500);
  /* The event shows the window the jittered time came from, and the trip. */
  g_assert_cmpint(f.events.back().open_window.count(), ==, 1000);
  g_assert_cmpuint(f.events.back().trip, ==, 1);
  f.advance(milliseconds(500));
  f.random = 0.25;
  f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Failure);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 1500); /* 2000 * 0.75 */
  g_assert_cmpint(f.events.back().open_window.count(), ==, 2000);
  g_assert_cmpuint(f.events.back().trip, ==, 2);

  /* Near 1: tiny but never below the minimum. Bad sources are clamped. */
  f.advance(milliseconds(1500));
  f.random = 0.9999999;
  f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Failure);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 10);
  for (double bad : {-3.0, 42.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    f.advance(f.breaker->snapshot().open_for);
    f.random = bad;
    f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Failure);
    long open_for = f.breaker->snapshot().open_for.count();
    g_assert_cmpint(open_for, >=, 10);
    g_assert_cmpint(open_for, <=, 8000);
  }

  /* jitter = 0: the window exactly, whatever the random source says. */
  BreakerSettings fixed = Fixture::test_settings();
  fixed.jitter = 0.0;
  Fixture g(fixed);
  g.random = 0.9;
  g.fail(3);
  g_assert_cmpint(g.breaker->snapshot().open_for.count(), ==, 1000);
}

static void test_backoff_no_overflow() {
  BreakerSettings s = Fixture::test_settings();
  s.open_base = BreakerSettings::kMinDuration;
  s.open_cap = BreakerSettings::kMaxDuration;
  Fixture f(s);
  f.fail(3);
  long previous = 0;
  for (int i = 0; i < 10000; i++) {
    BreakerSnapshot snap = f.breaker->snapshot();
    g_assert_true(snap.state == BreakerState::Open);
    g_assert_cmpint(snap.open_for.count(), >=, previous);
    g_assert_cmpint(snap.open_for.count(), <=, s.open_cap.count());
    previous = snap.open_for.count();
    f.advance(snap.open_for);
    BreakerPermit probe = f.breaker->try_acquire();
    g_assert_true(probe.is_probe);
    g_assert_true(f.breaker->report(probe, BreakerOutcome::Failure));
  }
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_cmpint(snap.open_for.count(), ==, BreakerSettings::kMaxDuration.count());
  g_assert_cmpuint(snap.trips, ==, 10001);
  g_assert_cmpuint(snap.state_changes, ==, 1 + 2 * 10000);
  g_assert_cmpuint(f.events.size(), ==, snap.state_changes);
}

static void test_force_open() {
  Fixture f;
  BreakerPermit before = f.breaker->try_acquire();
  f.breaker->force_open();
  assert_event(f.events.back(), BreakerState::Closed, BreakerState::Open, BreakerCause::ForcedOpen);
  g_assert_false(f.events.back().open_until.has_value());
  g_assert_false(f.breaker->try_acquire().allowed);
  g_assert_false(f.breaker->report(before, BreakerOutcome::Success));
  /* No timers while forced: it stays open for a day and more. */
  f.advance(std::chrono::hours(48));
  g_assert_false(f.breaker->poll().has_value());
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_true(snap.state == BreakerState::Open);
  g_assert_true(snap.override_mode == BreakerOverride::ForcedOpen);
  g_assert_false(snap.open_until.has_value());
  g_assert_cmpuint(snap.trips, ==, 0); /* an operator's choice is no trip */

  /* Release: one probe decides. */
  f.breaker->release_override();
  assert_event(f.events.back(), BreakerState::Open, BreakerState::HalfOpen, BreakerCause::Released);
  BreakerPermit probe = f.breaker->try_acquire();
  g_assert_true(probe.is_probe);
  g_assert_false(f.breaker->try_acquire().allowed);
  g_assert_true(f.breaker->report(probe, BreakerOutcome::Success));
  g_assert_true(f.state() == BreakerState::Closed);
}

static void test_force_closed() {
  Fixture f;
  f.fail(3);
  f.breaker->force_closed();
  assert_event(f.events.back(), BreakerState::Open, BreakerState::Closed,
               BreakerCause::ForcedClosed);
  for (int i = 0; i < 20; i++)
    f.fail(1); /* counted, never trips */
  BreakerSnapshot snap = f.breaker->snapshot();
  g_assert_true(snap.state == BreakerState::Closed);
  g_assert_cmpuint(snap.failures, ==, 23);
  g_assert_cmpuint(snap.consecutive_failures, ==, 0);
  BreakerPermit forced = f.breaker->try_acquire();

  f.breaker->release_override(); /* closed -> closed: no event */
  g_assert_cmpuint(f.events.size(), ==, 2);
  g_assert_cmpuint(f.breaker->snapshot().generation, >, forced.generation);
  g_assert_false(f.breaker->report(forced, BreakerOutcome::Failure));
  /* Automatic again, from base backoff: closing reset it. */
  f.fail(3);
  g_assert_cmpint(f.breaker->snapshot().open_for.count(), ==, 1000);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/breaker/names", test_names);
  g_test_add_func("/breaker/defaults", test_defaults);
  g_test_add_func("/breaker/clamps", test_clamps);
  g_test_add_func("/breaker/closed/trip-on-threshold", test_trip_on_threshold);
  g_test_add_func("/breaker/closed/success-resets-count", test_success_resets_count);
  g_test_add_func("/breaker/open/timer-both-sides", test_open_timer_both_sides);
  g_test_add_func("/breaker/half-open/single-probe", test_single_probe);
  g_test_add_func("/breaker/half-open/probe-success-closes", test_probe_success_closes);
  g_test_add_func("/breaker/half-open/probe-failure-reopens", test_probe_failure_reopens);
  g_test_add_func("/breaker/half-open/lease-both-sides", test_probe_lease_both_sides);
  g_test_add_func("/breaker/half-open/report-at-deadline-is-late",
                  test_report_at_lease_deadline_is_late);
  g_test_add_func("/breaker/half-open/cancelled-probe", test_cancelled_probe);
  g_test_add_func("/breaker/stale-generation", test_stale_generation);
  g_test_add_func("/breaker/backoff/sequence-cap-reset", test_backoff_sequence_cap_and_reset);
  g_test_add_func("/breaker/backoff/jitter", test_backoff_jitter);
  g_test_add_func("/breaker/backoff/no-overflow", test_backoff_no_overflow);
  g_test_add_func("/breaker/override/force-open", test_force_open);
  g_test_add_func("/breaker/override/force-closed", test_force_closed);
  g_test_add_func("/breaker/path-restored-probes-early", test_path_restored_probes_early);
  g_test_add_func("/breaker/service-answer-ends-path-checks", test_service_answer_ends_path_checks);
  g_test_add_func("/breaker/one-early-probe-per-return", test_one_early_probe_per_return);
  g_test_add_func("/breaker/path-check-claimed-once-per-interval",
                  test_path_check_is_claimed_once_per_interval);
  return g_test_run();
}
