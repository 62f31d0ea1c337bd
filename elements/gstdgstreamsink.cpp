/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink: streams audio to Deepgram's live API and turns its results
 * into stt/transcript messages and events, surviving the network.
 *
 * Threads and locks:
 * - The streaming thread (render, event) never touches the network: it hands
 *   buffers and commands to the shared network thread (NetThread::invoke).
 * - Everything in `Net` lives on the network thread only, without locks.
 * - `settings` is guarded by settings_lock; `shared` (flags the streaming
 *   thread waits on, stats) by state_lock. Lock order: settings_lock, then
 *   state_lock; neither is held while posting, pushing events or notifying.
 *
 * This file is the GObject and GstBaseSink glue; the network thread's glue
 * (dg_stream_net*.cpp) around its state machine (plugin/live_session.h) and
 * the properties (dg_stream_properties.cpp) are listed in
 * gstdgstreamsink_private.h.
 */
/**
 * SECTION:element-dgstreamsink
 * @title: dgstreamsink
 *
 * Streams audio to Deepgram's live (WebSocket) API and posts its results as
 * `stt/transcript` messages. Used alone it reconnects through a circuit
 * breaker and replays the audio the dead connection never acknowledged;
 * behind sttfailover it reports its health and leaves the decisions there.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=S16LE,rate=16000,channels=1 ! dgstreamsink model=nova-3
 * ]|
 * Live captions of the microphone on the bus (docs/dgstreamsink.md).
 */
#include <config.h>

#include "gstdgstreamsink.h"

#include <gst/audio/audio.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "gstdgstreamsink_private.h"

GST_DEBUG_CATEGORY(dg_stream_sink_debug);

using namespace dgf;
using namespace dgf::stt;
using namespace dgf::streamsink;

#define gst_dg_stream_sink_parent_class parent_class
G_DEFINE_TYPE(GstDgStreamSink, gst_dg_stream_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE(dgstreamsink, "dgstreamsink", GST_RANK_NONE, GST_TYPE_DG_STREAM_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw, format = (string) S16LE, layout = (string) interleaved, "
                    "rate = (int) [ 8000, 48000 ], channels = (int) [ 1, 8 ]"));

static uint64_t frames_to_ns(const GstAudioInfo &info, uint64_t frames) {
  return gst_util_uint64_scale_int(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&info));
}

/* ---- GstBaseSink -------------------------------------------------------- */

static gboolean gst_dg_stream_sink_start(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    priv->active = priv->settings;
  }
  priv->dropped.reset();
  /* Check the settings now, so a bad URL or a missing key is an error at
   * READY->PAUSED rather than at the first buffer. */
  auto check = dg_build_request(priv->active.common, DeepgramQueryOptions{}, UrlKind::WebSocket);
  if (!check) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", check.error().message.c_str()), (nullptr));
    return FALSE;
  }
  bool can_step_down = false;
  if (!dg_resolve_encoding(GST_ELEMENT(self), &priv->active.common.encoding, &can_step_down))
    return FALSE;
  if (check->url.secure) {
    std::string insecure = dg_insecure_tls_warning(priv->active.common);
    if (!insecure.empty())
      GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", insecure.c_str()), (nullptr));
  }
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->flushing = false;
    priv->finished = false;
    priv->fatal = false;
    priv->fatal_flow = GST_FLOW_ERROR;
    priv->stats = Stats{};
    priv->held_ns = priv->in_transit_ns = 0;
    priv->bytes_sent = 0;
    priv->live_known = false;
  }
  priv->net_thread = NetThread::for_element();
  std::string error;
  priv->net_thread->invoke_sync([&] {
    Net &net = priv->net;
    net.session = dg_make_session(priv->active.common, 0, &error);
    if (!net.session)
      return;
    /* A fresh session: one malformed-message WARNING per run, stats from 0. */
    LiveSessionSettings settings = net_settings(priv->active);
    settings.step_down = can_step_down;
    net.core = LiveSession(settings);
    net.core.start(settings);
    net_start_ticking(self);
  });
  if (!priv->net.session) {
    priv->net_thread.reset();
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.c_str()), (nullptr));
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_dg_stream_sink_stop(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  if (!priv->net_thread)
    return TRUE;
  priv->net_thread->invoke_sync([&] {
    net_teardown(self);
    Net &net = priv->net;
    if (net.session)
      g_object_unref(net.session);
    net.session = nullptr;
    net.breaker.reset();
    net.have_caps = false;
  });
  priv->net_thread.reset();
  return TRUE;
}

static gboolean gst_dg_stream_sink_set_caps(GstBaseSink *sink, GstCaps *caps) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, caps) ||
      GST_AUDIO_INFO_FORMAT(&info) != GST_AUDIO_FORMAT_S16LE) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("unsupported caps"),
                      ("need S16LE interleaved audio, got %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  DeepgramQueryOptions options;
  options.sample_rate = GST_AUDIO_INFO_RATE(&info);
  options.channels = GST_AUDIO_INFO_CHANNELS(&info);
  /* FLAC and Ogg Opus say their own format: no encoding or sample_rate. */
  options.raw_audio = encoding_is_raw(priv->active.common.encoding);
  if (options.channels > 1)
    options.multichannel = true; /* only with multichannel=true: get_caps says mono otherwise */
  const StreamSettings &a = priv->active;
  if (a.interim_results || a.utterance_end_ms)
    options.interim_results = true;
  if (a.endpointing == 0)
    options.endpointing = Endpointing::Disabled;
  else if (a.endpointing > 0) {
    options.endpointing = Endpointing::Milliseconds;
    options.endpointing_ms = static_cast<uint32_t>(a.endpointing);
  }
  if (a.utterance_end_ms)
    options.utterance_end_ms = a.utterance_end_ms;
  if (a.vad_events)
    options.vad_events = true;
  auto request = dg_build_request(a.common, options, UrlKind::WebSocket);
  if (!request) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", request.error().message.c_str()), (nullptr));
    return FALSE;
  }
  priv->net_thread->invoke_sync([&] {
    Net &net = priv->net;
    bool changed = !net.have_caps || !gst_audio_info_is_equal(&net.info, &info);
    net.info = info;
    net.request = request.value();
    net.have_caps = true;
    net_run(self, net.core.on_caps(GST_AUDIO_INFO_RATE(&info), changed, now_ns()));
  });
  return TRUE;
}

/* Non-live input (a file) never loses audio for lack of room: render waits
 * while the audio held for replay (un-acked or unsent) fills replay-window.
 * Live input never waits; what the window cannot hold is reported dropped. */
static GstFlowReturn wait_for_room(GstDgStreamSink *self, uint64_t duration) {
  DgStreamSinkPrivate *priv = self->priv;
  if (!priv->live_known) {
    gboolean live = FALSE, upstream_live = FALSE;
    gst_base_sink_query_latency(GST_BASE_SINK(self), &live, &upstream_live, nullptr, nullptr);
    priv->upstream_live = upstream_live;
    priv->live_known = true;
    bool is_live = upstream_live;
    priv->net_thread->invoke([self, is_live] { self->priv->net.core.set_input_live(is_live); });
    GST_INFO_OBJECT(self, "upstream is %s: %s", upstream_live ? "live" : "not live",
                    upstream_live ? "drops what replay-window cannot hold" : "waits for room");
  }
  if (priv->upstream_live)
    return GST_FLOW_OK;
  const uint64_t window = static_cast<uint64_t>(priv->active.replay_window_ms) * GST_MSECOND;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(priv->state_lock);
      priv->state_cv.wait(lock, [&] {
        return LiveSession::room_for(priv->held_ns + priv->in_transit_ns, duration, window) ||
               priv->flushing || priv->fatal;
      });
      if (priv->fatal)
        return priv->fatal_flow;
      if (!priv->flushing)
        return GST_FLOW_OK;
    }
    /* unlock(): a state change or a flush; wait as basesink asks, then retry. */
    GstFlowReturn ret = gst_base_sink_wait_preroll(GST_BASE_SINK(self));
    if (ret != GST_FLOW_OK)
      return ret;
  }
}

static GstCaps *gst_dg_stream_sink_get_caps(GstBaseSink *sink, GstCaps *filter) {
  auto *self = GST_DG_STREAM_SINK(sink);
  bool multichannel;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    multichannel = self->priv->settings.common.multichannel;
  }
  return dg_sink_caps(GST_BASE_SINK_PAD(sink), filter, multichannel);
}

static GstFlowReturn gst_dg_stream_sink_render(GstBaseSink *sink, GstBuffer *buffer) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    if (priv->fatal)
      return priv->fatal_flow;
  }
  const GstAudioInfo &info = priv->net.info; /* set in set_caps, before any buffer */
  guint bpf = GST_AUDIO_INFO_BPF(&info);
  gsize size = gst_buffer_get_size(buffer);
  if (bpf == 0 || size == 0)
    return GST_FLOW_OK;
  uint64_t frames = size / bpf;
  uint64_t duration = frames_to_ns(info, frames);
  uint64_t pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) {
    GstSegment *segment = &sink->segment;
    pts = segment->position != GST_CLOCK_TIME_NONE ? segment->position : 0;
  }
  GstFlowReturn room = wait_for_room(self, duration);
  if (room != GST_FLOW_OK)
    return room;
  sink->segment.position = pts + duration;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->in_transit_ns += duration;
  }
  GstBuffer *ref = gst_buffer_ref(buffer);
  gst_object_ref(self);
  priv->net_thread->invoke([self, pts, duration, ref] {
    net_on_audio(self, pts, duration, ref);
    gst_object_unref(self);
  });
  return GST_FLOW_OK;
}

/* EOS: wait, bounded by finalize-timeout, for the last results. */
static void wait_for_drain(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  priv->net_thread->invoke_sync([&] { net_run(self, priv->net.core.on_eos(now_ns())); });
  /* The timeout counts from the last message, not from EOS (the session
   * sets last_progress_us): a long backlog that keeps being answered is
   * waited for, a silent service is not. */
  const int64_t timeout_us = static_cast<int64_t>(priv->active.finalize_ms) * 1000;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(priv->state_lock);
      for (;;) {
        if (priv->finished || priv->flushing || priv->fatal)
          return;
        int64_t left = priv->last_progress_us + timeout_us - now_us();
        if (left <= 0)
          break;
        priv->state_cv.wait_for(lock, std::chrono::microseconds(left));
      }
    }
    bool draining = false;
    priv->net_thread->invoke_sync([&] {
      net_run(self, priv->net.core.on_drain_timeout(now_ns()));
      draining = priv->net.core.draining();
    });
    if (!draining)
      return;
  }
}

static gboolean gst_dg_stream_sink_event(GstBaseSink *sink, GstEvent *event) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_EOS:
    wait_for_drain(self);
    break;
  case GST_EVENT_GAP: {
    GstClockTime start, duration;
    gst_event_parse_gap(event, &start, &duration);
    if (GST_CLOCK_TIME_IS_VALID(duration) && duration > 0) /* not a preroll marker */
      priv->net_thread->invoke([self] { net_run(self, self->priv->net.core.on_gap(now_ns())); });
    break;
  }
  case GST_EVENT_FLUSH_STOP:
    priv->net_thread->invoke_sync([&] {
      /* A flushing seek: the old audio is not wanted; start afresh. */
      bool supervised = priv->net.core.supervised();
      net_teardown(self);
      priv->net.core.start(net_settings(priv->active), supervised);
      net_start_ticking(self);
    });
    {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->flushing = false;
      priv->finished = false;
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
    if (is<Supervisor>(event)) {
      GST_INFO_OBJECT(self, "supervised: recovery and replay are left to upstream");
      priv->net_thread->invoke_sync([&] {
        /* One owner of un-acknowledged audio: the supervisor's ledger holds
         * it and replays it elsewhere, so this sink keeps none. */
        priv->net.core.set_supervised();
      });
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM:
    if (is<Reconnect>(event)) {
      priv->net_thread->invoke(
          [self] { net_run(self, self->priv->net.core.on_reconnect_request(now_ns())); });
      gst_event_unref(event);
      return TRUE;
    }
    break;
  default:
    break;
  }
  return GST_BASE_SINK_CLASS(parent_class)->event(sink, event);
}

static gboolean gst_dg_stream_sink_unlock(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->flushing = true;
  }
  self->priv->state_cv.notify_all();
  return TRUE;
}

static gboolean gst_dg_stream_sink_unlock_stop(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->flushing = false;
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------- */

static void gst_dg_stream_sink_finalize(GObject *object) {
  auto *self = GST_DG_STREAM_SINK(object);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_dg_stream_sink_init(GstDgStreamSink *self) {
  self->priv = new DgStreamSinkPrivate();
  self->priv->settings.common.url = kDefaultUrl;
  gst_audio_info_init(&self->priv->net.info);
  /* Transcription wants audio as fast as it comes, not paced by the clock. */
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  /* Never a preroll for the pipeline to wait on: the service hears audio
   * only in PLAYING, so an element downstream of the captions (textoverlay
   * and its video sink) would wait in PAUSED for this sink, and this sink
   * for the pipeline to go on: a deadlock (docs/dgstreamsink.md). */
  gst_base_sink_set_async_enabled(GST_BASE_SINK(self), FALSE);
  /* Holding the last buffer for last-sample would only pin memory. */
  gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
  dg_name_refused_caps(GST_BASE_SINK_PAD(self));
}

/* The pipeline's breakers are taken at NULL->READY and let go at READY->NULL. */
static GstStateChangeReturn gst_dg_stream_sink_change_state(GstElement *element,
                                                            GstStateChange transition) {
  auto *self = GST_DG_STREAM_SINK(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    self->priv->breakers.ensure(element);
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    self->priv->breakers.release();
  return ret;
}

static void gst_dg_stream_sink_set_context(GstElement *element, GstContext *context) {
  GST_DG_STREAM_SINK(element)->priv->breakers.on_set_context(context);
  GST_ELEMENT_CLASS(parent_class)->set_context(element, context);
}

static void gst_dg_stream_sink_class_init(GstDgStreamSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *base_class = GST_BASE_SINK_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dg_stream_sink_debug, "dgstreamsink", 0, "Deepgram live sink");

  gobject_class->set_property = gst_dg_stream_sink_set_property;
  gobject_class->get_property = gst_dg_stream_sink_get_property;
  gobject_class->finalize = gst_dg_stream_sink_finalize;

  install_properties(gobject_class);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "Deepgram live transcription", "Audio/Text/Sink",
      "Streams audio to Deepgram's live speech-to-text API and posts transcripts; reconnects "
      "and replays un-acknowledged audio after failures",
      DGF_MAINTAINER);

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_change_state);
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_set_context);
  base_class->start = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_stop);
  base_class->set_caps = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_set_caps);
  base_class->get_caps = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_get_caps);
  base_class->render = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_render);
  base_class->event = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_event);
  base_class->unlock = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_unlock_stop);
}
