/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_live_connection.h"

#include "dg_common.h"

namespace dgf {

LiveConnection::LiveConnection(SoupSession *session, SoupMessage *handshake,
                               unsigned connect_timeout_ms, LiveConnectionCallbacks callbacks)
    : session_(SOUP_SESSION(g_object_ref(session))),
      handshake_(SOUP_MESSAGE(g_object_ref(handshake))), cancellable_(g_cancellable_new()),
      callbacks_(std::move(callbacks)) {
  timeout_ = g_timeout_source_new(connect_timeout_ms);
  g_source_set_callback(timeout_, on_connect_timeout, this, nullptr);
  g_source_attach(timeout_, g_main_context_get_thread_default());
  /* The async callback runs exactly once, possibly after we are gone
   * (cancelled by the destructor): it gets a guard that outlives us and
   * says whether we are still there, and frees it. */
  g_signal_connect(handshake_, "network-event", G_CALLBACK(on_network_event), this);
  connect_guard_ = new ConnectGuard{this};
  soup_session_websocket_connect_async(session_, handshake_, nullptr, nullptr, G_PRIORITY_DEFAULT,
                                       cancellable_, on_connected, connect_guard_);
}

LiveConnection::~LiveConnection() {
  if (connect_guard_)
    connect_guard_->self = nullptr; /* on_connected still comes: it must not touch us */
  if (timeout_) {
    g_source_destroy(timeout_);
    g_source_unref(timeout_);
  }
  g_signal_handlers_disconnect_by_data(handshake_, this);
  g_clear_object(&socket_);
  g_cancellable_cancel(cancellable_);
  if (conn_) {
    disconnect_signals();
    if (soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
    g_object_unref(conn_);
  }
  g_object_unref(cancellable_);
  g_object_unref(handshake_);
  g_object_unref(session_);
}

void LiveConnection::on_connected(GObject *source, GAsyncResult *result, gpointer data) {
  auto *guard = static_cast<ConnectGuard *>(data);
  LiveConnection *self = guard->self;
  delete guard;
  GError *error = nullptr;
  SoupWebsocketConnection *conn =
      soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
  if (!self) {
    /* Destroyed while connecting: whatever came of it is no one's. */
    g_clear_error(&error);
    g_clear_object(&conn);
    return;
  }
  self->connect_guard_ = nullptr;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !conn) {
    /* We are alive, so the connect timeout cancelled it (only it and the
     * destructor cancel). */
    g_error_free(error);
    LiveHandshakeFailure failure;
    failure.timed_out = true;
    failure.reason = "connect timeout";
    auto on_failed = self->callbacks_.on_handshake_failed; /* may destroy `self` */
    if (on_failed)
      on_failed(failure);
    return;
  }
  if (self->timeout_) {
    g_source_destroy(self->timeout_);
    g_source_unref(self->timeout_);
    self->timeout_ = nullptr;
  }
  if (!conn) {
    LiveHandshakeFailure failure;
    failure.status = soup_message_get_status(self->handshake_);
    SoupMessageHeaders *headers = soup_message_get_response_headers(self->handshake_);
    const char *dg_error = headers ? soup_message_headers_get_one(headers, "dg-error") : nullptr;
    const char *request_id =
        headers ? soup_message_headers_get_one(headers, "dg-request-id") : nullptr;
    failure.reason = dg_error ? dg_error : (error ? error->message : "handshake failed");
    failure.request_id = request_id ? request_id : "";
    if (failure.status == 0)
      failure.tls_problem = dg_describe_tls_failure(self->handshake_, error);
    g_clear_error(&error);
    auto on_failed = self->callbacks_.on_handshake_failed; /* may destroy `self` */
    if (on_failed)
      on_failed(failure);
    return;
  }
  self->conn_ = conn;
  soup_websocket_connection_set_max_incoming_payload_size(conn, kMaxIncomingFrame);
  g_signal_connect(conn, "message", G_CALLBACK(on_message), self);
  g_signal_connect(conn, "error", G_CALLBACK(on_error), self);
  g_signal_connect(conn, "closed", G_CALLBACK(on_closed_signal), self);
  SoupMessageHeaders *headers = soup_message_get_response_headers(self->handshake_);
  const char *request_id =
      headers ? soup_message_headers_get_one(headers, "dg-request-id") : nullptr;
  auto on_open = self->callbacks_.on_open; /* may destroy `self` */
  if (on_open)
    on_open(request_id ? request_id : "");
}

/* The TCP connection is up (before TLS and the upgrade): keep its socket.
 * Not TCP_USER_TIMEOUT: it also ends a connection whose peer merely stops
 * reading for a while (a zero window, e.g. Deepgram pacing a replay burst),
 * which is back-pressure, not a dead path. */
void LiveConnection::on_network_event(SoupMessage *, GSocketClientEvent event,
                                      GIOStream *connection, gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  if (event != G_SOCKET_CLIENT_CONNECTED || !G_IS_SOCKET_CONNECTION(connection))
    return;
  GSocket *socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(connection));
  g_set_object(&self->socket_, socket);
}

std::optional<DgTcpState> LiveConnection::tcp_state() const {
  if (!socket_ || !conn_)
    return std::nullopt;
  return dg_socket_tcp_state(socket_);
}

gboolean LiveConnection::on_connect_timeout(gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  g_source_unref(self->timeout_);
  self->timeout_ = nullptr;
  g_cancellable_cancel(self->cancellable_);
  return G_SOURCE_REMOVE;
}

void LiveConnection::on_message(SoupWebsocketConnection *, gint type, GBytes *message,
                                gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT || !self->callbacks_.on_text)
    return; /* Deepgram sends only text; a binary frame means nothing to us */
  gsize size = 0;
  const char *text = static_cast<const char *>(g_bytes_get_data(message, &size));
  auto on_text = self->callbacks_.on_text; /* may destroy `self` */
  on_text(text ? text : "", size);
}

void LiveConnection::on_error(SoupWebsocketConnection *, GError *error, gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  if (g_error_matches(error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    self->too_big_ = true; /* libsoup stops reading at the frame header: nothing is buffered */
  if (self->transport_error_.empty() && error)
    self->transport_error_ = error->message;
}

void LiveConnection::on_closed_signal(SoupWebsocketConnection *conn, gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  LiveClose close;
  close.code = soup_websocket_connection_get_close_code(conn);
  const char *reason = soup_websocket_connection_get_close_data(conn);
  close.reason = reason ? reason : "";
  close.by_us = self->closing_;
  close.error = self->transport_error_;
  close.too_big = self->too_big_;
  if (close.too_big)
    close.code = SOUP_WEBSOCKET_CLOSE_TOO_BIG; /* our close, whatever the peer answered */
  else if (close.code == 0)
    close.code = SOUP_WEBSOCKET_CLOSE_ABNORMAL; /* no close frame: the peer vanished */
  self->disconnect_signals();
  g_object_unref(self->conn_);
  self->conn_ = nullptr;
  auto on_closed = self->callbacks_.on_closed; /* may destroy `self` */
  if (on_closed)
    on_closed(close);
}

void LiveConnection::disconnect_signals() {
  if (conn_)
    g_signal_handlers_disconnect_by_data(conn_, this);
}

bool LiveConnection::send_binary(const void *data, size_t size) {
  if (!is_open() || soup_websocket_connection_get_state(conn_) != SOUP_WEBSOCKET_STATE_OPEN)
    return false;
  if (size == 0)
    return true; /* an empty binary frame would make Deepgram close the stream */
  soup_websocket_connection_send_binary(conn_, data, size);
  return true;
}

bool LiveConnection::send_text(const char *text) {
  if (!conn_ || soup_websocket_connection_get_state(conn_) != SOUP_WEBSOCKET_STATE_OPEN)
    return false;
  soup_websocket_connection_send_text(conn_, text);
  return true;
}

void LiveConnection::close(unsigned short code, const char *reason) {
  if (!conn_ || closing_)
    return;
  closing_ = true;
  if (soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(conn_, code, reason);
}

} // namespace dgf
