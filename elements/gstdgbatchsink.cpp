/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink: GObject glue around BatchCore (dg_batch_core.h).
 *
 * Settings (the properties) are guarded by settings_lock and copied into a
 * BatchConfig in start(); the core then lives until stop(). Lock order:
 * settings_lock and core_lock are never held together, and neither is held
 * while calling into the core or posting.
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

#include <atomic>
#include <memory>
#include <mutex>

#include "breaker_context.h"
#include "dg_batch_core.h"
#include "dg_common.h"
#include "dropped_audio.h"
#include "resilience_properties.h"

GST_DEBUG_CATEGORY(gst_dg_batch_sink_debug);
#define GST_CAT_DEFAULT gst_dg_batch_sink_debug

using namespace dgf;

namespace {

constexpr const char *DEFAULT_URL = "https://api.deepgram.com/v1/listen";
constexpr guint DEFAULT_MIN_CHUNK_MS = 5000;
constexpr guint DEFAULT_MAX_CHUNK_MS = 30000; /* as the original backend */
constexpr guint DEFAULT_MIN_PAUSE_MS = 300;
constexpr gdouble DEFAULT_PAUSE_THRESHOLD = -40.0;
constexpr guint DEFAULT_MAX_BUFFER_MS = 600000;
constexpr GstDgBatchOverflow DEFAULT_OVERFLOW = GST_DG_BATCH_OVERFLOW_AUTO;
constexpr guint DEFAULT_DRAIN_TIMEOUT = 120000;  /* ms */
constexpr guint DEFAULT_REQUEST_TIMEOUT = 60000; /* ms */
constexpr guint DEFAULT_MAX_IN_FLIGHT = 2;
constexpr gboolean DEFAULT_UTTERANCES = FALSE;
/* No name: the pipeline's pre-recorded breaker. */
dgf::BreakerProperties default_breaker() {
  return dgf::BreakerProperties{};
}
constexpr const char *kTimerClockContext = "dgf.timer-clock";
constexpr guint64 kChunkWindow = 20 * GST_MSECOND; /* energy window of the pause detector */

enum {
  PROP_MIN_CHUNK = DG_PROP_COMMON_LAST + 1,
  PROP_MAX_CHUNK,
  PROP_MIN_PAUSE,
  PROP_PAUSE_THRESHOLD,
  PROP_MAX_BUFFER,
  PROP_OVERFLOW,
  PROP_DRAIN_TIMEOUT,
  PROP_REQUEST_TIMEOUT,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_MAX_IN_FLIGHT = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_UTTERANCES,
  PROP_BREAKER_FIRST,
  PROP_STATS = PROP_BREAKER_FIRST + kBreakerPropCount,
  N_PROPS
};
GParamSpec *properties[N_PROPS];

struct Settings {
  DgCommonSettings common;
  guint min_chunk_ms = DEFAULT_MIN_CHUNK_MS;
  guint max_chunk_ms = DEFAULT_MAX_CHUNK_MS;
  guint min_pause_ms = DEFAULT_MIN_PAUSE_MS;
  gdouble pause_threshold = DEFAULT_PAUSE_THRESHOLD;
  guint max_buffer_ms = DEFAULT_MAX_BUFFER_MS;
  GstDgBatchOverflow overflow = DEFAULT_OVERFLOW;
  guint drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  guint request_timeout = DEFAULT_REQUEST_TIMEOUT;
  RetryBackoffProperties retry_backoff;
  guint max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  gboolean utterances = DEFAULT_UTTERANCES;
  BreakerProperties breaker = default_breaker();
  /* Owned ref; nullptr: the system clock. Tests set a GstTestClock through
   * a "dgf.timer-clock" GstContext (no property: it is not for users). */
  GstClock *timer_clock = nullptr;
};

/* Per stream, reset in start() and on FLUSH_STOP; streaming thread only. */
struct StreamState {
  int rate = 0;
  int channels = 0;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;
  bool overflow_decided = false;
  bool block = false;
};

struct Private {
  std::mutex settings_lock;
  Settings settings;
  PipelineBreakers breakers; /* the pipeline's, through the dgf.breakers context */
  std::mutex core_lock;
  std::shared_ptr<BatchCore> core;
  std::atomic<bool> supervised{false}; /* stt/supervisor came: a failover reports for us */
  BatchStats last_stats;               /* of the last core, kept for reading after stop */
  DroppedAudioReporter dropped;
  StreamState stream;
};

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("audio/x-raw, format = (string) S16LE, "
                                            "layout = (string) interleaved, "
                                            "rate = (int) [ 8000, 48000 ], "
                                            "channels = (int) [ 1, 8 ]"));

} // namespace

struct _GstDgBatchSink {
  GstBaseSink parent;
  Private *priv;
};

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

static std::shared_ptr<BatchCore> get_core(GstDgBatchSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->core_lock);
  return self->priv->core;
}

/* The plugin's one stats shape: counters and audio amounts (ns) as guint64. */
static GstStructure *stats_structure(const BatchStats &s) {
  return gst_structure_new(
      "dgbatchsink-stats", "requests", G_TYPE_UINT64, s.requests, "failures", G_TYPE_UINT64,
      s.failures, "retries", G_TYPE_UINT64, s.retries, "in-flight", G_TYPE_UINT64,
      static_cast<guint64>(s.in_flight), "chunks-transcribed", G_TYPE_UINT64, s.chunks_transcribed,
      "chunks-rejected", G_TYPE_UINT64, s.chunks_rejected, "tolerated", G_TYPE_UINT64, s.tolerated,
      "audio-uploaded", G_TYPE_UINT64, s.uploaded, "audio-backlog", G_TYPE_UINT64, s.backlog,
      "audio-dropped", G_TYPE_UINT64, s.dropped, "last-error", G_TYPE_STRING, s.last_error.c_str(),
      nullptr);
}

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
    gst_pad_push_event(pad, stt::make_event(health));
  };
  h.stats_changed = [self] { g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_STATS]); };
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
  options.raw_audio = false; /* the WAV header says rate and channels */
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

static void gst_dg_batch_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  Settings &s = self->priv->settings;
  if (dg_common_set_property(s.common, prop_id, value) ||
      breaker_properties_set(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_set(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_MIN_CHUNK:
    s.min_chunk_ms = g_value_get_uint(value);
    break;
  case PROP_MAX_CHUNK:
    s.max_chunk_ms = g_value_get_uint(value);
    break;
  case PROP_MIN_PAUSE:
    s.min_pause_ms = g_value_get_uint(value);
    break;
  case PROP_PAUSE_THRESHOLD:
    s.pause_threshold = g_value_get_double(value);
    break;
  case PROP_MAX_BUFFER:
    s.max_buffer_ms = g_value_get_uint(value);
    break;
  case PROP_OVERFLOW:
    s.overflow = static_cast<GstDgBatchOverflow>(g_value_get_enum(value));
    break;
  case PROP_DRAIN_TIMEOUT:
    s.drain_timeout = g_value_get_uint(value);
    break;
  case PROP_REQUEST_TIMEOUT:
    s.request_timeout = g_value_get_uint(value);
    break;
  case PROP_MAX_IN_FLIGHT:
    s.max_in_flight = g_value_get_uint(value);
    break;
  case PROP_UTTERANCES:
    s.utterances = g_value_get_boolean(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_dg_batch_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(object);
  if (prop_id == PROP_STATS) {
    BatchStats stats;
    if (auto core = get_core(self)) {
      stats = core->stats();
    } else {
      std::lock_guard<std::mutex> lock(self->priv->core_lock);
      stats = self->priv->last_stats;
    }
    g_value_take_boxed(value, stats_structure(stats));
    return;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const Settings &s = self->priv->settings;
  if (dg_common_get_property(s.common, prop_id, value) ||
      breaker_properties_get(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_get(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_MIN_CHUNK:
    g_value_set_uint(value, s.min_chunk_ms);
    break;
  case PROP_MAX_CHUNK:
    g_value_set_uint(value, s.max_chunk_ms);
    break;
  case PROP_MIN_PAUSE:
    g_value_set_uint(value, s.min_pause_ms);
    break;
  case PROP_PAUSE_THRESHOLD:
    g_value_set_double(value, s.pause_threshold);
    break;
  case PROP_MAX_BUFFER:
    g_value_set_uint(value, s.max_buffer_ms);
    break;
  case PROP_OVERFLOW:
    g_value_set_enum(value, s.overflow);
    break;
  case PROP_DRAIN_TIMEOUT:
    g_value_set_uint(value, s.drain_timeout);
    break;
  case PROP_REQUEST_TIMEOUT:
    g_value_set_uint(value, s.request_timeout);
    break;
  case PROP_MAX_IN_FLIGHT:
    g_value_set_uint(value, s.max_in_flight);
    break;
  case PROP_UTTERANCES:
    g_value_set_boolean(value, s.utterances);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_dg_batch_sink_finalize(GObject *object) {
  GstDgBatchSink *self = GST_DG_BATCH_SINK(object);
  gst_clear_object(&self->priv->settings.timer_clock);
  delete self->priv;
  G_OBJECT_CLASS(gst_dg_batch_sink_parent_class)->finalize(object);
}

static void gst_dg_batch_sink_init(GstDgBatchSink *self) {
  self->priv = new Private();
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

static void install_properties(GObjectClass *gobject_class) {
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  dg_common_install_properties(gobject_class, DEFAULT_URL, "pre-recorded");
  properties[PROP_MIN_CHUNK] = g_param_spec_uint(
      "min-chunk", "Minimum chunk",
      "Shortest chunk cut at a pause, in ms (flush, EOS and timestamp gaps may cut shorter "
      "ones)",
      0, 3600000, DEFAULT_MIN_CHUNK_MS, flags);
  properties[PROP_MAX_CHUNK] = g_param_spec_uint(
      "max-chunk", "Maximum chunk",
      "Longest chunk, in ms; without a pause the chunk is cut at its quietest window before "
      "this",
      100, 3600000, DEFAULT_MAX_CHUNK_MS, flags);
  properties[PROP_MIN_PAUSE] = g_param_spec_uint("min-pause", "Minimum pause",
                                                 "Quiet time that makes a pause to cut at, in ms",
                                                 0, 60000, DEFAULT_MIN_PAUSE_MS, flags);
  properties[PROP_PAUSE_THRESHOLD] = g_param_spec_double(
      "pause-threshold", "Pause threshold",
      "Level under which audio counts as quiet, in dBFS RMS per 20 ms window, loudest channel",
      -120.0, 0.0, DEFAULT_PAUSE_THRESHOLD, flags);
  properties[PROP_MAX_BUFFER] = g_param_spec_uint(
      "max-buffer", "Maximum buffer",
      "Most audio held for transcription (waiting or uploading), in ms; past it the overflow "
      "property decides. Memory: the audio itself plus max-chunk still being cut",
      0, G_MAXUINT, DEFAULT_MAX_BUFFER_MS, flags);
  properties[PROP_OVERFLOW] = g_param_spec_enum(
      "overflow", "Overflow",
      "When held audio passes max-buffer: drop the oldest chunks (reported as "
      "stt/audio-dropped), block the streaming thread (flow control), or auto: block when "
      "upstream is not live",
      GST_TYPE_DG_BATCH_OVERFLOW, DEFAULT_OVERFLOW, flags);
  properties[PROP_DRAIN_TIMEOUT] = g_param_spec_uint(
      "drain-timeout", "Drain timeout",
      "How long EOS waits for the backlog to be transcribed, in ms; what is left then is "
      "reported as stt/audio-dropped (reason drain-timeout)",
      0, G_MAXUINT, DEFAULT_DRAIN_TIMEOUT, flags);
  properties[PROP_REQUEST_TIMEOUT] = g_param_spec_uint(
      "request-timeout", "Request timeout",
      "How long a request may go without progress before it fails and is retried, in ms "
      "(rounded up to whole seconds)",
      1000, 3600000, DEFAULT_REQUEST_TIMEOUT, flags);
  properties[PROP_MAX_IN_FLIGHT] =
      g_param_spec_uint("max-in-flight", "Max in flight",
                        "Requests uploading at once; results still leave in timestamp order", 1, 16,
                        DEFAULT_MAX_IN_FLIGHT, flags);
  properties[PROP_UTTERANCES] = g_param_spec_boolean(
      "utterances", "Utterances",
      "Ask Deepgram for utterances and post one stt/transcript per utterance instead of one "
      "per chunk",
      DEFAULT_UTTERANCES, flags);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics",
      "dgbatchsink-stats: requests, failures, retries, in-flight, chunks-transcribed, "
      "chunks-rejected, tolerated (counters), audio-uploaded, audio-backlog, audio-dropped (ns), "
      "last-error (notifies on changes)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  for (guint id = PROP_MIN_CHUNK; id < PROP_RETRY_BACKOFF_FIRST; id++)
    g_object_class_install_property(gobject_class, id, properties[id]);
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "retry of a failed request (never shorter than the server's "
                                   "Retry-After)",
                                   RetryBackoffProperties{}, GST_PARAM_MUTABLE_READY);
  for (guint id = PROP_MAX_IN_FLIGHT; id < PROP_BREAKER_FIRST; id++)
    g_object_class_install_property(gobject_class, id, properties[id]);
  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the pre-recorded API", nullptr,
                             default_breaker(), GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(gobject_class, PROP_STATS, properties[PROP_STATS]);
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
