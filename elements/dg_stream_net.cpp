/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's network thread, its audio: what it holds (for render's flow
 * control), sending it, Deepgram's results and the acks they make, lost
 * audio, the EOS drain, the watchdog's ticks and teardown. Connecting and
 * failures are in dg_stream_net_connection.cpp. Everything in `Net` is
 * touched here on the network thread only. */
#include <config.h>

#include "gstdgstreamsink_private.h"

#include <algorithm>

namespace dgf::streamsink {

using namespace dgf::stt;

void post(GstDgStreamSink *self, GstStructure *s) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void update_stats(GstDgStreamSink *self, const std::function<void(Stats &)> &fn, bool notify) {
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    fn(self->priv->stats);
  }
  if (notify)
    g_object_notify(G_OBJECT(self), "stats");
}

/* Network thread: how much audio it holds now, for render's flow control. */
void net_publish_held(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  uint64_t held = net.unsent_duration + (net.ledger ? net.ledger->held() : 0);
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    if (self->priv->held_ns == held)
      return;
    self->priv->held_ns = held;
  }
  self->priv->state_cv.notify_all();
}

void net_note_progress(GstDgStreamSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->last_progress_us = now_us();
}

void net_set_phase(GstDgStreamSink *self, Phase phase) {
  self->priv->net.phase = phase;
  update_stats(
      self, [&](Stats &s) { s.state = phase_name(phase); }, true);
}

static void net_post_dropped(GstDgStreamSink *self, const DropReport &d) {
  GST_WARNING_OBJECT(self, "audio %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " dropped: %s",
                     GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.duration), d.reason.c_str());
  self->priv->dropped.post(GST_ELEMENT(self),
                           AudioDropped{d.start, d.duration, d.reason, d.buffers, d.detail});
}

/* Lost audio, reported once per stretch (drop_coalescer.h): the run is
 * posted when it ends, at the latest a second after its last piece. */
void net_report_dropped(GstDgStreamSink *self, uint64_t start, uint64_t duration,
                        const char *reason, const std::string &detail) {
  Net &net = self->priv->net;
  if (duration == 0)
    return;
  update_stats(self, [&](Stats &s) { s.audio_dropped += duration; });
  if (auto done = net.drops.add(start, duration, reason, detail))
    net_post_dropped(self, *done);
  net.last_drop_us = now_us();
}

void net_flush_dropped(GstDgStreamSink *self) {
  if (auto done = self->priv->net.drops.flush())
    net_post_dropped(self, *done);
}

void net_send_pending(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  while (net.conn && net.conn->is_open() && !net.unsent.empty()) {
    Pending p = std::move(net.unsent.front());
    net.unsent.pop_front();
    net.unsent_duration -= p.duration;
    GstMapInfo map;
    if (!gst_buffer_map(p.buffer.buffer, &map, GST_MAP_READ))
      continue;
    bool sent = net.conn->send_binary(map.data, map.size);
    uint64_t frames = map.size / GST_AUDIO_INFO_BPF(&net.info);
    gst_buffer_unmap(p.buffer.buffer, &map);
    if (!sent) {
      net.unsent.push_front(std::move(p));
      net.unsent_duration += net.unsent.front().duration;
      net_fail(self, "send failed", 0, true);
      return;
    }
    net.time_map.append(p.pts, frames);
    if (net.ledger)
      net.ledger->append(p.pts, p.duration, std::move(p.buffer));
    net.watchdog.on_audio_sent(now_ns(), net.time_map.sent_seconds());
    update_stats(self, [&](Stats &s) { s.audio_sent += p.duration; });
  }
  if (net.eos && !net.close_sent && net.conn && net.conn->is_open() && net.unsent.empty()) {
    net.conn->send_text("{\"type\":\"CloseStream\"}");
    net.close_sent = true;
    net.watchdog.on_close_sent(now_ns());
  }
  net_publish_held(self);
}

/* A pause in the source: ask for the words already sent, so they are not
 * held until more audio comes (and nothing stays owed while paused). */
void net_finalize(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (net.phase != Phase::Open || !net.conn || net.close_sent || !net.watchdog.finalize_wanted())
    return;
  if (net.conn->send_text("{\"type\":\"Finalize\"}")) {
    GST_DEBUG_OBJECT(self, "source paused: Finalize");
    net.watchdog.on_finalize_sent(now_ns());
  }
}

/* Takes everything held for a replay (un-acked in the ledger, and unsent),
 * as time ranges: what is lost when it can no longer be sent. */
static TimeRanges net_take_held(Net &net) {
  TimeRanges held;
  if (net.ledger) {
    auto takeover = net.ledger->take_all();
    for (const auto &r : takeover.lost)
      held.insert(r);
    for (const auto &e : takeover.replay)
      held.insert(TimeRange{e.start, e.end()});
  }
  for (const auto &p : net.unsent)
    held.insert(TimeRange{p.pts, p.pts + p.duration});
  net.unsent.clear();
  net.unsent_duration = 0;
  return held;
}

void net_finish_drain(GstDgStreamSink *self, bool complete) {
  Net &net = self->priv->net;
  if (!net.eos)
    return;
  net.eos = false;
  if (!complete && net.supervised) {
    /* The supervisor still holds the un-finalized audio: it replays it to its
     * other branch, so report a failure rather than drop it. */
    push_upstream(self, Health{false, "finalize-timeout", 0, true, net.session_id});
    net.unsent.clear();
    net.unsent_duration = 0;
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->finished = true;
    self->priv->state_cv.notify_all();
    return;
  }
  /* Anything still un-acked or unsent will never be transcribed now: one
   * report per stretch, naming why. */
  TimeRanges lost = net_take_held(net);
  bool open = net.phase == Phase::Open || net.phase == Phase::Idle;
  std::string why = open ? "finalize-timeout" : net.outage_cause;
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    detail =
        open ? "no answer from Deepgram within finalize-timeout" : self->priv->stats.last_error;
  }
  for (const TimeRange &r : lost.list())
    net_report_dropped(self, r.start, r.duration(), why.c_str(), detail);
  net_flush_dropped(self);
  net_publish_held(self);
  uint64_t end = net.time_map.end_pts();
  push_upstream(self, Ack{end, net.session_id, 0, true});
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->finished = true;
  }
  self->priv->state_cv.notify_all();
  GST_INFO_OBJECT(self, "EOS drain %s", complete ? "complete" : "cut short");
}

void net_ack(GstDgStreamSink *self, uint64_t position) {
  Net &net = self->priv->net;
  net.acked_pts = std::max(net.acked_pts, position);
  if (net.ledger)
    net.ledger->ack(position);
  net_publish_held(self);
  push_upstream(self, Ack{position, net.session_id, 0, false});
}

static void net_on_results(GstDgStreamSink *self, const Transcript &t) {
  Net &net = self->priv->net;
  /* Each time through the connection's clock, gaps and all. */
  TimedTranscript timed = to_pipeline_time(t, net.time_map, net.session_id, "stream");
  uint64_t end = timed.start + timed.duration;
  if (timed.request_id.empty())
    timed.request_id = net.request_id;
  update_stats(self, [&](Stats &s) {
    s.results++;
    if (t.is_final)
      s.finals++;
  });
  /* Interims never acknowledge audio: a server sending only those is checked in net_tick. */
  if (t.is_final)
    net.watchdog.on_final(now_ns(), t.start + t.duration);
  else
    net.watchdog.on_interim(now_ns());
  if (t.is_final || !t.text.empty() || self->priv->active.interim_results) {
    post_msg(self, timed);
    push_upstream(self, timed);
  }
  if (t.is_final)
    net_ack(self, end);
}

void net_on_text(GstDgStreamSink *self, const char *text, size_t length) {
  Net &net = self->priv->net;
  auto parsed = parse_live_message(std::string_view(text, length));
  if (!parsed) {
    update_stats(self, [](Stats &s) { s.malformed++; });
    if (!net.warned_malformed) {
      net.warned_malformed = true;
      GST_ELEMENT_WARNING(
          self, STREAM, DECODE, ("Deepgram sent a message that is not valid"),
          ("%s (further ones are counted in stats)", parsed.error().message.c_str()));
    }
    /* It may have been a final result: its audio is un-acked, and later acks
     * on this connection would skip it. Reconnect and replay instead. */
    net_fail(self, "malformed message: " + parsed.error().message, 0, true);
    return;
  }
  LiveMessage &msg = parsed.value();
  /* Odd shapes outside the transcript (a channel sent as [0], a field of
   * another type): read with defaults, counted, logged once per connection. */
  const Tolerated &notes = tolerated_notes(msg);
  if (!notes.empty()) {
    update_stats(self, [](Stats &s) { s.tolerated++; });
    for (const std::string &note : notes)
      if (net.tolerated_seen.insert(note).second)
        GST_INFO_OBJECT(self, "tolerated: %s (request %s)", note.c_str(), net.request_id.c_str());
  }
  net.watchdog.on_message(now_ns()); /* alive, whatever it says */
  net_note_progress(self);
  if (auto *t = std::get_if<Transcript>(&msg)) {
    net_on_results(self, *t);
  } else if (auto *m = std::get_if<DeepgramMetadata>(&msg)) {
    /* Sent before every server close, a fault's too: the close code decides. */
    GST_DEBUG_OBJECT(self, "Metadata: request %s, %.3f s", m->request_id.c_str(), m->duration);
    net.metadata_duration = m->duration;
  } else if (auto *u = std::get_if<UtteranceEnd>(&msg)) {
    post_msg(self, UtteranceEndMessage{net.time_map.to_pipeline(u->last_word_end), u->channel,
                                       net.session_id});
  } else if (auto *sp = std::get_if<SpeechStarted>(&msg)) {
    post_msg(self, SpeechStartedMessage{net.time_map.to_pipeline(sp->timestamp), sp->channel,
                                        net.session_id});
  } else if (auto *e = std::get_if<DeepgramError>(&msg)) {
    GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("Deepgram reported an error: %s", e->code.c_str()),
                        ("%s (request %s)", e->message.c_str(), e->request_id.c_str()));
  } else if (auto *unknown = std::get_if<UnknownMessage>(&msg)) {
    GST_DEBUG_OBJECT(self, "ignoring message of type '%s'", unknown->type.c_str());
  }
}

/* Everything held (un-acked and unsent), reported dropped for `why`. */
void net_drop_held(GstDgStreamSink *self, const std::string &why) {
  Net &net = self->priv->net;
  TimeRanges held = net_take_held(net);
  for (const TimeRange &r : held.list())
    net_report_dropped(self, r.start, r.duration(), net.outage_cause.c_str(), why);
  net_flush_dropped(self);
  net_publish_held(self);
}

/* Periodic: KeepAlive during gaps, Finalize at pauses, stall detection. */
static bool net_tick(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.running)
    return false;
  if (net.drops.pending() && now_us() - net.last_drop_us >= G_USEC_PER_SEC)
    net_flush_dropped(self); /* the run has ended */
  net_give_up_if_due(self);
  if (net.phase != Phase::Open || !net.conn)
    return true;
  uint64_t now = now_ns();
  switch (net.watchdog.check(now)) {
  case LiveWatchdog::Due::Stall:
    net_fail(self, net.watchdog.stall_reason(), 0, true);
    break;
  case LiveWatchdog::Due::InterimStall:
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Deepgram sends interim results but no final"),
                        ("%s", net.watchdog.stall_reason().c_str()));
    net_fail(self, net.watchdog.stall_reason(), 0, true);
    break;
  case LiveWatchdog::Due::Finalize:
    net_finalize(self);
    break;
  case LiveWatchdog::Due::KeepAlive:
    if (net.conn->send_text("{\"type\":\"KeepAlive\"}")) {
      net.watchdog.on_text_sent(now);
      update_stats(self, [](Stats &s) { s.keepalives++; });
    }
    break;
  case LiveWatchdog::Due::Nothing:
    break;
  }
  return true;
}

/* The watchdog's timers, from the active settings. */
void net_start_ticking(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  const StreamSettings &a = priv->active;
  WatchdogSettings w;
  w.stall = static_cast<uint64_t>(a.stall_ms) * GST_MSECOND;
  w.keepalive = static_cast<uint64_t>(a.keepalive_ms) * GST_MSECOND;
  w.idle_finalize = kIdleFinalizeNs;
  priv->net.watchdog.set_settings(w);
  guint shortest = std::min({a.keepalive_ms ? a.keepalive_ms : a.stall_ms, a.stall_ms,
                             static_cast<guint>(kIdleFinalizeNs / GST_MSECOND)});
  /* Aligned: every sink's tick shares one wakeup (see docs/performance.md). */
  priv->net.tick_source = priv->net_thread->add_aligned_timeout(std::max(50u, shortest / 4),
                                                                [self] { return net_tick(self); });
}

void net_on_audio(GstDgStreamSink *self, uint64_t pts, uint64_t duration, GstBuffer *buf) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  BufferRef ref(buf);
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->in_transit_ns -= std::min(priv->in_transit_ns, duration);
  }
  if (!net.running || net.phase == Phase::Fatal)
    return;
  if (net.supervised && (net.phase == Phase::Down)) {
    /* The supervisor still holds this audio in its ledger. */
    GST_DEBUG_OBJECT(self, "down under a supervisor: %" GST_TIME_FORMAT " not sent",
                     GST_TIME_ARGS(pts));
    return;
  }
  net.unsent.push_back(Pending{pts, duration, std::move(ref)});
  net.unsent_duration += duration;
  /* Live input cannot wait: what replay-window cannot hold goes. Non-live
   * input waited for room in render; a replay queued after that wait may
   * briefly overfill the window, and that audio is kept, not dropped. */
  uint64_t bound = static_cast<uint64_t>(priv->active.replay_window_ms) * GST_MSECOND;
  while (net.live_input && net.unsent_duration > bound && net.unsent.size() > 1) {
    Pending &old = net.unsent.front();
    net_report_dropped(
        self, old.pts, old.duration, net.outage_cause.c_str(),
        (net.outage_reason.empty() ? std::string("still connecting") : net.outage_reason) +
            "; live input cannot wait longer than replay-window");
    net.unsent_duration -= old.duration;
    net.unsent.pop_front();
  }
  if (net.phase == Phase::Idle)
    net_start_connect(self);
  else if (net.phase == Phase::Open)
    net_send_pending(self);
  net_publish_held(self);
}

void net_teardown(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  net.running = false;
  if (net.retry_source)
    priv->net_thread->remove_source(net.retry_source);
  if (net.tick_source)
    priv->net_thread->remove_source(net.tick_source);
  net.retry_source = net.tick_source = 0;
  if (net.conn && net.conn->is_open() && !net.close_sent)
    net.conn->send_text("{\"type\":\"CloseStream\"}");
  net.conn.reset();
  if (net.permit_pending) {
    net.breaker->report(net.permit, BreakerOutcome::Cancelled);
    net.permit_pending = false;
  }
  net.unsent.clear();
  net.unsent_duration = 0;
  if (net.ledger)
    net.ledger->clear();
  net.time_map.reset(16000);
  net.phase = Phase::Idle;
  net.eos = false;
  net_flush_dropped(self);
  net_publish_held(self);
}

} // namespace dgf::streamsink
