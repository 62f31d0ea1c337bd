/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink's properties: their ids (in gst-inspect order), installing
 * them, setting and getting them, and the stats structure. */
#include <config.h>

#include "gstdgbatchsink_private.h"

namespace dgf::batchsink {

namespace {

enum {
  PROP_MIN_CHUNK = DG_PROP_COMMON_LAST + 1,
  PROP_MAX_CHUNK,
  PROP_MIN_PAUSE,
  PROP_PAUSE_THRESHOLD,
  PROP_MAX_BUFFER,
  PROP_OVERFLOW,
  PROP_DRAIN_TIMEOUT,
  PROP_REQUEST_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_MAX_IN_FLIGHT = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_UTTERANCES,
  PROP_BREAKER_FIRST,
  PROP_STATS = PROP_BREAKER_FIRST + kBreakerPropCount,
  N_PROPS
};
GParamSpec *properties[N_PROPS];

} // namespace

/* The plugin's one stats shape: counters and audio amounts (ns) as guint64. */
static GstStructure *stats_structure(const BatchStats &s) {
  return gst_structure_new(
      "dgbatchsink-stats", "requests", G_TYPE_UINT64, s.requests, "failures", G_TYPE_UINT64,
      s.failures, "throttled", G_TYPE_UINT64, s.throttled, "retries", G_TYPE_UINT64, s.retries,
      "in-flight", G_TYPE_UINT64, static_cast<guint64>(s.in_flight), "chunks-transcribed",
      G_TYPE_UINT64, s.chunks_transcribed, "chunks-rejected", G_TYPE_UINT64, s.chunks_rejected,
      "tolerated", G_TYPE_UINT64, s.tolerated, "audio-uploaded", G_TYPE_UINT64, s.uploaded,
      "audio-backlog", G_TYPE_UINT64, s.backlog, "audio-dropped", G_TYPE_UINT64, s.dropped,
      "bytes-sent", G_TYPE_UINT64, s.bytes_sent, "last-error", G_TYPE_STRING, s.last_error.c_str(),
      nullptr);
}

void notify_stats(GstDgBatchSink *self) {
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_STATS]);
}

void gst_dg_batch_sink_set_property(GObject *object, guint prop_id, const GValue *value,
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
  case PROP_CONNECT_TIMEOUT:
    s.connect_timeout = g_value_get_uint(value);
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

void gst_dg_batch_sink_get_property(GObject *object, guint prop_id, GValue *value,
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
  case PROP_CONNECT_TIMEOUT:
    g_value_set_uint(value, s.connect_timeout);
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

void install_properties(GObjectClass *gobject_class) {
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
  properties[PROP_CONNECT_TIMEOUT] = g_param_spec_uint(
      "connect-timeout", "Connect timeout",
      "Give up a new connection (TCP and TLS) after this many ms; the request fails and is "
      "retried. TCP's handshake alone must be answered within 3000 ms (or this, when shorter): "
      "unanswered, the path is dead",
      100, 600000, DEFAULT_CONNECT_TIMEOUT_MS, flags);
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
      "dgbatchsink-stats: requests, failures, throttled (429s), retries, in-flight, "
      "chunks-transcribed, "
      "chunks-rejected, tolerated (counters), audio-uploaded, audio-backlog, audio-dropped (ns), "
      "bytes-sent (request bodies, after encoding), last-error (notifies on changes)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  for (guint id = PROP_MIN_CHUNK; id < PROP_RETRY_BACKOFF_FIRST; id++)
    g_object_class_install_property(gobject_class, id, properties[id]);
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "retry of a failed request (never shorter than the server's "
                                   "Retry-After)",
                                   Settings{}.retry_backoff, GST_PARAM_MUTABLE_READY);
  for (guint id = PROP_MAX_IN_FLIGHT; id < PROP_BREAKER_FIRST; id++)
    g_object_class_install_property(gobject_class, id, properties[id]);
  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the pre-recorded API", nullptr,
                             Settings{}.breaker, GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(gobject_class, PROP_STATS, properties[PROP_STATS]);
}

} // namespace dgf::batchsink
