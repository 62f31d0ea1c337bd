/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's insides, shared by its source files (threads and locks are
 * described in gstdgstreamsink.cpp):
 * - gstdgstreamsink.cpp: the type, GstBaseSink (render, events, flow
 *   control, the EOS wait), state changes;
 * - dg_stream_properties.cpp: properties and stats;
 * - plugin/live_session*.cpp: the live session's decisions (sending,
 *   results and acks, failures, reconnect and replay, lost audio, the EOS
 *   drain, stalls, max-outage), free of GStreamer and tested on fake time;
 * - dg_stream_net.cpp: the network thread's glue: carrying out the
 *   session's actions (bus, upstream events, sends), ticks, teardown;
 * - dg_stream_net_connection.cpp: the network thread's connection: the
 *   breaker's permit, the WebSocket and its callbacks, the retry timer;
 * - dg_stream_net_encode.cpp: the audio bytes, as they are or through the
 *   connection's encoder (encoding flac / opus). */
#pragma once

#include <gst/gst.h>
#include <gst/audio/audio.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "gstdgstreamsink.h"
#include "audio_encoder.h"
#include "dg_stream_properties.h"
#include "breaker_context.h"
#include "deepgram_json.h"
#include "dg_common.h"
#include "dg_live_connection.h"
#include "dropped_audio.h"
#include "live_session.h"
#include "net_thread.h"
#include "send_backlog.h"
#include "stt_protocol.h"

GST_DEBUG_CATEGORY_EXTERN(dg_stream_sink_debug);
#define GST_CAT_DEFAULT dg_stream_sink_debug

namespace dgf::streamsink {

using Stats = LiveStats;

/* Audio as the live session holds it: a GstBuffer and its format. */
class BufferPayload : public LivePayload {
public:
  BufferPayload(GstBuffer *take, const GstAudioInfo &info) : buffer_(take), info_(info) {}
  ~BufferPayload() override { gst_buffer_unref(buffer_); }
  BufferPayload(const BufferPayload &) = delete;
  BufferPayload &operator=(const BufferPayload &) = delete;
  uint64_t frames() const override;
  LivePayloadRef trimmed(uint64_t skip) const override;
  GstBuffer *buffer() const { return buffer_; }
  guint bpf() const { return GST_AUDIO_INFO_BPF(&info_); }

private:
  GstBuffer *buffer_;
  GstAudioInfo info_;
};

inline int64_t now_us() {
  return g_get_monotonic_time();
}

inline uint64_t now_ns() {
  return static_cast<uint64_t>(g_get_monotonic_time()) * 1000;
}

/* Without audio for this long the source has paused: Finalize. */
constexpr uint64_t kIdleFinalizeNs = 1000 * GST_MSECOND;

/* Network-thread state: the live session (live_session.h) and what carries
 * out its actions. */
struct Net {
  SoupSession *session = nullptr;
  std::shared_ptr<Breaker> breaker;
  std::unique_ptr<LiveConnection> conn;
  SendBacklog backlog;            /* the open connection's, from the kernel's acks */
  uint64_t audio_not_on_wire = 0; /* ns handed over, still in the encoder */
  uint64_t encoder_audio_out = 0; /* ns of audio the encoder's output carried so far */
  bool measuring = false;         /* the socket reports acks (Linux TCP) */
  BreakerPermit permit;           /* for the connection being made */

  /* The request for the current caps; rebuilt on caps change. */
  DgRequest request;
  GstAudioInfo info;
  bool have_caps = false;

  /* encoding flac/opus: the stream of the current connection, made at its
   * first audio; every connection gets a fresh one (new headers), so what
   * Deepgram decodes is exactly the PCM sent on it, replay included. */
  std::unique_ptr<AudioEncoder> encoder;

  guint retry_source = 0;
  GCancellable *path_check = nullptr; /* a reachability check in flight */
  guint tick_source = 0;
  LiveSession core;
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
  /* Audio bytes the socket took (after encoding): stats bytes-sent. */
  std::atomic<uint64_t> bytes_sent{0};

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

/* ---- network thread ----------------------------------------------------- */

/* dg_stream_net.cpp */
/* Carries out the live session's actions, in order. */
void net_run(GstDgStreamSink *self, const LiveActions &actions);
LiveSessionSettings net_settings(const StreamSettings &a);
void net_start_ticking(GstDgStreamSink *self);
void net_on_audio(GstDgStreamSink *self, uint64_t pts, uint64_t duration, GstBuffer *buf);
void net_on_text(GstDgStreamSink *self, const char *text, size_t length);
/* The connection opened: measure deliveries from here. */
void net_on_open(GstDgStreamSink *self, const std::string &request_id);
void net_teardown(GstDgStreamSink *self);

/* dg_stream_net_encode.cpp */
/* Audio to the socket: as it is (linear16), or through the connection's
 * encoder; counted in bytes-sent. False when the socket refused it or the
 * encoder failed (posted as an ERROR). */
bool net_send_pcm(GstDgStreamSink *self, const uint8_t *pcm, size_t size, uint64_t duration);
/* Before CloseStream: the encoder's tail to the socket, the encoder done.
 * True when there is none. */
bool net_drain_encoder(GstDgStreamSink *self);

/* dg_stream_net_connection.cpp */
void net_connect(GstDgStreamSink *self);
void net_schedule_retry(GstDgStreamSink *self, const live::ScheduleRetry &retry);
void net_cancel_retry(GstDgStreamSink *self);
void net_check_path(GstDgStreamSink *self);
void net_cancel_path_check(GstDgStreamSink *self);

} // namespace dgf::streamsink
