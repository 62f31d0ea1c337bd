/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_batch_core.h"

#include <algorithm>

#include "session_id.h"

GST_DEBUG_CATEGORY_EXTERN(gst_dg_batch_sink_debug);
#define GST_CAT_DEFAULT gst_dg_batch_sink_debug

namespace dgf {

namespace {

enum TimerKind { kRetryTimer = 1, kDrainTimer = 2 };

/* A live stream whose service is failing at EOS (Ctrl-C on a capture while
 * Deepgram is unreachable) waits this long, not drain-timeout. */
constexpr GstClockTime kFailingLiveDrainGrace = 3 * GST_SECOND;
/* max-outage -1 with input that is not live. */
constexpr GstClockTime kNonLiveMaxOutage = 120 * GST_SECOND;

struct TimerContext {
  std::weak_ptr<void> owner;
  std::function<void()> fire;
};

gboolean on_clock_timer(GstClock *, GstClockTime, GstClockID, gpointer data) {
  auto *ctx = static_cast<TimerContext *>(data);
  if (auto alive = ctx->owner.lock())
    ctx->fire();
  return TRUE;
}

void free_timer_context(gpointer data) {
  delete static_cast<TimerContext *>(data);
}

void cancel_timer(GstClockID *id) {
  if (*id) {
    gst_clock_id_unschedule(*id);
    gst_clock_id_unref(*id);
    *id = nullptr;
  }
}

} // namespace

BatchCore::BatchCore(BatchConfig config, BatchHooks hooks)
    : config_(std::move(config)), hooks_(std::move(hooks)), net_(NetThread::acquire()) {
  gst_object_ref(config_.clock);
}

BatchCore::~BatchCore() {
  if (breaker_listener_)
    config_.breaker->remove_listener(breaker_listener_);
  cancel_timer(&retry_timer_);
  cancel_timer(&drain_timer_);
  for (Entry &e : queue_)
    g_clear_object(&e.cancellable);
  gst_object_unref(config_.clock);
  if (session_) {
    /* Normally gone in stop(); libsoup objects die on their own thread. */
    SoupSession *session = session_;
    net_->invoke([session] { g_object_unref(session); });
  }
}

bool BatchCore::start(std::string *error) {
  net_->invoke_sync([&] {
    session_ =
        dg_make_session(config_.common, config_.request_timeout_s, error, config_.max_in_flight);
  });
  if (session_ && !breaker_listener_) {
    std::weak_ptr<BatchCore> weak = weak_from_this();
    breaker_listener_ = config_.breaker->add_listener([weak](const BreakerEvent &e) {
      if (e.to == BreakerState::Open)
        return;
      if (auto self = weak.lock())
        self->kick(); /* async: no lock of ours is taken here */
    });
  }
  return session_ != nullptr;
}

void BatchCore::stop(const char *reason) {
  std::vector<Output> out;
  std::vector<GCancellable *> cancel;
  if (breaker_listener_) {
    config_.breaker->remove_listener(breaker_listener_);
    breaker_listener_ = 0;
  }
  net_->invoke_sync([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    discard_locked(reason, out, cancel);
    stopped_ = true;
    cancel_timer(&retry_timer_);
    cancel_timer(&drain_timer_);
    for (GCancellable *c : cancel) {
      g_cancellable_cancel(c);
      g_object_unref(c);
    }
    cancel.clear();
    g_clear_object(&session_);
    cv_.notify_all();
  });
  emit(out);
}

/* ---- streaming thread ---- */

void BatchCore::set_format(int rate, int channels) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (rate == rate_ && channels == channels_ && chunker_)
      return;
    if (chunker_)
      enqueue_locked(chunker_->flush());
    rate_ = rate;
    channels_ = channels;
    chunker_ = std::make_unique<PauseChunker>(config_.chunker, rate, channels);
  }
  kick();
}

GstFlowReturn BatchCore::push(uint64_t pts, const int16_t *samples, size_t frames, bool block) {
  std::vector<Output> out;
  std::vector<GCancellable *> cancel;
  bool cut = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (block) {
      /* Flow control, not network I/O: a faster-than-real-time source (a
       * file) waits here for room instead of losing audio. */
      cv_.wait(lock, [&] {
        return held_locked() <= config_.max_buffer || unlocked_ || flushing_ || fatal_ || stopped_;
      });
    }
    if (fatal_ && supervised_) {
      /* The failover reports the failure; what still comes is lost, and said so. */
      uint64_t duration = gst_util_uint64_scale(frames, GST_SECOND, rate_ > 0 ? rate_ : 1);
      stats_.dropped += duration;
      out.push_back(dropped_output(pts, duration, "server-error", fatal_reason_));
      lock.unlock();
      emit(out);
      return GST_FLOW_OK;
    }
    if (fatal_)
      return GST_FLOW_ERROR;
    if (flushing_ || stopped_)
      return GST_FLOW_FLUSHING;
    if (block && held_locked() > config_.max_buffer)
      return kBatchInterrupted;
    if (!chunker_)
      return GST_FLOW_NOT_NEGOTIATED;
    std::vector<AudioChunk> chunks = chunker_->push(pts, samples, frames);
    cut = !chunks.empty();
    enqueue_locked(std::move(chunks));
    if (!block) /* blocking lets held audio pass max-buffer by one chunk at most */
      drop_overflow_locked(out, cancel);
  }
  cancel_on_net(std::move(cancel));
  emit(out);
  if (cut) {
    kick();
    hooks_.stats_changed();
  }
  return GST_FLOW_OK;
}

void BatchCore::flush_mark(uint32_t flush_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (chunker_)
      enqueue_locked(chunker_->flush());
    Entry mark;
    mark.kind = Kind::FlushMark;
    mark.id = next_id_++;
    mark.flush_id = flush_id;
    mark.position = last_end_;
    queue_.push_back(std::move(mark));
  }
  kick();
  hooks_.stats_changed();
}

GstFlowReturn BatchCore::drain(uint64_t timeout) {
  std::weak_ptr<void> owner = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fatal_ && !supervised_)
      return GST_FLOW_ERROR; /* the ERROR is posted: no EOS after it */
    if (flushing_ || stopped_)
      return GST_FLOW_FLUSHING;
    if (chunker_)
      enqueue_locked(chunker_->flush());
    if (fatal_)
      abandon_held_locked("server-error", fatal_reason_);
    Entry mark;
    mark.kind = Kind::EosMark;
    mark.id = next_id_++;
    mark.position = last_end_;
    queue_.push_back(std::move(mark));
    draining_ = true;
    drained_ = drain_expired_ = false;
    drain_timeout_ = timeout;
    arm_drain_timer_locked();
  }
  kick();
  hooks_.stats_changed();

  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] {
    return drained_ || drain_expired_ || (fatal_ && !supervised_) || flushing_ || stopped_;
  });
  cancel_timer(&drain_timer_);
  if (!drained_ && drain_expired_ && !flushing_ && !stopped_) {
    GST_INFO_OBJECT(config_.log_object, "drain timeout: reporting what is left as dropped");
    /* Name the real cause: a service that kept failing, or one that was slow. */
    std::string reason = healthy_                    ? "drain-timeout"
                         : last_failure_status_ == 0 ? "connect-failed"
                                                     : "server-error";
    std::string detail = healthy_ ? "" : last_failure_ + " until drain-timeout";
    lock.unlock();
    /* On the network thread, so the reports keep their place among the
     * results it emits; the EOS mark then drains at once. */
    net_->invoke_sync([this, &reason, &detail] {
      std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
      std::vector<Output> out;
      std::vector<GCancellable *> cancel;
      {
        std::lock_guard<std::mutex> l(mutex_);
        abandon_held_locked(reason, detail);
        for (Entry &e : queue_) {
          if (e.cancellable)
            cancel.push_back(G_CANCELLABLE(g_object_ref(e.cancellable)));
        }
        pop_finished_locked(out);
      }
      for (GCancellable *c : cancel) {
        g_cancellable_cancel(c);
        g_object_unref(c);
      }
      emit(out);
    });
    hooks_.stats_changed();
    lock.lock();
  }
  draining_ = false;
  if (drained_)
    return GST_FLOW_OK;
  return fatal_ && !supervised_ ? GST_FLOW_ERROR : GST_FLOW_FLUSHING;
}

void BatchCore::set_supervised(bool supervised) {
  std::lock_guard<std::mutex> lock(mutex_);
  supervised_ = supervised;
}

void BatchCore::set_live(bool live) {
  std::lock_guard<std::mutex> lock(mutex_);
  live_ = live;
}

void BatchCore::go_fatal_locked(const BatchFatal &f, std::vector<Output> &out) {
  if (fatal_)
    return;
  fatal_ = true;
  fatal_reason_ = f.reason;
  if (chunker_)
    enqueue_locked(chunker_->flush());
  abandon_held_locked("server-error", f.reason);
  for (Entry &other : queue_) {
    if (other.cancellable)
      g_cancellable_cancel(other.cancellable);
  }
  cv_.notify_all();
  stt::Health h{false, f.reason, static_cast<int>(f.status), false, ""};
  out.push_back([this, h] { hooks_.health(h); });
  out.push_back([this, f] { hooks_.fatal(f); });
}

void BatchCore::give_up_if_due_locked(std::vector<Output> &out) {
  GstClockTime limit = config_.max_outage_ms >= 0
                           ? static_cast<GstClockTime>(config_.max_outage_ms) * GST_MSECOND
                       : live_ ? 0
                               : kNonLiveMaxOutage;
  if (supervised_ || fatal_ || limit == 0 || healthy_ ||
      !GST_CLOCK_TIME_IS_VALID(unhealthy_since_) || now() < unhealthy_since_ + limit)
    return;
  BatchFatal f;
  f.reason = "Deepgram's pre-recorded API could not be used for " +
             std::to_string(limit / GST_SECOND) + " s (max-outage): " + last_failure_;
  f.hint = "set max-outage to wait longer (0: forever)";
  go_fatal_locked(f, out);
}

void BatchCore::set_flushing(bool flushing, const char *reason) {
  std::vector<Output> out;
  std::vector<GCancellable *> cancel;
  {
    std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = flushing;
    if (flushing)
      discard_locked(reason, out, cancel);
    else if (chunker_)
      chunker_ = std::make_unique<PauseChunker>(config_.chunker, rate_, channels_);
    cv_.notify_all();
  }
  cancel_on_net(std::move(cancel));
  emit(out); /* audio-dropped messages only */
  if (!flushing)
    kick();
  hooks_.stats_changed();
}

void BatchCore::unlock(bool hard) {
  std::unique_lock<std::recursive_mutex> emitting(emit_mutex_, std::defer_lock);
  if (hard)
    emitting.lock(); /* the pad is going inactive: let an emission finish first */
  std::lock_guard<std::mutex> lock(mutex_);
  unlocked_ = true;
  if (hard)
    flushing_ = true;
  cv_.notify_all();
}

void BatchCore::unlock_stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  unlocked_ = false;
}

BatchStats BatchCore::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  BatchStats s = stats_;
  s.backlog = held_locked() + (chunker_ ? chunker_->pending_duration() : 0);
  s.in_flight = in_flight_;
  s.last_error = fatal_ ? fatal_reason_ : last_failure_;
  return s;
}

/* ---- locked helpers ---- */

void BatchCore::enqueue_locked(std::vector<AudioChunk> chunks) {
  for (AudioChunk &c : chunks) {
    Entry e;
    e.id = next_id_++;
    e.start = c.start;
    e.duration = c.duration;
    e.map = std::move(c.map);
    e.storage = std::move(c.storage);
    e.rate = rate_;
    e.channels = channels_;
    e.session_id = new_session_id();
    last_end_ = e.end();
    GST_DEBUG_OBJECT(
        config_.log_object,
        "chunk %" G_GUINT64_FORMAT ": %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " (%s)", e.id,
        GST_TIME_ARGS(e.start), GST_TIME_ARGS(e.duration), cut_reason_name(c.reason));
    queue_.push_back(std::move(e));
  }
}

uint64_t BatchCore::held_locked() const {
  uint64_t held = 0;
  for (const Entry &e : queue_) {
    if (e.kind == Kind::Chunk && (e.state == State::Waiting || e.state == State::InFlight))
      held += e.duration;
  }
  return held;
}

void BatchCore::drop_overflow_locked(std::vector<Output> &out,
                                     std::vector<GCancellable *> &cancel) {
  uint64_t held = held_locked();
  auto it = queue_.begin();
  while (held > config_.max_buffer && it != queue_.end()) {
    if (it->kind != Kind::Chunk || (it->state != State::Waiting && it->state != State::InFlight)) {
      ++it;
      continue;
    }
    /* Oldest first, in flight or not: the newest audio is worth most. */
    GST_WARNING_OBJECT(config_.log_object,
                       "max-buffer exceeded: dropping %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT,
                       GST_TIME_ARGS(it->start), GST_TIME_ARGS(it->duration));
    held -= it->duration;
    drop_chunk_locked(*it, "max-buffer", out,
                      "the pre-recorded API was down longer than max-buffer of live audio");
    if (it->cancellable)
      cancel.push_back(it->cancellable); /* ours now; its upload's callback sees it gone */
    it->cancellable = nullptr;
    it = queue_.erase(it);
  }
}

void BatchCore::abandon_held_locked(const std::string &reason, const std::string &detail) {
  for (Entry &e : queue_) {
    if (e.kind == Kind::Chunk && (e.state == State::Waiting || e.state == State::InFlight)) {
      e.state = State::Abandoned;
      e.drop_reason = reason;
      e.drop_detail = detail;
      e.storage.reset();
    }
  }
}

void BatchCore::discard_locked(const char *reason, std::vector<Output> &out,
                               std::vector<GCancellable *> &cancel) {
  if (chunker_)
    enqueue_locked(chunker_->flush());
  for (Entry &e : queue_) {
    if (e.kind != Kind::Chunk)
      continue;
    /* Transcribed but held behind an older chunk: its words never went out. */
    drop_chunk_locked(e, reason, out);
    if (e.cancellable)
      cancel.push_back(e.cancellable);
    e.cancellable = nullptr;
  }
  queue_.clear();
  hold_until_ = 0;
  if (draining_)
    cv_.notify_all();
}

BatchCore::Entry *BatchCore::find_locked(uint64_t id) {
  for (Entry &e : queue_) {
    if (e.id == id)
      return &e;
  }
  return nullptr;
}

BatchCore::Output BatchCore::dropped_output(uint64_t start, uint64_t duration,
                                            const std::string &reason, const std::string &detail) {
  stt::AudioDropped d{start, duration, reason, 1, detail};
  return [this, d] { hooks_.dropped(d); };
}

void BatchCore::drop_chunk_locked(const Entry &e, const std::string &reason,
                                  std::vector<Output> &out, const std::string &detail) {
  stats_.dropped += e.duration;
  if (e.map.empty()) {
    out.push_back(dropped_output(e.start, e.duration, reason, detail));
    return;
  }
  for (const TimeRange &r : e.map.spans())
    out.push_back(dropped_output(r.start, r.duration(), reason, detail));
}

void BatchCore::add_transcript_outputs_locked(const Entry &e, std::vector<Output> &out) {
  std::vector<stt::TimedTranscript> list;
  const PrerecordedResponse &r = *e.response;
  std::string request_id = r.metadata.request_id.empty() ? e.request_id : r.metadata.request_id;
  if (config_.utterances && !r.utterances.empty()) {
    for (const Utterance &u : r.utterances)
      list.push_back(stt::to_pipeline_time(u.transcript, e.map, e.session_id, "batch"));
  } else {
    for (const Transcript &t : r.channels) {
      stt::TimedTranscript tt = stt::to_pipeline_time(t, e.map, e.session_id, "batch");
      tt.start = e.start; /* the response covers exactly the upload */
      tt.duration = e.end() - e.start;
      list.push_back(std::move(tt));
    }
  }
  if (list.empty()) {
    stt::TimedTranscript empty;
    empty.start = e.start;
    empty.duration = e.end() - e.start;
    empty.session_id = e.session_id;
    empty.branch = "batch";
    list.push_back(std::move(empty));
  }
  for (stt::TimedTranscript &t : list) {
    t.request_id = request_id;
    t.is_final = true;
    /* Words stay inside their chunk, so chunks never overlap downstream. */
    for (stt::TimedWord &w : t.words) {
      w.start = std::clamp(w.start, e.start, e.end());
      w.end = std::clamp(w.end, w.start, e.end());
    }
    out.push_back([this, t] { hooks_.transcript(t); });
  }
}

void BatchCore::pop_finished_locked(std::vector<Output> &out) {
  if (flushing_)
    return; /* results wait for FLUSH_STOP, or are discarded by stop() */
  while (!queue_.empty()) {
    Entry &e = queue_.front();
    if (e.kind == Kind::Chunk) {
      if (e.state == State::Done) {
        add_transcript_outputs_locked(e, out);
      } else if (e.state == State::Abandoned) {
        if (e.rejection) {
          BatchRejection r = *e.rejection;
          out.push_back([this, r] { hooks_.rejected(r); });
        }
        drop_chunk_locked(e, e.drop_reason, out, e.drop_detail);
      } else {
        break;
      }
      stt::Ack ack;
      ack.position = e.end();
      ack.session_id = e.session_id;
      out.push_back([this, ack] { hooks_.ack(ack); });
    } else if (e.kind == Kind::FlushMark) {
      stt::Ack ack;
      ack.position = e.position;
      ack.flush_id = e.flush_id;
      out.push_back([this, ack] { hooks_.ack(ack); });
    } else {
      stt::Ack ack;
      ack.position = e.position;
      ack.drained = true;
      out.push_back([this, ack] {
        hooks_.ack(ack);
        std::lock_guard<std::mutex> lock(mutex_);
        drained_ = true;
        cv_.notify_all();
      });
    }
    g_clear_object(&e.cancellable);
    queue_.pop_front();
    cv_.notify_all(); /* room for a blocked push */
  }
}

/* drain_timeout_ from now; re-armed at each chunk transcribed. A live stream
 * whose service fails (at EOS or once draining) gets a short grace instead:
 * its audio cannot wait for a service that is down. */
void BatchCore::arm_drain_timer_locked() {
  cancel_timer(&drain_timer_);
  GstClockTime timeout = live_ && !healthy_
                             ? std::min<GstClockTime>(drain_timeout_, kFailingLiveDrainGrace)
                             : drain_timeout_;
  drain_timer_ = gst_clock_new_single_shot_id(config_.clock, now() + timeout);
  std::weak_ptr<void> owner = shared_from_this();
  auto *ctx = new TimerContext{owner, [this] {
                                 std::lock_guard<std::mutex> l(mutex_);
                                 drain_expired_ = true;
                                 cv_.notify_all();
                               }};
  gst_clock_id_wait_async(drain_timer_, on_clock_timer, ctx, free_timer_context);
}

void BatchCore::arm_retry_timer_locked(GstClockTime at) {
  if (retry_timer_ && retry_timer_at_ <= at)
    return;
  cancel_timer(&retry_timer_);
  retry_timer_at_ = at;
  uint64_t generation = ++timer_generation_;
  retry_timer_ = gst_clock_new_single_shot_id(config_.clock, at);
  std::weak_ptr<BatchCore> weak = shared_from_this();
  auto *ctx = new TimerContext{
      weak, [weak, generation] {
        if (auto self = weak.lock())
          self->net_->invoke([self, generation] { self->on_timer(kRetryTimer, generation); });
      }};
  gst_clock_id_wait_async(retry_timer_, on_clock_timer, ctx, free_timer_context);
}

/* ---- network thread ---- */

void BatchCore::kick() {
  std::weak_ptr<BatchCore> weak = shared_from_this();
  net_->invoke([weak] {
    if (auto self = weak.lock())
      self->pump();
  });
}

void BatchCore::on_timer(int kind, uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (kind != kRetryTimer || generation != timer_generation_ || stopped_)
      return;
    cancel_timer(&retry_timer_);
  }
  pump();
}

void BatchCore::pump() {
  std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
  std::vector<Output> out;
  std::vector<Send> sends;
  bool changed = false;
  for (;;) {
    uint64_t candidate = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_)
        return;
      give_up_if_due_locked(out); /* also while the breaker refuses every request */
      pop_finished_locked(out);
      if (fatal_ || !session_ || in_flight_ >= config_.max_in_flight)
        break;
      GstClockTime t = now();
      if (t < hold_until_) {
        arm_retry_timer_locked(hold_until_);
        break;
      }
      for (const Entry &e : queue_) {
        if (e.kind == Kind::Chunk && e.state == State::Waiting) {
          candidate = e.id;
          break;
        }
      }
    }
    if (!candidate)
      break;
    /* The breaker is asked without our lock: its listeners may be anyone's. */
    BreakerPermit permit = config_.breaker->try_acquire();
    std::lock_guard<std::mutex> lock(mutex_);
    Entry *e = find_locked(candidate);
    if (!permit) {
      auto deadline = config_.breaker->next_deadline();
      auto wait = std::chrono::milliseconds{1000}; /* forced open: poll */
      if (deadline) {
        wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            *deadline - std::chrono::steady_clock::now());
        wait = std::max(wait, std::chrono::milliseconds{1});
      }
      GST_DEBUG_OBJECT(config_.log_object, "breaker refused; next try in %lld ms",
                       static_cast<long long>(wait.count()));
      arm_retry_timer_locked(now() + wait.count() * GST_MSECOND);
      break;
    }
    if (!e || e->state != State::Waiting || stopped_) {
      config_.breaker->report(permit, BreakerOutcome::Cancelled);
      continue;
    }
    e->state = State::InFlight;
    permits_[e->id] = permit;
    e->attempts++;
    e->failures_when_sent = stats_.failures;
    e->cancellable = g_cancellable_new();
    stats_.requests++;
    if (e->attempts > 1)
      stats_.retries++;
    in_flight_++;
    changed = true;
    sends.push_back(
        Send{e->id, e->storage, e->rate, e->channels, G_CANCELLABLE(g_object_ref(e->cancellable))});
  }
  emit(out);
  for (Send &s : sends) {
    GST_DEBUG_OBJECT(config_.log_object, "uploading chunk %" G_GUINT64_FORMAT, s.id);
    std::shared_ptr<BatchCore> self = shared_from_this();
    uint64_t id = s.id;
    start_upload(session_, config_.request, config_.common.tls_verify, std::move(s.storage),
                 static_cast<uint32_t>(s.rate), static_cast<uint32_t>(s.channels), s.cancellable,
                 [self, id](UploadResult r) { self->on_upload_done(id, std::move(r)); });
    g_object_unref(s.cancellable);
  }
  if (changed || !out.empty())
    hooks_.stats_changed();
}

void BatchCore::on_upload_done(uint64_t id, UploadResult r) {
  std::optional<PrerecordedResponse> response;
  UploadVerdict verdict = r.verdict;
  if (verdict == UploadVerdict::Transcribed) {
    auto parsed = parse_prerecorded_response(r.body);
    if (parsed) {
      response = std::move(parsed.value());
      /* Odd shapes outside the transcript: read with defaults, logged. */
      for (const std::string &note : response->tolerated)
        GST_INFO_OBJECT(config_.log_object, "chunk %" G_GUINT64_FORMAT " tolerated: %s", id,
                        note.c_str());
    } else {
      verdict = UploadVerdict::Retry;
      r.error = "unreadable response: " + parsed.error().message;
    }
  }

  BreakerPermit permit;
  std::vector<Output> out;
  bool running = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running = !stopped_;
    in_flight_--;
    auto held_permit = permits_.find(id);
    if (held_permit != permits_.end()) {
      permit = held_permit->second;
      permits_.erase(held_permit);
    }
    Entry *e = find_locked(id);
    if (e && e->state == State::InFlight && !stopped_) {
      g_clear_object(&e->cancellable);
    } else {
      e = nullptr; /* dropped or discarded meanwhile */
      verdict = UploadVerdict::Cancelled;
    }
    if (e) {
      switch (verdict) {
      case UploadVerdict::Transcribed:
        e->state = State::Done;
        e->response = std::move(response);
        e->request_id = r.request_id;
        e->storage.reset();
        stats_.uploaded += e->duration;
        stats_.chunks_transcribed++;
        if (!e->response->tolerated.empty())
          stats_.tolerated++;
        if (draining_ && !drain_expired_)
          arm_drain_timer_locked(); /* progress: the drain waits on */
        /* A request sent before the latest failure says nothing newer than
         * it: its success is the audio's, not proof that the service is back. */
        if (e->failures_when_sent != stats_.failures)
          break;
        consecutive_failures_ = 0;
        hold_until_ = 0;
        unhealthy_since_ = GST_CLOCK_TIME_NONE;
        if (!healthy_) {
          healthy_ = true;
          stt::Health h{true, "transcribed", static_cast<int>(r.status), true, e->session_id};
          out.push_back([this, h] { hooks_.health(h); });
        }
        break;
      case UploadVerdict::Retry: {
        if (r.status >= 200 && r.status < 300 && ++e->bad_responses >= config_.max_bad_responses) {
          e->state = State::Abandoned;
          e->drop_reason = "rejected";
          e->rejection = BatchRejection{e->start, e->end() - e->start, r.status, r.error};
          e->storage.reset();
          stats_.chunks_rejected++;
          break;
        }
        e->state = State::Waiting;
        stats_.failures++;
        last_failure_ = r.status && r.error.rfind("HTTP", 0) != 0
                            ? dg_describe_status(r.status) + ": " + r.error
                            : r.error;
        last_failure_status_ = r.status;
        if (!GST_CLOCK_TIME_IS_VALID(unhealthy_since_))
          unhealthy_since_ = now();
        give_up_if_due_locked(out);
        if (healthy_) {
          healthy_ = false;
          stt::Health h{false, r.error, static_cast<int>(r.status), true, e->session_id};
          out.push_back([this, h] { hooks_.health(h); });
          if (draining_ && live_)
            arm_drain_timer_locked(); /* failing now: the short grace, not drain-timeout */
        }
        auto floor = r.retry_after.value_or(std::chrono::milliseconds{0});
        auto delay =
            backoff_delay(config_.backoff, consecutive_failures_++, default_unit_random(), floor);
        hold_until_ = std::max(hold_until_, now() + delay.count() * GST_MSECOND);
        GST_INFO_OBJECT(config_.log_object,
                        "chunk %" G_GUINT64_FORMAT " failed (%s); retry in %lld ms", id,
                        r.error.c_str(), static_cast<long long>(delay.count()));
        break;
      }
      case UploadVerdict::Reject:
        e->state = State::Abandoned;
        e->drop_reason = "rejected";
        e->rejection = BatchRejection{e->start, e->end() - e->start, r.status, r.error};
        e->storage.reset();
        stats_.chunks_rejected++;
        break;
      case UploadVerdict::Fatal:
        e->state = State::Waiting;
        go_fatal_locked(BatchFatal{r.status, r.error, r.hint, r.request_id}, out);
        break;
      case UploadVerdict::Cancelled:
        e->state = State::Waiting;
        break;
      }
    }
  }
  if (permit) {
    BreakerOutcome outcome = BreakerOutcome::Success; /* the service answered */
    if (verdict == UploadVerdict::Retry)
      outcome = BreakerOutcome::Failure;
    else if (verdict == UploadVerdict::Cancelled || verdict == UploadVerdict::Fatal)
      outcome = BreakerOutcome::Cancelled; /* says nothing about the service */
    config_.breaker->report(permit, outcome);
  }
  if (!out.empty()) {
    std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
    emit(out);
  }
  if (!running)
    return; /* stop() has returned: no more hooks */
  pump();
  hooks_.stats_changed();
}

void BatchCore::emit(std::vector<Output> &out) {
  for (Output &o : out)
    o();
  out.clear();
}

void BatchCore::cancel_on_net(std::vector<GCancellable *> cancel) {
  if (cancel.empty())
    return;
  net_->invoke([cancel] {
    for (GCancellable *c : cancel) {
      g_cancellable_cancel(c);
      g_object_unref(c);
    }
  });
}

} // namespace dgf
