/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink: GObject glue around BatchCore (dg_batch_core.h).
 *
 * Settings (the properties) are guarded by settings_lock and copied into a
 * BatchConfig in start(); the core then lives until stop(). Lock order:
 * settings_lock and core_lock are never held together, and neither is held
 * while calling into the core or posting.
 *
 * The properties and stats are in dg_batch_properties.cpp.
 */
/**
 * SECTION:element-dgbatchsink
 * @title: dgbatchsink
 *
 * Transcribes audio with Deepgram's pre-recorded (REST) API in chunks cut
 * at pauses, a few requests at a time, results in timestamp order. It holds
 * audio through outages (retrying through a circuit breaker) and reports
 * whatever it has to drop in `stt/audio-dropped`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=talk.wav ! wavparse ! audioconvert ! audioresample ! \
 *     dgbatchsink url=http://127.0.0.1:PORT/v1/listen api-key=test
 * ]|
 * A WAV file against dg-emulator on this machine (docs/dgbatchsink.md).
 */
#include <config.h>

#include "gstdgbatchsink.h"

#include <memory>
#include <mutex>

#include "gstdgbatchsink_private.h"

GST_DEBUG_CATEGORY(gst_dg_batch_sink_debug);

using namespace dgf;
using namespace dgf::batchsink;

namespace {

constexpr const char *kTimerClockContext = "dgf.timer-clock";
constexpr guint64 kChunkWindow = 20 * GST_MSECOND; /* energy window of the pause detector */

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("audio/x-raw, format = (string) S16LE, "
                                            "layout = (string) interleaved, "
                                            "rate = (int) [ 8000, 48000 ], "
                                            "channels = (int) [ 1, 8 ]"));

} // namespace

G_DEFINE_TYPE_WITH_CODE(GstDgBatchSink, gst_dg_batch_sink, GST_TYPE_BASE_SINK,
                        GST_DEBUG_CATEGORY_INIT(gst_dg_batch_sink_debug, "dgbatchsink", 0,
                                                "Deepgram pre-recorded transcription sink"));
GST_ELEMENT_REGISTER_DEFINE(dgbatchsink, "dgbatchsink", GST_RANK_NONE, GST_TYPE_DG_BATCH_SINK);

GType gst_dg_batch_overflow_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DG_BATCH_OVERFLOW_AUTO, "Block when upstream is not live, else drop the oldest", "auto"},
      {GST_DG_BATCH_OVERFLOW_DROP_OLDEST, "Drop the oldest chunks and report them", "drop-oldest"},
      {GST_DG_BATCH_OVERFLOW_BLOCK, "Wait for room (flow control)", "block"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDgBatchOverflow", values));
  return type;
}

namespace dgf::batchsink {

std::shared_ptr<BatchCore> get_core(GstDgBatchSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->core_lock);
  return self->priv->core;
}

} // namespace dgf::batchsink

/* ---- hooks: called by the core with none of its locks held ---- */

static BatchHooks make_hooks(GstDgBatchSink *self) {
  BatchHooks h;
  GstElement *element = GST_ELEMENT(self);
  GstPad *pad = GST_BASE_SINK_PAD(self);
  h.transcript = [element, pad](const stt::TimedTranscript &t) {
    gst_element_post_message(element, stt::make_message(GST_OBJECT(element), t));
    gst_pad_push_event(pad, stt::make_event(t));
  };
  h.ack = [pad](const stt::Ack &a) { gst_pad_push_event(pad, stt::make_event(a)); };
  h.dropped = [self, element](const stt::AudioDropped &d) {
    GST_WARNING_OBJECT(element, "dropped %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " (%s)",
                       GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.duration), d.reason.c_str());
    /* A rejected chunk already has its own WARNING (h.rejected). */
    self->priv->dropped.post(element, d, d.reason != "rejected");
  };
  h.rejected = [self](const BatchRejection &r) {
    GST_ELEMENT_WARNING_WITH_DETAILS(
        self, STREAM, DECODE,
        ("Deepgram rejected the audio from %" GST_TIME_FORMAT " to %" GST_TIME_FORMAT,
         GST_TIME_ARGS(r.start), GST_TIME_ARGS(r.start + r.duration)),
        ("HTTP %u: %s", r.status, r.reason.c_str()),
        ("http-status-code", G_TYPE_UINT, r.status, "start", G_TYPE_UINT64, r.start, "duration",
         G_TYPE_UINT64, r.duration, nullptr));
  };
  /* Alone: an ERROR naming Deepgram's words, the fix and the request id.
   * Under sttfailover: a WARNING; the failover posts the ERROR when no
   * branch is left. */
  h.fatal = [self](const BatchFatal &f) {
    std::string text =
        f.status ? "Deepgram refused the pre-recorded request: " + f.reason : f.reason;
    std::string debug = f.hint + (f.request_id.empty() ? "" : " (request " + f.request_id + ")");
    dg_post_refusal(GST_ELEMENT(self), self->priv->supervised, text, debug, f.status, f.request_id);
  };
  h.health = [self, pad](const stt::Health &health) {
    GST_INFO_OBJECT(self, "service %s: %s", health.healthy ? "answers again" : "failing",
                    health.reason.c_str());
    /* Alone, nobody else says it: once per outage (health changes only). */
    if (!health.healthy && !self->priv->supervised)
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                          ("Deepgram's pre-recorded API failed: %s; retrying, the audio waits "
                           "(up to max-buffer)",
                           health.reason.c_str()),
                          ("stats last-error and failures follow the retries"));
    gst_pad_push_event(pad, stt::make_event(health));
  };
  h.warn = [self](const batch::Warn &slow) {
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("%s", slow.message.c_str()),
                        ("%s", slow.detail.c_str()));
  };
  h.stats_changed = [self] { notify_stats(self); };
  return h;
}

/* ---- GstBaseSink ---- */

static gboolean gst_dg_batch_sink_start(GstBaseSink *sink) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  self->priv->dropped.reset();
  Settings s;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    s = self->priv->settings;
    if (s.timer_clock)
      gst_object_ref(s.timer_clock);
  }
  GstClock *clock = s.timer_clock ? s.timer_clock : gst_system_clock_obtain();

  DeepgramQueryOptions options;
  options.raw_audio = false; /* each upload's WAV, FLAC or Ogg header says its format */
  if (s.utterances)
    options.utterances = true;
  if (s.common.multichannel)
    options.multichannel = true; /* else get_caps takes mono only */
  auto request = dg_build_request(s.common, options, UrlKind::Http);
  if (!request) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid settings: %s", request.error().message.c_str()), (nullptr));
    gst_object_unref(clock);
    return FALSE;
  }

  bool can_step_down = false; /* uploads are not live: flac stays */
  if (!dg_resolve_encoding(GST_ELEMENT(self), &s.common.encoding, &can_step_down)) {
    gst_object_unref(clock);
    return FALSE;
  }
  if (request->url.secure) {
    std::string insecure = dg_insecure_tls_warning(s.common);
    if (!insecure.empty())
      GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", insecure.c_str()), (nullptr));
  }

  BreakerSettings breaker_settings = s.breaker.settings();
  /* A probe is a request: it may take as long as one. */
  breaker_settings.probe_timeout =
      std::max(breaker_settings.probe_timeout, std::chrono::milliseconds{s.request_timeout});
  std::string conflict;
  std::shared_ptr<Breaker> breaker =
      self->priv->breakers.get(s.breaker.name, kPrerecordedBreakerKey, breaker_settings, &conflict);
  if (!conflict.empty())
    GST_WARNING_OBJECT(self, "breaker '%s': %s", s.breaker.name.c_str(), conflict.c_str());

  BatchConfig config;
  config.common = s.common;
  config.request = std::move(request.value());
  config.request_timeout_s = (s.request_timeout + 999) / 1000;
  config.connect_timeout_ms = s.connect_timeout;
  config.max_in_flight = s.max_in_flight;
  config.max_buffer = s.max_buffer_ms * GST_MSECOND;
  config.chunker.min_chunk = std::min(s.min_chunk_ms, s.max_chunk_ms) * GST_MSECOND;
  config.chunker.max_chunk = s.max_chunk_ms * GST_MSECOND;
  config.chunker.min_pause = s.min_pause_ms * GST_MSECOND;
  config.chunker.pause_threshold_db = s.pause_threshold;
  config.chunker.window = kChunkWindow;
  config.backoff.base = std::chrono::milliseconds{s.retry_backoff.min_ms};
  config.backoff.cap =
      std::chrono::milliseconds{std::max(s.retry_backoff.min_ms, s.retry_backoff.max_ms)};
  config.breaker = std::move(breaker);
  config.clock = clock;
  config.log_object = GST_OBJECT(self);
  config.utterances = s.utterances;
  config.max_outage_ms = s.common.max_outage_ms;
  if (s.max_buffer_ms < s.max_chunk_ms)
    GST_WARNING_OBJECT(self, "max-buffer is less than max-chunk: every chunk is dropped while "
                             "it waits");

  auto core = std::make_shared<BatchCore>(std::move(config), make_hooks(self));
  gst_object_unref(clock); /* the core holds its own */
  std::string error;
  if (!core->start(&error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.c_str()), (nullptr));
    return FALSE;
  }
  core->set_supervised(self->priv->supervised);
  self->priv->stream = StreamState();
  std::lock_guard<std::mutex> lock(self->priv->core_lock);
  self->priv->core = std::move(core);
  return TRUE;
}

static gboolean gst_dg_batch_sink_stop(GstBaseSink *sink) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  std::shared_ptr<BatchCore> core;
  {
    std::lock_guard<std::mutex> lock(self->priv->core_lock);
    core = std::move(self->priv->core);
  }
  if (core) {
    core->stop("stop");
    BatchStats last = core->stats();
    std::lock_guard<std::mutex> lock(self->priv->core_lock);
    self->priv->last_stats = last;
  }
  return TRUE;
}

static gboolean gst_dg_batch_sink_unlock(GstBaseSink *sink) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  if (auto core = get_core(self))
    core->unlock(GST_PAD_IS_FLUSHING(GST_BASE_SINK_PAD(sink)));
  return TRUE;
}

static gboolean gst_dg_batch_sink_unlock_stop(GstBaseSink *sink) {
  if (auto core = get_core(GST_DG_BATCH_SINK(sink)))
    core->unlock_stop();
  return TRUE;
}

static gboolean gst_dg_batch_sink_set_caps(GstBaseSink *sink, GstCaps *caps) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  /* Rate and channels are all a WAV needs: channel positions (and so a
   * channel-mask, which 3+ channel caps may lack) do not matter here. */
  GstStructure *st = gst_caps_get_structure(caps, 0);
  int rate = 0, channels = 0;
  if (!gst_structure_get_int(st, "rate", &rate) ||
      !gst_structure_get_int(st, "channels", &channels) || rate <= 0 || channels <= 0)
    return FALSE;
  self->priv->stream.rate = rate;
  self->priv->stream.channels = channels;
  if (auto core = get_core(self))
    core->set_format(self->priv->stream.rate, self->priv->stream.channels);
  return TRUE;
}

/* Block (flow control) or drop, decided once per stream from liveness. */
static bool decide_block(GstDgBatchSink *self) {
  StreamState &st = self->priv->stream;
  if (st.overflow_decided)
    return st.block;
  GstDgBatchOverflow mode;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    mode = self->priv->settings.overflow;
  }
  gboolean live = FALSE, upstream_live = FALSE;
  gst_base_sink_query_latency(GST_BASE_SINK(self), &live, &upstream_live, nullptr, nullptr);
  if (auto core = get_core(self))
    core->set_live(upstream_live);
  if (mode == GST_DG_BATCH_OVERFLOW_AUTO) {
    st.block = !upstream_live;
  } else {
    st.block = mode == GST_DG_BATCH_OVERFLOW_BLOCK;
  }
  st.overflow_decided = true;
  GST_INFO_OBJECT(self, "when max-buffer is full: %s", st.block ? "block" : "drop the oldest");
  return st.block;
}

static GstFlowReturn gst_dg_batch_sink_render(GstBaseSink *sink, GstBuffer *buffer) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  StreamState &st = self->priv->stream;
  auto core = get_core(self);
  if (!core || st.rate <= 0)
    return GST_FLOW_NOT_NEGOTIATED;

  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  size_t frames = map.size / (sizeof(int16_t) * st.channels);
  /* Buffers without PTS continue the previous one. */
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    pts = GST_CLOCK_TIME_IS_VALID(st.next_pts) ? st.next_pts : 0;
  bool block = decide_block(self);

  GstFlowReturn ret;
  for (;;) {
    ret = core->push(pts, reinterpret_cast<const int16_t *>(map.data), frames, block);
    if (ret != kBatchInterrupted)
      break;
    /* unlock() without a flush (e.g. PLAYING -> PAUSED): the base class way. */
    ret = gst_base_sink_wait_preroll(sink);
    if (ret != GST_FLOW_OK)
      break;
  }
  gst_buffer_unmap(buffer, &map);
  st.next_pts = pts + gst_util_uint64_scale(frames, GST_SECOND, st.rate);
  return ret;
}

static gboolean gst_dg_batch_sink_event(GstBaseSink *sink, GstEvent *event) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  auto core = get_core(self);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
    if (stt::is<stt::Supervisor>(event)) {
      GST_INFO_OBJECT(self, "supervised: giving up and permanent errors are upstream's");
      self->priv->supervised = true;
      if (core)
        core->set_supervised(true);
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM:
    if (auto flush = stt::parse<stt::Flush>(event)) {
      GST_DEBUG_OBJECT(self, "stt/flush %u (%s)", flush->flush_id, flush->reason.c_str());
      if (core)
        core->flush_mark(flush->flush_id);
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM_OOB:
    if (stt::parse<stt::RetryNow>(event) && core)
      core->retry_now();
    break;
  case GST_EVENT_FLUSH_START:
    if (core)
      core->set_flushing(true, "flush");
    break;
  case GST_EVENT_FLUSH_STOP:
    if (core)
      core->set_flushing(false, "flush");
    self->priv->stream.next_pts = GST_CLOCK_TIME_NONE;
    break;
  case GST_EVENT_EOS: {
    guint timeout_ms;
    {
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      timeout_ms = self->priv->settings.drain_timeout;
    }
    if (core) {
      GST_INFO_OBJECT(self, "EOS: draining the backlog (at most %u ms)", timeout_ms);
      GstFlowReturn ret = core->drain(static_cast<uint64_t>(timeout_ms) * GST_MSECOND);
      if (ret == GST_FLOW_FLUSHING || ret == GST_FLOW_ERROR) {
        /* After an ERROR no EOS: an application that stops at EOS would miss it. */
        gst_event_unref(event);
        return FALSE;
      }
    }
    break;
  }
  default:
    break;
  }
  return GST_BASE_SINK_CLASS(gst_dg_batch_sink_parent_class)->event(sink, event);
}

static GstCaps *gst_dg_batch_sink_get_caps(GstBaseSink *sink, GstCaps *filter) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(sink);
  bool multichannel;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    multichannel = self->priv->settings.common.multichannel;
  }
  return dg_sink_caps(GST_BASE_SINK_PAD(sink), filter, multichannel);
}

/* ---- GObject ---- */

static void gst_dg_batch_sink_finalize(GObject *object) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(object);
  gst_clear_object(&self->priv->settings.timer_clock);
  delete self->priv;
  G_OBJECT_CLASS(gst_dg_batch_sink_parent_class)->finalize(object);
}

static void gst_dg_batch_sink_init(GstDgBatchSink *self) {
  self->priv = new DgBatchSinkPrivate();
  self->priv->settings.common.url = DEFAULT_URL;
  /* Transcription is not playback: take audio as fast as it comes. */
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  /* Never a preroll for the pipeline to wait on: the service hears audio
   * only in PLAYING, so an element downstream of the captions (textoverlay
   * and its video sink) would wait in PAUSED for this sink, and this sink
   * for the pipeline to go on: a deadlock (docs/dgstreamsink.md). */
  gst_base_sink_set_async_enabled(GST_BASE_SINK(self), FALSE);
  dg_name_refused_caps(GST_BASE_SINK_PAD(self));
}

/* The timers' clock, for tests only: a "dgf.timer-clock" context whose
 * "clock" field is a GstClock (a GstTestClock makes retries, backoff and
 * drains run on the test's time). Taken at the next start. */
static void gst_dg_batch_sink_set_context(GstElement *element, GstContext *context) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(element);
  self->priv->breakers.on_set_context(context);
  if (g_str_equal(gst_context_get_context_type(context), kTimerClockContext)) {
    GstClock *clock = nullptr;
    if (gst_structure_get(gst_context_get_structure(context), "clock", GST_TYPE_CLOCK, &clock,
                          nullptr)) {
      std::lock_guard<std::mutex> lock(self->priv->settings_lock);
      gst_object_replace(reinterpret_cast<GstObject **>(&self->priv->settings.timer_clock),
                         GST_OBJECT(clock));
      gst_object_unref(clock);
    }
  }
  GST_ELEMENT_CLASS(gst_dg_batch_sink_parent_class)->set_context(element, context);
}

/* The pipeline's breakers are taken at NULL->READY and let go at READY->NULL. */
static GstStateChangeReturn gst_dg_batch_sink_change_state(GstElement *element,
                                                           GstStateChange transition) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    self->priv->breakers.ensure(element);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_dg_batch_sink_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    self->priv->breakers.release();
  return ret;
}

static void gst_dg_batch_sink_class_init(GstDgBatchSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS(klass);

  gobject_class->set_property = gst_dg_batch_sink_set_property;
  gobject_class->get_property = gst_dg_batch_sink_get_property;
  gobject_class->finalize = gst_dg_batch_sink_finalize;
  install_properties(gobject_class);
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_set_context);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_change_state);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "Deepgram pre-recorded transcription sink", "Audio/Text/Sink",
      "Transcribes audio with Deepgram's pre-recorded API in chunks cut at pauses; holds "
      "audio through outages and reports anything it drops",
      DGF_MAINTAINER);
  gst_type_mark_as_plugin_api(GST_TYPE_DG_BATCH_OVERFLOW, static_cast<GstPluginAPIFlags>(0));

  basesink_class->start = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_stop);
  basesink_class->unlock = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_unlock_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_set_caps);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_get_caps);
  basesink_class->render = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR(gst_dg_batch_sink_event);
}
