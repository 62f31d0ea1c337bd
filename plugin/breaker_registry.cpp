/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "breaker_registry.h"

namespace dgf {

BreakerRegistry::BreakerRegistry(BreakerClock clock, BreakerRandom random)
    : clock_(std::move(clock)) {
  if (random) {
    auto guard = std::make_shared<std::mutex>();
    random_ = [guard, random = std::move(random)]() {
      std::lock_guard<std::mutex> lock(*guard);
      return random();
    };
  }
}

BreakerRegistry &BreakerRegistry::global() {
  static BreakerRegistry *registry = new BreakerRegistry();
  return *registry;
}

std::shared_ptr<Breaker> BreakerRegistry::get(const std::string &name,
                                              const BreakerSettings &settings,
                                              std::string *settings_conflict) {
  if (settings_conflict)
    settings_conflict->clear();
  if (name.empty())
    return std::make_shared<Breaker>(name, settings, clock_, random_);

  std::lock_guard<std::mutex> lock(mutex_);
  prune_locked();
  std::weak_ptr<Breaker> &slot = breakers_[name];
  std::shared_ptr<Breaker> breaker = slot.lock();
  if (!breaker) {
    breaker = std::make_shared<Breaker>(name, settings, clock_, random_);
    slot = breaker;
    return breaker;
  }
  BreakerSettings asked = settings.clamped();
  if (settings_conflict && asked != breaker->settings())
    *settings_conflict = "breaker \"" + name + "\" is shared and keeps its first settings (" +
                         breaker->settings().to_string() + "); ignoring the requested (" +
                         asked.to_string() + ")";
  return breaker;
}

std::shared_ptr<Breaker> BreakerRegistry::find(const std::string &name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = breakers_.find(name);
  return it == breakers_.end() ? nullptr : it->second.lock();
}

std::vector<std::string> BreakerRegistry::names() {
  std::lock_guard<std::mutex> lock(mutex_);
  prune_locked();
  std::vector<std::string> out;
  for (const auto &entry : breakers_)
    out.push_back(entry.first);
  return out;
}

/* Dead entries are dropped lazily; a process has few names. */
void BreakerRegistry::prune_locked() {
  for (auto it = breakers_.begin(); it != breakers_.end();) {
    if (it->second.expired())
      it = breakers_.erase(it);
    else
      ++it;
  }
}

} // namespace dgf
