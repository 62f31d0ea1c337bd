/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A deadlock watchdog for long tests: if the test has not disarmed it within
 * its bound, it prints what the test says about its state, dumps every
 * thread's stack (gdb, when present), and exits with status 3, instead of
 * letting the test hang until an outer timeout kills it without a word. */
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace chaos {

class Watchdog {
public:
  /* describe() runs on the watchdog's thread when it fires. */
  Watchdog(double seconds, std::function<std::string()> describe);
  ~Watchdog();
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  void disarm();

private:
  [[noreturn]] void fire();
  double seconds_;
  std::function<std::string()> describe_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

} // namespace chaos
