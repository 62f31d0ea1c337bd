/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the benchmarks: process CPU and memory, the
 * emulator as a subprocess, percentiles, option lists. */
#pragma once

#include <glib.h>

#include <string>
#include <vector>

namespace bench {

/* User + system CPU seconds of this process so far. */
double cpu_seconds();
/* Resident set size of this process, KiB. */
long rss_kib();
/* Bytes in use from malloc (heap and mmapped blocks), not counting freed
 * memory malloc keeps: what the process holds, without RSS's reuse noise. */
size_t heap_bytes();
/* The p-quantile (0..1) of the values; 0 when empty. */
double percentile(std::vector<double> values, double p);
/* "1,10,50" -> {1, 10, 50}. */
std::vector<int> parse_list(const char *text);

/* Starts dg-emulator (with extra arguments) and returns its port once it has
 * printed its READY line. */
int start_emulator(const std::string &path, const std::vector<std::string> &extra, GPid *pid);
/* SIGTERM, then reaps it. */
void stop_emulator(GPid pid);

/* Runs argv (searched in PATH) in `cwd`, waits, and returns its stdout in
 * *out; false when it could not start or exited non-zero. stderr passes
 * through. */
bool run_capture(const char *const *argv, const char *cwd, std::string *out);

} // namespace bench
