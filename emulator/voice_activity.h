/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: voice activity on the audio a live connection receives.
 *
 * Deepgram derives SpeechStarted (vad_events), endpointing's speech_final
 * and UtteranceEnd from the audio itself, not from when its recognizer makes
 * words final. The emulator does the same with this detector, one per
 * channel: 10 ms frames, voiced when their RMS reaches kVoicedRms (-38 dBFS:
 * speech is -30 to -15 dBFS, a sequence-audio silence block's header frame
 * -41 dBFS, a quiet room lower). A pause shorter than kMinPauseMs (a stop
 * consonant, a breath between words) is still speech.
 *
 * Pure logic: unit-tested directly.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dgemu {

class VoiceActivity {
public:
  static constexpr int kFrameMs = 10;
  static constexpr double kVoicedRms = 400.0; /* -38 dBFS */
  static constexpr int kMinPauseMs = 100;

  explicit VoiceActivity(int sample_rate);

  /* Mono samples, any count. */
  void feed(const int16_t *samples, size_t count);
  size_t frame_samples() const { return frame_samples_; }
  /* Samples until the frame being summed is whole (a whole frame's worth
   * between frames). */
  size_t samples_to_frame_end() const { return frame_samples_ - in_frame_; }

  /* Where speech began (seconds since the first sample), each onset once:
   * the first voiced frame after at least kMinPauseMs without one, or
   * after the start. */
  std::vector<double> take_onsets();

  /* The end of the last voiced frame; -1 before any. */
  double speech_end() const { return speech_end_; }
  /* Seconds of whole frames seen. */
  double seconds() const;
  /* Seconds since the last voiced frame ended (all of seconds() before any). */
  double silence() const;
  /* A voiced frame within the last kMinPauseMs. */
  bool in_speech() const { return speech_end_ >= 0 && silence() * 1000 < kMinPauseMs; }

private:
  void frame_done();
  double frame_start(uint64_t frame) const; /* seconds */

  int rate_;
  size_t frame_samples_;
  size_t in_frame_ = 0; /* samples of the frame being summed */
  double sum_sq_ = 0;   /* their squares */
  uint64_t frames_ = 0; /* whole frames seen */
  double speech_end_ = -1;
  std::vector<double> onsets_;
};

} // namespace dgemu
