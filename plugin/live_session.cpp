/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's live session (live_session.h): connecting, sending,
 * Deepgram's results and the acks they make, failures, reconnecting with
 * replay, lost audio, the EOS drain and giving up after max-outage. */
#include "live_session.h"

#include <algorithm>

namespace dgf {

using namespace dgf::live;

namespace {
constexpr uint64_t kSecond = 1000000000ull;
} // namespace

const char *live_phase_name(LivePhase phase) {
  switch (phase) {
  case LivePhase::Idle:
    return "idle";
  case LivePhase::Connecting:
    return "connecting";
  case LivePhase::Open:
    return "open";
  case LivePhase::Down:
    return "down";
  case LivePhase::Fatal:
    return "error";
  }
  return "?";
}

LiveSession::LiveSession(LiveSessionSettings settings, Random random)
    : settings_(settings), random_(random ? std::move(random) : Random(default_unit_random)) {}

void LiveSession::start(const LiveSessionSettings &settings, bool supervised) {
  settings_ = settings;
  supervised_ = supervised;
  ledger_.reset();
  if (!supervised_)
    ledger_ = std::make_unique<Ledger>(
        live_input_ ? settings_.replay_window : UINT64_MAX,
        [](const LivePayloadRef &p, uint64_t skip) { return p->trimmed(skip); });
  watchdog_.set_settings(settings_.watchdog);
  clear_unsent();
  time_map_.reset(16000);
  running_ = true;
  phase_ = LivePhase::Idle;
  attempt_ = 0;
  eos_ = close_sent_ = permit_pending_ = retry_scheduled_ = false;
  down_since_.reset();
  outage_cause_ = "disconnected";
  outage_reason_.clear();
  outage_warned_ = false;
  reported_breaker_open_ = false;
  encoding_ = settings_.encoding;
  stats_.encoding = encoding_name(encoding_);
}

void LiveSession::set_input_live(bool live) {
  live_input_ = live;
  if (ledger_)
    ledger_->set_window(live ? settings_.replay_window : UINT64_MAX);
}

LiveActions LiveSession::stop(uint64_t) {
  LiveActions out;
  running_ = false;
  if (retry_scheduled_)
    out.push_back(CancelRetry{});
  retry_scheduled_ = false;
  if (phase_ == LivePhase::Open && !close_sent_)
    out.push_back(SendControl{Control::CloseStream});
  if (connected())
    out.push_back(Disconnect{});
  if (permit_pending_)
    out.push_back(ReportBreaker{BreakerOutcome::Cancelled});
  permit_pending_ = false;
  clear_unsent();
  if (ledger_)
    ledger_->clear();
  time_map_.reset(16000);
  phase_ = LivePhase::Idle;
  eos_ = false;
  flush_dropped(out);
  return out;
}

void LiveSession::set_supervised() {
  /* One owner of un-acknowledged audio: the supervisor's ledger holds it and
   * replays it elsewhere, so this sink keeps none. */
  supervised_ = true;
  ledger_.reset();
}

std::string LiveSession::close_reason(int code, const std::string &reason,
                                      const std::string &error) {
  std::string out = "closed " + std::to_string(code);
  if (!reason.empty())
    out += " " + reason;
  if (!error.empty())
    out += " (" + error + ")";
  return out;
}

void LiveSession::clear_unsent() {
  unsent_.clear();
  unsent_duration_ = 0;
}

void LiveSession::set_phase(LivePhase phase, LiveActions &out) {
  phase_ = phase;
  stats_.state = live_phase_name(phase);
  out.push_back(PhaseChanged{phase});
}

/* ---- lost audio ----------------------------------------------------------- */

/* Reported once per stretch (drop_coalescer.h): the run is posted when it
 * ends, at the latest a second after its last piece (on_tick). */
void LiveSession::report_dropped(uint64_t start, uint64_t duration, const std::string &reason,
                                 const std::string &detail, uint64_t now, LiveActions &out) {
  if (duration == 0)
    return;
  stats_.audio_dropped += duration;
  if (auto done = drops_.add(start, duration, reason, detail))
    out.push_back(Dropped{*done});
  last_drop_ = now;
}

void LiveSession::flush_dropped(LiveActions &out) {
  if (auto done = drops_.flush())
    out.push_back(Dropped{*done});
}

/* Takes everything held for a replay (un-acked in the ledger, and unsent),
 * as time ranges: what is lost when it can no longer be sent. */
TimeRanges LiveSession::take_held() {
  TimeRanges held;
  if (ledger_) {
    auto takeover = ledger_->take_all();
    for (const auto &r : takeover.lost)
      held.insert(r);
    for (const auto &e : takeover.replay)
      held.insert(TimeRange{e.start, e.end()});
  }
  for (const auto &p : unsent_)
    held.insert(TimeRange{p.pts, p.pts + p.duration});
  clear_unsent();
  return held;
}

void LiveSession::drop_held(const std::string &why, uint64_t now, LiveActions &out) {
  TimeRanges held = take_held();
  for (const TimeRange &r : held.list())
    report_dropped(r.start, r.duration(), outage_cause_, why, now, out);
  flush_dropped(out);
}

/* ---- audio ---------------------------------------------------------------- */

LiveActions LiveSession::on_audio(uint64_t pts, uint64_t duration, LivePayloadRef payload,
                                  uint64_t now) {
  LiveActions out;
  if (!running_ || phase_ == LivePhase::Fatal)
    return out;
  if (supervised_ && phase_ == LivePhase::Down) {
    /* The supervisor still holds this audio in its ledger. */
    out.push_back(Log{LogLevel::Debug, "down under a supervisor: audio not sent"});
    return out;
  }
  unsent_.push_back(Pending{pts, duration, std::move(payload)});
  unsent_duration_ += duration;
  /* Live input cannot wait: what replay-window cannot hold goes. Non-live
   * input waited for room in render; a replay queued after that wait may
   * briefly overfill the window, and that audio is kept, not dropped. */
  while (live_input_ && unsent_duration_ > settings_.replay_window && unsent_.size() > 1) {
    Pending &old = unsent_.front();
    report_dropped(old.pts, old.duration, outage_cause_,
                   (outage_reason_.empty() ? std::string("still connecting") : outage_reason_) +
                       "; live input cannot wait longer than replay-window",
                   now, out);
    unsent_duration_ -= old.duration;
    unsent_.pop_front();
  }
  if (phase_ == LivePhase::Idle)
    connect(out);
  else if (phase_ == LivePhase::Open)
    send_pending(now, out);
  return out;
}

void LiveSession::send_pending(uint64_t now, LiveActions &out) {
  if (phase_ != LivePhase::Open)
    return;
  while (!unsent_.empty()) {
    Pending p = std::move(unsent_.front());
    unsent_.pop_front();
    unsent_duration_ -= p.duration;
    out.push_back(SendAudio{p.pts, p.duration, p.payload});
    time_map_.append(p.pts, p.payload->frames());
    if (ledger_)
      ledger_->append(p.pts, p.duration, std::move(p.payload));
    watchdog_.on_audio_sent(now, time_map_.sent_seconds());
    stats_.audio_sent += p.duration;
  }
  if (eos_ && !close_sent_) {
    out.push_back(SendControl{Control::CloseStream});
    close_sent_ = true;
    watchdog_.on_close_sent(now);
  }
}

/* A pause in the source: ask for the words already sent, so they are not
 * held until more audio comes (and nothing stays owed while paused). */
void LiveSession::finalize(uint64_t now, LiveActions &out) {
  if (phase_ != LivePhase::Open || close_sent_ || !watchdog_.finalize_wanted())
    return;
  out.push_back(Log{LogLevel::Debug, "source paused: Finalize"});
  out.push_back(SendControl{Control::Finalize});
  watchdog_.on_finalize_sent(now);
}

LiveActions LiveSession::on_gap(uint64_t now) {
  LiveActions out;
  finalize(now, out);
  return out;
}

LiveActions LiveSession::on_caps(int rate, bool changed, uint64_t now) {
  LiveActions out;
  rate_ = rate;
  have_caps_ = true;
  if (changed && connected()) {
    /* New format: finish this connection's audio, then reconnect. The
     * ledger replays whatever it had not acknowledged. */
    out.push_back(Log{LogLevel::Info, "caps changed: reconnecting"});
    fail("caps changed", 0, true, now, out);
  }
  return out;
}

/* ---- the EOS drain -------------------------------------------------------- */

LiveActions LiveSession::on_eos(uint64_t now) {
  LiveActions out;
  last_progress_ = now;
  out.push_back(Progress{now});
  if (phase_ == LivePhase::Fatal) {
    out.push_back(DrainFinished{false});
    return out;
  }
  eos_ = true;
  if (phase_ == LivePhase::Open)
    send_pending(now, out);
  else if (supervised_ && phase_ == LivePhase::Down)
    finish_drain(false, out); /* the supervisor replays what we held */
  else if (unsent_.empty() && (!ledger_ || ledger_->size() == 0) && !connected())
    finish_drain(true, out); /* nothing outstanding */
  return out;
}

/* The timeout counts from the last message, not from EOS: a long backlog
 * that keeps being answered is waited for, a silent service is not. */
LiveActions LiveSession::on_drain_timeout(uint64_t now) {
  LiveActions out;
  if (!eos_ || now < last_progress_ + settings_.finalize_timeout)
    return out;
  out.push_back(Log{LogLevel::Warning, "EOS: nothing from Deepgram for finalize-timeout (" +
                                           std::to_string(settings_.finalize_timeout / 1000000) +
                                           " ms)"});
  finish_drain(false, out);
  return out;
}

void LiveSession::finish_drain(bool complete, LiveActions &out) {
  if (!eos_)
    return;
  eos_ = false;
  if (!complete && supervised_) {
    /* The supervisor still holds the un-finalized audio: it replays it to its
     * other branch, so report a failure rather than drop it. */
    out.push_back(Health{false, "finalize-timeout", 0, true, session_id_});
    clear_unsent();
    out.push_back(DrainFinished{false});
    return;
  }
  /* Anything still un-acked or unsent will never be transcribed now: one
   * report per stretch, naming why. */
  TimeRanges lost = take_held();
  bool open = phase_ == LivePhase::Open || phase_ == LivePhase::Idle;
  std::string why = open ? "finalize-timeout" : outage_cause_;
  std::string detail = open ? "no answer from Deepgram within finalize-timeout" : stats_.last_error;
  for (const TimeRange &r : lost.list())
    report_dropped(r.start, r.duration(), why, detail, last_drop_, out);
  flush_dropped(out);
  out.push_back(Ack{time_map_.end_pts(), session_id_, true});
  out.push_back(DrainFinished{complete});
  out.push_back(
      Log{LogLevel::Info, std::string("EOS drain ") + (complete ? "complete" : "cut short")});
}

/* ---- Deepgram's messages -------------------------------------------------- */

void LiveSession::ack(uint64_t position, LiveActions &out) {
  if (ledger_)
    ledger_->ack(position);
  out.push_back(Ack{position, session_id_, false});
}

void LiveSession::on_results(const dgf::Transcript &t, uint64_t now, LiveActions &out) {
  /* Each time through the connection's clock, gaps and all. */
  live::Transcript r;
  r.t = t;
  if (r.t.request_id.empty())
    r.t.request_id = request_id_;
  r.start = time_map_.to_pipeline(t.start);
  uint64_t end = time_map_.to_pipeline(t.start + t.duration);
  r.duration = end > r.start ? end - r.start : 0;
  for (const Word &w : t.words)
    r.words.push_back(TimeRange{time_map_.to_pipeline(w.start), time_map_.to_pipeline(w.end)});
  r.session_id = session_id_;
  stats_.results++;
  if (t.is_final)
    stats_.finals++;
  /* Interims never acknowledge audio: a server sending only those is
   * caught by the watchdog. */
  if (t.is_final)
    watchdog_.on_final(now, t.start + t.duration);
  else
    watchdog_.on_interim(now);
  if (t.is_final || !t.text.empty() || settings_.interim_results)
    out.push_back(std::move(r));
  if (t.is_final)
    ack(end, out);
}

LiveActions LiveSession::on_message(const LiveMessage &msg, uint64_t now) {
  LiveActions out;
  if (!connected())
    return out;
  /* Odd shapes outside the transcript (a channel sent as [0], a field of
   * another type): read with defaults, counted, logged once per connection. */
  const Tolerated &notes = tolerated_notes(msg);
  if (!notes.empty()) {
    stats_.tolerated++;
    for (const std::string &note : notes)
      if (tolerated_seen_.insert(note).second)
        out.push_back(Log{LogLevel::Info, "tolerated: " + note + " (request " + request_id_ + ")"});
  }
  watchdog_.on_message(now); /* alive, whatever it says */
  last_progress_ = now;
  out.push_back(Progress{now});
  if (auto *t = std::get_if<dgf::Transcript>(&msg)) {
    on_results(*t, now, out);
  } else if (auto *m = std::get_if<DeepgramMetadata>(&msg)) {
    /* Sent before every server close, a fault's too: the close code decides. */
    out.push_back(Log{LogLevel::Debug, "Metadata: request " + m->request_id + ", " +
                                           std::to_string(m->duration) + " s"});
    metadata_duration_ = m->duration;
  } else if (auto *u = std::get_if<dgf::UtteranceEnd>(&msg)) {
    out.push_back(
        live::UtteranceEnd{time_map_.to_pipeline(u->last_word_end), u->channel, session_id_});
  } else if (auto *sp = std::get_if<dgf::SpeechStarted>(&msg)) {
    out.push_back(
        live::SpeechStarted{time_map_.to_pipeline(sp->timestamp), sp->channel, session_id_});
  } else if (auto *e = std::get_if<DeepgramError>(&msg)) {
    out.push_back(Warn{WarnKind::ServiceError, "Deepgram reported an error: " + e->code,
                       e->message + " (request " + e->request_id + ")"});
  } else if (auto *unknown = std::get_if<UnknownMessage>(&msg)) {
    out.push_back(Log{LogLevel::Debug, "ignoring message of type '" + unknown->type + "'"});
  }
  return out;
}

LiveActions LiveSession::on_malformed(const std::string &why, uint64_t now) {
  LiveActions out;
  if (!connected())
    return out;
  stats_.malformed++;
  if (!warned_malformed_) {
    warned_malformed_ = true;
    out.push_back(Warn{WarnKind::Decode, "Deepgram sent a message that is not valid",
                       why + " (further ones are counted in stats)"});
  }
  /* It may have been a final result: its audio is un-acked, and later acks
   * on this connection would skip it. Reconnect and replay instead. */
  fail("malformed message: " + why, 0, true, now, out);
  return out;
}

/* ---- ticks ---------------------------------------------------------------- */

LiveActions LiveSession::on_tick(uint64_t now) {
  LiveActions out;
  if (!running_)
    return out;
  if (drops_.pending() && now - last_drop_ >= kSecond)
    flush_dropped(out); /* the run has ended */
  give_up_if_due(now, out);
  if (phase_ == LivePhase::Down && path_down_ && now - last_path_check_ >= kPathCheckInterval) {
    last_path_check_ = now;
    out.push_back(CheckPath{});
  }
  if (phase_ != LivePhase::Open)
    return out;
  switch (watchdog_.check(now)) {
  case LiveWatchdog::Due::Stall:
    fail(watchdog_.stall_reason(), 0, true, now, out);
    break;
  case LiveWatchdog::Due::InterimStall:
    out.push_back(Warn{WarnKind::Decode, "Deepgram sends interim results but no final",
                       watchdog_.stall_reason()});
    fail(watchdog_.stall_reason(), 0, true, now, out);
    break;
  case LiveWatchdog::Due::Finalize:
    finalize(now, out);
    break;
  case LiveWatchdog::Due::KeepAlive:
    out.push_back(SendControl{Control::KeepAlive});
    watchdog_.on_text_sent(now);
    stats_.keepalives++;
    break;
  case LiveWatchdog::Due::Nothing:
    break;
  }
  return out;
}

} // namespace dgf
