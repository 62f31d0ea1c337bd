/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stt protocol: the custom events and bus messages the elements speak.
 *
 * Each message or event has a plain C++ struct and a name; the templates below
 * turn one into a GstStructure, GstEvent or GstMessage and back, so no element
 * hand-builds a structure. Names and fields are stable API, documented in
 * docs/protocol.md. Times are GStreamer clock times in nanoseconds (pipeline
 * timestamps), GST_CLOCK_TIME_NONE where unknown.
 */
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sink_health.h"
#include "time_map.h"
#include "transcript.h"

namespace dgf::stt {

enum class Direction { Downstream, DownstreamSticky, DownstreamOob, Upstream, Message };

/* Downstream, serialized, failover -> sink: transcribe what you hold now.
 * The sink answers with an Ack carrying the same flush_id once done. */
struct Flush {
  static constexpr const char *kName = "stt/flush";
  static constexpr Direction kDirection = Direction::Downstream;
  uint32_t flush_id = 0;
  std::string reason;
};

/* Downstream, serialized, failover -> sink: try to connect now. The sink
 * answers with a Health event. */
struct Reconnect {
  static constexpr const char *kName = "stt/reconnect";
  static constexpr Direction kDirection = Direction::Downstream;
  uint32_t attempt = 0;
};

/* Downstream, sticky, failover -> sink: a supervisor owns recovery. The sink
 * then does not reconnect or replay on its own: it reports stt/health and
 * waits for stt/reconnect, since the supervisor keeps the un-acked audio. */
struct Supervisor {
  static constexpr const char *kName = "stt/supervisor";
  static constexpr Direction kDirection = Direction::DownstreamSticky;
  std::string name; /* the supervising element, for logs */
};

/* Upstream, sink -> failover: whether the sink can transcribe now. */
struct Health : SinkHealth {
  static constexpr const char *kName = "stt/health";
  static constexpr Direction kDirection = Direction::Upstream;
};

/* Upstream, sink -> failover: the sink failed for the network's sake (a
 * dead path, no connection) and has found the path working again: an
 * attempt to recover now is worth it. */
struct PathRestored {
  static constexpr const char *kName = "stt/path-restored";
  static constexpr Direction kDirection = Direction::Upstream;
  std::string session_id;
};

/* Downstream, out of band, failover -> batch sink: the network path to
 * Deepgram works again (a sink's stt/path-restored): retry what waits for the
 * backoff or the breaker now, not at their time. */
struct RetryNow {
  static constexpr const char *kName = "stt/retry-now";
  static constexpr Direction kDirection = Direction::DownstreamOob;
};

/* Upstream, sink -> failover: audio before `position` has final results. */
struct Ack {
  static constexpr const char *kName = "stt/ack";
  static constexpr Direction kDirection = Direction::Upstream;
  uint64_t position = GST_CLOCK_TIME_NONE;
  std::string session_id;
  uint32_t flush_id = 0; /* non-zero when this completes an stt/flush */
  bool drained = false;  /* EOS: the sink has finished with all its audio */
};

struct TimedWord {
  std::string word;
  std::string punctuated_word;
  uint64_t start = 0; /* pipeline time, ns */
  uint64_t end = 0;
  double confidence = 0.0;
  int speaker = -1;
  std::string language;             /* the word's language (language=multi), "" unknown */
  double speaker_confidence = -1.0; /* 0..1 with diarize (pre-recorded), -1 unknown */
};

/* Upstream event and bus message: a transcript in pipeline time. */
struct TimedTranscript {
  static constexpr const char *kName = "stt/transcript";
  static constexpr Direction kDirection = Direction::Upstream;
  std::string text;
  std::vector<TimedWord> words;
  uint64_t start = 0;    /* pipeline time, ns */
  uint64_t duration = 0; /* ns */
  bool is_final = true;
  bool speech_final = false;
  bool from_finalize = false; /* the final that answers a Finalize (a flush) */
  int channel = 0;
  double confidence = 0.0;
  std::string session_id;
  std::string request_id;
  std::string branch;   /* "stream" or "batch" */
  std::string language; /* detected or dominant language, "" unknown */
  int speaker = -1;     /* an utterance's speaker (pre-recorded, utterances=true), -1 otherwise */
};

/* Bus: the failover left streaming. */
struct Degraded {
  static constexpr const char *kName = "stt/degraded";
  static constexpr Direction kDirection = Direction::Message;
  std::string reason;
  int code = 0; /* close code or HTTP status, 0 when unknown */
  std::string breaker_state;
  uint64_t running_time = GST_CLOCK_TIME_NONE;
};

/* Bus: the failover is back on streaming. */
struct Recovered {
  static constexpr const char *kName = "stt/recovered";
  static constexpr Direction kDirection = Direction::Message;
  uint64_t degraded_duration = 0; /* ns */
  uint64_t batch_audio = 0;       /* ns of audio sent to the batch branch */
  uint64_t replayed = 0;          /* ns of audio replayed from the ledger */
  uint64_t running_time = GST_CLOCK_TIME_NONE;
};

/* Bus: audio that will never be transcribed, with the exact range. */
struct AudioDropped {
  static constexpr const char *kName = "stt/audio-dropped";
  static constexpr Direction kDirection = Direction::Message;
  uint64_t start = 0;    /* pipeline time, ns */
  uint64_t duration = 0; /* ns */
  std::string reason;    /* a token: the cause (docs/protocol.md lists them) */
  uint32_t buffers = 1;  /* pieces of audio the report covers (contiguous, one reason) */
  std::string detail;    /* what happened, in words (the server's error...); may be empty */
};

/* Bus: Deepgram's UtteranceEnd (utterance-end-ms set): speech ended. */
struct UtteranceEndMessage {
  static constexpr const char *kName = "stt/utterance-end";
  static constexpr Direction kDirection = Direction::Message;
  uint64_t last_word_end = 0; /* pipeline time, ns */
  int channel = 0;
  std::string session_id;
};

/* Bus: Deepgram's SpeechStarted (vad-events=true). */
struct SpeechStartedMessage {
  static constexpr const char *kName = "stt/speech-started";
  static constexpr Direction kDirection = Direction::Message;
  uint64_t timestamp = 0; /* pipeline time, ns */
  int channel = 0;
  std::string session_id;
};

/* Bus: an attempt to get back to streaming failed (the sink could not
 * connect, or the session it connected died before it answered). */
struct RecoveryFailed {
  static constexpr const char *kName = "stt/recovery-failed";
  static constexpr Direction kDirection = Direction::Message;
  uint32_t attempt = 0; /* since the outage began, 1, 2, ... */
  std::string reason;
  int code = 0; /* close code or HTTP status, 0 when none applies */
  uint64_t running_time = GST_CLOCK_TIME_NONE;
};

/* Bus: a shared breaker changed state. */
struct BreakerChange {
  static constexpr const char *kName = "stt/breaker";
  static constexpr Direction kDirection = Direction::Message;
  std::string name;
  std::string state; /* "closed", "open", "half-open" */
  std::string previous_state;
  uint64_t generation = 0;
  uint32_t consecutive_failures = 0;
  uint64_t open_for = 0;    /* ns the breaker stays open, 0 unless open */
  uint32_t trip = 0;        /* consecutive trip since last closed (1, 2...), 0 unless open */
  uint64_t open_window = 0; /* ns: the backoff window open_for was drawn from */
};

/* Structure <-> struct. from_structure returns nullopt when the name differs
 * or a required field is missing or of the wrong type. */
GstStructure *to_structure(const Flush &v);
GstStructure *to_structure(const Supervisor &v);
GstStructure *to_structure(const UtteranceEndMessage &v);
GstStructure *to_structure(const SpeechStartedMessage &v);
GstStructure *to_structure(const Reconnect &v);
GstStructure *to_structure(const Health &v);
GstStructure *to_structure(const PathRestored &v);
GstStructure *to_structure(const RetryNow &v);
GstStructure *to_structure(const Ack &v);
GstStructure *to_structure(const TimedTranscript &v);
GstStructure *to_structure(const TimedWord &v); /* an `stt/word` */
GstStructure *to_structure(const Degraded &v);
GstStructure *to_structure(const Recovered &v);
GstStructure *to_structure(const AudioDropped &v);
GstStructure *to_structure(const BreakerChange &v);
GstStructure *to_structure(const RecoveryFailed &v);

template <typename T> std::optional<T> from_structure(const GstStructure *s);
template <> std::optional<Flush> from_structure<Flush>(const GstStructure *s);
template <> std::optional<Supervisor> from_structure<Supervisor>(const GstStructure *s);
template <>
std::optional<UtteranceEndMessage> from_structure<UtteranceEndMessage>(const GstStructure *s);
template <>
std::optional<SpeechStartedMessage> from_structure<SpeechStartedMessage>(const GstStructure *s);
template <> std::optional<Reconnect> from_structure<Reconnect>(const GstStructure *s);
template <> std::optional<Health> from_structure<Health>(const GstStructure *s);
template <> std::optional<PathRestored> from_structure<PathRestored>(const GstStructure *s);
template <> std::optional<RetryNow> from_structure<RetryNow>(const GstStructure *s);
template <> std::optional<Ack> from_structure<Ack>(const GstStructure *s);
template <> std::optional<TimedTranscript> from_structure<TimedTranscript>(const GstStructure *s);
template <> std::optional<Degraded> from_structure<Degraded>(const GstStructure *s);
template <> std::optional<Recovered> from_structure<Recovered>(const GstStructure *s);
template <> std::optional<AudioDropped> from_structure<AudioDropped>(const GstStructure *s);
template <> std::optional<BreakerChange> from_structure<BreakerChange>(const GstStructure *s);
template <> std::optional<RecoveryFailed> from_structure<RecoveryFailed>(const GstStructure *s);

/* Events: downstream ones are serialized with the data flow. */
template <typename T> GstEvent *make_event(const T &v) {
  static_assert(T::kDirection != Direction::Message, "bus-only type");
  GstEventType type = T::kDirection == Direction::Downstream ? GST_EVENT_CUSTOM_DOWNSTREAM
                      : T::kDirection == Direction::DownstreamSticky
                          ? GST_EVENT_CUSTOM_DOWNSTREAM_STICKY
                      : T::kDirection == Direction::DownstreamOob ? GST_EVENT_CUSTOM_DOWNSTREAM_OOB
                                                                  : GST_EVENT_CUSTOM_UPSTREAM;
  return gst_event_new_custom(type, to_structure(v));
}

template <typename T> GstMessage *make_message(GstObject *src, const T &v) {
  return gst_message_new_element(src, to_structure(v));
}

template <typename T> bool is(const GstStructure *s) {
  return s && gst_structure_has_name(s, T::kName);
}
template <typename T> bool is(GstEvent *e) {
  return e && is<T>(gst_event_get_structure(e));
}
template <typename T> bool is(GstMessage *m) {
  return m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && is<T>(gst_message_get_structure(m));
}

template <typename T> std::optional<T> parse(GstEvent *e) {
  return e ? from_structure<T>(gst_event_get_structure(e)) : std::nullopt;
}
template <typename T> std::optional<T> parse(GstMessage *m) {
  if (!m || GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT)
    return std::nullopt;
  return from_structure<T>(gst_message_get_structure(m));
}

/* Seconds (session-relative, as Deepgram reports them) to nanoseconds. */
uint64_t seconds_to_ns(double seconds);

/* A Deepgram transcript moved into pipeline time: every session-relative
 * second is added to `session_origin` (the pipeline time of the session's
 * first sample). */
TimedTranscript to_pipeline_time(const Transcript &t, uint64_t session_origin,
                                 const std::string &session_id, const std::string &branch);
/* The same through a session's time map, gaps and all (time_map.h). */
TimedTranscript to_pipeline_time(const Transcript &t, const TimeMap &map,
                                 const std::string &session_id, const std::string &branch);

} // namespace dgf::stt
