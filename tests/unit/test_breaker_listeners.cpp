/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Listener delivery: order, re-entrancy (a listener that reads the snapshot or
 * reports a result must not deadlock), removal semantics. */
#include <glib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "breaker.h"

using namespace dgf;
using std::chrono::milliseconds;

namespace {

struct Fixture {
  BreakerTime now = BreakerTime{} + std::chrono::hours(1);
  std::unique_ptr<Breaker> breaker;

  Fixture() {
    BreakerSettings s;
    s.failure_threshold = 1;
    s.open_base = milliseconds(1000);
    s.probe_timeout = milliseconds(500);
    breaker = std::make_unique<Breaker>(
        "listeners", s, [this] { return now; }, [] { return 0.0; });
  }
  void trip() { breaker->report(breaker->try_acquire(), BreakerOutcome::Failure); }
};

std::string tag(const std::string &who, const BreakerEvent &e) {
  return who + ":" + breaker_state_name(e.from) + ">" + breaker_state_name(e.to);
}

} // namespace

static void test_order_and_sequence() {
  Fixture f;
  std::vector<std::string> log;
  f.breaker->add_listener([&](const BreakerEvent &e) { log.push_back(tag("a", e)); });
  f.breaker->add_listener([&](const BreakerEvent &e) { log.push_back(tag("b", e)); });
  std::vector<uint64_t> sequences;
  f.breaker->add_listener([&](const BreakerEvent &e) { sequences.push_back(e.sequence); });

  f.trip();
  f.now += milliseconds(1000);
  f.breaker->report(f.breaker->try_acquire(), BreakerOutcome::Success);

  std::vector<std::string> expected = {"a:closed>open",      "b:closed>open",
                                       "a:open>half-open",   "b:open>half-open",
                                       "a:half-open>closed", "b:half-open>closed"};
  g_assert_true(log == expected);
  g_assert_true(sequences == (std::vector<uint64_t>{1, 2, 3}));
  g_assert_cmpuint(f.breaker->snapshot().state_changes, ==, 3);
}

static void test_late_listener_sees_only_later_events() {
  Fixture f;
  f.trip();
  std::vector<BreakerEvent> seen;
  f.breaker->add_listener([&](const BreakerEvent &e) { seen.push_back(e); });
  f.now += milliseconds(1000);
  f.breaker->poll();
  g_assert_cmpuint(seen.size(), ==, 1);
  g_assert_true(seen[0].to == BreakerState::HalfOpen);
  g_assert_cmpstr(seen[0].name.c_str(), ==, "listeners");
}

static void test_listener_reads_snapshot() {
  Fixture f;
  std::vector<BreakerState> seen;
  f.breaker->add_listener([&](const BreakerEvent &e) {
    BreakerSnapshot snap = f.breaker->snapshot(); /* takes the state lock */
    g_assert_true(snap.state == e.to);
    g_assert_cmpuint(snap.generation, ==, e.generation);
    seen.push_back(snap.state);
    f.breaker->next_deadline();
  });
  f.trip();
  g_assert_cmpuint(seen.size(), ==, 1);
  g_assert_true(seen[0] == BreakerState::Open);
}

static void test_listener_reports_result() {
  /* On half-open the listener takes the probe and reports success at once:
   * its own change is delivered after it returns, to everyone, in order. */
  Fixture f;
  std::vector<std::string> log;
  f.breaker->add_listener([&](const BreakerEvent &e) {
    log.push_back(tag("a", e));
    if (e.to == BreakerState::HalfOpen) {
      BreakerPermit probe = f.breaker->try_acquire();
      g_assert_true(probe.is_probe);
      g_assert_true(f.breaker->report(probe, BreakerOutcome::Success));
      log.push_back("a:reported");
    }
  });
  f.breaker->add_listener([&](const BreakerEvent &e) { log.push_back(tag("b", e)); });
  f.trip();
  f.now += milliseconds(1000);
  f.breaker->poll();
  std::vector<std::string> expected = {
      "a:closed>open",    "b:closed>open",      "a:open>half-open",  "a:reported",
      "b:open>half-open", "a:half-open>closed", "b:half-open>closed"};
  g_assert_true(log == expected);
  g_assert_true(f.breaker->snapshot().state == BreakerState::Closed);
}

static void test_listener_removes_itself() {
  Fixture f;
  int calls = 0;
  uint64_t id = 0;
  id = f.breaker->add_listener([&](const BreakerEvent &) {
    calls++;
    f.breaker->remove_listener(id); /* must not wait for itself */
  });
  f.trip();
  f.now += milliseconds(1000);
  f.breaker->poll();
  g_assert_cmpint(calls, ==, 1);
  f.breaker->remove_listener(id); /* unknown by now: ignored */
  f.breaker->remove_listener(12345);
}

static void test_removed_listener_not_called() {
  Fixture f;
  int a = 0, b = 0;
  uint64_t id_a = f.breaker->add_listener([&](const BreakerEvent &) { a++; });
  f.breaker->add_listener([&](const BreakerEvent &) { b++; });
  f.trip();
  f.breaker->remove_listener(id_a);
  f.now += milliseconds(1000);
  f.breaker->poll();
  g_assert_cmpint(a, ==, 1);
  g_assert_cmpint(b, ==, 2);
}

static void test_throwing_listener_does_not_wedge() {
  Fixture f;
  int after = 0;
  f.breaker->add_listener([](const BreakerEvent &) { throw std::runtime_error("listener bug"); });
  f.breaker->add_listener([&](const BreakerEvent &) { after++; });
  f.trip();
  f.now += milliseconds(1000);
  f.breaker->poll();
  g_assert_cmpint(after, ==, 2);
}

static void test_remove_waits_for_in_flight_call() {
  /* The listener blocks inside its callback on thread A; thread B removes it.
   * Whenever B's remove_listener() returns, the callback must have finished. */
  Fixture f;
  std::mutex m;
  std::condition_variable cv;
  bool entered = false, release = false, remover_started = false;
  std::atomic<bool> finished{false};

  uint64_t id = f.breaker->add_listener([&](const BreakerEvent &) {
    std::unique_lock<std::mutex> lock(m);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    finished = true;
  });
  std::thread a([&] { f.trip(); });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return entered; });
  }
  bool finished_when_removed = false;
  std::thread b([&] {
    {
      std::lock_guard<std::mutex> lock(m);
      remover_started = true;
    }
    cv.notify_all();
    f.breaker->remove_listener(id);
    finished_when_removed = finished.load();
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return remover_started; });
  }
  for (int i = 0; i < 1000; i++) /* let B reach the wait, most runs */
    std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  a.join();
  b.join();
  g_assert_true(finished_when_removed);
}

static void test_delivery_from_many_threads_is_serial() {
  Fixture f;
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  uint64_t last_sequence = 0;
  bool in_order = true;
  f.breaker->add_listener([&](const BreakerEvent &e) {
    int now_inside = ++inside;
    if (now_inside > max_inside)
      max_inside = now_inside;
    in_order = in_order && e.sequence == last_sequence + 1;
    last_sequence = e.sequence;
    std::this_thread::yield();
    --inside;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; i++) {
        f.breaker->force_open();
        f.breaker->force_closed();
      }
    });
  for (auto &t : threads)
    t.join();
  g_assert_cmpint(max_inside.load(), ==, 1);
  g_assert_true(in_order);
  g_assert_cmpuint(last_sequence, ==, f.breaker->snapshot().state_changes);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/breaker/listeners/order-and-sequence", test_order_and_sequence);
  g_test_add_func("/breaker/listeners/late-listener", test_late_listener_sees_only_later_events);
  g_test_add_func("/breaker/listeners/reads-snapshot", test_listener_reads_snapshot);
  g_test_add_func("/breaker/listeners/reports-result", test_listener_reports_result);
  g_test_add_func("/breaker/listeners/removes-itself", test_listener_removes_itself);
  g_test_add_func("/breaker/listeners/removed-not-called", test_removed_listener_not_called);
  g_test_add_func("/breaker/listeners/throwing", test_throwing_listener_does_not_wedge);
  g_test_add_func("/breaker/listeners/remove-waits", test_remove_waits_for_in_flight_call);
  g_test_add_func("/breaker/listeners/serial-delivery", test_delivery_from_many_threads_is_serial);
  return g_test_run();
}
