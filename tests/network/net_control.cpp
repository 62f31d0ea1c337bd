/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net_control.h"

#include <glib.h>

#include <cstdlib>
#include <vector>

namespace nettest {

NetControl::NetControl() {
  const char *tool = g_getenv("DG_NETNS_TOOL");
  const char *ns = g_getenv("DG_NETNS");
  if (tool && ns && g_file_test(tool, G_FILE_TEST_IS_EXECUTABLE)) {
    tool_ = tool;
    ns_ = ns;
  }
}

std::string NetControl::why_not() const {
  if (!g_getenv("DG_NETNS"))
    return "not inside a rehearsal namespace: run through tools/netns.sh run -- PROGRAM ...";
  return "DG_NETNS_TOOL does not name an executable tools/netns.sh";
}

bool NetControl::tool(const std::string &a, const std::string &b, const std::string &c,
                      std::string *error) {
  std::vector<const char *> argv = {tool_.c_str(), a.c_str()};
  if (!b.empty())
    argv.push_back(b.c_str());
  if (!c.empty())
    argv.push_back(c.c_str());
  argv.push_back(nullptr);
  gchar *err_text = nullptr;
  gint status = 0;
  GError *err = nullptr;
  gboolean ran =
      g_spawn_sync(nullptr, const_cast<gchar **>(argv.data()), nullptr, G_SPAWN_STDOUT_TO_DEV_NULL,
                   nullptr, nullptr, nullptr, &err_text, &status, &err);
  bool ok = ran && g_spawn_check_wait_status(status, nullptr);
  if (!ok && error)
    *error = a + ": " + (err ? err->message : (err_text ? err_text : "failed"));
  g_clear_error(&err);
  g_free(err_text);
  return ok;
}

bool NetControl::shape(const std::string &rate, std::string *error) {
  return tool("shape", rate, "", error);
}

bool NetControl::blackhole(int port, std::string *error) {
  return tool("blackhole", std::to_string(port), "", error);
}

bool NetControl::loss(int percent, int port, std::string *error) {
  return tool("loss", std::to_string(percent), std::to_string(port), error);
}

bool NetControl::restore(std::string *error) {
  return tool("restore", "", "", error);
}

} // namespace nettest
