/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator's voice-activity events over a live connection, from the audio
 * and not from when words become final: SpeechStarted at each onset,
 * endpointing's speech_final after the pause, UtteranceEnd after
 * utterance_end_ms without speech, also once the audio stops. Sequence
 * audio, whose silence blocks still carry words (their headers), so every
 * instant is known: checked to one 10 ms frame. */
#include <glib.h>

#include <cmath>
#include <memory>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"

using emutest::Frame;
using emutest::WsClient;

namespace {

const int kRate = 16000;
const double kFrame = 0.010;
const emutest::Headers kAuth = {{"Authorization", "Token test-key"}};

std::unique_ptr<dgemu::Emulator> start_emu() {
  dgemu::Options o;
  o.tick_interval_s = 0.02; /* UtteranceEnd after the audio stops: on a tick */
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

bool near(double a, double b, double tolerance = kFrame) {
  return std::fabs(a - b) <= tolerance + 1e-9;
}

/* Streams sequence audio of `pattern` in 20 ms frames. */
void stream(WsClient &c, const char *pattern, uint32_t blocks) {
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, blocks, dgemu::sequence_pattern(pattern));
  for (size_t pos = 0; pos < audio.size(); pos += 320)
    c.send_audio(audio.data() + pos, std::min<size_t>(320, audio.size() - pos));
}

WsClient *connect(dgemu::Emulator &emu, const std::string &query) {
  auto *c = new WsClient();
  g_assert_true(
      c->connect(emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000&" + query, kAuth));
  return c;
}

double end_of(const Frame *f) {
  return emutest::num(f->obj(), "start") + emutest::num(f->obj(), "duration");
}

/* The ends of the finals that say speech_final, before CloseStream's flush. */
std::vector<double> speech_final_ends(const WsClient &c) {
  std::vector<double> out;
  for (const Frame *f : c.finals())
    if (json_object_get_boolean_member(f->obj(), "speech_final"))
      out.push_back(end_of(f));
  return out;
}

/* 0.5 s of speech, 1.0 s of silence blocks (words, no voice), 0.5 s of
 * speech, 0.5 s of silence blocks. */
const char kPattern[] = "sssss..........sssss.....";
const uint32_t kBlocks = 25;

void test_speech_started_at_each_onset() {
  auto emu = start_emu();
  std::unique_ptr<WsClient> c(connect(*emu, "vad_events=true&endpointing=false"));
  stream(*c, kPattern, kBlocks);
  c->send_text(R"({"type":"CloseStream"})");
  g_assert_true(c->wait_closed());
  auto started = c->of_type("SpeechStarted");
  g_assert_cmpuint(started.size(), ==, 2); /* the silence blocks' words start nothing */
  g_assert_true(near(emutest::num(started[0]->obj(), "timestamp"), 0.0));
  g_assert_true(near(emutest::num(started[1]->obj(), "timestamp"), 1.5));
}

void test_endpoint_after_the_pause() {
  auto emu = start_emu();
  struct Case {
    const char *query;
    std::vector<double> ends;
  } cases[] = {
      {"endpointing=300", {0.8, 2.3}},
      /* Shorter than the detector's shortest pause (100 ms): that. */
      {"endpointing=25", {0.6, 2.1}},
      {"endpointing=false", {}},
  };
  for (const Case &k : cases) {
    std::unique_ptr<WsClient> c(connect(*emu, k.query));
    stream(*c, kPattern, kBlocks);
    c->send_text(R"({"type":"CloseStream"})");
    g_assert_true(c->wait_closed());
    auto ends = speech_final_ends(*c);
    g_assert_cmpuint(ends.size(), ==, k.ends.size());
    for (size_t i = 0; i < ends.size(); i++) {
      if (!near(ends[i], k.ends[i]))
        g_error("%s: speech_final %zu ends at %.3f s, expected %.2f", k.query, i, ends[i],
                k.ends[i]);
    }
  }
}

/* UtteranceEnd after utterance_end_ms of silence blocks: the words of the
 * speech first, the silence blocks' words not counted as speech. */
void test_utterance_end_from_the_audio() {
  auto emu = start_emu();
  std::unique_ptr<WsClient> c(connect(*emu, "interim_results=true&utterance_end_ms=1000"));
  stream(*c, "sssss...............sssss", 25); /* 1.5 s of silence blocks */
  c->send_text(R"({"type":"CloseStream"})");
  g_assert_true(c->wait_closed());
  auto ends = c->of_type("UtteranceEnd");
  g_assert_cmpuint(ends.size(), >=, 1);
  g_assert_true(near(emutest::num(ends[0]->obj(), "last_word_end"), 0.5, 1e-3));
  /* Sent when 1.0 s of silence had arrived (at 1.5 s of audio): the finals
   * before it cover at most that, and hold b000004. */
  double covered = 0;
  bool seen_last_word = false;
  for (const auto &f : c->frames()) {
    if (&f == ends[0])
      break;
    if (f.type() == "Results" && json_object_get_boolean_member(f.obj(), "is_final")) {
      covered = end_of(&f);
      for (auto &w : emutest::words_of(emutest::alternative(f.obj())))
        seen_last_word = seen_last_word || w.word == "b000004";
    }
  }
  g_assert_true(seen_last_word);
  g_assert_cmpfloat(covered, <=, 1.5 + kFrame);
}

/* The client stops sending with the stream open: the UtteranceEnd still
 * comes, utterance_end_ms after the speech ended. */
void test_utterance_end_once_the_audio_stops() {
  auto emu = start_emu();
  std::unique_ptr<WsClient> c(connect(*emu, "interim_results=true&utterance_end_ms=1000"));
  gint64 sent = g_get_monotonic_time();
  stream(*c, "sssss", 5);
  g_assert_true(c->wait([&] { return !c->of_type("UtteranceEnd").empty(); }, 5));
  double waited = static_cast<double>(g_get_monotonic_time() - sent) / G_USEC_PER_SEC;
  g_assert_cmpfloat(waited, >=, 0.9); /* not before its time */
  g_assert_true(
      near(emutest::num(c->of_type("UtteranceEnd")[0]->obj(), "last_word_end"), 0.5, 1e-3));
  g_assert_false(c->closed());
  c->send_text(R"({"type":"CloseStream"})");
  g_assert_true(c->wait_closed());
  g_assert_cmpuint(c->of_type("UtteranceEnd").size(), ==, 1); /* once */
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/vad/speech-started-at-each-onset", test_speech_started_at_each_onset);
  g_test_add_func("/server/vad/endpoint-after-the-pause", test_endpoint_after_the_pause);
  g_test_add_func("/server/vad/utterance-end-from-the-audio", test_utterance_end_from_the_audio);
  g_test_add_func("/server/vad/utterance-end-once-the-audio-stops",
                  test_utterance_end_once_the_audio_stops);
  return g_test_run();
}
