/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "watchdog.h"

#include <glib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace chaos {

Watchdog::Watchdog(double seconds, std::function<std::string()> describe)
    : seconds_(seconds), describe_(std::move(describe)) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    auto bound = std::chrono::duration<double>(seconds_);
    if (!cv_.wait_for(lock, bound, [this] { return disarmed_; }))
      fire();
  });
}

Watchdog::~Watchdog() {
  disarm();
}

void Watchdog::disarm() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    disarmed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void Watchdog::fire() {
  std::string state = describe_ ? describe_() : "";
  std::string gdb = "gdb -p " + std::to_string(getpid()) + " -batch -ex 'thread apply all bt'";
  std::fprintf(stdout,
               "\nWATCHDOG: not finished after %.0f s: a deadlock or a hang.\n%s"
               "Thread dump follows on stderr (by hand: %s).\n",
               seconds_, state.c_str(), gdb.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "WATCHDOG: not finished after %.0f s\n%s", seconds_, state.c_str());
  gchar *gdb_path = g_find_program_in_path("gdb");
  if (gdb_path) {
    std::string cmd = "timeout 120 " + gdb + " >&2";
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "WATCHDOG: gdb could not attach (ptrace not allowed?)\n");
    g_free(gdb_path);
  } else {
    std::fprintf(stderr, "WATCHDOG: no gdb here; attach a debugger to pid %d for stacks\n",
                 static_cast<int>(getpid()));
  }
  std::fflush(stderr);
  _exit(3);
}

} // namespace chaos
