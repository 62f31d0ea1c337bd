/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_planner.h"

#include <algorithm>
#include <cstdio>

#include "session_id.h"

namespace dgf {

namespace {

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSecond = 1000 * kMs;
/* A live stream whose service is failing at EOS (Ctrl-C on a capture while
 * Deepgram is unreachable) waits this long, not drain-timeout. */
constexpr uint64_t kFailingLiveDrainGrace = 3 * kSecond;
/* max-outage -1 with input that is not live. */
constexpr uint64_t kNonLiveMaxOutage = 120 * kSecond;
/* Throttling (429) is said again at most this often while it lasts. */
constexpr uint64_t kThrottleWarnInterval = 60 * kSecond;

/* As GST_TIME_FORMAT prints it, so the logs read as before. */
std::string format_time(uint64_t t) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%u:%02u:%02u.%09u", static_cast<unsigned>(t / (3600 * kSecond)),
                static_cast<unsigned>((t / (60 * kSecond)) % 60),
                static_cast<unsigned>((t / kSecond) % 60), static_cast<unsigned>(t % kSecond));
  return buf;
}

batch::Log log(batch::Log::Level level, std::string text) {
  return batch::Log{level, std::move(text)};
}

} // namespace

BatchPlanner::BatchPlanner(BatchSettings settings, Random random, NewSessionId session_id)
    : settings_(std::move(settings)), random_(std::move(random)),
      new_session_id_(std::move(session_id)) {
  if (!random_)
    random_ = default_unit_random;
  if (!new_session_id_)
    new_session_id_ = [] { return new_session_id(); };
}

/* ---- the streaming side ---- */

bool BatchPlanner::set_format(int rate, int channels, BatchActions &out) {
  if (has_format(rate, channels))
    return false;
  if (chunker_)
    enqueue(chunker_->flush(), out);
  rate_ = rate;
  channels_ = channels;
  chunker_ = std::make_unique<PauseChunker>(settings_.chunker, rate, channels);
  return true;
}

BatchPush BatchPlanner::push(uint64_t pts, const int16_t *samples, size_t frames, bool block,
                             BatchActions &out, bool *cut) {
  if (cut)
    *cut = false;
  if (fatal_ && supervised_) {
    /* The failover reports the failure; what still comes is lost, and said so. */
    uint64_t duration = frames * kSecond / static_cast<uint64_t>(rate_ > 0 ? rate_ : 1);
    stats_.dropped += duration;
    out.push_back(batch::Dropped{pts, duration, "server-error", fatal_reason_});
    return BatchPush::Ok;
  }
  if (fatal_)
    return BatchPush::Error;
  if (flushing_)
    return BatchPush::Flushing;
  if (block && !has_room())
    return BatchPush::Interrupted;
  if (!chunker_)
    return BatchPush::NotNegotiated;
  std::vector<AudioChunk> chunks = chunker_->push(pts, samples, frames);
  if (cut)
    *cut = !chunks.empty();
  enqueue(std::move(chunks), out);
  if (!block) /* blocking lets held audio pass max-buffer by one chunk at most */
    drop_overflow(out);
  return BatchPush::Ok;
}

BatchActions BatchPlanner::flush_mark(uint32_t flush_id) {
  BatchActions out;
  if (chunker_)
    enqueue(chunker_->flush(), out);
  Entry mark;
  mark.kind = Kind::FlushMark;
  mark.id = next_id_++;
  mark.flush_id = flush_id;
  mark.position = last_end_;
  queue_.push_back(std::move(mark));
  return out;
}

BatchPush BatchPlanner::begin_drain(uint64_t timeout, uint64_t now, BatchActions &out) {
  if (fatal_ && !supervised_)
    return BatchPush::Error; /* the ERROR is posted: no EOS after it */
  if (flushing_)
    return BatchPush::Flushing;
  if (chunker_)
    enqueue(chunker_->flush(), out);
  if (fatal_)
    abandon_held("server-error", fatal_reason_);
  Entry mark;
  mark.kind = Kind::EosMark;
  mark.id = next_id_++;
  mark.position = last_end_;
  queue_.push_back(std::move(mark));
  draining_ = true;
  drain_expired_ = false;
  drain_timeout_ = timeout;
  arm_drain_timer(now, out);
  return BatchPush::Ok;
}

BatchActions BatchPlanner::expire_drain() {
  BatchActions out;
  /* Name the real cause: a service that kept failing, or one that was slow. */
  std::string reason = healthy_                    ? "drain-timeout"
                       : last_failure_status_ == 0 ? "connect-failed"
                                                   : "server-error";
  std::string detail = healthy_ ? "" : last_failure_ + " until drain-timeout";
  abandon_held(reason, detail);
  for (const Entry &e : queue_) {
    if (e.uploading)
      out.push_back(batch::CancelUpload{e.id});
  }
  pop_finished(out);
  return out;
}

BatchActions BatchPlanner::set_flushing(bool flushing, const char *reason) {
  BatchActions out;
  flushing_ = flushing;
  if (flushing)
    discard(reason, out);
  else if (chunker_)
    chunker_ = std::make_unique<PauseChunker>(settings_.chunker, rate_, channels_);
  out.push_back(batch::Wake{});
  return out;
}

BatchActions BatchPlanner::stop(const char *reason) {
  BatchActions out;
  discard(reason, out);
  retry_armed_ = false;
  out.push_back(batch::Wake{});
  return out;
}

BatchStats BatchPlanner::stats() const {
  BatchStats s = stats_;
  s.backlog = held() + (chunker_ ? chunker_->pending_duration() : 0);
  s.in_flight = in_flight_;
  s.last_error = fatal_ ? fatal_reason_ : last_failure_;
  return s;
}

/* ---- the network side ---- */

bool BatchPlanner::retry_now(uint64_t now) {
  /* The backoff guessed at the network; a server's Retry-After still holds. */
  bool held = hold_until_ > now && hold_until_ > server_hold_until_;
  if (held) {
    hold_until_ = server_hold_until_;
    retry_armed_ = false;
  }
  return held;
}

BatchActions BatchPlanner::poll(uint64_t now) {
  BatchActions out;
  give_up_if_due(now, out); /* also while the breaker refuses every request */
  pop_finished(out);
  /* The oldest request still out: captions wait for it (each new chunk of
   * live audio polls, so this is checked as the audio comes). */
  for (const Entry &e : queue_)
    if (e.kind == Kind::Chunk && e.state == State::InFlight && e.uploading) {
      check_pace(e, now, false, out);
      break;
    }
  if (fatal_ || in_flight_ >= settings_.max_in_flight)
    return out;
  if (now < hold_until_) {
    arm_retry_timer(hold_until_, out);
    return out;
  }
  for (const Entry &e : queue_) {
    if (e.kind == Kind::Chunk && e.state == State::Waiting) {
      out.push_back(batch::AcquirePermit{e.id});
      break;
    }
  }
  return out;
}

BatchActions BatchPlanner::on_permit(uint64_t id, bool granted, uint64_t retry_in, uint64_t now) {
  BatchActions out;
  if (!granted) {
    out.push_back(log(batch::Log::Debug,
                      "breaker refused; next try in " + std::to_string(retry_in / kMs) + " ms"));
    arm_retry_timer(now + retry_in, out);
    return out;
  }
  Entry *e = find(id);
  if (!e || e->state != State::Waiting) {
    out.push_back(batch::ReportBreaker{id, BreakerOutcome::Cancelled});
    return out;
  }
  e->state = State::InFlight;
  e->uploading = true;
  e->attempts++;
  e->failures_when_sent = stats_.failures;
  e->sent_at = now;
  stats_.requests++;
  if (e->attempts > 1)
    stats_.retries++;
  in_flight_++;
  out.push_back(batch::StartUpload{e->id, e->storage, e->rate, e->channels});
  return out;
}

BatchActions BatchPlanner::on_upload_done(uint64_t id, UploadReport r, uint64_t now) {
  BatchActions out;
  if (in_flight_ > 0)
    in_flight_--;
  UploadVerdict verdict = r.verdict;
  if (verdict == UploadVerdict::Transcribed && !r.response)
    verdict = UploadVerdict::Retry; /* a 2xx that did not parse */
  Entry *e = find(id);
  if (e)
    e->uploading = false;
  /* A failure of a request sent before the service came back is the
   * outage's: the breaker heard about that one already. */
  bool stale = false;
  if (!e || e->state != State::InFlight)
    verdict = UploadVerdict::Cancelled; /* dropped or discarded meanwhile */
  else {
    stale = verdict == UploadVerdict::Retry && healthy_ && e->sent_at < recovered_at_;
    switch (verdict) {
    case UploadVerdict::Transcribed: {
      e->state = State::Done;
      e->response = std::make_shared<const PrerecordedResponse>(std::move(*r.response));
      e->request_id = r.request_id;
      e->storage.reset();
      stats_.uploaded += e->duration;
      stats_.chunks_transcribed++;
      check_pace(*e, now, true, out);
      if (!e->response->tolerated.empty())
        stats_.tolerated++;
      if (draining_ && !drain_expired_)
        arm_drain_timer(now, out); /* progress: the drain waits on */
      /* A request sent before the latest failure says nothing newer than
       * it: its success is the audio's, not proof that the service is back. */
      if (e->failures_when_sent != stats_.failures)
        break;
      consecutive_failures_ = 0;
      consecutive_throttles_ = 0;
      hold_until_ = 0;
      if (!healthy_) {
        healthy_ = true;
        recovered_at_ = now;
        out.push_back(
            batch::Health{true, "transcribed", static_cast<int>(r.status), true, e->session_id});
        resend_outage_requests(*e, unhealthy_since_.value_or(0), out);
      }
      unhealthy_since_.reset();
      break;
    }
    case UploadVerdict::Retry:
      retry_later(*e, r, now, out);
      break;
    case UploadVerdict::Throttled:
      throttled(*e, r, now, out);
      break;
    case UploadVerdict::Reject:
      e->state = State::Abandoned;
      e->drop_reason = "rejected";
      e->rejection = BatchRejection{e->start, e->end() - e->start, r.status, r.error};
      e->storage.reset();
      stats_.chunks_rejected++;
      break;
    case UploadVerdict::Fatal:
      e->state = State::Waiting;
      go_fatal(BatchFatal{r.status, r.error, r.hint, r.request_id}, out);
      break;
    case UploadVerdict::Cancelled:
      e->state = State::Waiting;
      break;
    }
  }
  BreakerOutcome outcome = BreakerOutcome::Success; /* the service answered */
  if (verdict == UploadVerdict::Retry)
    outcome = stale ? BreakerOutcome::Cancelled : BreakerOutcome::Failure;
  else if (verdict == UploadVerdict::Cancelled || verdict == UploadVerdict::Fatal ||
           verdict == UploadVerdict::Throttled)
    outcome = BreakerOutcome::Cancelled; /* says nothing about the service */
  out.push_back(batch::ReportBreaker{
      id, outcome, r.status == 0 ? FailureSource::Network : FailureSource::Service});
  return out;
}

void BatchPlanner::check_pace(const Entry &e, uint64_t now, bool answered, BatchActions &out) {
  /* Short chunks carry a fixed cost (connect, TLS) that is no lag. */
  constexpr uint64_t kSlowFloor = 10 * kSecond;
  if (!live_ || supervised_ || now < e.sent_at)
    return;
  uint64_t took = now - e.sent_at;
  if (took > std::max(e.duration, kSlowFloor) && !slow_warned_) {
    slow_warned_ = true;
    char text[160];
    std::snprintf(text, sizeof text,
                  answered ? "a %.1f s chunk took %.1f s to upload and transcribe; captions fall "
                             "further behind with every chunk"
                           : "a %.1f s chunk has taken %.1f s so far to upload and transcribe; "
                             "captions fall further behind with every chunk",
                  static_cast<double>(e.duration) / kSecond, static_cast<double>(took) / kSecond);
    out.push_back(batch::Warn{
        std::string("Deepgram's pre-recorded API cannot keep up with live audio: ") + text,
        "a faster link, encoding=opus (about a quarter of flac's size), or dgtranscribebin "
        "(live captions, with this API as the fallback) keeps captions timely"});
  } else if (answered && slow_warned_ && took < e.duration / 2) {
    slow_warned_ = false; /* caught up: a new stretch warns again */
  }
}

/* The service answers again: requests sent during the outage are likely
 * stuck (a connect into the blackhole waits for connect-timeout, an upload
 * for TCP's next retransmit), and the oldest one holds every result behind
 * it. Cancelled, they go again at once on a fresh connection. */
void BatchPlanner::resend_outage_requests(const Entry &answered, uint64_t outage_start,
                                          BatchActions &out) {
  for (const Entry &x : queue_)
    if (&x != &answered && x.state == State::InFlight && x.uploading && x.sent_at >= outage_start) {
      out.push_back(batch::CancelUpload{x.id});
      out.push_back(log(batch::Log::Info, "chunk " + std::to_string(x.id) +
                                              ": sent during the outage; sending again"));
    }
}

void BatchPlanner::retry_later(Entry &e, const UploadReport &r, uint64_t now, BatchActions &out) {
  if (r.status >= 200 && r.status < 300 && ++e.bad_responses >= settings_.max_bad_responses) {
    e.state = State::Abandoned;
    e.drop_reason = "rejected";
    e.rejection = BatchRejection{e.start, e.end() - e.start, r.status, r.error};
    e.storage.reset();
    stats_.chunks_rejected++;
    return;
  }
  if (healthy_ && e.sent_at < recovered_at_) {
    /* Sent before the service came back: its failure is the outage's, not
     * a new one (no WARNING, no backoff); it goes again now. */
    e.state = State::Waiting;
    out.push_back(log(batch::Log::Info, "chunk " + std::to_string(e.id) +
                                            ": a request from the outage failed (" + r.error +
                                            "); sending again"));
    return;
  }
  e.state = State::Waiting;
  stats_.failures++;
  last_failure_ = r.described.empty() ? r.error : r.described;
  last_failure_status_ = r.status;
  if (!unhealthy_since_)
    unhealthy_since_ = now;
  give_up_if_due(now, out);
  if (healthy_) {
    healthy_ = false;
    out.push_back(batch::Health{false, r.error, static_cast<int>(r.status), true, e.session_id});
    if (draining_ && live_)
      arm_drain_timer(now, out); /* failing now: the short grace, not drain-timeout */
  }
  auto floor = r.retry_after.value_or(std::chrono::milliseconds{0});
  auto delay = backoff_delay(settings_.backoff, consecutive_failures_++, random_(), floor);
  hold_until_ = std::max(hold_until_, now + static_cast<uint64_t>(delay.count()) * kMs);
  if (r.retry_after)
    server_hold_until_ =
        std::max(server_hold_until_, now + static_cast<uint64_t>(floor.count()) * kMs);
  out.push_back(log(batch::Log::Info, "chunk " + std::to_string(e.id) + " failed (" + r.error +
                                          "); retry in " + std::to_string(delay.count()) + " ms"));
}

/* 429: Deepgram works, but the project has more requests out than its
 * concurrency allows (a thousand streams failing over at once). Not an
 * outage: no breaker failure (one stream's 429s must not stop every
 * stream's batching), health stays, the drain keeps its patience. The chunk
 * goes again after Retry-After or a short jittered backoff, capped low so
 * no stream's backlog waits long behind the others'. */
void BatchPlanner::throttled(Entry &e, const UploadReport &r, uint64_t now, BatchActions &out) {
  constexpr auto kThrottleCap = std::chrono::milliseconds{4000};
  e.state = State::Waiting;
  stats_.throttled++;
  BackoffPolicy policy = settings_.backoff;
  policy.cap = std::min(policy.cap, std::max(policy.base, kThrottleCap));
  auto floor = r.retry_after.value_or(std::chrono::milliseconds{0});
  auto delay = backoff_delay(policy, consecutive_throttles_++, random_(), floor);
  hold_until_ = std::max(hold_until_, now + static_cast<uint64_t>(delay.count()) * kMs);
  if (r.retry_after)
    server_hold_until_ =
        std::max(server_hold_until_, now + static_cast<uint64_t>(floor.count()) * kMs);
  if (!throttle_warned_at_ || now >= *throttle_warned_at_ + kThrottleWarnInterval) {
    throttle_warned_at_ = now;
    out.push_back(batch::Warn{
        "Deepgram's pre-recorded API is throttling: " + r.error +
            "; the audio waits and is sent again (captions from it come later)",
        "429: more requests at once than the project's concurrency allows (many streams "
        "degraded together); stats throttled counts them; fewer streams per project or a "
        "higher concurrency limit from Deepgram avoid it"});
  }
  out.push_back(log(batch::Log::Info, "chunk " + std::to_string(e.id) + " throttled (" + r.error +
                                          "); again in " + std::to_string(delay.count()) + " ms"));
}

void BatchPlanner::go_fatal(const BatchFatal &f, BatchActions &out) {
  if (fatal_)
    return;
  fatal_ = true;
  fatal_reason_ = f.reason;
  if (chunker_)
    enqueue(chunker_->flush(), out);
  for (const Entry &e : queue_) {
    if (e.uploading)
      out.push_back(batch::CancelUpload{e.id});
  }
  abandon_held("server-error", f.reason);
  out.push_back(batch::Wake{});
  out.push_back(batch::Health{false, f.reason, static_cast<int>(f.status), false, ""});
  out.push_back(batch::Fatal{f});
}

void BatchPlanner::give_up_if_due(uint64_t now, BatchActions &out) {
  uint64_t limit = settings_.max_outage_ms >= 0
                       ? static_cast<uint64_t>(settings_.max_outage_ms) * kMs
                   : live_ ? 0
                           : kNonLiveMaxOutage;
  if (supervised_ || fatal_ || limit == 0 || healthy_ || !unhealthy_since_ ||
      now < *unhealthy_since_ + limit)
    return;
  BatchFatal f;
  f.reason = "Deepgram's pre-recorded API could not be used for " +
             std::to_string(limit / kSecond) + " s (max-outage): " + last_failure_;
  f.hint = "set max-outage to wait longer (0: forever)";
  go_fatal(f, out);
}

/* ---- the queue ---- */

void BatchPlanner::enqueue(std::vector<AudioChunk> chunks, BatchActions &out) {
  for (AudioChunk &c : chunks) {
    Entry e;
    e.id = next_id_++;
    e.start = c.start;
    e.duration = c.duration;
    e.map = std::move(c.map);
    e.storage = std::move(c.storage);
    e.rate = rate_;
    e.channels = channels_;
    e.session_id = new_session_id_();
    last_end_ = e.end();
    out.push_back(log(batch::Log::Debug,
                      "chunk " + std::to_string(e.id) + ": " + format_time(e.start) + " + " +
                          format_time(e.duration) + " (" + cut_reason_name(c.reason) + ")"));
    queue_.push_back(std::move(e));
  }
}

uint64_t BatchPlanner::held() const {
  uint64_t held = 0;
  for (const Entry &e : queue_) {
    if (e.kind == Kind::Chunk && (e.state == State::Waiting || e.state == State::InFlight))
      held += e.duration;
  }
  return held;
}

void BatchPlanner::drop_overflow(BatchActions &out) {
  uint64_t held_now = held();
  auto it = queue_.begin();
  while (held_now > settings_.max_buffer && it != queue_.end()) {
    if (it->kind != Kind::Chunk || (it->state != State::Waiting && it->state != State::InFlight)) {
      ++it;
      continue;
    }
    /* Oldest first, in flight or not: the newest audio is worth most. */
    out.push_back(log(batch::Log::Warning, "max-buffer exceeded: dropping " +
                                               format_time(it->start) + " + " +
                                               format_time(it->duration)));
    held_now -= it->duration;
    drop_chunk(*it, "max-buffer", out,
               "the pre-recorded API was down longer than max-buffer of live audio");
    if (it->uploading)
      out.push_back(batch::CancelUpload{it->id}); /* its answer finds it gone */
    it = queue_.erase(it);
  }
}

void BatchPlanner::abandon_held(const std::string &reason, const std::string &detail) {
  for (Entry &e : queue_) {
    if (e.kind == Kind::Chunk && (e.state == State::Waiting || e.state == State::InFlight)) {
      e.state = State::Abandoned;
      e.drop_reason = reason;
      e.drop_detail = detail;
      e.storage.reset();
    }
  }
}

void BatchPlanner::discard(const char *reason, BatchActions &out) {
  if (chunker_)
    enqueue(chunker_->flush(), out);
  for (Entry &e : queue_) {
    if (e.kind != Kind::Chunk)
      continue;
    /* Transcribed but held behind an older chunk: its words never went out. */
    drop_chunk(e, reason, out);
    if (e.uploading)
      out.push_back(batch::CancelUpload{e.id});
  }
  queue_.clear();
  hold_until_ = 0;
  if (draining_)
    out.push_back(batch::Wake{});
}

BatchPlanner::Entry *BatchPlanner::find(uint64_t id) {
  for (Entry &e : queue_) {
    if (e.id == id)
      return &e;
  }
  return nullptr;
}

void BatchPlanner::drop_chunk(const Entry &e, const std::string &reason, BatchActions &out,
                              const std::string &detail) {
  stats_.dropped += e.duration;
  if (e.map.empty()) {
    out.push_back(batch::Dropped{e.start, e.duration, reason, detail});
    return;
  }
  for (const TimeRange &r : e.map.spans())
    out.push_back(batch::Dropped{r.start, r.duration(), reason, detail});
}

void BatchPlanner::pop_finished(BatchActions &out) {
  if (flushing_)
    return; /* results wait for FLUSH_STOP, or are discarded by stop() */
  bool popped = false;
  while (!queue_.empty()) {
    Entry &e = queue_.front();
    if (e.kind == Kind::Chunk) {
      if (e.state == State::Done) {
        out.push_back(
            batch::Transcribed{e.start, e.end(), e.map, e.session_id, e.request_id, e.response});
      } else if (e.state == State::Abandoned) {
        if (e.rejection)
          out.push_back(batch::Rejected{*e.rejection});
        drop_chunk(e, e.drop_reason, out, e.drop_detail);
      } else {
        break;
      }
      out.push_back(batch::Ack{e.end(), e.session_id, 0, false});
    } else if (e.kind == Kind::FlushMark) {
      out.push_back(batch::Ack{e.position, "", e.flush_id, false});
    } else {
      out.push_back(batch::Ack{e.position, "", 0, true});
    }
    queue_.pop_front();
    popped = true;
  }
  if (popped)
    out.push_back(batch::Wake{}); /* room for a blocked push */
}

/* drain_timeout_ from now; re-armed at each chunk transcribed. A live stream
 * whose service fails (at EOS or once draining) gets a short grace instead:
 * its audio cannot wait for a service that is down. */
void BatchPlanner::arm_drain_timer(uint64_t now, BatchActions &out) {
  uint64_t timeout =
      live_ && !healthy_ ? std::min(drain_timeout_, kFailingLiveDrainGrace) : drain_timeout_;
  out.push_back(batch::ArmDrainTimer{now + timeout});
}

void BatchPlanner::arm_retry_timer(uint64_t at, BatchActions &out) {
  if (retry_armed_ && retry_at_ <= at)
    return;
  retry_armed_ = true;
  retry_at_ = at;
  out.push_back(batch::ArmRetryTimer{at});
}

} // namespace dgf
