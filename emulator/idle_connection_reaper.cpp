/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "idle_connection_reaper.h"

#include <sys/socket.h>

#include <cerrno>

namespace dgemu {

namespace {
/* Data arrived: libsoup is reading a request. Look again after this long in
 * case it was no request (a TLS close_notify before the FIN). */
constexpr guint kRecheckMs = 250;
} // namespace

struct IdleConnectionReaper::Watch {
  IdleConnectionReaper *owner;
  GSocket *socket;
  GSource *source = nullptr; /* the socket watch, the re-check timer or the close */

  Watch(IdleConnectionReaper *o, GSocket *s) : owner(o), socket(G_SOCKET(g_object_ref(s))) {}
  ~Watch() {
    set_source(nullptr);
    g_object_unref(socket);
  }
  /* Takes `s` (attached by the caller) and drops the previous source; safe
   * from that source's own callback (GLib holds it while dispatching). */
  void set_source(GSource *s) {
    if (source) {
      g_source_destroy(source);
      g_source_unref(source);
    }
    source = s;
  }
};

IdleConnectionReaper::IdleConnectionReaper(SoupServer *server, GMainContext *ctx)
    : server_(server), ctx_(ctx) {
  handlers_[0] = g_signal_connect(server_, "request-finished", G_CALLBACK(on_request_done), this);
  handlers_[1] = g_signal_connect(server_, "request-aborted", G_CALLBACK(on_request_done), this);
  handlers_[2] = g_signal_connect(server_, "request-read", G_CALLBACK(on_request_read), this);
}

IdleConnectionReaper::~IdleConnectionReaper() {
  for (gulong h : handlers_)
    g_signal_handler_disconnect(server_, h);
  watches_.clear();
}

void IdleConnectionReaper::on_request_done(SoupServer *, SoupServerMessage *msg, gpointer self) {
  /* A WebSocket upgrade hands the connection over to LiveSession. */
  if (soup_server_message_get_status(msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  if (GSocket *socket = soup_server_message_get_socket(msg))
    static_cast<IdleConnectionReaper *>(self)->arm(socket);
}

void IdleConnectionReaper::on_request_read(SoupServer *, SoupServerMessage *msg, gpointer self) {
  /* The next request is in: libsoup owns the connection until it is done. */
  if (GSocket *socket = soup_server_message_get_socket(msg))
    static_cast<IdleConnectionReaper *>(self)->disarm(socket);
}

void IdleConnectionReaper::arm(GSocket *socket) {
  if (g_socket_is_closed(socket))
    return;
  auto &w = watches_[socket];
  if (!w)
    w = std::make_unique<Watch>(this, socket);
  watch_input(*w);
}

void IdleConnectionReaper::disarm(GSocket *socket) {
  watches_.erase(socket);
}

void IdleConnectionReaper::watch_input(Watch &w) {
  GSource *s = g_socket_create_source(
      w.socket, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
  GSocketSourceFunc ready = [](GSocket *socket, GIOCondition, gpointer data) -> gboolean {
    auto *watch = static_cast<Watch *>(data);
    return watch->owner->check(socket) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
  };
  g_source_set_callback(s, G_SOURCE_FUNC(ready), &w, nullptr);
  g_source_attach(s, ctx_);
  w.set_source(s);
}

bool IdleConnectionReaper::check(GSocket *socket) {
  auto it = watches_.find(socket);
  if (it == watches_.end())
    return false;
  Watch &w = *it->second;
  if (g_socket_is_closed(socket)) { /* libsoup closed it: nothing to do */
    disarm(socket);
    return false;
  }
  char byte;
  ssize_t n = recv(g_socket_get_fd(socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return true;
  if (n > 0) {
    GSource *t = g_timeout_source_new(kRecheckMs);
    g_source_set_callback(
        t,
        [](gpointer data) -> gboolean {
          auto *watch = static_cast<Watch *>(data);
          watch->owner->watch_input(*watch);
          return G_SOURCE_REMOVE;
        },
        &w, nullptr);
    g_source_attach(t, ctx_);
    w.set_source(t);
    return false;
  }
  /* EOF or reset: the client has gone. Close once libsoup, woken by the same
   * event at default priority, has read it too. */
  GSource *idle = g_idle_source_new();
  g_source_set_priority(idle, G_PRIORITY_LOW);
  g_source_set_callback(
      idle,
      [](gpointer data) -> gboolean {
        auto *watch = static_cast<Watch *>(data);
        IdleConnectionReaper *self = watch->owner;
        if (!g_socket_is_closed(watch->socket)) {
          g_socket_close(watch->socket, nullptr);
          self->reaped_++;
        }
        self->disarm(watch->socket); /* frees watch */
        return G_SOURCE_REMOVE;
      },
      &w, nullptr);
  g_source_attach(idle, ctx_);
  w.set_source(idle);
  return false;
}

} // namespace dgemu
