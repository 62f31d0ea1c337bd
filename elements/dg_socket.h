/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel knows about a TCP connection to Deepgram (TCP_INFO).
 * Linux only; elsewhere nothing is known and the callers do without. */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <optional>

namespace dgf {

struct DgTcpState {
  uint64_t bytes_acked = 0;  /* acknowledged by the peer, handshake included */
  uint64_t last_ack_age = 0; /* ns since the peer last sent an ACK, any ACK */
  uint32_t retransmits = 0;  /* timeouts retransmitting the oldest unacknowledged segment */
  uint32_t probes = 0;       /* window probes sent and not answered */
};

std::optional<DgTcpState> dg_socket_tcp_state(GSocket *socket);

/* TCP keepalive after `idle_s` without traffic, a probe a second, dead after
 * `count` unanswered: a connection waiting for an answer (a pre-recorded
 * request being transcribed) finds a dead path in idle_s + count seconds,
 * however long the server takes to answer, since its kernel answers the
 * probes. */
void dg_socket_keepalive(GSocket *socket, int idle_s, int count);

/* TCP_USER_TIMEOUT: the kernel ends the connection once bytes it sent
 * stay unacknowledged for `ms` (and keepalive probes go unanswered that
 * long): an upload into a blackhole fails in `ms`, not in TCP's minutes.
 * A slow link acknowledges as it goes and is not affected. */
void dg_socket_user_timeout(GSocket *socket, unsigned ms);

/* dg_socket_keepalive(2, 3) and dg_socket_user_timeout(5000) on every
 * connection `msg` opens: a dead path is found in about 5 s whether the
 * request is uploading or waiting for its answer. */
void dg_message_keepalive(SoupMessage *msg);

/* Whether the kernel is shouting into the void: retransmitting, or probing
 * with no answer. A peer that only closed its window answers its probes
 * (so `probes` stays at most 1), however long it keeps it closed. */
inline bool dg_tcp_unanswered(const DgTcpState &s) {
  return s.retransmits > 0 || s.probes > 1;
}

} // namespace dgf
