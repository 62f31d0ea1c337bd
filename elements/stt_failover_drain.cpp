/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover at EOS: waiting for each branch to finish, within
 * drain-timeout, before the last captions and EOS leave the text pad. */
#include <config.h>

#include "gststtfailover_private.h"

namespace dgf::sttfailover {

/* Waits (EOS) until `pred`, the drain timer or a flush. */
template <typename Pred> static bool wait_until(GstSttFailover *self, Pred pred) {
  SttFailoverPrivate *priv = self->priv;
  std::unique_lock<std::mutex> guard(priv->lock);
  priv->cond.wait(
      guard, [&] { return priv->flushing || priv->drain_expired || priv->core.fatal() || pred(); });
  return !priv->flushing && pred();
}

static gboolean on_drain_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::drain_timer, id))
    return TRUE;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->drain_expired = true;
  }
  self->priv->cond.notify_all();
  return TRUE;
}

/* drain-timeout from now: at EOS, and again at every report from a branch,
 * so a long backlog that is still being answered is waited for. */
void start_drain_timer(GstSttFailover *self) {
  guint ms;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    ms = self->priv->settings.drain_timeout_ms;
    self->priv->drain_expired = false;
    self->priv->draining = true;
  }
  arm_timer(self, &SttFailoverPrivate::drain_timer,
            now_ns(self) + static_cast<uint64_t>(ms) * GST_MSECOND, on_drain_timer_cb);
}

/* EOS: the stream first, since audio it fails to finish goes to batch; then
 * batch; then the text task pushes the last captions and EOS. Each wait ends
 * after drain-timeout on the element's clock without a report from the
 * branch being waited for. */
gboolean handle_eos(GstSttFailover *self, GstEvent *event) {
  SttFailoverPrivate *priv = self->priv;
  FailoverActions actions;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_eos(now);
  }
  run_actions(self, actions);
  wake_captions(self);

  actions.clear();
  if (gst_pad_push_event(self->streampad, gst_event_ref(event)) &&
      gst_pad_is_linked(self->streampad)) {
    start_drain_timer(self);
    bool done = wait_until(self, [&] {
      return priv->core.stream_drained() || priv->core.state() == FailoverState::Degraded;
    });
    if (!done) {
      uint64_t now = now_ns(self);
      std::lock_guard<std::mutex> guard(priv->lock);
      if (!priv->flushing) {
        GST_WARNING_OBJECT(self, "stream branch did not drain in time: its audio goes to batch");
        actions = priv->core.on_stream_drain_timeout(now);
      }
    }
  }
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    FailoverActions more = priv->core.take_pending(0);
    actions.insert(actions.end(), more.begin(), more.end());
  }
  run_actions(self, actions); /* the stream's unfinished audio, before batch's EOS */

  if (gst_pad_push_event(self->batchpad, gst_event_ref(event)) &&
      gst_pad_is_linked(self->batchpad)) {
    start_drain_timer(self);
    if (!wait_until(self, [&] { return priv->core.batch_drained(); })) {
      GST_WARNING_OBJECT(self, "batch branch did not drain within drain-timeout");
      FailoverActions dropped;
      {
        std::lock_guard<std::mutex> guard(priv->lock);
        dropped = priv->core.on_batch_drain_timeout(0);
      }
      run_actions(self, dropped); /* never silent: the ranges without captions */
    }
  }
  bool flushing, fatal;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->draining = false;
    flushing = priv->flushing;
    fatal = priv->core.fatal();
  }
  arm_timer(self, &SttFailoverPrivate::drain_timer, std::nullopt, nullptr);
  if (flushing || fatal) {
    /* After an ERROR no EOS: an application stops reading at EOS and would
     * miss it. */
    gst_event_unref(event);
    return FALSE;
  }
  priv->captions->finish(event); /* the rest of the captions, then EOS */
  return TRUE;
}

} // namespace dgf::sttfailover
