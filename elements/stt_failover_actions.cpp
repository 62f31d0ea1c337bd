/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover carrying out its core's decisions: the clock and timers, the
 * shared breaker and our listener on it, and each FailoverAction (pushes,
 * stt events to the branches, bus messages, notifications). */
#include <config.h>

#include "stt_protocol.h"

#include "gststtfailover_private.h"

namespace dgf::sttfailover {

namespace {

template <class... F> struct Overloaded : F... { using F::operator()...; };
template <class... F> Overloaded(F...) -> Overloaded<F...>;

} // namespace

/* ---- time --------------------------------------------------------------- */

/* The element's clock, or the system clock before the pipeline gives one.
 * A GstTestClock makes every timer here controllable from tests. */
static GstClock *get_clock(GstSttFailover *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  return clock ? clock : gst_system_clock_obtain();
}

uint64_t now_ns(GstSttFailover *self) {
  GstClock *clock = get_clock(self);
  uint64_t now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now;
}

uint64_t running_time(GstSttFailover *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  return now >= base ? now - base : 0;
}

/* Swaps the timer in `slot` for a new one at `at` (or none); call unlocked. */
void arm_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot,
               std::optional<uint64_t> at, GstClockCallback callback) {
  SttFailoverPrivate *priv = self->priv;
  GstClockID id = nullptr;
  if (at) {
    GstClock *clock = get_clock(self);
    id = gst_clock_new_single_shot_id(clock, *at);
    gst_object_unref(clock);
  }
  GstClockID old;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    old = priv->*slot;
    priv->*slot = id ? gst_clock_id_ref(id) : nullptr;
  }
  if (old) {
    gst_clock_id_unschedule(old);
    gst_clock_id_unref(old);
  }
  if (id) {
    gst_clock_id_wait_async(id, callback, gst_object_ref(self), gst_object_unref);
    gst_clock_id_unref(id);
  }
}

/* True (and the slot cleared) when `id` is still the armed timer. */
bool claim_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot, GstClockID id) {
  SttFailoverPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  if (priv->*slot != id)
    return false;
  priv->*slot = nullptr;
  gst_clock_id_unref(id);
  return true;
}

/* ---- breaker ------------------------------------------------------------- */

static BreakerView view_of(BreakerState state, std::optional<BreakerTime> open_until) {
  BreakerView v;
  v.state = state;
  if (state == BreakerState::Open && open_until) {
    auto left = *open_until - std::chrono::steady_clock::now();
    if (left.count() > 0)
      v.reopens_in =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
  }
  return v;
}

static std::shared_ptr<Breaker> current_breaker(GstSttFailover *self) {
  std::lock_guard<std::mutex> guard(self->priv->lock);
  return self->priv->breaker;
}

BreakerView read_breaker(GstSttFailover *self) {
  std::shared_ptr<Breaker> breaker = current_breaker(self);
  if (!breaker)
    return BreakerView{};
  BreakerSnapshot snap = breaker->snapshot(); /* also applies due timers */
  return view_of(snap.state, snap.open_until);
}

/* ---- carrying out the core's actions ------------------------------------- */

static gboolean on_recovery_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data);
static gboolean on_giveup_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data);

static GstBuffer *buffer_to_push(const act::PushAudio &p) {
  auto *payload = static_cast<const BufferPayload *>(p.payload.get());
  GstBuffer *buf = gst_buffer_ref(payload->buffer());
  bool restamp = GST_BUFFER_PTS(buf) != p.start || GST_BUFFER_DURATION(buf) != p.duration;
  bool flag = p.discont && !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT);
  if (restamp || flag) {
    buf = gst_buffer_make_writable(buf); /* shares the memory; the ledger keeps its ref */
    GST_BUFFER_PTS(buf) = p.start;
    GST_BUFFER_DURATION(buf) = p.duration;
    if (p.discont)
      GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  }
  return buf;
}

/* Runs actions in order, unlocked. Pushes only happen for actions the core
 * returns on the streaming thread. Returns the flow for upstream. */
GstFlowReturn run_actions(GstSttFailover *self, const FailoverActions &actions) {
  SttFailoverPrivate *priv = self->priv;
  GstFlowReturn flow = GST_FLOW_OK;
  bool notify_state = false, notify_stats = false;
  for (const FailoverAction &action : actions) {
    if (flow == GST_FLOW_FLUSHING)
      break;
    std::visit(
        Overloaded{
            [&](const act::PushAudio &p) {
              GstPad *pad = p.branch == Branch::Stream ? self->streampad : self->batchpad;
              GstFlowReturn ret = gst_pad_push(pad, buffer_to_push(p));
              if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING) {
                if (ret == GST_FLOW_FLUSHING)
                  flow = ret;
                return;
              }
              if (p.branch == Branch::Stream) {
                GST_WARNING_OBJECT(self, "push to stream failed: %s", gst_flow_get_name(ret));
                FailoverActions more;
                uint64_t now = now_ns(self);
                {
                  std::lock_guard<std::mutex> guard(priv->lock);
                  more = priv->core.on_stream_push_failed(gst_flow_get_name(ret), now);
                }
                GstFlowReturn r = run_actions(self, more);
                if (r != GST_FLOW_OK)
                  flow = r;
              } else if (ret == GST_FLOW_NOT_LINKED) {
                /* Nowhere to go: say so instead of losing it silently. */
                stt::AudioDropped d{p.start, p.duration, "not-linked", 1,
                                    "the batch pad is not linked"};
                self->priv->dropped.post(GST_ELEMENT(self), d);
              } else {
                flow = ret;
              }
            },
            [&](const act::SendFlush &f) {
              GST_INFO_OBJECT(self, "flush %u to batch (%s)", f.flush_id, f.reason.c_str());
              gst_pad_push_event(self->batchpad, stt::make_event(stt::Flush{f.flush_id, f.reason}));
            },
            [&](const act::SendReconnect &r) {
              GST_INFO_OBJECT(self, "asking the stream branch to reconnect (attempt %u)",
                              r.attempt);
              gst_pad_push_event(self->streampad, stt::make_event(stt::Reconnect{r.attempt}));
            },
            [&](const act::PostDegraded &d) {
              GST_WARNING_OBJECT(self, "degraded: %s (code %d, breaker %s)", d.reason.c_str(),
                                 d.code, d.breaker_state.c_str());
              stt::Degraded m{d.reason, d.code, d.breaker_state, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::PostRecovered &r) {
              GST_INFO_OBJECT(self, "recovered after %" GST_TIME_FORMAT,
                              GST_TIME_ARGS(r.degraded_duration));
              stt::Recovered m{r.degraded_duration, r.batch_audio, r.replayed, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::PostDropped &d) {
              GST_WARNING_OBJECT(
                  self, "audio %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " dropped: %s",
                  GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.duration), d.reason.c_str());
              stt::AudioDropped m{d.start, d.duration, d.reason, d.buffers, d.detail};
              priv->dropped.post(GST_ELEMENT(self), m);
              notify_stats = true;
            },
            [&](const act::ScheduleRecovery &s) {
              arm_timer(self, &SttFailoverPrivate::recovery_timer, s.at, on_recovery_timer_cb);
            },
            [&](const act::CancelRecovery &) {
              arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
            },
            [&](const act::StateChanged &s) {
              GST_INFO_OBJECT(self, "state: %s", failover_state_name(s.state));
              notify_state = notify_stats = true;
            },
            [&](const act::Warn &w) {
              GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("%s", w.message.c_str()),
                                  ("%s", w.detail.c_str()));
            },
            [&](const act::PostRecoveryFailed &r) {
              GST_INFO_OBJECT(self, "recovery attempt %u failed: %s", r.attempt, r.reason.c_str());
              stt::RecoveryFailed m{r.attempt, r.reason, r.code, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::Fatal &f) {
              GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("%s", f.message.c_str()),
                                ("%s", f.detail.c_str()));
              flow = GST_FLOW_ERROR;
              self->priv->cond.notify_all(); /* an EOS or a full ledger waits no more */
            },
            [&](const act::ScheduleGiveUp &g) {
              arm_timer(self, &SttFailoverPrivate::giveup_timer, g.at, on_giveup_timer_cb);
            },
            [&](const act::CancelGiveUp &) {
              arm_timer(self, &SttFailoverPrivate::giveup_timer, std::nullopt, nullptr);
            },
        },
        action);
  }
  if (notify_state)
    g_object_notify(G_OBJECT(self), "state");
  if (notify_stats)
    g_object_notify(G_OBJECT(self), "stats");
  return flow;
}

static gboolean on_recovery_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::recovery_timer, id))
    return TRUE; /* replaced or cancelled meanwhile */
  BreakerView view = read_breaker(self);
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_recovery_due(view, now);
  }
  run_actions(self, actions);
  return TRUE;
}

static gboolean on_giveup_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::giveup_timer, id))
    return TRUE;
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_give_up_due(now);
  }
  run_actions(self, actions);
  return TRUE;
}

static void on_breaker_event(GstSttFailover *self, const BreakerEvent &e) {
  /* Listeners run outside the breaker's lock, and we hold none of ours. */
  stt::BreakerChange m{e.name,
                       breaker_state_name(e.to),
                       breaker_state_name(e.from),
                       e.generation,
                       e.consecutive_failures,
                       static_cast<uint64_t>(e.open_for.count()) * GST_MSECOND,
                       e.trip,
                       static_cast<uint64_t>(e.open_window.count()) * GST_MSECOND};
  gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_breaker(view_of(e.to, e.open_until), now);
  }
  run_actions(self, actions);
}

void release_breaker(GstSttFailover *self) {
  std::shared_ptr<Breaker> breaker;
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    breaker = std::move(self->priv->breaker);
    self->priv->breaker.reset();
    id = self->priv->listener_id;
    self->priv->listener_id = 0;
  }
  if (breaker && id)
    breaker->remove_listener(id); /* waits for a listener call in flight */
}

/* Gets the shared breaker for the current settings before the sinks start,
 * so a stream sink with the same name finds ours and its settings. */
void ensure_breaker(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  std::string name;
  BreakerSettings wanted;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    name = priv->settings.breaker.name;
    wanted = priv->settings.breaker.settings().clamped();
    if (priv->breaker && priv->breaker_name == name && priv->breaker_settings == wanted &&
        (!name.empty() || priv->breaker_registry == priv->breakers.registry()))
      return;
  }
  release_breaker(self);
  std::string conflict;
  std::shared_ptr<Breaker> breaker = priv->breakers.get(name, kLiveBreakerKey, wanted, &conflict);
  if (!conflict.empty())
    GST_WARNING_OBJECT(self, "breaker '%s' already exists with other settings: %s", name.c_str(),
                       conflict.c_str());
  uint64_t id = breaker->add_listener([self](const BreakerEvent &e) { on_breaker_event(self, e); });
  BreakerSnapshot snap = breaker->snapshot();
  uint64_t now = now_ns(self);
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->breaker = breaker;
  priv->breaker_name = name;
  priv->breaker_settings = wanted;
  priv->breaker_registry = priv->breakers.registry();
  priv->listener_id = id;
  priv->core.on_breaker(view_of(snap.state, snap.open_until), now);
}

} // namespace dgf::sttfailover
