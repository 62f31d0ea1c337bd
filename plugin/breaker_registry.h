/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process-wide breakers by name: every element configured with the same
 * breaker name shares one Breaker, so one outage trips it for all of them.
 *
 * Rules (docs/breaker.md):
 * - get() creates the breaker on first use; the creator's settings win.
 * - A later get() whose (clamped) settings differ still returns the shared
 *   breaker and writes a one-line warning to *settings_conflict for the
 *   caller to log; it is set to "" when there is no conflict.
 * - The registry holds breakers weakly: a breaker lives while someone holds
 *   its shared_ptr. Once all users drop it, the next get() creates a fresh
 *   one (closed, counters zero) with that caller's settings.
 * - An empty name means "not shared": a new private breaker every call.
 */
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "breaker.h"

namespace dgf {

class BreakerRegistry {
public:
  /* Clock and random source for the breakers this registry creates (tests);
   * empty means the defaults. The random source is shared by all of them, so
   * the registry serialises calls to it. */
  explicit BreakerRegistry(BreakerClock clock = {}, BreakerRandom random = {});
  BreakerRegistry(const BreakerRegistry &) = delete;
  BreakerRegistry &operator=(const BreakerRegistry &) = delete;

  /* The process-wide registry the elements use. Never destroyed, so breakers
   * outlive static destruction order at exit. */
  static BreakerRegistry &global();

  std::shared_ptr<Breaker> get(const std::string &name, const BreakerSettings &settings,
                               std::string *settings_conflict = nullptr);
  /* The live breaker of that name, or nullptr. Never creates one. */
  std::shared_ptr<Breaker> find(const std::string &name);
  /* Names of breakers alive now, sorted. */
  std::vector<std::string> names();

private:
  void prune_locked();

  BreakerClock clock_;
  BreakerRandom random_;
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<Breaker>> breakers_;
};

} // namespace dgf
