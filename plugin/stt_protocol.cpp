/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "stt_protocol.h"

#include <cmath>
#include <limits>

namespace dgf::stt {
namespace {

/* Small typed readers: each returns false when the field is absent or has
 * another type, so a malformed structure is rejected, never half-read. */
bool get(const GstStructure *s, const char *f, std::string *out) {
  const char *v = gst_structure_get_string(s, f);
  if (!v)
    return false;
  *out = v;
  return true;
}
bool get(const GstStructure *s, const char *f, bool *out) {
  gboolean v;
  if (!gst_structure_get_boolean(s, f, &v))
    return false;
  *out = v;
  return true;
}
bool get(const GstStructure *s, const char *f, int *out) {
  return gst_structure_get_int(s, f, out);
}
bool get(const GstStructure *s, const char *f, uint32_t *out) {
  guint v;
  if (!gst_structure_get_uint(s, f, &v))
    return false;
  *out = v;
  return true;
}
bool get(const GstStructure *s, const char *f, uint64_t *out) {
  guint64 v;
  if (!gst_structure_get_uint64(s, f, &v))
    return false;
  *out = v;
  return true;
}
bool get(const GstStructure *s, const char *f, double *out) {
  return gst_structure_get_double(s, f, out);
}

/* Optional fields keep their default when absent. */
template <typename V> void get_optional(const GstStructure *s, const char *f, V *out) {
  if (gst_structure_has_field(s, f))
    get(s, f, out);
}

GstStructure *word_structure(const TimedWord &w) {
  return gst_structure_new("stt/word", "word", G_TYPE_STRING, w.word.c_str(), "punctuated-word",
                           G_TYPE_STRING, w.punctuated_word.c_str(), "start", G_TYPE_UINT64,
                           w.start, "end", G_TYPE_UINT64, w.end, "confidence", G_TYPE_DOUBLE,
                           w.confidence, "speaker", G_TYPE_INT, w.speaker, "language",
                           G_TYPE_STRING, w.language.c_str(), "speaker-confidence", G_TYPE_DOUBLE,
                           w.speaker_confidence, nullptr);
}

std::optional<TimedWord> word_from_structure(const GstStructure *s) {
  TimedWord w;
  if (!s || !get(s, "word", &w.word) || !get(s, "start", &w.start) || !get(s, "end", &w.end))
    return std::nullopt;
  w.punctuated_word = w.word;
  get_optional(s, "punctuated-word", &w.punctuated_word);
  get_optional(s, "confidence", &w.confidence);
  get_optional(s, "speaker", &w.speaker);
  get_optional(s, "language", &w.language);
  get_optional(s, "speaker-confidence", &w.speaker_confidence);
  return w;
}

} // namespace

uint64_t seconds_to_ns(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0.0)
    return 0;
  double ns = std::llround(seconds * 1e9);
  if (ns >= static_cast<double>(std::numeric_limits<int64_t>::max()))
    return static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return static_cast<uint64_t>(ns);
}

TimedTranscript to_pipeline_time(const Transcript &t, uint64_t origin,
                                 const std::string &session_id, const std::string &branch) {
  TimedTranscript out;
  out.text = t.text;
  out.start = origin + seconds_to_ns(t.start);
  out.duration = seconds_to_ns(t.duration);
  out.is_final = t.is_final;
  out.speech_final = t.speech_final;
  out.from_finalize = t.from_finalize;
  out.channel = t.channel;
  out.confidence = t.confidence;
  out.session_id = session_id;
  out.request_id = t.request_id;
  out.branch = branch;
  out.language = t.language;
  out.speaker = t.speaker;
  out.words.reserve(t.words.size());
  for (const Word &w : t.words) {
    out.words.push_back(TimedWord{w.word, w.punctuated_word, origin + seconds_to_ns(w.start),
                                  origin + seconds_to_ns(w.end), w.confidence, w.speaker,
                                  w.language, w.speaker_confidence});
  }
  return out;
}

TimedTranscript to_pipeline_time(const Transcript &t, const TimeMap &map,
                                 const std::string &session_id, const std::string &branch) {
  TimedTranscript out = to_pipeline_time(t, 0, session_id, branch);
  out.start = map.to_pipeline(t.start);
  uint64_t end = map.to_pipeline(t.start + t.duration);
  out.duration = end > out.start ? end - out.start : 0;
  for (size_t i = 0; i < t.words.size(); i++) {
    out.words[i].start = map.to_pipeline(t.words[i].start);
    out.words[i].end = map.to_pipeline(t.words[i].end);
  }
  return out;
}

GstStructure *to_structure(const Flush &v) {
  return gst_structure_new(Flush::kName, "flush-id", G_TYPE_UINT, v.flush_id, "reason",
                           G_TYPE_STRING, v.reason.c_str(), nullptr);
}
template <> std::optional<Flush> from_structure<Flush>(const GstStructure *s) {
  Flush v;
  if (!is<Flush>(s) || !get(s, "flush-id", &v.flush_id))
    return std::nullopt;
  get_optional(s, "reason", &v.reason);
  return v;
}

GstStructure *to_structure(const Supervisor &v) {
  return gst_structure_new(Supervisor::kName, "name", G_TYPE_STRING, v.name.c_str(), nullptr);
}
template <> std::optional<Supervisor> from_structure<Supervisor>(const GstStructure *s) {
  Supervisor v;
  if (!is<Supervisor>(s))
    return std::nullopt;
  get_optional(s, "name", &v.name);
  return v;
}

GstStructure *to_structure(const UtteranceEndMessage &v) {
  return gst_structure_new(UtteranceEndMessage::kName, "last-word-end", G_TYPE_UINT64,
                           v.last_word_end, "channel", G_TYPE_INT, v.channel, "session-id",
                           G_TYPE_STRING, v.session_id.c_str(), nullptr);
}
template <>
std::optional<UtteranceEndMessage> from_structure<UtteranceEndMessage>(const GstStructure *s) {
  UtteranceEndMessage v;
  if (!is<UtteranceEndMessage>(s) || !get(s, "last-word-end", &v.last_word_end))
    return std::nullopt;
  get_optional(s, "channel", &v.channel);
  get_optional(s, "session-id", &v.session_id);
  return v;
}

GstStructure *to_structure(const SpeechStartedMessage &v) {
  return gst_structure_new(SpeechStartedMessage::kName, "timestamp", G_TYPE_UINT64, v.timestamp,
                           "channel", G_TYPE_INT, v.channel, "session-id", G_TYPE_STRING,
                           v.session_id.c_str(), nullptr);
}
template <>
std::optional<SpeechStartedMessage> from_structure<SpeechStartedMessage>(const GstStructure *s) {
  SpeechStartedMessage v;
  if (!is<SpeechStartedMessage>(s) || !get(s, "timestamp", &v.timestamp))
    return std::nullopt;
  get_optional(s, "channel", &v.channel);
  get_optional(s, "session-id", &v.session_id);
  return v;
}

GstStructure *to_structure(const Reconnect &v) {
  return gst_structure_new(Reconnect::kName, "attempt", G_TYPE_UINT, v.attempt, nullptr);
}
template <> std::optional<Reconnect> from_structure<Reconnect>(const GstStructure *s) {
  Reconnect v;
  if (!is<Reconnect>(s))
    return std::nullopt;
  get_optional(s, "attempt", &v.attempt);
  return v;
}

GstStructure *to_structure(const Health &v) {
  return gst_structure_new(Health::kName, "healthy", G_TYPE_BOOLEAN, v.healthy, "reason",
                           G_TYPE_STRING, v.reason.c_str(), "code", G_TYPE_INT, v.code, "retryable",
                           G_TYPE_BOOLEAN, v.retryable, "session-id", G_TYPE_STRING,
                           v.session_id.c_str(), "restarting", G_TYPE_BOOLEAN, v.restarting,
                           nullptr);
}
template <> std::optional<Health> from_structure<Health>(const GstStructure *s) {
  Health v;
  if (!is<Health>(s) || !get(s, "healthy", &v.healthy))
    return std::nullopt;
  get_optional(s, "reason", &v.reason);
  get_optional(s, "code", &v.code);
  get_optional(s, "retryable", &v.retryable);
  get_optional(s, "session-id", &v.session_id);
  get_optional(s, "restarting", &v.restarting);
  return v;
}

GstStructure *to_structure(const PathRestored &v) {
  return gst_structure_new(PathRestored::kName, "session-id", G_TYPE_STRING, v.session_id.c_str(),
                           nullptr);
}
template <> std::optional<PathRestored> from_structure<PathRestored>(const GstStructure *s) {
  PathRestored v;
  if (!is<PathRestored>(s))
    return std::nullopt;
  get_optional(s, "session-id", &v.session_id);
  return v;
}

GstStructure *to_structure(const RetryNow &) {
  return gst_structure_new_empty(RetryNow::kName);
}
template <> std::optional<RetryNow> from_structure<RetryNow>(const GstStructure *s) {
  if (!is<RetryNow>(s))
    return std::nullopt;
  return RetryNow{};
}

GstStructure *to_structure(const Ack &v) {
  return gst_structure_new(Ack::kName, "position", G_TYPE_UINT64, v.position, "session-id",
                           G_TYPE_STRING, v.session_id.c_str(), "flush-id", G_TYPE_UINT, v.flush_id,
                           "drained", G_TYPE_BOOLEAN, v.drained, nullptr);
}
template <> std::optional<Ack> from_structure<Ack>(const GstStructure *s) {
  Ack v;
  if (!is<Ack>(s) || !get(s, "position", &v.position))
    return std::nullopt;
  get_optional(s, "session-id", &v.session_id);
  get_optional(s, "flush-id", &v.flush_id);
  get_optional(s, "drained", &v.drained);
  return v;
}

GstStructure *to_structure(const TimedTranscript &v) {
  GstStructure *s = gst_structure_new(
      TimedTranscript::kName, "text", G_TYPE_STRING, v.text.c_str(), "start", G_TYPE_UINT64,
      v.start, "duration", G_TYPE_UINT64, v.duration, "is-final", G_TYPE_BOOLEAN, v.is_final,
      "speech-final", G_TYPE_BOOLEAN, v.speech_final, "from-finalize", G_TYPE_BOOLEAN,
      v.from_finalize, "channel", G_TYPE_INT, v.channel, "confidence", G_TYPE_DOUBLE, v.confidence,
      "session-id", G_TYPE_STRING, v.session_id.c_str(), "request-id", G_TYPE_STRING,
      v.request_id.c_str(), "branch", G_TYPE_STRING, v.branch.c_str(), "language", G_TYPE_STRING,
      v.language.c_str(), "speaker", G_TYPE_INT, v.speaker, nullptr);
  GValue words = G_VALUE_INIT;
  gst_value_array_init(&words, v.words.size());
  for (const TimedWord &w : v.words) {
    GValue item = G_VALUE_INIT;
    g_value_init(&item, GST_TYPE_STRUCTURE);
    GstStructure *ws = word_structure(w);
    gst_value_set_structure(&item, ws);
    gst_structure_free(ws);
    gst_value_array_append_and_take_value(&words, &item);
  }
  gst_structure_take_value(s, "words", &words);
  return s;
}
GstStructure *to_structure(const TimedWord &v) {
  return word_structure(v);
}

template <> std::optional<TimedTranscript> from_structure<TimedTranscript>(const GstStructure *s) {
  TimedTranscript v;
  if (!is<TimedTranscript>(s) || !get(s, "text", &v.text) || !get(s, "start", &v.start) ||
      !get(s, "duration", &v.duration))
    return std::nullopt;
  get_optional(s, "is-final", &v.is_final);
  get_optional(s, "speech-final", &v.speech_final);
  get_optional(s, "from-finalize", &v.from_finalize);
  get_optional(s, "channel", &v.channel);
  get_optional(s, "confidence", &v.confidence);
  get_optional(s, "session-id", &v.session_id);
  get_optional(s, "request-id", &v.request_id);
  get_optional(s, "branch", &v.branch);
  get_optional(s, "language", &v.language);
  get_optional(s, "speaker", &v.speaker);
  const GValue *words = gst_structure_get_value(s, "words");
  if (words) {
    if (!GST_VALUE_HOLDS_ARRAY(words))
      return std::nullopt;
    guint n = gst_value_array_get_size(words);
    for (guint i = 0; i < n; i++) {
      const GValue *item = gst_value_array_get_value(words, i);
      if (!GST_VALUE_HOLDS_STRUCTURE(item))
        return std::nullopt;
      auto w = word_from_structure(gst_value_get_structure(item));
      if (!w)
        return std::nullopt;
      v.words.push_back(std::move(*w));
    }
  }
  return v;
}

GstStructure *to_structure(const Degraded &v) {
  return gst_structure_new(Degraded::kName, "reason", G_TYPE_STRING, v.reason.c_str(), "code",
                           G_TYPE_INT, v.code, "breaker-state", G_TYPE_STRING,
                           v.breaker_state.c_str(), "running-time", G_TYPE_UINT64, v.running_time,
                           nullptr);
}
template <> std::optional<Degraded> from_structure<Degraded>(const GstStructure *s) {
  Degraded v;
  if (!is<Degraded>(s) || !get(s, "reason", &v.reason))
    return std::nullopt;
  get_optional(s, "code", &v.code);
  get_optional(s, "breaker-state", &v.breaker_state);
  get_optional(s, "running-time", &v.running_time);
  return v;
}

GstStructure *to_structure(const Recovered &v) {
  return gst_structure_new(Recovered::kName, "degraded-duration", G_TYPE_UINT64,
                           v.degraded_duration, "batch-audio", G_TYPE_UINT64, v.batch_audio,
                           "replayed", G_TYPE_UINT64, v.replayed, "running-time", G_TYPE_UINT64,
                           v.running_time, nullptr);
}
template <> std::optional<Recovered> from_structure<Recovered>(const GstStructure *s) {
  Recovered v;
  if (!is<Recovered>(s) || !get(s, "degraded-duration", &v.degraded_duration))
    return std::nullopt;
  get_optional(s, "batch-audio", &v.batch_audio);
  get_optional(s, "replayed", &v.replayed);
  get_optional(s, "running-time", &v.running_time);
  return v;
}

GstStructure *to_structure(const AudioDropped &v) {
  return gst_structure_new(AudioDropped::kName, "start", G_TYPE_UINT64, v.start, "duration",
                           G_TYPE_UINT64, v.duration, "reason", G_TYPE_STRING, v.reason.c_str(),
                           "buffers", G_TYPE_UINT, v.buffers, "detail", G_TYPE_STRING,
                           v.detail.c_str(), nullptr);
}
template <> std::optional<AudioDropped> from_structure<AudioDropped>(const GstStructure *s) {
  AudioDropped v;
  if (!is<AudioDropped>(s) || !get(s, "start", &v.start) || !get(s, "duration", &v.duration))
    return std::nullopt;
  get_optional(s, "reason", &v.reason);
  get_optional(s, "buffers", &v.buffers);
  get_optional(s, "detail", &v.detail);
  return v;
}

GstStructure *to_structure(const BreakerChange &v) {
  return gst_structure_new(BreakerChange::kName, "name", G_TYPE_STRING, v.name.c_str(), "state",
                           G_TYPE_STRING, v.state.c_str(), "previous-state", G_TYPE_STRING,
                           v.previous_state.c_str(), "generation", G_TYPE_UINT64, v.generation,
                           "consecutive-failures", G_TYPE_UINT, v.consecutive_failures, "open-for",
                           G_TYPE_UINT64, v.open_for, "trip", G_TYPE_UINT, v.trip, "open-window",
                           G_TYPE_UINT64, v.open_window, nullptr);
}
template <> std::optional<BreakerChange> from_structure<BreakerChange>(const GstStructure *s) {
  BreakerChange v;
  if (!is<BreakerChange>(s) || !get(s, "name", &v.name) || !get(s, "state", &v.state))
    return std::nullopt;
  get_optional(s, "previous-state", &v.previous_state);
  get_optional(s, "generation", &v.generation);
  get_optional(s, "consecutive-failures", &v.consecutive_failures);
  get_optional(s, "open-for", &v.open_for);
  get_optional(s, "trip", &v.trip);
  get_optional(s, "open-window", &v.open_window);
  return v;
}

GstStructure *to_structure(const RecoveryFailed &v) {
  return gst_structure_new(RecoveryFailed::kName, "attempt", G_TYPE_UINT, v.attempt, "reason",
                           G_TYPE_STRING, v.reason.c_str(), "code", G_TYPE_INT, v.code,
                           "running-time", G_TYPE_UINT64, v.running_time, nullptr);
}
template <> std::optional<RecoveryFailed> from_structure<RecoveryFailed>(const GstStructure *s) {
  RecoveryFailed v;
  if (!is<RecoveryFailed>(s) || !get(s, "attempt", &v.attempt))
    return std::nullopt;
  get_optional(s, "reason", &v.reason);
  get_optional(s, "code", &v.code);
  get_optional(s, "running-time", &v.running_time);
  return v;
}

} // namespace dgf::stt
