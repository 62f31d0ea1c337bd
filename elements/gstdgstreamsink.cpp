/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink: streams audio to Deepgram's live API and turns its results
 * into stt/transcript messages and events, surviving the network.
 *
 * Threads and locks:
 * - The streaming thread (render, event) never touches the network: it hands
 *   buffers and commands to the shared network thread (NetThread::invoke).
 * - Everything in `Net` lives on the network thread only, without locks.
 * - `settings` is guarded by settings_lock; `shared` (flags the streaming
 *   thread waits on, stats) by state_lock. Lock order: settings_lock, then
 *   state_lock; neither is held while posting, pushing events or notifying.
 */
/**
 * SECTION:element-dgstreamsink
 * @title: dgstreamsink
 *
 * Streams audio to Deepgram's live (WebSocket) API and posts its results as
 * `stt/transcript` messages. Used alone it reconnects through a circuit
 * breaker and replays the audio the dead connection never acknowledged;
 * behind sttfailover it reports its health and leaves the decisions there.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=S16LE,rate=16000,channels=1 ! dgstreamsink model=nova-3
 * ]|
 * Live captions of the microphone on the bus (docs/dgstreamsink.md).
 */
#include <config.h>

#include "gstdgstreamsink.h"

#include <gst/audio/audio.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "audio_ledger.h"
#include "backoff.h"
#include "breaker_context.h"
#include "resilience_properties.h"
#include "deepgram_json.h"
#include "dg_common.h"
#include "dg_live_connection.h"
#include "drop_coalescer.h"
#include "dropped_audio.h"
#include "failure.h"
#include "live_watchdog.h"
#include "net_thread.h"
#include "session_id.h"
#include "stt_protocol.h"
#include "time_map.h"
#include "timeline.h"

GST_DEBUG_CATEGORY_STATIC(dg_stream_sink_debug);
#define GST_CAT_DEFAULT dg_stream_sink_debug

using namespace dgf;
using namespace dgf::stt;

namespace {

constexpr const char *kDefaultUrl = "wss://api.deepgram.com/v1/listen";
/* No name: the pipeline's live breaker, shared with its sttfailover. */
dgf::BreakerProperties default_breaker() {
  return dgf::BreakerProperties{};
}
constexpr gboolean DEFAULT_INTERIM_RESULTS = FALSE;
constexpr gint DEFAULT_ENDPOINTING = -1; /* Deepgram's default */
constexpr guint DEFAULT_UTTERANCE_END_MS = 0;
constexpr gboolean DEFAULT_VAD_EVENTS = FALSE;
constexpr guint DEFAULT_KEEPALIVE_MS = 3000;
constexpr guint DEFAULT_STALL_TIMEOUT_MS = 10000;
constexpr guint DEFAULT_CONNECT_TIMEOUT_MS = 10000;
constexpr guint DEFAULT_FINALIZE_TIMEOUT_MS = 10000;
constexpr gboolean DEFAULT_RECONNECT = TRUE;
constexpr guint DEFAULT_REPLAY_WINDOW_MS = 60000;

enum {
  PROP_INTERIM_RESULTS = DG_PROP_COMMON_LAST + 1,
  PROP_ENDPOINTING,
  PROP_UTTERANCE_END_MS,
  PROP_VAD_EVENTS,
  PROP_KEEPALIVE_INTERVAL,
  PROP_STALL_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_FINALIZE_TIMEOUT,
  PROP_RECONNECT,
  PROP_REPLAY_WINDOW,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_BREAKER_FIRST = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_STATS = PROP_BREAKER_FIRST + kBreakerPropCount,
};

struct StreamSettings {
  DgCommonSettings common;
  bool interim_results = DEFAULT_INTERIM_RESULTS;
  int endpointing = DEFAULT_ENDPOINTING;
  guint utterance_end_ms = DEFAULT_UTTERANCE_END_MS;
  bool vad_events = DEFAULT_VAD_EVENTS;
  guint keepalive_ms = DEFAULT_KEEPALIVE_MS;
  guint stall_ms = DEFAULT_STALL_TIMEOUT_MS;
  guint connect_ms = DEFAULT_CONNECT_TIMEOUT_MS;
  guint finalize_ms = DEFAULT_FINALIZE_TIMEOUT_MS;
  bool reconnect = DEFAULT_RECONNECT;
  guint replay_window_ms = DEFAULT_REPLAY_WINDOW_MS;
  RetryBackoffProperties retry_backoff; /* reconnects when used alone */
  BreakerProperties breaker = default_breaker();
};

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
const char *phase_name(Phase p) {
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

int64_t now_us() {
  return g_get_monotonic_time();
}

uint64_t now_ns() {
  return static_cast<uint64_t>(g_get_monotonic_time()) * 1000;
}

/* Without audio for this long the source has paused: Finalize. */
constexpr uint64_t kIdleFinalizeNs = 1000 * GST_MSECOND;
/* max-outage=-1 for input that is not live; live input never gives up. */
constexpr gint kNonLiveMaxOutageMs = 120000;

} // namespace

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

struct _GstDgStreamSink {
  GstBaseSink parent;
  DgStreamSinkPrivate *priv;
};

#define gst_dg_stream_sink_parent_class parent_class
G_DEFINE_TYPE(GstDgStreamSink, gst_dg_stream_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE(dgstreamsink, "dgstreamsink", GST_RANK_NONE, GST_TYPE_DG_STREAM_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw, format = (string) S16LE, layout = (string) interleaved, "
                    "rate = (int) [ 8000, 48000 ], channels = (int) [ 1, 8 ]"));

/* ---- helpers usable from any thread (no locks held by callers) ---------- */

static void post(GstDgStreamSink *self, GstStructure *s) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

template <typename T> static void post_msg(GstDgStreamSink *self, const T &v) {
  post(self, to_structure(v));
}

template <typename T> static void push_upstream(GstDgStreamSink *self, const T &v) {
  gst_pad_push_event(GST_BASE_SINK_PAD(self), make_event(v));
}

static void update_stats(GstDgStreamSink *self, const std::function<void(Stats &)> &fn,
                         bool notify = false) {
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    fn(self->priv->stats);
  }
  if (notify)
    g_object_notify(G_OBJECT(self), "stats");
}

/* Network thread: how much audio it holds now, for render's flow control. */
static void net_publish_held(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  uint64_t held = net.unsent_duration + (net.ledger ? net.ledger->held() : 0);
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    if (self->priv->held_ns == held)
      return;
    self->priv->held_ns = held;
  }
  self->priv->state_cv.notify_all();
}

static void net_note_progress(GstDgStreamSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->last_progress_us = now_us();
}

static uint64_t frames_to_ns(const GstAudioInfo &info, uint64_t frames) {
  return gst_util_uint64_scale_int(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&info));
}

/* Drop the first `skip` ns of a buffer (an ack landed inside it). */
static BufferRef trim_buffer(const GstAudioInfo &info, const BufferRef &ref, uint64_t skip) {
  gsize size = gst_buffer_get_size(ref.buffer);
  guint bpf = GST_AUDIO_INFO_BPF(&info);
  gsize skip_bytes = gst_util_uint64_scale_int(skip, GST_AUDIO_INFO_RATE(&info), GST_SECOND) * bpf;
  if (skip_bytes >= size)
    skip_bytes = size - (size % bpf ? size % bpf : bpf);
  GstBuffer *part =
      gst_buffer_copy_region(ref.buffer, GST_BUFFER_COPY_ALL, skip_bytes, size - skip_bytes);
  return BufferRef(part);
}

/* ---- network thread ----------------------------------------------------- */

/* The breaker, taken at the first connection: by then an sttfailover
 * upstream has made the live one (at its NULL->READY, which comes after this
 * sink's start), so its settings win. */
static std::shared_ptr<Breaker> net_take_breaker(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  const std::string &name = priv->active.breaker.name;
  std::shared_ptr<Breaker> breaker = priv->breakers.find(name, kLiveBreakerKey);
  if (breaker)
    return breaker;
  std::string conflict;
  breaker = priv->breakers.get(name, kLiveBreakerKey, priv->active.breaker.settings(), &conflict);
  if (!conflict.empty())
    GST_WARNING_OBJECT(self, "%s", conflict.c_str());
  return breaker;
}

static void net_start_connect(GstDgStreamSink *self);
static void net_fail(GstDgStreamSink *self, const std::string &reason, int code, bool retryable);
static void net_drop_held(GstDgStreamSink *self, const std::string &why);

static void net_set_phase(GstDgStreamSink *self, Phase phase) {
  self->priv->net.phase = phase;
  update_stats(
      self, [&](Stats &s) { s.state = phase_name(phase); }, true);
}

static void net_post_dropped(GstDgStreamSink *self, const DropReport &d) {
  GST_WARNING_OBJECT(self, "audio %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " dropped: %s",
                     GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.duration), d.reason.c_str());
  self->priv->dropped.post(GST_ELEMENT(self),
                           AudioDropped{d.start, d.duration, d.reason, d.buffers, d.detail});
}

/* Lost audio, reported once per stretch (drop_coalescer.h): the run is
 * posted when it ends, at the latest a second after its last piece. */
static void net_report_dropped(GstDgStreamSink *self, uint64_t start, uint64_t duration,
                               const char *reason, const std::string &detail = {}) {
  Net &net = self->priv->net;
  if (duration == 0)
    return;
  update_stats(self, [&](Stats &s) { s.audio_dropped += duration; });
  if (auto done = net.drops.add(start, duration, reason, detail))
    net_post_dropped(self, *done);
  net.last_drop_us = now_us();
}

static void net_flush_dropped(GstDgStreamSink *self) {
  if (auto done = self->priv->net.drops.flush())
    net_post_dropped(self, *done);
}

static void net_send_pending(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  while (net.conn && net.conn->is_open() && !net.unsent.empty()) {
    Pending p = std::move(net.unsent.front());
    net.unsent.pop_front();
    net.unsent_duration -= p.duration;
    GstMapInfo map;
    if (!gst_buffer_map(p.buffer.buffer, &map, GST_MAP_READ))
      continue;
    bool sent = net.conn->send_binary(map.data, map.size);
    uint64_t frames = map.size / GST_AUDIO_INFO_BPF(&net.info);
    gst_buffer_unmap(p.buffer.buffer, &map);
    if (!sent) {
      net.unsent.push_front(std::move(p));
      net.unsent_duration += net.unsent.front().duration;
      net_fail(self, "send failed", 0, true);
      return;
    }
    net.time_map.append(p.pts, frames);
    if (net.ledger)
      net.ledger->append(p.pts, p.duration, std::move(p.buffer));
    net.watchdog.on_audio_sent(now_ns(), net.time_map.sent_seconds());
    update_stats(self, [&](Stats &s) { s.audio_sent += p.duration; });
  }
  if (net.eos && !net.close_sent && net.conn && net.conn->is_open() && net.unsent.empty()) {
    net.conn->send_text("{\"type\":\"CloseStream\"}");
    net.close_sent = true;
    net.watchdog.on_close_sent(now_ns());
  }
  net_publish_held(self);
}

/* A pause in the source: ask for the words already sent, so they are not
 * held until more audio comes (and nothing stays owed while paused). */
static void net_finalize(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (net.phase != Phase::Open || !net.conn || net.close_sent || !net.watchdog.finalize_wanted())
    return;
  if (net.conn->send_text("{\"type\":\"Finalize\"}")) {
    GST_DEBUG_OBJECT(self, "source paused: Finalize");
    net.watchdog.on_finalize_sent(now_ns());
  }
}

/* Takes everything held for a replay (un-acked in the ledger, and unsent),
 * as time ranges: what is lost when it can no longer be sent. */
static TimeRanges net_take_held(Net &net) {
  TimeRanges held;
  if (net.ledger) {
    auto takeover = net.ledger->take_all();
    for (const auto &r : takeover.lost)
      held.insert(r);
    for (const auto &e : takeover.replay)
      held.insert(TimeRange{e.start, e.end()});
  }
  for (const auto &p : net.unsent)
    held.insert(TimeRange{p.pts, p.pts + p.duration});
  net.unsent.clear();
  net.unsent_duration = 0;
  return held;
}

static void net_finish_drain(GstDgStreamSink *self, bool complete) {
  Net &net = self->priv->net;
  if (!net.eos)
    return;
  net.eos = false;
  if (!complete && net.supervised) {
    /* The supervisor still holds the un-finalized audio: it replays it to its
     * other branch, so report a failure rather than drop it. */
    push_upstream(self, Health{false, "finalize-timeout", 0, true, net.session_id});
    net.unsent.clear();
    net.unsent_duration = 0;
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->finished = true;
    self->priv->state_cv.notify_all();
    return;
  }
  /* Anything still un-acked or unsent will never be transcribed now: one
   * report per stretch, naming why. */
  TimeRanges lost = net_take_held(net);
  bool open = net.phase == Phase::Open || net.phase == Phase::Idle;
  std::string why = open ? "finalize-timeout" : net.outage_cause;
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    detail =
        open ? "no answer from Deepgram within finalize-timeout" : self->priv->stats.last_error;
  }
  for (const TimeRange &r : lost.list())
    net_report_dropped(self, r.start, r.duration(), why.c_str(), detail);
  net_flush_dropped(self);
  net_publish_held(self);
  uint64_t end = net.time_map.end_pts();
  push_upstream(self, Ack{end, net.session_id, 0, true});
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->finished = true;
  }
  self->priv->state_cv.notify_all();
  GST_INFO_OBJECT(self, "EOS drain %s", complete ? "complete" : "cut short");
}

static void net_ack(GstDgStreamSink *self, uint64_t position) {
  Net &net = self->priv->net;
  net.acked_pts = std::max(net.acked_pts, position);
  if (net.ledger)
    net.ledger->ack(position);
  net_publish_held(self);
  push_upstream(self, Ack{position, net.session_id, 0, false});
}

static void net_on_results(GstDgStreamSink *self, const Transcript &t) {
  Net &net = self->priv->net;
  /* Each time through the connection's clock, gaps and all. */
  TimedTranscript timed = to_pipeline_time(t, net.time_map, net.session_id, "stream");
  uint64_t end = timed.start + timed.duration;
  if (timed.request_id.empty())
    timed.request_id = net.request_id;
  update_stats(self, [&](Stats &s) {
    s.results++;
    if (t.is_final)
      s.finals++;
  });
  /* Interims never acknowledge audio: a server sending only those is checked in net_tick. */
  if (t.is_final)
    net.watchdog.on_final(now_ns(), t.start + t.duration);
  else
    net.watchdog.on_interim(now_ns());
  if (t.is_final || !t.text.empty() || self->priv->active.interim_results) {
    post_msg(self, timed);
    push_upstream(self, timed);
  }
  if (t.is_final)
    net_ack(self, end);
}

static void net_on_text(GstDgStreamSink *self, const char *text, size_t length) {
  Net &net = self->priv->net;
  auto parsed = parse_live_message(std::string_view(text, length));
  if (!parsed) {
    update_stats(self, [](Stats &s) { s.malformed++; });
    if (!net.warned_malformed) {
      net.warned_malformed = true;
      GST_ELEMENT_WARNING(
          self, STREAM, DECODE, ("Deepgram sent a message that is not valid"),
          ("%s (further ones are counted in stats)", parsed.error().message.c_str()));
    }
    /* It may have been a final result: its audio is un-acked, and later acks
     * on this connection would skip it. Reconnect and replay instead. */
    net_fail(self, "malformed message: " + parsed.error().message, 0, true);
    return;
  }
  LiveMessage &msg = parsed.value();
  /* Odd shapes outside the transcript (a channel sent as [0], a field of
   * another type): read with defaults, counted, logged once per connection. */
  const Tolerated &notes = tolerated_notes(msg);
  if (!notes.empty()) {
    update_stats(self, [](Stats &s) { s.tolerated++; });
    for (const std::string &note : notes)
      if (net.tolerated_seen.insert(note).second)
        GST_INFO_OBJECT(self, "tolerated: %s (request %s)", note.c_str(), net.request_id.c_str());
  }
  net.watchdog.on_message(now_ns()); /* alive, whatever it says */
  net_note_progress(self);
  if (auto *t = std::get_if<Transcript>(&msg)) {
    net_on_results(self, *t);
  } else if (auto *m = std::get_if<DeepgramMetadata>(&msg)) {
    /* Sent before every server close, a fault's too: the close code decides. */
    GST_DEBUG_OBJECT(self, "Metadata: request %s, %.3f s", m->request_id.c_str(), m->duration);
    net.metadata_duration = m->duration;
  } else if (auto *u = std::get_if<UtteranceEnd>(&msg)) {
    post_msg(self, UtteranceEndMessage{net.time_map.to_pipeline(u->last_word_end), u->channel,
                                       net.session_id});
  } else if (auto *sp = std::get_if<SpeechStarted>(&msg)) {
    post_msg(self, SpeechStartedMessage{net.time_map.to_pipeline(sp->timestamp), sp->channel,
                                        net.session_id});
  } else if (auto *e = std::get_if<DeepgramError>(&msg)) {
    GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("Deepgram reported an error: %s", e->code.c_str()),
                        ("%s (request %s)", e->message.c_str(), e->request_id.c_str()));
  } else if (auto *unknown = std::get_if<UnknownMessage>(&msg)) {
    GST_DEBUG_OBJECT(self, "ignoring message of type '%s'", unknown->type.c_str());
  }
}

static void net_schedule_reconnect(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  DgStreamSinkPrivate *priv = self->priv;
  if (net.retry_source || net.supervised || !priv->active.reconnect || !net.running)
    return;
  BackoffPolicy policy{std::chrono::milliseconds{priv->active.retry_backoff.min_ms},
                       std::chrono::milliseconds{priv->active.retry_backoff.max_ms}};
  auto delay = backoff_delay(policy, net.attempt, default_unit_random());
  if (auto deadline = net.breaker->next_deadline()) {
    auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    if (until > delay)
      delay = until; /* no point asking before the breaker can say yes */
  }
  net.attempt++;
  GST_INFO_OBJECT(self, "reconnecting in %lld ms (attempt %u)", (long long)delay.count(),
                  net.attempt);
  net.retry_source = priv->net_thread->add_timeout(static_cast<unsigned>(delay.count()), [self] {
    self->priv->net.retry_source = 0;
    if (self->priv->net.phase == Phase::Down)
      net_start_connect(self);
    return false;
  });
}

/* The connection is gone (or never came): account for its audio, tell
 * upstream, and reconnect unless a supervisor owns that. */
static void net_fail(GstDgStreamSink *self, const std::string &reason, int code, bool retryable) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  GST_WARNING_OBJECT(self, "live connection failed: %s", reason.c_str());
  net.conn.reset();
  net.close_sent = false;
  if (net.permit_pending) {
    net.breaker->report(net.permit,
                        retryable ? BreakerOutcome::Failure : BreakerOutcome::Cancelled);
    net.permit_pending = false;
  }
  update_stats(self, [&](Stats &s) {
    s.failures++;
    s.last_error = reason;
  });
  net_set_phase(self, retryable ? Phase::Down : Phase::Fatal);
  push_upstream(self, Health{false, reason, code, retryable, net.session_id});
  if (!net.down_since_us)
    net.down_since_us = now_us();
  net.outage_reason = reason;
  net.outage_cause = !retryable                                    ? "server-error"
                     : reason.rfind("cannot connect", 0) == 0      ? "connect-failed"
                     : reason.rfind("HTTP", 0) == 0 || code >= 400 ? "server-error"
                                                                   : "disconnected";
  if (retryable && !net.supervised && !net.outage_warned) {
    /* Alone, nobody else tells the user; a supervisor warns for its pipeline. */
    net.outage_warned = true;
    GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ,
                        ("Deepgram's live API failed: %s", reason.c_str()),
                        ("reconnecting with backoff; audio is kept up to replay-window and "
                         "replayed (max-outage bounds the wait)"));
  }

  if (net.supervised) {
    /* The supervisor holds every un-acked buffer and replays it elsewhere
     * (a supervised sink keeps no ledger). */
    net.unsent.clear();
    net.unsent_duration = 0;
  } else if (net.ledger) {
    /* Replay what the dead connection never acknowledged, before newer audio. */
    auto takeover = net.ledger->take_all();
    for (const auto &r : takeover.lost)
      net_report_dropped(self, r.start, r.duration(), "replay-window",
                         "the connection failed holding more unacknowledged audio than "
                         "replay-window");
    for (auto it = takeover.replay.rbegin(); it != takeover.replay.rend(); ++it) {
      net.unsent_duration += it->duration;
      update_stats(self, [&](Stats &s) { s.audio_replayed += it->duration; });
      net.unsent.push_front(Pending{it->start, it->duration, std::move(it->payload)});
    }
  }
  if (!retryable) {
    {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->fatal = true;
      priv->fatal_flow = net.supervised ? GST_FLOW_OK : GST_FLOW_ERROR;
    }
    net_drop_held(self, reason); /* an ERROR is on the bus; nothing lost silently */
    net_finish_drain(self, false);
    priv->state_cv.notify_all();
    return;
  }
  if (!priv->active.reconnect && !net.supervised) {
    for (const auto &p : net.unsent)
      net_report_dropped(self, p.pts, p.duration, "disconnected",
                         "the connection failed and reconnect is off");
    net.unsent.clear();
    net.unsent_duration = 0;
    net_finish_drain(self, false);
    return;
  }
  net_schedule_reconnect(self);
}

/* Everything held (un-acked and unsent), reported dropped for `why`. */
static void net_drop_held(GstDgStreamSink *self, const std::string &why) {
  Net &net = self->priv->net;
  TimeRanges held = net_take_held(net);
  for (const TimeRange &r : held.list())
    net_report_dropped(self, r.start, r.duration(), net.outage_cause.c_str(), why);
  net_flush_dropped(self);
  net_publish_held(self);
}

/* Standalone: an outage longer than max-outage ends with an ERROR. */
static void net_give_up_if_due(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  gint limit = priv->active.common.max_outage_ms;
  if (limit < 0)
    limit = net.live_input ? 0 : kNonLiveMaxOutageMs;
  if (net.supervised || limit == 0 || !net.down_since_us || net.phase == Phase::Fatal ||
      now_us() - net.down_since_us < static_cast<int64_t>(limit) * 1000)
    return;
  std::string last;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    last = priv->stats.last_error;
    priv->fatal = true;
  }
  GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                    ("Deepgram's live API could not be used for %d s (max-outage): %s",
                     limit / 1000, last.c_str()),
                    ("set max-outage to wait longer (0: forever)"));
  net_set_phase(self, Phase::Fatal);
  if (net.retry_source) {
    priv->net_thread->remove_source(net.retry_source);
    net.retry_source = 0;
  }
  net_drop_held(self, "gave up after max-outage: " + last);
  net_finish_drain(self, false);
  priv->state_cv.notify_all();
}

static void net_on_open(GstDgStreamSink *self, const std::string &request_id) {
  Net &net = self->priv->net;
  net.request_id = request_id;
  net.down_since_us = 0;
  net.outage_warned = false;
  net.outage_reason.clear();
  if (net.permit_pending) {
    net.breaker->report(net.permit, BreakerOutcome::Success);
    net.permit_pending = false;
  }
  net.attempt = 0;
  net.watchdog.reset(now_ns());
  net_note_progress(self);
  net.tolerated_seen.clear(); /* each connection logs its oddities once */
  net.reported_breaker_open = false;
  net_set_phase(self, Phase::Open);
  update_stats(
      self, [](Stats &s) { s.connections++; }, true);
  GST_INFO_OBJECT(self, "connected, session %s, request %s", net.session_id.c_str(),
                  request_id.c_str());
  push_upstream(self, Health{true, "connected", 0, true, net.session_id});
  net_send_pending(self);
}

static void net_on_handshake_failed(GstDgStreamSink *self, const LiveHandshakeFailure &f) {
  if (!f.tls_problem.empty()) {
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised, f.tls_problem, f.reason, 0, "");
    net_fail(self, "cannot connect: " + f.tls_problem, 0, false);
    return;
  }
  /* dg-error carries Deepgram's words for a refused upgrade. */
  FailureVerdict v = classify_http(f.status, "", f.reason);
  std::string reason = f.status ? describe_failure(v, "", f.reason) : "cannot connect: " + f.reason;
  if (v.kind != FailureKind::Transient) {
    std::string request = f.request_id.empty() ? "" : " (request " + f.request_id + ")";
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised,
                    "Deepgram refused the live connection: " + reason, v.hint + request, f.status,
                    f.request_id);
    net_fail(self, reason, static_cast<int>(f.status), false);
    return;
  }
  net_fail(self, reason, static_cast<int>(f.status), true);
}

static void net_on_closed(GstDgStreamSink *self, const LiveClose &c) {
  Net &net = self->priv->net;
  /* Deepgram counts the audio it got; Metadata says how much. */
  bool heard_all =
      net.metadata_duration < 0 || net.metadata_duration + 0.05 >= net.time_map.sent_seconds();
  if (net.close_sent && c.code == SOUP_WEBSOCKET_CLOSE_NORMAL && heard_all) {
    /* The close that answers CloseStream: all results are in. */
    net_ack(self, net.time_map.end_pts());
    net.conn.reset();
    net.close_sent = false;
    net_set_phase(self, Phase::Idle);
    net_finish_drain(self, true);
    return;
  }
  std::string reason = "closed " + std::to_string(c.code);
  if (!c.reason.empty())
    reason += " " + c.reason;
  if (!c.error.empty())
    reason += " (" + c.error + ")";
  if (c.too_big) {
    GST_ELEMENT_WARNING(self, STREAM, DECODE,
                        ("Deepgram sent a message larger than %u bytes: connection closed (1009)",
                         static_cast<unsigned>(LiveConnection::kMaxIncomingFrame)),
                        ("%s", reason.c_str()));
  }
  if (classify_close(c.code, c.reason).kind == FailureKind::Permanent) {
    GstCaps *as_caps = gst_audio_info_to_caps(&net.info);
    gchar *caps = as_caps ? gst_caps_to_string(as_caps) : g_strdup("unknown caps");
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised,
                    "Deepgram could not decode the audio (close " + std::to_string(c.code) + " " +
                        c.reason + ")",
                    std::string("caps sent as linear16: ") + caps, 0, net.request_id,
                    GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
    g_free(caps);
    if (as_caps)
      gst_caps_unref(as_caps);
    net_fail(self, reason, c.code, false);
    return;
  }
  net_fail(self, reason, c.code, true);
}

static void net_start_connect(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.running || !net.have_caps || net.conn || net.phase == Phase::Fatal)
    return;
  if (net.retry_source) {
    priv->net_thread->remove_source(net.retry_source);
    net.retry_source = 0;
  }
  if (!net.breaker)
    net.breaker = net_take_breaker(self);
  net.permit = net.breaker->try_acquire();
  if (!net.permit) {
    /* Spare the service: no connection while the shared breaker is open. */
    update_stats(self, [&](Stats &s) { s.last_error = "breaker open"; });
    net_set_phase(self, Phase::Down);
    if (net.supervised) {
      /* The supervisor replays this audio elsewhere; sending it later too
       * would transcribe it twice. */
      net.unsent.clear();
      net.unsent_duration = 0;
    }
    if (!net.reported_breaker_open) {
      net.reported_breaker_open = true;
      GST_WARNING_OBJECT(self, "breaker '%s' is open: not connecting", net.breaker->name().c_str());
      push_upstream(self, Health{false, "breaker open", 0, true, net.session_id});
    }
    net_schedule_reconnect(self);
    return;
  }
  net.permit_pending = true;
  net.session_id = new_session_id();
  net.time_map.reset(GST_AUDIO_INFO_RATE(&net.info));
  net.metadata_duration = -1;
  net.acked_pts = 0;
  net.close_sent = false;
  SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, net.request.full_url.c_str());
  if (!msg) {
    net_fail(self, "invalid URL", 0, false);
    return;
  }
  dg_prepare_message(msg, net.request, priv->active.common.tls_verify);
  LiveConnectionCallbacks cb;
  cb.on_open = [self](const std::string &id) { net_on_open(self, id); };
  cb.on_handshake_failed = [self](const LiveHandshakeFailure &f) {
    net_on_handshake_failed(self, f);
  };
  cb.on_text = [self](const char *text, size_t len) { net_on_text(self, text, len); };
  cb.on_closed = [self](const LiveClose &c) { net_on_closed(self, c); };
  GST_INFO_OBJECT(self, "connecting to %s (session %s)", net.request.full_url.c_str(),
                  net.session_id.c_str());
  net_set_phase(self, Phase::Connecting);
  net.conn =
      std::make_unique<LiveConnection>(net.session, msg, priv->active.connect_ms, std::move(cb));
  g_object_unref(msg);
}

/* Periodic: KeepAlive during gaps, Finalize at pauses, stall detection. */
static bool net_tick(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.running)
    return false;
  if (net.drops.pending() && now_us() - net.last_drop_us >= G_USEC_PER_SEC)
    net_flush_dropped(self); /* the run has ended */
  net_give_up_if_due(self);
  if (net.phase != Phase::Open || !net.conn)
    return true;
  uint64_t now = now_ns();
  switch (net.watchdog.check(now)) {
  case LiveWatchdog::Due::Stall:
    net_fail(self, net.watchdog.stall_reason(), 0, true);
    break;
  case LiveWatchdog::Due::InterimStall:
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Deepgram sends interim results but no final"),
                        ("%s", net.watchdog.stall_reason().c_str()));
    net_fail(self, net.watchdog.stall_reason(), 0, true);
    break;
  case LiveWatchdog::Due::Finalize:
    net_finalize(self);
    break;
  case LiveWatchdog::Due::KeepAlive:
    if (net.conn->send_text("{\"type\":\"KeepAlive\"}")) {
      net.watchdog.on_text_sent(now);
      update_stats(self, [](Stats &s) { s.keepalives++; });
    }
    break;
  case LiveWatchdog::Due::Nothing:
    break;
  }
  return true;
}

/* The watchdog's timers, from the active settings. */
static void net_start_ticking(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  const StreamSettings &a = priv->active;
  WatchdogSettings w;
  w.stall = static_cast<uint64_t>(a.stall_ms) * GST_MSECOND;
  w.keepalive = static_cast<uint64_t>(a.keepalive_ms) * GST_MSECOND;
  w.idle_finalize = kIdleFinalizeNs;
  priv->net.watchdog.set_settings(w);
  guint shortest = std::min({a.keepalive_ms ? a.keepalive_ms : a.stall_ms, a.stall_ms,
                             static_cast<guint>(kIdleFinalizeNs / GST_MSECOND)});
  /* Aligned: every sink's tick shares one wakeup (see docs/performance.md). */
  priv->net.tick_source = priv->net_thread->add_aligned_timeout(std::max(50u, shortest / 4),
                                                                [self] { return net_tick(self); });
}

static void net_on_audio(GstDgStreamSink *self, uint64_t pts, uint64_t duration, GstBuffer *buf) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  BufferRef ref(buf);
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->in_transit_ns -= std::min(priv->in_transit_ns, duration);
  }
  if (!net.running || net.phase == Phase::Fatal)
    return;
  if (net.supervised && (net.phase == Phase::Down)) {
    /* The supervisor still holds this audio in its ledger. */
    GST_DEBUG_OBJECT(self, "down under a supervisor: %" GST_TIME_FORMAT " not sent",
                     GST_TIME_ARGS(pts));
    return;
  }
  net.unsent.push_back(Pending{pts, duration, std::move(ref)});
  net.unsent_duration += duration;
  /* Live input cannot wait: what replay-window cannot hold goes. Non-live
   * input waited for room in render; a replay queued after that wait may
   * briefly overfill the window, and that audio is kept, not dropped. */
  uint64_t bound = static_cast<uint64_t>(priv->active.replay_window_ms) * GST_MSECOND;
  while (net.live_input && net.unsent_duration > bound && net.unsent.size() > 1) {
    Pending &old = net.unsent.front();
    net_report_dropped(
        self, old.pts, old.duration, net.outage_cause.c_str(),
        (net.outage_reason.empty() ? std::string("still connecting") : net.outage_reason) +
            "; live input cannot wait longer than replay-window");
    net.unsent_duration -= old.duration;
    net.unsent.pop_front();
  }
  if (net.phase == Phase::Idle)
    net_start_connect(self);
  else if (net.phase == Phase::Open)
    net_send_pending(self);
  net_publish_held(self);
}

static void net_teardown(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  net.running = false;
  if (net.retry_source)
    priv->net_thread->remove_source(net.retry_source);
  if (net.tick_source)
    priv->net_thread->remove_source(net.tick_source);
  net.retry_source = net.tick_source = 0;
  if (net.conn && net.conn->is_open() && !net.close_sent)
    net.conn->send_text("{\"type\":\"CloseStream\"}");
  net.conn.reset();
  if (net.permit_pending) {
    net.breaker->report(net.permit, BreakerOutcome::Cancelled);
    net.permit_pending = false;
  }
  net.unsent.clear();
  net.unsent_duration = 0;
  if (net.ledger)
    net.ledger->clear();
  net.time_map.reset(16000);
  net.phase = Phase::Idle;
  net.eos = false;
  net_flush_dropped(self);
  net_publish_held(self);
}

/* ---- GstBaseSink -------------------------------------------------------- */

static gboolean gst_dg_stream_sink_start(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->settings_lock);
    priv->active = priv->settings;
  }
  priv->dropped.reset();
  /* Check the settings now, so a bad URL or a missing key is an error at
   * READY->PAUSED rather than at the first buffer. */
  auto check = dg_build_request(priv->active.common, DeepgramQueryOptions{}, UrlKind::WebSocket);
  if (!check) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", check.error().message.c_str()), (nullptr));
    return FALSE;
  }
  if (check->url.secure) {
    std::string insecure = dg_insecure_tls_warning(priv->active.common);
    if (!insecure.empty())
      GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", insecure.c_str()), (nullptr));
  }
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->flushing = false;
    priv->finished = false;
    priv->fatal = false;
    priv->fatal_flow = GST_FLOW_ERROR;
    priv->stats = Stats{};
    priv->held_ns = priv->in_transit_ns = 0;
    priv->live_known = false;
  }
  priv->net_thread = NetThread::for_element();
  std::string error;
  priv->net_thread->invoke_sync([&] {
    Net &net = priv->net;
    net.session = dg_make_session(priv->active.common, 0, &error);
    if (!net.session)
      return;
    uint64_t window = static_cast<uint64_t>(priv->active.replay_window_ms) * GST_MSECOND;
    net.ledger =
        std::make_unique<AudioLedger<BufferRef>>(window, [priv](const BufferRef &b, uint64_t skip) {
          return trim_buffer(priv->net.info, b, skip);
        });
    net.running = true;
    net.supervised = false;
    net.warned_malformed = false; /* one WARNING per run; stats count the rest */
    net.attempt = 0;
    net.phase = Phase::Idle;
    net_start_ticking(self);
  });
  if (!priv->net.session) {
    priv->net_thread.reset();
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.c_str()), (nullptr));
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_dg_stream_sink_stop(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  if (!priv->net_thread)
    return TRUE;
  priv->net_thread->invoke_sync([&] {
    net_teardown(self);
    Net &net = priv->net;
    if (net.session)
      g_object_unref(net.session);
    net.session = nullptr;
    net.breaker.reset();
    net.ledger.reset();
    net.have_caps = false;
  });
  priv->net_thread.reset();
  return TRUE;
}

static gboolean gst_dg_stream_sink_set_caps(GstBaseSink *sink, GstCaps *caps) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, caps) ||
      GST_AUDIO_INFO_FORMAT(&info) != GST_AUDIO_FORMAT_S16LE) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("unsupported caps"),
                      ("need S16LE interleaved audio, got %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  DeepgramQueryOptions options;
  options.sample_rate = GST_AUDIO_INFO_RATE(&info);
  options.channels = GST_AUDIO_INFO_CHANNELS(&info);
  if (options.channels > 1)
    options.multichannel = true; /* only with multichannel=true: get_caps says mono otherwise */
  const StreamSettings &a = priv->active;
  if (a.interim_results || a.utterance_end_ms)
    options.interim_results = true;
  if (a.endpointing == 0)
    options.endpointing = Endpointing::Disabled;
  else if (a.endpointing > 0) {
    options.endpointing = Endpointing::Milliseconds;
    options.endpointing_ms = static_cast<uint32_t>(a.endpointing);
  }
  if (a.utterance_end_ms)
    options.utterance_end_ms = a.utterance_end_ms;
  if (a.vad_events)
    options.vad_events = true;
  auto request = dg_build_request(a.common, options, UrlKind::WebSocket);
  if (!request) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", request.error().message.c_str()), (nullptr));
    return FALSE;
  }
  priv->net_thread->invoke_sync([&] {
    Net &net = priv->net;
    bool changed = !net.have_caps || !gst_audio_info_is_equal(&net.info, &info);
    net.info = info;
    net.request = request.value();
    net.have_caps = true;
    if (changed && net.conn) {
      /* New format: finish this connection's audio, then reconnect. The
       * ledger replays whatever it had not acknowledged. */
      GST_INFO_OBJECT(self, "caps changed: reconnecting");
      net_fail(self, "caps changed", 0, true);
    }
  });
  return TRUE;
}

/* Non-live input (a file) never loses audio for lack of room: render waits
 * while the audio held for replay (un-acked or unsent) fills replay-window.
 * Live input never waits; what the window cannot hold is reported dropped. */
static GstFlowReturn wait_for_room(GstDgStreamSink *self, uint64_t duration) {
  DgStreamSinkPrivate *priv = self->priv;
  if (!priv->live_known) {
    gboolean live = FALSE, upstream_live = FALSE;
    gst_base_sink_query_latency(GST_BASE_SINK(self), &live, &upstream_live, nullptr, nullptr);
    priv->upstream_live = upstream_live;
    priv->live_known = true;
    bool is_live = upstream_live;
    priv->net_thread->invoke([self, is_live] { self->priv->net.live_input = is_live; });
    GST_INFO_OBJECT(self, "upstream is %s: %s", upstream_live ? "live" : "not live",
                    upstream_live ? "drops what replay-window cannot hold" : "waits for room");
  }
  if (priv->upstream_live)
    return GST_FLOW_OK;
  const uint64_t window = static_cast<uint64_t>(priv->active.replay_window_ms) * GST_MSECOND;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(priv->state_lock);
      priv->state_cv.wait(lock, [&] {
        uint64_t held = priv->held_ns + priv->in_transit_ns;
        return held == 0 || held + duration <= window || priv->flushing || priv->fatal;
      });
      if (priv->fatal)
        return priv->fatal_flow;
      if (!priv->flushing)
        return GST_FLOW_OK;
    }
    /* unlock(): a state change or a flush; wait as basesink asks, then retry. */
    GstFlowReturn ret = gst_base_sink_wait_preroll(GST_BASE_SINK(self));
    if (ret != GST_FLOW_OK)
      return ret;
  }
}

static GstCaps *gst_dg_stream_sink_get_caps(GstBaseSink *sink, GstCaps *filter) {
  auto *self = GST_DG_STREAM_SINK(sink);
  bool multichannel;
  {
    std::lock_guard<std::mutex> lock(self->priv->settings_lock);
    multichannel = self->priv->settings.common.multichannel;
  }
  return dg_sink_caps(GST_BASE_SINK_PAD(sink), filter, multichannel);
}

static GstFlowReturn gst_dg_stream_sink_render(GstBaseSink *sink, GstBuffer *buffer) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    if (priv->fatal)
      return priv->fatal_flow;
  }
  const GstAudioInfo &info = priv->net.info; /* set in set_caps, before any buffer */
  guint bpf = GST_AUDIO_INFO_BPF(&info);
  gsize size = gst_buffer_get_size(buffer);
  if (bpf == 0 || size == 0)
    return GST_FLOW_OK;
  uint64_t frames = size / bpf;
  uint64_t duration = frames_to_ns(info, frames);
  uint64_t pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) {
    GstSegment *segment = &sink->segment;
    pts = segment->position != GST_CLOCK_TIME_NONE ? segment->position : 0;
  }
  GstFlowReturn room = wait_for_room(self, duration);
  if (room != GST_FLOW_OK)
    return room;
  sink->segment.position = pts + duration;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    priv->in_transit_ns += duration;
  }
  GstBuffer *ref = gst_buffer_ref(buffer);
  gst_object_ref(self);
  priv->net_thread->invoke([self, pts, duration, ref] {
    net_on_audio(self, pts, duration, ref);
    gst_object_unref(self);
  });
  return GST_FLOW_OK;
}

/* EOS: wait, bounded by finalize-timeout, for the last results. */
static void wait_for_drain(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  priv->net_thread->invoke_sync([&] {
    Net &net = priv->net;
    if (net.phase == Phase::Fatal) {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->finished = true;
      return;
    }
    net.eos = true;
    if (net.conn && net.conn->is_open())
      net_send_pending(self);
    else if (net.supervised && net.phase == Phase::Down)
      net_finish_drain(self, false); /* the supervisor replays what we held */
    else if (net.unsent.empty() && (!net.ledger || net.ledger->size() == 0) && !net.conn)
      net_finish_drain(self, true); /* nothing outstanding */
  });
  /* The timeout counts from the last message, not from EOS: a long backlog
   * that keeps being answered is waited for, a silent service is not. */
  const int64_t timeout_us = static_cast<int64_t>(priv->active.finalize_ms) * 1000;
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(priv->state_lock);
    priv->last_progress_us = now_us();
    for (;;) {
      if (priv->finished || priv->flushing || priv->fatal)
        break;
      int64_t left = priv->last_progress_us + timeout_us - now_us();
      if (left <= 0)
        break;
      priv->state_cv.wait_for(lock, std::chrono::microseconds(left));
    }
    done = priv->finished || priv->flushing || priv->fatal;
  }
  if (!done) {
    priv->net_thread->invoke_sync([&] {
      GST_WARNING_OBJECT(self, "EOS: nothing from Deepgram for finalize-timeout (%u ms)",
                         priv->active.finalize_ms);
      net_finish_drain(self, false);
    });
  }
}

static gboolean gst_dg_stream_sink_event(GstBaseSink *sink, GstEvent *event) {
  auto *self = GST_DG_STREAM_SINK(sink);
  DgStreamSinkPrivate *priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_EOS:
    wait_for_drain(self);
    break;
  case GST_EVENT_GAP: {
    GstClockTime start, duration;
    gst_event_parse_gap(event, &start, &duration);
    if (GST_CLOCK_TIME_IS_VALID(duration) && duration > 0) /* not a preroll marker */
      priv->net_thread->invoke([self] { net_finalize(self); });
    break;
  }
  case GST_EVENT_FLUSH_STOP:
    priv->net_thread->invoke_sync([&] {
      /* A flushing seek: the old audio is not wanted; start afresh. */
      bool supervised = priv->net.supervised;
      net_teardown(self);
      priv->net.running = true;
      priv->net.supervised = supervised;
      net_start_ticking(self);
    });
    {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->flushing = false;
      priv->finished = false;
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
    if (is<Supervisor>(event)) {
      GST_INFO_OBJECT(self, "supervised: recovery and replay are left to upstream");
      priv->net_thread->invoke_sync([&] {
        /* One owner of un-acknowledged audio: the supervisor's ledger holds
         * it and replays it elsewhere, so this sink keeps none. */
        priv->net.supervised = true;
        priv->net.ledger.reset();
      });
    }
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM:
    if (is<Reconnect>(event)) {
      priv->net_thread->invoke([self] {
        Net &net = self->priv->net;
        if (net.phase == Phase::Open)
          push_upstream(self, Health{true, "connected", 0, true, net.session_id});
        else if (net.phase != Phase::Connecting) {
          net.reported_breaker_open = false;
          net_start_connect(self);
        }
      });
      gst_event_unref(event);
      return TRUE;
    }
    break;
  default:
    break;
  }
  return GST_BASE_SINK_CLASS(parent_class)->event(sink, event);
}

static gboolean gst_dg_stream_sink_unlock(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  {
    std::lock_guard<std::mutex> lock(self->priv->state_lock);
    self->priv->flushing = true;
  }
  self->priv->state_cv.notify_all();
  return TRUE;
}

static gboolean gst_dg_stream_sink_unlock_stop(GstBaseSink *sink) {
  auto *self = GST_DG_STREAM_SINK(sink);
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  self->priv->flushing = false;
  return TRUE;
}

/* ---- GObject ------------------------------------------------------------- */

static GstStructure *build_stats(GstDgStreamSink *self) {
  std::lock_guard<std::mutex> lock(self->priv->state_lock);
  const Stats &s = self->priv->stats;
  return gst_structure_new(
      "dgstreamsink-stats", "state", G_TYPE_STRING, s.state.c_str(), "connections", G_TYPE_UINT64,
      s.connections, "failures", G_TYPE_UINT64, s.failures, "results", G_TYPE_UINT64, s.results,
      "finals", G_TYPE_UINT64, s.finals, "keepalives", G_TYPE_UINT64, s.keepalives, "malformed",
      G_TYPE_UINT64, s.malformed, "tolerated", G_TYPE_UINT64, s.tolerated, "audio-sent",
      G_TYPE_UINT64, s.audio_sent, "audio-replayed", G_TYPE_UINT64, s.audio_replayed,
      "audio-dropped", G_TYPE_UINT64, s.audio_dropped, "last-error", G_TYPE_STRING,
      s.last_error.c_str(), nullptr);
}

static void gst_dg_stream_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec) {
  auto *self = GST_DG_STREAM_SINK(object);
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  StreamSettings &s = self->priv->settings;
  if (dg_common_set_property(s.common, prop_id, value) ||
      breaker_properties_set(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_set(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_INTERIM_RESULTS:
    s.interim_results = g_value_get_boolean(value);
    break;
  case PROP_ENDPOINTING:
    s.endpointing = g_value_get_int(value);
    break;
  case PROP_UTTERANCE_END_MS:
    s.utterance_end_ms = g_value_get_uint(value);
    break;
  case PROP_VAD_EVENTS:
    s.vad_events = g_value_get_boolean(value);
    break;
  case PROP_KEEPALIVE_INTERVAL:
    s.keepalive_ms = g_value_get_uint(value);
    break;
  case PROP_STALL_TIMEOUT:
    s.stall_ms = g_value_get_uint(value);
    break;
  case PROP_CONNECT_TIMEOUT:
    s.connect_ms = g_value_get_uint(value);
    break;
  case PROP_FINALIZE_TIMEOUT:
    s.finalize_ms = g_value_get_uint(value);
    break;
  case PROP_RECONNECT:
    s.reconnect = g_value_get_boolean(value);
    break;
  case PROP_REPLAY_WINDOW:
    s.replay_window_ms = g_value_get_uint(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_dg_stream_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec) {
  auto *self = GST_DG_STREAM_SINK(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  std::lock_guard<std::mutex> lock(self->priv->settings_lock);
  const StreamSettings &s = self->priv->settings;
  if (dg_common_get_property(s.common, prop_id, value) ||
      breaker_properties_get(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_get(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_INTERIM_RESULTS:
    g_value_set_boolean(value, s.interim_results);
    break;
  case PROP_ENDPOINTING:
    g_value_set_int(value, s.endpointing);
    break;
  case PROP_UTTERANCE_END_MS:
    g_value_set_uint(value, s.utterance_end_ms);
    break;
  case PROP_VAD_EVENTS:
    g_value_set_boolean(value, s.vad_events);
    break;
  case PROP_KEEPALIVE_INTERVAL:
    g_value_set_uint(value, s.keepalive_ms);
    break;
  case PROP_STALL_TIMEOUT:
    g_value_set_uint(value, s.stall_ms);
    break;
  case PROP_CONNECT_TIMEOUT:
    g_value_set_uint(value, s.connect_ms);
    break;
  case PROP_FINALIZE_TIMEOUT:
    g_value_set_uint(value, s.finalize_ms);
    break;
  case PROP_RECONNECT:
    g_value_set_boolean(value, s.reconnect);
    break;
  case PROP_REPLAY_WINDOW:
    g_value_set_uint(value, s.replay_window_ms);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_dg_stream_sink_finalize(GObject *object) {
  auto *self = GST_DG_STREAM_SINK(object);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_dg_stream_sink_init(GstDgStreamSink *self) {
  self->priv = new DgStreamSinkPrivate();
  self->priv->settings.common.url = kDefaultUrl;
  gst_audio_info_init(&self->priv->net.info);
  /* Transcription wants audio as fast as it comes, not paced by the clock. */
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  /* Never a preroll for the pipeline to wait on: the service hears audio
   * only in PLAYING, so an element downstream of the captions (textoverlay
   * and its video sink) would wait in PAUSED for this sink, and this sink
   * for the pipeline to go on: a deadlock (docs/dgstreamsink.md). */
  gst_base_sink_set_async_enabled(GST_BASE_SINK(self), FALSE);
  /* Holding the last buffer for last-sample would only pin memory. */
  gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
  dg_name_refused_caps(GST_BASE_SINK_PAD(self));
}

/* The pipeline's breakers are taken at NULL->READY and let go at READY->NULL. */
static GstStateChangeReturn gst_dg_stream_sink_change_state(GstElement *element,
                                                            GstStateChange transition) {
  auto *self = GST_DG_STREAM_SINK(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    self->priv->breakers.ensure(element);
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    self->priv->breakers.release();
  return ret;
}

static void gst_dg_stream_sink_set_context(GstElement *element, GstContext *context) {
  GST_DG_STREAM_SINK(element)->priv->breakers.on_set_context(context);
  GST_ELEMENT_CLASS(parent_class)->set_context(element, context);
}

static void gst_dg_stream_sink_class_init(GstDgStreamSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *base_class = GST_BASE_SINK_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(dg_stream_sink_debug, "dgstreamsink", 0, "Deepgram live sink");

  gobject_class->set_property = gst_dg_stream_sink_set_property;
  gobject_class->get_property = gst_dg_stream_sink_get_property;
  gobject_class->finalize = gst_dg_stream_sink_finalize;

  dg_common_install_properties(gobject_class, kDefaultUrl, "live");
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_INTERIM_RESULTS,
      g_param_spec_boolean("interim-results", "Interim results",
                           "Ask for interim (not yet final) results; they are posted as "
                           "stt/transcript with is-final=false",
                           DEFAULT_INTERIM_RESULTS, rw));
  g_object_class_install_property(
      gobject_class, PROP_ENDPOINTING,
      g_param_spec_int("endpointing", "Endpointing",
                       "Silence in ms that ends an utterance; 0 disables endpointing, -1 keeps "
                       "Deepgram's default (10 ms)",
                       -1, 60000, DEFAULT_ENDPOINTING, rw));
  g_object_class_install_property(
      gobject_class, PROP_UTTERANCE_END_MS,
      g_param_spec_uint("utterance-end-ms", "Utterance end",
                        "Gap in ms after the last word that posts stt/utterance-end (0: off; "
                        "turns on interim results, which Deepgram requires)",
                        0, 60000, DEFAULT_UTTERANCE_END_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_VAD_EVENTS,
      g_param_spec_boolean("vad-events", "VAD events",
                           "Post stt/speech-started when Deepgram detects speech",
                           DEFAULT_VAD_EVENTS, rw));
  g_object_class_install_property(
      gobject_class, PROP_KEEPALIVE_INTERVAL,
      g_param_spec_uint("keepalive-interval", "KeepAlive interval",
                        "Send a KeepAlive after this many ms without audio, so a paused or "
                        "silent pipeline is not closed for idleness (NET-0001); 0 disables",
                        0, 60000, DEFAULT_KEEPALIVE_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_STALL_TIMEOUT,
      g_param_spec_uint("stall-timeout", "Stall timeout",
                        "Treat the connection as dead when Deepgram sends nothing (or only "
                        "interim results) for this many ms while it owes results",
                        100, 600000, DEFAULT_STALL_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint("connect-timeout", "Connect timeout",
                        "Give up a connection attempt (TCP, TLS and WebSocket handshake) after "
                        "this many ms",
                        100, 600000, DEFAULT_CONNECT_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_FINALIZE_TIMEOUT,
      g_param_spec_uint("finalize-timeout", "Finalize timeout",
                        "At EOS, wait at most this many ms for the last results after "
                        "CloseStream; audio still without results is then reported in "
                        "stt/audio-dropped",
                        0, 600000, DEFAULT_FINALIZE_TIMEOUT_MS, rw));
  g_object_class_install_property(
      gobject_class, PROP_RECONNECT,
      g_param_spec_boolean("reconnect", "Reconnect",
                           "When used alone: reconnect after a failure (with jittered backoff, "
                           "through the breaker) and replay the audio the dead connection never "
                           "acknowledged. Behind sttfailover the failover decides instead",
                           DEFAULT_RECONNECT, rw));
  g_object_class_install_property(
      gobject_class, PROP_REPLAY_WINDOW,
      g_param_spec_uint("replay-window", "Replay window",
                        "Used alone: most audio in ms kept for replay after a failure "
                        "(un-acknowledged plus audio arriving while down); older audio is "
                        "reported in stt/audio-dropped. Behind sttfailover the failover's own "
                        "replay-window holds it instead",
                        0, 3600000, DEFAULT_REPLAY_WINDOW_MS, rw));
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "reconnect (when used alone; behind sttfailover the failover "
                                   "decides)",
                                   RetryBackoffProperties{}, GST_PARAM_MUTABLE_READY);
  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the live API",
                             "behind sttfailover, the failover's, whose settings then apply",
                             default_breaker(), GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed(
          "stats", "Statistics",
          "dgstreamsink-stats: state, connections, failures, results, finals, keepalives, "
          "malformed, tolerated (counters), audio-sent, audio-replayed, audio-dropped (ns), "
          "last-error (notifies on changes)",
          GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "Deepgram live transcription", "Audio/Text/Sink",
      "Streams audio to Deepgram's live speech-to-text API and posts transcripts; reconnects "
      "and replays un-acknowledged audio after failures",
      DGF_MAINTAINER);

  element_class->change_state = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_change_state);
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_set_context);
  base_class->start = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_stop);
  base_class->set_caps = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_set_caps);
  base_class->get_caps = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_get_caps);
  base_class->render = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_render);
  base_class->event = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_event);
  base_class->unlock = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_dg_stream_sink_unlock_stop);
}
