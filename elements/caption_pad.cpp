/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "caption_pad.h"

#include <algorithm>

#include <chrono>

namespace dgf {

CaptionPad::CaptionPad(GstPad *pad, CaptionSource source) : pad_(pad), source_(std::move(source)) {}

CaptionPad::~CaptionPad() {
  for (GstEvent *e : events_)
    gst_event_unref(e);
  if (eos_)
    gst_event_unref(eos_);
}

void CaptionPad::loop_cb(gpointer self) {
  static_cast<CaptionPad *>(self)->loop();
}

void CaptionPad::start_task() {
  gst_pad_start_task(pad_, loop_cb, this, nullptr);
}

void CaptionPad::drop_queued_locked() {
  for (GstEvent *e : events_)
    gst_event_unref(e);
  events_.clear();
  if (eos_)
    gst_event_unref(eos_);
  eos_ = nullptr;
}

bool CaptionPad::activate(bool active) {
  if (active) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      flushing_ = false;
      eos_sent_ = false;
    }
    start_task();
    return true;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = true;
  }
  cond_.notify_all();
  gboolean stopped = gst_pad_stop_task(pad_);
  std::lock_guard<std::mutex> lock(mutex_);
  drop_queued_locked();
  live_ = false;
  return stopped;
}

void CaptionPad::queue_event(GstEvent *event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (flushing_) {
      gst_event_unref(event);
      return;
    }
    events_.push_back(event);
  }
  cond_.notify_all();
}

void CaptionPad::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_++;
  }
  cond_.notify_all();
}

void CaptionPad::set_live(bool live) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_ = live;
  }
  cond_.notify_all();
}

void CaptionPad::finish(GstEvent *eos) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (eos_)
      gst_event_unref(eos_);
    eos_ = eos;
  }
  cond_.notify_all();
}

void CaptionPad::flush_start(GstEvent *event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = true;
  }
  cond_.notify_all();
  gst_pad_push_event(pad_, event); /* unblocks a push in progress */
  gst_pad_pause_task(pad_);
}

void CaptionPad::flush_stop(GstEvent *event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    drop_queued_locked();
    eos_sent_ = false;
    flushing_ = false;
  }
  gst_pad_push_event(pad_, event);
  if (GST_PAD_MODE(pad_) == GST_PAD_MODE_PUSH)
    start_task();
}

void CaptionPad::loop() {
  std::deque<GstEvent *> events;
  GstEvent *eos = nullptr;
  bool live;
  /* Live only (a file's pad waits for data, not the clock); asked outside
   * the lock: the source takes its own. */
  bool ticking;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ticking = live_;
  }
  uint64_t sleep = kTick;
  if (ticking && source_.idle_for)
    sleep = std::clamp(source_.idle_for(), kTick, kMaxIdle);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (flushing_) {
        lock.unlock();
        gst_pad_pause_task(pad_);
        return;
      }
      if (!events_.empty() || eos_ || (generation_ != seen_ && !eos_sent_))
        break;
      if (live_ && !eos_sent_) {
        if (cond_.wait_for(lock, std::chrono::nanoseconds(sleep)) == std::cv_status::timeout)
          break; /* the clock moved on */
      } else {
        cond_.wait(lock);
      }
    }
    events.swap(events_);
    seen_ = generation_;
    eos = eos_;
    eos_ = nullptr;
    live = live_;
  }
  for (GstEvent *e : events)
    gst_pad_push_event(pad_, e);
  GstFlowReturn ret;
  if (eos) {
    ret = push(source_.finish(), live);
    gst_pad_push_event(pad_, eos);
    std::lock_guard<std::mutex> lock(mutex_);
    eos_sent_ = true;
  } else {
    ret = push(source_.take(live ? source_.clock_position() : 0), live);
  }
  if (ret == GST_FLOW_FLUSHING) {
    gst_pad_pause_task(pad_); /* flush_stop or activation starts it again */
  } else if (ret <= GST_FLOW_NOT_NEGOTIATED) {
    GstObject *parent = gst_pad_get_parent(pad_);
    if (parent) {
      GST_ELEMENT_FLOW_ERROR(GST_ELEMENT(parent), ret);
      gst_object_unref(parent);
    }
    gst_pad_pause_task(pad_);
  }
}

GstFlowReturn CaptionPad::push(const std::vector<CaptionOutput> &outputs, bool live) {
  for (const CaptionOutput &o : outputs) {
    if (auto *gap = std::get_if<CaptionGap>(&o)) {
      gst_pad_push_event(pad_, gst_event_new_gap(gap->start, gap->duration));
      continue;
    }
    const Caption &c = std::get<Caption>(o);
    if (live && source_.delay_of && source_.on_delay) {
      GstClockTime delay = source_.delay_of(c.audio_start()); /* a moved one: its audio's */
      if (GST_CLOCK_TIME_IS_VALID(delay))
        source_.on_delay(delay);
    }
    GstFlowReturn ret = gst_pad_push(pad_, source_.to_buffer(c));
    if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED && ret != GST_FLOW_EOS)
      return ret; /* captions are optional: unlinked or finished downstream is fine */
  }
  return GST_FLOW_OK;
}

} // namespace dgf
