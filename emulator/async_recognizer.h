/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: a Recognizer that recognizes on a RecognitionPool thread, so
 * that a live connection never waits for its engine.
 *
 * feed() queues the samples and returns. A pool thread gives them to the
 * real recognizer, one feed() call at a time, and records what each call
 * produced: a step (its final words, final_until() and interim() after it).
 * The owner replays the steps in order with step(), on its own thread, and
 * sees exactly what it would have seen calling the real recognizer itself,
 * only later: take_final(), final_until() and interim() answer as of the last
 * step replayed. The output stays deterministic whatever the load.
 *
 * finish() queues the end of audio and waits until the pool thread has done
 * everything queued; the steps (the last one marked `finished`) are then
 * ready for step(), and after them the Recognizer contract holds (every word
 * final). request_finish() queues it without waiting: once its step is
 * replayed (finish_replayed()), finish() returns at once.
 *
 * wake() runs on a pool thread when a step is ready and the previous wake has
 * been answered (step() returned false); never once the destructor has
 * begun. The owner then calls step() until it returns false.
 *
 * lag_seconds() is the audio fed but not replayed yet; rtf() the pool
 * thread's (wall) seconds per second of audio, over the last few seconds.
 * Every method but the constructor's callbacks is for the owner's thread.
 */
#pragma once

#include "engine.h"
#include "recognition_meter.h"
#include "recognition_pool.h"

#include <functional>
#include <memory>

namespace dgemu {

class AsyncRecognizer : public Recognizer {
public:
  using Clock = std::function<double()>; /* monotonic seconds */
  using Factory = std::function<std::unique_ptr<Recognizer>()>;
  struct Step {
    size_t samples = 0;    /* samples of the feed() this step recognized */
    bool finished = false; /* the step of finish() */
  };

  /* make_inner runs on the pool thread, before the first step (making a
   * recognizer can take long: pocketsphinx may load its model); when it
   * returns null the steps hold no words. meter (may be null) gets every
   * step's time and audio; clock measures the time (default: the monotonic
   * clock). */
  AsyncRecognizer(Factory make_inner, int sample_rate, std::shared_ptr<RecognitionPool> pool,
                  std::function<void()> wake, RecognitionMeter *meter = nullptr, Clock clock = {});
  AsyncRecognizer(std::unique_ptr<Recognizer> inner, int sample_rate,
                  std::shared_ptr<RecognitionPool> pool, std::function<void()> wake,
                  RecognitionMeter *meter = nullptr, Clock clock = {});
  ~AsyncRecognizer() override;
  AsyncRecognizer(const AsyncRecognizer &) = delete;
  AsyncRecognizer &operator=(const AsyncRecognizer &) = delete;

  void feed(const int16_t *samples, size_t count) override;
  std::vector<EngineWord> take_final() override;
  double final_until() const override { return final_until_; }
  std::vector<EngineWord> interim() override { return interim_; }
  /* Queued after the audio fed so far: the step that answers it (no
   * samples) holds the words the pause made final. */
  void endpoint() override;
  void finish() override;
  double fed_seconds() const override { return static_cast<double>(fed_) / rate_; }

  /* Queues the end of audio (once) and returns. */
  void request_finish();
  /* The step of the end has been replayed, and nothing fed since. */
  bool finish_replayed() const { return finish_replayed_; }

  /* Replays the next step recognized; false when there is none yet. */
  bool step(Step *out);
  double lag_seconds() const { return static_cast<double>(fed_ - replayed_) / rate_; }
  double rtf() const;

private:
  struct Shared;
  struct Input;

  void queue(Input in, bool urgent);

  std::shared_ptr<Shared> shared_; /* what pool threads touch, under its mutex */
  std::shared_ptr<RecognitionPool> pool_;
  int rate_;
  unsigned long long fed_ = 0;      /* samples fed */
  unsigned long long replayed_ = 0; /* samples whose step was replayed */
  bool finish_requested_ = false;   /* since the last feed() */
  bool finish_replayed_ = false;
  std::vector<EngineWord> final_; /* as of the last step replayed */
  double final_until_ = 0;
  std::vector<EngineWord> interim_;
};

} // namespace dgemu
