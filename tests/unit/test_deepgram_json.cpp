#include <glib.h>

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
}

static void test_fixture_speech_started() {
  auto r = parse_live_message(fixture("live-speech-started.json"));
  const SpeechStarted &s = live_as<SpeechStarted>(r);
  assert_near(s.timestamp, 9.54);
  g_assert_cmpint(s.channel, ==, 0);
  g_assert_cmpint(s.channel_count, ==, 1);
}

static void test_fixture_utterance_end() {
  auto r = parse_live_message(fixture("live-utterance-end.json"));
  const UtteranceEnd &u = live_as<UtteranceEnd>(r);
  assert_near(u.last_word_end, 2.395);
  g_assert_cmpint(u.channel, ==, 0);
  g_assert_cmpint(u.channel_count, ==, 1);
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
  g_assert_cmpstr(u.id.c_str(), ==, "...");
  g_assert_cmpstr(u.transcript.request_id.c_str(), ==, "e171...");
}

static void test_fixture_error_body() {
  auto r = parse_error_body(fixture("error-invalid-auth.json"));
  g_assert_true(r.ok());
  g_assert_cmpstr(r->code.c_str(), ==, "INVALID_AUTH");
  g_assert_cmpstr(r->message.c_str(), ==, "Invalid credentials.");
  g_assert_cmpstr(r->request_id.c_str(), ==, "...");
  g_assert_cmpstr(r->details.c_str(), ==, "");
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

  assert_live_rejected(R"({"type":"Error"})", "neither a code nor a message");
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
  assert_live_rejected(R"({"type":"SpeechStarted","channel":[0,1],"timestamp":null})",
                       "timestamp: missing");
  assert_live_rejected(R"({"type":"UtteranceEnd","channel":[2,1],"last_word_end":1})",
                       "channel: channel index is not below");
  assert_live_rejected(R"({"type":"Metadata","request_id":"r","channels":"one"})",
                       "channels: expected a number");
  assert_live_rejected(R"({"type":"Metadata","request_id":"r","sha256":5})",
                       "sha256: expected a string");
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
  /* 1e400 overflows a double: either json-glib refuses it or it is infinite. */
  g_assert_false(
      parse_live_message(R"({"type":"SpeechStarted","channel":[0,1],"timestamp":1e400})").ok());
  assert_live_rejected(
      R"({"type":"SpeechStarted","channel":[0,99999999999999999999],"timestamp":1})", "channel");
  assert_live_rejected(R"({"type":"SpeechStarted","channel":[0,1000],"timestamp":1})",
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
}

static void assert_prerecorded_rejected(const char *input, const char *reason) {
  auto r = parse_prerecorded_response(input);
  if (r.ok())
    g_error("accepted: %s", input);
  if (r.error().message.find(reason) == std::string::npos)
    g_error("error \"%s\" does not mention \"%s\"", r.error().message.c_str(), reason);
}

static void test_prerecorded_rejected() {
  assert_prerecorded_rejected(R"({"results":{"channels":[]}})", "metadata: missing");
  assert_prerecorded_rejected(R"({"metadata":{},"results":{"channels":{}}})",
                              "results.channels: expected an array");
  assert_prerecorded_rejected(
      R"({"metadata":{},"results":{"channels":[{"alternatives":[{"words":[{"word":"a","start":"abc","end":1}]}]}]}})",
      "results.channels[0].alternatives[0].words[0].start: expected a number");
  assert_prerecorded_rejected(
      R"({"metadata":{},"results":{"channels":[],"utterances":[{"start":0,"end":1,"channel":0}]}})",
      "utterances[0].channel: no such channel");
  assert_prerecorded_rejected(R"({"metadata":{"duration":-1},"results":{"channels":[]}})",
                              "metadata.duration: time is negative");
  assert_prerecorded_rejected(R"({"err_code":"INVALID_AUTH"})", "metadata: missing");
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
  g_assert_false(parse_error_body("{}").ok());
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
  g_test_add_func("/deepgram-json/error-body/shapes", test_error_body_shapes);
  return g_test_run();
}
