/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proc_counts.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

namespace chaos {

namespace {

/* skip_own_fd: listing /proc/self/fd shows the listing's own descriptor. */
template <typename Fn> void each_entry(const char *dir, bool skip_own_fd, Fn fn) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  std::string own = std::to_string(dirfd(d));
  while (dirent *e = readdir(d)) {
    if (e->d_name[0] == '.' || (skip_own_fd && own == e->d_name))
      continue;
    fn(std::string(dir) + "/" + e->d_name);
  }
  closedir(d);
}

struct TcpSocket {
  int local = 0, remote = 0, state = 0;
};
/* The TCP states worth naming (include/net/tcp_states.h). */
const char *tcp_state(int st) {
  switch (st) {
  case 1:
    return "ESTABLISHED";
  case 6:
    return "TIME_WAIT";
  case 8:
    return "CLOSE_WAIT";
  case 10:
    return "LISTEN";
  default:
    return "other";
  }
}

/* socket inode -> ports and state, from /proc/self/net/tcp{,6}. */
std::map<std::string, TcpSocket> tcp_ports() {
  std::map<std::string, TcpSocket> out;
  for (const char *table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line); /* header */
    while (std::getline(in, line)) {
      char local[64], remote[64], inode[32];
      unsigned st = 0;
      if (std::sscanf(line.c_str(), "%*s %63s %63s %x %*s %*s %*s %*s %*s %31s", local, remote, &st,
                      inode) != 4)
        continue;
      auto port = [](const char *addr) {
        const char *colon = std::strrchr(addr, ':');
        return colon ? static_cast<int>(std::strtol(colon + 1, nullptr, 16)) : 0;
      };
      out[inode] = {port(local), port(remote), static_cast<int>(st)};
    }
  }
  return out;
}

std::string fd_kind(const std::string &path, int server_port,
                    const std::map<std::string, TcpSocket> &ports) {
  char target[256];
  ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
  if (n < 0)
    return "?";
  std::string t(target, static_cast<size_t>(n));
  if (t.rfind("socket:[", 0) == 0) {
    if (!server_port)
      return "socket"; /* no emulator to tell apart: every socket counts */
    auto it = ports.find(t.substr(8, t.size() - 9));
    std::string sp = std::to_string(server_port);
    if (server_port && it != ports.end() && it->second.local == server_port)
      return std::string("socket (server :") + sp + ", " + tcp_state(it->second.state) + ")";
    if (server_port && it != ports.end() && it->second.remote == server_port)
      return std::string("socket (client -> :") + sp + ", " + tcp_state(it->second.state) + ")";
    if (it != ports.end())
      return "socket (tcp)";
    return "socket (not tcp)";
  }
  if (t.rfind("pipe:", 0) == 0)
    return "pipe";
  return t; /* anon_inode:[eventfd], /dev/null, files */
}

std::string thread_name(const std::string &task) {
  std::ifstream in(task + "/comm");
  std::string name;
  std::getline(in, name);
  return name.empty() ? "?" : name;
}

std::string join(const std::map<std::string, int> &m) {
  std::string s;
  for (const auto &[k, v] : m)
    s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return s;
}

} // namespace

ProcCounts proc_counts(int server_port) {
  ProcCounts c;
  auto ports = server_port ? tcp_ports() : std::map<std::string, TcpSocket>{};
  each_entry("/proc/self/fd", true, [&](const std::string &p) {
    c.fds++;
    c.fd_kinds[fd_kind(p, server_port, ports)]++;
  });
  each_entry("/proc/self/task", false, [&](const std::string &p) {
    c.threads++;
    c.thread_names[thread_name(p)]++;
  });
  return c;
}

std::string ProcCounts::describe() const {
  return "fds " + std::to_string(fds) + " (" + join(fd_kinds) + "), threads " +
         std::to_string(threads) + " (" + join(thread_names) + ")";
}

std::string proc_diff(const ProcCounts &before, const ProcCounts &after) {
  std::string s;
  auto diff = [&](const std::map<std::string, int> &a, const std::map<std::string, int> &b) {
    std::map<std::string, int> all = a;
    for (const auto &[k, v] : b)
      all[k] += 0;
    for (const auto &[k, v] : all) {
      int was = a.count(k) ? a.at(k) : 0, now = b.count(k) ? b.at(k) : 0;
      if (now != was)
        s += (s.empty() ? "" : ", ") + k + (now > was ? " +" : " ") + std::to_string(now - was);
    }
  };
  diff(before.fd_kinds, after.fd_kinds);
  diff(before.thread_names, after.thread_names);
  return s;
}

std::string leak_report(const ProcCounts &before, const ProcCounts &after) {
  ProcCounts a = before, b = after;
  a.thread_names.clear(); /* threads are judged by their number, below */
  b.thread_names.clear();
  std::string s = proc_diff(a, b);
  if (after.threads > before.threads) {
    ProcCounts named_before, named_after;
    named_before.thread_names = before.thread_names;
    named_after.thread_names = after.thread_names;
    s += (s.empty() ? "" : ", ") + std::string("threads +") +
         std::to_string(after.threads - before.threads) + " (" +
         proc_diff(named_before, named_after) + ")";
  }
  return s;
}

ProcCounts settle_counts(const ProcCounts &before, std::chrono::milliseconds bound,
                         int server_port) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    ProcCounts now = proc_counts(server_port);
    if (leak_report(before, now).empty() || std::chrono::steady_clock::now() > deadline)
      return now;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ProcCounts quiet_counts(int server_port, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    ProcCounts now = proc_counts(server_port);
    if (connection_sockets(now) == 0 || std::chrono::steady_clock::now() > deadline)
      return now;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int connection_sockets(const ProcCounts &c) {
  int n = 0;
  for (const auto &[kind, count] : c.fd_kinds)
    if ((kind.rfind("socket (server", 0) == 0 || kind.rfind("socket (client", 0) == 0) &&
        kind.find("LISTEN") == std::string::npos)
      n += count;
  return n;
}

int server_sockets(const ProcCounts &c) {
  int n = 0;
  for (const auto &[kind, count] : c.fd_kinds)
    if ((kind.rfind("socket (server", 0) == 0 && kind.find("LISTEN") == std::string::npos) ||
        kind == "socket (not tcp)")
      n += count;
  return n;
}

} // namespace chaos
