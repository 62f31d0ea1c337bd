#include "failover_core.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace dgf {
namespace {

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMs = 1000000;
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
  }
  return "?";
}

FailoverCore::FailoverCore(FailoverSettings settings, Random random)
    : settings_(settings), random_(random ? std::move(random) : Random(default_unit_random)),
      ledger_(settings.replay_window,
              [](const PayloadRef &p, uint64_t skip) { return p ? p->trimmed(skip) : p; }) {}

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
  return started_ && !eos_ && mode_ != FailoverMode::ForceBatch;
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
                             FailoverActions &out) {
  if (duration == 0)
    return;
  stats_.dropped += duration;
  stats_.drops++;
  out.push_back(act::PostDropped{start, duration, reason});
}

void FailoverCore::drop(uint64_t start, uint64_t duration, const std::string &reason,
                        FailoverActions &out) {
  merger_.advance_live_edge(start + duration);
  if (drop_run_ && drop_run_->end == start && drop_reason_ == reason &&
      drop_run_->duration() < kDropRunMax) {
    drop_run_->end = start + duration;
    return;
  }
  flush_drop_run(out);
  drop_run_ = TimeRange{start, start + duration};
  drop_reason_ = reason;
}

void FailoverCore::flush_drop_run(FailoverActions &out) {
  if (!drop_run_)
    return;
  post_drop(drop_run_->start, drop_run_->duration(), drop_reason_, out);
  drop_run_.reset();
}

void FailoverCore::route_stream(uint64_t pts, uint64_t duration, PayloadRef payload,
                                FailoverActions &out) {
  ledger_.append(pts, duration, payload);
  merger_.routed(Branch::Stream, pts, duration);
  stats_.stream_audio += duration;
  out.push_back(
      act::PushAudio{Branch::Stream, pts, duration, std::move(payload), false, stream_discont_});
  stream_discont_ = false;
}

void FailoverCore::route_batch(uint64_t pts, uint64_t duration, PayloadRef payload, bool replay,
                               FailoverActions &out) {
  if (!replay)
    merger_.routed(Branch::Batch, pts, duration); /* replays were owed when taken over */
  bool discont = batch_end_ && *batch_end_ != pts;
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
  while (!pending_replay_.empty()) {
    Ledger::Entry e = std::move(pending_replay_.front());
    pending_replay_.pop_front();
    route_batch(e.start, e.duration, std::move(e.payload), true, out);
  }
}

/* ---- transitions -------------------------------------------------------- */

void FailoverCore::start(uint64_t now, FailoverActions &out) {
  started_ = true;
  if (mode_ == FailoverMode::ForceBatch) {
    degrade("mode force-batch", 0, now, out);
  } else if (breaker_.state == BreakerState::Open && state_ == FailoverState::Streaming) {
    /* Another pipeline found the service down: don't even try to connect. */
    degrade("breaker open", 0, now, out);
  } else if (state_ == FailoverState::Degraded && recovery_wanted() && !scheduled_at_) {
    schedule_attempt(now, out); /* degraded before the first buffer, or after a seek */
  }
}

void FailoverCore::degrade(const std::string &reason, int code, uint64_t now,
                           FailoverActions &out) {
  if (state_ == FailoverState::Degraded)
    return;
  /* Everything the stream has not acknowledged goes to batch, before any
   * newer audio; what the window could not keep is reported, never lost
   * silently. */
  Ledger::Takeover takeover = ledger_.take_all();
  merger_.abandon(Branch::Stream);
  for (const TimeRange &r : takeover.lost)
    post_drop(r.start, r.duration(), "replay-window", out);
  for (auto &e : takeover.replay) {
    if (mode_ == FailoverMode::ForceStream) {
      post_drop(e.start, e.duration, "stream failed (mode force-stream)", out);
      continue;
    }
    merger_.routed(Branch::Batch, e.start, e.duration);
    pending_replay_.push_back(std::move(e));
  }
  stream_from_ = kNone; /* late results of the dead session would duplicate the replay */
  cut_pending_ = false;
  cut_wait_from_.reset();
  if (!outage_open_) {
    outage_open_ = true;
    degraded_since_ = now;
    period_batch_audio_ = 0;
    period_replayed_ = 0;
    stats_.degraded++;
    out.push_back(act::PostDegraded{reason, code, breaker_state_name(breaker_.state)});
  }
  set_state(FailoverState::Degraded, out);
  if (recovery_wanted())
    schedule_attempt(now, out);
}

void FailoverCore::declare_recovered(uint64_t now, FailoverActions &out) {
  flush_drop_run(out);
  set_state(FailoverState::Streaming, out);
  attempt_ = 0;
  if (!outage_open_)
    return;
  outage_open_ = false;
  uint64_t duration = now > degraded_since_ ? now - degraded_since_ : 0;
  stats_.time_degraded += duration;
  stats_.recovered++;
  out.push_back(act::PostRecovered{duration, period_batch_audio_, period_replayed_});
}

/* ---- streaming-thread inputs --------------------------------------------- */

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
  if (!started_)
    start(now, out);
  drain_pending(out);
  if (awaiting_cut() && cut_due(pts, quiet_before)) {
    /* The cut: batch finishes everything before T, the stream takes T on. */
    cut_pending_ = false;
    cut_wait_from_.reset();
    cut_at_ = pts;
    stream_from_ = pts;
    stream_discont_ = true;
    ledger_.clear();
    if (batch_dirty_) {
      pending_flush_id_ = next_flush_id_++;
      if (next_flush_id_ == 0)
        next_flush_id_ = 1; /* 0 means "no flush" on the wire */
      batch_dirty_ = false;
      out.push_back(act::SendFlush{pending_flush_id_, "recovered"});
    }
  }
  if (state_ != FailoverState::Degraded && !cut_pending_) {
    flush_drop_run(out);
    route_stream(pts, duration, std::move(payload), out);
  } else if (mode_ == FailoverMode::ForceStream) {
    drop(pts, duration, "stream down (mode force-stream)", out);
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

FailoverActions FailoverCore::on_eos(uint64_t /*now*/) {
  FailoverActions out;
  eos_ = true;
  flush_drop_run(out);
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
    post_drop(r.start, r.duration(), "batch drain-timeout (no caption on the text pad)", out);
  merger_.abandon(Branch::Batch);
  return out;
}

FailoverActions FailoverCore::on_stream_drain_timeout(uint64_t now) {
  FailoverActions out;
  stream_drained_ = true;
  if (state_ != FailoverState::Degraded)
    degrade("stream drain timeout", 0, now, out);
  drain_pending(out);
  return out;
}

/* ---- reports from the branches (any thread) ------------------------------ */

FailoverActions FailoverCore::on_health(Branch branch, const HealthReport &health, uint64_t now) {
  FailoverActions out;
  if (branch != Branch::Stream)
    return out; /* batch retries on its own; its health does not route audio */
  if (!health.healthy) {
    /* From recovering this re-enters degraded without a second message. */
    if (state_ != FailoverState::Degraded)
      degrade(health.reason, health.code, now, out);
    return out;
  }
  switch (state_) {
  case FailoverState::Streaming:
    if (stream_session_ != health.session_id)
      stream_session_ = health.session_id; /* the first connection */
    break;
  case FailoverState::Degraded:
    if (!recovery_wanted())
      break;
    stream_session_ = health.session_id;
    cut_pending_ = true;
    cut_wait_from_.reset();
    set_state(FailoverState::Recovering, out);
    scheduled_at_.reset();
    out.push_back(act::CancelRecovery{});
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
    if (state_ == FailoverState::Degraded || cut_pending_ || !accept_stream(t.session_id) ||
        t.start < stream_from_) {
      stats_.ignored_stream++;
      return out;
    }
    if (state_ == FailoverState::Recovering)
      declare_recovered(now, out); /* the new session answered for live audio >= T */
  }
  merger_.add_final(Caption{t.start, t.duration, t.text, branch, t.session_id});
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
  }
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
  mode_ = mode;
  if (!started_)
    return out;
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

std::vector<CaptionOutput> FailoverCore::take_text() {
  return merger_.take();
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
  fresh.outage_open_ = outage_open_;
  fresh.degraded_since_ = degraded_since_;
  fresh.period_batch_audio_ = period_batch_audio_;
  fresh.period_replayed_ = period_replayed_;
  fresh.state_ = outage_open_ ? FailoverState::Degraded : FailoverState::Streaming;
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
