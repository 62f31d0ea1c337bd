/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One WebSocket connection to Deepgram's live API (libsoup 3).
 *
 * Lives entirely on the network thread: create, use and destroy it there.
 * It knows the wire (frames, close codes, handshake statuses) and nothing of
 * GStreamer; the sink decides what each outcome means. Callbacks run on the
 * network thread; after close() or destruction none is called again.
 *
 * The kernel's view of the socket (acknowledged bytes, segments in flight)
 * is exposed so the sink can measure what the network has delivered and
 * find a path that silently stopped carrying packets (send_backlog.h).
 */
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "dg_socket.h"

namespace dgf {

struct LiveHandshakeFailure {
  unsigned status = 0;    /* HTTP status; 0 for a network error or timeout */
  std::string reason;     /* dg-error header, or the network error */
  std::string request_id; /* dg-request-id, when the server sent one */
  bool timed_out = false;
  std::string tls_problem; /* non-empty: the server's certificate was refused (fatal) */
};

struct LiveClose {
  int code = 0;         /* close code; 1006 when the peer vanished without one */
  std::string reason;   /* the close frame's reason text */
  bool by_us = false;   /* we asked to close */
  std::string error;    /* a transport error seen before the close, if any */
  bool too_big = false; /* we closed it (1009): the server sent a frame over kMaxIncomingFrame */
};

struct LiveConnectionCallbacks {
  std::function<void(const std::string &request_id)> on_open;
  std::function<void(const LiveHandshakeFailure &)> on_handshake_failed;
  std::function<void(const char *text, size_t length)> on_text;
  std::function<void(const LiveClose &)> on_closed;
};

class LiveConnection {
public:
  LiveConnection(SoupSession *session, SoupMessage *handshake, unsigned connect_timeout_ms,
                 LiveConnectionCallbacks callbacks);
  ~LiveConnection();
  LiveConnection(const LiveConnection &) = delete;
  LiveConnection &operator=(const LiveConnection &) = delete;

  bool is_open() const { return conn_ != nullptr && !closing_; }
  /* False when the frame could not be queued (not open). */
  bool send_binary(const void *data, size_t size);
  bool send_text(const char *text);
  /* The kernel's view of the open connection; nothing when it cannot say. */
  std::optional<DgTcpState> tcp_state() const;
  /* Starts a clean close; on_closed follows with by_us = true. */
  void close(unsigned short code, const char *reason);

  /* Frames larger than this close the connection (1009) instead of
   * buffering without bound. */
  static constexpr uint64_t kMaxIncomingFrame = 1u << 20;

private:
  static void on_connected(GObject *source, GAsyncResult *result, gpointer self);
  static gboolean on_connect_timeout(gpointer self);
  static void on_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer self);
  static void on_error(SoupWebsocketConnection *, GError *error, gpointer self);
  static void on_closed_signal(SoupWebsocketConnection *, gpointer self);
  static void on_network_event(SoupMessage *, GSocketClientEvent event, GIOStream *connection,
                               gpointer self);
  void disconnect_signals();

  /* Handed to the connect callback instead of `this`: the callback frees it
   * and finds self null when we were destroyed first. */
  struct ConnectGuard {
    LiveConnection *self;
  };

  GSocket *socket_ = nullptr; /* the TCP socket, once connected */
  SoupSession *session_;
  SoupMessage *handshake_;
  GCancellable *cancellable_;
  GSource *timeout_ = nullptr;
  SoupWebsocketConnection *conn_ = nullptr;
  ConnectGuard *connect_guard_ = nullptr; /* while connecting */
  LiveConnectionCallbacks callbacks_;
  bool closing_ = false;
  bool too_big_ = false;
  std::string transport_error_;
};

} // namespace dgf
