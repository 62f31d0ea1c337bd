/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Invariants of every successful parse of plugin/deepgram_json.h, shared by
 * the live-json, prerecorded-json and deepgram-mutations fuzz targets: values
 * inside the documented limits (times finite and in [0, kMaxSeconds], channel
 * pairs 0 <= i < n <= kMaxChannels, words ordered, speaker >= -1, speaker
 * confidence -1 or in [0, 1]), every string valid UTF-8 (transcripts leave as
 * text/x-raw utf8), and the tolerated notes bounded, distinct and non-empty.
 */
#pragma once

#include "deepgram_json.h"
#include "fuzz_common.h"

#include <cmath>
#include <set>
#include <variant>

namespace fuzz {

inline void check_time(double t) {
  FUZZ_CHECK(std::isfinite(t));
  FUZZ_CHECK(t >= 0.0 && t <= dgf::kMaxSeconds);
}

inline void check_channel(int index, int count) {
  FUZZ_CHECK(count >= 1 && count <= dgf::kMaxChannels);
  FUZZ_CHECK(index >= 0 && index < count);
}

inline void check_notes(const dgf::Tolerated &notes) {
  FUZZ_CHECK(notes.size() <= dgf::kMaxToleratedNotes);
  std::set<std::string> distinct(notes.begin(), notes.end());
  FUZZ_CHECK(distinct.size() == notes.size());
  for (const std::string &n : notes)
    FUZZ_CHECK(!n.empty() && valid_utf8(n));
}

inline void check_words(const std::vector<dgf::Word> &words) {
  for (const dgf::Word &w : words) {
    check_time(w.start);
    check_time(w.end);
    FUZZ_CHECK(w.start <= w.end);
    FUZZ_CHECK(std::isfinite(w.confidence));
    FUZZ_CHECK(w.speaker >= -1);
    FUZZ_CHECK(w.speaker_confidence == -1.0 ||
               (w.speaker_confidence >= 0.0 && w.speaker_confidence <= 1.0));
    FUZZ_CHECK(valid_utf8(w.word) && valid_utf8(w.punctuated_word) && valid_utf8(w.language));
    /* An absent punctuated_word falls back to word. */
    FUZZ_CHECK(!w.punctuated_word.empty() || w.word.empty());
  }
}

inline void check_transcript(const dgf::Transcript &t) {
  check_time(t.start);
  check_time(t.duration);
  check_channel(t.channel, t.channel_count);
  FUZZ_CHECK(std::isfinite(t.confidence));
  FUZZ_CHECK(t.speaker >= -1);
  FUZZ_CHECK(valid_utf8(t.text) && valid_utf8(t.request_id) && valid_utf8(t.language));
  check_words(t.words);
  check_notes(t.tolerated);
}

struct LiveChecker {
  void operator()(const dgf::Transcript &t) const { check_transcript(t); }
  void operator()(const dgf::DeepgramMetadata &m) const {
    check_time(m.duration);
    FUZZ_CHECK(m.channels >= 0 && m.channels <= dgf::kMaxChannels);
    FUZZ_CHECK(valid_utf8(m.request_id) && valid_utf8(m.created));
    FUZZ_CHECK(valid_utf8(m.sha256) && valid_utf8(m.transaction_key));
    for (const std::string &model : m.models)
      FUZZ_CHECK(valid_utf8(model));
  }
  void operator()(const dgf::UtteranceEnd &u) const {
    check_time(u.last_word_end);
    check_channel(u.channel, u.channel_count);
  }
  void operator()(const dgf::SpeechStarted &s) const {
    check_time(s.timestamp);
    check_channel(s.channel, s.channel_count);
  }
  void operator()(const dgf::DeepgramError &e) const {
    /* Even an Error frame that says nothing carries a message. */
    FUZZ_CHECK(!e.code.empty() || !e.message.empty());
    FUZZ_CHECK(valid_utf8(e.code) && valid_utf8(e.message));
    FUZZ_CHECK(valid_utf8(e.details) && valid_utf8(e.request_id));
  }
  void operator()(const dgf::UnknownMessage &u) const {
    FUZZ_CHECK(valid_utf8(u.type));
    FUZZ_CHECK(u.tolerated.empty());
  }
};

inline void check_live(const dgf::LiveMessage &m) {
  std::visit(LiveChecker{}, m);
  check_notes(dgf::tolerated_notes(m));
}

/* One final Transcript per channel, numbered 0..n-1 with n <= kMaxChannels,
 * covering the metadata duration; utterances name an existing channel and
 * carry their speaker; the notes are the response's, not the transcripts'. */
inline void check_response(const dgf::PrerecordedResponse &r) {
  check_time(r.metadata.duration);
  FUZZ_CHECK(r.metadata.channels >= 0 && r.metadata.channels <= dgf::kMaxChannels);
  FUZZ_CHECK(r.channels.size() <= static_cast<size_t>(dgf::kMaxChannels));
  check_notes(r.tolerated);
  FUZZ_CHECK(r.metadata.tolerated.empty());
  for (size_t i = 0; i < r.channels.size(); i++) {
    const dgf::Transcript &t = r.channels[i];
    check_transcript(t);
    FUZZ_CHECK(t.channel == static_cast<int>(i));
    FUZZ_CHECK(t.channel_count == static_cast<int>(r.channels.size()));
    FUZZ_CHECK(t.is_final && t.speech_final);
    FUZZ_CHECK(t.start == 0.0 && t.duration == r.metadata.duration);
    FUZZ_CHECK(t.request_id == r.metadata.request_id);
    FUZZ_CHECK(t.speaker == -1 && t.tolerated.empty());
  }
  for (const dgf::Utterance &u : r.utterances) {
    const dgf::Transcript &t = u.transcript;
    check_transcript(t);
    FUZZ_CHECK(t.channel_count == static_cast<int>(r.channels.size()));
    FUZZ_CHECK(u.speaker >= -1 && t.speaker == u.speaker);
    FUZZ_CHECK(valid_utf8(u.id));
    FUZZ_CHECK(t.tolerated.empty());
  }
}

} // namespace fuzz
