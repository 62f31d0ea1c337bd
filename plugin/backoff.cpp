/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backoff.h"

#include <algorithm>
#include <mutex>
#include <random>

namespace dgf {

std::chrono::milliseconds backoff_ceiling(const BackoffPolicy &policy, uint32_t attempt) {
  using std::chrono::milliseconds;
  int64_t base = std::max<int64_t>(1, policy.base.count());
  int64_t cap = std::max<int64_t>(base, policy.cap.count());
  /* Doubling past 62 bits would overflow; by then we are long at the cap. */
  int64_t ceiling = base;
  for (uint32_t i = 0; i < attempt && ceiling < cap; i++)
    ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
  return milliseconds{std::min(ceiling, cap)};
}

std::chrono::milliseconds backoff_delay(const BackoffPolicy &policy, uint32_t attempt,
                                        double unit_random, std::chrono::milliseconds floor) {
  double r = std::clamp(unit_random, 0.0, 1.0);
  auto ceiling = backoff_ceiling(policy, attempt);
  auto drawn = std::chrono::milliseconds{static_cast<int64_t>(r * ceiling.count())};
  return std::max(drawn, floor);
}

double default_unit_random() {
  static std::mutex mutex;
  static std::mt19937_64 engine{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mutex);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

} // namespace dgf
