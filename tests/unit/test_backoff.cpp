/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "backoff.h"

using namespace std::chrono_literals;
using dgf::BackoffPolicy;

static void test_ceiling_doubles_to_cap() {
  BackoffPolicy p{100ms, 1000ms};
  g_assert_cmpint(dgf::backoff_ceiling(p, 0).count(), ==, 100);
  g_assert_cmpint(dgf::backoff_ceiling(p, 1).count(), ==, 200);
  g_assert_cmpint(dgf::backoff_ceiling(p, 3).count(), ==, 800);
  g_assert_cmpint(dgf::backoff_ceiling(p, 4).count(), ==, 1000);
  g_assert_cmpint(dgf::backoff_ceiling(p, 4000000000u).count(), ==, 1000);
}

static void test_no_overflow_with_huge_cap() {
  BackoffPolicy p{1ms, std::chrono::milliseconds{INT64_MAX}};
  auto c = dgf::backoff_ceiling(p, 200);
  g_assert_cmpint(c.count(), >, 0);
  g_assert_cmpint(c.count(), <=, INT64_MAX);
}

static void test_full_jitter_bounds() {
  BackoffPolicy p{100ms, 1000ms};
  g_assert_cmpint(dgf::backoff_delay(p, 2, 0.0).count(), ==, 0);
  g_assert_cmpint(dgf::backoff_delay(p, 2, 0.5).count(), ==, 200);
  g_assert_cmpint(dgf::backoff_delay(p, 2, 0.999999).count(), ==, 399);
  /* Retry-After is a floor the jitter never undercuts. */
  g_assert_cmpint(dgf::backoff_delay(p, 0, 0.1, 2000ms).count(), ==, 2000);
  /* Bad random values are clamped, not trusted. */
  g_assert_cmpint(dgf::backoff_delay(p, 0, 7.0).count(), ==, 100);
  g_assert_cmpint(dgf::backoff_delay(p, 0, -1.0).count(), ==, 0);
}

static void test_bad_policy_is_clamped() {
  BackoffPolicy p{0ms, -5ms};
  g_assert_cmpint(dgf::backoff_ceiling(p, 0).count(), ==, 1);
  g_assert_cmpint(dgf::backoff_ceiling(p, 10).count(), ==, 1);
}

static void test_default_random_in_range() {
  for (int i = 0; i < 1000; i++) {
    double r = dgf::default_unit_random();
    g_assert_cmpfloat(r, >=, 0.0);
    g_assert_cmpfloat(r, <, 1.0);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/backoff/ceiling", test_ceiling_doubles_to_cap);
  g_test_add_func("/backoff/no-overflow", test_no_overflow_with_huge_cap);
  g_test_add_func("/backoff/full-jitter", test_full_jitter_bounds);
  g_test_add_func("/backoff/clamped", test_bad_policy_is_clamped);
  g_test_add_func("/backoff/default-random", test_default_random_in_range);
  return g_test_run();
}
