/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hostile_support.h"

#include <glib/gstdio.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>

namespace hostile {

long peak_rss_kib() {
  gchar *status = nullptr;
  long kib = -1;
  if (g_file_get_contents("/proc/self/status", &status, nullptr, nullptr)) {
    const char *line = strstr(status, "VmHWM:");
    if (line)
      kib = strtol(line + 6, nullptr, 10);
  }
  g_free(status);
  return kib;
}

static std::string replace_all(std::string s, const std::string &from, const std::string &to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

Pipeline::Pipeline(const std::string &description, const std::string &ws, const std::string &http) {
  std::string desc = replace_all(replace_all(description, "@WS@", ws), "@HTTP@", http);
  GError *err = nullptr;
  pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err)
    g_error("pipeline '%s': %s", desc.c_str(), err->message);
  src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  log = std::make_unique<dgtest::BusLog>(pipeline);
}

Pipeline::~Pipeline() {
  gst_element_set_state(pipeline, GST_STATE_NULL);
  log.reset();
  if (src)
    gst_object_unref(src);
  gst_object_unref(pipeline);
}

GstElement *Pipeline::by_name(const char *name) {
  return gst_bin_get_by_name(GST_BIN(pipeline), name);
}

std::string Pipeline::all_messages() const {
  std::string all;
  for (const auto &e : log->errors())
    all += "ERROR: " + e + "\n";
  for (const auto &w : log->warnings())
    all += "WARNING: " + w + "\n";
  return all;
}

bool Pipeline::any_message_contains(const char *text) const {
  return all_messages().find(text) != std::string::npos;
}

bool Pipeline::wait_for_message(const char *text, gint64 timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
  while (!any_message_contains(text)) {
    if (g_get_monotonic_time() > deadline)
      return false;
    g_usleep(10000);
  }
  return true;
}

void remove_tree(const std::string &dir) {
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  if (d) {
    while (const char *name = g_dir_read_name(d)) {
      std::string path = dir + "/" + name;
      g_remove(path.c_str());
    }
    g_dir_close(d);
  }
  g_rmdir(dir.c_str());
}

ChildEmulator::ChildEmulator(const std::string &faults_json, const std::string &extra_args) {
  gchar *dir = g_dir_make_tmp("dg-hostile-XXXXXX", nullptr);
  dir_ = dir;
  g_free(dir);
  const char *exe = g_getenv("DG_EMULATOR");
  std::string cmd = std::string(exe ? exe : "dg-emulator") + " --port 0 " + extra_args;
  if (!faults_json.empty()) {
    std::string path = dir_ + "/faults.json";
    g_file_set_contents(path.c_str(), faults_json.c_str(), -1, nullptr);
    cmd += " --faults " + path;
  }
  gint argc = 0;
  gchar **argv = nullptr;
  g_shell_parse_argv(cmd.c_str(), &argc, &argv, nullptr);
  gint out_fd = -1;
  GError *err = nullptr;
  /* The emulator dies with the test: a failed assertion aborts without
   * running our destructor, and an orphan holding the test's stderr would make
   * meson wait for it until the timeout. DO_NOT_REAP: a direct child (the
   * destructor reaps it), not one of an intermediate process that exits at
   * once and would fire the death signal. */
  auto die_with_parent = [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGTERM); };
  if (!g_spawn_async_with_pipes(nullptr, argv, nullptr, G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
                                nullptr, &pid_, nullptr, &out_fd, nullptr, &err))
    g_error("cannot start %s: %s", cmd.c_str(), err->message);
  g_strfreev(argv);
  FILE *out = fdopen(out_fd, "r");
  char line[512] = {0};
  if (!fgets(line, sizeof line, out) || !strstr(line, "DG_EMULATOR_READY"))
    g_error("dg-emulator did not start: %s", line);
  fclose(out);
  auto field = [&](const char *key) {
    const char *at = strstr(line, key);
    std::string v = at ? at + strlen(key) : "";
    return v.substr(0, v.find_first_of(" \n"));
  };
  http_ = field("http=");
  ws_ = field("ws=");
}

ChildEmulator::~ChildEmulator() {
  if (pid_) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    g_spawn_close_pid(pid_);
  }
  remove_tree(dir_);
}

LoopbackCert::LoopbackCert() {
  gchar *dir = g_dir_make_tmp("dg-hostile-tls-XXXXXX", nullptr);
  dir_ = dir;
  g_free(dir);
  gchar *openssl = g_find_program_in_path("openssl");
  if (!openssl) {
    g_test_skip("openssl is not installed");
    return;
  }
  std::string cmd = std::string(openssl) +
                    " req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                    "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                    key() + " -out " + cert();
  g_free(openssl);
  gint status = 0;
  gchar *err_out = nullptr;
  gint argc = 0;
  gchar **argv = nullptr;
  g_shell_parse_argv(cmd.c_str(), &argc, &argv, nullptr);
  bool ran = g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_STDOUT_TO_DEV_NULL, nullptr, nullptr,
                          nullptr, &err_out, &status, nullptr);
  g_strfreev(argv);
  if (!ran || !g_spawn_check_wait_status(status, nullptr))
    g_error("openssl failed: %s", err_out ? err_out : "?");
  g_free(err_out);
  ok_ = true;
}

LoopbackCert::~LoopbackCert() {
  remove_tree(dir_);
}

std::unique_ptr<dgemu::Emulator> LoopbackCert::start_emulator() const {
  dgemu::Options opts;
  opts.tls_cert_file = cert();
  opts.tls_key_file = key();
  auto emu = dgtest::start_emulator(opts);
  g_assert_true(emu->tls());
  return emu;
}

} // namespace hostile
