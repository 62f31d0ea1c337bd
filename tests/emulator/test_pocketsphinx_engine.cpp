/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pocketsphinx engine: accuracy (word error rate) and word times on
 * Debian's LibriVox test data, decoder reuse, side-by-side recognizers. */
#include <glib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "continuous_speech.h"
#include "engine.h"
#include "librivox.h"
#include "resampler.h"

using namespace dgemu;

namespace {

void append(std::vector<EngineWord> *to, std::vector<EngineWord> words) {
  to->insert(to->end(), words.begin(), words.end());
}

using librivox::Session;
using librivox::Utterance;
using librivox::word_error_rate;
const char *const kLibrivoxDir = librivox::kDir;

std::vector<Utterance> librivox_utterances() {
  return librivox::utterances();
}
Session librivox_session(const std::vector<Utterance> &utterances) {
  return librivox::session(utterances);
}

std::unique_ptr<Engine> pocketsphinx_or_skip() {
  std::string error;
  std::unique_ptr<Engine> engine = make_engine("pocketsphinx", &error);
  if (!engine) {
#ifdef DGEMU_HAVE_POCKETSPHINX
    g_error("pocketsphinx was built but does not load: %s", error.c_str());
#endif
    g_test_skip(error.c_str());
    return nullptr;
  }
  if (!g_file_test((std::string(kLibrivoxDir) + "/transcription").c_str(), G_FILE_TEST_EXISTS)) {
    g_test_skip("pocketsphinx-testdata is not installed");
    return nullptr;
  }
  return engine;
}

/* Feeds 100 ms pieces as a live connection would, checking the Recognizer
 * contract along the way: no final word starts before a final_until already
 * reported, and final_until never goes back nor passes the audio fed. */
std::vector<EngineWord> transcribe_live(Recognizer *r, const std::vector<int16_t> &audio, int rate,
                                        size_t *interim_guesses = nullptr) {
  std::vector<EngineWord> words;
  double until = 0;
  for (size_t pos = 0; pos < audio.size(); pos += rate / 10) {
    r->feed(audio.data() + pos, std::min<size_t>(rate / 10, audio.size() - pos));
    for (EngineWord &w : r->take_final()) {
      g_assert_cmpfloat(w.start, >=, until);
      words.push_back(std::move(w));
    }
    g_assert_cmpfloat(r->final_until(), >=, until);
    until = r->final_until();
    g_assert_cmpfloat(until, <=, r->fed_seconds());
    std::vector<EngineWord> guess = r->interim();
    for (const EngineWord &w : guess)
      g_assert_cmpfloat(w.start, >=, until);
    if (interim_guesses && !guess.empty())
      (*interim_guesses)++;
  }
  r->finish();
  append(&words, r->take_final());
  g_assert_cmpfloat(std::fabs(r->final_until() - r->fed_seconds()), <, 1e-9);
  return words;
}

std::vector<std::string> texts_of(const std::vector<EngineWord> &words) {
  std::vector<std::string> texts;
  for (const EngineWord &w : words)
    texts.push_back(w.word);
  return texts;
}

void assert_times_sane(const std::vector<EngineWord> &words, const Session &s, double slack) {
  double previous_end = 0;
  for (const EngineWord &w : words) {
    g_assert_cmpfloat(w.start, >=, previous_end - 1e-9); /* monotonic, no overlap */
    g_assert_cmpfloat(w.end, >=, w.start);
    g_assert_cmpfloat(w.end, <=, s.audio.size() / 16000.0);
    g_assert_cmpfloat(w.confidence, >=, 0.0);
    g_assert_cmpfloat(w.confidence, <=, 1.0);
    bool inside = false;
    for (auto span : s.spans)
      inside = inside || (w.start >= span.first - slack && w.end <= span.second + slack);
    if (!inside)
      g_error("word '%s' at %.2f-%.2f s lies outside every utterance", w.word.c_str(), w.start,
              w.end);
    previous_end = w.end;
  }
}

} // namespace

/* Measured with Debian 12's pocketsphinx 5prealpha and en-us on the five
 * files in one stream (71 reference words): 0.282, at 16 kHz and at 48 kHz
 * through the resampler. That equals the WER of the output pocketsphinx's
 * own test suite expects (test-lm.match, also 0.282): the engine loses
 * nothing to segmentation or resampling. 0.40 leaves room for other
 * pocketsphinx builds, yet fails if fillers leak through (<s>, </s>, <sil>
 * and [NOISE] made it 0.479) or utterance ends cut words. */
constexpr double kMaxWordErrorRate = 0.40;

static void test_pocketsphinx_librivox_accuracy() {
  std::unique_ptr<Engine> engine = pocketsphinx_or_skip();
  if (!engine)
    return;
  Session s = librivox_session(librivox_utterances());
  g_assert_cmpuint(s.spans.size(), ==, 5);
  std::unique_ptr<Recognizer> r = engine->create(16000);
  size_t interim_guesses = 0;
  std::vector<EngineWord> words = transcribe_live(r.get(), s.audio, 16000, &interim_guesses);
  g_assert_cmpuint(interim_guesses, >, 50); /* interim Results while people speak */
  double wer = word_error_rate(s.reference, texts_of(words));
  g_test_message("pocketsphinx 16 kHz WER %.3f over %zu words", wer, s.reference.size());
  g_assert_cmpfloat(wer, <, kMaxWordErrorRate);
  assert_times_sane(words, s, 0.3);
  /* One sentence per utterance, as punctuate=true gives. */
  g_assert_true(g_ascii_isupper(words.front().punctuated_word[0]));
  g_assert_cmpint(words.back().punctuated_word.back(), ==, '.');
}

static void test_pocketsphinx_resampled_input() {
  std::unique_ptr<Engine> engine = pocketsphinx_or_skip();
  if (!engine)
    return;
  std::vector<Utterance> utterances = librivox_utterances();
  Session s = librivox_session({utterances[0], utterances[3]});
  Resampler up(16000, 48000);
  std::vector<int16_t> audio48;
  up.feed(s.audio.data(), s.audio.size(), &audio48);
  up.flush(&audio48);
  std::unique_ptr<Recognizer> r = engine->create(48000);
  std::vector<EngineWord> words = transcribe_live(r.get(), audio48, 48000);
  double wer = word_error_rate(s.reference, texts_of(words));
  g_test_message("pocketsphinx 48 kHz WER %.3f", wer);
  g_assert_cmpfloat(wer, <, kMaxWordErrorRate);
  assert_times_sane(words, s, 0.3);
}

static void test_pocketsphinx_reused_decoder_is_deterministic() {
  std::unique_ptr<Engine> engine = pocketsphinx_or_skip();
  if (!engine)
    return;
  std::vector<Utterance> utterances = librivox_utterances();
  Session s = librivox_session({utterances[1]});
  std::vector<std::string> first, second;
  {
    std::unique_ptr<Recognizer> r = engine->create(16000);
    first = texts_of(transcribe_live(r.get(), s.audio, 16000));
  }
  {
    std::unique_ptr<Recognizer> r = engine->create(16000); /* the same decoder, reused */
    second = texts_of(transcribe_live(r.get(), s.audio, 16000));
  }
  g_assert_cmpuint(first.size(), >, 3);
  g_assert_true(first == second);
}

static void test_pocketsphinx_two_recognizers_at_once() {
  /* Two channels of a multichannel stream decode side by side, each as if
   * it were alone. */
  std::unique_ptr<Engine> engine = pocketsphinx_or_skip();
  if (!engine)
    return;
  std::vector<Utterance> utterances = librivox_utterances();
  const std::vector<int16_t> &left = utterances[1].audio, &right = utterances[3].audio;
  std::vector<std::string> alone;
  {
    std::unique_ptr<Recognizer> r = engine->create(16000);
    alone = texts_of(transcribe_live(r.get(), left, 16000));
  }
  std::unique_ptr<Recognizer> a = engine->create(16000);
  std::unique_ptr<Recognizer> b = engine->create(16000);
  std::vector<EngineWord> wa, wb;
  for (size_t pos = 0; pos < std::max(left.size(), right.size()); pos += 1600) {
    if (pos < left.size())
      a->feed(left.data() + pos, std::min<size_t>(1600, left.size() - pos));
    if (pos < right.size())
      b->feed(right.data() + pos, std::min<size_t>(1600, right.size() - pos));
    append(&wa, a->take_final());
    append(&wb, b->take_final());
  }
  a->finish();
  b->finish();
  append(&wa, a->take_final());
  append(&wb, b->take_final());
  g_assert_true(texts_of(wa) == alone);
  g_assert_cmpfloat(word_error_rate(utterances[3].reference, texts_of(wb)), <, kMaxWordErrorRate);
}

/* Deepgram sends finals every few seconds while people keep talking; a
 * client's stall timer (10 s) must never see a healthy stream go quiet. The
 * five clips back to back without their pauses (~23 s) are one long
 * utterance: final_until must advance at least every 4 s of audio, and the
 * words made final along the way must be neither split, repeated nor lost. */
static void test_pocketsphinx_finals_during_continuous_speech() {
  std::unique_ptr<Engine> engine = pocketsphinx_or_skip();
  if (!engine)
    return;
  emutest::ContinuousSpeech speech = emutest::continuous_librivox();
  const std::vector<int16_t> &audio = speech.audio;
  const double seconds = audio.size() / 16000.0;
  g_assert_cmpfloat(seconds, >=, 20.0);

  std::unique_ptr<Recognizer> r = engine->create(16000);
  std::vector<EngineWord> words;
  double until = 0, advanced_at = 0, largest_gap = 0;
  size_t advances = 0;
  for (size_t pos = 0; pos < audio.size(); pos += 1600) {
    r->feed(audio.data() + pos, std::min<size_t>(1600, audio.size() - pos));
    for (EngineWord &w : r->take_final()) {
      g_assert_cmpfloat(w.start, >=, until);
      words.push_back(std::move(w));
    }
    if (r->final_until() > until) {
      largest_gap = std::max(largest_gap, r->fed_seconds() - advanced_at);
      advanced_at = r->fed_seconds();
      until = r->final_until();
      advances++;
    }
    g_assert_cmpfloat(until, <=, r->fed_seconds());
    for (const EngineWord &w : r->interim())
      g_assert_cmpfloat(w.start, >=, until);
  }
  largest_gap = std::max(largest_gap, r->fed_seconds() - advanced_at);
  r->finish();
  append(&words, r->take_final());

  double wer = word_error_rate(speech.reference, texts_of(words));
  g_test_message("continuous %.1f s: %zu advances of final_until, largest gap %.2f s, WER %.3f",
                 seconds, advances, largest_gap, wer);
  g_assert_cmpfloat(largest_gap, <=, 4.0);
  /* No word twice. A word made final early and found again later would
   * overlap it, or be squeezed to nothing at final_until (its audio is
   * final), or follow itself (the reference never repeats a word). */
  for (size_t i = 1; i < speech.reference.size(); i++)
    g_assert_true(speech.reference[i] != speech.reference[i - 1]);
  for (size_t i = 0; i < words.size(); i++) {
    const EngineWord &b = words[i];
    if (b.end <= b.start)
      g_error("'%s' at %.2f has no audio", b.word.c_str(), b.start);
    if (i == 0)
      continue;
    const EngineWord &a = words[i - 1];
    if (b.start < a.end - 1e-9 || a.word == b.word)
      g_error("'%s' %.2f-%.2f then '%s' %.2f-%.2f", a.word.c_str(), a.start, a.end, b.word.c_str(),
              b.start, b.end);
  }
  g_assert_cmpfloat(wer, <, kMaxWordErrorRate);
}

static void test_word_error_rate_helper() {
  std::vector<std::string> ref = {"a", "b", "c", "d"};
  g_assert_cmpfloat(word_error_rate(ref, ref), ==, 0.0);
  g_assert_cmpfloat(word_error_rate(ref, {"a", "x", "c", "d"}), ==, 0.25);
  g_assert_cmpfloat(word_error_rate(ref, {"a", "c", "d"}), ==, 0.25);
  g_assert_cmpfloat(word_error_rate(ref, {"a", "b", "b", "c", "d"}), ==, 0.25);
  g_assert_cmpfloat(word_error_rate(ref, {}), ==, 1.0);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/pocketsphinx/wer-helper", test_word_error_rate_helper);
  g_test_add_func("/pocketsphinx/librivox-accuracy", test_pocketsphinx_librivox_accuracy);
  g_test_add_func("/pocketsphinx/resampled-48k", test_pocketsphinx_resampled_input);
  g_test_add_func("/pocketsphinx/reuse-deterministic",
                  test_pocketsphinx_reused_decoder_is_deterministic);
  g_test_add_func("/pocketsphinx/two-at-once", test_pocketsphinx_two_recognizers_at_once);
  g_test_add_func("/pocketsphinx/continuous-speech-finals",
                  test_pocketsphinx_finals_during_continuous_speech);
  return g_test_run();
}
