/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_path_probe.h"

namespace dgf {

namespace {

struct Probe {
  GCancellable *cancellable; /* a ref */
  PathProbeDone done;
};

void on_connected(GObject *source, GAsyncResult *result, gpointer data) {
  auto *probe = static_cast<Probe *>(data);
  GError *error = nullptr;
  GSocketConnection *conn =
      g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(source), result, &error);
  if (conn)
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
  g_clear_object(&conn);
  if (!g_cancellable_is_cancelled(probe->cancellable))
    probe->done(error ? std::string(error->message) : std::string());
  g_clear_error(&error);
  g_object_unref(probe->cancellable);
  delete probe;
}

} // namespace

GCancellable *dg_probe_path(const ServiceUrl &url, unsigned timeout_s, PathProbeDone done) {
  GSocketClient *client = g_socket_client_new();
  g_socket_client_set_timeout(client, timeout_s);
  GCancellable *cancellable = g_cancellable_new();
  auto *probe = new Probe{G_CANCELLABLE(g_object_ref(cancellable)), std::move(done)};
  g_socket_client_connect_to_host_async(client, url.host.c_str(), static_cast<guint16>(url.port),
                                        cancellable, on_connected, probe);
  g_object_unref(client);
  return cancellable;
}

} // namespace dgf
