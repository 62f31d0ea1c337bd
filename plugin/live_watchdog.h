/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When a live Deepgram connection needs a KeepAlive, a Finalize, or is dead.
 *
 * A stall is a server that owes results and says nothing. It owes results
 * only for audio that was sent and that a real-time service would have heard
 * by now: audio sent faster than real time (a file, a replay burst) is owed
 * at the pace of real time, not all at once, so a busy server is not a
 * stall. A pause in the source is not an outage either: once no audio has
 * been sent for `idle_finalize`, a Finalize asks for the words already sent,
 * after which nothing is owed; KeepAlives hold the connection meanwhile.
 * A server that does not answer the Finalize is still found.
 *
 * Audio the network has not delivered is owed by no one: once the sink
 * reports deliveries (on_delivered), the playhead and a Finalize wait for
 * them, so a slow link is never taken for a silent server.
 *
 * Times: `now` in ns on any monotonic clock; audio positions in seconds of
 * the connection's own clock (Deepgram's start/duration). Plain C++, no
 * GStreamer types; not thread-safe (the sink's network thread owns it).
 */
#pragma once

#include <cstdint>
#include <string>

namespace dgf {

struct WatchdogSettings {
  uint64_t stall = 10000000000ull;        /* ns of silence while owed: dead */
  uint64_t keepalive = 3000000000ull;     /* ns without sending: KeepAlive (0: never) */
  uint64_t idle_finalize = 1000000000ull; /* ns without audio: Finalize (0: never) */
};

class LiveWatchdog {
public:
  enum class Due { Nothing, KeepAlive, Finalize, Stall, InterimStall };

  explicit LiveWatchdog(WatchdogSettings settings = {}) : settings_(settings) {}
  void set_settings(const WatchdogSettings &settings) { settings_ = settings; }

  /* A connection opened at `now`: its clock starts at 0. */
  void reset(uint64_t now);

  /* Audio up to connection second `end` was sent. */
  void on_audio_sent(uint64_t now, double end);
  /* The network delivered audio up to connection second `end` (the kernel's
   * acknowledgements). Never called: everything sent counts as delivered. */
  void on_delivered(double end);
  /* A text frame went out (KeepAlive counts for the idle timer). */
  void on_text_sent(uint64_t now);
  /* Finalize / CloseStream sent: the server owes an answer for all audio. */
  void on_finalize_sent(uint64_t now);
  void on_close_sent(uint64_t now);

  /* Anything from the server: it is alive. */
  void on_message(uint64_t now);
  /* A final result covering connection audio before `until`. */
  void on_final(uint64_t now, double until);
  /* An interim result (never acknowledges audio). */
  void on_interim(uint64_t now);

  /* What to do now; Stall and InterimStall end the connection. */
  Due check(uint64_t now);
  /* Why, for the Stall verdicts. */
  std::string stall_reason() const;

  /* Connection seconds a real-time service would have heard by the last check. */
  double playhead() const { return playhead_; }
  double answered() const { return answered_; }
  bool owed() const;
  /* Audio was sent since the last Finalize and is not all answered: worth a
   * Finalize at a pause (a GAP event). */
  bool finalize_wanted() const;

private:
  void advance(uint64_t now);
  double heard() const; /* connection seconds the server can have heard */

  WatchdogSettings settings_;
  double sent_ = 0.0;     /* connection seconds sent */
  double delivered_ = -1; /* connection seconds delivered; < 0: not reported */
  double answered_ = 0.0; /* covered by finals */
  double playhead_ = 0.0; /* heard by a real-time service */
  uint64_t playhead_at_ = 0;
  uint64_t last_audio_ = 0;
  uint64_t last_send_ = 0;
  uint64_t last_final_ = 0;
  uint64_t awaiting_since_ = 0; /* 0: not owed */
  bool finalize_owed_ = false;  /* Finalize/CloseStream sent, not answered */
  bool finalized_ = true;       /* no audio sent since the last Finalize */
  uint32_t interims_since_final_ = 0;
  Due last_verdict_ = Due::Nothing;
};

} // namespace dgf
