/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_batch_core.h"

#include <algorithm>

GST_DEBUG_CATEGORY_EXTERN(gst_dg_batch_sink_debug);
#define GST_CAT_DEFAULT gst_dg_batch_sink_debug

namespace dgf {

namespace {

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

BatchSettings planner_settings(const BatchConfig &c) {
  BatchSettings s;
  s.max_in_flight = c.max_in_flight;
  s.max_buffer = c.max_buffer;
  s.chunker = c.chunker;
  s.backoff = c.backoff;
  s.max_bad_responses = c.max_bad_responses;
  s.max_outage_ms = c.max_outage_ms;
  return s;
}

/* A chunk's answer in pipeline time: one transcript per channel (or
 * utterance), never empty, words kept inside the chunk. */
std::vector<stt::TimedTranscript> to_transcripts(const batch::Transcribed &t, bool utterances) {
  std::vector<stt::TimedTranscript> list;
  const PrerecordedResponse &r = *t.response;
  std::string request_id = r.metadata.request_id.empty() ? t.request_id : r.metadata.request_id;
  if (utterances && !r.utterances.empty()) {
    for (const Utterance &u : r.utterances)
      list.push_back(stt::to_pipeline_time(u.transcript, t.map, t.session_id, "batch"));
  } else {
    for (const Transcript &tr : r.channels) {
      stt::TimedTranscript tt = stt::to_pipeline_time(tr, t.map, t.session_id, "batch");
      tt.start = t.start; /* the response covers exactly the upload */
      tt.duration = t.end - t.start;
      list.push_back(std::move(tt));
    }
  }
  if (list.empty()) {
    stt::TimedTranscript empty;
    empty.start = t.start;
    empty.duration = t.end - t.start;
    empty.session_id = t.session_id;
    empty.branch = "batch";
    list.push_back(std::move(empty));
  }
  for (stt::TimedTranscript &tt : list) {
    tt.request_id = request_id;
    tt.is_final = true;
    /* Words stay inside their chunk, so chunks never overlap downstream. */
    for (stt::TimedWord &w : tt.words) {
      w.start = std::clamp(w.start, t.start, t.end);
      w.end = std::clamp(w.end, w.start, t.end);
    }
  }
  return list;
}

} // namespace

BatchCore::BatchCore(BatchConfig config, BatchHooks hooks)
    : config_(std::move(config)), hooks_(std::move(hooks)), net_(NetThread::acquire()),
      planner_(planner_settings(config_)) {
  gst_object_ref(config_.clock);
}

BatchCore::~BatchCore() {
  if (breaker_listener_)
    config_.breaker->remove_listener(breaker_listener_);
  cancel_timer(&retry_timer_);
  cancel_timer(&drain_timer_);
  for (auto &u : uploads_)
    g_object_unref(u.second);
  if (path_probe_) {
    g_cancellable_cancel(path_probe_); /* its answer finds no core: nothing runs */
    g_object_unref(path_probe_);
  }
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
  Work work;
  if (breaker_listener_) {
    config_.breaker->remove_listener(breaker_listener_);
    breaker_listener_ = 0;
  }
  net_->invoke_sync([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    apply_locked(planner_.stop(reason), work);
    stopped_ = true;
    cancel_timer(&retry_timer_);
    cancel_timer(&drain_timer_);
    cancel_now(work.cancel);
    path_down_ = false;
    if (watch_timer_)
      net_->remove_source(watch_timer_);
    watch_timer_ = 0;
    if (path_probe_)
      g_cancellable_cancel(path_probe_);
    g_clear_object(&path_probe_);
    g_clear_object(&session_);
    cv_.notify_all();
  });
  emit(work.out);
}

/* ---- streaming thread ---- */

void BatchCore::set_format(int rate, int channels) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    BatchActions actions;
    if (!planner_.set_format(rate, channels, actions))
      return;
    Work work;
    apply_locked(std::move(actions), work); /* logs only */
  }
  kick();
}

GstFlowReturn BatchCore::push(uint64_t pts, const int16_t *samples, size_t frames, bool block) {
  Work work;
  bool cut = false;
  BatchPush result;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (block) {
      /* Flow control, not network I/O: a faster-than-real-time source (a
       * file) waits here for room instead of losing audio. */
      cv_.wait(lock, [&] {
        return planner_.has_room() || unlocked_ || planner_.flushing() || planner_.fatal() ||
               stopped_;
      });
    }
    if (stopped_ && !planner_.fatal())
      return GST_FLOW_FLUSHING;
    BatchActions actions;
    result = planner_.push(pts, samples, frames, block, actions, &cut);
    apply_locked(std::move(actions), work);
  }
  cancel_on_net(std::move(work.cancel));
  emit(work.out);
  switch (result) {
  case BatchPush::Ok:
    break;
  case BatchPush::Error:
    return GST_FLOW_ERROR;
  case BatchPush::Flushing:
    return GST_FLOW_FLUSHING;
  case BatchPush::NotNegotiated:
    return GST_FLOW_NOT_NEGOTIATED;
  case BatchPush::Interrupted:
    return kBatchInterrupted;
  }
  if (cut) {
    kick();
    hooks_.stats_changed();
  }
  return GST_FLOW_OK;
}

void BatchCore::flush_mark(uint32_t flush_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Work work;
    apply_locked(planner_.flush_mark(flush_id), work); /* logs only */
  }
  kick();
  hooks_.stats_changed();
}

void BatchCore::retry_now() {
  bool half_opened = config_.breaker && config_.breaker->note_path_restored();
  bool held;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    held = planner_.retry_now(now());
    if (held)
      cancel_timer(&retry_timer_);
  }
  GST_INFO_OBJECT(config_.log_object, "the path to Deepgram works again: retrying now%s%s",
                  held ? " (backoff skipped)" : "", half_opened ? " (breaker half-open)" : "");
  kick();
}

GstFlowReturn BatchCore::drain(uint64_t timeout) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (planner_.fatal() && !planner_.supervised())
      return GST_FLOW_ERROR; /* the ERROR is posted: no EOS after it */
    if (stopped_)
      return GST_FLOW_FLUSHING;
    BatchActions actions;
    BatchPush started = planner_.begin_drain(timeout, now(), actions);
    if (started == BatchPush::Error)
      return GST_FLOW_ERROR;
    if (started != BatchPush::Ok)
      return GST_FLOW_FLUSHING;
    drained_ = false;
    Work work;
    apply_locked(std::move(actions), work); /* logs and the drain timer */
  }
  kick();
  hooks_.stats_changed();

  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] {
    return drained_ || planner_.drain_expired() || (planner_.fatal() && !planner_.supervised()) ||
           planner_.flushing() || stopped_;
  });
  cancel_timer(&drain_timer_);
  if (!drained_ && planner_.drain_expired() && !planner_.flushing() && !stopped_) {
    GST_INFO_OBJECT(config_.log_object, "drain timeout: reporting what is left as dropped");
    lock.unlock();
    /* On the network thread, so the reports keep their place among the
     * results it emits; the EOS mark then drains at once. */
    net_->invoke_sync([this] {
      std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
      Work work;
      {
        std::lock_guard<std::mutex> l(mutex_);
        apply_locked(planner_.expire_drain(), work);
      }
      cancel_now(work.cancel);
      emit(work.out);
    });
    hooks_.stats_changed();
    lock.lock();
  }
  planner_.end_drain();
  if (drained_)
    return GST_FLOW_OK;
  return planner_.fatal() && !planner_.supervised() ? GST_FLOW_ERROR : GST_FLOW_FLUSHING;
}

void BatchCore::set_supervised(bool supervised) {
  std::lock_guard<std::mutex> lock(mutex_);
  planner_.set_supervised(supervised);
}

void BatchCore::set_live(bool live) {
  std::lock_guard<std::mutex> lock(mutex_);
  planner_.set_live(live);
}

void BatchCore::set_flushing(bool flushing, const char *reason) {
  Work work;
  {
    std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
    std::lock_guard<std::mutex> lock(mutex_);
    apply_locked(planner_.set_flushing(flushing, reason), work);
  }
  cancel_on_net(std::move(work.cancel));
  emit(work.out); /* audio-dropped messages only */
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
    planner_.hold_results();
  cv_.notify_all();
}

void BatchCore::unlock_stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  unlocked_ = false;
}

BatchStats BatchCore::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  BatchStats s = planner_.stats();
  s.bytes_sent = bytes_sent_;
  return s;
}

/* ---- carrying out the planner's actions ---- */

void BatchCore::apply_locked(BatchActions actions, Work &work, const BreakerPermit *fresh) {
  for (BatchAction &action : actions) {
    if (auto *s = std::get_if<batch::StartUpload>(&action)) {
      GCancellable *c = g_cancellable_new();
      uploads_[s->id] = c;
      if (fresh)
        permits_[s->id] = *fresh;
      work.sends.push_back(Work::Send{s->id, std::move(s->storage), s->rate, s->channels,
                                      G_CANCELLABLE(g_object_ref(c))});
    } else if (auto *c = std::get_if<batch::CancelUpload>(&action)) {
      auto it = uploads_.find(c->id);
      if (it != uploads_.end()) {
        work.cancel.push_back(it->second); /* ours now; its answer still comes */
        uploads_.erase(it);
      }
    } else if (auto *r = std::get_if<batch::ReportBreaker>(&action)) {
      if (fresh) {
        work.reports.push_back({*fresh, r->outcome, r->source});
      } else if (auto it = permits_.find(r->id); it != permits_.end()) {
        work.reports.push_back({it->second, r->outcome, r->source});
        permits_.erase(it);
      }
    } else if (auto *t = std::get_if<batch::ArmRetryTimer>(&action)) {
      arm_retry_timer_locked(t->at);
    } else if (auto *t = std::get_if<batch::ArmDrainTimer>(&action)) {
      arm_drain_timer_locked(t->at);
    } else if (std::holds_alternative<batch::Wake>(action)) {
      cv_.notify_all();
    } else if (auto *l = std::get_if<batch::Log>(&action)) {
      if (l->level == batch::Log::Warning)
        GST_WARNING_OBJECT(config_.log_object, "%s", l->text.c_str());
      else if (l->level == batch::Log::Info)
        GST_INFO_OBJECT(config_.log_object, "%s", l->text.c_str());
      else
        GST_DEBUG_OBJECT(config_.log_object, "%s", l->text.c_str());
    } else if (Output o = hook_for(action)) {
      work.out.push_back(std::move(o));
    }
  }
}

BatchCore::Output BatchCore::hook_for(BatchAction &action) {
  if (auto *t = std::get_if<batch::Transcribed>(&action)) {
    return [this, done = std::move(*t)] {
      for (const stt::TimedTranscript &tt : to_transcripts(done, config_.utterances))
        hooks_.transcript(tt);
    };
  }
  if (auto *a = std::get_if<batch::Ack>(&action)) {
    stt::Ack ack;
    ack.position = a->position;
    ack.session_id = a->session_id;
    ack.flush_id = a->flush_id;
    ack.drained = a->drained;
    if (!ack.drained)
      return [this, ack] { hooks_.ack(ack); };
    return [this, ack] {
      hooks_.ack(ack);
      std::lock_guard<std::mutex> lock(mutex_);
      drained_ = true;
      cv_.notify_all();
    };
  }
  if (auto *d = std::get_if<batch::Dropped>(&action)) {
    stt::AudioDropped dropped{d->start, d->duration, d->reason, 1, d->detail};
    return [this, dropped] { hooks_.dropped(dropped); };
  }
  if (auto *r = std::get_if<batch::Rejected>(&action))
    return [this, r = r->rejection] { hooks_.rejected(r); };
  if (auto *f = std::get_if<batch::Fatal>(&action))
    return [this, f = f->fatal] { hooks_.fatal(f); };
  if (auto *h = std::get_if<batch::Health>(&action)) {
    stt::Health health{*h};
    return [this, health] { hooks_.health(health); };
  }
  if (auto *s = std::get_if<batch::Warn>(&action))
    return [this, slow = std::move(*s)] { hooks_.warn(slow); };
  return {};
}

void BatchCore::arm_drain_timer_locked(GstClockTime at) {
  cancel_timer(&drain_timer_);
  drain_timer_ = gst_clock_new_single_shot_id(config_.clock, at);
  std::weak_ptr<void> owner = shared_from_this();
  auto *ctx = new TimerContext{owner, [this] {
                                 std::lock_guard<std::mutex> l(mutex_);
                                 planner_.on_drain_timer();
                                 cv_.notify_all();
                               }};
  gst_clock_id_wait_async(drain_timer_, on_clock_timer, ctx, free_timer_context);
}

void BatchCore::arm_retry_timer_locked(GstClockTime at) {
  cancel_timer(&retry_timer_);
  uint64_t generation = ++timer_generation_;
  retry_timer_ = gst_clock_new_single_shot_id(config_.clock, at);
  std::weak_ptr<BatchCore> weak = shared_from_this();
  auto *ctx =
      new TimerContext{weak, [weak, generation] {
                         if (auto self = weak.lock())
                           self->net_->invoke([self, generation] { self->on_timer(generation); });
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

void BatchCore::on_timer(uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != timer_generation_ || stopped_)
      return;
    cancel_timer(&retry_timer_);
    planner_.on_retry_timer();
  }
  pump();
}

void BatchCore::pump() {
  std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
  Work work;
  for (;;) {
    uint64_t candidate = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_ || !session_)
        return; /* stop() runs on this thread too: nothing is pending here */
      BatchActions actions = planner_.poll(now());
      for (const BatchAction &a : actions) {
        if (auto *p = std::get_if<batch::AcquirePermit>(&a))
          candidate = p->id;
      }
      apply_locked(std::move(actions), work);
    }
    if (!candidate)
      break;
    /* The breaker is asked without our lock: its listeners may be anyone's. */
    BreakerPermit permit = config_.breaker->try_acquire();
    uint64_t retry_in = 0;
    if (!permit) {
      auto deadline = config_.breaker->next_deadline();
      auto wait = std::chrono::milliseconds{1000}; /* forced open: poll */
      if (deadline) {
        wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            *deadline - std::chrono::steady_clock::now());
        wait = std::max(wait, std::chrono::milliseconds{1});
      }
      retry_in = static_cast<uint64_t>(wait.count()) * GST_MSECOND;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      apply_locked(planner_.on_permit(candidate, static_cast<bool>(permit), retry_in, now()), work,
                   permit ? &permit : nullptr);
    }
    if (!permit)
      break;
  }
  bool emitted = !work.out.empty();
  finish(work);
  for (Work::Send &s : work.sends) {
    GST_DEBUG_OBJECT(config_.log_object, "uploading chunk %" G_GUINT64_FORMAT, s.id);
    std::shared_ptr<BatchCore> self = shared_from_this();
    uint64_t id = s.id;
    bytes_sent_ += start_upload(
        session_, config_.request, config_.common.tls_verify, std::move(s.storage),
        static_cast<uint32_t>(s.rate), static_cast<uint32_t>(s.channels), config_.common.encoding,
        config_.common.bitrate, config_.connect_timeout_ms, s.cancellable,
        [self, id](UploadResult r) { self->on_upload_done(id, std::move(r)); });
    g_object_unref(s.cancellable);
  }
  if (!work.sends.empty()) {
    watch();
    hooks_.stats_changed();
  } else if (emitted) {
    hooks_.stats_changed();
  }
}

void BatchCore::watch() {
  if (watch_timer_)
    return;
  std::weak_ptr<BatchCore> weak = weak_from_this();
  watch_timer_ = net_->add_timeout(kPathProbeIntervalMs, [weak] {
    auto self = weak.lock();
    if (!self)
      return false;
    bool requests_out;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      requests_out = !self->uploads_.empty() && !self->stopped_;
    }
    if (!requests_out && !self->path_down_) {
      self->watch_timer_ = 0;
      return false;
    }
    if (self->path_down_)
      self->check_path();
    if (requests_out)
      self->pump();
    return true;
  });
}

void BatchCore::on_upload_done(uint64_t id, UploadResult r) {
  UploadReport report;
  report.verdict = r.verdict;
  if (r.verdict == UploadVerdict::Transcribed) {
    auto parsed = parse_prerecorded_response(r.body);
    if (parsed) {
      report.response = std::move(parsed.value());
      /* Odd shapes outside the transcript: read with defaults, logged. */
      for (const std::string &note : report.response->tolerated)
        GST_INFO_OBJECT(config_.log_object, "chunk %" G_GUINT64_FORMAT " tolerated: %s", id,
                        note.c_str());
    } else {
      report.verdict = UploadVerdict::Retry;
      r.error = "unreadable response: " + parsed.error().message;
    }
  }
  report.status = r.status;
  report.described = r.status && r.error.rfind("HTTP", 0) != 0
                         ? dg_describe_status(r.status) + ": " + r.error
                         : r.error;
  report.error = std::move(r.error);
  report.hint = std::move(r.hint);
  report.request_id = std::move(r.request_id);
  report.retry_after = r.retry_after;

  bool path_dead = r.path_dead;
  bool transcribed = r.verdict == UploadVerdict::Transcribed;
  Work work;
  bool running = false;
  bool supervised = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running = !stopped_;
    supervised = planner_.supervised();
    auto upload = uploads_.find(id);
    if (upload != uploads_.end()) {
      g_object_unref(upload->second);
      uploads_.erase(upload);
    }
    apply_locked(planner_.on_upload_done(id, std::move(report), now()), work);
  }
  finish(work);
  if (!running)
    return; /* stop() has returned: no more hooks */
  if (transcribed)
    path_down_ = false;
  else if (path_dead && !supervised) { /* supervised: the failover's live sink checks */
    path_down_ = true;
    watch();
  }
  pump();
  hooks_.stats_changed();
}

void BatchCore::check_path() {
  if (path_probe_)
    return; /* the last one is still out */
  if (!config_.breaker->claim_path_check(std::chrono::milliseconds{kPathProbeIntervalMs}))
    return; /* another user of the breaker checks this time */
  std::weak_ptr<BatchCore> weak = weak_from_this();
  /* stop() cancels the probe: a cancelled one never answers. */
  path_probe_ = dg_probe_path(config_.request.url, 1, [weak](const std::string &error) {
    auto self = weak.lock();
    if (!self)
      return;
    g_clear_object(&self->path_probe_);
    if (!error.empty()) {
      GST_DEBUG_OBJECT(self->config_.log_object, "path check: %s", error.c_str());
      return;
    }
    if (!self->path_down_)
      return; /* a request got through meanwhile */
    self->path_down_ = false;
    GST_INFO_OBJECT(self->config_.log_object, "path check: Deepgram's host is reachable again");
    self->retry_now();
  });
}

/* Breaker reports and cancellations first (they say nothing to the app),
 * then the hooks, in the planner's order. Network thread, unlocked. */
void BatchCore::finish(Work &work) {
  for (const Work::Report &r : work.reports)
    config_.breaker->report(r.permit, r.outcome, r.source);
  work.reports.clear();
  cancel_now(work.cancel);
  if (!work.out.empty()) {
    std::lock_guard<std::recursive_mutex> emitting(emit_mutex_);
    emit(work.out);
  }
}

void BatchCore::emit(std::vector<Output> &out) {
  for (Output &o : out)
    o();
  out.clear();
}

void BatchCore::cancel_now(std::vector<GCancellable *> &cancel) {
  for (GCancellable *c : cancel) {
    g_cancellable_cancel(c);
    g_object_unref(c);
  }
  cancel.clear();
}

void BatchCore::cancel_on_net(std::vector<GCancellable *> cancel) {
  if (cancel.empty())
    return;
  net_->invoke([cancel]() mutable { cancel_now(cancel); });
}

} // namespace dgf
