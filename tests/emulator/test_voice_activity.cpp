/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator's voice-activity detector: onsets, speech end and silence in
 * 10 ms frames, whatever pieces the audio comes in. */
#include <glib.h>

#include <cmath>
#include <vector>

#include "sequence_audio.h"
#include "voice_activity.h"

namespace {

const int kRate = 16000;

bool near(double a, double b, double tolerance = 1e-9) {
  return std::fabs(a - b) <= tolerance;
}

/* Sequence audio: speech blocks are tones, silence blocks a header only. */
std::vector<int16_t> pattern_audio(const char *pattern, uint32_t blocks) {
  return dgemu::sequence_blocks(kRate, 1, 0, blocks, dgemu::sequence_pattern(pattern));
}

void feed_in_pieces(dgemu::VoiceActivity &vad, const std::vector<int16_t> &audio, size_t piece) {
  for (size_t at = 0; at < audio.size(); at += piece)
    vad.feed(audio.data() + at, std::min(piece, audio.size() - at));
}

void test_onsets_and_silence() {
  /* 0.5 s speech, 1.0 s silence, 0.5 s speech, 0.3 s silence. */
  auto audio = pattern_audio("sssss..........sssss...", 23);
  for (size_t piece : {size_t{1}, size_t{160}, size_t{333}, size_t{16000}}) {
    dgemu::VoiceActivity vad(kRate);
    feed_in_pieces(vad, audio, piece);
    auto onsets = vad.take_onsets();
    g_assert_cmpuint(onsets.size(), ==, 2);
    g_assert_true(near(onsets[0], 0.0));
    g_assert_true(near(onsets[1], 1.5));
    g_assert_true(vad.take_onsets().empty()); /* each once */
    g_assert_true(near(vad.speech_end(), 2.0));
    g_assert_true(near(vad.seconds(), 2.3));
    g_assert_true(near(vad.silence(), 0.3));
    g_assert_false(vad.in_speech());
  }
}

/* A pause shorter than kMinPauseMs is speech: no new onset after it. */
void test_short_pause_is_speech() {
  std::vector<int16_t> audio = pattern_audio("sss", 3);
  audio.resize(audio.size() + kRate * 90 / 1000, 0); /* 90 ms of zeros */
  auto more = pattern_audio("sss", 3);
  audio.insert(audio.end(), more.begin(), more.end());
  dgemu::VoiceActivity vad(kRate);
  vad.feed(audio.data(), audio.size());
  g_assert_cmpuint(vad.take_onsets().size(), ==, 1);
  g_assert_true(vad.in_speech());

  audio.resize(audio.size() + kRate / 10, 0); /* then 100 ms: a pause */
  audio.insert(audio.end(), more.begin(), more.end());
  dgemu::VoiceActivity again(kRate);
  again.feed(audio.data(), audio.size());
  auto onsets = again.take_onsets();
  g_assert_cmpuint(onsets.size(), ==, 2);
  g_assert_true(near(onsets[1], 0.79));
}

/* Before any speech, everything is silence; a partial frame counts for
 * nothing until whole. */
void test_silence_before_speech() {
  std::vector<int16_t> zeros(kRate / 2 + 80, 0);
  dgemu::VoiceActivity vad(kRate);
  vad.feed(zeros.data(), zeros.size());
  g_assert_true(vad.take_onsets().empty());
  g_assert_cmpfloat(vad.speech_end(), <, 0);
  g_assert_true(near(vad.seconds(), 0.5));
  g_assert_true(near(vad.silence(), 0.5));
  g_assert_cmpuint(vad.samples_to_frame_end(), ==, 80);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/voice-activity/onsets-and-silence", test_onsets_and_silence);
  g_test_add_func("/voice-activity/short-pause-is-speech", test_short_pause_is_speech);
  g_test_add_func("/voice-activity/silence-before-speech", test_silence_before_speech);
  return g_test_run();
}
