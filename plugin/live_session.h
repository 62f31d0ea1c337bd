/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's live session, apart from GStreamer so it runs on fake time.
 *
 * Phases: idle (no connection), connecting, open, down (an outage: waiting
 * to reconnect, or for a supervisor), error (fatal). One connection at a
 * time. Audio waits in `unsent` until a connection is open; once sent it is
 * kept in the ledger until a final result covers it, and replayed first on
 * the next connection if the one it went to dies. A supervised sink (an
 * sttfailover upstream) keeps no ledger: the supervisor replays elsewhere.
 *
 * Every input returns the actions to carry out, in order; the glue owns the
 * socket, the breaker's permit, the timers and the bus. Sends are assumed
 * to succeed; a failed one is reported back with on_send_failed().
 *
 * Times are nanoseconds: audio times are pipeline timestamps, `now` is any
 * monotonic clock. Not thread-safe: the sink's network thread owns it.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "audio_encoding.h"
#include "audio_ledger.h"
#include "backoff.h"
#include "breaker.h"
#include "deepgram_json.h"
#include "drop_coalescer.h"
#include "live_watchdog.h"
#include "sink_health.h"
#include "time_map.h"

namespace dgf {

enum class LivePhase { Idle, Connecting, Open, Down, Fatal };
const char *live_phase_name(LivePhase phase); /* "idle", ..., "error" */

/* Audio the session sends and keeps; opaque to it (the element wraps a
 * GstBuffer, tests a span). */
class LivePayload {
public:
  virtual ~LivePayload() = default;
  /* Audio frames in it: what Deepgram's clock counts. */
  virtual uint64_t frames() const = 0;
  /* The same audio without its first `skip` ns (skip < duration). */
  virtual std::shared_ptr<const LivePayload> trimmed(uint64_t skip) const = 0;
};
using LivePayloadRef = std::shared_ptr<const LivePayload>;

struct LiveSessionSettings {
  uint64_t replay_window = 60000000000ull; /* ns of audio held for replay */
  BackoffPolicy retry_backoff;
  bool reconnect = true; /* alone: reconnect after a retryable failure */
  /* Alone, an outage this long ends with an ERROR (ms; 0: never; -1: never
   * for live input, kNonLiveMaxOutageMs for input that is not live). */
  int64_t max_outage_ms = -1;
  WatchdogSettings watchdog;
  uint64_t finalize_timeout = 10000000000ull; /* ns without progress ends the EOS drain */
  bool interim_results = false;               /* post interims with no text too */
  /* Audio waiting for the network beyond this means the link is too slow
   * for live captions: a WARNING (0: never). */
  uint64_t slow_link_backlog = 3000000000ull;
  /* Bytes waiting and no ACK at all from the peer for this long: a dead
   * path (0: never judged; TCP's own minutes apply). */
  uint64_t send_timeout = 5000000000ull;
  /* How the audio goes on the wire (never Auto), and whether a slow link
   * makes the session reconnect once with Opus instead (encoding=auto). */
  AudioEncoding encoding = AudioEncoding::Linear16;
  bool step_down = false;
};
constexpr int64_t kNonLiveMaxOutageMs = 120000;

struct LiveStats {
  uint64_t connections = 0;      /* made */
  uint64_t connect_attempts = 0; /* begun, made or not */
  uint64_t failures = 0;
  uint64_t results = 0;
  uint64_t finals = 0;
  uint64_t keepalives = 0;
  uint64_t malformed = 0;
  uint64_t tolerated = 0;      /* messages read with an odd shape outside the transcript */
  uint64_t audio_sent = 0;     /* ns */
  uint64_t audio_replayed = 0; /* ns */
  uint64_t audio_dropped = 0;  /* ns */
  std::string state = "idle";
  std::string last_error;
  /* The network, from the kernel's acknowledgements (0 until reported). */
  uint64_t send_backlog = 0;   /* ns of audio handed to the socket, not yet delivered */
  uint64_t send_rate = 0;      /* bit/s the link carried while it was the limit */
  uint64_t needed_rate = 0;    /* bit/s the audio needs on the wire */
  std::string transport_error; /* the last socket error, e.g. "Connection timed out" */
  std::string encoding;        /* on the wire now (Deepgram's name) */
};

/* What the glue measured on the open connection's socket (send_backlog.h). */
struct TransportReport {
  uint64_t delivered = 0;  /* ns of this connection's audio the network delivered */
  uint64_t backlog = 0;    /* ns of audio handed over and not yet delivered */
  double achieved_bps = 0; /* bit/s the link carried while busy (0: it kept up) */
  double needed_bps = 0;   /* bit/s the audio needs */
  uint64_t unanswered = 0; /* ns bytes have waited with no ACK from the peer at all */
};

namespace live {
/* Open a connection: take a breaker permit, then on_connecting() (or
 * on_connect_refused()) and start the handshake. */
struct Connect {};
/* Close and forget the connection (no callbacks after). */
struct Disconnect {};
struct SendAudio {
  uint64_t start = 0;
  uint64_t duration = 0;
  LivePayloadRef payload;
};
enum class Control { KeepAlive, Finalize, CloseStream };
struct SendControl {
  Control what = Control::KeepAlive;
};
struct ReportBreaker { /* the outcome of the permit taken for the last Connect */
  BreakerOutcome outcome = BreakerOutcome::Success;
  FailureSource source = FailureSource::Service; /* of a Failure */
};
/* A connection in use died at the network level (no permit to report):
 * the breaker's path checks start (Breaker::note_path_lost). */
struct PathLost {};
struct ScheduleRetry { /* replaces any earlier; not before the breaker allows */
  uint64_t at = 0;     /* `now` timeline */
  uint32_t attempt = 0;
};
struct CancelRetry {};
/* Down after a network-level failure: see whether the path to the server
 * works again (a TCP connect, no request), then on_path_restored(). */
struct CheckPath {};
/* Supervised: stt/path-restored upstream, after on_path_restored(). */
struct PathRestored {
  std::string session_id;
};
/* stt/health upstream. */
using Health = SinkHealth;
/* stt/ack upstream: audio before `position` has final results. */
struct Ack {
  uint64_t position = 0;
  std::string session_id;
  bool drained = false;
};
/* stt/transcript on the bus and upstream: `t` in Deepgram's seconds,
 * `start`/`duration`/`words` mapped to pipeline time. */
struct Transcript {
  dgf::Transcript t;
  uint64_t start = 0;
  uint64_t duration = 0;
  std::vector<TimeRange> words;
  std::string session_id;
};
struct UtteranceEnd {
  uint64_t last_word_end = 0;
  int channel = 0;
  std::string session_id;
};
struct SpeechStarted {
  uint64_t timestamp = 0;
  int channel = 0;
  std::string session_id;
};
struct Dropped {
  DropReport report;
};
enum class WarnKind { Outage, Decode, ServiceError, SlowLink };
struct Warn { /* a WARNING on the bus */
  WarnKind kind = WarnKind::Outage;
  std::string message;
  std::string detail;
};
/* Deepgram refused for good: an ERROR (a WARNING when supervised). */
struct Refusal {
  std::string message;
  std::string detail;
  unsigned status = 0;
  std::string request_id;
  bool supervised = false;
  bool undecodable = false; /* close 1008: the glue names the caps */
};
/* Nothing more will be sent: render returns OK (supervised) or an ERROR.
 * `message` non-empty: post that ERROR too. */
struct Fatal {
  std::string message;
  std::string detail;
  bool flow_ok = false;
};
struct PhaseChanged {
  LivePhase phase = LivePhase::Idle;
};
struct StatsNotify {};
/* Deepgram answered: the EOS drain's timeout counts from `at`. */
struct Progress {
  uint64_t at = 0;
};
struct DrainFinished {
  bool complete = false;
};
enum class LogLevel { Debug, Info, Warning };
struct Log {
  LogLevel level = LogLevel::Debug;
  std::string text;
};
} // namespace live

using LiveAction =
    std::variant<live::Connect, live::Disconnect, live::SendAudio, live::SendControl,
                 live::ReportBreaker, live::PathLost, live::ScheduleRetry, live::CancelRetry,
                 live::CheckPath, live::PathRestored, live::Health, live::Ack, live::Transcript,
                 live::UtteranceEnd, live::SpeechStarted, live::Dropped, live::Warn, live::Refusal,
                 live::Fatal, live::PhaseChanged, live::StatsNotify, live::Progress,
                 live::DrainFinished, live::Log>;
using LiveActions = std::vector<LiveAction>;

class LiveSession {
public:
  using Random = std::function<double()>; /* uniform [0, 1) for backoff jitter */
  /* How often a session down for the network's sake checks its return. */
  static constexpr uint64_t kPathCheckInterval = 1000000000ull;

  explicit LiveSession(LiveSessionSettings settings = {}, Random random = {});

  /* READY->PAUSED, or after a flush: a fresh session; `supervised` is kept
   * across a flush. Keeps no audio from before. */
  void start(const LiveSessionSettings &settings, bool supervised = false);
  /* PAUSED->READY or a flush: close politely, forget all audio. */
  LiveActions stop(uint64_t now);

  /* An sttfailover upstream owns recovery and replay. */
  void set_supervised();
  /* From the streaming thread, once per stream. Input that is not live
   * waits for room (has_room) instead of being dropped, so the ledger keeps
   * all it is given: a buffer that passed the wait just before an ack or a
   * replay landed may overfill the window, and is kept, not evicted. */
  void set_input_live(bool live);
  /* New caps (`changed`: a different format than before). */
  LiveActions on_caps(int rate, bool changed, uint64_t now);

  LiveActions on_audio(uint64_t pts, uint64_t duration, LivePayloadRef payload, uint64_t now);
  /* A GAP event: the source paused. */
  LiveActions on_gap(uint64_t now);
  LiveActions on_eos(uint64_t now);
  /* The streaming thread's drain wait ran out; ends it unless Deepgram
   * answered within finalize_timeout of `now`. */
  LiveActions on_drain_timeout(uint64_t now);
  /* stt/reconnect from a supervisor. */
  LiveActions on_reconnect_request(uint64_t now);

  /* The answer to a Connect: a permit was taken, the handshake starts. */
  LiveActions on_connecting(const std::string &session_id, uint64_t now);
  LiveActions on_connect_refused(const std::string &breaker_name, uint64_t now);
  LiveActions on_open(const std::string &request_id, uint64_t now);
  /* The handshake failed: `status` 0 for a network error; `tls_problem`
   * non-empty when the certificate was refused. */
  LiveActions on_handshake_failed(unsigned status, const std::string &reason,
                                  const std::string &request_id, const std::string &tls_problem,
                                  uint64_t now);
  LiveActions on_closed(int code, const std::string &reason, const std::string &error,
                        uint64_t now);
  LiveActions on_message(const LiveMessage &msg, uint64_t now);
  LiveActions on_malformed(const std::string &why, uint64_t now);
  LiveActions on_send_failed(uint64_t now);
  /* Periodic, while open: what the socket has delivered and what waits. */
  LiveActions on_transport(const TransportReport &report, uint64_t now);
  /* The connection cannot be made or used; for anything the glue finds
   * itself (an invalid URL). */
  LiveActions on_failure(const std::string &reason, int code, bool retryable, uint64_t now);
  LiveActions on_retry_due(uint64_t now);
  /* A CheckPath found the server reachable: alone, reconnect now (the
   * glue has told the breaker); supervised, say so upstream. */
  LiveActions on_path_restored(uint64_t now);
  /* Periodic: lost audio reports, max-outage, KeepAlive, Finalize, stalls. */
  LiveActions on_tick(uint64_t now);

  /* "closed 1011 NET-0000 (error)" */
  static std::string close_reason(int code, const std::string &reason, const std::string &error);

  bool running() const { return running_; }
  bool supervised() const { return supervised_; }
  /* EOS came and the drain is not over. */
  bool draining() const { return eos_; }
  LivePhase phase() const { return phase_; }
  const std::string &session_id() const { return session_id_; }
  const std::string &request_id() const { return request_id_; }
  /* ns of audio held: unsent plus un-acked (render's flow control). */
  uint64_t held() const { return unsent_duration_ + (ledger_ ? ledger_->held() : 0); }
  /* Non-live input waits (backpressure) rather than overflow replay-window:
   * may `duration` more be handed over while `held` is held? */
  static bool room_for(uint64_t held, uint64_t duration, uint64_t window) {
    return held == 0 || held + duration <= window;
  }
  bool has_room(uint64_t duration) const {
    return room_for(held(), duration, settings_.replay_window);
  }
  const LiveStats &stats() const { return stats_; }
  /* The encoding for the next encoder made (a connection's first audio). */
  AudioEncoding encoding() const { return encoding_; }
  const TimeMap &time_map() const { return time_map_; }

private:
  using Ledger = AudioLedger<LivePayloadRef>;
  struct Pending {
    uint64_t pts;
    uint64_t duration;
    LivePayloadRef payload;
  };
  bool connected() const { return phase_ == LivePhase::Connecting || phase_ == LivePhase::Open; }

  void connect(LiveActions &out);
  /* `restarting`: ended on purpose to reconnect at once (the health report
   * says so: a supervisor replays to the new session, not elsewhere). */
  void fail(const std::string &reason, int code, bool retryable, uint64_t now, LiveActions &out,
            bool restarting = false);
  void step_down(const std::string &why, uint64_t now, LiveActions &out);
  void schedule_reconnect(uint64_t now, LiveActions &out);
  void give_up_if_due(uint64_t now, LiveActions &out);
  void set_phase(LivePhase phase, LiveActions &out);
  void send_pending(uint64_t now, LiveActions &out);
  void finalize(uint64_t now, LiveActions &out);
  void finish_drain(bool complete, LiveActions &out);
  void ack(uint64_t position, LiveActions &out);
  void on_results(const dgf::Transcript &t, uint64_t now, LiveActions &out);
  void report_dropped(uint64_t start, uint64_t duration, const std::string &reason,
                      const std::string &detail, uint64_t now, LiveActions &out);
  void flush_dropped(LiveActions &out);
  void drop_held(const std::string &why, uint64_t now, LiveActions &out);
  TimeRanges take_held();
  void clear_unsent();

  LiveSessionSettings settings_;
  Random random_;
  std::unique_ptr<Ledger> ledger_; /* none when supervised */
  std::deque<Pending> unsent_;     /* not yet sent on any connection */
  uint64_t unsent_duration_ = 0;
  TimeMap time_map_;
  LiveWatchdog watchdog_; /* KeepAlive, Finalize at pauses, stalls */
  DropCoalescer drops_;   /* lost audio, one report per stretch */
  uint64_t last_drop_ = 0;
  LiveStats stats_;

  LivePhase phase_ = LivePhase::Idle;
  bool running_ = false;
  bool supervised_ = false;
  bool live_input_ = true;
  bool have_caps_ = false;
  int rate_ = 16000;
  bool permit_pending_ = false;
  bool retry_scheduled_ = false;
  uint32_t attempt_ = 0;    /* reconnect attempts since the last success */
  bool eos_ = false;        /* EOS received: CloseStream once everything is sent */
  bool close_sent_ = false; /* CloseStream sent on this connection */
  uint64_t last_progress_ = 0;
  std::string session_id_;
  std::string request_id_;
  /* The outage in progress (no connection since the last failure). */
  std::optional<uint64_t> down_since_;
  std::string outage_cause_ = "disconnected"; /* drop reason token while it lasts */
  std::string outage_reason_;                 /* and its words: the last failure */
  bool outage_warned_ = false;
  bool warned_malformed_ = false;
  bool transport_reported_ = false; /* the glue measures deliveries */
  bool path_down_ = false;          /* the last failure was the network's */
  uint64_t last_path_check_ = 0;
  bool slow_link_warned_ = false; /* this stretch of backlog was reported */
  AudioEncoding encoding_ =
      AudioEncoding::Linear16; /* settings_.encoding, or Opus once stepped down */
  bool reported_breaker_open_ = false;
  std::set<std::string> tolerated_seen_; /* odd shapes logged on this connection */
  double metadata_duration_ = -1;        /* seconds of audio the server says it got */
};

} // namespace dgf
