/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry: one breaker per name, shared; weak lifetime; first creator's
 * settings win and a mismatch is reported. */
#include <glib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "breaker_registry.h"

using namespace dgf;
using std::chrono::milliseconds;

namespace {

BreakerSettings settings_with_threshold(int threshold) {
  BreakerSettings s;
  s.failure_threshold = threshold;
  s.open_base = milliseconds(1000);
  return s;
}

} // namespace

static void test_same_name_shares() {
  BreakerRegistry registry;
  std::string conflict = "stale text";
  auto a = registry.get("deepgram-live", settings_with_threshold(2), &conflict);
  g_assert_cmpstr(conflict.c_str(), ==, "");
  auto b = registry.get("deepgram-live", settings_with_threshold(2), &conflict);
  g_assert_cmpstr(conflict.c_str(), ==, "");
  auto other = registry.get("deepgram-batch", settings_with_threshold(2));
  g_assert_true(a == b);
  g_assert_true(a != other);
  g_assert_cmpstr(a->name().c_str(), ==, "deepgram-live");

  /* One user's failures trip it for every user of the name. */
  a->report(a->try_acquire(), BreakerOutcome::Failure);
  b->report(b->try_acquire(), BreakerOutcome::Failure);
  g_assert_false(b->try_acquire().allowed);
  g_assert_true(other->try_acquire().allowed);
  g_assert_true(registry.find("deepgram-live") == a);
  g_assert_true(registry.names() == (std::vector<std::string>{"deepgram-batch", "deepgram-live"}));
}

static void test_lives_while_used() {
  BreakerRegistry registry;
  auto first = registry.get("x", settings_with_threshold(1));
  first->report(first->try_acquire(), BreakerOutcome::Failure);
  std::weak_ptr<Breaker> watch = first;
  first.reset();
  g_assert_true(watch.expired()); /* the registry holds it weakly */
  g_assert_null(registry.find("x").get());
  g_assert_true(registry.names().empty());

  /* A fresh one, closed, with the new caller's settings and no conflict. */
  std::string conflict;
  auto second = registry.get("x", settings_with_threshold(5), &conflict);
  g_assert_cmpstr(conflict.c_str(), ==, "");
  g_assert_cmpint(second->settings().failure_threshold, ==, 5);
  BreakerSnapshot snap = second->snapshot();
  g_assert_true(snap.state == BreakerState::Closed);
  g_assert_cmpuint(snap.trips, ==, 0);
}

static void test_settings_conflict_is_reported() {
  BreakerRegistry registry;
  auto first = registry.get("shared", settings_with_threshold(3));
  std::string conflict;
  auto second = registry.get("shared", settings_with_threshold(7), &conflict);
  g_assert_true(first == second);
  g_assert_cmpint(second->settings().failure_threshold, ==, 3); /* first creator wins */
  g_assert_nonnull(strstr(conflict.c_str(), "\"shared\""));
  g_assert_nonnull(strstr(conflict.c_str(), "failure-threshold=3"));
  g_assert_nonnull(strstr(conflict.c_str(), "failure-threshold=7"));

  /* Compared after clamping: 0 and 1 are the same threshold. */
  auto one = registry.get("clamped", settings_with_threshold(1));
  registry.get("clamped", settings_with_threshold(0), &conflict);
  g_assert_cmpstr(conflict.c_str(), ==, "");
  /* No out-parameter: still works, just silent. */
  g_assert_true(registry.get("shared", settings_with_threshold(9)) == first);
}

static void test_empty_name_is_private() {
  BreakerRegistry registry;
  auto a = registry.get("", BreakerSettings{});
  auto b = registry.get("", BreakerSettings{});
  g_assert_true(a != b);
  g_assert_true(registry.names().empty());
}

static void test_injected_clock_and_random() {
  BreakerTime now = BreakerTime{} + std::chrono::hours(1);
  BreakerRegistry registry([&] { return now; }, [] { return 0.5; });
  auto b = registry.get("fake-time", settings_with_threshold(1));
  b->report(b->try_acquire(), BreakerOutcome::Failure);
  g_assert_cmpint(b->snapshot().open_for.count(), ==, 500);
  now += milliseconds(500);
  g_assert_true(b->try_acquire().is_probe);
}

static void test_global_registry() {
  BreakerRegistry &global = BreakerRegistry::global();
  g_assert_true(&global == &BreakerRegistry::global());
  auto a = global.get("test-global", BreakerSettings{});
  g_assert_true(global.get("test-global", BreakerSettings{}) == a);
}

static void test_concurrent_get_and_drop() {
  /* 8 threads race get() and drop on a few names: every live handle of one
   * name must be the same breaker. */
  BreakerRegistry registry;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; i++) {
        std::string name = "n" + std::to_string((i + t) % 3);
        std::string conflict;
        auto a = registry.get(name, settings_with_threshold(3), &conflict);
        auto b = registry.get(name, settings_with_threshold(3), &conflict);
        if (a != b || !conflict.empty())
          mismatches++;
        a->report(a->try_acquire(), BreakerOutcome::Success);
        if (i % 7 == 0)
          registry.names();
      }
    });
  for (auto &t : threads)
    t.join();
  g_assert_cmpint(mismatches.load(), ==, 0);
  g_assert_true(registry.names().empty());
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/breaker/registry/same-name-shares", test_same_name_shares);
  g_test_add_func("/breaker/registry/lives-while-used", test_lives_while_used);
  g_test_add_func("/breaker/registry/settings-conflict", test_settings_conflict_is_reported);
  g_test_add_func("/breaker/registry/empty-name-private", test_empty_name_is_private);
  g_test_add_func("/breaker/registry/injected-clock", test_injected_clock_and_random);
  g_test_add_func("/breaker/registry/global", test_global_registry);
  g_test_add_func("/breaker/registry/concurrent", test_concurrent_get_and_drop);
  return g_test_run();
}
