/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_socket.h"

#ifdef __linux__
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#endif

namespace dgf {

std::optional<DgTcpState> dg_socket_tcp_state(GSocket *socket) {
#ifdef __linux__
  if (!socket)
    return std::nullopt;
  struct tcp_info info = {};
  socklen_t length = sizeof info;
  /* tcpi_bytes_acked needs Linux 4.1; an older kernel returns less. */
  if (getsockopt(g_socket_get_fd(socket), IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
      length < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
    return std::nullopt;
  return DgTcpState{info.tcpi_bytes_acked, uint64_t{info.tcpi_last_ack_recv} * 1000000,
                    info.tcpi_retransmits, info.tcpi_probes};
#else
  (void)socket;
  return std::nullopt;
#endif
}

void dg_socket_keepalive(GSocket *socket, int idle_s, int count) {
  g_socket_set_keepalive(socket, TRUE);
#ifdef __linux__
  g_socket_set_option(socket, IPPROTO_TCP, TCP_KEEPIDLE, idle_s, nullptr);
  g_socket_set_option(socket, IPPROTO_TCP, TCP_KEEPINTVL, 1, nullptr);
  g_socket_set_option(socket, IPPROTO_TCP, TCP_KEEPCNT, count, nullptr);
#else
  (void)idle_s;
  (void)count;
#endif
}

void dg_socket_user_timeout(GSocket *socket, unsigned ms) {
#ifdef __linux__
  g_socket_set_option(socket, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<gint>(ms), nullptr);
#else
  (void)socket;
  (void)ms;
#endif
}

static void on_network_event(SoupMessage *, GSocketClientEvent event, GIOStream *connection,
                             gpointer) {
  if (event != G_SOCKET_CLIENT_CONNECTED || !G_IS_SOCKET_CONNECTION(connection))
    return;
  GSocket *socket = g_socket_connection_get_socket(G_SOCKET_CONNECTION(connection));
  dg_socket_keepalive(socket, 2, 3);
  dg_socket_user_timeout(socket, 5000);
}

void dg_message_keepalive(SoupMessage *msg) {
  g_signal_connect(msg, "network-event", G_CALLBACK(on_network_event), nullptr);
}

} // namespace dgf
