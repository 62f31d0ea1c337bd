/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "live_messages.h"

#include "json_out.h"

namespace dgemu {

std::string join_transcript(const std::vector<EngineWord> &words, bool punctuated) {
  std::string t;
  for (const auto &w : words) {
    const std::string &s = punctuated && !w.punctuated_word.empty() ? w.punctuated_word : w.word;
    if (s.empty())
      continue;
    if (!t.empty())
      t += ' ';
    t += s;
  }
  return t;
}

double mean_confidence(const std::vector<EngineWord> &words) {
  if (words.empty())
    return 0.0;
  double sum = 0;
  for (const auto &w : words)
    sum += w.confidence;
  return sum / static_cast<double>(words.size());
}

void add_word_json(JsonBuilder *b, const EngineWord &w, const ListenOptions &opts) {
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "word");
  json_builder_add_string_value(b, w.word.c_str());
  json_builder_set_member_name(b, "start");
  json_builder_add_double_value(b, round_us(w.start));
  json_builder_set_member_name(b, "end");
  json_builder_add_double_value(b, round_us(w.end));
  json_builder_set_member_name(b, "confidence");
  json_builder_add_double_value(b, round_us(w.confidence));
  if (opts.punctuated()) {
    json_builder_set_member_name(b, "punctuated_word");
    json_builder_add_string_value(b,
                                  (w.punctuated_word.empty() ? w.word : w.punctuated_word).c_str());
  }
  if (opts.diarize) {
    json_builder_set_member_name(b, "speaker");
    json_builder_add_int_value(b, 0);
  }
  json_builder_end_object(b);
}

static void add_channel_pair(JsonBuilder *b, int channel, int channels) {
  json_builder_begin_array(b);
  json_builder_add_int_value(b, channel);
  json_builder_add_int_value(b, channels);
  json_builder_end_array(b);
}

std::string results_json(const ResultsFrame &r, const ListenOptions &opts,
                         const std::string &request_id, const ModelInfo &model) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "Results");
  json_builder_set_member_name(b, "channel_index");
  add_channel_pair(b, r.channel, r.channels);
  json_builder_set_member_name(b, "duration");
  json_builder_add_double_value(b, round_us(r.duration));
  json_builder_set_member_name(b, "start");
  json_builder_add_double_value(b, round_us(r.start));
  json_builder_set_member_name(b, "is_final");
  json_builder_add_boolean_value(b, r.is_final);
  json_builder_set_member_name(b, "speech_final");
  json_builder_add_boolean_value(b, r.speech_final);
  json_builder_set_member_name(b, "from_finalize");
  json_builder_add_boolean_value(b, r.from_finalize);
  json_builder_set_member_name(b, "channel");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "alternatives");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "transcript");
  json_builder_add_string_value(b, join_transcript(r.words, opts.punctuated()).c_str());
  json_builder_set_member_name(b, "confidence");
  json_builder_add_double_value(b, round_us(mean_confidence(r.words)));
  json_builder_set_member_name(b, "words");
  json_builder_begin_array(b);
  for (const auto &w : r.words)
    add_word_json(b, w, opts);
  json_builder_end_array(b);
  json_builder_end_object(b);
  json_builder_end_array(b);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "metadata");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "request_id");
  json_builder_add_string_value(b, request_id.c_str());
  json_builder_set_member_name(b, "model_info");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, model.name.c_str());
  json_builder_set_member_name(b, "version");
  json_builder_add_string_value(b, model.version.c_str());
  json_builder_set_member_name(b, "arch");
  json_builder_add_string_value(b, model.arch.c_str());
  json_builder_end_object(b);
  json_builder_set_member_name(b, "model_uuid");
  json_builder_add_string_value(b, model.uuid.c_str());
  json_builder_end_object(b);
  json_builder_end_object(b);
  return finish_json(b);
}

std::string metadata_json(const std::string &request_id, const std::string &sha256,
                          const std::string &created, double duration, int channels,
                          const ModelInfo &model) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "Metadata");
  json_builder_set_member_name(b, "transaction_key");
  json_builder_add_string_value(b, "deprecated");
  json_builder_set_member_name(b, "request_id");
  json_builder_add_string_value(b, request_id.c_str());
  json_builder_set_member_name(b, "sha256");
  json_builder_add_string_value(b, sha256.c_str());
  json_builder_set_member_name(b, "created");
  json_builder_add_string_value(b, created.c_str());
  json_builder_set_member_name(b, "duration");
  json_builder_add_double_value(b, round_us(duration));
  json_builder_set_member_name(b, "channels");
  json_builder_add_int_value(b, channels);
  add_models_metadata(b, model);
  json_builder_end_object(b);
  return finish_json(b);
}

std::string speech_started_json(int channel, int channels, double timestamp) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "SpeechStarted");
  json_builder_set_member_name(b, "channel");
  add_channel_pair(b, channel, channels);
  json_builder_set_member_name(b, "timestamp");
  json_builder_add_double_value(b, round_us(timestamp));
  json_builder_end_object(b);
  return finish_json(b);
}

std::string utterance_end_json(int channel, int channels, double last_word_end) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "UtteranceEnd");
  json_builder_set_member_name(b, "channel");
  add_channel_pair(b, channel, channels);
  json_builder_set_member_name(b, "last_word_end");
  json_builder_add_double_value(b, round_us(last_word_end));
  json_builder_end_object(b);
  return finish_json(b);
}

static void add_unknown_member(JsonBuilder *b) {
  /* Nested, so a client must skip a whole unknown subtree. */
  json_builder_set_member_name(b, "x_dg_emulator");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "fault");
  json_builder_add_string_value(b, "odd_shapes");
  json_builder_set_member_name(b, "list");
  json_builder_begin_array(b);
  json_builder_add_int_value(b, 1);
  json_builder_add_null_value(b);
  json_builder_end_array(b);
  json_builder_end_object(b);
}

static std::string odd_event_json(const char *type, int channel, const char *time_name,
                                  double time) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, type);
  json_builder_set_member_name(b, "channel");
  json_builder_begin_array(b);
  json_builder_add_int_value(b, channel);
  json_builder_end_array(b);
  json_builder_set_member_name(b, time_name);
  json_builder_add_double_value(b, round_us(time));
  add_unknown_member(b);
  json_builder_end_object(b);
  return finish_json(b);
}

std::string odd_speech_started_json(int channel, double timestamp) {
  return odd_event_json("SpeechStarted", channel, "timestamp", timestamp);
}

std::string odd_utterance_end_json(int channel, double last_word_end) {
  return odd_event_json("UtteranceEnd", channel, "last_word_end", last_word_end);
}

std::string thin_metadata_json(const std::string &request_id) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "Metadata");
  json_builder_set_member_name(b, "request_id");
  json_builder_add_string_value(b, request_id.c_str());
  add_unknown_member(b);
  json_builder_end_object(b);
  return finish_json(b);
}

} // namespace dgemu
