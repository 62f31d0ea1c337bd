/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink transcribes a real recording: a LibriVox clip from
 * pocketsphinx-testdata through filesrc ! wavparse ! audioconvert !
 * audioresample ! dgbatchsink, against dg-emulator's pocketsphinx engine,
 * with chunks short enough that the clip is cut at its pauses.
 */
#include "batch_sink_harness.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "emulator.h"
#include "librivox.h"
#include "stt_protocol.h"

using namespace dgf;
using batchtest::run_tests;

namespace {

const char *const kDir = librivox::kDir;
const char *const kClip = "sense_and_sensibility_01_austen_64kb-0870";
constexpr double kClipSeconds = 7.1;
/* pocketsphinx alone scores 0.33 on this clip (test-lm.match); cutting at
 * pauses must not make it much worse. */
constexpr double kMaxWordErrorRate = 0.45;
/* encoding=opus at 32 kbit/s against linear16 on the same clip. */
constexpr double kMaxOpusWerIncrease = 0.10;

std::vector<std::string> reference_words() {
  for (const auto &u : librivox::utterances())
    if (u.id == kClip)
      return u.reference;
  return {};
}

using librivox::word_error_rate;

/* Runs the pipeline to EOS; returns the stt/transcript messages. */
std::vector<stt::TimedTranscript> transcribe(const std::string &url, int sink_rate,
                                             const char *encoding = "linear16") {
  gchar *launch =
      g_strdup_printf("filesrc location=%s/%s.wav ! wavparse ! audioconvert ! audioresample ! "
                      "audio/x-raw,rate=%d ! dgbatchsink name=sink url=%s/v1/listen api-key=test "
                      "breaker=batch-test-pocketsphinx-%d min-chunk=1000 max-chunk=4000 "
                      "min-pause=200 %s",
                      kDir, kClip, sink_rate, url.c_str(), sink_rate, encoding);
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(launch, &error);
  g_free(launch);
  CHECK(pipeline != nullptr, "%s", error ? error->message : "?");

  GstBus *bus = gst_element_get_bus(pipeline);
  CHECK(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  std::vector<stt::TimedTranscript> out;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop(bus, 120 * GST_SECOND);
    CHECK(msg != nullptr, "no EOS in 120 s");
    if (auto t = stt::parse<stt::TimedTranscript>(msg))
      out.push_back(*t);
    CHECK(!stt::is<stt::AudioDropped>(msg), "audio dropped");
    GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      g_error("%s: %s", gst_message_type_get_name(type), err ? err->message : "?");
    }
    gst_message_unref(msg);
    if (type == GST_MESSAGE_EOS)
      break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return out;
}

/* The clip's reference words and a pocketsphinx dg-emulator; nullptr (the
 * test skipped) without pocketsphinx-testdata. */
std::unique_ptr<dgemu::Emulator> pocketsphinx_emulator(std::vector<std::string> *reference) {
  *reference = reference_words();
  if (reference->empty()) {
    g_test_skip("pocketsphinx-testdata is not installed");
    return nullptr;
  }
  dgemu::Options options;
  options.engine = "pocketsphinx";
  auto emu = std::make_unique<dgemu::Emulator>(options);
  std::string error;
  CHECK(emu->start(&error), "emulator (pocketsphinx engine): %s", error.c_str());
  return emu;
}

void check_clip(int sink_rate) {
  std::vector<std::string> reference;
  auto emu = pocketsphinx_emulator(&reference);
  if (!emu)
    return;

  std::vector<stt::TimedTranscript> transcripts = transcribe(emu->http_url(), sink_rate);
  CHECK(transcripts.size() >= 2, "the 7 s clip was not cut (%zu chunks)", transcripts.size());

  std::vector<std::string> words;
  uint64_t expected_start = 0, previous_end = 0;
  for (const auto &t : transcripts) {
    CHECK(t.start == expected_start, "chunks do not tile the clip");
    expected_start = t.start + t.duration;
    for (const auto &w : t.words) {
      CHECK(w.start >= previous_end && w.end >= w.start, "word times go back");
      CHECK(w.start >= t.start && w.end <= t.start + t.duration, "word outside its chunk");
      previous_end = w.end;
      words.push_back(w.word);
    }
  }
  CHECK(std::abs(expected_start / 1e9 - kClipSeconds) < 0.01, "chunks end at %.3f s",
        expected_start / 1e9);
  double wer = word_error_rate(reference, words);
  std::string text;
  for (const auto &w : words)
    text += w + " ";
  g_test_message("%d Hz, %zu chunks, WER %.3f: %s", sink_rate, transcripts.size(), wer,
                 text.c_str());
  CHECK(wer < kMaxWordErrorRate, "WER %.3f: %s", wer, text.c_str());
}

struct TimedWord {
  std::string word;
  double start;
};

std::vector<TimedWord> words_of(const std::vector<stt::TimedTranscript> &transcripts) {
  std::vector<TimedWord> out;
  for (const auto &t : transcripts)
    for (const auto &w : t.words)
      out.push_back({w.word, w.start / 1e9});
  return out;
}

/* Word pairs the two transcripts share, aligned by longest common
 * subsequence. */
std::vector<std::pair<TimedWord, TimedWord>> aligned(const std::vector<TimedWord> &a,
                                                     const std::vector<TimedWord> &b) {
  std::vector<std::vector<size_t>> lcs(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;)
    for (size_t j = b.size(); j-- > 0;)
      lcs[i][j] =
          a[i].word == b[j].word ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<std::pair<TimedWord, TimedWord>> out;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i].word == b[j].word) {
      out.emplace_back(a[i++], b[j++]);
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  return out;
}

/* encoding=opus (Ogg Opus files): the words and their times stay close to
 * what linear16 gives on the same clip and chunking. */
void check_opus_close_to_linear16(const char *encoding) {
  std::vector<std::string> reference;
  auto emu = pocketsphinx_emulator(&reference);
  if (!emu)
    return;
  auto raw = words_of(transcribe(emu->http_url(), 16000));
  auto opus = words_of(transcribe(emu->http_url(), 16000, encoding));
  auto pairs = aligned(raw, opus);
  double worst = 0, sum = 0;
  for (const auto &p : pairs) {
    double d = std::abs(p.first.start - p.second.start);
    worst = std::max(worst, d);
    sum += d;
  }
  std::vector<std::string> opus_words, raw_words;
  for (const auto &w : opus)
    opus_words.push_back(w.word);
  for (const auto &w : raw)
    raw_words.push_back(w.word);
  double wer = word_error_rate(reference, opus_words);
  double raw_wer = word_error_rate(reference, raw_words);
  g_test_message("%s: %zu of %zu words shared with linear16, start times off by %.3f s on "
                 "average, %.3f s at most; WER %.3f (linear16 %.3f)",
                 encoding, pairs.size(), raw.size(), pairs.empty() ? 0 : sum / pairs.size(), worst,
                 wer, raw_wer);
  CHECK(pairs.size() * 10 >= raw.size() * 7, "only %zu of %zu words shared", pairs.size(),
        raw.size());
  CHECK(sum / pairs.size() < 0.05 && worst < 0.2, "times moved: %.3f s on average, %.3f s at most",
        sum / pairs.size(), worst);
  /* Lossy: at most about two words of the clip's 22 worse than linear16. */
  CHECK(wer <= raw_wer + kMaxOpusWerIncrease, "WER %.3f, linear16 %.3f", wer, raw_wer);
}

} // namespace

static void test_opus_32k_close_to_linear16() {
  check_opus_close_to_linear16("encoding=opus bitrate=32000");
}

static void test_librivox_16k() {
  check_clip(16000);
}

/* Resampled to 48 kHz on the way: the emulator resamples back. */
static void test_librivox_48k() {
  check_clip(48000);
}

int main(int argc, char **argv) {
  return run_tests(
      argc, argv,
      {
          {"/dgbatchsink-pocketsphinx/librivox-16k", test_librivox_16k},
          {"/dgbatchsink-pocketsphinx/librivox-48k", test_librivox_48k},
          {"/dgbatchsink-pocketsphinx/opus-32k-close-to-linear16", test_opus_32k_close_to_linear16},
      });
}
