/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bench_util.h"

#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace bench {

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long rss_kib() {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

size_t heap_bytes() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

std::vector<int> parse_list(const char *text) {
  std::vector<int> out;
  gchar **parts = g_strsplit(text, ",", -1);
  for (gchar **p = parts; *p; p++)
    out.push_back(atoi(*p));
  g_strfreev(parts);
  return out;
}

/* The emulator goes when we go, even when a benchmark aborts. */
void die_with_parent(gpointer) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
}

int start_emulator(const std::string &path, const std::vector<std::string> &extra, GPid *pid) {
  std::vector<gchar *> argv{const_cast<gchar *>(path.c_str()), const_cast<gchar *>("--port"),
                            const_cast<gchar *>("0")};
  for (const auto &a : extra)
    argv.push_back(const_cast<gchar *>(a.c_str()));
  argv.push_back(nullptr);
  gint out_fd;
  GError *error = nullptr;
  if (!g_spawn_async_with_pipes(nullptr, argv.data(), nullptr, G_SPAWN_DO_NOT_REAP_CHILD,
                                die_with_parent, nullptr, pid, nullptr, &out_fd, nullptr, &error))
    g_error("cannot start %s: %s", path.c_str(), error->message);
  FILE *f = fdopen(out_fd, "r");
  char line[512];
  int port = 0;
  if (!fgets(line, sizeof line, f) || sscanf(line, "DG_EMULATOR_READY port=%d", &port) != 1)
    g_error("dg-emulator did not report ready");
  fclose(f);
  return port;
}

void stop_emulator(GPid pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  g_spawn_close_pid(pid);
}

bool run_capture(const char *const *argv, const char *cwd, std::string *out) {
  gchar *text = nullptr;
  gint status = 0;
  GError *error = nullptr;
  if (!g_spawn_sync(cwd, const_cast<gchar **>(argv), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr,
                    &text, nullptr, &status, &error)) {
    fprintf(stderr, "cannot run %s: %s\n", argv[0], error->message);
    g_error_free(error);
    return false;
  }
  *out = text ? text : "";
  g_free(text);
  return g_spawn_check_wait_status(status, nullptr);
}

} // namespace bench
