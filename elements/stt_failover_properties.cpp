/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover's properties: their ids (in gst-inspect order), installing
 * them, setting and getting them, and the stats structure. */
#include <config.h>

#include "gststtfailover_private.h"

namespace dgf::sttfailover {

namespace {

enum {
  PROP_0,
  PROP_BREAKER_FIRST,
  PROP_MODE = PROP_BREAKER_FIRST + kBreakerPropCount,
  PROP_REPLAY_WINDOW,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_LATENCY = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_DRAIN_TIMEOUT,
  PROP_CUT_PAUSE,
  PROP_CUT_MAX_WAIT,
  PROP_PAUSE_THRESHOLD,
  PROP_STATE,
  PROP_STATS,
  PROP_CAPTION_MAX_CHARS,
  PROP_CAPTION_MAX_LINES,
  PROP_CAPTION_MAX_DURATION,
  PROP_CAPTION_SPEAKER_LINES,
  PROP_MAX_OBSERVED_DELAY,
  PROP_MAX_OUTAGE,
};

GstSttFailoverState to_gst(FailoverState s) {
  switch (s) {
  case FailoverState::Degraded:
    return GST_STT_FAILOVER_STATE_DEGRADED;
  case FailoverState::Recovering:
    return GST_STT_FAILOVER_STATE_RECOVERING;
  case FailoverState::Batch:
    return GST_STT_FAILOVER_STATE_BATCH;
  default:
    return GST_STT_FAILOVER_STATE_STREAMING;
  }
}

} // namespace

FailoverMode to_core(GstSttFailoverMode m) {
  switch (m) {
  case GST_STT_FAILOVER_MODE_FORCE_STREAM:
    return FailoverMode::ForceStream;
  case GST_STT_FAILOVER_MODE_FORCE_BATCH:
    return FailoverMode::ForceBatch;
  case GST_STT_FAILOVER_MODE_STREAM_FIRST:
    return FailoverMode::StreamFirst;
  default:
    return FailoverMode::Auto;
  }
}

static GstStructure *build_stats(GstSttFailover *self) {
  FailoverStats s;
  FailoverMode mode;
  FailoverState state;
  InputStats in;
  GstClockTime max_delay;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    s = self->priv->core.stats(now);
    mode = self->priv->core.mode();
    state = self->priv->core.state();
    in = self->priv->input.stats();
    max_delay = self->priv->max_delay;
  }
  /* The plugin's one stats shape: counters and audio amounts (ns) as guint64. */
  auto u64 = [](auto v) { return static_cast<guint64>(v); };
  GstStructure *st = gst_structure_new(
      "sttfailover-stats", "state", G_TYPE_STRING, failover_state_name(state), "mode",
      G_TYPE_STRING, failover_mode_name(mode), "degraded", G_TYPE_UINT64, u64(s.degraded),
      "recovered", G_TYPE_UINT64, u64(s.recovered), "recovery-attempts", G_TYPE_UINT64,
      u64(s.recovery_attempts), "recoveries-failed", G_TYPE_UINT64, u64(s.recoveries_failed),
      "drops", G_TYPE_UINT64, u64(s.drops), "captions", G_TYPE_UINT64, u64(s.captions),
      "cuts-at-pause", G_TYPE_UINT64, u64(s.cuts_at_pause), "cuts-forced", G_TYPE_UINT64,
      u64(s.cuts_forced), "catch-ups", G_TYPE_UINT64, u64(s.catch_ups), nullptr);
  gst_structure_set(st, "time-degraded", G_TYPE_UINT64, u64(s.time_degraded), "audio-streamed",
                    G_TYPE_UINT64, u64(s.stream_audio), "audio-batched", G_TYPE_UINT64,
                    u64(s.batch_audio), "audio-replayed", G_TYPE_UINT64, u64(s.replayed),
                    "audio-dropped", G_TYPE_UINT64, u64(s.dropped), "audio-held", G_TYPE_UINT64,
                    u64(s.ledger_held), "ignored-stream", G_TYPE_UINT64, u64(s.ignored_stream),
                    "stream-restarts", G_TYPE_UINT64, u64(s.stream_restarts),
                    "audio-replayed-to-stream", G_TYPE_UINT64, u64(s.stream_replayed), nullptr);
  gst_structure_set(st, "last-retry-reason", G_TYPE_STRING, s.last_retry_reason.c_str(),
                    "input-gaps", G_TYPE_UINT64, u64(in.gaps), "input-missing", G_TYPE_UINT64,
                    u64(in.missing), "input-pauses", G_TYPE_UINT64, u64(in.pauses),
                    "max-observed-delay", G_TYPE_UINT64, u64(max_delay), nullptr);
  return st;
}

void set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_FAILOVER(object);
  SttFailoverPrivate *priv = self->priv;
  FailoverActions actions;
  bool latency_changed = false;
  bool breaker_changed = false;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    Settings &s = priv->settings;
    if (breaker_properties_set(s.breaker, PROP_BREAKER_FIRST, prop_id, value)) {
      breaker_changed = true;
      prop_id = PROP_0; /* handled */
    } else if (retry_backoff_properties_set(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id,
                                            value)) {
      priv->core.set_settings(s.core_settings(priv->input_live));
      prop_id = PROP_0;
    }
    switch (prop_id) {
    case PROP_0:
      break;
    case PROP_CAPTION_MAX_CHARS:
      s.captions.max_line_chars = g_value_get_uint(value);
      break;
    case PROP_CAPTION_MAX_LINES:
      s.captions.max_lines = g_value_get_uint(value);
      break;
    case PROP_CAPTION_MAX_DURATION:
      s.captions.max_duration = static_cast<uint64_t>(g_value_get_uint(value)) * GST_MSECOND;
      break;
    case PROP_CAPTION_SPEAKER_LINES:
      s.captions.speaker_lines = g_value_get_boolean(value);
      break;
    case PROP_MODE:
      s.mode = static_cast<GstSttFailoverMode>(g_value_get_enum(value));
      actions = priv->core.set_mode(to_core(s.mode), now);
      break;
    case PROP_REPLAY_WINDOW:
      s.replay_window_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_LATENCY:
      latency_changed = s.latency_ms != g_value_get_uint(value);
      s.latency_ms = g_value_get_uint(value);
      break;
    case PROP_DRAIN_TIMEOUT:
      s.drain_timeout_ms = g_value_get_uint(value);
      break;
    case PROP_CUT_PAUSE:
      s.cut_pause_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_CUT_MAX_WAIT:
      s.cut_max_wait_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_MAX_OUTAGE:
      s.max_outage_ms = g_value_get_int(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_PAUSE_THRESHOLD:
      s.pause_threshold = g_value_get_double(value);
      priv->quiet.reset(); /* the next measurement uses the new threshold */
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
    }
  }
  run_actions(self, actions);
  /* From READY on a breaker is held: take the one the new settings name now,
   * so a stream sink connecting later shares it with these settings. */
  if (breaker_changed && priv->breakers.registry())
    ensure_breaker(self);
  if (latency_changed) {
    wake_captions(self); /* a sleeping text pad's deadline moved */
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_FAILOVER(object);
  SttFailoverPrivate *priv = self->priv;
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  std::lock_guard<std::mutex> guard(priv->lock);
  const Settings &s = priv->settings;
  if (breaker_properties_get(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_get(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_MAX_OBSERVED_DELAY:
    g_value_set_uint(value, static_cast<guint>(priv->max_delay / GST_MSECOND));
    break;
  case PROP_MAX_OUTAGE:
    g_value_set_int(value, s.max_outage_ms);
    break;
  case PROP_CAPTION_MAX_CHARS:
    g_value_set_uint(value, s.captions.max_line_chars);
    break;
  case PROP_CAPTION_MAX_LINES:
    g_value_set_uint(value, s.captions.max_lines);
    break;
  case PROP_CAPTION_MAX_DURATION:
    g_value_set_uint(value, static_cast<guint>(s.captions.max_duration / GST_MSECOND));
    break;
  case PROP_CAPTION_SPEAKER_LINES:
    g_value_set_boolean(value, s.captions.speaker_lines);
    break;
  case PROP_MODE:
    g_value_set_enum(value, s.mode);
    break;
  case PROP_REPLAY_WINDOW:
    g_value_set_uint(value, s.replay_window_ms);
    break;
  case PROP_LATENCY:
    g_value_set_uint(value, s.latency_ms);
    break;
  case PROP_DRAIN_TIMEOUT:
    g_value_set_uint(value, s.drain_timeout_ms);
    break;
  case PROP_CUT_PAUSE:
    g_value_set_uint(value, s.cut_pause_ms);
    break;
  case PROP_CUT_MAX_WAIT:
    g_value_set_uint(value, s.cut_max_wait_ms);
    break;
  case PROP_PAUSE_THRESHOLD:
    g_value_set_double(value, s.pause_threshold);
    break;
  case PROP_STATE:
    g_value_set_enum(value, to_gst(priv->core.state()));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

void install_properties(GObjectClass *gobject_class) {
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the live API",
                             "its dgstreamsink takes the same one after this element made it, "
                             "so these settings win",
                             Settings{}.breaker, GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode",
                        "Routing: auto (live input streams while the live API is healthy and "
                        "goes to batch while it is not; input that is not live goes to batch), "
                        "stream-first (a file streams too), or an operator's override, "
                        "force-stream or force-batch (changeable while playing)",
                        GST_TYPE_STT_FAILOVER_MODE, DEFAULT_MODE, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_REPLAY_WINDOW,
      g_param_spec_uint("replay-window", "Replay window",
                        "Un-acknowledged stream audio kept for replay, in ms; older audio is "
                        "reported in stt/audio-dropped if the stream then fails",
                        0, 3600000, DEFAULT_REPLAY_WINDOW_MS, rw_playing));
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "recovery attempt (back to the live API)",
                                   Settings{}.retry_backoff, GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint("latency", "Latency",
                        "Added to upstream latency in LATENCY answers on the text pad, in ms: how "
                        "late captions may be",
                        0, 600000, DEFAULT_LATENCY_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint("drain-timeout", "Drain timeout",
                        "At EOS, how long in ms to wait for each branch's final results", 0,
                        3600000, DEFAULT_DRAIN_TIMEOUT_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CUT_PAUSE,
      g_param_spec_uint("cut-pause", "Cut pause",
                        "Recovering, cut back to streaming only after this much quiet audio, in "
                        "ms, so no word is split between the branches (0: at the next buffer)",
                        0, 10000, DEFAULT_CUT_PAUSE_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CUT_MAX_WAIT,
      g_param_spec_uint("cut-max-wait", "Cut max wait",
                        "Recovering, cut back to streaming after this much audio in ms even "
                        "without a pause (counted in stats as cuts-forced)",
                        0, 600000, DEFAULT_CUT_MAX_WAIT_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_PAUSE_THRESHOLD,
      g_param_spec_double("pause-threshold", "Pause threshold",
                          "Level under which audio counts as quiet for cut-pause, in dBFS RMS "
                          "per 20 ms window, loudest channel",
                          -120.0, 0.0, DEFAULT_PAUSE_THRESHOLD, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_OUTAGE,
      g_param_spec_int("max-outage", "Max outage",
                       "Give up with an ERROR once neither branch could transcribe for this many "
                       "ms (both APIs failing, or the one in use refusing for good); 0: never; "
                       "-1: 120000 for input that is not live, never for live input (a captioner "
                       "must come back by itself; WARNINGs say what is wrong meanwhile)",
                       -1, G_MAXINT, DEFAULT_MAX_OUTAGE_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_OBSERVED_DELAY,
      g_param_spec_uint("max-observed-delay", "Max observed delay",
                        "Live input: the longest a caption has left the text pad after its audio, "
                        "in ms (notifies; a WARNING when it passes the latency)",
                        0, G_MAXUINT, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_STATE,
      g_param_spec_enum("state", "State",
                        "streaming, degraded, recovering, or batch (input that is not live "
                        "sent to the pre-recorded API) (notifies)",
                        GST_TYPE_STT_FAILOVER_STATE, GST_STT_FAILOVER_STATE_STREAMING, ro));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "sttfailover-stats: state, mode; degraded, recovered, "
                         "recovery-attempts, recoveries-failed, drops, captions, cuts-at-pause, "
                         "cuts-forced, catch-ups, ignored-stream, stream-restarts, input-gaps, "
                         "input-pauses (counters); time-degraded, audio-streamed, "
                         "audio-batched, audio-replayed, audio-replayed-to-stream, "
                         "audio-dropped, audio-held, input-missing, max-observed-delay (ns); "
                         "last-retry-reason (notifies on changes)",
                         GST_TYPE_STRUCTURE, ro));
  const CaptionSplitSettings captions;
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_CHARS,
      g_param_spec_uint("caption-max-chars", "Caption max chars",
                        "Longest caption line in characters; lines break between words (0: no "
                        "limit; 32 for CEA-608)",
                        0, 1000, captions.max_line_chars, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_LINES,
      g_param_spec_uint("caption-max-lines", "Caption max lines",
                        "Most lines in one caption; a longer transcript becomes several captions",
                        1, 10, captions.max_lines, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_DURATION,
      g_param_spec_uint("caption-max-duration", "Caption max duration",
                        "Longest time in ms one caption stays on screen (0: no limit; with "
                        "caption-max-chars=0 and no speaker lines, transcripts pass whole)",
                        0, 600000, static_cast<guint>(captions.max_duration / GST_MSECOND),
                        rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_SPEAKER_LINES,
      g_param_spec_boolean("caption-speaker-lines", "Caption speaker lines",
                           "A speaker change starts a new caption line, marked \"- \" when two "
                           "speakers share a caption (needs diarize on the sinks)",
                           captions.speaker_lines, rw_playing));
}

} // namespace dgf::sttfailover
