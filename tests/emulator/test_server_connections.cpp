/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator releases every connection its client closed or reset: the
 * process's socket count goes back to where it was. Each case opens 50
 * connections with a raw TCP client (so that closing and resetting are
 * exactly what the test says), ends them from the client side and waits,
 * bounded, for the count to settle. Covers the libsoup 3.2 keep-alive leak
 * the emulator works around (idle_connection_reaper.h). */
#include <dirent.h>
#include <glib.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"

namespace {

constexpr int kConnections = 50;
const char kLivePath[] = "/v1/listen?encoding=linear16&sample_rate=16000";

/* Sockets among this process's descriptors (client and server sides). */
int socket_count() {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  g_assert_nonnull(d);
  while (dirent *e = readdir(d)) {
    char target[64];
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t len = readlink(path.c_str(), target, sizeof target - 1);
    if (len > 0 && std::strncmp(target, "socket:", 7) == 0)
      n++;
  }
  closedir(d);
  return n;
}

/* Waits (bounded) for the socket count to come back to `expected`; returns
 * the last count read. */
int settle_sockets(int expected, std::chrono::seconds bound = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  int n = socket_count();
  while (n != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = socket_count();
  }
  return n;
}

enum class End { Close, Reset };

/* One client connection, blocking, with a receive timeout. */
class RawConn {
public:
  explicit RawConn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(fd_, >=, 0);
    timeval tv = {5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr), ==, 0);
  }
  ~RawConn() { end(End::Close); }

  void send_all(const std::string &bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      g_assert_cmpint(n, >, 0);
      off += static_cast<size_t>(n);
    }
  }

  /* Reads one response (headers and a Content-Length body); returns its status. */
  int read_response() {
    std::string data;
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos)
      g_assert_true(read_some(&data));
    int status = std::atoi(data.c_str() + 9); /* "HTTP/1.1 NNN" */
    size_t body = 0;
    const char *cl = g_strstr_len(data.c_str(), static_cast<gssize>(head_end), "Content-Length:");
    if (!cl)
      cl = g_strstr_len(data.c_str(), static_cast<gssize>(head_end), "content-length:");
    if (cl)
      body = std::strtoul(cl + 15, nullptr, 10);
    while (data.size() < head_end + 4 + body)
      g_assert_true(read_some(&data));
    return status;
  }

  /* A masked client close frame (code 1000), then the server's close frame. */
  void websocket_close() {
    const unsigned char mask[4] = {1, 2, 3, 4};
    const unsigned char code[2] = {0x03, 0xe8};
    std::string frame = {static_cast<char>(0x88), static_cast<char>(0x82)};
    frame.append(reinterpret_cast<const char *>(mask), 4);
    for (int i = 0; i < 2; i++)
      frame += static_cast<char>(code[i] ^ mask[i]);
    send_all(frame);
    std::string reply;
    while (reply.size() < 2)
      g_assert_true(read_some(&reply));
    g_assert_cmpint(static_cast<unsigned char>(reply[0]) & 0x0f, ==, 0x8);
  }

  void end(End how) {
    if (fd_ < 0)
      return;
    if (how == End::Reset) {
      linger lg = {1, 0}; /* close() sends a RST */
      setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd_);
    fd_ = -1;
  }

private:
  bool read_some(std::string *out) {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    out->append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
};

std::string upgrade_request() {
  return std::string("GET ") + kLivePath +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token k\r\n"
         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

std::string batch_request() {
  static const std::string wav =
      emutest::make_wav(dgemu::sequence_blocks(16000, 1, 0, 3), 16000, 1);
  return "POST /v1/listen HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token k\r\n"
         "Content-Type: audio/wav\r\nContent-Length: " +
         std::to_string(wav.size()) + "\r\n\r\n" + wav;
}

struct Fixture {
  std::unique_ptr<dgemu::Emulator> emu = std::make_unique<dgemu::Emulator>();
  int baseline = 0;
  Fixture() {
    std::string err;
    if (!emu->start(&err))
      g_error("emulator start: %s", err.c_str());
    baseline = socket_count();
  }
  void inject(const std::string &json) {
    std::string err;
    if (emu->inject_json(json, &err).empty())
      g_error("inject %s: %s", json.c_str(), err.c_str());
  }
  void expect_released(const char *what) {
    int left = settle_sockets(baseline);
    if (left != baseline)
      g_test_message("%s: %d sockets left open", what, left - baseline);
    g_assert_cmpint(left, ==, baseline);
  }
};

/* Every HTTP exchange a Deepgram client has, one request per connection,
 * the connection kept alive by the server, then closed or reset. */
void run_http_case(End how, int requests_per_connection, const char *fault,
                   const std::string &request, int expected_status) {
  Fixture f;
  for (int i = 0; i < kConnections; i++) {
    RawConn c(f.emu->port());
    for (int r = 0; r < requests_per_connection; r++) {
      if (fault)
        f.inject(fault);
      c.send_all(request);
      g_assert_cmpint(c.read_response(), ==, expected_status);
    }
    c.end(how);
  }
  f.expect_released("http");
}

void test_refused_handshake_closed() {
  run_http_case(End::Close, 1, R"({"type":"refuse","status":503,"count":1})", upgrade_request(),
                503);
}
void test_refused_handshake_reset() {
  run_http_case(End::Reset, 1, R"({"type":"refuse","status":429,"count":1})", upgrade_request(),
                429);
}
void test_batch_closed() {
  run_http_case(End::Close, 1, nullptr, batch_request(), 200);
}
void test_batch_reset() {
  run_http_case(End::Reset, 1, nullptr, batch_request(), 200);
}
void test_batch_error_two_requests_closed() {
  run_http_case(End::Close, 2, R"({"type":"batch_error","status":503,"count":1})", batch_request(),
                503);
}
void test_not_found_reset() {
  run_http_case(End::Reset, 1, nullptr, "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404);
}

/* Accepted live connections, ended by the client with a close handshake,
 * a bare TCP close or a reset. */
void run_live_case(int variant) {
  Fixture f;
  for (int i = 0; i < kConnections; i++) {
    RawConn c(f.emu->port());
    c.send_all(upgrade_request());
    g_assert_cmpint(c.read_response(), ==, 101);
    if (variant == 0)
      c.websocket_close();
    c.end(variant == 2 ? End::Reset : End::Close);
  }
  f.expect_released("live");
  /* Every session ended on the server too. */
  auto closed = [&] { return f.emu->counters().live_open == 0; };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!closed() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  g_assert_cmpint(f.emu->counters().live_open, ==, 0);
}

void test_live_close_handshake() {
  run_live_case(0);
}
void test_live_tcp_close() {
  run_live_case(1);
}
void test_live_reset() {
  run_live_case(2);
}

/* The emulator ends them: an outage resets every open connection. */
void test_live_outage_drop() {
  Fixture f;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < kConnections; i++) {
    conns.push_back(std::make_unique<RawConn>(f.emu->port()));
    conns.back()->send_all(upgrade_request());
    g_assert_cmpint(conns.back()->read_response(), ==, 101);
  }
  f.inject(R"({"type":"outage","api":"live","duration":0.1})");
  conns.clear(); /* the client closes its side, already reset */
  f.expect_released("outage");
}

/* The listen backlog of the emulator's socket, from the kernel's socket
 * diagnostics (what `ss -lt` shows as Send-Q: a listener's idiag_wqueue is
 * its maximum accept queue). -1 when not found. */
long listen_backlog(int port) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0)
    return -1;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } query = {};
  query.header.nlmsg_len = sizeof query;
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  query.request.sdiag_family = AF_INET;
  query.request.sdiag_protocol = IPPROTO_TCP;
  query.request.idiag_states = 1u << 10; /* TCP_LISTEN */
  long backlog = -1;
  if (send(fd, &query, sizeof query, 0) == static_cast<ssize_t>(sizeof query)) {
    alignas(nlmsghdr) char buf[65536];
    for (bool done = false; !done;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      for (auto *h = reinterpret_cast<nlmsghdr *>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        auto *d = static_cast<inet_diag_msg *>(NLMSG_DATA(h));
        if (ntohs(d->id.idiag_sport) == port)
          backlog = static_cast<long>(d->idiag_wqueue);
      }
    }
  }
  close(fd);
  return backlog;
}

/* A thousand clients connecting at once (a failover storm) must not lose
 * SYNs to a short accept queue: libsoup's own backlog is 10. */
void test_listen_backlog() {
  Fixture f;
  long backlog = listen_backlog(f.emu->port());
  g_test_message("listen backlog %ld", backlog);
  g_assert_cmpint(backlog, >=, 128);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/connections/refused-handshake-closed", test_refused_handshake_closed);
  g_test_add_func("/server/connections/refused-handshake-reset", test_refused_handshake_reset);
  g_test_add_func("/server/connections/batch-closed", test_batch_closed);
  g_test_add_func("/server/connections/batch-reset", test_batch_reset);
  g_test_add_func("/server/connections/batch-error-two-requests",
                  test_batch_error_two_requests_closed);
  g_test_add_func("/server/connections/not-found-reset", test_not_found_reset);
  g_test_add_func("/server/connections/live-close-handshake", test_live_close_handshake);
  g_test_add_func("/server/connections/live-tcp-close", test_live_tcp_close);
  g_test_add_func("/server/connections/live-reset", test_live_reset);
  g_test_add_func("/server/connections/live-outage-drop", test_live_outage_drop);
  g_test_add_func("/server/connections/listen-backlog", test_listen_backlog);
  return g_test_run();
}
