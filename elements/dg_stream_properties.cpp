/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's properties: their ids (in gst-inspect order), installing
 * them, setting and getting them, and the stats structure. */
#include <config.h>

#include "gstdgstreamsink_private.h"

namespace dgf::streamsink {

namespace {

enum {
  PROP_INTERIM_RESULTS = DG_PROP_COMMON_LAST + 1,
  PROP_ENDPOINTING,
  PROP_UTTERANCE_END_MS,
  PROP_VAD_EVENTS,
  PROP_KEEPALIVE_INTERVAL,
  PROP_STALL_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_SEND_TIMEOUT,
  PROP_FINALIZE_TIMEOUT,
  PROP_RECONNECT,
  PROP_REPLAY_WINDOW,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_BREAKER_FIRST = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_STATS = PROP_BREAKER_FIRST + kBreakerPropCount,
};

} // namespace

static GstStructure *build_stats(GstDgStreamSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  const Stats &s = self->priv->stats;
  return gst_structure_new(
      "dgstreamsink-stats", "state", G_TYPE_STRING, s.state.c_str(), "connections", G_TYPE_UINT64,
      s.connections, "connect-attempts", G_TYPE_UINT64, s.connect_attempts, "failures",
      G_TYPE_UINT64, s.failures, "results", G_TYPE_UINT64, s.results, "finals", G_TYPE_UINT64,
      s.finals, "keepalives", G_TYPE_UINT64, s.keepalives, "malformed", G_TYPE_UINT64, s.malformed,
      "tolerated", G_TYPE_UINT64, s.tolerated, "audio-sent", G_TYPE_UINT64, s.audio_sent,
      "audio-replayed", G_TYPE_UINT64, s.audio_replayed, "audio-dropped", G_TYPE_UINT64,
      s.audio_dropped, "bytes-sent", G_TYPE_UINT64, self->priv->bytes_sent.load(), "last-error",
      G_TYPE_STRING, s.last_error.c_str(), "send-backlog", G_TYPE_UINT64, s.send_backlog,
      "send-rate", G_TYPE_UINT64, s.send_rate, "needed-rate", G_TYPE_UINT64, s.needed_rate,
      "transport-error", G_TYPE_STRING, s.transport_error.c_str(), "encoding", G_TYPE_STRING,
      s.encoding.c_str(), nullptr);
}

void gst_dg_stream_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                     GParamSpec *pspec) {
  auto *self = GST_DG_STREAM_SINK(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  StreamSettings &s = self->priv->settings;
  if (dg_common_set_property(s.common, prop_id, value) ||
      breaker_properties_set(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_set(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_INTERIM_RESULTS:
    s.interim_results = g_value_get_boolean(value);
    break;
  case PROP_ENDPOINTING:
    s.endpointing = g_value_get_int(value);
    break;
  case PROP_UTTERANCE_END_MS:
    s.utterance_end_ms = g_value_get_uint(value);
    break;
  case PROP_VAD_EVENTS:
    s.vad_events = g_value_get_boolean(value);
    break;
  case PROP_KEEPALIVE_INTERVAL:
    s.keepalive_ms = g_value_get_uint(value);
    break;
  case PROP_STALL_TIMEOUT:
    s.stall_ms = g_value_get_uint(value);
    break;
  case PROP_CONNECT_TIMEOUT:
    s.connect_ms = g_value_get_uint(value);
    break;
  case PROP_SEND_TIMEOUT:
    s.send_ms = g_value_get_uint(value);
    break;
  case PROP_FINALIZE_TIMEOUT:
    s.finalize_ms = g_value_get_uint(value);
    break;
  case PROP_RECONNECT:
    s.reconnect = g_value_get_boolean(value);
    break;
  case PROP_REPLAY_WINDOW:
    s.replay_window_ms = g_value_get_uint(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

void gst_dg_stream_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                     GParamSpec *pspec) {
  auto *self = GST_DG_STREAM_SINK(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const StreamSettings &s = self->priv->settings;
  if (dg_common_get_property(s.common, prop_id, value) ||
      breaker_properties_get(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_get(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_INTERIM_RESULTS:
    g_value_set_boolean(value, s.interim_results);
    break;
  case PROP_ENDPOINTING:
    g_value_set_int(value, s.endpointing);
    break;
  case PROP_UTTERANCE_END_MS:
    g_value_set_uint(value, s.utterance_end_ms);
    break;
  case PROP_VAD_EVENTS:
    g_value_set_boolean(value, s.vad_events);
    break;
  case PROP_KEEPALIVE_INTERVAL:
    g_value_set_uint(value, s.keepalive_ms);
    break;
  case PROP_STALL_TIMEOUT:
    g_value_set_uint(value, s.stall_ms);
    break;
  case PROP_CONNECT_TIMEOUT:
    g_value_set_uint(value, s.connect_ms);
    break;
  case PROP_SEND_TIMEOUT:
    g_value_set_uint(value, s.send_ms);
    break;
  case PROP_FINALIZE_TIMEOUT:
    g_value_set_uint(value, s.finalize_ms);
    break;
  case PROP_RECONNECT:
    g_value_set_boolean(value, s.reconnect);
    break;
  case PROP_REPLAY_WINDOW:
    g_value_set_uint(value, s.replay_window_ms);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

void install_properties(GObjectClass *gobject_class) {
  dg_common_install_properties(gobject_class, kDefaultUrl, "live");
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_INTERIM_RESULTS,
      g_param_spec_boolean("interim-results", "Interim results",
                           "Ask for interim (not yet final) results; they are posted as "
                           "stt/transcript with is-final=false",
                           DEFAULT_INTERIM_RESULTS, rw));
  g_object_class_install_property(
      gobject_class, PROP_ENDPOINTING,
      g_param_spec_int("endpointing", "Endpointing",
                       "Silence in ms that ends an utterance; 0 disables endpointing, -1 keeps "
                       "Deepgram's default (10 ms)",
                       -1, 60000, DEFAULT_ENDPOINTING, rw));
  g_object_class_install_property(
      gobject_class, PROP_UTTERANCE_END_MS,
      g_param_spec_uint("utterance-end-ms", "Utterance end",
                        "Gap in ms after the last word that posts stt/utterance-end (0: off; "
                        "turns on interim results, which Deepgram requires)",
                        0, 60000, DEFAULT_UTTERANCE_END_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_VAD_EVENTS,
      g_param_spec_boolean("vad-events", "VAD events",
                           "Post stt/speech-started when Deepgram detects speech",
                           DEFAULT_VAD_EVENTS, rw));
  g_object_class_install_property(
      gobject_class, PROP_KEEPALIVE_INTERVAL,
      g_param_spec_uint("keepalive-interval", "KeepAlive interval",
                        "Send a KeepAlive after this many ms without audio, so a paused or "
                        "silent pipeline is not closed for idleness (NET-0001); 0 disables",
                        0, 60000, DEFAULT_KEEPALIVE_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_STALL_TIMEOUT,
      g_param_spec_uint("stall-timeout", "Stall timeout",
                        "Treat the connection as dead when Deepgram sends nothing (or only "
                        "interim results) for this many ms while it owes results",
                        100, 600000, DEFAULT_STALL_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint("connect-timeout", "Connect timeout",
                        "Give up a connection attempt (TCP, TLS and WebSocket handshake) after "
                        "this many ms",
                        100, 600000, DEFAULT_CONNECT_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_SEND_TIMEOUT,
      g_param_spec_uint("send-timeout", "Send timeout",
                        "Treat the connection as dead when data waits this many ms with no "
                        "acknowledgement at all from the network: a path that silently drops "
                        "packets is found this long after it dies while audio flows, and "
                        "within keepalive-interval plus 3 s (or this, if shorter) while paused, "
                        "when only a KeepAlive waits. A server that only "
                        "reads slowly still acknowledges and is not dead; 0: leave it to TCP "
                        "(minutes)",
                        0, 600000, DEFAULT_SEND_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_FINALIZE_TIMEOUT,
      g_param_spec_uint("finalize-timeout", "Finalize timeout",
                        "At EOS, wait at most this many ms for the last results after "
                        "CloseStream; audio still without results is then reported in "
                        "stt/audio-dropped",
                        0, 600000, DEFAULT_FINALIZE_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_RECONNECT,
      g_param_spec_boolean("reconnect", "Reconnect",
                           "When used alone: reconnect after a failure (with jittered backoff, "
                           "through the breaker) and replay the audio the dead connection never "
                           "acknowledged. Behind sttfailover the failover decides instead",
                           DEFAULT_RECONNECT, rw));
  g_object_class_install_property(
      gobject_class, PROP_REPLAY_WINDOW,
      g_param_spec_uint("replay-window", "Replay window",
                        "Used alone: most audio in ms kept for replay after a failure "
                        "(un-acknowledged plus audio arriving while down); older audio is "
                        "reported in stt/audio-dropped. Behind sttfailover the failover's own "
                        "replay-window holds it instead",
                        0, 3600000, DEFAULT_REPLAY_WINDOW_MS, rw));
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "reconnect (when used alone; behind sttfailover the failover "
                                   "decides)",
                                   StreamSettings{}.retry_backoff, GST_PARAM_MUTABLE_READY);
  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the live API",
                             "behind sttfailover, the failover's, whose settings then apply",
                             StreamSettings{}.breaker, GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed(
          "stats", "Statistics",
          "dgstreamsink-stats: state, connections, connect-attempts, failures, results, finals, "
          "keepalives, "
          "malformed, tolerated (counters), audio-sent, audio-replayed, audio-dropped (ns), "
          "bytes-sent (audio bytes on the wire, after encoding), last-error, send-backlog (ns "
          "of audio handed to the network and not yet delivered), send-rate (bit/s the link "
          "carried while it was the limit, 0 when it kept up), needed-rate (bit/s the audio "
          "needs), transport-error (the last socket error), encoding (on the wire now: with "
          "encoding=auto, flac or, once stepped down, opus) (notifies on changes)",
          GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

} // namespace dgf::streamsink
