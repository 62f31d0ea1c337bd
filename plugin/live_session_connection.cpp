/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's live session (live_session.h), its connection: connecting
 * through the breaker, what Deepgram's handshake and close say, failure,
 * reconnecting with backoff and replaying what was never acknowledged, and
 * giving up after max-outage. The audio itself is in live_session.cpp. */
#include "live_session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "failure.h"

namespace dgf {

using namespace dgf::live;

namespace {
constexpr int kCloseNormal = 1000;
constexpr int kCloseAbnormal = 1006; /* no close frame: the TCP connection died */
constexpr uint64_t kMillisecond = 1000000ull;
constexpr uint64_t kSecond = 1000 * kMillisecond;
/* send-timeout while no audio waits (a paused source's KeepAlive). */
constexpr uint64_t kIdleSendTimeout = 3 * kSecond;
} // namespace

void LiveSession::connect(LiveActions &out) {
  if (!running_ || !have_caps_ || connected() || phase_ == LivePhase::Fatal)
    return;
  if (retry_scheduled_) {
    out.push_back(CancelRetry{});
    retry_scheduled_ = false;
  }
  /* Connecting from now on, for the glue answers at once (on_connecting or
   * on_connect_refused announce the phase). */
  phase_ = LivePhase::Connecting;
  out.push_back(Connect{});
}

LiveActions LiveSession::on_connecting(const std::string &session_id, uint64_t) {
  LiveActions out;
  permit_pending_ = true;
  stats_.connect_attempts++;
  session_id_ = session_id;
  time_map_.reset(rate_);
  metadata_duration_ = -1;
  close_sent_ = false;
  set_phase(LivePhase::Connecting, out);
  return out;
}

/* Spare the service: no connection while the shared breaker is open. */
LiveActions LiveSession::on_connect_refused(const std::string &breaker_name, uint64_t now) {
  LiveActions out;
  stats_.last_error = "breaker open";
  set_phase(LivePhase::Down, out);
  if (supervised_) {
    /* The supervisor replays this audio elsewhere; sending it later too
     * would transcribe it twice. */
    clear_unsent();
  }
  if (!reported_breaker_open_) {
    reported_breaker_open_ = true;
    out.push_back(Log{LogLevel::Warning, "breaker '" + breaker_name + "' is open: not connecting"});
    out.push_back(Health{false, "breaker open", 0, true, session_id_});
  }
  schedule_reconnect(now, out);
  return out;
}

LiveActions LiveSession::on_open(const std::string &request_id, uint64_t now) {
  LiveActions out;
  request_id_ = request_id;
  down_since_.reset();
  outage_warned_ = false;
  outage_reason_.clear();
  if (permit_pending_) {
    out.push_back(ReportBreaker{BreakerOutcome::Success});
    permit_pending_ = false;
  }
  attempt_ = 0;
  path_down_ = false;
  watchdog_.reset(now);
  if (transport_reported_)
    watchdog_.on_delivered(0); /* nothing of this connection's audio has arrived yet */
  slow_link_warned_ = false;
  stats_.send_backlog = 0;
  last_progress_ = now;
  out.push_back(Progress{now});
  tolerated_seen_.clear(); /* each connection logs its oddities once */
  reported_breaker_open_ = false;
  set_phase(LivePhase::Open, out);
  stats_.connections++;
  out.push_back(StatsNotify{});
  out.push_back(
      Log{LogLevel::Info, "connected, session " + session_id_ + ", request " + request_id});
  out.push_back(Health{true, "connected", 0, true, session_id_});
  send_pending(now, out);
  return out;
}

LiveActions LiveSession::on_handshake_failed(unsigned status, const std::string &reason,
                                             const std::string &request_id,
                                             const std::string &tls_problem, uint64_t now) {
  LiveActions out;
  if (!tls_problem.empty()) {
    out.push_back(Refusal{tls_problem, reason, 0, "", supervised_, false});
    fail("cannot connect: " + tls_problem, 0, false, now, out);
    return out;
  }
  /* dg-error carries Deepgram's words for a refused upgrade. */
  FailureVerdict v = classify_http(status, "", reason);
  std::string why = status ? describe_failure(v, "", reason) : "cannot connect: " + reason;
  if (v.kind != FailureKind::Transient) {
    std::string request = request_id.empty() ? "" : " (request " + request_id + ")";
    out.push_back(Refusal{"Deepgram refused the live connection: " + why, v.hint + request, status,
                          request_id, supervised_, false});
    fail(why, static_cast<int>(status), false, now, out);
    return out;
  }
  fail(why, static_cast<int>(status), true, now, out);
  return out;
}

LiveActions LiveSession::on_closed(int code, const std::string &close_text,
                                   const std::string &error, uint64_t now) {
  LiveActions out;
  /* Deepgram counts the audio it got; Metadata says how much. */
  bool heard_all = metadata_duration_ < 0 || metadata_duration_ + 0.05 >= time_map_.sent_seconds();
  if (close_sent_ && code == kCloseNormal && heard_all) {
    /* The close that answers CloseStream: all results are in. */
    ack(time_map_.end_pts(), out);
    out.push_back(Disconnect{});
    close_sent_ = false;
    set_phase(LivePhase::Idle, out);
    finish_drain(true, out);
    return out;
  }
  if (code == 1011 && close_text.find("NET-0001") != std::string::npos &&
      time_map_.sent_seconds() == 0 && unsent_.empty()) {
    /* Deepgram closes a connection that never got audio after ~10 s,
     * KeepAlives or not: an idle source (a pause right after a reconnect),
     * not a failure. Idle: the next audio connects again. */
    out.push_back(Log{LogLevel::Info, "idle connection closed by Deepgram (no audio yet): "
                                      "reconnecting at the next audio"});
    out.push_back(Disconnect{});
    close_sent_ = false;
    set_phase(LivePhase::Idle, out);
    return out;
  }
  std::string reason = close_reason(code, close_text, error);
  if (!error.empty())
    stats_.transport_error = error;
  if (classify_close(code, close_text).kind == FailureKind::Permanent) {
    out.push_back(Refusal{"Deepgram could not decode the audio (close " + std::to_string(code) +
                              " " + close_text + ")",
                          "", 0, request_id_, supervised_, true});
    fail(reason, code, false, now, out);
    return out;
  }
  fail(reason, code, true, now, out);
  return out;
}

LiveActions LiveSession::on_send_failed(uint64_t now) {
  LiveActions out;
  if (phase_ == LivePhase::Open)
    fail("send failed", 0, true, now, out);
  return out;
}

LiveActions LiveSession::on_failure(const std::string &reason, int code, bool retryable,
                                    uint64_t now) {
  LiveActions out;
  fail(reason, code, retryable, now, out);
  return out;
}

namespace {
std::string kbits(double bps) {
  return std::to_string(static_cast<uint64_t>(bps / 1000 + 0.5)) + " kbit/s";
}
std::string seconds(uint64_t ns) {
  char text[32];
  snprintf(text, sizeof text, "%.1f s", static_cast<double>(ns) / 1e9);
  return text;
}
} // namespace

LiveActions LiveSession::on_transport(const TransportReport &r, uint64_t now) {
  LiveActions out;
  if (phase_ != LivePhase::Open)
    return out;
  if (!transport_reported_) {
    transport_reported_ = true;
    out.push_back(Log{LogLevel::Debug, "the socket reports deliveries: audio is owed once "
                                       "the network has delivered it"});
  }
  uint64_t dead_after = settings_.send_timeout;
  /* Paused, nothing queues behind a KeepAlive: its wait is the path's alone. */
  if (dead_after && r.backlog == 0)
    dead_after = std::min(dead_after, kIdleSendTimeout);
  if (dead_after && r.unanswered >= dead_after) {
    /* The path carries nothing: no point waiting for TCP's minutes. */
    stats_.transport_error = "the network acknowledged nothing for " +
                             std::to_string(r.unanswered / kMillisecond) + " ms";
    fail("dead path: " + stats_.transport_error, 0, true, now, out);
    return out;
  }
  watchdog_.on_delivered(static_cast<double>(r.delivered) / 1e9);
  stats_.send_backlog = r.backlog;
  if (r.achieved_bps > 0)
    stats_.send_rate = static_cast<uint64_t>(r.achieved_bps);
  stats_.needed_rate = static_cast<uint64_t>(r.needed_bps);
  uint64_t limit = settings_.slow_link_backlog;
  /* Slow, not dead: the link carries something, less than the audio needs,
   * and acknowledges as it goes (the first seconds of a blackhole carry what
   * was in flight and then nothing: that is for send-timeout). */
  bool slow = r.achieved_bps > 0 && r.achieved_bps < r.needed_bps && r.unanswered < kSecond;
  if (limit && r.backlog > limit && slow && !slow_link_warned_) {
    slow_link_warned_ = true;
    std::string rates =
        "it carries " + kbits(r.achieved_bps) + ", the audio needs " + kbits(r.needed_bps);
    if (settings_.step_down && encoding_ != AudioEncoding::Opus) {
      step_down(rates + "; " + seconds(r.backlog) + " of audio waits to be sent", now, out);
      return out;
    }
    out.push_back(Warn{WarnKind::SlowLink,
                       "The network is too slow for live captions: " + rates + "; " +
                           seconds(r.backlog) + " of audio waits to be sent",
                       "captions arrive late by the backlog; a compressed encoding "
                       "(encoding=opus) or a faster link fits the audio to the pipe"});
    out.push_back(StatsNotify{});
  } else if (slow_link_warned_ && r.backlog < limit / 3) {
    slow_link_warned_ = false; /* caught up: a new stretch warns again */
    out.push_back(Log{LogLevel::Info, "the network caught up: " + seconds(r.backlog) +
                                          " of audio waits to be sent"});
  }
  return out;
}

/* encoding=auto on a link too slow for FLAC: the rest of the stream goes
 * as Opus (about a quarter of FLAC's rate). Each connection is one encoded
 * stream, so this ends the connection. Alone, the session replays what was
 * never acknowledged on a new one at once. Under a supervisor, which owns
 * that audio, the unhealthy report says `restarting`: the supervisor holds
 * its audio back, asks for the reconnect (stt/reconnect, after everything
 * it pushed before) and replays to the new session; no failover. Once per
 * stream: the link is not measured again in FLAC. */
void LiveSession::step_down(const std::string &why, uint64_t now, LiveActions &out) {
  encoding_ = AudioEncoding::Opus;
  stats_.encoding = encoding_name(encoding_);
  out.push_back(
      Warn{WarnKind::SlowLink,
           "The network is too slow for live captions in flac: " + why + "; reconnecting with opus",
           "encoding=auto steps down to opus at the bitrate property once per "
           "stream; set encoding to keep one encoding"});
  /* The WARNING above is the outage's: no second one from fail. */
  outage_warned_ = true;
  fail("the link is too slow for flac: stepping down to opus", 0, true, now, out,
       /*restarting=*/true);
  if (!supervised_ && phase_ == LivePhase::Down) {
    if (retry_scheduled_) {
      out.push_back(CancelRetry{});
      retry_scheduled_ = false;
    }
    connect(out); /* nothing is wrong with the service: no backoff */
  }
}

/* The connection is gone (or never came): account for its audio, tell
 * upstream, and reconnect unless a supervisor owns that. */
void LiveSession::fail(const std::string &reason, int code, bool retryable, uint64_t now,
                       LiveActions &out, bool restarting) {
  out.push_back(Log{LogLevel::Warning, "live connection failed: " + reason});
  out.push_back(Disconnect{});
  close_sent_ = false;
  /* The network's failures, not the service's: worth watching for its return. */
  path_down_ = retryable && (reason.rfind("dead path", 0) == 0 ||
                             reason.rfind("cannot connect", 0) == 0 || code == kCloseAbnormal);
  if (permit_pending_) {
    out.push_back(ReportBreaker{retryable ? BreakerOutcome::Failure : BreakerOutcome::Cancelled,
                                path_down_ ? FailureSource::Network : FailureSource::Service});
    permit_pending_ = false;
  } else if (path_down_) {
    out.push_back(PathLost{});
  }
  stats_.failures++;
  stats_.last_error = reason;
  set_phase(retryable ? LivePhase::Down : LivePhase::Fatal, out);
  Health health{false, reason, code, retryable, session_id_};
  health.restarting = restarting;
  out.push_back(health);
  if (!down_since_)
    down_since_ = now;
  outage_reason_ = reason;
  outage_cause_ = !retryable                                    ? "server-error"
                  : reason.rfind("cannot connect", 0) == 0      ? "connect-failed"
                  : reason.rfind("HTTP", 0) == 0 || code >= 400 ? "server-error"
                                                                : "disconnected";
  if (retryable && !supervised_ && !outage_warned_) {
    /* Alone, nobody else tells the user; a supervisor warns for its pipeline. */
    outage_warned_ = true;
    out.push_back(Warn{WarnKind::Outage, "Deepgram's live API failed: " + reason,
                       "reconnecting with backoff; audio is kept up to replay-window and "
                       "replayed (max-outage bounds the wait)"});
  }

  if (supervised_) {
    /* The supervisor holds every un-acked buffer and replays it elsewhere. */
    clear_unsent();
  } else if (ledger_) {
    /* Replay what the dead connection never acknowledged, before newer audio. */
    auto takeover = ledger_->take_all();
    for (const auto &r : takeover.lost)
      report_dropped(r.start, r.duration(), "replay-window",
                     "the connection failed holding more unacknowledged audio than "
                     "replay-window",
                     now, out);
    for (auto it = takeover.replay.rbegin(); it != takeover.replay.rend(); ++it) {
      unsent_duration_ += it->duration;
      stats_.audio_replayed += it->duration;
      unsent_.push_front(Pending{it->start, it->duration, std::move(it->payload)});
    }
  }
  if (!retryable) {
    out.push_back(Fatal{"", "", supervised_});
    drop_held(reason, now, out); /* an ERROR is on the bus; nothing lost silently */
    finish_drain(false, out);
    return;
  }
  if (!settings_.reconnect && !supervised_) {
    for (const auto &p : unsent_)
      report_dropped(p.pts, p.duration, "disconnected",
                     "the connection failed and reconnect is off", now, out);
    clear_unsent();
    finish_drain(false, out);
    return;
  }
  schedule_reconnect(now, out);
}

void LiveSession::schedule_reconnect(uint64_t now, LiveActions &out) {
  if (retry_scheduled_ || supervised_ || !settings_.reconnect || !running_)
    return;
  auto delay = backoff_delay(settings_.retry_backoff, attempt_, random_());
  attempt_++;
  retry_scheduled_ = true;
  out.push_back(ScheduleRetry{now + static_cast<uint64_t>(delay.count()) * kMillisecond, attempt_});
}

LiveActions LiveSession::on_retry_due(uint64_t) {
  LiveActions out;
  retry_scheduled_ = false;
  if (phase_ == LivePhase::Down)
    connect(out);
  return out;
}

LiveActions LiveSession::on_path_restored(uint64_t) {
  LiveActions out;
  if (!path_down_ || phase_ != LivePhase::Down)
    return out;
  path_down_ = false;
  out.push_back(Log{LogLevel::Info, "the network path to Deepgram works again"});
  if (supervised_) {
    out.push_back(PathRestored{session_id_}); /* the supervisor decides */
    return out;
  }
  if (retry_scheduled_) {
    out.push_back(CancelRetry{});
    retry_scheduled_ = false;
  }
  connect(out);
  return out;
}

LiveActions LiveSession::on_reconnect_request(uint64_t) {
  LiveActions out;
  if (phase_ == LivePhase::Open) {
    out.push_back(Health{true, "connected", 0, true, session_id_});
  } else if (phase_ != LivePhase::Connecting) {
    reported_breaker_open_ = false;
    connect(out);
  }
  return out;
}

/* Alone: an outage longer than max-outage ends with an ERROR. */
void LiveSession::give_up_if_due(uint64_t now, LiveActions &out) {
  int64_t limit = settings_.max_outage_ms;
  if (limit < 0)
    limit = live_input_ ? 0 : kNonLiveMaxOutageMs;
  if (supervised_ || limit == 0 || !down_since_ || phase_ == LivePhase::Fatal ||
      now - *down_since_ < static_cast<uint64_t>(limit) * kMillisecond)
    return;
  std::string last = stats_.last_error;
  out.push_back(Fatal{"Deepgram's live API could not be used for " + std::to_string(limit / 1000) +
                          " s (max-outage): " + last,
                      "set max-outage to wait longer (0: forever)", false});
  set_phase(LivePhase::Fatal, out);
  if (retry_scheduled_) {
    out.push_back(CancelRetry{});
    retry_scheduled_ = false;
  }
  drop_held("gave up after max-outage: " + last, now, out);
  finish_drain(false, out);
}

} // namespace dgf
