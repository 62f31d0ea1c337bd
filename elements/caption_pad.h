/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caption (text) pad of sttfailover, on a streaming thread of its own.
 *
 * Captions come from the failover core whenever a branch reports, and a
 * consumer such as textoverlay may block the push for as long as its video
 * needs; the audio path and the sinks' network thread must never wait on
 * that. So the text pad runs a GstTask: it pushes the sticky events queued
 * by the audio thread (in order), then what the core releases, then EOS.
 *
 * In a live pipeline the pad also moves with the clock: every tick it asks
 * for everything before running time minus the pipeline latency (GAP events
 * where nothing was said), so whatever waits on the captions downstream never
 * waits on the service; a caption later than that is still pushed, and its
 * delay is measured (max-observed-delay) so the element can warn. While the
 * output is ahead of that (the service answers well within the latency) a
 * tick would push nothing: the pad sleeps until the clock catches up, at
 * most kMaxIdle, instead of waking every tick (a thread switch per stream
 * per tick is most of what the text pad costs at 1,000 streams).
 *
 * Locks: the pad's own mutex guards its queue and flags and is never held
 * while calling the source or pushing. Callers may hold their own lock when
 * calling wake(); the source's functions take that lock themselves.
 */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "caption_merger.h"

namespace dgf {

struct CaptionSource {
  /* Captions and gaps ready now; `clock_position` > 0 forces output on to it. */
  std::function<std::vector<CaptionOutput>(uint64_t clock_position)> take;
  /* EOS: everything still held. */
  std::function<std::vector<CaptionOutput>()> finish;
  /* A caption as the buffer to push (text, times, meta). */
  std::function<GstBuffer *(const Caption &caption)> to_buffer;
  /* Live only: stream time the output must reach now, 0 while unknown. */
  std::function<uint64_t()> clock_position;
  /* Live only: ns until clock_position passes what was pushed (a report
   * that releases a caption wakes the pad meanwhile); empty: every tick. */
  std::function<uint64_t()> idle_for;
  /* Live only: running time now minus `pts`'s running time, or NONE. */
  std::function<GstClockTime(uint64_t pts)> delay_of;
  /* A caption was pushed `delay` after its audio (live only). */
  std::function<void(GstClockTime delay)> on_delay;
};

class CaptionPad {
public:
  CaptionPad(GstPad *pad, CaptionSource source);
  ~CaptionPad();
  CaptionPad(const CaptionPad &) = delete;
  CaptionPad &operator=(const CaptionPad &) = delete;

  /* The pad's activate-mode function calls these. */
  bool activate(bool active);

  /* From the audio thread: a sticky or serialized event for the text pad,
   * pushed in order before any later caption. Takes ownership. */
  void queue_event(GstEvent *event);
  /* Something may be ready (a report came, audio was routed). */
  void wake();
  /* Live input moves the output with the clock; non-live only with data. */
  void set_live(bool live);
  /* EOS: push what is left, then `eos` (owned). */
  void finish(GstEvent *eos);
  /* Flushing seek: FLUSH_START / FLUSH_STOP, forwarded downstream here. */
  void flush_start(GstEvent *event);
  void flush_stop(GstEvent *event);

  /* Each tick of a live pad, in ns (GAP cadence). */
  static constexpr uint64_t kTick = 100 * GST_MSECOND;
  /* The longest sleep while the output is ahead of the clock. */
  static constexpr uint64_t kMaxIdle = 1000 * GST_MSECOND;

private:
  static void loop_cb(gpointer self);
  void loop();
  GstFlowReturn push(const std::vector<CaptionOutput> &outputs, bool live);
  void start_task();
  void drop_queued_locked(); /* unrefs the queued events and EOS */

  GstPad *pad_; /* borrowed: the element owns it */
  CaptionSource source_;

  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<GstEvent *> events_;
  uint64_t generation_ = 0; /* bumped by wake() */
  uint64_t seen_ = 0;
  bool flushing_ = true;
  bool live_ = false;
  GstEvent *eos_ = nullptr;
  bool eos_sent_ = false;
};

} // namespace dgf
