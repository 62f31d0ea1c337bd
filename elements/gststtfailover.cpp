/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover: zero-loss failover between a streaming and a batch STT branch.
 *
 * The decisions are made by dgf::FailoverCore (plugin/failover_core.h, pure
 * C++, unit-tested on fake time); this file and the stt_failover_*.cpp
 * beside it (listed in gststtfailover_private.h) are the GStreamer glue:
 * pads, events, the stt protocol, the shared breaker, timers, properties.
 *
 * Threads:
 * - the streaming thread (chain, sink events) pushes all audio, flushes and
 *   replays, so a replay always precedes the live buffer after it; with
 *   input that is not live it waits for room in the ledger (backpressure);
 * - the text pad's own task (caption_pad.h) pushes captions, gaps and the
 *   text pad's events, so a slow caption consumer never holds up audio;
 * - the sinks' network thread delivers stt/health, stt/ack, stt/transcript
 *   at the stream/batch src pads; it only updates the core and posts;
 * - the clock's thread fires recovery and drain timers; a recovery timer
 *   pushes stt/reconnect on the stream pad (no audio flows there then);
 * - whoever changes the breaker runs its listener (we post stt/breaker).
 *
 * Locks: `lock` guards settings, the core and what the text task reads.
 * Order: a pad's stream lock, then `lock`, then the caption pad's own.
 * `lock` is never held while pushing, posting, notifying, calling the
 * breaker or unscheduling a clock id.
 */
/**
 * SECTION:element-sttfailover
 * @title: sttfailover
 *
 * Routes audio to a streaming speech-to-text branch (`stream` pad) while it
 * is healthy and to a batch branch (`batch` pad) through a circuit breaker
 * when it is not, replays what the stream never acknowledged, comes back to
 * streaming at a pause, and merges both branches' results into one caption
 * stream (`text` pad). The branches are sinks that speak the stt events
 * (docs/protocol.md): dgstreamsink and dgbatchsink.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=talk.wav ! decodebin ! audioconvert ! audioresample ! \
 *     sttfailover name=f \
 *     f.stream ! queue ! dgstreamsink url=wss://api.deepgram.com/v1/listen \
 *     f.batch ! queue ! dgbatchsink url=https://api.deepgram.com/v1/listen \
 *     f.text ! queue ! webvttenc ! filesink location=talk.vtt
 * ]|
 * What dgtranscribebin builds, by hand (docs/getting-started.md).
 */
#include <config.h>

#include "gststtfailover.h"

#include <gst/audio/audio.h>

#include <memory>
#include <mutex>

#include "gststtfailover_private.h"
#include "sink_caps.h"
#include "stt_protocol.h"

GST_DEBUG_CATEGORY(stt_failover_debug);

using namespace dgf;
using namespace dgf::sttfailover;
namespace stt = dgf::stt;

#define gst_stt_failover_parent_class parent_class
G_DEFINE_TYPE(GstSttFailover, gst_stt_failover, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(sttfailover, "sttfailover", GST_RANK_NONE, GST_TYPE_STT_FAILOVER);

#define AUDIO_CAPS                                                                                 \
  "audio/x-raw, format = (string) S16LE, layout = (string) interleaved, "                          \
  "rate = (int) [ 8000, 48000 ], channels = (int) [ 1, 8 ]"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate stream_template =
    GST_STATIC_PAD_TEMPLATE("stream", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate batch_template =
    GST_STATIC_PAD_TEMPLATE("batch", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE(
    "text", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("text/x-raw, format = (string) utf8"));

GType gst_stt_failover_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_FAILOVER_MODE_AUTO,
       "Live input: stream while healthy, batch while not; input that is not live (a file): "
       "batch",
       "auto"},
      {GST_STT_FAILOVER_MODE_STREAM_FIRST,
       "Stream while healthy, batch while not, whether the input is live or not", "stream-first"},
      {GST_STT_FAILOVER_MODE_FORCE_STREAM, "Stream only (audio is reported dropped while down)",
       "force-stream"},
      {GST_STT_FAILOVER_MODE_FORCE_BATCH, "Batch only", "force-batch"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttFailoverMode", values));
  return type;
}

GType gst_stt_failover_state_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_FAILOVER_STATE_STREAMING, "Audio goes to the stream branch", "streaming"},
      {GST_STT_FAILOVER_STATE_DEGRADED, "Audio goes to the batch branch", "degraded"},
      {GST_STT_FAILOVER_STATE_RECOVERING, "Stream reconnected, waiting for its first results",
       "recovering"},
      {GST_STT_FAILOVER_STATE_BATCH,
       "Audio goes to the batch branch by choice: the input is not live (mode auto)", "batch"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttFailoverState", values));
  return type;
}

/* ---- sink pad -------------------------------------------------------------- */

static void set_flushing(GstSttFailover *self) {
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->flushing = true;
  }
  self->priv->cond.notify_all();
}

static gboolean forward_audio_event(GstSttFailover *self, GstEvent *event) {
  gboolean to_stream = gst_pad_push_event(self->streampad, gst_event_ref(event));
  gboolean to_batch = gst_pad_push_event(self->batchpad, event);
  return to_stream || to_batch;
}

static void push_text_stream_start(GstSttFailover *self, GstEvent *upstream) {
  gchar *id = gst_pad_create_stream_id(self->textpad, GST_ELEMENT(self), "text");
  GstEvent *start = gst_event_new_stream_start(id);
  g_free(id);
  guint group;
  if (gst_event_parse_group_id(upstream, &group))
    gst_event_set_group_id(start, group);
  self->priv->captions->queue_event(start);
  GstCaps *caps = gst_static_pad_template_get_caps(&text_template);
  self->priv->captions->queue_event(gst_event_new_caps(caps));
  gst_caps_unref(caps);
}

static gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_STREAM_START: {
    push_text_stream_start(self, event);
    gboolean ok = forward_audio_event(self, event);
    /* Sticky, after stream-start: the sinks leave recovery and giving up to us. */
    gst_pad_push_event(self->streampad, stt::make_event(stt::Supervisor{GST_OBJECT_NAME(self)}));
    gst_pad_push_event(self->batchpad, stt::make_event(stt::Supervisor{GST_OBJECT_NAME(self)}));
    return ok;
  }
  case GST_EVENT_CAPS: {
    GstCaps *caps;
    gst_event_parse_caps(event, &caps);
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, caps)) {
      gst_event_unref(event);
      return FALSE;
    }
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->quiet.reset(); /* rate or channels may have changed */
    }
    priv->info = info;
    priv->have_info = true;
    return forward_audio_event(self, event);
  }
  case GST_EVENT_SEGMENT: {
    const GstSegment *segment;
    gst_event_parse_segment(event, &segment);
    priv->preroll_gaps = true;
    GstSegment text_segment;
    if (segment->format == GST_FORMAT_TIME) {
      gst_segment_copy_into(segment, &text_segment);
      if (GST_CLOCK_TIME_IS_VALID(segment->start))
        priv->next_pts = segment->start;
    } else {
      gst_segment_init(&text_segment, GST_FORMAT_TIME);
    }
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->segment = text_segment;
      priv->input.restart();
    }
    priv->captions->queue_event(gst_event_new_segment(&text_segment));
    return forward_audio_event(self, event);
  }
  case GST_EVENT_TAG:
    return forward_audio_event(self, event);
  case GST_EVENT_GAP: {
    GstClockTime start, duration;
    gst_event_parse_gap(event, &start, &duration);
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      if (GST_CLOCK_TIME_IS_VALID(start) && GST_CLOCK_TIME_IS_VALID(duration))
        priv->core.on_gap(start, duration);
      priv->input.restart(); /* a pause the source announced is not loss */
    }
    gboolean ok = forward_audio_event(self, event); /* the stream sink Finalizes at it */
    wake_captions(self);
    return ok;
  }
  case GST_EVENT_EOS:
    return handle_eos(self, event);
  case GST_EVENT_FLUSH_START:
    set_flushing(self);
    priv->captions->flush_start(gst_event_ref(event));
    return forward_audio_event(self, event);
  case GST_EVENT_FLUSH_STOP:
    arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->core.reset(); /* keeps an open outage: its stt/recovered still comes */
      priv->routed_since_reset = false;
      priv->flushing = false;
    }
    priv->captions->flush_stop(gst_event_ref(event));
    return forward_audio_event(self, event);
  default:
    return gst_pad_event_default(pad, parent, event);
  }
}

static gboolean sink_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_CAPS)
    return gst_pad_query_default(pad, parent, query);
  /* What both linked branches accept (the text pad has nothing to say). */
  GstCaps *filter;
  gst_query_parse_caps(query, &filter);
  GstCaps *caps = gst_pad_get_pad_template_caps(pad);
  for (GstPad *src : {self->streampad, self->batchpad}) {
    if (!gst_pad_is_linked(src))
      continue;
    GstCaps *peer = gst_pad_peer_query_caps(src, caps);
    gst_caps_unref(caps);
    caps = peer;
  }
  if (filter) {
    GstCaps *filtered = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = filtered;
  }
  gst_query_set_caps_result(query, caps);
  gst_caps_unref(caps);
  return TRUE;
}

/* Quiet audio before this buffer, while the core looks for a pause to cut back
 * to streaming at; costs nothing on the healthy path. Called under the lock. */
static uint64_t measure_quiet(SttFailoverPrivate *priv, GstBuffer *buffer, gsize frames) {
  if (!priv->core.awaiting_cut()) {
    priv->quiet.reset();
    return FailoverCore::kQuietUnknown;
  }
  if (!priv->quiet)
    priv->quiet.emplace(GST_AUDIO_INFO_RATE(&priv->info), GST_AUDIO_INFO_CHANNELS(&priv->info),
                        priv->settings.pause_threshold);
  uint64_t before = priv->quiet->quiet_run();
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    priv->quiet->push(reinterpret_cast<const int16_t *>(map.data), frames);
    gst_buffer_unmap(buffer, &map);
  }
  return before;
}

/* Once per stream: is upstream live? Live input goes to the stream and never
 * waits; input that is not live waits for room and, in mode auto, goes to
 * the batch branch (docs/sttfailover.md, "Files"). */
static FailoverActions decide_liveness(GstSttFailover *self, uint64_t now) {
  SttFailoverPrivate *priv = self->priv;
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  GstQuery *query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query))
    gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  priv->live_known = true;
  priv->upstream_live = live;
  GST_INFO_OBJECT(self, "upstream is %s", live ? "live" : "not live");
  priv->captions->set_live(live);
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->upstream_latency = min;
  priv->input_live = live;
  priv->core.set_settings(priv->settings.core_settings(live));
  return priv->core.set_input_live(live, now);
}

/* The input itself lost audio (packets, a weak link): say so once. */
static void warn_input_loss(GstSttFailover *self) {
  InputStats in;
  double ratio;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    in = self->priv->input.stats();
    ratio = self->priv->input.warned_ratio();
  }
  GST_ELEMENT_WARNING(self, STREAM, DECODE,
                      ("The input is losing audio: %.1f %% of the last %u s never arrived",
                       ratio * 100.0, static_cast<unsigned>(InputMonitor::kWindow / GST_SECOND)),
                      ("%u holes in the timestamps, %.1f s missing in all; words in them cannot be "
                       "transcribed (stats: input-gaps, input-missing)",
                       in.gaps, in.missing / 1e9));
}

static GstFlowReturn sink_chain(GstPad *, GstObject *parent, GstBuffer *buffer) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  if (!priv->have_info) {
    gst_buffer_unref(buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gint rate = GST_AUDIO_INFO_RATE(&priv->info);
  gint bpf = GST_AUDIO_INFO_BPF(&priv->info);
  gsize frames = gst_buffer_get_size(buffer) / bpf;
  if (frames == 0) {
    gst_buffer_unref(buffer);
    return GST_FLOW_OK;
  }
  uint64_t duration = gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  uint64_t pts =
      GST_BUFFER_PTS_IS_VALID(buffer) ? GST_BUFFER_PTS(buffer) : priv->next_pts; /* guessed */
  priv->next_pts = pts + duration;
  if (priv->preroll_gaps) {
    /* Only one branch gets audio and captions come later, but every sink
     * must preroll for the pipeline to reach PLAYING: an empty GAP each. */
    priv->preroll_gaps = false;
    for (GstPad *pad : {self->streampad, self->batchpad})
      gst_pad_push_event(pad, gst_event_new_gap(pts, 0));
    priv->captions->queue_event(gst_event_new_gap(pts, 0));
  }
  /* The core reads the time only at its first buffer: spare the clock after. */
  uint64_t now = priv->routed_since_reset ? 0 : now_ns(self);
  priv->routed_since_reset = true;
  if (!priv->live_known) {
    GstFlowReturn ret = run_actions(self, decide_liveness(self, now));
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref(buffer);
      return ret;
    }
  }
  bool lossy;
  FailoverActions actions;
  {
    std::unique_lock<std::mutex> guard(priv->lock);
    if (!priv->upstream_live) {
      /* A file never loses audio for lack of room: wait for the stream's acks. */
      priv->cond.wait(guard, [&] {
        return priv->flushing || priv->core.fatal() || priv->core.has_room(duration);
      });
      if (priv->flushing) {
        gst_buffer_unref(buffer);
        return GST_FLOW_FLUSHING;
      }
    }
    lossy = priv->input.on_buffer(pts, duration);
    uint64_t quiet_before = measure_quiet(priv, buffer, frames);
    auto payload = std::make_shared<BufferPayload>(buffer, rate, bpf);
    actions = priv->core.on_buffer(pts, duration, std::move(payload), now, quiet_before);
  }
  if (lossy)
    warn_input_loss(self);
  GstFlowReturn flow = run_actions(self, actions);
  /* Input that is not live moves the text pad with the audio; live input
   * moves it with the clock (its own tick) and captions with the reports,
   * so waking it per buffer would only cost a thread switch each. */
  if (!priv->upstream_live)
    wake_captions(self);
  if (flow == GST_FLOW_OK) {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (priv->core.fatal())
      flow = GST_FLOW_ERROR; /* the ERROR is on the bus: stop the stream */
  }
  return flow;
}

/* ---- element ---------------------------------------------------------------- */

static void reset_core(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->core = FailoverCore(priv->settings.core_settings());
  priv->core.set_mode(to_core(priv->settings.mode), 0);
  priv->flushing = false;
  priv->drain_expired = false;
  priv->have_info = false;
  priv->next_pts = 0;
  priv->quiet.reset();
  priv->routed_since_reset = false;
  priv->live_known = false;
  priv->upstream_live = true;
  priv->input_live = true;
  priv->draining = false;
  gst_segment_init(&priv->segment, GST_FORMAT_UNDEFINED);
  priv->configured_latency = GST_CLOCK_TIME_NONE;
  priv->max_delay = priv->warned_delay = 0;
  priv->input = InputMonitor();
}

static GstStateChangeReturn change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_STT_FAILOVER(element);
  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY:
    self->priv->breakers.ensure(element); /* the pipeline's, via GstContext */
    ensure_breaker(self);                 /* released at READY->NULL */
    break;
  case GST_STATE_CHANGE_READY_TO_PAUSED: {
    reset_core(self);
    self->priv->dropped.reset();
    ensure_breaker(self);
    BreakerView view = read_breaker(self);
    uint64_t now = now_ns(self);
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->core.on_breaker(view, now);
    break;
  }
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    set_flushing(self); /* ends an EOS wait */
    break;
  default:
    break;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
  case GST_STATE_CHANGE_READY_TO_PAUSED:
  case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
    /* Captions come from a service that only hears audio in PLAYING (the
     * sinks block in PAUSED): like a live source, the text pad cannot
     * produce data in PAUSED, so nothing downstream of it (textoverlay and
     * its video sink) may wait for a preroll that never comes. */
    ret = GST_STATE_CHANGE_NO_PREROLL;
    break;
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
    arm_timer(self, &SttFailoverPrivate::drain_timer, std::nullopt, nullptr);
    arm_timer(self, &SttFailoverPrivate::giveup_timer, std::nullopt, nullptr);
    reset_core(self);
    break;
  case GST_STATE_CHANGE_READY_TO_NULL:
    release_breaker(self);
    self->priv->breakers.release();
    break;
  default:
    break;
  }
  return ret;
}

static void finalize(GObject *object) {
  auto *self = GST_STT_FAILOVER(object);
  release_breaker(self);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void set_context(GstElement *element, GstContext *context) {
  GST_STT_FAILOVER(element)->priv->breakers.on_set_context(context);
  GST_ELEMENT_CLASS(parent_class)->set_context(element, context);
}

static void gst_stt_failover_class_init(GstSttFailoverClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(stt_failover_debug, "sttfailover", 0,
                          "zero-loss failover between streaming and batch STT");

  static const gchar *tags[] = {nullptr};
  gst_meta_register_custom(GST_STT_FAILOVER_TRANSCRIPT_META, tags, transcript_meta_transform,
                           nullptr, nullptr);

  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;
  element_class->set_context = set_context;

  install_properties(gobject_class);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &stream_template);
  gst_element_class_add_static_pad_template(element_class, &batch_template);
  gst_element_class_add_static_pad_template(element_class, &text_template);
  gst_element_class_set_static_metadata(
      element_class, "STT failover", "Audio/Text/Filter",
      "Routes audio to a streaming or a batch speech-to-text branch, fails over without losing "
      "audio, recovers, and merges captions from both",
      DGF_MAINTAINER);

  gst_type_mark_as_plugin_api(GST_TYPE_STT_FAILOVER_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_STT_FAILOVER_STATE, static_cast<GstPluginAPIFlags>(0));
}

static void gst_stt_failover_init(GstSttFailover *self) {
  self->priv = new SttFailoverPrivate();
  self->priv->core = FailoverCore(self->priv->settings.core_settings());
  gst_audio_info_init(&self->priv->info);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, sink_chain);
  gst_pad_set_event_function(self->sinkpad, sink_event);
  gst_pad_set_query_function(self->sinkpad, sink_query);
  dg_name_refused_caps(self->sinkpad); /* an ERROR naming them, not just not-negotiated */
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->streampad = gst_pad_new_from_static_template(&stream_template, "stream");
  gst_pad_set_event_function(self->streampad, src_event);
  gst_pad_use_fixed_caps(self->streampad);
  gst_element_add_pad(GST_ELEMENT(self), self->streampad);

  self->batchpad = gst_pad_new_from_static_template(&batch_template, "batch");
  gst_pad_set_event_function(self->batchpad, src_event);
  gst_pad_use_fixed_caps(self->batchpad);
  gst_element_add_pad(GST_ELEMENT(self), self->batchpad);

  self->textpad = gst_pad_new_from_static_template(&text_template, "text");
  gst_pad_set_query_function(self->textpad, text_query);
  gst_pad_set_event_function(self->textpad, text_event);
  gst_pad_set_activatemode_function(self->textpad, text_activate_mode);
  gst_pad_use_fixed_caps(self->textpad);
  gst_element_add_pad(GST_ELEMENT(self), self->textpad);
  self->priv->captions = std::make_unique<CaptionPad>(self->textpad, caption_source(self));
}
