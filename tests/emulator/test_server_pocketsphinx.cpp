/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator with the pocketsphinx engine: real speech (Debian's
 * pocketsphinx-testdata) through the live and pre-recorded APIs. Skipped
 * when the engine or the test data is not installed. */
#include <glib.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>

#include "continuous_speech.h"
#include "emu_test_client.h"
#include "emulator.h"
#include "librivox.h"
#include "wav_reader.h"

using emutest::WsClient;

namespace {

const char kWav[] =
    "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
/* Reference: "he was not an ill disposed young man". */
const char *kExpectWords[] = {"was", "not", "young", "man"};

std::unique_ptr<dgemu::Emulator> start_or_skip() {
  if (!g_file_test(kWav, G_FILE_TEST_EXISTS)) {
    g_test_skip("pocketsphinx-testdata is not installed");
    return nullptr;
  }
  dgemu::Options o;
  o.engine = "pocketsphinx";
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err)) {
    g_test_skip(("pocketsphinx engine unavailable: " + err).c_str());
    return nullptr;
  }
  return emu;
}

std::string read_file(const char *path) {
  gchar *data = nullptr;
  gsize len = 0;
  g_assert_true(g_file_get_contents(path, &data, &len, nullptr));
  std::string s(data, len);
  g_free(data);
  return s;
}

void expect_words(const std::string &transcript) {
  for (const char *w : kExpectWords)
    if (transcript.find(w) == std::string::npos)
      g_error("'%s' not in transcript '%s'", w, transcript.c_str());
}

void test_batch() {
  auto emu = start_or_skip();
  if (!emu)
    return;
  auto r = emutest::http("POST", emu->http_url() + "/v1/listen?punctuate=true",
                         {{"Authorization", "Token k"}}, read_file(kWav), "audio/wav");
  g_assert_cmpint(r.status, ==, 200);
  JsonObject *results = json_object_get_object_member(r.obj(), "results");
  JsonObject *ch =
      json_array_get_object_element(json_object_get_array_member(results, "channels"), 0);
  JsonObject *alt =
      json_array_get_object_element(json_object_get_array_member(ch, "alternatives"), 0);
  std::string transcript = emutest::str(alt, "transcript");
  g_test_message("batch: %s", transcript.c_str());
  expect_words(transcript);
  double last_end = 0;
  for (auto &w : emutest::words_of(alt)) {
    g_assert_cmpfloat(w.start, >=, last_end - 1e-6);
    g_assert_cmpfloat(w.end, >=, w.start);
    last_end = w.end;
  }
  g_assert_cmpfloat(last_end, <=, 3.0);
}

void test_live() {
  auto emu = start_or_skip();
  if (!emu)
    return;
  std::string wav = read_file(kWav);
  dgemu::PcmAudio pcm;
  std::string err;
  g_assert_true(
      dgemu::decode_wav(reinterpret_cast<const uint8_t *>(wav.data()), wav.size(), &pcm, &err));
  WsClient c;
  g_assert_true(c.connect(emu->ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000&"
                                          "interim_results=true&utterance_end_ms=1000",
                          {{"Authorization", "Token k"}}));
  for (size_t pos = 0; pos < pcm.samples.size(); pos += 1600)
    c.send_audio(pcm.samples.data() + pos, std::min<size_t>(1600, pcm.samples.size() - pos));
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed(60));
  g_assert_cmpint(c.close_code(), ==, 1000);
  std::string transcript;
  double cursor = 0;
  for (const auto *f : c.finals()) {
    JsonObject *o = f->obj();
    g_assert_cmpfloat(std::fabs(emutest::num(o, "start") - cursor), <, 2e-6);
    cursor = emutest::num(o, "start") + emutest::num(o, "duration");
    std::string t = emutest::str(emutest::alternative(o), "transcript");
    if (!t.empty())
      transcript += (transcript.empty() ? "" : " ") + t;
  }
  g_test_message("live: %s", transcript.c_str());
  expect_words(transcript);
  g_assert_cmpfloat(std::fabs(cursor - pcm.seconds()), <, 2e-6);
}

/* ~23 s of unbroken speech: is_final Results come every few seconds, as
 * Deepgram sends them, and not only at a pause (the endpoints, where the
 * voice-activity detector hears one), so a client's stall timer (10 s)
 * never fires on a healthy stream. Interim Results (every 0.5 s of
 * audio) tell how much audio the server had when each final went out. */
void test_live_continuous_speech() {
  auto emu = start_or_skip();
  if (!emu)
    return;
  emutest::ContinuousSpeech speech = emutest::continuous_librivox();
  const double seconds = speech.audio.size() / 16000.0;
  WsClient c;
  g_assert_true(c.connect(emu->ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000&"
                                          "interim_results=true",
                          {{"Authorization", "Token k"}}));
  for (size_t pos = 0; pos < speech.audio.size(); pos += 1600)
    c.send_audio(speech.audio.data() + pos, std::min<size_t>(1600, speech.audio.size() - pos));
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed(120));
  g_assert_cmpint(c.close_code(), ==, 1000);

  double heard = 0, last_final_at = 0, largest_gap = 0, cursor = 0;
  size_t finals = 0, speech_finals = 0;
  std::string transcript;
  for (const auto &f : c.frames()) {
    if (f.type() != "Results")
      continue;
    JsonObject *o = f.obj();
    double end = emutest::num(o, "start") + emutest::num(o, "duration");
    if (!json_object_get_boolean_member(o, "is_final")) {
      heard = std::max(heard, end); /* an interim covers up to the audio received */
      continue;
    }
    g_assert_cmpfloat(std::fabs(emutest::num(o, "start") - cursor), <, 2e-6);
    cursor = end;
    std::string t = emutest::str(emutest::alternative(o), "transcript");
    if (!t.empty())
      transcript += (transcript.empty() ? "" : " ") + t;
    if (std::fabs(end - seconds) < 1e-3)
      continue; /* CloseStream's flush */
    finals++;
    if (json_object_get_boolean_member(o, "speech_final"))
      speech_finals++;
    largest_gap = std::max(largest_gap, heard - last_final_at);
    last_final_at = heard;
  }
  largest_gap = std::max(largest_gap, seconds - last_final_at);
  g_assert_cmpfloat(std::fabs(cursor - seconds), <, 2e-6);

  std::vector<std::string> words;
  std::istringstream in(transcript);
  for (std::string w; in >> w;)
    words.push_back(w);
  double wer = librivox::word_error_rate(speech.reference, words);
  g_test_message("live, %.1f s unbroken: %zu finals before CloseStream (%zu at endpoints), "
                 "largest gap %.2f s of audio, WER %.3f: %s",
                 seconds, finals, speech_finals, largest_gap, wer, transcript.c_str());
  /* Interims come every 0.5 s: the gap is known to within that. */
  g_assert_cmpfloat(largest_gap, <=, 4.0);
  /* Read speech pauses between phrases: the detector hears some of them. */
  g_assert_cmpuint(speech_finals, >=, 1);
  g_assert_cmpfloat(wer, <, 0.40);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/pocketsphinx/batch", test_batch);
  g_test_add_func("/server/pocketsphinx/live", test_live);
  g_test_add_func("/server/pocketsphinx/live-continuous-speech", test_live_continuous_speech);
  return g_test_run();
}
