/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: closes the server side of HTTP connections their client closed.
 *
 * libsoup 3.2 (Debian 12 ships 3.2.3) never releases a keep-alive connection
 * that its client closes or resets between requests: the server reads the
 * EOF (or the reset), stops watching the socket and keeps the descriptor,
 * in CLOSE_WAIT or outside the TCP table after a reset, until the SoupServer
 * is disconnected. libsoup 3.3 fixed it (a reference cycle between a
 * connection and its first message, libsoup commit d20c6601). Every refused
 * live handshake and every pre-recorded request leaves such a connection
 * behind, so a long run against one emulator ran out of descriptors.
 *
 * The reaper watches each connection that finished a request (or had one
 * aborted) until its next request arrives. When the client has gone (a
 * peeked read says EOF or reset) it closes the socket, after libsoup has had
 * its own read of the EOF. Clients see no difference: keep-alive still works,
 * and a connection is only closed once its client has closed it. Upgraded
 * (WebSocket) connections are not watched: LiveSession owns those.
 *
 * Runs on the server thread (the SoupServer's context); not thread-safe.
 */
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <memory>

namespace dgemu {

class IdleConnectionReaper {
public:
  IdleConnectionReaper(SoupServer *server, GMainContext *ctx);
  /* Stops watching (before the server disconnects its connections). */
  ~IdleConnectionReaper();
  IdleConnectionReaper(const IdleConnectionReaper &) = delete;
  IdleConnectionReaper &operator=(const IdleConnectionReaper &) = delete;

  /* Connections closed for their client so far. */
  unsigned long reaped() const { return reaped_; }

private:
  struct Watch;

  static void on_request_done(SoupServer *, SoupServerMessage *msg, gpointer self);
  static void on_request_read(SoupServer *, SoupServerMessage *msg, gpointer self);

  void arm(GSocket *socket);
  void disarm(GSocket *socket);
  void watch_input(Watch &w);
  /* Called when the socket is readable; false once the watch ended. */
  bool check(GSocket *socket);

  SoupServer *server_;
  GMainContext *ctx_;
  std::map<GSocket *, std::unique_ptr<Watch>> watches_;
  gulong handlers_[3] = {0, 0, 0};
  unsigned long reaped_ = 0;
};

} // namespace dgemu
