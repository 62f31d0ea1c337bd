/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Accuracy through an outage: the LibriVox clips (real speech) through
 * sttfailover against dg-emulator's pocketsphinx engine, once without faults
 * and once with the live connection closed mid-clip. The captions on the text
 * pad must score a word error rate within 10% (relative) of the run without
 * failover: replaying to batch and cutting back at a pause may cost nothing
 * but the recognizer's own variance. Both rates are printed.
 */
#include <gst/gst.h>

#include <sstream>

#include "failover_run.h"
#include "librivox.h"

namespace {

using namespace failovertest;

constexpr double kMaxRelativeIncrease = 0.10;

struct Outcome {
  double wer = 1.0;
  std::string text;
  uint32_t degraded = 0;
  uint32_t recovered = 0;
  std::string branches;              /* e.g. "stream batch stream" */
  std::vector<std::string> warnings; /* for the failure message */
};

std::vector<std::string> words_of(const std::vector<Run::Cue> &cues, std::string *text,
                                  std::string *branches) {
  std::vector<std::string> words;
  std::string last_branch;
  for (const auto &c : cues) {
    for (std::string &w : librivox::normalised_words(c.text))
      words.push_back(std::move(w));
    *text += c.text + " | ";
    if (c.branch != last_branch)
      *branches += (branches->empty() ? "" : " ") + c.branch;
    last_branch = c.branch;
  }
  return words;
}

Outcome transcribe(const librivox::Session &session, bool outage) {
  dgemu::Options options;
  options.engine = "pocketsphinx";
  auto emu = std::make_unique<dgemu::Emulator>(options);
  std::string error;
  if (!emu->start(&error))
    g_error("emulator (pocketsphinx engine): %s", error.c_str());
  const size_t second = 16000;
  const int close_at_ms = 9000; /* mid-way through the second clip */
  const size_t close_at = close_at_ms / 1000 * second;
  if (outage) {
    std::string fault = R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":)" +
                        std::to_string(close_at_ms) + R"(,"target":"new","count":1})";
    emu->inject_json(fault, &error);
    g_assert_cmpstr(error.c_str(), ==, "");
  }
  /* Default cut-pause: the cut back to streaming waits for a pause. */
  /* Pushed faster than real time, so the recognizer may finish long after EOS.
   * The recognizer is real (pocketsphinx, in this process): on a loaded ASan
   * machine it falls more than 10 s behind and says nothing meanwhile, which
   * the sink rightly takes for a stalled server (stall-timeout) and fails the
   * recovery. This test measures accuracy; stalls have tests of their own. */
  Run run(*emu, "cut-pause=200 retry-backoff-min=500 retry-backoff-max=1000 drain-timeout=120000",
          "finalize-timeout=120000 stall-timeout=120000", "", "",
          /* real speech: chunks up to 30 s, cut at pauses (the defaults) */
          "min-chunk=5000 max-chunk=30000");
  run.play();
  size_t at = 0;
  if (outage) {
    run.push_pcm(session.audio, 0, close_at + second);
    run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
    at = close_at + second;
    /* A few seconds to batch, then back: recovery needs a pause to cut at. */
    run.push_pcm(session.audio, at, at + 4 * second);
    at += 4 * second;
    run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  }
  run.push_pcm(session.audio, at, session.audio.size());
  /* As long as the drain may take (drain-timeout, finalize-timeout) after
   * the recognizer caught up: it is real (pocketsphinx), several times
   * slower under ASan, and in the ASan tier other tests share the two cores
   * (34 s alone there, over 150 s beside the broadcast tests). Well inside
   * meson's timeout; a run that works returns at its EOS. */
  run.finish(450 * GST_SECOND);

  Outcome o;
  o.degraded = run.log->count("stt/degraded");
  o.recovered = run.log->count("stt/recovered");
  o.warnings = run.log->warnings();
  auto words = words_of(run.cues(), &o.text, &o.branches);
  o.wer = librivox::word_error_rate(session.reference, words);
  return o;
}

void test_wer_through_failover() {
  std::vector<librivox::Utterance> utterances = librivox::utterances();
  if (utterances.empty()) {
    g_test_skip("pocketsphinx-testdata is not installed");
    return;
  }
  {
    dgemu::Options probe;
    probe.engine = "pocketsphinx";
    dgemu::Emulator emu(probe);
    std::string error;
    if (!emu.start(&error)) {
      g_test_skip(("no pocketsphinx engine: " + error).c_str());
      return;
    }
  }
  librivox::Session session = librivox::session(utterances);
  Outcome plain = transcribe(session, false);
  Outcome failover = transcribe(session, true);
  g_test_message("WER without failover %.3f (%zu reference words): %s", plain.wer,
                 session.reference.size(), plain.text.c_str());
  g_test_message("WER through failover %.3f, branches %s: %s", failover.wer,
                 failover.branches.c_str(), failover.text.c_str());
  g_print("# WER without failover %.3f, through failover %.3f (limit %.3f)\n", plain.wer,
          failover.wer, plain.wer * (1 + kMaxRelativeIncrease));
  for (const std::string &w : failover.warnings)
    g_test_message("WARNING through failover: %s", w.c_str());
  g_assert_cmpuint(plain.degraded, ==, 0);
  g_assert_cmpuint(failover.degraded, ==, 1);
  g_assert_cmpuint(failover.recovered, ==, 1);
  g_assert_true(failover.branches.find("batch") != std::string::npos);
  g_assert_cmpfloat(failover.wer, <=, plain.wer * (1 + kMaxRelativeIncrease) + 1e-9);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/failover-accuracy/librivox-wer", test_wer_through_failover);
  return g_test_run();
}
