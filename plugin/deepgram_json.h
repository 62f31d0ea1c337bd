/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deepgram JSON -> the transcript model (json-glib).
 *
 * Reads what Deepgram sends: live WebSocket text frames and the pre-recorded
 * (REST) response and error bodies. Every function takes untrusted bytes and
 * returns a value or a ParseError; none throws, none crashes on hostile input.
 *
 * Limits, checked before json-glib sees the input (its parser recurses once
 * per nesting level, so deep input could exhaust the stack):
 *   - size: kMaxLiveFrameBytes for live frames, kMaxResponseBytes for bodies;
 *   - nesting depth of objects/arrays: kMaxJsonDepth;
 *   - the input must be valid UTF-8 (transcripts go out as text/x-raw utf8).
 * Times must be finite, >= 0 and <= kMaxSeconds; channel pairs [i, n] need
 * 0 <= i < n <= kMaxChannels. See docs/deepgram-mapping.md.
 *
 * Tolerant reading: only a transcript that cannot be read is an error (a
 * Results frame or a pre-recorded response whose channel, alternative,
 * transcript or words cannot be read), since an error makes the live sink
 * reconnect and replay. Everything else Deepgram may send in a shape this code
 * does not expect (SpeechStarted/UtteranceEnd "channel": [0], a Metadata field
 * of another type, a missing timestamp, an "utterances" section that cannot be
 * read, a word "language" that is not a string) is read with a default and
 * reported in the message's `tolerated` notes. Sections this code does not
 * read (paragraphs, summary, entities, topics, intents, sentiments, search)
 * are never looked at, so never fail and never make a note.
 */
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "expected.h"
#include "transcript.h"

namespace dgf {

constexpr size_t kMaxLiveFrameBytes = 4u << 20; /* 4 MiB: a live frame is a few KiB */
constexpr size_t kMaxResponseBytes = 64u << 20; /* 64 MiB: hours of words, pre-recorded */
constexpr int kMaxJsonDepth = 64;               /* Deepgram's deepest shape is ~8 */
/* A year: past any real connection, far from overflowing int64 nanoseconds. */
constexpr double kMaxSeconds = 366.0 * 24 * 3600;
constexpr int kMaxChannels = 255;

struct ParseError {
  std::string message;
};

/* What a tolerant read let pass, one short note each, e.g.
 * "SpeechStarted: channel is an array of 1" or
 * "response: utterances unreadable (results.utterances[].channel: no such
 * channel in results.channels), ignored". A note names the message and the
 * JSON path (indices shown as []) but no values, so the same oddity always
 * gives the same text: a caller can log each distinct note once per
 * connection and count them. No duplicates, at most kMaxToleratedNotes per
 * message. Empty when the message was read as Deepgram documents it. */
using Tolerated = std::vector<std::string>;
constexpr size_t kMaxToleratedNotes = 16;

/* Live "Metadata" frame, and the "metadata" object of a pre-recorded response. */
struct DeepgramMetadata {
  std::string request_id;
  std::string transaction_key;
  std::string sha256;  /* kept as sent */
  std::string created; /* ISO 8601, kept as sent */
  double duration = 0.0;
  int channels = 0;
  std::vector<std::string> models; /* pre-recorded only */
  Tolerated tolerated;             /* live Metadata only (a response has its own) */
};

/* Live "UtteranceEnd": the end of the last word before a pause. "channel" is
 * read as [index, count]; [index] or a bare index gives count index + 1, and
 * anything else channel 0 of 1 (with a note). */
struct UtteranceEnd {
  double last_word_end = 0.0; /* seconds, connection-relative; 0 (noted) when unreadable */
  int channel = 0;
  int channel_count = 1;
  Tolerated tolerated;
};

/* Live "SpeechStarted" (vad_events=true). "channel" as for UtteranceEnd. */
struct SpeechStarted {
  double timestamp = 0.0; /* seconds, connection-relative; 0 (noted) when unreadable */
  int channel = 0;
  int channel_count = 1;
  Tolerated tolerated;
};

/* An error Deepgram reports: a live {"type":"Error",...} frame or an HTTP error
 * body. Fields absent in the shape that was sent stay empty. */
struct DeepgramError {
  std::string code;       /* err_code / code / category, e.g. "INVALID_AUTH" */
  std::string message;    /* err_msg / description / message */
  std::string details;    /* details, when sent */
  std::string request_id; /* request_id, when sent */
  Tolerated tolerated;    /* live Error frames only */
};

/* A live frame whose type this code does not know (Deepgram adds types over
 * time). Not an error: callers log it and carry on. */
struct UnknownMessage {
  std::string type;
  Tolerated tolerated; /* always empty: nothing of it is read */
};

/* One live server frame. Results frames become a Transcript (whose
 * `tolerated` holds the frame's notes). */
using LiveMessage = std::variant<Transcript, DeepgramMetadata, UtteranceEnd, SpeechStarted,
                                 DeepgramError, UnknownMessage>;

/* The notes of whichever message `m` holds. */
const Tolerated &tolerated_notes(const LiveMessage &m) noexcept;

/* A pre-recorded utterance (utterances=true): a Transcript for its span plus
 * who spoke it. transcript.start/duration come from the utterance's start/end;
 * transcript.speaker equals speaker. */
struct Utterance {
  Transcript transcript;
  int speaker = -1;
  std::string id;
};

/* The pre-recorded response: one final Transcript per audio channel. */
struct PrerecordedResponse {
  DeepgramMetadata metadata;
  std::vector<Transcript> channels;
  /* Empty unless utterances=true, and empty (with a note) when any of them
   * cannot be read: the channels carry every word anyway. */
  std::vector<Utterance> utterances;
  /* Every note of the response (the Transcripts inside carry none). A
   * missing or unreadable metadata.duration is taken from the last word end. */
  Tolerated tolerated;
};

/* Parse one live text frame (at most kMaxLiveFrameBytes). */
Expected<LiveMessage, ParseError> parse_live_message(std::string_view frame) noexcept;

/* Parse a pre-recorded 200 response body (at most kMaxResponseBytes). */
Expected<PrerecordedResponse, ParseError>
parse_prerecorded_response(std::string_view body) noexcept;

/* Parse a non-2xx body: {err_code, err_msg, request_id}, {category, message,
 * details, request_id}, a JSON string, or plain text (capped, as message). */
Expected<DeepgramError, ParseError> parse_error_body(std::string_view body) noexcept;

/* Cheap pre-pass: the deepest object/array nesting in `json`, ignoring
 * brackets inside strings. Stops counting once past `limit`. A '/' or '\''
 * outside strings (json-glib's comments and single-quoted strings, which
 * could hide brackets from this count) gives limit + 1. */
int json_nesting_depth(std::string_view json, int limit = kMaxJsonDepth) noexcept;

} // namespace dgf
