/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator engines: turn audio into words.
 *
 * An Engine makes one Recognizer per channel of a live connection or batch
 * request. A Recognizer eats mono S16 samples and hands out words whose times
 * are seconds since its first sample. The server decides how words become
 * Deepgram messages (interim vs final Results, batch responses); engines know
 * nothing about JSON.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dgemu {

struct EngineWord {
  std::string word;            /* lowercase, as Deepgram's "word" */
  std::string punctuated_word; /* as Deepgram's "punctuated_word" */
  double start = 0.0;          /* seconds since the recognizer's first sample */
  double end = 0.0;
  double confidence = 1.0;
};

class Recognizer {
public:
  virtual ~Recognizer() = default;

  /* Feed mono samples. May be called with any count, including 0. */
  virtual void feed(const int16_t *samples, size_t count) = 0;

  /* Words that are now final, in order, each handed out exactly once. */
  virtual std::vector<EngineWord> take_final() = 0;

  /* Seconds of audio (from the first sample) whose words are all final:
   * everything before this point has been returned by take_final(). */
  virtual double final_until() const = 0;

  /* The current guess for the audio after final_until() (for interim
   * Results); may change on every call. */
  virtual std::vector<EngineWord> interim() = 0;

  /* End of audio (Finalize, CloseStream, end of a batch body): make every
   * word final. take_final() then returns the rest and final_until() reaches
   * the end of the audio fed. */
  virtual void finish() = 0;

  /* Seconds of audio fed so far. */
  virtual double fed_seconds() const = 0;

  /* The speech paused (the session's voice-activity endpoint, or the
   * silence before an UtteranceEnd): make the words heard so far final as
   * finish() does, but the stream goes on. Engines whose words become final
   * on their own as the audio passes (sequence) need nothing. */
  virtual void endpoint() {}
};

class Engine {
public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<Recognizer> create(int sample_rate) = 0;
  /* False when recognition costs next to nothing (sequence): live
   * connections then run it on the server thread. Otherwise it runs on
   * recognition threads (async_recognizer.h), so a slow engine holds up its
   * own results, never the network. */
  virtual bool may_lag() const { return true; }
};

/* "sequence" or "pocketsphinx"; nullptr with *error set when unknown or
 * unavailable (e.g. built without libpocketsphinx, or its model is missing). */
std::unique_ptr<Engine> make_engine(const std::string &name, std::string *error);

} // namespace dgemu
