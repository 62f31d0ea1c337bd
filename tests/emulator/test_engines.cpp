/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator engines: the sequence engine's exact timing and finality, the
 * engine registry, and the resampler. Pocketsphinx: test_pocketsphinx_engine.cpp. */
#include <glib.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine.h"
#include "resampler.h"
#include "sequence_audio.h"

using namespace dgemu;

namespace {

std::unique_ptr<Recognizer> sequence_recognizer(int rate) {
  std::string error;
  std::unique_ptr<Engine> engine = make_engine("sequence", &error);
  g_assert_nonnull(engine.get());
  std::string name = engine->name();
  g_assert_cmpstr(name.c_str(), ==, "sequence");
  std::unique_ptr<Recognizer> r = engine->create(rate);
  g_assert_nonnull(r.get());
  return r;
}

void append(std::vector<EngineWord> *to, std::vector<EngineWord> words) {
  to->insert(to->end(), words.begin(), words.end());
}

std::string block_word(uint32_t block) {
  char text[16];
  g_snprintf(text, sizeof text, "b%06u", block);
  return text;
}

/* Feeds audio in random pieces, checking after each one that final_until
 * never goes back, never passes the audio fed, and covers every word taken. */
std::vector<EngineWord> feed_randomly(Recognizer *r, const std::vector<int16_t> &audio, int rate,
                                      unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<EngineWord> words;
  double last_until = 0;
  size_t pos = 0;
  while (pos < audio.size()) {
    size_t n =
        std::min<size_t>(std::uniform_int_distribution<size_t>(0, 2500)(rng), audio.size() - pos);
    r->feed(audio.data() + pos, n);
    pos += n;
    append(&words, r->take_final());
    double until = r->final_until();
    g_assert_cmpfloat(until, >=, last_until);
    g_assert_cmpfloat(until, <=, r->fed_seconds() + 1e-9);
    g_assert_cmpfloat(std::fabs(r->fed_seconds() - static_cast<double>(pos) / rate), <, 1e-9);
    if (!words.empty())
      g_assert_cmpfloat(words.back().end, <=, until + 1e-9);
    for (const EngineWord &w : r->interim())
      g_assert_cmpfloat(w.start, >=, until - 1e-9);
    last_until = until;
  }
  return words;
}

} // namespace

static void test_sequence_exact_times() {
  for (int rate : {8000, 16000, 44100, 48000}) {
    const uint32_t first = 500, count = 60;
    std::vector<int16_t> audio = sequence_blocks(rate, 1, first, count, sequence_pattern("ssss.."));
    std::unique_ptr<Recognizer> r = sequence_recognizer(rate);
    std::vector<EngineWord> words = feed_randomly(r.get(), audio, rate, rate);
    /* Every block's duration was fed, so all words are final without finish(). */
    g_assert_cmpuint(words.size(), ==, count);
    for (uint32_t k = 0; k < count; k++) {
      const EngineWord &w = words[k];
      std::string expected = block_word(first + k);
      g_assert_cmpstr(w.word.c_str(), ==, expected.c_str());
      g_assert_cmpstr(w.punctuated_word.c_str(), ==, w.word.c_str());
      g_assert_cmpfloat(std::fabs(w.start - k * 0.1), <=, 1.0 / rate);
      g_assert_cmpfloat(std::fabs(w.end - (k + 1) * 0.1), <=, 1.0 / rate);
      g_assert_cmpfloat(w.confidence, ==, 1.0);
    }
    g_assert_cmpfloat(std::fabs(r->final_until() - count * 0.1), <=, 1.0 / rate);
    r->finish();
    g_assert_cmpuint(r->take_final().size(), ==, 0);
    g_assert_cmpfloat(r->final_until(), ==, r->fed_seconds());
  }
}

static void test_sequence_final_only_when_elapsed() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 5);
  std::unique_ptr<Recognizer> r = sequence_recognizer(16000);
  r->feed(audio.data(), 3 * 1600 + 100); /* block 3's header seen, block not over */
  std::vector<EngineWord> words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 3);
  g_assert_cmpstr(words.back().word.c_str(), ==, "b000002");
  g_assert_cmpfloat(r->final_until(), ==, 0.3);
  std::vector<EngineWord> guess = r->interim();
  g_assert_cmpuint(guess.size(), ==, 1);
  g_assert_cmpstr(guess[0].word.c_str(), ==, "b000003");
  g_assert_cmpfloat(guess[0].start, ==, 0.3);
  g_assert_cmpuint(r->take_final().size(), ==, 0); /* handed out once */
  r->feed(audio.data() + 3 * 1600 + 100, 1500);    /* exactly the end of block 3 */
  words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 1);
  g_assert_cmpstr(words[0].word.c_str(), ==, "b000003");
  g_assert_cmpuint(r->interim().size(), ==, 0);
}

static void test_sequence_finish_mid_block() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 4);
  std::unique_ptr<Recognizer> r = sequence_recognizer(16000);
  r->feed(audio.data(), 2 * 1600 + 800);
  g_assert_cmpuint(r->take_final().size(), ==, 2);
  r->finish();
  std::vector<EngineWord> words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 1);
  g_assert_cmpstr(words[0].word.c_str(), ==, "b000002");
  g_assert_cmpfloat(words[0].end, ==, 0.25); /* clamped to the audio fed */
  g_assert_cmpfloat(r->final_until(), ==, 0.25);
  /* Audio after a finish() (Deepgram's Finalize keeps the stream open): the
   * rest of block 2 yields nothing again, block 3 comes out once. */
  r->feed(audio.data() + 2 * 1600 + 800, 800 + 1600);
  words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 1);
  g_assert_cmpstr(words[0].word.c_str(), ==, "b000003");
  g_assert_cmpfloat(words[0].start, ==, 0.3);
}

static void test_sequence_finish_splitting_header() {
  /* finish() inside block 2's header is a cut: block 2 is lost, not decoded
   * late with a start before final_until. */
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 0, 4);
  std::unique_ptr<Recognizer> r = sequence_recognizer(16000);
  r->feed(audio.data(), 2 * 1600 + 10);
  r->finish();
  g_assert_cmpuint(r->take_final().size(), ==, 2);
  double until = r->final_until();
  r->feed(audio.data() + 2 * 1600 + 10, audio.size() - (2 * 1600 + 10));
  std::vector<EngineWord> words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 1);
  g_assert_cmpstr(words[0].word.c_str(), ==, "b000003");
  g_assert_cmpfloat(words[0].start, >=, until);
}

static void test_sequence_plain_silence_becomes_final() {
  /* Audio with no blocks at all still advances final_until (to within one
   * header of the end), so acks keep flowing through long pauses. */
  std::vector<int16_t> zeros(16000, 0);
  std::unique_ptr<Recognizer> r = sequence_recognizer(16000);
  r->feed(zeros.data(), zeros.size());
  g_assert_cmpuint(r->take_final().size(), ==, 0);
  g_assert_cmpfloat(r->final_until(), ==, (16000.0 - 47) / 16000);
  r->finish();
  g_assert_cmpfloat(r->final_until(), ==, 1.0);
}

static void test_sequence_connection_starts_mid_block() {
  std::vector<int16_t> audio = sequence_blocks(16000, 1, 10, 5);
  std::unique_ptr<Recognizer> r = sequence_recognizer(16000);
  const size_t skip = 1600 + 333;
  r->feed(audio.data() + skip, audio.size() - skip);
  r->finish();
  std::vector<EngineWord> words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 3);
  g_assert_cmpstr(words[0].word.c_str(), ==, "b000012");
  g_assert_cmpfloat(std::fabs(words[0].start - (3200.0 - skip) / 16000), <, 1e-12);
}

static void test_sequence_odd_rate_still_decodes() {
  /* 11025 Hz is not a generator rate (110.25 samples per ms), but headers are
   * rate independent: words come out with the block length rounded. */
  std::vector<int16_t> audio = sequence_blocks(44100, 1, 0, 3);
  std::vector<int16_t> blocky;
  for (size_t k = 0; k < 3; k++)
    blocky.insert(blocky.end(), audio.begin() + k * 4410, audio.begin() + k * 4410 + 1103);
  std::unique_ptr<Recognizer> r = sequence_recognizer(11025);
  r->feed(blocky.data(), blocky.size());
  r->finish();
  g_assert_cmpuint(r->take_final().size(), ==, 3);
}

static void test_resampler_keeps_tone_and_length() {
  for (auto rates : {std::pair<int, int>{48000, 16000}, {44100, 16000}, {8000, 16000}}) {
    const int in_rate = rates.first, out_rate = rates.second;
    std::vector<int16_t> in(in_rate); /* one second of 1 kHz at -12 dBFS */
    for (size_t i = 0; i < in.size(); i++)
      in[i] = static_cast<int16_t>(std::lround(8192 * std::sin(2 * M_PI * 1000.0 * i / in_rate)));
    Resampler resampler(in_rate, out_rate);
    std::vector<int16_t> out;
    for (size_t pos = 0; pos < in.size(); pos += 333)
      resampler.feed(in.data() + pos, std::min<size_t>(333, in.size() - pos), &out);
    resampler.flush(&out);
    g_assert_cmpuint(out.size(), ==, static_cast<size_t>(out_rate));
    /* Away from the edges: the same tone, same phase, same level. */
    double worst = 0;
    for (size_t n = out_rate / 10; n < out.size() - out_rate / 10; n++) {
      double expect = 8192 * std::sin(2 * M_PI * 1000.0 * n / out_rate);
      worst = std::max(worst, std::fabs(out[n] - expect));
    }
    g_assert_cmpfloat(worst, <, 8192 * 0.02);
  }
}

static void test_resampler_removes_aliases() {
  /* 12 kHz at 48 kHz would fold to 4 kHz at 16 kHz; it must vanish instead. */
  std::vector<int16_t> in(48000);
  for (size_t i = 0; i < in.size(); i++)
    in[i] = static_cast<int16_t>(std::lround(8192 * std::sin(2 * M_PI * 12000.0 * i / 48000)));
  Resampler resampler(48000, 16000);
  std::vector<int16_t> out;
  resampler.feed(in.data(), in.size(), &out);
  resampler.flush(&out);
  double peak = 0;
  for (size_t n = 1600; n < out.size() - 1600; n++)
    peak = std::max(peak, std::fabs(out[n]));
  g_assert_cmpfloat(peak, <, 8192 * 0.01);
}

static void test_make_engine_errors() {
  std::string error;
  g_assert_null(make_engine("whisper", &error).get());
  g_assert_true(error.find("unknown engine") != std::string::npos);
  g_assert_null(make_engine("", nullptr).get());
  error.clear();
  std::unique_ptr<Engine> ps = make_engine("pocketsphinx", &error);
#ifdef DGEMU_HAVE_POCKETSPHINX
  g_assert_nonnull(ps.get());
  std::string ps_name = ps->name();
  g_assert_cmpstr(ps_name.c_str(), ==, "pocketsphinx");
#else
  g_assert_null(ps.get());
  g_assert_true(error.find("without libpocketsphinx") != std::string::npos);
#endif
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/engines/sequence/exact-times", test_sequence_exact_times);
  g_test_add_func("/engines/sequence/final-when-elapsed", test_sequence_final_only_when_elapsed);
  g_test_add_func("/engines/sequence/finish-mid-block", test_sequence_finish_mid_block);
  g_test_add_func("/engines/sequence/finish-in-header", test_sequence_finish_splitting_header);
  g_test_add_func("/engines/sequence/plain-silence", test_sequence_plain_silence_becomes_final);
  g_test_add_func("/engines/sequence/mid-block-start", test_sequence_connection_starts_mid_block);
  g_test_add_func("/engines/sequence/odd-rate", test_sequence_odd_rate_still_decodes);
  g_test_add_func("/engines/make-engine-errors", test_make_engine_errors);
  g_test_add_func("/engines/resampler/tone-and-length", test_resampler_keeps_tone_and_length);
  g_test_add_func("/engines/resampler/no-aliases", test_resampler_removes_aliases);
  return g_test_run();
}
