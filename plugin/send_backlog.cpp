/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "send_backlog.h"

#include <algorithm>

namespace dgf {

uint64_t SendBacklog::client_frame_bytes(uint64_t payload) {
  uint64_t header = 2 + 4; /* opcode/length and the mask key */
  if (payload >= 65536)
    header += 8;
  else if (payload >= 126)
    header += 2;
  return header + payload;
}

void SendBacklog::reset(uint64_t acked_at_open, uint64_t now) {
  *this = SendBacklog();
  base_acked_ = acked_at_open;
  window_start_ = answered_at_ = now;
}

void SendBacklog::on_sent(uint64_t wire_bytes, uint64_t audio_ns, uint64_t now) {
  if (sent_bytes_ == acked_bytes_) {
    answered_at_ = now; /* nothing waited: the clock starts with these bytes */
    /* The link was idle: a rate window starts with this frame. */
    window_start_ = now;
    window_acked_ = acked_bytes_;
    window_busy_ = true;
  }
  sent_bytes_ += wire_bytes;
  sent_audio_ += audio_ns;
  if (audio_ns)
    audio_bytes_ += wire_bytes;
  in_flight_.push_back(Frame{sent_bytes_, sent_audio_, audio_ns, wire_bytes});
}

uint64_t SendBacklog::unanswered_for(uint64_t now) const {
  return sent_bytes_ > acked_bytes_ && now > answered_at_ ? now - answered_at_ : 0;
}

void SendBacklog::on_acked(uint64_t acked_total, uint64_t now) {
  uint64_t acked = acked_total > base_acked_ ? acked_total - base_acked_ : 0;
  if (acked > acked_bytes_)
    answered_at_ = now;
  /* Pongs and the close frame are not counted as sent: never past it. */
  acked_bytes_ = std::max(acked_bytes_, std::min(acked, sent_bytes_));
  while (!in_flight_.empty() && in_flight_.front().bytes_end <= acked_bytes_) {
    delivered_audio_ = std::max(delivered_audio_, in_flight_.front().audio_end);
    in_flight_.pop_front();
  }
  if (!in_flight_.empty()) {
    /* Part of a frame: its audio in proportion (the server decodes as the
     * bytes come, and one frame of 16 kHz PCM is ~100 ms). */
    const Frame &f = in_flight_.front();
    uint64_t into = acked_bytes_ - (f.bytes_end - f.bytes);
    uint64_t part = f.bytes ? f.audio * into / f.bytes : 0;
    delivered_audio_ = std::max(delivered_audio_, f.audio_end - f.audio + part);
  }
  if (now - window_start_ >= kRateWindow) {
    if (window_busy_ && sent_bytes_ > acked_bytes_)
      achieved_rate_ = static_cast<double>(acked_bytes_ - window_acked_) * 1e9 /
                       static_cast<double>(now - window_start_);
    else
      achieved_rate_ = 0; /* the link kept up: it was never the limit */
    window_start_ = now;
    window_acked_ = acked_bytes_;
    window_busy_ = sent_bytes_ > acked_bytes_;
  } else if (sent_bytes_ == acked_bytes_) {
    window_busy_ = false;
  }
}

double SendBacklog::needed_rate() const {
  if (!sent_audio_)
    return 0;
  return static_cast<double>(audio_bytes_) * 1e9 / static_cast<double>(sent_audio_);
}

} // namespace dgf
