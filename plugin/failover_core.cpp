/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "failover_core.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace dgf {
namespace {

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMs = 1000000;
/* Drops while the stream is down (force-stream) are reported each second. */
constexpr uint64_t kDropRunMax = 1000 * kMs;
/* Even a jittered draw of 0 waits a little: no tight reconnect loop. */
constexpr std::chrono::milliseconds kMinRetry{10};

} // namespace

const char *failover_state_name(FailoverState state) {
  switch (state) {
  case FailoverState::Streaming:
    return "streaming";
  case FailoverState::Degraded:
    return "degraded";
  case FailoverState::Recovering:
    return "recovering";
  case FailoverState::Batch:
    return "batch";
  }
  return "?";
}

const char *failover_mode_name(FailoverMode mode) {
  switch (mode) {
  case FailoverMode::Auto:
    return "auto";
  case FailoverMode::ForceStream:
    return "force-stream";
  case FailoverMode::ForceBatch:
    return "force-batch";
  case FailoverMode::StreamFirst:
    return "stream-first";
  }
  return "?";
}

FailoverCore::FailoverCore(FailoverSettings settings, Random random)
    : settings_(settings), random_(random ? std::move(random) : Random(default_unit_random)),
      ledger_(settings.replay_window,
              [](const PayloadRef &p, uint64_t skip) { return p ? p->trimmed(skip) : p; }),
      drops_(kDropRunMax) {}

void FailoverCore::set_settings(const FailoverSettings &settings) {
  settings_ = settings;
  ledger_.set_window(settings.replay_window);
}

/* ---- helpers ------------------------------------------------------------ */

void FailoverCore::set_state(FailoverState state, FailoverActions &out) {
  if (state_ == state)
    return;
  state_ = state;
  out.push_back(act::StateChanged{state});
}

bool FailoverCore::recovery_wanted() const {
  return started_ && !eos_ && mode_ != FailoverMode::ForceBatch && !batch_primary() &&
         !stream_permanent_ && !fatal_;
}

bool FailoverCore::accept_stream(const std::string &session_id) const {
  return stream_session_.empty() || session_id.empty() || session_id == stream_session_;
}

uint64_t FailoverCore::backoff_ns(uint32_t attempt) {
  auto delay = backoff_delay(settings_.recovery_backoff, attempt, random_(),
                             std::min(kMinRetry, settings_.recovery_backoff.base));
  return static_cast<uint64_t>(delay.count()) * kMs;
}

void FailoverCore::schedule(uint64_t at, FailoverActions &out) {
  scheduled_at_ = at;
  act::ScheduleRecovery schedule;
  schedule.at = at;
  out.emplace_back(std::in_place_type<act::ScheduleRecovery>, schedule);
}

void FailoverCore::schedule_attempt(uint64_t now, FailoverActions &out) {
  uint64_t delay = backoff_ns(attempt_);
  if (breaker_.state == BreakerState::Open)
    delay = std::max(delay, breaker_.reopens_in); /* asking earlier only gets refused */
  schedule(now + delay, out);
}

void FailoverCore::post_drop(uint64_t start, uint64_t duration, const std::string &reason,
                             const std::string &detail, FailoverActions &out, uint32_t buffers) {
  if (duration == 0)
    return;
  stats_.dropped += duration;
  stats_.drops++;
  out.push_back(act::PostDropped{start, duration, reason, buffers, detail});
}

void FailoverCore::drop(uint64_t start, uint64_t duration, const std::string &reason,
                        const std::string &detail, FailoverActions &out) {
  merger_.advance_live_edge(start + duration);
  if (auto done = drops_.add(start, duration, reason, detail))
    post_drop(done->start, done->duration, done->reason, done->detail, out, done->buffers);
}

void FailoverCore::flush_drop_run(FailoverActions &out) {
  if (auto done = drops_.flush())
    post_drop(done->start, done->duration, done->reason, done->detail, out, done->buffers);
}

void FailoverCore::route_stream(uint64_t pts, uint64_t duration, PayloadRef payload,
                                FailoverActions &out) {
  ledger_.append(pts, duration, payload);
  merger_.routed(Branch::Stream, pts, duration);
  stats_.stream_audio += duration;
  if (restart_pending_)
    return; /* held: it goes to the new session with the rest of the ledger */
  out.push_back(
      act::PushAudio{Branch::Stream, pts, duration, std::move(payload), false, stream_discont_});
  stream_discont_ = false;
}

void FailoverCore::route_batch(uint64_t pts, uint64_t duration, PayloadRef payload, bool replay,
                               FailoverActions &out) {
  if (!replay)
    merger_.routed(Branch::Batch, pts, duration); /* replays were owed when taken over */
  bool discont = batch_end_ && !continues(*batch_end_, pts);
  batch_end_ = pts + duration;
  batch_dirty_ = true;
  stats_.batch_audio += duration;
  period_batch_audio_ += duration;
  if (replay) {
    stats_.replayed += duration;
    period_replayed_ += duration;
  }
  out.push_back(act::PushAudio{Branch::Batch, pts, duration, std::move(payload), replay, discont});
}

void FailoverCore::drain_pending(FailoverActions &out) {
  bool first = true;
  while (!stream_replay_.empty()) {
    Ledger::Entry e = std::move(stream_replay_.front());
    stream_replay_.pop_front();
    ledger_.append(e.start, e.duration, e.payload); /* owed by the new session now */
    stats_.stream_replayed += e.duration;
    out.push_back(
        act::PushAudio{Branch::Stream, e.start, e.duration, std::move(e.payload), true, first});
    first = false;
  }
  while (!pending_replay_.empty()) {
    Ledger::Entry e = std::move(pending_replay_.front());
    pending_replay_.pop_front();
    route_batch(e.start, e.duration, std::move(e.payload), true, out);
  }
}

/* ---- transitions -------------------------------------------------------- */

void FailoverCore::start(uint64_t now, FailoverActions &out) {
  started_ = true;
  if (batch_primary()) {
    if (!outage_open_)
      set_state(FailoverState::Batch, out); /* a choice, not an outage: no message */
  } else if (mode_ == FailoverMode::ForceBatch) {
    degrade("mode force-batch", 0, now, out);
  } else if (breaker_.state == BreakerState::Open && state_ == FailoverState::Streaming) {
    /* Another pipeline found the service down: don't even try to connect. */
    degrade("breaker open", 0, now, out);
  } else if (state_ == FailoverState::Degraded && recovery_wanted() && !scheduled_at_) {
    schedule_attempt(now, out); /* degraded before the first buffer, or after a seek */
  }
}

void FailoverCore::degrade(const std::string &reason, int code, uint64_t now, FailoverActions &out,
                           bool announce) {
  if (state_ == FailoverState::Degraded || state_ == FailoverState::Batch)
    return;
  /* Everything the stream has not acknowledged goes to batch, before any
   * newer audio; what the window could not keep is reported, never lost
   * silently. */
  Ledger::Takeover takeover = ledger_.take_all();
  merger_.abandon(Branch::Stream);
  for (const TimeRange &r : takeover.lost)
    post_drop(r.start, r.duration(), "replay-window",
              "the stream failed holding more unacknowledged audio than replay-window", out);
  /* A restart's replay not yet pushed is older than what the ledger holds. */
  std::deque<Ledger::Entry> entries = std::move(stream_replay_);
  stream_replay_.clear();
  restart_pending_ = restart_reconnect_due_ = false;
  for (auto &e : takeover.replay)
    entries.push_back(std::move(e));
  for (auto &e : entries) {
    if (mode_ == FailoverMode::ForceStream) {
      post_drop(e.start, e.duration, "force-stream",
                "the stream failed before acknowledging it, and mode force-stream sends nothing "
                "to the pre-recorded API",
                out);
      continue;
    }
    merger_.routed(Branch::Batch, e.start, e.duration);
    pending_replay_.push_back(std::move(e));
  }
  stream_from_ = kNone; /* late results of the dead session would duplicate the replay */
  cut_pending_ = false;
  cut_wait_from_.reset();
  if (!outage_open_ && announce) {
    outage_open_ = true;
    degraded_since_ = now;
    period_batch_audio_ = 0;
    period_replayed_ = 0;
    stats_.degraded++;
    out.push_back(act::PostDegraded{reason, code, breaker_state_name(breaker_.state)});
    if (mode_ != FailoverMode::ForceBatch) {
      std::string what = stream_permanent_ ? "refused for good" : "failed";
      std::string then = mode_ == FailoverMode::ForceStream ? "audio is dropped (mode force-stream)"
                         : stream_permanent_ ? "captions continue from the pre-recorded API"
                                             : "captions continue from the pre-recorded API "
                                               "until it recovers";
      out.push_back(act::Warn{"Deepgram's live API " + what + ": " + reason + "; " + then,
                              "stt/degraded posted; stt/recovered follows when it is back"});
    }
  }
  set_state(FailoverState::Degraded, out);
  if (recovery_wanted())
    schedule_attempt(now, out);
}

void FailoverCore::declare_recovered(uint64_t now, FailoverActions &out) {
  flush_drop_run(out);
  set_state(batch_primary() ? FailoverState::Batch : FailoverState::Streaming, out);
  attempt_ = 0;
  update_outage(now, out);
  if (!outage_open_)
    return;
  outage_open_ = false;
  uint64_t duration = now > degraded_since_ ? now - degraded_since_ : 0;
  stats_.time_degraded += duration;
  stats_.recovered++;
  out.push_back(act::PostRecovered{duration, period_batch_audio_, period_replayed_});
}

/* ---- streaming-thread inputs --------------------------------------------- */

uint32_t FailoverCore::take_flush_id() {
  uint32_t id = next_flush_id_++;
  if (next_flush_id_ == 0)
    next_flush_id_ = 1; /* 0 means "no flush" on the wire */
  return id;
}

bool FailoverCore::cut_due(uint64_t pts, uint64_t quiet_before) {
  if (!cut_wait_from_)
    cut_wait_from_ = pts;
  if (mode_ == FailoverMode::ForceStream || settings_.cut_pause == 0 ||
      quiet_before >= settings_.cut_pause) {
    stats_.cuts_at_pause++;
    return true;
  }
  /* Steady speech: a split word is better than never coming back. */
  if (pts >= *cut_wait_from_ + settings_.cut_max_wait) {
    stats_.cuts_forced++;
    return true;
  }
  return false;
}

FailoverActions FailoverCore::on_buffer(uint64_t pts, uint64_t duration, PayloadRef payload,
                                        uint64_t now, uint64_t quiet_before) {
  FailoverActions out;
  if (fatal_) {
    /* an ERROR is on the bus: the pipeline stops */
    drop(pts, duration, "error", "an ERROR stopped transcription", out);
    return out;
  }
  if (!started_)
    start(now, out);
  drain_pending(out);
  if (batch_primary()) {
    flush_drop_run(out);
    route_batch(pts, duration, std::move(payload), false, out);
    return out;
  }
  /* The source paused (a jump in PTS, no GAP event): that silence counts. */
  uint64_t paused = input_end_ && pts > *input_end_ ? pts - *input_end_ : 0;
  input_end_ = pts + duration;
  bool cut_now = awaiting_cut() && cut_due(pts, std::max(quiet_before, paused));
  if (catch_up_due_ && awaiting_cut() && !cut_now && batch_dirty_) {
    /* Batch cuts its chunk here and uploads it: the outage's captions come
     * now, not after the wait for a pause to cut at (cut_max_wait). */
    batch_dirty_ = false;
    stats_.catch_ups++;
    out.push_back(act::SendFlush{take_flush_id(), "catch-up"});
  }
  catch_up_due_ = false;
  if (cut_now) {
    /* The cut: batch finishes everything before T, the stream takes T on. */
    cut_pending_ = false;
    cut_wait_from_.reset();
    cut_at_ = pts;
    stream_from_ = pts;
    stream_discont_ = true;
    ledger_.clear();
    if (batch_dirty_) {
      pending_flush_id_ = take_flush_id();
      batch_dirty_ = false;
      out.push_back(act::SendFlush{pending_flush_id_, "recovered"});
    }
  }
  if (restart_reconnect_due_) {
    /* After every buffer pushed before it: the sink drops those while down. */
    restart_reconnect_due_ = false;
    out.push_back(act::SendReconnect{0});
  }
  if (state_ != FailoverState::Degraded && !cut_pending_) {
    flush_drop_run(out);
    route_stream(pts, duration, std::move(payload), out);
  } else if (mode_ == FailoverMode::ForceStream) {
    drop(pts, duration, "force-stream",
         "the stream is down, and mode force-stream sends nothing to the pre-recorded API", out);
  } else {
    flush_drop_run(out);
    route_batch(pts, duration, std::move(payload), false, out);
  }
  return out;
}

FailoverActions FailoverCore::on_stream_push_failed(const std::string &why, uint64_t now) {
  FailoverActions out;
  if (state_ == FailoverState::Degraded)
    return out;
  degrade("push failed: " + why, 0, now, out);
  drain_pending(out); /* on the streaming thread: replay right away */
  return out;
}

void FailoverCore::on_gap(uint64_t start, uint64_t duration) {
  merger_.advance_live_edge(start + duration);
}

FailoverActions FailoverCore::on_eos(uint64_t now) {
  FailoverActions out;
  eos_ = true;
  flush_drop_run(out);
  if (restart_pending_) {
    /* The stream is between sessions and gets no more audio after EOS:
     * what it owes goes to batch (no stt/degraded: nothing failed). */
    degrade("the live connection was restarting at EOS", 0, now, out, false);
  }
  if (scheduled_at_) {
    scheduled_at_.reset();
    out.push_back(act::CancelRecovery{});
  }
  drain_pending(out);
  return out;
}

FailoverActions FailoverCore::take_pending(uint64_t /*now*/) {
  FailoverActions out;
  drain_pending(out);
  return out;
}

FailoverActions FailoverCore::on_batch_drain_timeout(uint64_t /*now*/) {
  FailoverActions out;
  for (const TimeRange &r : merger_.owed(Branch::Batch))
    post_drop(r.start, r.duration(), "drain-timeout",
              "the pre-recorded branch gave no caption for it within drain-timeout", out);
  merger_.abandon(Branch::Batch);
  return out;
}

FailoverActions FailoverCore::on_stream_drain_timeout(uint64_t now) {
  FailoverActions out;
  stream_drained_ = true;
  if (!batch_primary())
    degrade("stream drain timeout", 0, now, out);
  drain_pending(out);
  return out;
}

/* ---- reports from the branches (any thread) ------------------------------ */

FailoverActions FailoverCore::on_health(Branch branch, const SinkHealth &health, uint64_t now) {
  FailoverActions out;
  if (fatal_)
    return out;
  if (branch == Branch::Batch) {
    /* Batch retries on its own; its health routes no audio, but while it is
     * the primary branch its outage is the degraded period. */
    batch_healthy_ = health.healthy;
    if (!health.healthy)
      batch_reason_ = health.reason;
    if (!health.healthy && !health.retryable && !batch_permanent_) {
      batch_permanent_ = true;
      if (batch_primary() || stream_permanent_ || mode_ == FailoverMode::ForceBatch) {
        go_fatal("Deepgram refused the audio for good: " + health.reason,
                 stream_permanent_ ? "live API: " + stream_reason_ : "", out);
        return out;
      }
      out.push_back(act::Warn{"Deepgram's pre-recorded API refused for good: " + health.reason +
                                  "; there is no fallback while it does",
                              "the live API carries the captions alone"});
    }
    if (batch_primary())
      on_batch_primary_health(health, now, out);
    update_outage(now, out);
    return out;
  }
  if (batch_primary())
    return out; /* the stream branch gets no audio */
  if (!health.healthy) {
    stream_reason_ = health.reason;
    if (health.restarting && health.retryable && state_ == FailoverState::Streaming && !eos_ &&
        !restart_pending_ && mode_ != FailoverMode::ForceBatch) {
      /* Not an outage: the sink reconnects at once (the live API is fine)
       * and the un-acked audio goes to the new session, not to batch. */
      restart_pending_ = restart_reconnect_due_ = true;
      stats_.stream_restarts++;
      return out;
    }
    bool attempt_failed = reconnect_outstanding_ || state_ == FailoverState::Recovering;
    reconnect_outstanding_ = false;
    if (!health.retryable && !stream_permanent_) {
      stream_permanent_ = true; /* no recovery attempts: each would fail the same way */
      scheduled_at_.reset();
      out.push_back(act::CancelRecovery{});
      if (batch_permanent_ || mode_ == FailoverMode::ForceStream) {
        go_fatal("Deepgram refused the audio for good: " + health.reason,
                 batch_permanent_ ? "pre-recorded API: " + batch_reason_ : "", out);
        return out;
      }
    }
    if (attempt_failed && state_ != FailoverState::Streaming)
      recovery_failed(health, now, out);
    /* From recovering this re-enters degraded without a second message. */
    if (state_ != FailoverState::Degraded)
      degrade(health.reason, health.code, now, out);
    update_outage(now, out);
    return out;
  }
  reconnect_outstanding_ = false;
  switch (state_) {
  case FailoverState::Batch:
    break; /* not reached: batch primary returned above */
  case FailoverState::Streaming:
    if (restart_pending_ && !restart_reconnect_due_ && health.session_id != stream_session_) {
      /* The restarted session: everything un-acked, held audio included,
       * goes to it in order before any newer audio. */
      restart_pending_ = false;
      Ledger::Takeover takeover = ledger_.take_all();
      for (const TimeRange &r : takeover.lost)
        post_drop(r.start, r.duration(), "replay-window",
                  "the stream restarted holding more unacknowledged audio than replay-window", out);
      for (auto &e : takeover.replay)
        stream_replay_.push_back(std::move(e));
    }
    if (stream_session_ != health.session_id)
      stream_session_ = health.session_id; /* the first connection, or a restart's */
    break;
  case FailoverState::Degraded:
    if (!recovery_wanted())
      break;
    stream_session_ = health.session_id;
    cut_pending_ = true;
    cut_wait_from_.reset();
    /* The path is back: the outage's backlog need not wait for the cut. */
    catch_up_due_ = true;
    set_state(FailoverState::Recovering, out);
    scheduled_at_.reset();
    out.push_back(act::CancelRecovery{});
    update_outage(now, out);
    break;
  case FailoverState::Recovering:
    if (health.session_id == stream_session_)
      break; /* an answer to a Reconnect racing the first one */
    if (cut_pending_) {
      stream_session_ = health.session_id;
    } else {
      /* The session we cut to is gone without a word: fail it, take this one. */
      degrade("session replaced", 0, now, out);
      FailoverActions more = on_health(branch, health, now);
      out.insert(out.end(), more.begin(), more.end());
    }
    break;
  }
  return out;
}

void FailoverCore::on_batch_primary_health(const SinkHealth &health, uint64_t now,
                                           FailoverActions &out) {
  if (!health.healthy && !outage_open_) {
    outage_open_ = true;
    degraded_since_ = now;
    period_batch_audio_ = 0;
    period_replayed_ = 0;
    stats_.degraded++;
    out.push_back(act::PostDegraded{"pre-recorded API: " + health.reason, health.code,
                                    breaker_state_name(breaker_.state)});
    out.push_back(act::Warn{"Deepgram's pre-recorded API failed: " + health.reason +
                                "; the file waits for it, nothing is lost",
                            "stt/degraded posted; stt/recovered follows when it answers again"});
    set_state(FailoverState::Degraded, out);
  } else if (health.healthy && outage_open_) {
    declare_recovered(now, out);
  }
}

void FailoverCore::recovery_failed(const SinkHealth &health, uint64_t now, FailoverActions &out) {
  stats_.recoveries_failed++;
  stats_.last_retry_reason = health.reason;
  out.push_back(act::PostRecoveryFailed{attempt_, health.reason, health.code});
  if (last_recovery_warning_ && now < *last_recovery_warning_ + settings_.warn_interval)
    return; /* the bus message says it each time; the WARNING now and then */
  last_recovery_warning_ = now;
  out.push_back(act::Warn{"Attempt " + std::to_string(attempt_) +
                              " to get back to Deepgram's live API failed: " + health.reason,
                          "captions continue from the pre-recorded API; stt/recovery-failed "
                          "reports every attempt"});
}

bool FailoverCore::nothing_transcribes() const {
  if (fatal_ || !started_)
    return false;
  if (batch_primary() || mode_ == FailoverMode::ForceBatch)
    return !batch_healthy_;
  bool stream_down =
      state_ == FailoverState::Degraded || (state_ == FailoverState::Recovering && cut_pending_);
  return stream_down && (mode_ == FailoverMode::ForceStream || !batch_healthy_);
}

void FailoverCore::update_outage(uint64_t now, FailoverActions &out) {
  bool nothing = nothing_transcribes();
  if (nothing && !nothing_since_) {
    nothing_since_ = now;
    if (!batch_primary() && mode_ != FailoverMode::ForceBatch)
      out.push_back(act::Warn{
          "Neither Deepgram API transcribes now: live: " + stream_reason_ +
              "; pre-recorded: " + (batch_healthy_ ? std::string("not used") : batch_reason_),
          "audio waits in the pre-recorded branch (or is reported in stt/audio-dropped) until "
          "one of them is back"});
    if (settings_.max_outage)
      out.push_back(act::ScheduleGiveUp{now + settings_.max_outage});
  } else if (!nothing && nothing_since_) {
    nothing_since_.reset();
    out.push_back(act::CancelGiveUp{});
  }
}

FailoverActions FailoverCore::on_give_up_due(uint64_t now) {
  FailoverActions out;
  if (fatal_ || !nothing_since_ || !settings_.max_outage ||
      now < *nothing_since_ + settings_.max_outage)
    return out;
  std::string detail = "live API: " + (stream_reason_.empty() ? "not used" : stream_reason_) +
                       "; pre-recorded API: " + (batch_reason_.empty() ? "ok" : batch_reason_);
  go_fatal("Deepgram could not transcribe for " +
               std::to_string(settings_.max_outage / 1000000000ull) + " s (max-outage)",
           detail, out);
  return out;
}

void FailoverCore::go_fatal(const std::string &message, const std::string &detail,
                            FailoverActions &out) {
  if (fatal_)
    return;
  fatal_ = true;
  if (scheduled_at_) {
    scheduled_at_.reset();
    out.push_back(act::CancelRecovery{});
  }
  nothing_since_.reset();
  out.push_back(act::CancelGiveUp{});
  out.push_back(act::Fatal{message, detail});
}

FailoverActions FailoverCore::set_input_live(bool live, uint64_t now) {
  FailoverActions out;
  bool was = batch_primary();
  input_known_ = true;
  input_live_ = live;
  primary_changed(was, now, out);
  return out;
}

void FailoverCore::primary_changed(bool was_batch_primary, uint64_t now, FailoverActions &out) {
  bool is = batch_primary();
  if (!started_ || is == was_batch_primary)
    return;
  if (is) {
    /* Stream audio not yet acked goes to batch first, as in an outage. */
    degrade("input is not live", 0, now, out, false);
    scheduled_at_.reset();
    out.push_back(act::CancelRecovery{});
    if (!outage_open_)
      set_state(FailoverState::Batch, out);
  } else if (state_ == FailoverState::Batch || state_ == FailoverState::Degraded) {
    /* Back to the stream the usual way: connect, then cut at a pause. */
    set_state(FailoverState::Degraded, out);
    attempt_ = 0;
    if (recovery_wanted())
      schedule(now, out);
  }
}

bool FailoverCore::has_room(uint64_t duration) const {
  if (batch_primary())
    return true; /* the batch sink holds the stream back itself */
  if (state_ == FailoverState::Degraded)
    return mode_ != FailoverMode::ForceStream; /* force-stream waits for the stream */
  if (cut_pending_)
    return true;
  uint64_t held = ledger_.held();
  return held == 0 || held + duration <= settings_.replay_window;
}

FailoverActions FailoverCore::on_ack(Branch branch, const AckReport &ack, uint64_t now) {
  FailoverActions out;
  if (branch == Branch::Batch) {
    if (ack.flush_id && ack.flush_id == pending_flush_id_)
      pending_flush_id_ = 0;
    if (ack.position != kNone)
      merger_.acked(Branch::Batch, ack.position);
    if (ack.drained) {
      batch_drained_ = true;
      merger_.abandon(Branch::Batch);
    }
    return out;
  }
  bool current =
      state_ != FailoverState::Degraded && !cut_pending_ && accept_stream(ack.session_id);
  if (current && ack.position != kNone) {
    ledger_.ack(ack.position);
    merger_.acked(Branch::Stream, ack.position);
    if (state_ == FailoverState::Recovering && ack.position > cut_at_)
      declare_recovered(now, out);
  }
  if (ack.drained) {
    /* The sink finished with all its audio (transcribed or reported). */
    stream_drained_ = true;
    if (current) {
      ledger_.clear();
      merger_.abandon(Branch::Stream);
    }
  }
  return out;
}

FailoverActions FailoverCore::on_transcript(Branch branch, const TranscriptReport &t,
                                            uint64_t now) {
  FailoverActions out;
  if (!t.is_final)
    return out; /* interims would be replaced: captions carry finals only */
  if (branch == Branch::Stream) {
    if (batch_primary() || state_ == FailoverState::Degraded || cut_pending_ ||
        !accept_stream(t.session_id) || t.start < stream_from_) {
      stats_.ignored_stream++;
      return out;
    }
    if (state_ == FailoverState::Recovering)
      declare_recovered(now, out); /* the new session answered for live audio >= T */
  }
  Caption caption{t.start, t.duration, t.text, branch, t.session_id};
  caption.details = t.details;
  merger_.add_final(std::move(caption));
  return out;
}

/* ---- breaker, timer, operator --------------------------------------------- */

FailoverActions FailoverCore::on_breaker(const BreakerView &view, uint64_t now) {
  FailoverActions out;
  BreakerState before = breaker_.state;
  breaker_ = view;
  /* A healthy stream is kept when the breaker opens because of other
   * pipelines: it works, and dropping it would only add load elsewhere. */
  if (state_ == FailoverState::Degraded && recovery_wanted() && before == BreakerState::Open &&
      view.state != BreakerState::Open) {
    /* Jittered, so pipelines sharing the breaker do not all ask at once. */
    uint64_t at = now + backoff_ns(0);
    if (!scheduled_at_ || at < *scheduled_at_)
      schedule(at, out);
  } else if (state_ == FailoverState::Degraded && recovery_wanted() &&
             before == BreakerState::HalfOpen && view.state == BreakerState::Closed) {
    uint64_t at = now + static_cast<uint64_t>(random_() * double(settings_.reconnect_spread));
    if (!scheduled_at_ || at < *scheduled_at_)
      schedule(at, out);
  }
  return out;
}

FailoverActions FailoverCore::on_path_restored(uint64_t now) {
  FailoverActions out;
  if (state_ != FailoverState::Degraded || !recovery_wanted())
    return out;
  /* Within a second, jittered: pipelines that saw the network come back
   * together do not all ask at once. */
  uint64_t at = now + static_cast<uint64_t>(random_() * 1e9);
  if (!scheduled_at_ || at < *scheduled_at_)
    schedule(at, out);
  return out;
}

FailoverActions FailoverCore::on_recovery_due(const BreakerView &view, uint64_t now) {
  FailoverActions out;
  breaker_ = view;
  if (state_ != FailoverState::Degraded || !recovery_wanted())
    return out;
  scheduled_at_.reset();
  if (view.state == BreakerState::Open) {
    schedule_attempt(now, out); /* the sink's connect would only be refused */
    return out;
  }
  attempt_++;
  stats_.recovery_attempts++;
  reconnect_outstanding_ = true;
  out.push_back(act::SendReconnect{attempt_});
  /* Also the safety net: no answer at all still leads to another attempt. */
  schedule(now + backoff_ns(attempt_), out);
  return out;
}

FailoverActions FailoverCore::set_mode(FailoverMode mode, uint64_t now) {
  FailoverActions out;
  if (mode == mode_)
    return out;
  FailoverMode old = mode_;
  bool was_batch_primary = batch_primary();
  mode_ = mode;
  if (!started_)
    return out;
  if (was_batch_primary != batch_primary()) {
    primary_changed(was_batch_primary, now, out);
    if (mode == FailoverMode::ForceBatch)
      degrade("mode force-batch", 0, now, out);
    return out;
  }
  if (mode == FailoverMode::ForceBatch) {
    if (state_ != FailoverState::Degraded)
      degrade("mode force-batch", 0, now, out);
    if (scheduled_at_) {
      scheduled_at_.reset();
      out.push_back(act::CancelRecovery{});
    }
  } else if (old == FailoverMode::ForceBatch) {
    if (state_ == FailoverState::Degraded && !eos_) {
      attempt_ = 0;
      schedule(now, out); /* try the stream now */
    }
  } else {
    flush_drop_run(out);
  }
  return out;
}

/* ---- output and state ---------------------------------------------------- */

std::vector<CaptionOutput> FailoverCore::take_text(uint64_t clock_position) {
  return merger_.take(clock_position);
}

std::vector<CaptionOutput> FailoverCore::finish_text() {
  return merger_.finish();
}

void FailoverCore::reset() {
  /* What spans a seek: settings, mode, breaker, counters, and an open outage
   * (so its stt/recovered still comes, exactly once). */
  FailoverCore fresh(settings_, random_);
  fresh.mode_ = mode_;
  fresh.breaker_ = breaker_;
  fresh.stats_ = stats_;
  fresh.input_known_ = input_known_;
  fresh.input_live_ = input_live_;
  fresh.batch_healthy_ = batch_healthy_;
  fresh.stream_permanent_ = stream_permanent_;
  fresh.batch_permanent_ = batch_permanent_;
  fresh.fatal_ = fatal_;
  fresh.outage_open_ = outage_open_;
  fresh.degraded_since_ = degraded_since_;
  fresh.period_batch_audio_ = period_batch_audio_;
  fresh.period_replayed_ = period_replayed_;
  fresh.state_ = outage_open_      ? FailoverState::Degraded
                 : batch_primary() ? FailoverState::Batch
                                   : FailoverState::Streaming;
  fresh.stream_from_ = outage_open_ ? kNone : 0;
  fresh.next_flush_id_ = next_flush_id_;
  *this = std::move(fresh);
}

FailoverStats FailoverCore::stats(uint64_t now) const {
  FailoverStats s = stats_;
  if (outage_open_ && now > degraded_since_)
    s.time_degraded += now - degraded_since_;
  s.ledger_held = ledger_.held();
  s.captions = merger_.stats().captions;
  return s;
}

} // namespace dgf
