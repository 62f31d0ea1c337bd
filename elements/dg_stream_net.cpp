/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's network thread: the glue around its live session
 * (plugin/live_session.h). It feeds the session audio, Deepgram's messages
 * and ticks, and carries out what the session decides: frames on the
 * socket, stt events upstream, messages on the bus, stats. The connection
 * and the retry timer are in dg_stream_net_connection.cpp. Everything in
 * `Net` is touched here on the network thread only. */
#include <config.h>

#include "gstdgstreamsink_private.h"

#include <algorithm>
#include <cstring>

namespace dgf::streamsink {

using namespace dgf::stt;

uint64_t BufferPayload::frames() const {
  guint bpf = GST_AUDIO_INFO_BPF(&info_);
  return bpf ? gst_buffer_get_size(buffer_) / bpf : 0;
}

/* Drop the first `skip` ns (an ack landed inside the buffer). */
LivePayloadRef BufferPayload::trimmed(uint64_t skip) const {
  gsize size = gst_buffer_get_size(buffer_);
  guint bpf = GST_AUDIO_INFO_BPF(&info_);
  gsize skip_bytes = gst_util_uint64_scale_int(skip, GST_AUDIO_INFO_RATE(&info_), GST_SECOND) * bpf;
  if (skip_bytes >= size)
    skip_bytes = size - (size % bpf ? size % bpf : bpf);
  GstBuffer *part =
      gst_buffer_copy_region(buffer_, GST_BUFFER_COPY_ALL, skip_bytes, size - skip_bytes);
  return std::make_shared<BufferPayload>(part, info_);
}

void post(GstDgStreamSink *self, GstStructure *s) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

LiveSessionSettings net_settings(const StreamSettings &a) {
  LiveSessionSettings s;
  s.replay_window = static_cast<uint64_t>(a.replay_window_ms) * GST_MSECOND;
  s.retry_backoff = BackoffPolicy{std::chrono::milliseconds{a.retry_backoff.min_ms},
                                  std::chrono::milliseconds{a.retry_backoff.max_ms}};
  s.reconnect = a.reconnect;
  s.max_outage_ms = a.common.max_outage_ms;
  s.watchdog.stall = static_cast<uint64_t>(a.stall_ms) * GST_MSECOND;
  s.watchdog.keepalive = static_cast<uint64_t>(a.keepalive_ms) * GST_MSECOND;
  s.watchdog.idle_finalize = kIdleFinalizeNs;
  s.send_timeout = static_cast<uint64_t>(a.send_ms) * GST_MSECOND;
  s.finalize_timeout = static_cast<uint64_t>(a.finalize_ms) * GST_MSECOND;
  s.interim_results = a.interim_results;
  s.encoding = a.common.encoding; /* resolved (never Auto) by start */
  return s;
}

/* How much audio the session holds now, for render's flow control. */
static void net_publish_held(GstDgStreamSink *self) {
  uint64_t held = self->priv->net.core.held();
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    if (self->priv->held_ns == held)
      return;
    self->priv->held_ns = held;
  }
  self->priv->state_cv.notify_all();
}

/* Returns false when the socket refused the frame. */
static bool net_send_audio(GstDgStreamSink *self, const live::SendAudio &a) {
  Net &net = self->priv->net;
  /* Closing already: its close reports the failure, and the ledger replays. */
  if (!net.conn || !net.conn->is_open())
    return true;
  auto *payload = static_cast<const BufferPayload *>(a.payload.get());
  GstMapInfo map;
  if (!gst_buffer_map(payload->buffer(), &map, GST_MAP_READ))
    return true;
  bool sent = net_send_pcm(self, map.data, map.size, a.duration);
  gst_buffer_unmap(payload->buffer(), &map);
  return sent;
}

/* A control message; its bytes count in the send backlog, no audio. */
static void net_send_text(GstDgStreamSink *self, const char *text) {
  Net &net = self->priv->net;
  if (net.conn->send_text(text))
    net.backlog.on_sent(SendBacklog::client_frame_bytes(strlen(text)), 0, now_ns());
}

static void net_send_control(GstDgStreamSink *self, live::Control what) {
  Net &net = self->priv->net;
  if (!net.conn)
    return;
  switch (what) {
  case live::Control::KeepAlive:
    net_send_text(self, "{\"type\":\"KeepAlive\"}");
    break;
  case live::Control::Finalize:
    net_send_text(self, "{\"type\":\"Finalize\"}");
    break;
  case live::Control::CloseStream:
    if (!net_drain_encoder(self)) /* its tail first (encoding flac / opus) */
      return;
    net_send_text(self, "{\"type\":\"CloseStream\"}");
    break;
  }
}

static void net_post_transcript(GstDgStreamSink *self, const live::Transcript &r) {
  TimedTranscript timed = to_pipeline_time(r.t, 0, r.session_id, "stream");
  timed.start = r.start;
  timed.duration = r.duration;
  for (size_t i = 0; i < timed.words.size() && i < r.words.size(); i++) {
    timed.words[i].start = r.words[i].start;
    timed.words[i].end = r.words[i].end;
  }
  post_msg(self, timed);
  push_upstream(self, timed);
}

static void net_warn(GstDgStreamSink *self, const live::Warn &w) {
  switch (w.kind) {
  case live::WarnKind::Outage:
    GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ, ("%s", w.message.c_str()),
                        ("%s", w.detail.c_str()));
    break;
  case live::WarnKind::Decode:
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("%s", w.message.c_str()), ("%s", w.detail.c_str()));
    break;
  case live::WarnKind::SlowLink:
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("%s", w.message.c_str()), ("%s", w.detail.c_str()));
    break;
  case live::WarnKind::ServiceError:
    GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("%s", w.message.c_str()),
                        ("%s", w.detail.c_str()));
    break;
  }
}

static void net_refusal(GstDgStreamSink *self, const live::Refusal &r) {
  if (!r.undecodable) {
    dg_post_refusal(GST_ELEMENT(self), r.supervised, r.message, r.detail, r.status, r.request_id);
    return;
  }
  GstCaps *as_caps = gst_audio_info_to_caps(&self->priv->net.info);
  gchar *caps = as_caps ? gst_caps_to_string(as_caps) : g_strdup("unknown caps");
  dg_post_refusal(GST_ELEMENT(self), r.supervised, r.message,
                  std::string("caps sent as ") + encoding_name(self->priv->net.core.encoding()) +
                      ": " + caps,
                  0, r.request_id, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
  g_free(caps);
  if (as_caps)
    gst_caps_unref(as_caps);
}

static void net_fatal(GstDgStreamSink *self, const live::Fatal &f) {
  DgStreamSinkPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->fatal = true;
    if (f.message.empty())
      priv->fatal_flow = f.flow_ok ? GST_FLOW_OK : GST_FLOW_ERROR;
  }
  if (!f.message.empty())
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", f.message.c_str()),
                      ("%s", f.detail.c_str()));
  priv->state_cv.notify_all();
}

static void net_log(GstDgStreamSink *self, const live::Log &l) {
  switch (l.level) {
  case live::LogLevel::Debug:
    GST_DEBUG_OBJECT(self, "%s", l.text.c_str());
    break;
  case live::LogLevel::Info:
    GST_INFO_OBJECT(self, "%s", l.text.c_str());
    break;
  case live::LogLevel::Warning:
    GST_WARNING_OBJECT(self, "%s", l.text.c_str());
    break;
  }
}

void net_run(GstDgStreamSink *self, const LiveActions &actions) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (actions.empty())
    return;
  {
    /* Stats first: never behind what is posted next. */
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->stats = net.core.stats();
  }
  bool send_failed = false;
  for (const LiveAction &action : actions) {
    if (auto *a = std::get_if<live::SendAudio>(&action)) {
      if (!send_failed && !net_send_audio(self, *a))
        send_failed = true; /* the socket is dead: the rest goes with the replay */
    } else if (auto *c = std::get_if<live::SendControl>(&action)) {
      if (!send_failed)
        net_send_control(self, c->what);
    } else if (std::holds_alternative<live::Connect>(action)) {
      net.encoder.reset(); /* a fresh stream per connection */
      net_connect(self);
    } else if (std::holds_alternative<live::Disconnect>(action)) {
      net.conn.reset();
      net.encoder.reset();
    } else if (auto *b = std::get_if<live::ReportBreaker>(&action)) {
      if (net.breaker)
        net.breaker->report(net.permit, b->outcome, b->source);
    } else if (std::holds_alternative<live::PathLost>(action)) {
      if (net.breaker)
        net.breaker->note_path_lost();
    } else if (auto *r = std::get_if<live::ScheduleRetry>(&action)) {
      net_schedule_retry(self, *r);
    } else if (std::holds_alternative<live::CancelRetry>(action)) {
      net_cancel_retry(self);
    } else if (std::holds_alternative<live::CheckPath>(action)) {
      net_check_path(self);
    } else if (auto *pr = std::get_if<live::PathRestored>(&action)) {
      push_upstream(self, stt::PathRestored{pr->session_id});
    } else if (auto *h = std::get_if<live::Health>(&action)) {
      push_upstream(self, stt::Health{*h});
    } else if (auto *k = std::get_if<live::Ack>(&action)) {
      push_upstream(self, Ack{k->position, k->session_id, 0, k->drained});
    } else if (auto *t = std::get_if<live::Transcript>(&action)) {
      net_post_transcript(self, *t);
    } else if (auto *u = std::get_if<live::UtteranceEnd>(&action)) {
      post_msg(self, UtteranceEndMessage{u->last_word_end, u->channel, u->session_id});
    } else if (auto *sp = std::get_if<live::SpeechStarted>(&action)) {
      post_msg(self, SpeechStartedMessage{sp->timestamp, sp->channel, sp->session_id});
    } else if (auto *d = std::get_if<live::Dropped>(&action)) {
      const DropReport &r = d->report;
      GST_WARNING_OBJECT(self, "audio %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " dropped: %s",
                         GST_TIME_ARGS(r.start), GST_TIME_ARGS(r.duration), r.reason.c_str());
      priv->dropped.post(GST_ELEMENT(self),
                         AudioDropped{r.start, r.duration, r.reason, r.buffers, r.detail});
    } else if (auto *w = std::get_if<live::Warn>(&action)) {
      net_warn(self, *w);
    } else if (auto *rf = std::get_if<live::Refusal>(&action)) {
      net_refusal(self, *rf);
    } else if (auto *f = std::get_if<live::Fatal>(&action)) {
      net_fatal(self, *f);
    } else if (std::holds_alternative<live::PhaseChanged>(action) ||
               std::holds_alternative<live::StatsNotify>(action)) {
      g_object_notify(G_OBJECT(self), "stats");
    } else if (auto *p = std::get_if<live::Progress>(&action)) {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->last_progress_us = static_cast<int64_t>(p->at / 1000);
    } else if (std::holds_alternative<live::DrainFinished>(action)) {
      {
        std::lock_guard<std::mutex> lock(priv->state_lock);
        priv->finished = true;
      }
      priv->state_cv.notify_all();
    } else if (auto *l = std::get_if<live::Log>(&action)) {
      net_log(self, *l);
    }
  }
  net_publish_held(self);
  if (send_failed)
    net_run(self, net.core.on_send_failed(now_ns()));
}

void net_on_text(GstDgStreamSink *self, const char *text, size_t length) {
  Net &net = self->priv->net;
  auto parsed = parse_live_message(std::string_view(text, length));
  if (!parsed)
    net_run(self, net.core.on_malformed(parsed.error().message, now_ns()));
  else
    net_run(self, net.core.on_message(parsed.value(), now_ns()));
}

void net_on_open(GstDgStreamSink *self, const std::string &request_id) {
  Net &net = self->priv->net;
  uint64_t now = now_ns();
  auto tcp = net.conn ? net.conn->tcp_state() : std::nullopt;
  net.backlog.reset(tcp ? tcp->bytes_acked : 0, now);
  net.audio_not_on_wire = 0;
  net.measuring = tcp.has_value();
  net_run(self, net.core.on_open(request_id, now));
}

/* What the network delivered since the last tick: the session owes audio
 * only once it has arrived, and hears when the link falls behind. */
static void net_measure_transport(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.measuring || !net.conn || !net.conn->is_open())
    return;
  auto tcp = net.conn->tcp_state();
  if (!tcp)
    return;
  uint64_t now = now_ns();
  net.backlog.on_acked(tcp->bytes_acked, now);
  TransportReport report;
  report.delivered = net.backlog.delivered_audio();
  report.backlog = net.backlog.backlog_audio();
  report.achieved_bps = net.backlog.achieved_rate() * 8;
  report.needed_bps = net.backlog.needed_rate() * 8;
  /* A peer that stops reading still answers window probes: not dead. */
  report.unanswered =
      dg_tcp_unanswered(*tcp) ? std::min(net.backlog.unanswered_for(now), tcp->last_ack_age) : 0;
  net_run(self, net.core.on_transport(report, now));
  std::lock_guard<std::mutex> lock(priv->state_lock);
  priv->stats = net.core.stats();
}

/* The watchdog's timers, from the active settings. */
void net_start_ticking(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  const StreamSettings &a = priv->active;
  guint shortest = std::min({a.keepalive_ms ? a.keepalive_ms : a.stall_ms, a.stall_ms,
                             static_cast<guint>(kIdleFinalizeNs / GST_MSECOND)});
  /* Aligned: every sink's tick shares one wakeup (see docs/performance.md). */
  priv->net.tick_source =
      priv->net_thread->add_aligned_timeout(std::max(50u, shortest / 4), [self] {
        Net &net = self->priv->net;
        if (!net.core.running())
          return false;
        net_measure_transport(self);
        net_run(self, net.core.on_tick(now_ns()));
        return true;
      });
}

void net_on_audio(GstDgStreamSink *self, uint64_t pts, uint64_t duration, GstBuffer *buf) {
  DgStreamSinkPrivate *priv = self->priv;
  auto payload = std::make_shared<BufferPayload>(buf, priv->net.info);
  net_run(self, priv->net.core.on_audio(pts, duration, std::move(payload), now_ns()));
  /* Out of transit and into what is held in one step, so render's room
   * check never misses this buffer in between. */
  uint64_t held = priv->net.core.held();
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->in_transit_ns -= std::min(priv->in_transit_ns, duration);
    priv->held_ns = held;
  }
  priv->state_cv.notify_all();
}

void net_teardown(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  net_run(self, net.core.stop(now_ns()));
  net_cancel_retry(self);
  net_cancel_path_check(self);
  if (net.tick_source)
    priv->net_thread->remove_source(net.tick_source);
  net.tick_source = 0;
  net.conn.reset();
  net.encoder.reset();
  net_publish_held(self);
}

} // namespace dgf::streamsink
