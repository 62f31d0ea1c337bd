/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <initializer_list>
#include <string>

#include "deepgram_json.h"

#ifndef DGF_FIXTURE_DIR
#error "DGF_FIXTURE_DIR must point at tests/fixtures/deepgram"
#endif

using namespace dgf;

static std::string fixture(const char *name) {
  gchar *path = g_build_filename(DGF_FIXTURE_DIR, name, nullptr);
  gchar *contents = nullptr;
  gsize length = 0;
  GError *error = nullptr;
  g_file_get_contents(path, &contents, &length, &error);
  g_assert_no_error(error);
  std::string out(contents, length);
  g_free(contents);
  g_free(path);
  return out;
}

template <typename T> static const T &live_as(const Expected<LiveMessage, ParseError> &r) {
  if (!r.ok())
    g_error("unexpected parse error: %s", r.error().message.c_str());
  const T *v = std::get_if<T>(&r.value());
  g_assert_nonnull(v);
  return *v;
}

/* The input must be rejected, and the message must say why. */
static void assert_live_rejected(const std::string &input, const char *reason) {
  auto r = parse_live_message(input);
  if (r.ok())
    g_error("accepted: %.200s", input.c_str());
  if (r.error().message.find(reason) == std::string::npos)
    g_error("error \"%s\" does not mention \"%s\"", r.error().message.c_str(), reason);
}

static void assert_near(double a, double b) {
  g_assert_cmpfloat_with_epsilon(a, b, 1e-9);
}

static PrerecordedResponse prerecorded_ok(const std::string &input) {
  auto r = parse_prerecorded_response(input);
  if (!r.ok())
    g_error("rejected (%s): %.300s", r.error().message.c_str(), input.c_str());
  return std::move(r.value());
}

static std::string joined(const Tolerated &notes) {
  std::string out;
  for (const std::string &n : notes)
    out += (out.empty() ? "" : " | ") + n;
  return out;
}

/* Exactly these notes, in this order. */
static void assert_notes(const Tolerated &notes, std::initializer_list<const char *> expected) {
  std::string want;
  for (const char *n : expected)
    want += (want.empty() ? "" : " | ") + std::string(n);
  std::string got = joined(notes); /* g_assert_cmpstr keeps the pointer */
  g_assert_cmpstr(got.c_str(), ==, want.c_str());
}

static void test_fixture_live_results() {
  auto r = parse_live_message(fixture("live-results.json"));
  const Transcript &t = live_as<Transcript>(r);
  g_assert_cmpstr(t.text.c_str(), ==, "For the United States of America.");
  assert_near(t.confidence, 0.999);
  assert_near(t.start, 17.0);
  assert_near(t.duration, 1.66);
  g_assert_true(t.is_final);
  g_assert_true(t.speech_final);
  g_assert_false(t.from_finalize);
  g_assert_cmpint(t.channel, ==, 0);
  g_assert_cmpint(t.channel_count, ==, 1);
  g_assert_cmpstr(t.request_id.c_str(), ==, "e1985d01-...");
  g_assert_cmpuint(t.words.size(), ==, 2);
  g_assert_cmpstr(t.words[0].word.c_str(), ==, "for");
  g_assert_cmpstr(t.words[0].punctuated_word.c_str(), ==, "For");
  assert_near(t.words[0].start, 17.56);
  assert_near(t.words[0].end, 17.72);
  assert_near(t.words[0].confidence, 0.987);
  g_assert_cmpint(t.words[0].speaker, ==, -1);
  g_assert_cmpstr(t.words[1].word.c_str(), ==, "america");
  g_assert_cmpstr(t.words[1].punctuated_word.c_str(), ==, "America.");
  assert_near(t.words[1].start, 18.2);
  assert_near(t.words[1].end, 18.66);
  assert_near(t.words[1].confidence, 0.96);
  g_assert_cmpstr(t.words[1].language.c_str(), ==, "");
  assert_near(t.words[1].speaker_confidence, -1.0);
  g_assert_cmpstr(t.language.c_str(), ==, "");
  g_assert_cmpint(t.speaker, ==, -1);
  g_assert_true(t.tolerated.empty()); /* model_info, model_uuid: ignored, not odd */
}

static void test_fixture_speech_started() {
  auto r = parse_live_message(fixture("live-speech-started.json"));
  const SpeechStarted &s = live_as<SpeechStarted>(r);
  assert_near(s.timestamp, 9.54);
  g_assert_cmpint(s.channel, ==, 0);
  g_assert_cmpint(s.channel_count, ==, 1);
  g_assert_true(s.tolerated.empty());
}

static void test_fixture_utterance_end() {
  auto r = parse_live_message(fixture("live-utterance-end.json"));
  const UtteranceEnd &u = live_as<UtteranceEnd>(r);
  assert_near(u.last_word_end, 2.395);
  g_assert_cmpint(u.channel, ==, 0);
  g_assert_cmpint(u.channel_count, ==, 1);
  g_assert_true(u.tolerated.empty());
}

static void test_fixture_metadata() {
  auto r = parse_live_message(fixture("live-metadata.json"));
  const DeepgramMetadata &m = live_as<DeepgramMetadata>(r);
  g_assert_cmpstr(m.transaction_key.c_str(), ==, "deprecated");
  g_assert_cmpstr(m.request_id.c_str(), ==, "8c8e...");
  g_assert_cmpstr(m.sha256.c_str(), ==, "e3b0...");
  g_assert_cmpstr(m.created.c_str(), ==, "2024-08-29T22:37:55.202Z");
  assert_near(m.duration, 0.0);
  g_assert_cmpint(m.channels, ==, 0);
  g_assert_true(m.models.empty());
  g_assert_true(m.tolerated.empty());
}

static void test_fixture_prerecorded() {
  auto r = parse_prerecorded_response(fixture("prerecorded-response.json"));
  if (!r.ok())
    g_error("%s", r.error().message.c_str());
  const DeepgramMetadata &m = r->metadata;
  g_assert_cmpstr(m.transaction_key.c_str(), ==, "deprecated");
  g_assert_cmpstr(m.request_id.c_str(), ==, "e171...");
  g_assert_cmpstr(m.sha256.c_str(), ==, "5324...");
  g_assert_cmpstr(m.created.c_str(), ==, "2024-08-02T09:02:26.026Z");
  assert_near(m.duration, 17.566313);
  g_assert_cmpint(m.channels, ==, 1);
  g_assert_cmpuint(m.models.size(), ==, 1);
  g_assert_cmpstr(m.models[0].c_str(), ==, "30089e05-...");

  g_assert_cmpuint(r->channels.size(), ==, 1);
  const Transcript &t = r->channels[0];
  g_assert_cmpstr(t.text.c_str(), ==, "...");
  assert_near(t.confidence, 0.99);
  assert_near(t.start, 0.0);
  assert_near(t.duration, 17.566313);
  g_assert_true(t.is_final);
  g_assert_true(t.speech_final);
  g_assert_false(t.from_finalize);
  g_assert_cmpint(t.channel, ==, 0);
  g_assert_cmpint(t.channel_count, ==, 1);
  g_assert_cmpstr(t.request_id.c_str(), ==, "e171...");
  g_assert_cmpuint(t.words.size(), ==, 1);
  g_assert_cmpstr(t.words[0].word.c_str(), ==, "yep");
  g_assert_cmpstr(t.words[0].punctuated_word.c_str(), ==, "Yep.");
  assert_near(t.words[0].start, 5.52);
  assert_near(t.words[0].end, 6.02);
  assert_near(t.words[0].confidence, 0.998);

  g_assert_cmpuint(r->utterances.size(), ==, 1);
  const Utterance &u = r->utterances[0];
  g_assert_cmpstr(u.transcript.text.c_str(), ==, "Yep.");
  assert_near(u.transcript.start, 5.52);
  assert_near(u.transcript.duration, 0.5);
  assert_near(u.transcript.confidence, 0.99);
  g_assert_cmpint(u.transcript.channel, ==, 0);
  g_assert_true(u.transcript.words.empty());
  g_assert_cmpint(u.speaker, ==, 0);
  g_assert_cmpint(u.transcript.speaker, ==, 0); /* the speaker turn, in the model */
  g_assert_cmpint(t.speaker, ==, -1);
  g_assert_cmpstr(u.id.c_str(), ==, "...");
  g_assert_cmpstr(u.transcript.request_id.c_str(), ==, "e171...");
  g_assert_true(r->tolerated.empty());
  g_assert_true(t.tolerated.empty());
}

static void test_fixture_error_body() {
  auto r = parse_error_body(fixture("error-invalid-auth.json"));
  g_assert_true(r.ok());
  g_assert_cmpstr(r->code.c_str(), ==, "INVALID_AUTH");
  g_assert_cmpstr(r->message.c_str(), ==, "Invalid credentials.");
  g_assert_cmpstr(r->request_id.c_str(), ==, "...");
  g_assert_cmpstr(r->details.c_str(), ==, "");
}

/* The shape Deepgram's own JS SDK tests send: "channel":[0]. Once read as
 * malformed, which cost a reconnect and a replay from 0 every time. */
static void test_fixture_sdk_channel_array_of_1() {
  auto s = parse_live_message(fixture("live-speech-started-array-of-1.json"));
  const SpeechStarted &ss = live_as<SpeechStarted>(s);
  assert_near(ss.timestamp, 1.2);
  g_assert_cmpint(ss.channel, ==, 0);
  g_assert_cmpint(ss.channel_count, ==, 1);
  assert_notes(ss.tolerated, {"SpeechStarted: channel is an array of 1"});
  g_assert_true(&tolerated_notes(s.value()) == &ss.tolerated);

  auto u = parse_live_message(fixture("live-utterance-end-array-of-1.json"));
  const UtteranceEnd &ue = live_as<UtteranceEnd>(u);
  assert_near(ue.last_word_end, 2.5);
  g_assert_cmpint(ue.channel, ==, 0);
  g_assert_cmpint(ue.channel_count, ==, 1);
  assert_notes(ue.tolerated, {"UtteranceEnd: channel is an array of 1"});
}

static void test_fixture_from_finalize() {
  auto r = parse_live_message(fixture("live-results-from-finalize.json"));
  const Transcript &t = live_as<Transcript>(r);
  g_assert_true(t.is_final);
  g_assert_false(t.speech_final);
  g_assert_true(t.from_finalize);
  assert_near(t.start, 5.12);
  assert_near(t.duration, 0.74);
  g_assert_cmpstr(t.text.c_str(), ==, "See you tomorrow.");
  assert_near(t.confidence, 0.9804688);
  g_assert_cmpstr(t.request_id.c_str(), ==, "5d0c4a0e-2b4f-4f3c-9d53-0e1b8c6f7a21");
  g_assert_cmpuint(t.words.size(), ==, 3);
  g_assert_cmpstr(t.words[2].word.c_str(), ==, "tomorrow");
  g_assert_cmpstr(t.words[2].punctuated_word.c_str(), ==, "tomorrow.");
  assert_near(t.words[2].start, 5.52);
  assert_near(t.words[2].end, 5.86);
  assert_near(t.words[2].confidence, 0.9736328);
  g_assert_true(t.tolerated.empty());
}

static void test_fixture_multilingual_live() {
  auto r = parse_live_message(fixture("live-results-multilingual.json"));
  const Transcript &t = live_as<Transcript>(r);
  g_assert_cmpstr(t.text.c_str(), ==, "Hola, I need help con mi cuenta.");
  /* No detected_language on a live frame: the most used of "languages". */
  g_assert_cmpstr(t.language.c_str(), ==, "es");
  g_assert_true(t.speech_final);
  g_assert_false(t.from_finalize);
  g_assert_cmpuint(t.words.size(), ==, 7);
  const char *expected[] = {"es", "en", "en", "en", "es", "es", "es"};
  for (size_t i = 0; i < t.words.size(); i++)
    g_assert_cmpstr(t.words[i].language.c_str(), ==, expected[i]);
  g_assert_cmpstr(t.words[0].punctuated_word.c_str(), ==, "Hola,");
  assert_near(t.words[6].end, 14.4);
  g_assert_cmpstr(t.request_id.c_str(), ==, "a3b97c55-7f0e-4d1b-8d7c-5f2a1b9e6c40");
  g_assert_true(t.tolerated.empty());
}

static void test_fixture_diarized_live() {
  auto r = parse_live_message(fixture("live-results-diarized.json"));
  const Transcript &t = live_as<Transcript>(r);
  g_assert_cmpstr(t.text.c_str(), ==, "Thanks for calling. Hi there.");
  g_assert_cmpuint(t.words.size(), ==, 5);
  const int speakers[] = {0, 0, 0, 1, 1};
  for (size_t i = 0; i < t.words.size(); i++) {
    g_assert_cmpint(t.words[i].speaker, ==, speakers[i]);
    assert_near(t.words[i].speaker_confidence, -1.0); /* live sends none */
  }
  assert_near(t.start, 30.0);
  assert_near(t.duration, 1.92);
  g_assert_cmpint(t.speaker, ==, -1);
  g_assert_true(t.tolerated.empty());
}

static void test_fixture_metadata_models() {
  auto r = parse_live_message(fixture("live-metadata-models.json"));
  const DeepgramMetadata &m = live_as<DeepgramMetadata>(r);
  g_assert_cmpstr(m.request_id.c_str(), ==, "5d0c4a0e-2b4f-4f3c-9d53-0e1b8c6f7a21");
  g_assert_cmpstr(m.transaction_key.c_str(), ==, "deprecated");
  g_assert_cmpstr(m.sha256.c_str(), ==,
                  "1f8f1c3e0a5a9b2c7d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4");
  g_assert_cmpstr(m.created.c_str(), ==, "2025-03-14T09:26:53.589Z");
  assert_near(m.duration, 6.2);
  g_assert_cmpint(m.channels, ==, 1);
  g_assert_cmpuint(m.models.size(), ==, 1);
  g_assert_cmpstr(m.models[0].c_str(), ==, "40bd3654-e622-47c4-a111-63a61b23bfe1");
  g_assert_true(m.tolerated.empty()); /* model_info and extra: ignored, not odd */
}

static void test_fixture_prerecorded_summary_paragraphs() {
  PrerecordedResponse r = prerecorded_ok(fixture("prerecorded-summary-paragraphs.json"));
  g_assert_cmpstr(r.metadata.request_id.c_str(), ==, "cb126cd9-f72f-4336-bf62-57b3015272bc");
  g_assert_cmpstr(r.metadata.created.c_str(), ==, "2025-07-22T16:56:38.656Z");
  assert_near(r.metadata.duration, 19.097937);
  g_assert_cmpint(r.metadata.channels, ==, 1);
  g_assert_cmpuint(r.metadata.models.size(), ==, 1);
  g_assert_cmpstr(r.metadata.models[0].c_str(), ==, "3b3aabe4-608a-46ac-9585-7960a25daf1a");
  g_assert_cmpuint(r.channels.size(), ==, 1);
  const Transcript &t = r.channels[0];
  g_assert_true(g_str_has_prefix(t.text.c_str(), "We, the people of The United States, in order"));
  assert_near(t.confidence, 0.9977381);
  assert_near(t.duration, 19.097937);
  g_assert_cmpuint(t.words.size(), ==, 52);
  g_assert_cmpstr(t.words[0].word.c_str(), ==, "we");
  g_assert_cmpstr(t.words[0].punctuated_word.c_str(), ==, "We,");
  assert_near(t.words[0].start, 0.32);
  assert_near(t.words[0].end, 0.79999995);
  assert_near(t.words[0].confidence, 0.8624499);
  g_assert_cmpstr(t.words[51].punctuated_word.c_str(), ==, "America.");
  assert_near(t.words[51].end, 18.592875);
  g_assert_cmpstr(t.language.c_str(), ==, "");
  g_assert_true(r.utterances.empty());
  /* paragraphs, summary, summary_info: not read, never a note. */
  g_assert_true(r.tolerated.empty());
}

static void test_fixture_prerecorded_diarized_utterances() {
  PrerecordedResponse r = prerecorded_ok(fixture("prerecorded-diarized-utterances.json"));
  g_assert_cmpstr(r.metadata.request_id.c_str(), ==, "c2d9f1a4-6e3b-4f7a-9b8c-1d2e3f4a5b6c");
  assert_near(r.metadata.duration, 4.2);
  g_assert_cmpuint(r.channels.size(), ==, 1);
  const Transcript &t = r.channels[0];
  g_assert_cmpstr(t.text.c_str(), ==, "Good morning. Morning, how can I help?");
  g_assert_cmpstr(t.language.c_str(), ==, "en"); /* detected_language */
  g_assert_cmpint(t.speaker, ==, -1);
  assert_near(t.duration, 4.2);
  g_assert_cmpuint(t.words.size(), ==, 7);
  g_assert_cmpint(t.words[1].speaker, ==, 0);
  assert_near(t.words[1].speaker_confidence, 0.85546875);
  g_assert_cmpint(t.words[2].speaker, ==, 1);
  assert_near(t.words[2].speaker_confidence, 0.6401367);
  g_assert_cmpstr(t.words[6].punctuated_word.c_str(), ==, "help?");
  g_assert_cmpstr(t.words[6].language.c_str(), ==, "");

  g_assert_cmpuint(r.utterances.size(), ==, 2);
  const Utterance &a = r.utterances[0], &b = r.utterances[1];
  g_assert_cmpint(a.speaker, ==, 0);
  g_assert_cmpint(a.transcript.speaker, ==, 0);
  g_assert_cmpstr(a.transcript.text.c_str(), ==, "Good morning.");
  assert_near(a.transcript.start, 0.24);
  assert_near(a.transcript.duration, 0.72);
  g_assert_cmpstr(a.id.c_str(), ==, "6b7e8f90-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
  g_assert_cmpint(b.speaker, ==, 1);
  g_assert_cmpint(b.transcript.speaker, ==, 1);
  g_assert_cmpstr(b.transcript.text.c_str(), ==, "Morning, how can I help?");
  assert_near(b.transcript.start, 1.76);
  assert_near(b.transcript.duration, 1.28);
  g_assert_cmpuint(b.transcript.words.size(), ==, 5);
  assert_near(b.transcript.words[4].speaker_confidence, 0.6401367);
  g_assert_cmpstr(b.transcript.request_id.c_str(), ==, "c2d9f1a4-6e3b-4f7a-9b8c-1d2e3f4a5b6c");
  g_assert_true(r.tolerated.empty());
}

static void test_fixture_prerecorded_multilingual() {
  PrerecordedResponse r = prerecorded_ok(fixture("prerecorded-multilingual.json"));
  const Transcript &t = r.channels[0];
  g_assert_cmpstr(t.text.c_str(), ==, "Merci, see you demain.");
  g_assert_cmpstr(t.language.c_str(), ==, "fr");
  const char *expected[] = {"fr", "en", "en", "fr"};
  g_assert_cmpuint(t.words.size(), ==, 4);
  for (size_t i = 0; i < t.words.size(); i++)
    g_assert_cmpstr(t.words[i].language.c_str(), ==, expected[i]);
  assert_near(t.duration, 2.4);
  g_assert_true(r.tolerated.empty());
}

static void test_fixture_error_bodies() {
  struct Case {
    const char *file, *code, *message, *details, *request_id;
  } cases[] = {
      {"error-invalid-auth.json", "INVALID_AUTH", "Invalid credentials.", "", "..."},
      {"error-bad-request-options.json", "Bad Request", "Invalid query string.", "",
       "69a209af-bf0a-449a-8dca-50772d4c834d"},
      {"error-payment-required.json", "ASR_PAYMENT_REQUIRED",
       "Project does not have enough credits for an ASR request and does not have an overage "
       "agreement.",
       "", "uuid"},
      {"error-insufficient-permissions.json", "INSUFFICIENT_PERMISSIONS",
       "Project does not have access to the requested model.", "", "uuid"},
      {"error-project-not-found.json", "PROJECT_NOT_FOUND", "Project not found.", "", ""},
      {"error-uuid-parsing.txt", "",
       "UUID parsing failed: invalid character: expected an optional prefix of `urn:uuid:` "
       "followed by [0-9a-zA-Z], found `p` at 1",
       "", ""},
      {"error-invalid-json.json", "INVALID_JSON", "Invalid JSON submitted.",
       "Json deserialize error: missing field `xxx` at line 7 column 1", "uuid"},
  };
  for (const Case &c : cases) {
    auto r = parse_error_body(fixture(c.file));
    if (!r.ok())
      g_error("%s: %s", c.file, r.error().message.c_str());
    g_assert_cmpstr(r->code.c_str(), ==, c.code);
    g_assert_cmpstr(r->message.c_str(), ==, c.message);
    g_assert_cmpstr(r->details.c_str(), ==, c.details);
    g_assert_cmpstr(r->request_id.c_str(), ==, c.request_id);
    /* A 200 carrying one of them is no transcript. */
    g_assert_false(parse_prerecorded_response(fixture(c.file)).ok());
  }
}

/* Every fixture is read by the parser its name says and has a test above. */
static void test_every_fixture_is_read() {
  const char *tested[] = {
      "error-bad-request-options.json",
      "error-insufficient-permissions.json",
      "error-invalid-auth.json",
      "error-invalid-json.json",
      "error-payment-required.json",
      "error-project-not-found.json",
      "error-uuid-parsing.txt",
      "live-metadata-models.json",
      "live-metadata.json",
      "live-results-diarized.json",
      "live-results-from-finalize.json",
      "live-results-multilingual.json",
      "live-results.json",
      "live-speech-started-array-of-1.json",
      "live-speech-started.json",
      "live-utterance-end-array-of-1.json",
      "live-utterance-end.json",
      "prerecorded-diarized-utterances.json",
      "prerecorded-multilingual.json",
      "prerecorded-response.json",
      "prerecorded-summary-paragraphs.json",
  };
  GDir *dir = g_dir_open(DGF_FIXTURE_DIR, 0, nullptr);
  g_assert_nonnull(dir);
  size_t seen = 0;
  while (const char *name = g_dir_read_name(dir)) {
    if (g_str_has_prefix(name, "README"))
      continue;
    bool known = false;
    for (const char *t : tested)
      known = known || g_str_equal(t, name);
    if (!known)
      g_error("fixture %s has no test in test_deepgram_json.cpp", name);
    seen++;
    std::string body = fixture(name);
    if (g_str_has_prefix(name, "live-")) {
      auto r = parse_live_message(body);
      if (!r.ok())
        g_error("%s: %s", name, r.error().message.c_str());
    } else if (g_str_has_prefix(name, "prerecorded-")) {
      prerecorded_ok(body);
    } else {
      g_assert_true(g_str_has_prefix(name, "error-"));
      g_assert_true(parse_error_body(body).ok());
    }
  }
  g_dir_close(dir);
  g_assert_cmpuint(seen, ==, G_N_ELEMENTS(tested));
}

static void test_diarized_interim_second_channel() {
  auto r = parse_live_message(
      R"({"type":"Results","channel_index":[1,2],"duration":0.5,"start":3,"is_final":false,
          "channel":{"alternatives":[{"transcript":"hi there","confidence":1,
            "words":[{"word":"hi","start":3,"end":3.2,"confidence":0.9,"speaker":2},
                     {"word":"there","start":3.2,"end":3.5,"confidence":0.8,"speaker":0}]}]}})");
  const Transcript &t = live_as<Transcript>(r);
  g_assert_false(t.is_final);
  g_assert_false(t.speech_final);
  g_assert_cmpint(t.channel, ==, 1);
  g_assert_cmpint(t.channel_count, ==, 2);
  assert_near(t.start, 3.0);
  g_assert_cmpstr(t.request_id.c_str(), ==, "");
  g_assert_cmpint(t.words[0].speaker, ==, 2);
  g_assert_cmpint(t.words[1].speaker, ==, 0);
  /* no punctuated_word: falls back to the word */
  g_assert_cmpstr(t.words[1].punctuated_word.c_str(), ==, "there");
}

static void test_empty_interim_and_finalize() {
  auto empty = parse_live_message(
      R"({"type":"Results","channel_index":[0,1],"duration":1.0,"start":4.0,"is_final":false,
          "speech_final":false,"channel":{"alternatives":[{"transcript":"","confidence":0,
          "words":[]}]},"metadata":{"request_id":"r"}})");
  const Transcript &e = live_as<Transcript>(empty);
  g_assert_cmpstr(e.text.c_str(), ==, "");
  g_assert_true(e.words.empty());
  g_assert_false(e.is_final);

  auto fin = parse_live_message(
      R"({"type":"Results","channel_index":[0,1],"duration":0.2,"start":5,"is_final":true,
          "from_finalize":true,"channel":{"alternatives":[]}})");
  const Transcript &f = live_as<Transcript>(fin);
  g_assert_true(f.is_final);
  g_assert_false(f.speech_final); /* absent: not an endpoint */
  g_assert_true(f.from_finalize);
  g_assert_cmpstr(f.text.c_str(), ==, "");
}

static void test_error_frames() {
  auto modern =
      parse_live_message(R"({"type":"Error","code":"INTERNAL_SERVER_ERROR","description":"boom"})");
  const DeepgramError &m = live_as<DeepgramError>(modern);
  g_assert_cmpstr(m.code.c_str(), ==, "INTERNAL_SERVER_ERROR");
  g_assert_cmpstr(m.message.c_str(), ==, "boom");

  /* An error body sent as a frame, without a type. */
  auto legacy = parse_live_message(R"({"err_code":"DATA-0000","err_msg":"bad audio"})");
  const DeepgramError &l = live_as<DeepgramError>(legacy);
  g_assert_cmpstr(l.code.c_str(), ==, "DATA-0000");
  g_assert_cmpstr(l.message.c_str(), ==, "bad audio");

  /* An Error frame that says nothing still says "error": not a parse
   * error (that would cost a reconnect), a message with a default text. */
  auto bare = parse_live_message(R"({"type":"Error"})");
  const DeepgramError &b = live_as<DeepgramError>(bare);
  g_assert_cmpstr(b.code.c_str(), ==, "");
  g_assert_cmpstr(b.message.c_str(), ==,
                  "Deepgram reported an error without a code or a description");
  assert_notes(b.tolerated, {"Error: neither a code nor a message"});
  g_assert_true(m.tolerated.empty() && l.tolerated.empty());
}

static void test_unknown_type_is_not_an_error() {
  auto r = parse_live_message(R"({"type":"Warning","description":"new feature"})");
  g_assert_cmpstr(live_as<UnknownMessage>(r).type.c_str(), ==, "Warning");
}

static void test_wrong_types_rejected() {
  const char *channel = R"("channel":{"alternatives":[{"transcript":"a","words":[]}]})";
  auto results = [&](const std::string &fields) {
    return "{\"type\":\"Results\"," + fields + "," + channel + "}";
  };
  assert_live_rejected(results(R"("channel_index":[0,1],"duration":1,"start":"abc")"),
                       "start: expected a number");
  assert_live_rejected(results(R"("channel_index":[0,1],"start":1)"), "duration: missing");
  assert_live_rejected(results(R"("channel_index":[0],"duration":1,"start":1)"),
                       "channel_index: expected [channel, channel count]");
  assert_live_rejected(results(R"("channel_index":[0,1,2],"duration":1,"start":1)"),
                       "channel_index: expected [channel, channel count]");
  assert_live_rejected(results(R"("channel_index":[1,1],"duration":1,"start":1)"),
                       "channel index is not below");
  assert_live_rejected(results(R"("channel_index":[0.5,1],"duration":1,"start":1)"),
                       "channel_index[0]: expected an integer");
  assert_live_rejected(results(R"("channel_index":"0,1","duration":1,"start":1)"),
                       "channel_index: expected an array");
  assert_live_rejected(results(R"("channel_index":[0,1],"duration":1,"start":-0.5)"),
                       "start: time is negative");
  assert_live_rejected(results(R"("channel_index":[0,1],"duration":1e300,"start":0)"),
                       "duration: time is implausibly large");
  assert_live_rejected(results(R"("channel_index":[0,1],"duration":1,"start":0,"is_final":"yes")"),
                       "is_final: expected true or false");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":"a","words":{"word":"a"}}]}})",
                       "channel.alternatives[0].words: expected an array");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":"a","words":[{"word":"a","start":2,"end":1}]}]}})",
                       "words[0].end: word ends before it starts");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":"a","words":[{"word":7,"start":0,"end":1}]}]}})",
                       "words[0].word: expected a string");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":"a","words":[
        {"word":"a","start":0,"end":1,"speaker":-1}]}]}})",
                       "words[0].speaker: integer out of range");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0})",
                       "channel: missing");
  /* Messages without a transcript are read with defaults, and noted. */
  auto no_time = parse_live_message(R"({"type":"SpeechStarted","channel":[0,1],"timestamp":null})");
  assert_near(live_as<SpeechStarted>(no_time).timestamp, 0.0);
  assert_notes(live_as<SpeechStarted>(no_time).tolerated,
               {"SpeechStarted: timestamp missing, taken as 0"});
  auto bad_pair =
      parse_live_message(R"({"type":"UtteranceEnd","channel":[2,1],"last_word_end":1})");
  const UtteranceEnd &ue = live_as<UtteranceEnd>(bad_pair);
  g_assert_cmpint(ue.channel, ==, 0);
  g_assert_cmpint(ue.channel_count, ==, 1);
  assert_near(ue.last_word_end, 1.0);
  assert_notes(ue.tolerated, {"UtteranceEnd: channel unreadable (channel index is not below the "
                              "channel count), taken as 0"});
  auto channels = parse_live_message(R"({"type":"Metadata","request_id":"r","channels":"one"})");
  g_assert_cmpint(live_as<DeepgramMetadata>(channels).channels, ==, 0);
  g_assert_cmpstr(live_as<DeepgramMetadata>(channels).request_id.c_str(), ==, "r");
  assert_notes(live_as<DeepgramMetadata>(channels).tolerated,
               {"Metadata: duration missing, taken as 0",
                "Metadata: channels unreadable (expected a number), taken as 0"});
  auto sha = parse_live_message(R"({"type":"Metadata","request_id":"r","sha256":5,"duration":1})");
  g_assert_cmpstr(live_as<DeepgramMetadata>(sha).sha256.c_str(), ==, "");
  assert_notes(live_as<DeepgramMetadata>(sha).tolerated,
               {"Metadata: sha256 unreadable (expected a string), ignored"});
  assert_live_rejected(R"({"channel":[0,1]})", "type: missing");
  assert_live_rejected(R"({"type":5})", "type: expected a string");
  assert_live_rejected(R"([{"type":"Results"}])", "frame: expected an object");
  assert_live_rejected(R"("Results")", "frame: expected an object");
}

static void test_malformed_rejected() {
  assert_live_rejected("", "empty input");
  assert_live_rejected("   ", "invalid JSON");
  assert_live_rejected("{", "invalid JSON");
  assert_live_rejected("{\"type\":\"Results\",}", "invalid JSON");
  assert_live_rejected("{\"type\":\"Metadata\",\"duration\":NaN}", "invalid JSON");
  assert_live_rejected("{\"type\":\"Metadata\"} trailing", "invalid JSON");
  assert_live_rejected(std::string("{\"type\":\"Metadata\",\"request_id\":\"a\0b\"}", 36),
                       "not valid UTF-8");
  assert_live_rejected("{\"type\":\"Metadata\",\"request_id\":\"\xff\xfe\"}", "not valid UTF-8");

  /* Every truncation of a real frame is an error, never a crash or a
   * half-filled transcript. */
  std::string full = fixture("live-results.json");
  while (!full.empty() && g_ascii_isspace(full.back()))
    full.pop_back();
  for (size_t n = 0; n < full.size(); n++)
    g_assert_false(parse_live_message(std::string_view(full).substr(0, n)).ok());
  g_assert_true(parse_live_message(full).ok());
}

static void test_huge_numbers_rejected() {
  /* 1e400 overflows a double: either json-glib refuses it or it is
   * infinite, which a transcript refuses and a SpeechStarted notes. */
  auto inf = parse_live_message(R"({"type":"SpeechStarted","channel":[0,1],"timestamp":1e400})");
  if (inf.ok()) {
    assert_near(live_as<SpeechStarted>(inf).timestamp, 0.0);
    assert_notes(live_as<SpeechStarted>(inf).tolerated,
                 {"SpeechStarted: timestamp unreadable (number is not finite), taken as 0"});
  }
  g_assert_false(parse_live_message(R"({"type":"Results","channel_index":[0,1],"duration":1,
      "start":1e400,"channel":{"alternatives":[]}})")
                     .ok());
  auto wide = parse_live_message(
      R"({"type":"SpeechStarted","channel":[0,99999999999999999999],"timestamp":1})");
  g_assert_cmpint(live_as<SpeechStarted>(wide).channel_count, ==, 1);
  g_assert_cmpuint(live_as<SpeechStarted>(wide).tolerated.size(), ==, 1);
  auto many = parse_live_message(R"({"type":"SpeechStarted","channel":[0,1000],"timestamp":1})");
  assert_notes(live_as<SpeechStarted>(many).tolerated,
               {"SpeechStarted: channel unreadable (channel[]: integer out of range), taken as 0"});
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1000],"duration":1,"start":0,
      "channel":{"alternatives":[]}})",
                       "integer out of range");
}

static void test_size_cap() {
  std::string big = "{\"type\":\"Metadata\",\"request_id\":\"";
  big.append(kMaxLiveFrameBytes, 'a');
  big += "\"}";
  assert_live_rejected(big, "byte limit");

  /* Just under the cap parses. */
  std::string ok = "{\"type\":\"Metadata\",\"request_id\":\"";
  ok.append(kMaxLiveFrameBytes - 40, 'a');
  ok += "\"}";
  g_assert_cmpuint(ok.size(), <=, kMaxLiveFrameBytes);
  auto r = parse_live_message(ok);
  g_assert_cmpuint(live_as<DeepgramMetadata>(r).request_id.size(), ==, kMaxLiveFrameBytes - 40);
}

static std::string nested(int depth, const char *inner) {
  std::string s;
  for (int i = 0; i < depth; i++)
    s += "{\"a\":[";
  s += inner;
  for (int i = 0; i < depth; i++)
    s += "]}";
  return s;
}

static void test_depth_guard() {
  g_assert_cmpint(json_nesting_depth("{}"), ==, 1);
  g_assert_cmpint(json_nesting_depth("[[1],[[2]]]"), ==, 3);
  g_assert_cmpint(json_nesting_depth(R"({"a":"[[[[\"{{{{"})"), ==, 1);
  g_assert_cmpint(json_nesting_depth("\"\\\\\"[[]]"), ==, 2); /* escaped backslash ends */

  /* 32 pairs = 64 levels: allowed, so the error is about the shape. */
  assert_live_rejected(nested(32, "1"), "type: missing");
  assert_live_rejected(nested(33, "1"), "nested deeper than 64");
  /* Deep enough to blow a recursive parser's stack: refused before parsing. */
  std::string deep(1000000, '[');
  assert_live_rejected(deep, "nested deeper than 64");
  /* Brackets in strings are not nesting. */
  std::string in_string = "{\"type\":\"Warning\",\"x\":\"" + std::string(200, '[') + "\"}";
  auto r = parse_live_message(in_string);
  g_assert_cmpstr(live_as<UnknownMessage>(r).type.c_str(), ==, "Warning");
}

static void test_prerecorded_multichannel() {
  auto r = parse_prerecorded_response(
      R"({"metadata":{"request_id":"q","duration":2.5,"channels":2},
          "results":{"channels":[
            {"alternatives":[{"transcript":"left","confidence":0.5,
              "words":[{"word":"left","start":0.1,"end":0.4,"confidence":0.5,"speaker":1}]}]},
            {"alternatives":[{"transcript":"","words":[]}]}],
          "utterances":[{"start":0.1,"end":0.4,"channel":1,"transcript":"left","speaker":1,
            "words":[{"word":"left","start":0.1,"end":0.4}]}]}})");
  if (!r.ok())
    g_error("%s", r.error().message.c_str());
  g_assert_cmpuint(r->channels.size(), ==, 2);
  g_assert_cmpint(r->channels[1].channel, ==, 1);
  g_assert_cmpint(r->channels[1].channel_count, ==, 2);
  g_assert_cmpstr(r->channels[0].text.c_str(), ==, "left");
  g_assert_cmpint(r->channels[0].words[0].speaker, ==, 1);
  assert_near(r->channels[1].duration, 2.5);
  g_assert_cmpint(r->utterances[0].transcript.channel, ==, 1);
  g_assert_cmpint(r->utterances[0].transcript.channel_count, ==, 2);
  g_assert_cmpstr(r->utterances[0].transcript.words[0].punctuated_word.c_str(), ==, "left");
  g_assert_cmpint(r->utterances[0].transcript.speaker, ==, 1);
  g_assert_true(r->tolerated.empty());
}

static void assert_prerecorded_rejected(const char *input, const char *reason) {
  auto r = parse_prerecorded_response(input);
  if (r.ok())
    g_error("accepted: %s", input);
  if (r.error().message.find(reason) == std::string::npos)
    g_error("error \"%s\" does not mention \"%s\"", r.error().message.c_str(), reason);
}

static void test_prerecorded_rejected() {
  assert_prerecorded_rejected(R"({"metadata":{},"results":{"channels":{}}})",
                              "results.channels: expected an array");
  assert_prerecorded_rejected(
      R"({"metadata":{},"results":{"channels":[{"alternatives":[{"words":[{"word":"a","start":"abc","end":1}]}]}]}})",
      "results.channels[0].alternatives[0].words[0].start: expected a number");
  /* An error body sent with 200 has no results to read. */
  assert_prerecorded_rejected(R"({"err_code":"INVALID_AUTH"})", "results: missing");

  /* What is not the transcript is read with defaults, and noted. */
  PrerecordedResponse no_meta = prerecorded_ok(R"({"results":{"channels":[]}})");
  assert_notes(no_meta.tolerated, {"response: metadata missing"});
  PrerecordedResponse bad_utt = prerecorded_ok(
      R"({"metadata":{"duration":1},"results":{"channels":[],"utterances":[{"start":0,"end":1,"channel":0}]}})");
  g_assert_true(bad_utt.utterances.empty());
  assert_notes(bad_utt.tolerated, {"response: results.utterances unreadable "
                                   "(results.utterances[].channel: no such channel in "
                                   "results.channels), ignored"});
  PrerecordedResponse negative = prerecorded_ok(
      R"({"metadata":{"duration":-1},"results":{"channels":[{"alternatives":[{"transcript":"a",
          "words":[{"word":"a","start":0.5,"end":1.25}]}]}]}})");
  assert_near(negative.metadata.duration, 1.25);
  assert_near(negative.channels[0].duration, 1.25);
  assert_notes(negative.tolerated, {"response: metadata.duration unreadable (time is negative), "
                                    "taken from the words"});
}

/* Every "channel" shape a message without a transcript may carry. */
static void test_tolerant_channel_shapes() {
  struct Case {
    const char *channel; /* JSON, or nullptr for absent */
    int index, count;
    const char *note; /* nullptr: none */
  } cases[] = {
      {"[0,1]", 0, 1, nullptr},
      {"[1,2]", 1, 2, nullptr},
      {"[0]", 0, 1, "SpeechStarted: channel is an array of 1"},
      {"[3]", 3, 4, "SpeechStarted: channel is an array of 1"},
      {"0", 0, 1, "SpeechStarted: channel is a number, not an array"},
      {"2", 2, 3, "SpeechStarted: channel is a number, not an array"},
      {nullptr, 0, 1, "SpeechStarted: channel missing, taken as 0"},
      {"null", 0, 1, "SpeechStarted: channel missing, taken as 0"},
      {"\"0\"", 0, 1, "SpeechStarted: channel unreadable (expected an array), taken as 0"},
      {"{}", 0, 1, "SpeechStarted: channel unreadable (expected an array), taken as 0"},
      {"[]", 0, 1,
       "SpeechStarted: channel unreadable (expected [channel, channel count]), taken as 0"},
      {"[0,1,2]", 0, 1,
       "SpeechStarted: channel unreadable (expected [channel, channel count]), taken as 0"},
      {"[0.5]", 0, 1, "SpeechStarted: channel unreadable (expected an integer), taken as 0"},
      {"[-1]", 0, 1, "SpeechStarted: channel unreadable (integer out of range), taken as 0"},
      {"[\"a\",\"b\"]", 0, 1,
       "SpeechStarted: channel unreadable (channel[]: expected a number), taken as 0"},
      {"[[0]]", 0, 1, "SpeechStarted: channel unreadable (expected a number), taken as 0"},
      {"true", 0, 1, "SpeechStarted: channel unreadable (expected an array), taken as 0"},
  };
  for (const Case &c : cases) {
    std::string frame = "{\"type\":\"SpeechStarted\",\"timestamp\":4.5";
    if (c.channel)
      frame += std::string(",\"channel\":") + c.channel;
    frame += ",\"unknown\":{\"x\":[1,{\"y\":null}]}}";
    auto r = parse_live_message(frame);
    const SpeechStarted &ss = live_as<SpeechStarted>(r);
    g_test_message("%s -> %d/%d %s", frame.c_str(), ss.channel, ss.channel_count,
                   joined(ss.tolerated).c_str());
    assert_near(ss.timestamp, 4.5);
    g_assert_cmpint(ss.channel, ==, c.index);
    g_assert_cmpint(ss.channel_count, ==, c.count);
    if (c.note)
      assert_notes(ss.tolerated, {c.note});
    else
      g_assert_true(ss.tolerated.empty());
  }
}

static void test_tolerant_non_transcript_messages() {
  /* Missing and odd times, unknown fields, nothing at all. */
  auto bare = parse_live_message(R"({"type":"UtteranceEnd"})");
  assert_notes(live_as<UtteranceEnd>(bare).tolerated,
               {"UtteranceEnd: last_word_end missing, taken as 0",
                "UtteranceEnd: channel missing, taken as 0"});
  auto odd = parse_live_message(
      R"({"type":"UtteranceEnd","channel":[0,1],"last_word_end":"2.5","extra":[1,2]})");
  assert_notes(live_as<UtteranceEnd>(odd).tolerated,
               {"UtteranceEnd: last_word_end unreadable (expected a number), taken as 0"});
  auto negative = parse_live_message(R"({"type":"SpeechStarted","channel":[0,1],"timestamp":-3})");
  assert_notes(live_as<SpeechStarted>(negative).tolerated,
               {"SpeechStarted: timestamp unreadable (time is negative), taken as 0"});

  /* A Metadata with every field of another type still is a Metadata. */
  auto meta = parse_live_message(
      R"({"type":"Metadata","transaction_key":1,"request_id":["r"],"sha256":{},"created":false,
          "duration":"long","channels":-1,"models":"m","model_info":7,"new_field":"x"})");
  const DeepgramMetadata &m = live_as<DeepgramMetadata>(meta);
  g_assert_cmpstr(m.request_id.c_str(), ==, "");
  assert_near(m.duration, 0.0);
  g_assert_cmpint(m.channels, ==, 0);
  g_assert_true(m.models.empty());
  assert_notes(m.tolerated, {"Metadata: request_id unreadable (expected a string), ignored",
                             "Metadata: transaction_key unreadable (expected a string), ignored",
                             "Metadata: sha256 unreadable (expected a string), ignored",
                             "Metadata: created unreadable (expected a string), ignored",
                             "Metadata: duration unreadable (expected a number), taken as 0",
                             "Metadata: channels unreadable (integer out of range), taken as 0",
                             "Metadata: models unreadable (expected an array), ignored"});
  auto models = parse_live_message(R"({"type":"Metadata","duration":1,"models":["a",5,"b",null]})");
  g_assert_cmpuint(live_as<DeepgramMetadata>(models).models.size(), ==, 2);
  assert_notes(live_as<DeepgramMetadata>(models).tolerated,
               {"Metadata: models[] unreadable (expected a string), ignored"});
  /* An octal escape that decodes to a byte that is not UTF-8: only a
   * transcript field refuses it. */
  auto latin1 = parse_live_message(R"({"type":"Metadata","duration":1,"sha256":"caf\351"})");
  g_assert_cmpstr(live_as<DeepgramMetadata>(latin1).sha256.c_str(), ==, "");
  g_assert_cmpuint(live_as<DeepgramMetadata>(latin1).tolerated.size(), ==, 1);
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":"caf\351","words":[]}]}})",
                       "not valid UTF-8");

  /* What is not a Deepgram message at all stays an error. */
  assert_live_rejected("[]", "frame: expected an object");
  assert_live_rejected(R"({"no":"type"})", "type: missing");
}

/* A Results frame: the transcript is strict, the caption extras are not. */
static void test_tolerant_results_extras() {
  auto r = parse_live_message(
      R"({"type":"Results","channel_index":[0,1],"duration":1,"start":2,"is_final":true,
          "speech_final":"yes","from_finalize":1,"entities":{"odd":true},"new_field":[],
          "metadata":{"request_id":7,"model_info":"x"},
          "channel":{"detected_language":5,"alternatives":[{"transcript":"a b","confidence":1,
            "languages":"en",
            "words":[{"word":"a","start":2,"end":2.5,"language":1,"speaker_confidence":2},
                     {"word":"b","start":2.5,"end":3,"language":{},"speaker_confidence":"x",
                      "sentiment":"positive"}]}]}})");
  const Transcript &t = live_as<Transcript>(r);
  g_assert_cmpstr(t.text.c_str(), ==, "a b");
  g_assert_true(t.is_final);
  g_assert_false(t.speech_final);
  g_assert_false(t.from_finalize);
  g_assert_cmpstr(t.language.c_str(), ==, "");
  g_assert_cmpstr(t.request_id.c_str(), ==, "");
  g_assert_cmpuint(t.words.size(), ==, 2);
  g_assert_cmpstr(t.words[1].language.c_str(), ==, "");
  assert_near(t.words[0].speaker_confidence, -1.0);
  /* One note per kind of oddity, not one per word. */
  assert_notes(t.tolerated,
               {"Results: speech_final unreadable (expected true or false), taken as false",
                "Results: from_finalize unreadable (expected true or false), taken as false",
                "Results: channel.detected_language unreadable (expected a string), ignored",
                "Results: channel.alternatives[].words[].language unreadable (expected a "
                "string), ignored",
                "Results: channel.alternatives[].words[].speaker_confidence unreadable (not "
                "between 0 and 1), ignored",
                "Results: channel.alternatives[].words[].speaker_confidence unreadable "
                "(expected a number), ignored",
                "Results: channel.alternatives[].languages unreadable (expected an array), "
                "ignored",
                "Results: metadata.request_id unreadable (expected a string), ignored"});
  g_assert_true(&tolerated_notes(r.value()) == &t.tolerated);

  auto meta = parse_live_message(R"({"type":"Results","channel_index":[0,1],"duration":1,
      "start":0,"metadata":[],"channel":{"detected_language":"de","alternatives":[
        {"transcript":"","languages":["fr"],"words":[]}]}})");
  g_assert_cmpstr(live_as<Transcript>(meta).language.c_str(), ==, "de"); /* detected first */
  assert_notes(live_as<Transcript>(meta).tolerated,
               {"Results: metadata is not an object, ignored"});

  /* The notes are capped. */
  std::string words;
  for (int i = 0; i < 40; i++)
    words += std::string(i ? "," : "") +
             "{\"word\":\"w\",\"start\":0,\"end\":0,\"language\":" + std::to_string(i) + "}";
  std::string many = R"({"type":"Metadata","request_id":1,"sha256":1,"created":1,
      "transaction_key":1,"duration":"x","channels":"x","models":[1,2]})";
  g_assert_cmpuint(live_as<DeepgramMetadata>(parse_live_message(many)).tolerated.size(), ==, 7);
  auto capped = parse_live_message(
      R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,"channel":{"alternatives":[{"transcript":"","words":[)" +
      words + "]}]}}");
  g_assert_cmpuint(live_as<Transcript>(capped).tolerated.size(), ==, 1);
  g_assert_cmpuint(live_as<Transcript>(capped).words.size(), ==, 40);

  /* What makes a transcript unreadable is still an error. */
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":[{"transcript":5}]}})",
                       "transcript: expected a string");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":{"alternatives":{}}})",
                       "channel.alternatives: expected an array");
  assert_live_rejected(R"({"type":"Results","channel_index":[0,1],"duration":1,"start":0,
      "channel":[]})",
                       "channel: expected an object");
}

static void test_tolerant_prerecorded_sections() {
  /* Sections nobody asked for, in shapes nobody expects: never read. */
  PrerecordedResponse r = prerecorded_ok(
      R"({"metadata":{"request_id":"q","duration":3,"channels":1,"summary_info":"x",
            "sentiment_info":[],"topics_info":7,"intents_info":null,"tags":{"a":1},"warnings":5},
          "results":{"channels":[{"search":"x","detected_language":"nl","language_confidence":"hi",
            "alternatives":[{"transcript":"hallo","paragraphs":[1,2],"entities":"none",
              "summaries":{"x":[]},"topics":7,
              "words":[{"word":"hallo","start":0.5,"end":1}]}]}],
            "summary":[1],"topics":"t","intents":{"segments":"s"},"sentiments":false,
            "utterances":7}})");
  g_assert_cmpstr(r.channels[0].text.c_str(), ==, "hallo");
  g_assert_cmpstr(r.channels[0].language.c_str(), ==, "nl");
  assert_near(r.channels[0].duration, 3.0);
  g_assert_true(r.utterances.empty());
  assert_notes(r.tolerated,
               {"response: results.utterances unreadable (expected an array), ignored"});

  /* One unreadable utterance drops them all (no gaps in speaker turns);
   * the channels still carry every word. */
  PrerecordedResponse u = prerecorded_ok(
      R"({"metadata":{"duration":2},"results":{"channels":[{"alternatives":[{"transcript":"a b",
          "words":[{"word":"a","start":0,"end":1},{"word":"b","start":1,"end":2}]}]}],
          "utterances":[{"start":0,"end":1,"channel":0,"transcript":"a","speaker":0,
                         "words":[{"word":"a","start":0,"end":1,"language":3}]},
                        {"start":1,"end":"2","channel":0,"transcript":"b","speaker":1}]}})");
  g_assert_true(u.utterances.empty());
  g_assert_cmpuint(u.channels[0].words.size(), ==, 2);
  /* The dropped utterances' own notes are not reported. */
  assert_notes(u.tolerated, {"response: results.utterances unreadable "
                             "(results.utterances[].end: expected a number), ignored"});

  /* metadata of another shape, duration from the words. */
  PrerecordedResponse m = prerecorded_ok(
      R"({"metadata":"none","results":{"channels":[{"alternatives":[{"transcript":"x",
          "words":[{"word":"x","start":1,"end":1.5}]}]},{"alternatives":[{"transcript":"y",
          "words":[{"word":"y","start":2,"end":2.75}]}]}]}})");
  assert_near(m.metadata.duration, 2.75);
  assert_near(m.channels[0].duration, 2.75);
  assert_near(m.channels[1].duration, 2.75);
  assert_notes(m.tolerated, {"response: metadata is not an object, ignored"});
  PrerecordedResponse d = prerecorded_ok(
      R"({"metadata":{"request_id":"r","models":["a",{}]},"results":{"channels":[]}})");
  assert_near(d.metadata.duration, 0.0);
  g_assert_cmpuint(d.metadata.models.size(), ==, 1);
  assert_notes(d.tolerated, {"response: metadata.duration missing, taken from the words",
                             "response: metadata.models[] unreadable (expected a string), "
                             "ignored"});
  g_assert_cmpstr(d.metadata.request_id.c_str(), ==, "r");

  /* Words of utterances carry their extras; notes from them count. */
  PrerecordedResponse w = prerecorded_ok(
      R"({"metadata":{"duration":1},"results":{"channels":[{"alternatives":[]}],
          "utterances":[{"start":0,"end":1,"channel":0,"transcript":"a","speaker":2,
            "words":[{"word":"a","start":0,"end":1,"speaker":2,"speaker_confidence":0.5,
                      "language":"en"},{"word":"b","start":0,"end":1,"language":false}]}]}})");
  g_assert_cmpuint(w.utterances.size(), ==, 1);
  g_assert_cmpint(w.utterances[0].transcript.speaker, ==, 2);
  assert_near(w.utterances[0].transcript.words[0].speaker_confidence, 0.5);
  g_assert_cmpstr(w.utterances[0].transcript.words[0].language.c_str(), ==, "en");
  assert_notes(w.tolerated, {"response: results.utterances[].words[].language unreadable "
                             "(expected a string), ignored"});
}

static void test_error_body_shapes() {
  auto modern = parse_error_body(
      R"({"category":"INVALID_QUERY_PARAMETER","message":"bad option","details":"model x","request_id":"r1"})");
  g_assert_true(modern.ok());
  g_assert_cmpstr(modern->code.c_str(), ==, "INVALID_QUERY_PARAMETER");
  g_assert_cmpstr(modern->message.c_str(), ==, "bad option");
  g_assert_cmpstr(modern->details.c_str(), ==, "model x");
  g_assert_cmpstr(modern->request_id.c_str(), ==, "r1");

  auto bad_request = parse_error_body(
      R"({"err_code":"Bad Request","err_msg":"failed to process audio: corrupt or unsupported data","request_id":"r2"})");
  g_assert_cmpstr(bad_request->code.c_str(), ==, "Bad Request");
  g_assert_cmpstr(bad_request->message.c_str(), ==,
                  "failed to process audio: corrupt or unsupported data");

  auto as_string = parse_error_body("\"Too many requests\"");
  g_assert_cmpstr(as_string->message.c_str(), ==, "Too many requests");
  g_assert_cmpstr(as_string->code.c_str(), ==, "");

  auto plain = parse_error_body("  502 Bad Gateway\n");
  g_assert_cmpstr(plain->message.c_str(), ==, "502 Bad Gateway");

  std::string long_text(5000, 'x');
  g_assert_cmpuint(parse_error_body(long_text)->message.size(), ==, 1024);

  /* Wrong-typed fields are skipped, not fatal, as long as something is left. */
  auto mixed = parse_error_body(R"({"err_code":42,"err_msg":"still useful"})");
  g_assert_cmpstr(mixed->code.c_str(), ==, "");
  g_assert_cmpstr(mixed->message.c_str(), ==, "still useful");

  g_assert_false(parse_error_body("").ok());
  g_assert_false(parse_error_body("{}").ok()); /* the HTTP status says more */
  g_assert_false(parse_error_body("{\"err_code\":\"X\"").ok());
  g_assert_false(parse_error_body("[1,2]").ok());
  g_assert_false(parse_error_body(std::string(100, '[')).ok());
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/deepgram-json/fixture/live-results", test_fixture_live_results);
  g_test_add_func("/deepgram-json/fixture/speech-started", test_fixture_speech_started);
  g_test_add_func("/deepgram-json/fixture/utterance-end", test_fixture_utterance_end);
  g_test_add_func("/deepgram-json/fixture/metadata", test_fixture_metadata);
  g_test_add_func("/deepgram-json/fixture/prerecorded", test_fixture_prerecorded);
  g_test_add_func("/deepgram-json/fixture/error-body", test_fixture_error_body);
  g_test_add_func("/deepgram-json/fixture/sdk-channel-array-of-1",
                  test_fixture_sdk_channel_array_of_1);
  g_test_add_func("/deepgram-json/fixture/from-finalize", test_fixture_from_finalize);
  g_test_add_func("/deepgram-json/fixture/multilingual-live", test_fixture_multilingual_live);
  g_test_add_func("/deepgram-json/fixture/diarized-live", test_fixture_diarized_live);
  g_test_add_func("/deepgram-json/fixture/metadata-models", test_fixture_metadata_models);
  g_test_add_func("/deepgram-json/fixture/prerecorded-summary-paragraphs",
                  test_fixture_prerecorded_summary_paragraphs);
  g_test_add_func("/deepgram-json/fixture/prerecorded-diarized-utterances",
                  test_fixture_prerecorded_diarized_utterances);
  g_test_add_func("/deepgram-json/fixture/prerecorded-multilingual",
                  test_fixture_prerecorded_multilingual);
  g_test_add_func("/deepgram-json/fixture/error-bodies", test_fixture_error_bodies);
  g_test_add_func("/deepgram-json/fixture/every-fixture", test_every_fixture_is_read);
  g_test_add_func("/deepgram-json/live/diarized-interim", test_diarized_interim_second_channel);
  g_test_add_func("/deepgram-json/live/empty-and-finalize", test_empty_interim_and_finalize);
  g_test_add_func("/deepgram-json/live/error-frames", test_error_frames);
  g_test_add_func("/deepgram-json/live/unknown-type", test_unknown_type_is_not_an_error);
  g_test_add_func("/deepgram-json/hostile/wrong-types", test_wrong_types_rejected);
  g_test_add_func("/deepgram-json/hostile/malformed", test_malformed_rejected);
  g_test_add_func("/deepgram-json/hostile/huge-numbers", test_huge_numbers_rejected);
  g_test_add_func("/deepgram-json/hostile/size-cap", test_size_cap);
  g_test_add_func("/deepgram-json/hostile/depth-guard", test_depth_guard);
  g_test_add_func("/deepgram-json/prerecorded/multichannel", test_prerecorded_multichannel);
  g_test_add_func("/deepgram-json/prerecorded/rejected", test_prerecorded_rejected);
  g_test_add_func("/deepgram-json/tolerant/channel-shapes", test_tolerant_channel_shapes);
  g_test_add_func("/deepgram-json/tolerant/non-transcript", test_tolerant_non_transcript_messages);
  g_test_add_func("/deepgram-json/tolerant/results-extras", test_tolerant_results_extras);
  g_test_add_func("/deepgram-json/tolerant/prerecorded-sections",
                  test_tolerant_prerecorded_sections);
  g_test_add_func("/deepgram-json/error-body/shapes", test_error_body_shapes);
  return g_test_run();
}
