/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel knows about a TCP connection to Deepgram (TCP_INFO).
 * Linux only; elsewhere nothing is known and the callers do without. */
#pragma once

#include <gio/gio.h>

#include <cstdint>
#include <optional>

namespace dgf {

struct DgTcpState {
  uint64_t bytes_acked = 0;  /* acknowledged by the peer, handshake included */
  uint64_t last_ack_age = 0; /* ns since the peer last sent an ACK, any ACK */
};

std::optional<DgTcpState> dg_socket_tcp_state(GSocket *socket);

} // namespace dgf
