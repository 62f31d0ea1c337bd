/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The full transition table: every starting situation × every input,
 * including the illegal ones (stale results, releases with no override) and
 * same-state ones, which must change nothing and emit no event. */
#include <glib.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "breaker.h"

using namespace dgf;
using std::chrono::milliseconds;

namespace {

enum class Start {
  Closed,
  ClosedNearTrip,
  Open,
  HalfOpenIdle,
  HalfOpenProbe,
  ForcedOpen,
  ForcedClosed
};
enum class Action {
  Acquire,
  Success, /* report the permit held since setup (stale where none is current) */
  Failure,
  Cancel,
  StaleReport, /* a permit from the generation before the current one */
  TimerBefore, /* to 1 ms before the next deadline (a day on when none) */
  TimerAt,     /* to the next deadline exactly */
  ForceOpen,
  ForceClosed,
  Release,
  PathRestored, /* note_path_restored(): the network came back */
};

const char *start_name(Start s) {
  const char *names[] = {"closed",          "closed(2 failures)", "open",
                         "half-open(idle)", "half-open(probe)",   "forced-open",
                         "forced-closed"};
  return names[static_cast<int>(s)];
}

const char *action_name(Action a) {
  const char *names[] = {"acquire",      "success",      "failure",      "cancel",
                         "stale-report", "timer-before", "timer-at",     "force-open",
                         "force-closed", "release",      "path-restored"};
  return names[static_cast<int>(a)];
}

struct Row {
  Start start;
  Action action;
  BreakerState to;
  BreakerOverride mode;
  std::optional<BreakerCause> cause; /* nullopt: no event */
};

struct Situation {
  BreakerTime now = BreakerTime{} + std::chrono::hours(1);
  std::unique_ptr<Breaker> breaker;
  BreakerPermit held;

  explicit Situation(Start start) {
    BreakerSettings s;
    s.open_base = milliseconds(1000);
    s.open_cap = milliseconds(8000);
    s.probe_timeout = milliseconds(500);
    breaker = std::make_unique<Breaker>(
        "table", s, [this] { return now; }, [] { return 0.0; });
    held = breaker->try_acquire(); /* stale once the state moves on */
    auto fail = [this](int n) {
      for (int i = 0; i < n; i++)
        breaker->report(breaker->try_acquire(), BreakerOutcome::Failure);
    };
    switch (start) {
    case Start::Closed:
      break;
    case Start::ClosedNearTrip:
      fail(2);
      held = breaker->try_acquire();
      break;
    case Start::Open:
      fail(3);
      break;
    case Start::HalfOpenIdle:
    case Start::HalfOpenProbe:
      fail(3);
      now += milliseconds(1000);
      breaker->poll();
      if (start == Start::HalfOpenProbe)
        held = breaker->try_acquire();
      break;
    case Start::ForcedOpen:
      breaker->force_open();
      break;
    case Start::ForcedClosed:
      breaker->force_closed();
      held = breaker->try_acquire();
      break;
    }
  }

  void apply(Action action) {
    std::optional<BreakerTime> deadline = breaker->next_deadline();
    BreakerPermit stale = held;
    stale.allowed = true;
    stale.generation = breaker->snapshot().generation - 1;
    switch (action) {
    case Action::Acquire:
      breaker->try_acquire();
      break;
    case Action::Success:
      breaker->report(held, BreakerOutcome::Success);
      break;
    case Action::Failure:
      breaker->report(held, BreakerOutcome::Failure);
      break;
    case Action::Cancel:
      breaker->report(held, BreakerOutcome::Cancelled);
      break;
    case Action::StaleReport:
      breaker->report(stale, BreakerOutcome::Success);
      break;
    case Action::TimerBefore:
      now = deadline ? *deadline - milliseconds(1) : now + std::chrono::hours(24);
      breaker->poll();
      break;
    case Action::TimerAt:
      now = deadline ? *deadline : now + std::chrono::hours(24);
      breaker->poll();
      break;
    case Action::ForceOpen:
      breaker->force_open();
      break;
    case Action::ForceClosed:
      breaker->force_closed();
      break;
    case Action::Release:
      breaker->release_override();
      break;
    case Action::PathRestored: /* the network failed, and is back */
      breaker->note_path_lost();
      breaker->note_path_restored();
      break;
    }
  }
};

std::string describe(BreakerState state, BreakerOverride mode, std::optional<BreakerCause> cause) {
  return std::string(breaker_state_name(state)) + " " + breaker_override_name(mode) +
         " event:" + (cause ? breaker_cause_name(*cause) : "none");
}

constexpr auto C = BreakerState::Closed;
constexpr auto O = BreakerState::Open;
constexpr auto H = BreakerState::HalfOpen;
constexpr auto Auto = BreakerOverride::None;
constexpr auto FO = BreakerOverride::ForcedOpen;
constexpr auto FC = BreakerOverride::ForcedClosed;
constexpr std::optional<BreakerCause> None = std::nullopt;

/* Inputs with the same outcome for a whole starting situation. */
void add_unchanged(std::vector<Row> &rows, Start start, BreakerState state, BreakerOverride mode,
                   std::initializer_list<Action> actions) {
  for (Action a : actions)
    rows.push_back({start, a, state, mode, None});
}

std::vector<Row> table() {
  using A = Action;
  using Cause = BreakerCause;
  std::vector<Row> rows;
  add_unchanged(rows, Start::Closed, C, Auto,
                {A::Acquire, A::Success, A::Failure, A::Cancel, A::StaleReport, A::TimerBefore,
                 A::TimerAt, A::Release, A::PathRestored});
  rows.push_back({Start::Closed, A::ForceOpen, O, FO, Cause::ForcedOpen});
  rows.push_back({Start::Closed, A::ForceClosed, C, FC, None});

  add_unchanged(rows, Start::ClosedNearTrip, C, Auto,
                {A::Acquire, A::Success, A::Cancel, A::StaleReport, A::TimerBefore, A::TimerAt,
                 A::Release, A::PathRestored});
  rows.push_back({Start::ClosedNearTrip, A::Failure, O, Auto, Cause::FailureThreshold});
  rows.push_back({Start::ClosedNearTrip, A::ForceOpen, O, FO, Cause::ForcedOpen});
  rows.push_back({Start::ClosedNearTrip, A::ForceClosed, C, FC, None});

  add_unchanged(
      rows, Start::Open, O, Auto,
      {A::Acquire, A::Success, A::Failure, A::Cancel, A::StaleReport, A::TimerBefore, A::Release});
  rows.push_back({Start::Open, A::TimerAt, H, Auto, Cause::OpenElapsed});
  rows.push_back({Start::Open, A::PathRestored, H, Auto, Cause::PathRestored});
  rows.push_back({Start::Open, A::ForceOpen, O, FO, None});
  rows.push_back({Start::Open, A::ForceClosed, C, FC, Cause::ForcedClosed});

  add_unchanged(rows, Start::HalfOpenIdle, H, Auto,
                {A::Acquire, A::Success, A::Failure, A::Cancel, A::StaleReport, A::TimerBefore,
                 A::TimerAt, A::Release, A::PathRestored});
  rows.push_back({Start::HalfOpenIdle, A::ForceOpen, O, FO, Cause::ForcedOpen});
  rows.push_back({Start::HalfOpenIdle, A::ForceClosed, C, FC, Cause::ForcedClosed});

  add_unchanged(
      rows, Start::HalfOpenProbe, H, Auto,
      {A::Acquire, A::Cancel, A::StaleReport, A::TimerBefore, A::Release, A::PathRestored});
  rows.push_back({Start::HalfOpenProbe, A::Success, C, Auto, Cause::ProbeSucceeded});
  rows.push_back({Start::HalfOpenProbe, A::Failure, O, Auto, Cause::ProbeFailed});
  rows.push_back({Start::HalfOpenProbe, A::TimerAt, O, Auto, Cause::ProbeExpired});
  rows.push_back({Start::HalfOpenProbe, A::ForceOpen, O, FO, Cause::ForcedOpen});
  rows.push_back({Start::HalfOpenProbe, A::ForceClosed, C, FC, Cause::ForcedClosed});

  add_unchanged(rows, Start::ForcedOpen, O, FO,
                {A::Acquire, A::Success, A::Failure, A::Cancel, A::StaleReport, A::TimerBefore,
                 A::TimerAt, A::ForceOpen, A::PathRestored});
  rows.push_back({Start::ForcedOpen, A::ForceClosed, C, FC, Cause::ForcedClosed});
  rows.push_back({Start::ForcedOpen, A::Release, H, Auto, Cause::Released});

  add_unchanged(rows, Start::ForcedClosed, C, FC,
                {A::Acquire, A::Success, A::Failure, A::Cancel, A::StaleReport, A::TimerBefore,
                 A::TimerAt, A::ForceClosed, A::PathRestored});
  rows.push_back({Start::ForcedClosed, A::ForceOpen, O, FO, Cause::ForcedOpen});
  rows.push_back({Start::ForcedClosed, A::Release, C, Auto, None});
  return rows;
}

} // namespace

static void test_transition_table() {
  std::vector<Row> rows = table();
  g_assert_cmpuint(rows.size(), ==, 7 * 11);
  for (const Row &row : rows) {
    Situation s(row.start);
    std::vector<BreakerEvent> events;
    s.breaker->add_listener([&](const BreakerEvent &e) { events.push_back(e); });
    BreakerSnapshot before = s.breaker->snapshot();
    s.apply(row.action);
    BreakerSnapshot after = s.breaker->snapshot();

    g_assert_cmpuint(events.size(), <=, 1);
    std::optional<BreakerCause> cause;
    if (!events.empty()) {
      cause = events[0].cause;
      g_assert_true(events[0].from == before.state);
      g_assert_true(events[0].to == after.state);
      g_assert_cmpuint(events[0].generation, ==, after.generation);
    } else {
      g_assert_true(after.state == before.state); /* no event, no change */
    }
    std::string label = std::string(start_name(row.start)) + " + " + action_name(row.action);
    std::string got = label + " -> " + describe(after.state, after.override_mode, cause);
    std::string want = label + " -> " + describe(row.to, row.mode, row.cause);
    g_assert_cmpstr(got.c_str(), ==, want.c_str());
    /* Every input is covered exactly once per starting situation. */
    int same = 0;
    for (const Row &other : rows)
      same += other.start == row.start && other.action == row.action;
    g_assert_cmpint(same, ==, 1);
  }
}

static void test_refusal_and_permits_per_state() {
  /* try_acquire's answer in each situation. */
  struct {
    Start start;
    bool allowed;
    bool probe;
  } cases[] = {
      {Start::Closed, true, false},         {Start::Open, false, false},
      {Start::HalfOpenIdle, true, true},    {Start::HalfOpenProbe, false, false},
      {Start::ForcedOpen, false, false},    {Start::ForcedClosed, true, false},
      {Start::ClosedNearTrip, true, false},
  };
  for (const auto &c : cases) {
    Situation s(c.start);
    BreakerPermit p = s.breaker->try_acquire();
    g_test_message("%s", start_name(c.start));
    g_assert_cmpint(p.allowed, ==, c.allowed);
    g_assert_cmpint(p.is_probe, ==, c.probe);
    g_assert_cmpuint(p.generation, ==, s.breaker->snapshot().generation);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/breaker/transitions/table", test_transition_table);
  g_test_add_func("/breaker/transitions/permits", test_refusal_and_permits_per_state);
  return g_test_run();
}
