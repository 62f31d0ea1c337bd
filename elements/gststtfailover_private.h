/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover's insides, shared by its source files (threads and locks are
 * described in gststtfailover.cpp):
 * - gststtfailover.cpp: the type, its pads' audio path, state changes;
 * - stt_failover_properties.cpp: properties and stats;
 * - stt_failover_actions.cpp: time, timers, the shared breaker, and carrying
 *   out the core's actions;
 * - stt_failover_reports.cpp: what the branches' sinks report upstream;
 * - stt_failover_drain.cpp: EOS, waiting for both branches to finish;
 * - stt_failover_text_pad.cpp: captions on the text pad. */
#pragma once

#include <gst/gst.h>
#include <gst/audio/audio.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gststtfailover.h"
#include "stt_failover_properties.h"
#include "breaker_context.h"
#include "caption_pad.h"
#include "dropped_audio.h"
#include "failover_core.h"
#include "input_monitor.h"
#include "quiet_detector.h"

GST_DEBUG_CATEGORY_EXTERN(stt_failover_debug);
#define GST_CAT_DEFAULT stt_failover_debug

namespace dgf::sttfailover {

/* A GstBuffer as the core's opaque payload: kept in the ledger, trimmed when
 * an ack lands inside it. */
class BufferPayload : public AudioPayload {
public:
  BufferPayload(GstBuffer *take, gint rate, gint bpf) : buffer_(take), rate_(rate), bpf_(bpf) {}
  ~BufferPayload() override { gst_buffer_unref(buffer_); }
  BufferPayload(const BufferPayload &) = delete;
  BufferPayload &operator=(const BufferPayload &) = delete;

  PayloadRef trimmed(uint64_t skip) const override {
    gsize size = gst_buffer_get_size(buffer_);
    gsize skip_bytes = gst_util_uint64_scale_int(skip, rate_, GST_SECOND) * bpf_;
    if (skip_bytes >= size)
      skip_bytes = size > static_cast<gsize>(bpf_) ? size - bpf_ : 0;
    GstBuffer *part =
        gst_buffer_copy_region(buffer_, GST_BUFFER_COPY_ALL, skip_bytes, size - skip_bytes);
    return std::make_shared<BufferPayload>(part, rate_, bpf_);
  }
  GstBuffer *buffer() const { return buffer_; }

private:
  GstBuffer *buffer_;
  gint rate_;
  gint bpf_;
};

struct SttFailoverPrivate {
  std::mutex lock;
  std::condition_variable cond; /* EOS waiter: acks, text, timeout, flushing */
  Settings settings;
  FailoverCore core;

  /* The shared breaker and our listener on it. */
  PipelineBreakers breakers; /* the pipeline's, through the dgf.breakers context */
  std::shared_ptr<Breaker> breaker;
  std::string breaker_name;
  BreakerSettings breaker_settings;
  const BreakerRegistry *breaker_registry = nullptr; /* the one `breaker` came from */
  uint64_t listener_id = 0;

  GstClockID recovery_timer = nullptr;
  GstClockID drain_timer = nullptr;
  GstClockID giveup_timer = nullptr;
  bool drain_expired = false;
  bool draining = false; /* EOS: each report from a branch restarts the drain timer */
  bool flushing = false;

  /* What the text task reads. */
  GstSegment segment;                                    /* the audio's, also the text pad's */
  GstClockTime upstream_latency = 0;                     /* min, from our LATENCY query */
  GstClockTime configured_latency = GST_CLOCK_TIME_NONE; /* the pipeline's, from its event */
  GstClockTime max_delay = 0;                            /* max-observed-delay */
  GstClockTime warned_delay = 0;                         /* max-observed-delay last warned of */
  InputMonitor input;
  DroppedAudioReporter dropped;
  bool input_live = true; /* upstream's liveness, for settings that depend on it */

  std::unique_ptr<CaptionPad> captions;

  /* Streaming thread only. */
  GstAudioInfo info;
  bool have_info = false;
  uint64_t next_pts = 0;
  bool routed_since_reset = false; /* the core has seen a buffer since it was (re)made */
  bool live_known = false;         /* upstream's liveness asked, this stream */
  bool upstream_live = true;
  /* Measures pauses only while the core awaits the cut back to streaming. */
  std::optional<QuietDetector> quiet;
  bool preroll_gaps = true; /* a new segment: every src pad needs something */
};

} // namespace dgf::sttfailover

struct _GstSttFailover {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *streampad;
  GstPad *batchpad;
  GstPad *textpad;
  dgf::sttfailover::SttFailoverPrivate *priv;
};

namespace dgf::sttfailover {

/* stt_failover_actions.cpp */
uint64_t now_ns(GstSttFailover *self);
uint64_t running_time(GstSttFailover *self);
void arm_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot,
               std::optional<uint64_t> at, GstClockCallback callback);
bool claim_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot, GstClockID id);
BreakerView read_breaker(GstSttFailover *self);
GstFlowReturn run_actions(GstSttFailover *self, const FailoverActions &actions);
void release_breaker(GstSttFailover *self);
void ensure_breaker(GstSttFailover *self);

/* stt_failover_reports.cpp */
gboolean src_event(GstPad *pad, GstObject *parent, GstEvent *event);

/* stt_failover_drain.cpp */
void start_drain_timer(GstSttFailover *self);
gboolean handle_eos(GstSttFailover *self, GstEvent *event);

/* stt_failover_text_pad.cpp */
CaptionSource caption_source(GstSttFailover *self);
void wake_captions(GstSttFailover *self);
gboolean text_query(GstPad *pad, GstObject *parent, GstQuery *query);
gboolean text_event(GstPad *pad, GstObject *parent, GstEvent *event);
gboolean text_activate_mode(GstPad *, GstObject *parent, GstPadMode mode, gboolean active);
gboolean transcript_meta_transform(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *, GQuark type,
                                   gpointer, gpointer);

} // namespace dgf::sttfailover
