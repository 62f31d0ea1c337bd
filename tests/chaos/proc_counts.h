/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Open file descriptors and threads of this process (Linux /proc), for the
 * leak checks: sockets and threads leak without touching the heap. */
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace chaos {

struct ProcCounts {
  int fds = 0;
  int threads = 0;
  std::map<std::string, int> fd_kinds;     /* "socket" 3, "anon_inode:[eventfd]" 2, ... */
  std::map<std::string, int> thread_names; /* /proc/self/task/N/comm */
  /* "fds 12 (socket 3, ...), threads 7 (dgf-network 1, ...)" */
  std::string describe() const;
};

/* With `server_port`, TCP sockets are told apart: "socket (server :PORT)"
 * for the in-process emulator's side, "socket (client -> :PORT)" for ours. */
ProcCounts proc_counts(int server_port = 0);

/* What `after` has more of than `before` ("socket +2, pool-3 +1"), or "". */
std::string proc_diff(const ProcCounts &before, const ProcCounts &after);

/* What leaked from `before` to `after` ("" when nothing did): any change in
 * descriptors, the in-process emulator's sockets included, or more threads.
 * Fewer threads is no leak: GStreamer's task threads go back to GLib's pool
 * when a pipeline stops, keep the name of their last task there, and GLib
 * retires idle ones on its own schedule. */
std::string leak_report(const ProcCounts &before, const ProcCounts &after);

/* The emulator's side of its connections (not its listening socket), and
 * sockets no longer in the TCP table (a reset connection not yet closed). */
int server_sockets(const ProcCounts &c);
/* Both sides of connections to the emulator's port (not its listening socket). */
int connection_sockets(const ProcCounts &c);

/* Closing is asynchronous (the emulator's side of a socket closes once it
 * has read the client's close): re-reads the counts until leak_report()
 * finds nothing or `bound` passes, and returns the last reading. */
ProcCounts settle_counts(const ProcCounts &before, std::chrono::milliseconds bound,
                         int server_port = 0);

/* A baseline: re-reads the counts until no connection to the emulator is
 * open on either side (its listening socket aside) or `bound` passes, so
 * that a connection still being released is not counted as resident. */
ProcCounts quiet_counts(int server_port, std::chrono::milliseconds bound);

} // namespace chaos
