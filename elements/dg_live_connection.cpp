#include "dg_live_connection.h"

namespace dgf {

LiveConnection::LiveConnection(SoupSession *session, SoupMessage *handshake,
                               unsigned connect_timeout_ms, LiveConnectionCallbacks callbacks)
    : session_(SOUP_SESSION(g_object_ref(session))),
      handshake_(SOUP_MESSAGE(g_object_ref(handshake))), cancellable_(g_cancellable_new()),
      callbacks_(std::move(callbacks)) {
  timeout_ = g_timeout_source_new(connect_timeout_ms);
  g_source_set_callback(timeout_, on_connect_timeout, this, nullptr);
  g_source_attach(timeout_, g_main_context_get_thread_default());
  /* The async callback may run after we are gone (cancelled): it gets the
   * cancellable's ref and checks it before touching `this`. */
  soup_session_websocket_connect_async(session_, handshake_, nullptr, nullptr, G_PRIORITY_DEFAULT,
                                       cancellable_, on_connected, this);
}

LiveConnection::~LiveConnection() {
  if (timeout_) {
    g_source_destroy(timeout_);
    g_source_unref(timeout_);
  }
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
  GError *error = nullptr;
  SoupWebsocketConnection *conn =
      soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !conn) {
    /* Either our destructor (then `data` is gone: touch nothing) or the
     * connect timeout (then timed_out_ is set and we are alive). The
     * destructor cancels only after destroying the timeout, so a cancel with
     * the timeout source still attached means the destructor ran. */
    auto *self = static_cast<LiveConnection *>(data);
    bool alive = self && self->timed_out_ && self->timeout_ == nullptr;
    g_error_free(error);
    if (!alive)
      return;
    LiveHandshakeFailure failure;
    failure.timed_out = true;
    failure.reason = "connect timeout";
    auto on_failed = self->callbacks_.on_handshake_failed; /* may destroy `self` */
    if (on_failed)
      on_failed(failure);
    return;
  }
  auto *self = static_cast<LiveConnection *>(data);
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

gboolean LiveConnection::on_connect_timeout(gpointer data) {
  auto *self = static_cast<LiveConnection *>(data);
  self->timed_out_ = true;
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
  if (close.code == 0)
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
