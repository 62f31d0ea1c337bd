/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover: zero-loss failover between a streaming and a batch STT branch.
 *
 * The decisions are made by dgf::FailoverCore (plugin/failover_core.h, pure
 * C++, unit-tested on fake time); this file is the GStreamer glue: pads,
 * events, the stt protocol, the shared breaker, timers, properties.
 *
 * Threads:
 * - the streaming thread (chain, sink events) pushes all audio, flushes and
 *   replays, so a replay always precedes the live buffer after it; with
 *   input that is not live it waits for room in the ledger (backpressure);
 * - the text pad's own task (caption_pad.h) pushes captions, gaps and the
 *   text pad's events, so a slow caption consumer never holds up audio;
 * - the sinks' network thread delivers stt/health, stt/ack, stt/transcript
 *   at the stream/batch src pads; it only updates the core and posts;
 * - the clock's thread fires recovery and drain timers; a recovery timer
 *   pushes stt/reconnect on the stream pad (no audio flows there then);
 * - whoever changes the breaker runs its listener (we post stt/breaker).
 *
 * Locks: `lock` guards settings, the core and what the text task reads.
 * Order: a pad's stream lock, then `lock`, then the caption pad's own.
 * `lock` is never held while pushing, posting, notifying, calling the
 * breaker or unscheduling a clock id.
 */
/**
 * SECTION:element-sttfailover
 * @title: sttfailover
 *
 * Routes audio to a streaming speech-to-text branch (`stream` pad) while it
 * is healthy and to a batch branch (`batch` pad) through a circuit breaker
 * when it is not, replays what the stream never acknowledged, comes back to
 * streaming at a pause, and merges both branches' results into one caption
 * stream (`text` pad). The branches are sinks that speak the stt events
 * (docs/protocol.md): dgstreamsink and dgbatchsink.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=talk.wav ! decodebin ! audioconvert ! audioresample ! \
 *     sttfailover name=f \
 *     f.stream ! queue ! dgstreamsink url=wss://api.deepgram.com/v1/listen \
 *     f.batch ! queue ! dgbatchsink url=https://api.deepgram.com/v1/listen \
 *     f.text ! queue ! webvttenc ! filesink location=talk.vtt
 * ]|
 * What dgtranscribebin builds, by hand (docs/getting-started.md).
 */
#include <config.h>

#include "gststtfailover.h"

#include <gst/audio/audio.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "breaker_context.h"
#include "resilience_properties.h"
#include "sink_caps.h"
#include "caption_pad.h"
#include "caption_splitter.h"
#include "dropped_audio.h"
#include "failover_core.h"
#include "input_monitor.h"
#include "quiet_detector.h"
#include "stt_protocol.h"

GST_DEBUG_CATEGORY_STATIC(stt_failover_debug);
#define GST_CAT_DEFAULT stt_failover_debug

using namespace dgf;
namespace stt = dgf::stt;

namespace {

/* No name: the pipeline's live breaker, which its dgstreamsink shares. */
BreakerProperties default_breaker() {
  return BreakerProperties{};
}
constexpr GstSttFailoverMode DEFAULT_MODE = GST_STT_FAILOVER_MODE_AUTO;
constexpr guint DEFAULT_REPLAY_WINDOW_MS = 30000;
constexpr guint DEFAULT_BACKOFF_MIN_MS = 1000;
constexpr guint DEFAULT_BACKOFF_MAX_MS = 30000;
RetryBackoffProperties default_retry_backoff() {
  return RetryBackoffProperties{DEFAULT_BACKOFF_MIN_MS, DEFAULT_BACKOFF_MAX_MS};
}
/* Covers the p95 caption delay measured on live feeds (docs/live-feeds.md). */
constexpr guint DEFAULT_LATENCY_MS = 5000;
constexpr guint DEFAULT_DRAIN_TIMEOUT_MS = 120000; /* as dgbatchsink's own */
constexpr guint DEFAULT_CUT_PAUSE_MS = 200;
constexpr guint DEFAULT_CUT_MAX_WAIT_MS = 5000;
constexpr gdouble DEFAULT_PAUSE_THRESHOLD = -40.0;
constexpr gint DEFAULT_MAX_OUTAGE_MS = -1; /* auto */
/* max-outage=-1: a file gives up after this; live input never does. */
constexpr guint kNonLiveMaxOutageMs = 120000;

enum {
  PROP_0,
  PROP_BREAKER_FIRST,
  PROP_MODE = PROP_BREAKER_FIRST + kBreakerPropCount,
  PROP_REPLAY_WINDOW,
  PROP_RETRY_BACKOFF_FIRST,
  PROP_LATENCY = PROP_RETRY_BACKOFF_FIRST + kRetryBackoffPropCount,
  PROP_DRAIN_TIMEOUT,
  PROP_CUT_PAUSE,
  PROP_CUT_MAX_WAIT,
  PROP_PAUSE_THRESHOLD,
  PROP_STATE,
  PROP_STATS,
  PROP_CAPTION_MAX_CHARS,
  PROP_CAPTION_MAX_LINES,
  PROP_CAPTION_MAX_DURATION,
  PROP_CAPTION_SPEAKER_LINES,
  PROP_MAX_OBSERVED_DELAY,
  PROP_MAX_OUTAGE,
};

struct Settings {
  BreakerProperties breaker = default_breaker();
  CaptionSplitSettings captions; /* caption-* properties */
  GstSttFailoverMode mode = DEFAULT_MODE;
  guint replay_window_ms = DEFAULT_REPLAY_WINDOW_MS;
  RetryBackoffProperties retry_backoff = default_retry_backoff(); /* recovery attempts */
  guint latency_ms = DEFAULT_LATENCY_MS;
  guint drain_timeout_ms = DEFAULT_DRAIN_TIMEOUT_MS;
  guint cut_pause_ms = DEFAULT_CUT_PAUSE_MS;
  guint cut_max_wait_ms = DEFAULT_CUT_MAX_WAIT_MS;
  gdouble pause_threshold = DEFAULT_PAUSE_THRESHOLD;
  gint max_outage_ms = DEFAULT_MAX_OUTAGE_MS;

  /* max-outage for input of this liveness: -1 means never when live (a
   * captioner must come back by itself), kNonLiveMaxOutageMs for a file. */
  guint max_outage_for(bool live) const {
    if (max_outage_ms >= 0)
      return static_cast<guint>(max_outage_ms);
    return live ? 0 : kNonLiveMaxOutageMs;
  }
  FailoverSettings core_settings(bool live = true) const {
    FailoverSettings f;
    f.max_outage = static_cast<uint64_t>(max_outage_for(live)) * GST_MSECOND;
    f.replay_window = static_cast<uint64_t>(replay_window_ms) * GST_MSECOND;
    f.recovery_backoff.base = std::chrono::milliseconds{retry_backoff.min_ms};
    f.recovery_backoff.cap =
        std::chrono::milliseconds{std::max(retry_backoff.min_ms, retry_backoff.max_ms)};
    f.cut_pause = static_cast<uint64_t>(cut_pause_ms) * GST_MSECOND;
    f.cut_max_wait = static_cast<uint64_t>(cut_max_wait_ms) * GST_MSECOND;
    return f;
  }
};

FailoverMode to_core(GstSttFailoverMode m) {
  switch (m) {
  case GST_STT_FAILOVER_MODE_FORCE_STREAM:
    return FailoverMode::ForceStream;
  case GST_STT_FAILOVER_MODE_FORCE_BATCH:
    return FailoverMode::ForceBatch;
  case GST_STT_FAILOVER_MODE_STREAM_FIRST:
    return FailoverMode::StreamFirst;
  default:
    return FailoverMode::Auto;
  }
}

GstSttFailoverState to_gst(FailoverState s) {
  switch (s) {
  case FailoverState::Degraded:
    return GST_STT_FAILOVER_STATE_DEGRADED;
  case FailoverState::Recovering:
    return GST_STT_FAILOVER_STATE_RECOVERING;
  case FailoverState::Batch:
    return GST_STT_FAILOVER_STATE_BATCH;
  default:
    return GST_STT_FAILOVER_STATE_STREAMING;
  }
}

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

template <class... F> struct Overloaded : F... { using F::operator()...; };
template <class... F> Overloaded(F...) -> Overloaded<F...>;

} // namespace

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

struct _GstSttFailover {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *streampad;
  GstPad *batchpad;
  GstPad *textpad;
  SttFailoverPrivate *priv;
};

#define gst_stt_failover_parent_class parent_class
G_DEFINE_TYPE(GstSttFailover, gst_stt_failover, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(sttfailover, "sttfailover", GST_RANK_NONE, GST_TYPE_STT_FAILOVER);

#define AUDIO_CAPS                                                                                 \
  "audio/x-raw, format = (string) S16LE, layout = (string) interleaved, "                          \
  "rate = (int) [ 8000, 48000 ], channels = (int) [ 1, 8 ]"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate stream_template =
    GST_STATIC_PAD_TEMPLATE("stream", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate batch_template =
    GST_STATIC_PAD_TEMPLATE("batch", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE(
    "text", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("text/x-raw, format = (string) utf8"));

GType gst_stt_failover_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_FAILOVER_MODE_AUTO,
       "Live input: stream while healthy, batch while not; input that is not live (a file): "
       "batch",
       "auto"},
      {GST_STT_FAILOVER_MODE_STREAM_FIRST,
       "Stream while healthy, batch while not, whether the input is live or not", "stream-first"},
      {GST_STT_FAILOVER_MODE_FORCE_STREAM, "Stream only (audio is reported dropped while down)",
       "force-stream"},
      {GST_STT_FAILOVER_MODE_FORCE_BATCH, "Batch only", "force-batch"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttFailoverMode", values));
  return type;
}

GType gst_stt_failover_state_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_FAILOVER_STATE_STREAMING, "Audio goes to the stream branch", "streaming"},
      {GST_STT_FAILOVER_STATE_DEGRADED, "Audio goes to the batch branch", "degraded"},
      {GST_STT_FAILOVER_STATE_RECOVERING, "Stream reconnected, waiting for its first results",
       "recovering"},
      {GST_STT_FAILOVER_STATE_BATCH,
       "Audio goes to the batch branch by choice: the input is not live (mode auto)", "batch"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttFailoverState", values));
  return type;
}

/* ---- time --------------------------------------------------------------- */

/* The element's clock, or the system clock before the pipeline gives one.
 * A GstTestClock makes every timer here controllable from tests. */
static GstClock *get_clock(GstSttFailover *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  return clock ? clock : gst_system_clock_obtain();
}

static uint64_t now_ns(GstSttFailover *self) {
  GstClock *clock = get_clock(self);
  uint64_t now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now;
}

static uint64_t running_time(GstSttFailover *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  return now >= base ? now - base : 0;
}

/* Swaps the timer in `slot` for a new one at `at` (or none); call unlocked. */
static void arm_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot,
                      std::optional<uint64_t> at, GstClockCallback callback) {
  SttFailoverPrivate *priv = self->priv;
  GstClockID id = nullptr;
  if (at) {
    GstClock *clock = get_clock(self);
    id = gst_clock_new_single_shot_id(clock, *at);
    gst_object_unref(clock);
  }
  GstClockID old;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    old = priv->*slot;
    priv->*slot = id ? gst_clock_id_ref(id) : nullptr;
  }
  if (old) {
    gst_clock_id_unschedule(old);
    gst_clock_id_unref(old);
  }
  if (id) {
    gst_clock_id_wait_async(id, callback, gst_object_ref(self), gst_object_unref);
    gst_clock_id_unref(id);
  }
}

/* True (and the slot cleared) when `id` is still the armed timer. */
static bool claim_timer(GstSttFailover *self, GstClockID SttFailoverPrivate::*slot, GstClockID id) {
  SttFailoverPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  if (priv->*slot != id)
    return false;
  priv->*slot = nullptr;
  gst_clock_id_unref(id);
  return true;
}

/* ---- breaker ------------------------------------------------------------- */

static BreakerView view_of(BreakerState state, std::optional<BreakerTime> open_until) {
  BreakerView v;
  v.state = state;
  if (state == BreakerState::Open && open_until) {
    auto left = *open_until - std::chrono::steady_clock::now();
    if (left.count() > 0)
      v.reopens_in =
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
  }
  return v;
}

static std::shared_ptr<Breaker> current_breaker(GstSttFailover *self) {
  std::lock_guard<std::mutex> guard(self->priv->lock);
  return self->priv->breaker;
}

static BreakerView read_breaker(GstSttFailover *self) {
  std::shared_ptr<Breaker> breaker = current_breaker(self);
  if (!breaker)
    return BreakerView{};
  BreakerSnapshot snap = breaker->snapshot(); /* also applies due timers */
  return view_of(snap.state, snap.open_until);
}

/* ---- carrying out the core's actions ------------------------------------- */

static gboolean on_recovery_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data);
static gboolean on_giveup_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data);

static GstBuffer *buffer_to_push(const act::PushAudio &p) {
  auto *payload = static_cast<const BufferPayload *>(p.payload.get());
  GstBuffer *buf = gst_buffer_ref(payload->buffer());
  bool restamp = GST_BUFFER_PTS(buf) != p.start || GST_BUFFER_DURATION(buf) != p.duration;
  bool flag = p.discont && !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT);
  if (restamp || flag) {
    buf = gst_buffer_make_writable(buf); /* shares the memory; the ledger keeps its ref */
    GST_BUFFER_PTS(buf) = p.start;
    GST_BUFFER_DURATION(buf) = p.duration;
    if (p.discont)
      GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  }
  return buf;
}

/* Runs actions in order, unlocked. Pushes only happen for actions the core
 * returns on the streaming thread. Returns the flow for upstream. */
static GstFlowReturn run_actions(GstSttFailover *self, const FailoverActions &actions) {
  SttFailoverPrivate *priv = self->priv;
  GstFlowReturn flow = GST_FLOW_OK;
  bool notify_state = false, notify_stats = false;
  for (const FailoverAction &action : actions) {
    if (flow == GST_FLOW_FLUSHING)
      break;
    std::visit(
        Overloaded{
            [&](const act::PushAudio &p) {
              GstPad *pad = p.branch == Branch::Stream ? self->streampad : self->batchpad;
              GstFlowReturn ret = gst_pad_push(pad, buffer_to_push(p));
              if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING) {
                if (ret == GST_FLOW_FLUSHING)
                  flow = ret;
                return;
              }
              if (p.branch == Branch::Stream) {
                GST_WARNING_OBJECT(self, "push to stream failed: %s", gst_flow_get_name(ret));
                FailoverActions more;
                uint64_t now = now_ns(self);
                {
                  std::lock_guard<std::mutex> guard(priv->lock);
                  more = priv->core.on_stream_push_failed(gst_flow_get_name(ret), now);
                }
                GstFlowReturn r = run_actions(self, more);
                if (r != GST_FLOW_OK)
                  flow = r;
              } else if (ret == GST_FLOW_NOT_LINKED) {
                /* Nowhere to go: say so instead of losing it silently. */
                stt::AudioDropped d{p.start, p.duration, "not-linked", 1,
                                    "the batch pad is not linked"};
                self->priv->dropped.post(GST_ELEMENT(self), d);
              } else {
                flow = ret;
              }
            },
            [&](const act::SendFlush &f) {
              GST_INFO_OBJECT(self, "flush %u to batch (%s)", f.flush_id, f.reason.c_str());
              gst_pad_push_event(self->batchpad, stt::make_event(stt::Flush{f.flush_id, f.reason}));
            },
            [&](const act::SendReconnect &r) {
              GST_INFO_OBJECT(self, "asking the stream branch to reconnect (attempt %u)",
                              r.attempt);
              gst_pad_push_event(self->streampad, stt::make_event(stt::Reconnect{r.attempt}));
            },
            [&](const act::PostDegraded &d) {
              GST_WARNING_OBJECT(self, "degraded: %s (code %d, breaker %s)", d.reason.c_str(),
                                 d.code, d.breaker_state.c_str());
              stt::Degraded m{d.reason, d.code, d.breaker_state, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::PostRecovered &r) {
              GST_INFO_OBJECT(self, "recovered after %" GST_TIME_FORMAT,
                              GST_TIME_ARGS(r.degraded_duration));
              stt::Recovered m{r.degraded_duration, r.batch_audio, r.replayed, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::PostDropped &d) {
              GST_WARNING_OBJECT(
                  self, "audio %" GST_TIME_FORMAT " + %" GST_TIME_FORMAT " dropped: %s",
                  GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.duration), d.reason.c_str());
              stt::AudioDropped m{d.start, d.duration, d.reason, d.buffers, d.detail};
              priv->dropped.post(GST_ELEMENT(self), m);
              notify_stats = true;
            },
            [&](const act::ScheduleRecovery &s) {
              arm_timer(self, &SttFailoverPrivate::recovery_timer, s.at, on_recovery_timer_cb);
            },
            [&](const act::CancelRecovery &) {
              arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
            },
            [&](const act::StateChanged &s) {
              GST_INFO_OBJECT(self, "state: %s", failover_state_name(s.state));
              notify_state = notify_stats = true;
            },
            [&](const act::Warn &w) {
              GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("%s", w.message.c_str()),
                                  ("%s", w.detail.c_str()));
            },
            [&](const act::PostRecoveryFailed &r) {
              GST_INFO_OBJECT(self, "recovery attempt %u failed: %s", r.attempt, r.reason.c_str());
              stt::RecoveryFailed m{r.attempt, r.reason, r.code, running_time(self)};
              gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
              notify_stats = true;
            },
            [&](const act::Fatal &f) {
              GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("%s", f.message.c_str()),
                                ("%s", f.detail.c_str()));
              flow = GST_FLOW_ERROR;
              self->priv->cond.notify_all(); /* an EOS or a full ledger waits no more */
            },
            [&](const act::ScheduleGiveUp &g) {
              arm_timer(self, &SttFailoverPrivate::giveup_timer, g.at, on_giveup_timer_cb);
            },
            [&](const act::CancelGiveUp &) {
              arm_timer(self, &SttFailoverPrivate::giveup_timer, std::nullopt, nullptr);
            },
        },
        action);
  }
  if (notify_state)
    g_object_notify(G_OBJECT(self), "state");
  if (notify_stats)
    g_object_notify(G_OBJECT(self), "stats");
  return flow;
}

static gboolean on_recovery_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::recovery_timer, id))
    return TRUE; /* replaced or cancelled meanwhile */
  BreakerView view = read_breaker(self);
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_recovery_due(view, now);
  }
  run_actions(self, actions);
  return TRUE;
}

static gboolean on_giveup_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::giveup_timer, id))
    return TRUE;
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_give_up_due(now);
  }
  run_actions(self, actions);
  return TRUE;
}

static void on_breaker_event(GstSttFailover *self, const BreakerEvent &e) {
  /* Listeners run outside the breaker's lock, and we hold none of ours. */
  stt::BreakerChange m{e.name,
                       breaker_state_name(e.to),
                       breaker_state_name(e.from),
                       e.generation,
                       e.consecutive_failures,
                       static_cast<uint64_t>(e.open_for.count()) * GST_MSECOND,
                       e.trip,
                       static_cast<uint64_t>(e.open_window.count()) * GST_MSECOND};
  gst_element_post_message(GST_ELEMENT(self), stt::make_message(GST_OBJECT(self), m));
  uint64_t now = now_ns(self);
  FailoverActions actions;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    actions = self->priv->core.on_breaker(view_of(e.to, e.open_until), now);
  }
  run_actions(self, actions);
}

static void release_breaker(GstSttFailover *self) {
  std::shared_ptr<Breaker> breaker;
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    breaker = std::move(self->priv->breaker);
    self->priv->breaker.reset();
    id = self->priv->listener_id;
    self->priv->listener_id = 0;
  }
  if (breaker && id)
    breaker->remove_listener(id); /* waits for a listener call in flight */
}

/* Gets the shared breaker for the current settings before the sinks start,
 * so a stream sink with the same name finds ours and its settings. */
static void ensure_breaker(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  std::string name;
  BreakerSettings wanted;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    name = priv->settings.breaker.name;
    wanted = priv->settings.breaker.settings().clamped();
    if (priv->breaker && priv->breaker_name == name && priv->breaker_settings == wanted &&
        (!name.empty() || priv->breaker_registry == priv->breakers.registry()))
      return;
  }
  release_breaker(self);
  std::string conflict;
  std::shared_ptr<Breaker> breaker = priv->breakers.get(name, kLiveBreakerKey, wanted, &conflict);
  if (!conflict.empty())
    GST_WARNING_OBJECT(self, "breaker '%s' already exists with other settings: %s", name.c_str(),
                       conflict.c_str());
  uint64_t id = breaker->add_listener([self](const BreakerEvent &e) { on_breaker_event(self, e); });
  BreakerSnapshot snap = breaker->snapshot();
  uint64_t now = now_ns(self);
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->breaker = breaker;
  priv->breaker_name = name;
  priv->breaker_settings = wanted;
  priv->breaker_registry = priv->breakers.registry();
  priv->listener_id = id;
  priv->core.on_breaker(view_of(snap.state, snap.open_until), now);
}

/* ---- text pad -------------------------------------------------------------- */

/* A caption as a text buffer: times, and which branch and session made it. */
static GstBuffer *caption_buffer(GstSttFailover *self, const Caption &c) {
  GstBuffer *buf = gst_buffer_new_memdup(c.text.data(), c.text.size());
  GST_BUFFER_PTS(buf) = c.start;
  GST_BUFFER_DURATION(buf) = c.duration;
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, GST_STT_FAILOVER_TRANSCRIPT_META);
  GstStructure *fields = gst_custom_meta_get_structure(meta);
  const CaptionDetails &d = c.details;
  gst_structure_set(fields, "branch", G_TYPE_STRING, branch_name(c.branch), "session-id",
                    G_TYPE_STRING, c.session_id.c_str(), "request-id", G_TYPE_STRING,
                    d.request_id.c_str(), "channel", G_TYPE_INT, d.channel, "language",
                    G_TYPE_STRING, d.language.c_str(), "speaker", G_TYPE_INT, d.speaker,
                    "from-finalize", G_TYPE_BOOLEAN, d.from_finalize, nullptr);
  GValue words = G_VALUE_INIT;
  gst_value_array_init(&words, d.words.size());
  for (const CaptionWordInfo &w : d.words) {
    stt::TimedWord word{w.word,       w.word,    w.start,    w.end,
                        w.confidence, w.speaker, w.language, w.speaker_confidence};
    GValue item = G_VALUE_INIT;
    g_value_init(&item, GST_TYPE_STRUCTURE);
    GstStructure *ws = stt::to_structure(word);
    gst_value_set_structure(&item, ws);
    gst_structure_free(ws);
    gst_value_array_append_and_take_value(&words, &item);
  }
  gst_structure_take_value(fields, "words", &words);
  GST_LOG_OBJECT(self, "caption %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT " [%s] %s",
                 GST_TIME_ARGS(c.start), GST_TIME_ARGS(c.duration), branch_name(c.branch),
                 c.text.c_str());
  return buf;
}

/* The latency captions may take: what we answer to LATENCY queries, or the
 * pipeline's when it chose more (a pipeline whose sinks do not sync chooses
 * 0, which promises nothing to us). Call locked. */
static GstClockTime caption_latency_locked(SttFailoverPrivate *priv) {
  GstClockTime ours =
      priv->upstream_latency + static_cast<GstClockTime>(priv->settings.latency_ms) * GST_MSECOND;
  if (GST_CLOCK_TIME_IS_VALID(priv->configured_latency))
    return std::max(ours, priv->configured_latency);
  return ours;
}

/* Live: the stream time the text pad must reach now (running time minus the
 * latency, a tick ahead so downstream never waits for the next tick). */
static uint64_t caption_clock_position(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  GstClockTime now = running_time(self);
  if (!GST_CLOCK_TIME_IS_VALID(now))
    return 0;
  std::lock_guard<std::mutex> guard(priv->lock);
  GstClockTime latency = caption_latency_locked(priv);
  if (priv->segment.format != GST_FORMAT_TIME || now + CaptionPad::kTick <= latency)
    return 0;
  guint64 position = gst_segment_position_from_running_time(&priv->segment, GST_FORMAT_TIME,
                                                            now + CaptionPad::kTick - latency);
  return GST_CLOCK_TIME_IS_VALID(position) ? position : 0;
}

/* Live: how long after its audio a caption at `pts` leaves. */
static GstClockTime caption_delay(GstSttFailover *self, uint64_t pts) {
  GstClockTime now = running_time(self);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  if (!GST_CLOCK_TIME_IS_VALID(now) || self->priv->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  GstClockTime at = gst_segment_to_running_time(&self->priv->segment, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(at))
    return GST_CLOCK_TIME_NONE;
  return now > at ? now - at : 0;
}

/* A caption left later than the latency allows: it is still shown (late),
 * and a WARNING says by how much, each time the worst delay grows by a second. */
static void note_caption_delay(GstSttFailover *self, GstClockTime delay) {
  SttFailoverPrivate *priv = self->priv;
  GstClockTime latency;
  bool notify = false, warn = false;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    latency = caption_latency_locked(priv);
    if (delay > priv->max_delay) {
      priv->max_delay = delay;
      notify = true;
    }
    if (delay > latency && delay >= priv->warned_delay + GST_SECOND) {
      priv->warned_delay = delay;
      warn = true;
    }
  }
  if (warn)
    GST_ELEMENT_WARNING_WITH_DETAILS(
        self, CORE, CLOCK,
        ("Captions are late: %" G_GUINT64_FORMAT
         " ms after their audio, latency is %" G_GUINT64_FORMAT " ms",
         delay / GST_MSECOND, latency / GST_MSECOND),
        ("downstream saw them after the video they belong to; raise latency (and the video queue) "
         "or see docs/live-feeds.md"),
        ("max-observed-delay", G_TYPE_UINT64, static_cast<guint64>(delay), "latency", G_TYPE_UINT64,
         static_cast<guint64>(latency), nullptr));
  if (notify)
    g_object_notify(G_OBJECT(self), "max-observed-delay");
}

/* Something may be ready for the text pad. */
static void wake_captions(GstSttFailover *self) {
  if (self->priv->captions)
    self->priv->captions->wake();
}

/* A final transcript cut into caption-sized pieces (caption-* properties);
 * interims and empty finals go to the core whole. */
static std::vector<TranscriptReport> caption_pieces(const stt::TimedTranscript &t,
                                                    const CaptionSplitSettings &settings) {
  TranscriptReport whole{t.start, t.duration, t.text, t.is_final, t.session_id, {}};
  whole.details.channel = t.channel;
  whole.details.language = t.language;
  whole.details.speaker = t.speaker;
  whole.details.from_finalize = t.from_finalize;
  whole.details.request_id = t.request_id;
  for (const stt::TimedWord &w : t.words)
    whole.details.words.push_back(
        CaptionWordInfo{w.punctuated_word.empty() ? w.word : w.punctuated_word, w.start, w.end,
                        w.confidence, w.speaker, w.speaker_confidence, w.language});
  if (!t.is_final)
    return {whole};
  std::vector<CaptionWord> words;
  for (const stt::TimedWord &w : t.words)
    words.push_back(CaptionWord{w.punctuated_word.empty() ? w.word : w.punctuated_word, w.start,
                                w.end, w.speaker});
  std::vector<CaptionCue> cues = split_caption(words, t.start, t.duration, t.text, settings);
  std::vector<TranscriptReport> pieces;
  for (size_t i = 0; i < cues.size(); i++) {
    TranscriptReport piece{cues[i].start, cues[i].duration, cues[i].text(),
                           true,          t.session_id,     whole.details};
    /* A cue's words: those starting from its start up to the next cue. */
    uint64_t until = i + 1 < cues.size() ? cues[i + 1].start : UINT64_MAX;
    piece.details.words.clear();
    for (const CaptionWordInfo &w : whole.details.words)
      if (w.start >= cues[i].start && w.start < until)
        piece.details.words.push_back(w);
    pieces.push_back(std::move(piece));
  }
  if (pieces.empty())
    pieces.push_back(whole); /* still a final: it may prove a recovering session */
  return pieces;
}

/* ---- upstream reports from the sinks (their thread) ----------------------- */

static void start_drain_timer(GstSttFailover *self);

static gboolean src_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM || pad == self->textpad)
    return gst_pad_event_default(pad, parent, event);
  Branch branch = pad == self->streampad ? Branch::Stream : Branch::Batch;
  FailoverActions actions;
  bool handled = true;
  uint64_t now = now_ns(self);
  if (auto h = stt::parse<stt::Health>(event)) {
    GST_INFO_OBJECT(self, "%s health: %s (%s, code %d, session %s)", branch_name(branch),
                    h->healthy ? "healthy" : "unhealthy", h->reason.c_str(), h->code,
                    h->session_id.c_str());
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_health(
        branch, HealthReport{h->healthy, h->reason, h->code, h->retryable, h->session_id}, now);
  } else if (auto a = stt::parse<stt::Ack>(event)) {
    GST_DEBUG_OBJECT(self, "%s ack %" GST_TIME_FORMAT " session %s flush %u%s", branch_name(branch),
                     GST_TIME_ARGS(a->position), a->session_id.c_str(), a->flush_id,
                     a->drained ? " drained" : "");
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_ack(
        branch, AckReport{a->position, a->session_id, a->flush_id, a->drained}, now);
  } else if (auto t = stt::parse<stt::TimedTranscript>(event)) {
    std::lock_guard<std::mutex> guard(priv->lock);
    /* One caption track: with multichannel sinks, channel 0's (every
     * channel's transcript is still on the bus). */
    if (t->channel == 0)
      for (const TranscriptReport &piece : caption_pieces(*t, priv->settings.captions)) {
        FailoverActions more = priv->core.on_transcript(branch, piece, now);
        actions.insert(actions.end(), more.begin(), more.end());
      }
  } else {
    handled = false;
  }
  if (!handled)
    return gst_pad_event_default(pad, parent, event);
  bool draining;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    draining = priv->draining;
  }
  priv->cond.notify_all(); /* room in the ledger, a drain done, a state change */
  gst_event_unref(event);
  run_actions(self, actions);
  wake_captions(self);
  if (draining)
    start_drain_timer(self); /* progress: the drain waits on from here */
  return TRUE;
}

static gboolean text_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return gst_pad_query_default(pad, parent, query);
  /* Captions come after the audio they transcribe: add our latency. */
  GstClockTime extra;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    extra = static_cast<GstClockTime>(self->priv->settings.latency_ms) * GST_MSECOND;
  }
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  GstQuery *upstream = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, upstream))
    gst_query_parse_latency(upstream, &live, &min, &max);
  gst_query_unref(upstream);
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->upstream_latency = min;
  }
  gst_query_set_latency(query, live, min + extra,
                        GST_CLOCK_TIME_IS_VALID(max) ? max + extra : GST_CLOCK_TIME_NONE);
  return TRUE;
}

/* The pipeline tells its sinks the latency it chose; ours hears it through
 * the caption consumer and moves the text pad's clock by it. */
static gboolean text_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY) {
    GstClockTime latency;
    gst_event_parse_latency(event, &latency);
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->configured_latency = latency;
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean text_activate_mode(GstPad *, GstObject *parent, GstPadMode mode, gboolean active) {
  auto *self = GST_STT_FAILOVER(parent);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  return self->priv->captions->activate(active);
}

/* ---- sink pad -------------------------------------------------------------- */

static void set_flushing(GstSttFailover *self) {
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->flushing = true;
  }
  self->priv->cond.notify_all();
}

static gboolean forward_audio_event(GstSttFailover *self, GstEvent *event) {
  gboolean to_stream = gst_pad_push_event(self->streampad, gst_event_ref(event));
  gboolean to_batch = gst_pad_push_event(self->batchpad, event);
  return to_stream || to_batch;
}

/* Waits (EOS) until `pred`, the drain timer or a flush. */
template <typename Pred> static bool wait_until(GstSttFailover *self, Pred pred) {
  SttFailoverPrivate *priv = self->priv;
  std::unique_lock<std::mutex> guard(priv->lock);
  priv->cond.wait(
      guard, [&] { return priv->flushing || priv->drain_expired || priv->core.fatal() || pred(); });
  return !priv->flushing && pred();
}

static gboolean on_drain_timer_cb(GstClock *, GstClockTime, GstClockID id, gpointer data) {
  auto *self = GST_STT_FAILOVER(data);
  if (!claim_timer(self, &SttFailoverPrivate::drain_timer, id))
    return TRUE;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->drain_expired = true;
  }
  self->priv->cond.notify_all();
  return TRUE;
}

/* drain-timeout from now: at EOS, and again at every report from a branch,
 * so a long backlog that is still being answered is waited for. */
static void start_drain_timer(GstSttFailover *self) {
  guint ms;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    ms = self->priv->settings.drain_timeout_ms;
    self->priv->drain_expired = false;
    self->priv->draining = true;
  }
  arm_timer(self, &SttFailoverPrivate::drain_timer,
            now_ns(self) + static_cast<uint64_t>(ms) * GST_MSECOND, on_drain_timer_cb);
}

/* EOS: the stream first, since audio it fails to finish goes to batch; then
 * batch; then the text task pushes the last captions and EOS. Each wait ends
 * after drain-timeout on the element's clock without a report from the
 * branch being waited for. */
static gboolean handle_eos(GstSttFailover *self, GstEvent *event) {
  SttFailoverPrivate *priv = self->priv;
  FailoverActions actions;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_eos(now);
  }
  run_actions(self, actions);
  wake_captions(self);

  actions.clear();
  if (gst_pad_push_event(self->streampad, gst_event_ref(event)) &&
      gst_pad_is_linked(self->streampad)) {
    start_drain_timer(self);
    bool done = wait_until(self, [&] {
      return priv->core.stream_drained() || priv->core.state() == FailoverState::Degraded;
    });
    if (!done) {
      uint64_t now = now_ns(self);
      std::lock_guard<std::mutex> guard(priv->lock);
      if (!priv->flushing) {
        GST_WARNING_OBJECT(self, "stream branch did not drain in time: its audio goes to batch");
        actions = priv->core.on_stream_drain_timeout(now);
      }
    }
  }
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    FailoverActions more = priv->core.take_pending(0);
    actions.insert(actions.end(), more.begin(), more.end());
  }
  run_actions(self, actions); /* the stream's unfinished audio, before batch's EOS */

  if (gst_pad_push_event(self->batchpad, gst_event_ref(event)) &&
      gst_pad_is_linked(self->batchpad)) {
    start_drain_timer(self);
    if (!wait_until(self, [&] { return priv->core.batch_drained(); })) {
      GST_WARNING_OBJECT(self, "batch branch did not drain within drain-timeout");
      FailoverActions dropped;
      {
        std::lock_guard<std::mutex> guard(priv->lock);
        dropped = priv->core.on_batch_drain_timeout(0);
      }
      run_actions(self, dropped); /* never silent: the ranges without captions */
    }
  }
  bool flushing, fatal;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->draining = false;
    flushing = priv->flushing;
    fatal = priv->core.fatal();
  }
  arm_timer(self, &SttFailoverPrivate::drain_timer, std::nullopt, nullptr);
  if (flushing || fatal) {
    /* After an ERROR no EOS: an application stops reading at EOS and would
     * miss it. */
    gst_event_unref(event);
    return FALSE;
  }
  priv->captions->finish(event); /* the rest of the captions, then EOS */
  return TRUE;
}

static void push_text_stream_start(GstSttFailover *self, GstEvent *upstream) {
  gchar *id = gst_pad_create_stream_id(self->textpad, GST_ELEMENT(self), "text");
  GstEvent *start = gst_event_new_stream_start(id);
  g_free(id);
  guint group;
  if (gst_event_parse_group_id(upstream, &group))
    gst_event_set_group_id(start, group);
  self->priv->captions->queue_event(start);
  GstCaps *caps = gst_static_pad_template_get_caps(&text_template);
  self->priv->captions->queue_event(gst_event_new_caps(caps));
  gst_caps_unref(caps);
}

static gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_STREAM_START: {
    push_text_stream_start(self, event);
    gboolean ok = forward_audio_event(self, event);
    /* Sticky, after stream-start: the sinks leave recovery and giving up to us. */
    gst_pad_push_event(self->streampad, stt::make_event(stt::Supervisor{GST_OBJECT_NAME(self)}));
    gst_pad_push_event(self->batchpad, stt::make_event(stt::Supervisor{GST_OBJECT_NAME(self)}));
    return ok;
  }
  case GST_EVENT_CAPS: {
    GstCaps *caps;
    gst_event_parse_caps(event, &caps);
    GstAudioInfo info;
    if (!gst_audio_info_from_caps(&info, caps)) {
      gst_event_unref(event);
      return FALSE;
    }
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->quiet.reset(); /* rate or channels may have changed */
    }
    priv->info = info;
    priv->have_info = true;
    return forward_audio_event(self, event);
  }
  case GST_EVENT_SEGMENT: {
    const GstSegment *segment;
    gst_event_parse_segment(event, &segment);
    priv->preroll_gaps = true;
    GstSegment text_segment;
    if (segment->format == GST_FORMAT_TIME) {
      gst_segment_copy_into(segment, &text_segment);
      if (GST_CLOCK_TIME_IS_VALID(segment->start))
        priv->next_pts = segment->start;
    } else {
      gst_segment_init(&text_segment, GST_FORMAT_TIME);
    }
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->segment = text_segment;
      priv->input.restart();
    }
    priv->captions->queue_event(gst_event_new_segment(&text_segment));
    return forward_audio_event(self, event);
  }
  case GST_EVENT_TAG:
    return forward_audio_event(self, event);
  case GST_EVENT_GAP: {
    GstClockTime start, duration;
    gst_event_parse_gap(event, &start, &duration);
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      if (GST_CLOCK_TIME_IS_VALID(start) && GST_CLOCK_TIME_IS_VALID(duration))
        priv->core.on_gap(start, duration);
      priv->input.restart(); /* a pause the source announced is not loss */
    }
    gboolean ok = forward_audio_event(self, event); /* the stream sink Finalizes at it */
    wake_captions(self);
    return ok;
  }
  case GST_EVENT_EOS:
    return handle_eos(self, event);
  case GST_EVENT_FLUSH_START:
    set_flushing(self);
    priv->captions->flush_start(gst_event_ref(event));
    return forward_audio_event(self, event);
  case GST_EVENT_FLUSH_STOP:
    arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->core.reset(); /* keeps an open outage: its stt/recovered still comes */
      priv->routed_since_reset = false;
      priv->flushing = false;
    }
    priv->captions->flush_stop(gst_event_ref(event));
    return forward_audio_event(self, event);
  default:
    return gst_pad_event_default(pad, parent, event);
  }
}

static gboolean sink_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_CAPS)
    return gst_pad_query_default(pad, parent, query);
  /* What both linked branches accept (the text pad has nothing to say). */
  GstCaps *filter;
  gst_query_parse_caps(query, &filter);
  GstCaps *caps = gst_pad_get_pad_template_caps(pad);
  for (GstPad *src : {self->streampad, self->batchpad}) {
    if (!gst_pad_is_linked(src))
      continue;
    GstCaps *peer = gst_pad_peer_query_caps(src, caps);
    gst_caps_unref(caps);
    caps = peer;
  }
  if (filter) {
    GstCaps *filtered = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = filtered;
  }
  gst_query_set_caps_result(query, caps);
  gst_caps_unref(caps);
  return TRUE;
}

/* Quiet audio before this buffer, while the core looks for a pause to cut back
 * to streaming at; costs nothing on the healthy path. Called under the lock. */
static uint64_t measure_quiet(SttFailoverPrivate *priv, GstBuffer *buffer, gsize frames) {
  if (!priv->core.awaiting_cut()) {
    priv->quiet.reset();
    return FailoverCore::kQuietUnknown;
  }
  if (!priv->quiet)
    priv->quiet.emplace(GST_AUDIO_INFO_RATE(&priv->info), GST_AUDIO_INFO_CHANNELS(&priv->info),
                        priv->settings.pause_threshold);
  uint64_t before = priv->quiet->quiet_run();
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    priv->quiet->push(reinterpret_cast<const int16_t *>(map.data), frames);
    gst_buffer_unmap(buffer, &map);
  }
  return before;
}

/* Once per stream: is upstream live? Live input goes to the stream and never
 * waits; input that is not live waits for room and, in mode auto, goes to
 * the batch branch (docs/sttfailover.md, "Files"). */
static FailoverActions decide_liveness(GstSttFailover *self, uint64_t now) {
  SttFailoverPrivate *priv = self->priv;
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  GstQuery *query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query))
    gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  priv->live_known = true;
  priv->upstream_live = live;
  GST_INFO_OBJECT(self, "upstream is %s", live ? "live" : "not live");
  priv->captions->set_live(live);
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->upstream_latency = min;
  priv->input_live = live;
  priv->core.set_settings(priv->settings.core_settings(live));
  return priv->core.set_input_live(live, now);
}

/* The input itself lost audio (packets, a weak link): say so once. */
static void warn_input_loss(GstSttFailover *self) {
  InputStats in;
  double ratio;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    in = self->priv->input.stats();
    ratio = self->priv->input.warned_ratio();
  }
  GST_ELEMENT_WARNING(self, STREAM, DECODE,
                      ("The input is losing audio: %.1f %% of the last %u s never arrived",
                       ratio * 100.0, static_cast<unsigned>(InputMonitor::kWindow / GST_SECOND)),
                      ("%u holes in the timestamps, %.1f s missing in all; words in them cannot be "
                       "transcribed (stats: input-gaps, input-missing)",
                       in.gaps, in.missing / 1e9));
}

static GstFlowReturn sink_chain(GstPad *, GstObject *parent, GstBuffer *buffer) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  if (!priv->have_info) {
    gst_buffer_unref(buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  gint rate = GST_AUDIO_INFO_RATE(&priv->info);
  gint bpf = GST_AUDIO_INFO_BPF(&priv->info);
  gsize frames = gst_buffer_get_size(buffer) / bpf;
  if (frames == 0) {
    gst_buffer_unref(buffer);
    return GST_FLOW_OK;
  }
  uint64_t duration = gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  uint64_t pts =
      GST_BUFFER_PTS_IS_VALID(buffer) ? GST_BUFFER_PTS(buffer) : priv->next_pts; /* guessed */
  priv->next_pts = pts + duration;
  if (priv->preroll_gaps) {
    /* Only one branch gets audio and captions come later, but every sink
     * must preroll for the pipeline to reach PLAYING: an empty GAP each. */
    priv->preroll_gaps = false;
    for (GstPad *pad : {self->streampad, self->batchpad})
      gst_pad_push_event(pad, gst_event_new_gap(pts, 0));
    priv->captions->queue_event(gst_event_new_gap(pts, 0));
  }
  /* The core reads the time only at its first buffer: spare the clock after. */
  uint64_t now = priv->routed_since_reset ? 0 : now_ns(self);
  priv->routed_since_reset = true;
  if (!priv->live_known) {
    GstFlowReturn ret = run_actions(self, decide_liveness(self, now));
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref(buffer);
      return ret;
    }
  }
  bool lossy;
  FailoverActions actions;
  {
    std::unique_lock<std::mutex> guard(priv->lock);
    if (!priv->upstream_live) {
      /* A file never loses audio for lack of room: wait for the stream's acks. */
      priv->cond.wait(guard, [&] {
        return priv->flushing || priv->core.fatal() || priv->core.has_room(duration);
      });
      if (priv->flushing) {
        gst_buffer_unref(buffer);
        return GST_FLOW_FLUSHING;
      }
    }
    lossy = priv->input.on_buffer(pts, duration);
    uint64_t quiet_before = measure_quiet(priv, buffer, frames);
    auto payload = std::make_shared<BufferPayload>(buffer, rate, bpf);
    actions = priv->core.on_buffer(pts, duration, std::move(payload), now, quiet_before);
  }
  if (lossy)
    warn_input_loss(self);
  GstFlowReturn flow = run_actions(self, actions);
  wake_captions(self);
  if (flow == GST_FLOW_OK) {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (priv->core.fatal())
      flow = GST_FLOW_ERROR; /* the ERROR is on the bus: stop the stream */
  }
  return flow;
}

/* ---- element ---------------------------------------------------------------- */

static void reset_core(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  priv->core = FailoverCore(priv->settings.core_settings());
  priv->core.set_mode(to_core(priv->settings.mode), 0);
  priv->flushing = false;
  priv->drain_expired = false;
  priv->have_info = false;
  priv->next_pts = 0;
  priv->quiet.reset();
  priv->routed_since_reset = false;
  priv->live_known = false;
  priv->upstream_live = true;
  priv->input_live = true;
  priv->draining = false;
  gst_segment_init(&priv->segment, GST_FORMAT_UNDEFINED);
  priv->configured_latency = GST_CLOCK_TIME_NONE;
  priv->max_delay = priv->warned_delay = 0;
  priv->input = InputMonitor();
}

static GstStateChangeReturn change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_STT_FAILOVER(element);
  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY:
    self->priv->breakers.ensure(element); /* the pipeline's, via GstContext */
    ensure_breaker(self);                 /* released at READY->NULL */
    break;
  case GST_STATE_CHANGE_READY_TO_PAUSED: {
    reset_core(self);
    self->priv->dropped.reset();
    ensure_breaker(self);
    BreakerView view = read_breaker(self);
    uint64_t now = now_ns(self);
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->core.on_breaker(view, now);
    break;
  }
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    set_flushing(self); /* ends an EOS wait */
    break;
  default:
    break;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
  case GST_STATE_CHANGE_READY_TO_PAUSED:
  case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
    /* Captions come from a service that only hears audio in PLAYING (the
     * sinks block in PAUSED): like a live source, the text pad cannot
     * produce data in PAUSED, so nothing downstream of it (textoverlay and
     * its video sink) may wait for a preroll that never comes. */
    ret = GST_STATE_CHANGE_NO_PREROLL;
    break;
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    arm_timer(self, &SttFailoverPrivate::recovery_timer, std::nullopt, nullptr);
    arm_timer(self, &SttFailoverPrivate::drain_timer, std::nullopt, nullptr);
    arm_timer(self, &SttFailoverPrivate::giveup_timer, std::nullopt, nullptr);
    reset_core(self);
    break;
  case GST_STATE_CHANGE_READY_TO_NULL:
    release_breaker(self);
    self->priv->breakers.release();
    break;
  default:
    break;
  }
  return ret;
}

static GstStructure *build_stats(GstSttFailover *self) {
  FailoverStats s;
  FailoverMode mode;
  FailoverState state;
  InputStats in;
  GstClockTime max_delay;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    s = self->priv->core.stats(now);
    mode = self->priv->core.mode();
    state = self->priv->core.state();
    in = self->priv->input.stats();
    max_delay = self->priv->max_delay;
  }
  /* The plugin's one stats shape: counters and audio amounts (ns) as guint64. */
  auto u64 = [](auto v) { return static_cast<guint64>(v); };
  GstStructure *st = gst_structure_new(
      "sttfailover-stats", "state", G_TYPE_STRING, failover_state_name(state), "mode",
      G_TYPE_STRING, failover_mode_name(mode), "degraded", G_TYPE_UINT64, u64(s.degraded),
      "recovered", G_TYPE_UINT64, u64(s.recovered), "recovery-attempts", G_TYPE_UINT64,
      u64(s.recovery_attempts), "recoveries-failed", G_TYPE_UINT64, u64(s.recoveries_failed),
      "drops", G_TYPE_UINT64, u64(s.drops), "captions", G_TYPE_UINT64, u64(s.captions),
      "cuts-at-pause", G_TYPE_UINT64, u64(s.cuts_at_pause), "cuts-forced", G_TYPE_UINT64,
      u64(s.cuts_forced), nullptr);
  gst_structure_set(st, "time-degraded", G_TYPE_UINT64, u64(s.time_degraded), "audio-streamed",
                    G_TYPE_UINT64, u64(s.stream_audio), "audio-batched", G_TYPE_UINT64,
                    u64(s.batch_audio), "audio-replayed", G_TYPE_UINT64, u64(s.replayed),
                    "audio-dropped", G_TYPE_UINT64, u64(s.dropped), "audio-held", G_TYPE_UINT64,
                    u64(s.ledger_held), "ignored-stream", G_TYPE_UINT64, u64(s.ignored_stream),
                    nullptr);
  gst_structure_set(st, "last-retry-reason", G_TYPE_STRING, s.last_retry_reason.c_str(),
                    "input-gaps", G_TYPE_UINT64, u64(in.gaps), "input-missing", G_TYPE_UINT64,
                    u64(in.missing), "input-pauses", G_TYPE_UINT64, u64(in.pauses),
                    "max-observed-delay", G_TYPE_UINT64, u64(max_delay), nullptr);
  return st;
}

static void set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_FAILOVER(object);
  SttFailoverPrivate *priv = self->priv;
  FailoverActions actions;
  bool latency_changed = false;
  bool breaker_changed = false;
  uint64_t now = now_ns(self);
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    Settings &s = priv->settings;
    if (breaker_properties_set(s.breaker, PROP_BREAKER_FIRST, prop_id, value)) {
      breaker_changed = true;
      prop_id = PROP_0; /* handled */
    } else if (retry_backoff_properties_set(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id,
                                            value)) {
      priv->core.set_settings(s.core_settings(priv->input_live));
      prop_id = PROP_0;
    }
    switch (prop_id) {
    case PROP_0:
      break;
    case PROP_CAPTION_MAX_CHARS:
      s.captions.max_line_chars = g_value_get_uint(value);
      break;
    case PROP_CAPTION_MAX_LINES:
      s.captions.max_lines = g_value_get_uint(value);
      break;
    case PROP_CAPTION_MAX_DURATION:
      s.captions.max_duration = static_cast<uint64_t>(g_value_get_uint(value)) * GST_MSECOND;
      break;
    case PROP_CAPTION_SPEAKER_LINES:
      s.captions.speaker_lines = g_value_get_boolean(value);
      break;
    case PROP_MODE:
      s.mode = static_cast<GstSttFailoverMode>(g_value_get_enum(value));
      actions = priv->core.set_mode(to_core(s.mode), now);
      break;
    case PROP_REPLAY_WINDOW:
      s.replay_window_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_LATENCY:
      latency_changed = s.latency_ms != g_value_get_uint(value);
      s.latency_ms = g_value_get_uint(value);
      break;
    case PROP_DRAIN_TIMEOUT:
      s.drain_timeout_ms = g_value_get_uint(value);
      break;
    case PROP_CUT_PAUSE:
      s.cut_pause_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_CUT_MAX_WAIT:
      s.cut_max_wait_ms = g_value_get_uint(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_MAX_OUTAGE:
      s.max_outage_ms = g_value_get_int(value);
      priv->core.set_settings(s.core_settings(priv->input_live));
      break;
    case PROP_PAUSE_THRESHOLD:
      s.pause_threshold = g_value_get_double(value);
      priv->quiet.reset(); /* the next measurement uses the new threshold */
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
    }
  }
  run_actions(self, actions);
  if (breaker_changed)
    ensure_breaker(self); /* now, so sinks starting later share it with these settings */
  if (latency_changed)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_FAILOVER(object);
  SttFailoverPrivate *priv = self->priv;
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  std::lock_guard<std::mutex> guard(priv->lock);
  const Settings &s = priv->settings;
  if (breaker_properties_get(s.breaker, PROP_BREAKER_FIRST, prop_id, value) ||
      retry_backoff_properties_get(s.retry_backoff, PROP_RETRY_BACKOFF_FIRST, prop_id, value))
    return;
  switch (prop_id) {
  case PROP_MAX_OBSERVED_DELAY:
    g_value_set_uint(value, static_cast<guint>(priv->max_delay / GST_MSECOND));
    break;
  case PROP_MAX_OUTAGE:
    g_value_set_int(value, s.max_outage_ms);
    break;
  case PROP_CAPTION_MAX_CHARS:
    g_value_set_uint(value, s.captions.max_line_chars);
    break;
  case PROP_CAPTION_MAX_LINES:
    g_value_set_uint(value, s.captions.max_lines);
    break;
  case PROP_CAPTION_MAX_DURATION:
    g_value_set_uint(value, static_cast<guint>(s.captions.max_duration / GST_MSECOND));
    break;
  case PROP_CAPTION_SPEAKER_LINES:
    g_value_set_boolean(value, s.captions.speaker_lines);
    break;
  case PROP_MODE:
    g_value_set_enum(value, s.mode);
    break;
  case PROP_REPLAY_WINDOW:
    g_value_set_uint(value, s.replay_window_ms);
    break;
  case PROP_LATENCY:
    g_value_set_uint(value, s.latency_ms);
    break;
  case PROP_DRAIN_TIMEOUT:
    g_value_set_uint(value, s.drain_timeout_ms);
    break;
  case PROP_CUT_PAUSE:
    g_value_set_uint(value, s.cut_pause_ms);
    break;
  case PROP_CUT_MAX_WAIT:
    g_value_set_uint(value, s.cut_max_wait_ms);
    break;
  case PROP_PAUSE_THRESHOLD:
    g_value_set_double(value, s.pause_threshold);
    break;
  case PROP_STATE:
    g_value_set_enum(value, to_gst(priv->core.state()));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void finalize(GObject *object) {
  auto *self = GST_STT_FAILOVER(object);
  release_breaker(self);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static gboolean transcript_meta_transform(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *,
                                          GQuark type, gpointer, gpointer) {
  if (!GST_META_TRANSFORM_IS_COPY(type))
    return TRUE; /* only plain copies keep it */
  GstCustomMeta *copy = gst_buffer_add_custom_meta(dest, GST_STT_FAILOVER_TRANSCRIPT_META);
  GstStructure *to = gst_custom_meta_get_structure(copy);
  gst_structure_foreach(
      gst_custom_meta_get_structure(meta),
      [](GQuark field, const GValue *v, gpointer data) -> gboolean {
        gst_structure_id_set_value(static_cast<GstStructure *>(data), field, v);
        return TRUE;
      },
      to);
  return TRUE;
}

static void set_context(GstElement *element, GstContext *context) {
  GST_STT_FAILOVER(element)->priv->breakers.on_set_context(context);
  GST_ELEMENT_CLASS(parent_class)->set_context(element, context);
}

static void gst_stt_failover_class_init(GstSttFailoverClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(stt_failover_debug, "sttfailover", 0,
                          "zero-loss failover between streaming and batch STT");

  static const gchar *tags[] = {nullptr};
  gst_meta_register_custom(GST_STT_FAILOVER_TRANSCRIPT_META, tags, transcript_meta_transform,
                           nullptr, nullptr);

  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;
  element_class->set_context = set_context;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  breaker_properties_install(gobject_class, PROP_BREAKER_FIRST, "the live API",
                             "its dgstreamsink takes the same one after this element made it, "
                             "so these settings win",
                             default_breaker(), GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode",
                        "Routing: auto (stream while healthy, batch while not), or an operator's "
                        "override, force-stream or force-batch (changeable while playing)",
                        GST_TYPE_STT_FAILOVER_MODE, DEFAULT_MODE, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_REPLAY_WINDOW,
      g_param_spec_uint("replay-window", "Replay window",
                        "Un-acknowledged stream audio kept for replay, in ms; older audio is "
                        "reported in stt/audio-dropped if the stream then fails",
                        0, 3600000, DEFAULT_REPLAY_WINDOW_MS, rw_playing));
  retry_backoff_properties_install(gobject_class, PROP_RETRY_BACKOFF_FIRST,
                                   "recovery attempt (back to the live API)",
                                   default_retry_backoff(), GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint("latency", "Latency",
                        "Added to upstream latency in LATENCY answers on the text pad, in ms: how "
                        "late captions may be",
                        0, 600000, DEFAULT_LATENCY_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint("drain-timeout", "Drain timeout",
                        "At EOS, how long in ms to wait for each branch's final results", 0,
                        3600000, DEFAULT_DRAIN_TIMEOUT_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CUT_PAUSE,
      g_param_spec_uint("cut-pause", "Cut pause",
                        "Recovering, cut back to streaming only after this much quiet audio, in "
                        "ms, so no word is split between the branches (0: at the next buffer)",
                        0, 10000, DEFAULT_CUT_PAUSE_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CUT_MAX_WAIT,
      g_param_spec_uint("cut-max-wait", "Cut max wait",
                        "Recovering, cut back to streaming after this much audio in ms even "
                        "without a pause (counted in stats as cuts-forced)",
                        0, 600000, DEFAULT_CUT_MAX_WAIT_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_PAUSE_THRESHOLD,
      g_param_spec_double("pause-threshold", "Pause threshold",
                          "Level under which audio counts as quiet for cut-pause, in dBFS RMS "
                          "per 20 ms window, loudest channel",
                          -120.0, 0.0, DEFAULT_PAUSE_THRESHOLD, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_OUTAGE,
      g_param_spec_int("max-outage", "Max outage",
                       "Give up with an ERROR once neither branch could transcribe for this many "
                       "ms (both APIs failing, or the one in use refusing for good); 0: never; "
                       "-1: 120000 for input that is not live, never for live input (a captioner "
                       "must come back by itself; WARNINGs say what is wrong meanwhile)",
                       -1, G_MAXINT, DEFAULT_MAX_OUTAGE_MS, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MAX_OBSERVED_DELAY,
      g_param_spec_uint("max-observed-delay", "Max observed delay",
                        "Live input: the longest a caption has left the text pad after its audio, "
                        "in ms (notifies; a WARNING when it passes the latency)",
                        0, G_MAXUINT, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_STATE,
      g_param_spec_enum("state", "State", "streaming, degraded or recovering (notifies)",
                        GST_TYPE_STT_FAILOVER_STATE, GST_STT_FAILOVER_STATE_STREAMING, ro));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "sttfailover-stats: state, mode; degraded, recovered, "
                         "recovery-attempts, recoveries-failed, drops, captions, cuts-at-pause, "
                         "cuts-forced, ignored-stream, input-gaps, input-pauses (counters); "
                         "time-degraded, audio-streamed, audio-batched, audio-replayed, "
                         "audio-dropped, audio-held, input-missing, max-observed-delay (ns); "
                         "last-retry-reason (notifies on changes)",
                         GST_TYPE_STRUCTURE, ro));
  const CaptionSplitSettings captions;
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_CHARS,
      g_param_spec_uint("caption-max-chars", "Caption max chars",
                        "Longest caption line in characters; lines break between words (0: no "
                        "limit; 32 for CEA-608)",
                        0, 1000, captions.max_line_chars, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_LINES,
      g_param_spec_uint("caption-max-lines", "Caption max lines",
                        "Most lines in one caption; a longer transcript becomes several captions",
                        1, 10, captions.max_lines, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_MAX_DURATION,
      g_param_spec_uint("caption-max-duration", "Caption max duration",
                        "Longest time in ms one caption stays on screen (0: no limit; with "
                        "caption-max-chars=0 and no speaker lines, transcripts pass whole)",
                        0, 600000, static_cast<guint>(captions.max_duration / GST_MSECOND),
                        rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_CAPTION_SPEAKER_LINES,
      g_param_spec_boolean("caption-speaker-lines", "Caption speaker lines",
                           "A speaker change starts a new caption line, marked \"- \" when two "
                           "speakers share a caption (needs diarize on the sinks)",
                           captions.speaker_lines, rw_playing));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &stream_template);
  gst_element_class_add_static_pad_template(element_class, &batch_template);
  gst_element_class_add_static_pad_template(element_class, &text_template);
  gst_element_class_set_static_metadata(
      element_class, "STT failover", "Audio/Text/Filter",
      "Routes audio to a streaming or a batch speech-to-text branch, fails over without losing "
      "audio, recovers, and merges captions from both",
      DGF_MAINTAINER);

  gst_type_mark_as_plugin_api(GST_TYPE_STT_FAILOVER_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_STT_FAILOVER_STATE, static_cast<GstPluginAPIFlags>(0));
}

static void gst_stt_failover_init(GstSttFailover *self) {
  self->priv = new SttFailoverPrivate();
  self->priv->core = FailoverCore(self->priv->settings.core_settings());
  gst_audio_info_init(&self->priv->info);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, sink_chain);
  gst_pad_set_event_function(self->sinkpad, sink_event);
  gst_pad_set_query_function(self->sinkpad, sink_query);
  dg_name_refused_caps(self->sinkpad); /* an ERROR naming them, not just not-negotiated */
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->streampad = gst_pad_new_from_static_template(&stream_template, "stream");
  gst_pad_set_event_function(self->streampad, src_event);
  gst_pad_use_fixed_caps(self->streampad);
  gst_element_add_pad(GST_ELEMENT(self), self->streampad);

  self->batchpad = gst_pad_new_from_static_template(&batch_template, "batch");
  gst_pad_set_event_function(self->batchpad, src_event);
  gst_pad_use_fixed_caps(self->batchpad);
  gst_element_add_pad(GST_ELEMENT(self), self->batchpad);

  self->textpad = gst_pad_new_from_static_template(&text_template, "text");
  gst_pad_set_query_function(self->textpad, text_query);
  gst_pad_set_event_function(self->textpad, text_event);
  gst_pad_set_activatemode_function(self->textpad, text_activate_mode);
  gst_pad_use_fixed_caps(self->textpad);
  gst_element_add_pad(GST_ELEMENT(self), self->textpad);
  CaptionSource source;
  source.take = [self](uint64_t clock_position) {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    return self->priv->core.take_text(clock_position);
  };
  source.finish = [self] {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    return self->priv->core.finish_text();
  };
  source.to_buffer = [self](const Caption &c) { return caption_buffer(self, c); };
  source.clock_position = [self] { return caption_clock_position(self); };
  source.delay_of = [self](uint64_t pts) { return caption_delay(self, pts); };
  source.on_delay = [self](GstClockTime delay) { note_caption_delay(self, delay); };
  self->priv->captions = std::make_unique<CaptionPad>(self->textpad, std::move(source));

  /* Held from creation (and re-got when its properties change): the sinks
   * get the breaker in their start() at NULL->READY, before this element's
   * state changes, and must find it with our settings. */
  ensure_breaker(self);
}
