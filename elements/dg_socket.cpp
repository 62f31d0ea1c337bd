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

} // namespace dgf
