/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exponential backoff with full jitter (the AWS "full jitter" scheme).
 *
 * Used wherever we retry: a sink reconnecting, a batch chunk retried, the
 * failover's recovery probes. Full jitter spreads retries of many pipelines
 * over the whole window, so an outage's end does not meet a synchronized storm.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace dgf {

struct BackoffPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{30000};
};

/* The ceiling for attempt n (0-based): min(cap, base * 2^n), overflow-safe. */
std::chrono::milliseconds backoff_ceiling(const BackoffPolicy &policy, uint32_t attempt);

/* A delay drawn uniformly in [0, ceiling], with `unit_random` in [0, 1).
 * Never below `floor` (e.g. a server's Retry-After). */
std::chrono::milliseconds
backoff_delay(const BackoffPolicy &policy, uint32_t attempt, double unit_random,
              std::chrono::milliseconds floor = std::chrono::milliseconds{0});

/* A thread-safe uniform [0, 1) source, seeded from std::random_device. */
double default_unit_random();

} // namespace dgf
