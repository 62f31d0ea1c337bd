/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's insides, shared by its source files (threads and locks are
 * described in gstdgstreamsink.cpp):
 * - gstdgstreamsink.cpp: the type, GstBaseSink (render, events, flow
 *   control, the EOS wait), state changes;
 * - dg_stream_properties.cpp: properties and stats;
 * - dg_stream_net.cpp: the network thread's audio: sending, results and
 *   acks, lost audio, the EOS drain, watchdog ticks, teardown;
 * - dg_stream_net_connection.cpp: the network thread's connection:
 *   connecting through the breaker, failure, reconnect and replay, giving
 *   up after max-outage. */
#pragma once

#include <gst/gst.h>
#include <gst/audio/audio.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "gstdgstreamsink.h"
#include "dg_stream_properties.h"
#include "audio_ledger.h"
#include "breaker_context.h"
#include "deepgram_json.h"
#include "dg_common.h"
#include "dg_live_connection.h"
#include "drop_coalescer.h"
#include "dropped_audio.h"
#include "live_watchdog.h"
#include "net_thread.h"
#include "stt_protocol.h"
#include "time_map.h"
#include "timeline.h"

GST_DEBUG_CATEGORY_EXTERN(dg_stream_sink_debug);
#define GST_CAT_DEFAULT dg_stream_sink_debug

namespace dgf::streamsink {

/* A ref-counted GstBuffer for the ledger and the unsent queue. */
struct BufferRef {
  GstBuffer *buffer = nullptr;
  BufferRef() = default;
  explicit BufferRef(GstBuffer *take) : buffer(take) {}
  BufferRef(const BufferRef &o) : buffer(o.buffer ? gst_buffer_ref(o.buffer) : nullptr) {}
  BufferRef(BufferRef &&o) noexcept : buffer(o.buffer) { o.buffer = nullptr; }
  BufferRef &operator=(BufferRef o) noexcept {
    std::swap(buffer, o.buffer);
    return *this;
  }
  ~BufferRef() {
    if (buffer)
      gst_buffer_unref(buffer);
  }
};

struct Stats {
  guint64 connections = 0;
  guint64 failures = 0;
  guint64 results = 0;
  guint64 finals = 0;
  guint64 keepalives = 0;
  guint64 malformed = 0;
  guint64 tolerated = 0;      /* messages read with an odd shape outside the transcript */
  guint64 audio_sent = 0;     /* ns */
  guint64 audio_replayed = 0; /* ns */
  guint64 audio_dropped = 0;  /* ns */
  std::string state = "idle";
  std::string last_error;
};

enum class Phase { Idle, Connecting, Open, Down, Fatal };
inline const char *phase_name(Phase p) {
  switch (p) {
  case Phase::Idle:
    return "idle";
  case Phase::Connecting:
    return "connecting";
  case Phase::Open:
    return "open";
  case Phase::Down:
    return "down";
  case Phase::Fatal:
    return "error";
  }
  return "?";
}

/* Audio not yet sent on any connection. */
struct Pending {
  uint64_t pts;
  uint64_t duration;
  BufferRef buffer;
};

inline int64_t now_us() {
  return g_get_monotonic_time();
}

inline uint64_t now_ns() {
  return static_cast<uint64_t>(g_get_monotonic_time()) * 1000;
}

/* Without audio for this long the source has paused: Finalize. */
constexpr uint64_t kIdleFinalizeNs = 1000 * GST_MSECOND;
/* max-outage=-1 for input that is not live; live input never gives up. */
constexpr gint kNonLiveMaxOutageMs = 120000;

/* Network-thread state. One live session at a time; on close it is gone. */
struct Net {
  bool running = false;
  SoupSession *session = nullptr;
  std::shared_ptr<Breaker> breaker;
  std::unique_ptr<LiveConnection> conn;
  Phase phase = Phase::Idle;
  BreakerPermit permit;
  bool permit_pending = false;

  /* The request for the current caps; rebuilt on caps change. */
  std::string url;
  DgRequest request;
  GstAudioInfo info;
  bool have_caps = false;

  std::string session_id;
  std::string request_id;
  TimeMap time_map;
  std::unique_ptr<AudioLedger<BufferRef>> ledger;
  std::deque<Pending> unsent;
  uint64_t unsent_duration = 0;

  bool supervised = false;
  bool eos = false;        /* EOS received: CloseStream once everything is sent */
  bool close_sent = false; /* CloseStream sent on this connection */
  uint32_t attempt = 0;    /* reconnect attempts since the last success */
  guint retry_source = 0;
  guint tick_source = 0;
  LiveWatchdog watchdog; /* KeepAlive, Finalize at pauses, stalls */
  DropCoalescer drops;   /* lost audio, one report per stretch */
  int64_t last_drop_us = 0;
  /* The outage in progress (no connection since the last failure). */
  int64_t down_since_us = 0;
  std::string outage_cause = "disconnected"; /* drop reason token while it lasts */
  std::string outage_reason;                 /* and its words: the last failure */
  bool outage_warned = false;
  bool live_input = true; /* from the streaming thread: max-outage's default, replay-window drops */
  bool warned_malformed = false;
  std::set<std::string> tolerated_seen; /* odd shapes logged on this connection */
  bool reported_breaker_open = false;
  double metadata_duration = -1; /* seconds of audio the server says it got */
  uint64_t acked_pts = 0;        /* final results cover audio before this */
};

struct DgStreamSinkPrivate {
  std::mutex settings_lock;
  StreamSettings settings;
  PipelineBreakers breakers; /* the pipeline's, through the dgf.breakers context */

  std::mutex state_lock;
  std::condition_variable state_cv;
  bool flushing = false;
  bool finished = false; /* the EOS drain completed (or failed fatally) */
  bool fatal = false;
  /* What render returns once fatal: an ERROR alone; under a supervisor,
   * which replays the audio elsewhere, OK (the branch must not stop it). */
  GstFlowReturn fatal_flow = GST_FLOW_ERROR;
  Stats stats;
  DroppedAudioReporter dropped;
  /* Flow control for non-live input: audio the network thread holds
   * (un-acked plus unsent) and audio handed to it but not yet taken. */
  uint64_t held_ns = 0;
  uint64_t in_transit_ns = 0;
  int64_t last_progress_us = 0; /* last message from Deepgram: the drain's clock */

  /* Streaming thread: upstream's liveness, asked once per stream. */
  bool live_known = false;
  bool upstream_live = true;

  std::shared_ptr<NetThread> net_thread;
  Net net;               /* network thread only */
  StreamSettings active; /* settings snapshot taken at start(), network thread */
};

} // namespace dgf::streamsink

struct _GstDgStreamSink {
  GstBaseSink parent;
  dgf::streamsink::DgStreamSinkPrivate *priv;
};

namespace dgf::streamsink {

/* ---- helpers usable from any thread (no locks held by callers) ---------- */

/* dg_stream_net.cpp */
void post(GstDgStreamSink *self, GstStructure *s);

template <typename T> void post_msg(GstDgStreamSink *self, const T &v) {
  post(self, stt::to_structure(v));
}

template <typename T> void push_upstream(GstDgStreamSink *self, const T &v) {
  gst_pad_push_event(GST_BASE_SINK_PAD(self), stt::make_event(v));
}

void update_stats(GstDgStreamSink *self, const std::function<void(Stats &)> &fn,
                  bool notify = false);

/* ---- network thread ----------------------------------------------------- */

/* dg_stream_net.cpp */
void net_publish_held(GstDgStreamSink *self);
void net_note_progress(GstDgStreamSink *self);
void net_set_phase(GstDgStreamSink *self, Phase phase);
void net_report_dropped(GstDgStreamSink *self, uint64_t start, uint64_t duration,
                        const char *reason, const std::string &detail = {});
void net_flush_dropped(GstDgStreamSink *self);
void net_send_pending(GstDgStreamSink *self);
void net_finalize(GstDgStreamSink *self);
void net_finish_drain(GstDgStreamSink *self, bool complete);
void net_ack(GstDgStreamSink *self, uint64_t position);
void net_on_text(GstDgStreamSink *self, const char *text, size_t length);
void net_drop_held(GstDgStreamSink *self, const std::string &why);
void net_start_ticking(GstDgStreamSink *self);
void net_on_audio(GstDgStreamSink *self, uint64_t pts, uint64_t duration, GstBuffer *buf);
void net_teardown(GstDgStreamSink *self);

/* dg_stream_net_connection.cpp */
void net_start_connect(GstDgStreamSink *self);
void net_fail(GstDgStreamSink *self, const std::string &reason, int code, bool retryable);
void net_give_up_if_due(GstDgStreamSink *self);

} // namespace dgf::streamsink
