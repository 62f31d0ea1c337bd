/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for element and integration tests: an in-process dg-emulator, a
 * bus collector for stt messages, sequence-audio buffers, and the
 * exactly-once check over sequence words (b000123 = block 123). */
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emulator.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

namespace dgtest {

constexpr uint64_t kBlockNs = 100 * GST_MSECOND;

/* Loads the plugin from the build tree once (GST_PLUGIN_PATH is set by meson). */
void init(int *argc, char ***argv);

/* A started in-process emulator; aborts the test when it cannot start. */
std::unique_ptr<dgemu::Emulator> start_emulator(dgemu::Options options = {});
/* Injects faults (JSON, see docs/emulator.md); fails the test if they do not parse. */
void inject(dgemu::Emulator &emu, const std::string &json);

/* Everything stt-related a pipeline posted, gathered from a sync handler. */
class BusLog {
public:
  explicit BusLog(GstElement *pipeline);
  ~BusLog();

  std::vector<dgf::stt::TimedTranscript> finals() const;
  std::vector<dgf::stt::TimedTranscript> interims() const;
  std::vector<dgf::stt::AudioDropped> dropped() const;
  std::vector<std::string> errors() const;   /* ERROR messages, text + debug */
  std::vector<std::string> warnings() const; /* WARNING messages */
  std::vector<GstStructure *> element_messages(const char *name) const; /* copies; free them */
  size_t count(const char *name) const;
  /* Names of the element messages, in the order they were posted. */
  std::vector<std::string> element_names() const;

  /* Waits until `count` element messages named `name` were posted (false
   * after `timeout`): tests wait on events, not on time. */
  bool wait_for(const char *name, size_t count, GstClockTime timeout = 30 * GST_SECOND) const;
  /* Waits for a WARNING whose text or debug contains `text`. */
  bool wait_for_warning(const char *text, GstClockTime timeout = 30 * GST_SECOND) const;

  /* Runs the pipeline to EOS or ERROR (bounded by timeout); true on EOS. */
  bool run_to_end(GstClockTime timeout = 60 * GST_SECOND);

private:
  static GstBusSyncReply on_message(GstBus *bus, GstMessage *message, gpointer self);
  GstElement *pipeline_;
  mutable std::mutex mutex_;
  mutable std::condition_variable posted_;
  std::vector<GstMessage *> messages_;
};

/* A guint64 field of `element`'s "stats" structure; fails the test when the
 * field is missing. */
guint64 stat_u64(GstElement *element, const char *field);

/* One buffer of sequence audio: blocks [first, first+count) at pts. */
GstBuffer *sequence_buffer(int rate, int channels, uint32_t first, uint32_t count, uint64_t pts,
                           dgemu::BlockKind kind = dgemu::BlockKind::speech);

/* Pushes `count` blocks, one block per buffer, into appsrc `src`, block k at
 * origin + k * 100 ms, then EOS unless `eos` is false. `kind` may be empty. */
void push_sequence(GstElement *appsrc, int rate, int channels, uint32_t first, uint32_t count,
                   uint64_t origin, bool eos = true, const dgemu::BlockKindFn &kind = {});

struct BlockReport {
  uint32_t expected = 0;
  uint32_t once = 0;
  std::vector<uint32_t> missing;
  std::vector<uint32_t> duplicated;
  std::vector<uint32_t> mistimed;
  std::vector<std::string> unknown; /* words that are not blocks in range */
  bool perfect() const {
    return once == expected && missing.empty() && duplicated.empty() && mistimed.empty() &&
           unknown.empty();
  }
  std::string describe() const;
};

/* Every block in [first, first+count) once, with its word starting at
 * origin + block * 100 ms (within tolerance), on channel `channel` (or any
 * channel when -1). Blocks in `excused` (reported dropped) may be missing. */
BlockReport check_blocks(const std::vector<dgf::stt::TimedTranscript> &finals, uint32_t first,
                         uint32_t count, uint64_t origin, int channel = -1,
                         uint64_t tolerance = GST_MSECOND, const std::set<uint32_t> &excused = {});

/* A pipeline description with the emulator's URL substituted for @WS@ and
 * @HTTP@. */
std::string with_urls(const std::string &description, const dgemu::Emulator &emu);

/* Every value an element's "state" property took (sttfailover and
 * dgtranscribebin notify it), so a test waits for a state, never for time. */
class StateRecorder {
public:
  explicit StateRecorder(GstElement *element);
  ~StateRecorder();
  StateRecorder(const StateRecorder &) = delete;
  StateRecorder &operator=(const StateRecorder &) = delete;

  /* Until the element has been in `state` `times` times; g_error after 30 s. */
  void wait(int state, int times = 1) const;
  std::vector<int> states() const;

private:
  static void on_notify(GObject *object, GParamSpec *, gpointer self);
  GstElement *element_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<int> states_;
};

/* One caption from sttfailover's text pad, with the branch from its meta. */
struct Cue {
  uint64_t pts = 0, duration = 0;
  std::string text, branch;
};
Cue cue_of(GstBuffer *buffer);

} // namespace dgtest
