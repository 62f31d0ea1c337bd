/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How far behind the network is on one live connection.
 *
 * The socket's own queue hides a slow link: libsoup takes every frame at
 * once, and a link at half the rate the audio needs turns into minutes of
 * delay with nothing failing. The kernel knows better: it counts the bytes
 * the peer acknowledged (TCP_INFO's tcpi_bytes_acked). Given every frame
 * handed to the socket (its bytes on the wire and the audio it carries) and
 * that count, this says which audio the network has delivered, how much
 * waits (the send backlog, in bytes and in seconds of audio), the rate the
 * link achieves and the rate the audio needs.
 *
 * It also times how long bytes have waited with no acknowledgement at all:
 * the first sign of a dead path (a blackhole, a dropped NAT mapping). A
 * peer that merely stops reading (a zero window) also acknowledges nothing
 * new; the caller tells the two apart by the kernel's last ACK, which such
 * a peer keeps sending in answer to window probes.
 *
 * Bytes on the wire include the WebSocket framing, so the count matches the
 * kernel's; control frames carry no audio. The handshake is left out by
 * starting from the kernel's count at open. Plain C++; `now` in ns on any
 * monotonic clock; not thread-safe (the sink's network thread owns it).
 */
#pragma once

#include <cstdint>
#include <deque>

namespace dgf {

class SendBacklog {
public:
  /* A connection opened; the kernel has counted `acked_at_open` bytes. */
  void reset(uint64_t acked_at_open, uint64_t now);

  /* A frame of `wire_bytes` went to the socket, carrying `audio_ns` of
   * audio (0 for a control frame). */
  void on_sent(uint64_t wire_bytes, uint64_t audio_ns, uint64_t now);
  /* The kernel's cumulative count of acknowledged bytes. */
  void on_acked(uint64_t acked_total, uint64_t now);
  /* How long bytes have waited with no new acknowledgement (0 when none
   * wait), counted from when they started waiting or the last progress. */
  uint64_t unanswered_for(uint64_t now) const;

  /* Audio the network has delivered, from the connection's first (ns). */
  uint64_t delivered_audio() const { return delivered_audio_; }
  /* Audio handed over and not yet delivered (ns), and its bytes. */
  uint64_t backlog_audio() const { return sent_audio_ - delivered_audio_; }
  uint64_t backlog_bytes() const { return sent_bytes_ - acked_bytes_; }
  /* Bytes per second acknowledged over the last window, while there was a
   * backlog to carry (0 until a window has passed); what the link gives. */
  double achieved_rate() const { return achieved_rate_; }
  /* Bytes per second of audio on the wire: what real time needs. */
  double needed_rate() const;

  /* WebSocket frame bytes for a payload from a client (masked). */
  static uint64_t client_frame_bytes(uint64_t payload);

  static constexpr uint64_t kRateWindow = 2000000000ull; /* ns */

private:
  struct Frame {
    uint64_t bytes_end; /* cumulative wire bytes up to the end of this frame */
    uint64_t audio_end; /* cumulative audio ns up to the end of this frame */
    uint64_t audio;     /* audio ns in this frame */
    uint64_t bytes;
  };
  std::deque<Frame> in_flight_; /* sent, not yet fully acknowledged */
  uint64_t base_acked_ = 0;
  uint64_t sent_bytes_ = 0;
  uint64_t sent_audio_ = 0;
  uint64_t audio_bytes_ = 0; /* wire bytes of the frames that carried audio */
  uint64_t acked_bytes_ = 0;
  uint64_t delivered_audio_ = 0;
  uint64_t answered_at_ = 0; /* the last progress, or when bytes started to wait */
  /* The rate window: acknowledged bytes at its start, and whether the link
   * was busy (a backlog) throughout. */
  uint64_t window_start_ = 0;
  uint64_t window_acked_ = 0;
  bool window_busy_ = true;
  double achieved_rate_ = 0;
};

} // namespace dgf
