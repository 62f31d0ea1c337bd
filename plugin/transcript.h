/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transcript model shared by the Deepgram JSON mapping and the elements.
 *
 * Plain C++: times here are in seconds relative to the STT session that
 * produced them (a live connection's first audio, or a batch chunk's first
 * sample). The elements map them to pipeline timestamps; see timed_transcript
 * in stt_protocol.h for that form.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgf {

struct Word {
  std::string word;            /* normalised, e.g. "america" */
  std::string punctuated_word; /* as shown, e.g. "America."; equals word when absent */
  double start = 0.0;          /* seconds, session-relative */
  double end = 0.0;            /* seconds, session-relative */
  double confidence = 0.0;
  int speaker = -1;                 /* diarization speaker, -1 when not diarized */
  std::string language;             /* the word's language (language=multi), "" when not sent */
  double speaker_confidence = -1.0; /* 0..1 (pre-recorded diarize), -1 when not sent */
};

struct Transcript {
  std::string text; /* the first alternative's transcript */
  std::vector<Word> words;
  double confidence = 0.0;
  double start = 0.0;    /* seconds, session-relative */
  double duration = 0.0; /* seconds */
  bool is_final = true;
  bool speech_final = false;
  bool from_finalize = false;
  int channel = 0;       /* channel_index[0] */
  int channel_count = 1; /* channel_index[1] */
  std::string request_id;
  /* The channel's detected_language (detect_language=true), else the first
   * (most used) of the alternative's languages (language=multi); "" when
   * neither was sent. */
  std::string language;
  int speaker = -1; /* a pre-recorded utterance's speaker (diarize), -1 otherwise */
  /* Live Results: what reading the frame let pass (deepgram_json.h). */
  std::vector<std::string> tolerated;
};

} // namespace dgf
