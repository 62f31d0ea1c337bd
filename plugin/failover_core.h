/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The failover's state machine, apart from GStreamer so it runs on fake time.
 *
 * States (docs/sttfailover.md has the diagram):
 *   streaming  -- audio to the stream branch, kept in the ledger until acked
 *   degraded   -- audio to the batch branch; recovery attempts on a backoff
 *   recovering -- the stream reported healthy; from the cut T audio goes to
 *                 the stream again, but recovery counts only once the new
 *                 session returned a final result for audio >= T
 *   batch      -- mode auto with input that is not live (a file): the batch
 *                 branch is the primary one (docs/sttfailover.md says why);
 *                 while it fails the state is degraded, with no recovery
 *                 attempts on the stream: the batch sink retries and holds
 *
 * Every input returns the actions to carry out, in order. Audio pushes,
 * flushes and replays are only returned from calls made on the streaming
 * thread (on_buffer, on_stream_push_failed, on_eos, take_pending); inputs
 * from other threads (health, acks, timers) leave replays pending for the
 * next of those calls, so replays always precede live audio.
 *
 * Times are nanoseconds: audio times are pipeline timestamps, `now` is any
 * monotonic clock (the element's GstClock). Not thread-safe: the owner
 * serializes calls.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audio_ledger.h"
#include "backoff.h"
#include "breaker.h"
#include "caption_merger.h"
#include "drop_coalescer.h"
#include "sink_health.h"

namespace dgf {

enum class FailoverState { Streaming, Degraded, Recovering, Batch };
enum class FailoverMode { Auto, ForceStream, ForceBatch, StreamFirst };
const char *failover_state_name(FailoverState state); /* "streaming", ... */
const char *failover_mode_name(FailoverMode mode);    /* "auto", "force-stream", ... */

/* Audio the core routes and keeps; opaque to it (the element wraps a
 * GstBuffer, tests a span). */
class AudioPayload {
public:
  virtual ~AudioPayload() = default;
  /* The same audio without its first `skip` ns (skip < duration). */
  virtual std::shared_ptr<const AudioPayload> trimmed(uint64_t skip) const = 0;
};
using PayloadRef = std::shared_ptr<const AudioPayload>;

struct FailoverSettings {
  uint64_t replay_window = 30ull * 1000000000; /* ns of un-acked stream audio kept */
  BackoffPolicy recovery_backoff{std::chrono::milliseconds{1000}, std::chrono::milliseconds{30000}};
  /* Back to streaming only where this much quiet precedes the cut, so no word
   * is split between the branches; 0 cuts at the first buffer. */
  uint64_t cut_pause = 200ull * 1000000;
  /* ...unless no such pause came in this much audio: then cut anyway. */
  uint64_t cut_max_wait = 5ull * 1000000000;
  /* No branch able to transcribe for this long: give up (an ERROR). 0: never. */
  uint64_t max_outage = 0;
  /* Failed recovery attempts warn at most this often (the first always). */
  uint64_t warn_interval = 60ull * 1000000000;
  /* The shared breaker closed (a probe, maybe another pipeline's, got
   * through): every degraded pipeline sharing it asks again within this,
   * uniformly, instead of at its own backoff's time (up to retry-backoff-max)
   * and without a thousand connecting in the same instant. */
  uint64_t reconnect_spread = 5ull * 1000000000;
};

/* What the shared breaker says now. */
struct BreakerView {
  BreakerState state = BreakerState::Closed;
  uint64_t reopens_in = 0; /* ns until open -> half-open; 0 unless open */
};

/* Inputs from the branches: the stt upstream events, minus GStreamer. */
struct AckReport {
  uint64_t position = 0;
  std::string session_id;
  uint32_t flush_id = 0;
  bool drained = false;
};
struct TranscriptReport {
  uint64_t start = 0;
  uint64_t duration = 0;
  std::string text;
  bool is_final = true;
  std::string session_id;
  CaptionDetails details{};
};

namespace act {
/* Push audio to a branch. Replays carry their original timestamps. */
struct PushAudio {
  Branch branch = Branch::Stream;
  uint64_t start = 0;
  uint64_t duration = 0;
  PayloadRef payload;
  bool replay = false;
  bool discont = false; /* first buffer after a jump in this branch's timeline */
};
struct SendFlush { /* to batch, serialized after all audio before the cut */
  uint32_t flush_id = 0;
  std::string reason;
};
struct SendReconnect { /* to stream */
  uint32_t attempt = 0;
};
struct PostDegraded {
  std::string reason;
  int code = 0;
  std::string breaker_state;
};
struct PostRecovered {
  uint64_t degraded_duration = 0;
  uint64_t batch_audio = 0;
  uint64_t replayed = 0;
};
struct PostDropped {
  uint64_t start = 0;
  uint64_t duration = 0;
  std::string reason;   /* a token (docs/protocol.md lists them) */
  uint32_t buffers = 1; /* pieces of audio the report covers */
  std::string detail;   /* what happened, in words */
};
struct ScheduleRecovery { /* replaces any earlier schedule */
  uint64_t at = 0;        /* `now` timeline */
};
struct CancelRecovery {};
/* Something a gst-launch user must see: a WARNING. */
struct Warn {
  std::string message;
  std::string detail;
};
/* An attempt to get back to streaming failed (stt/recovery-failed). */
struct PostRecoveryFailed {
  uint32_t attempt = 0;
  std::string reason;
  int code = 0;
};
/* Nothing can transcribe and nothing will: an ERROR; the element stops. */
struct Fatal {
  std::string message;
  std::string detail;
};
struct ScheduleGiveUp { /* no branch transcribes: give up at `at` (`now` timeline) */
  uint64_t at = 0;
};
struct CancelGiveUp {};
struct StateChanged {
  FailoverState state = FailoverState::Streaming;
};
} // namespace act

using FailoverAction =
    std::variant<act::PushAudio, act::SendFlush, act::SendReconnect, act::PostDegraded,
                 act::PostRecovered, act::PostDropped, act::ScheduleRecovery, act::CancelRecovery,
                 act::StateChanged, act::Warn, act::PostRecoveryFailed, act::Fatal,
                 act::ScheduleGiveUp, act::CancelGiveUp>;
using FailoverActions = std::vector<FailoverAction>;

struct FailoverStats {
  uint32_t degraded = 0;  /* stt/degraded posted */
  uint32_t recovered = 0; /* stt/recovered posted */
  uint32_t recovery_attempts = 0;
  uint64_t time_degraded = 0;     /* ns, closed periods plus the open one */
  uint64_t stream_audio = 0;      /* ns of live audio sent to stream */
  uint64_t batch_audio = 0;       /* ns sent to batch, replays included */
  uint64_t replayed = 0;          /* ns replayed from the ledger to batch */
  uint64_t dropped = 0;           /* ns reported in stt/audio-dropped */
  uint32_t drops = 0;             /* stt/audio-dropped posted */
  uint64_t ledger_held = 0;       /* ns held for replay now */
  uint64_t captions = 0;          /* captions released by the merger */
  uint64_t ignored_stream = 0;    /* stream results from an abandoned session */
  uint32_t cuts_at_pause = 0;     /* cuts back to streaming at a pause */
  uint32_t cuts_forced = 0;       /* cuts after cut_max_wait without a pause */
  uint32_t catch_ups = 0;         /* backlogs sent to batch at once on recovering */
  uint32_t stream_restarts = 0;   /* the stream sink reconnected by itself (restarting) */
  uint64_t stream_replayed = 0;   /* ns replayed from the ledger to the stream on a restart */
  uint32_t recoveries_failed = 0; /* stt/recovery-failed posted */
  std::string last_retry_reason;  /* why the last recovery attempt failed */
};

class FailoverCore {
public:
  using Random = std::function<double()>; /* uniform [0, 1) for backoff jitter */

  explicit FailoverCore(FailoverSettings settings = {}, Random random = {});

  void set_settings(const FailoverSettings &settings);
  const FailoverSettings &settings() const { return settings_; }

  /* `quiet_before`: ns of quiet audio right before pts, as far as the caller
   * measured (only asked for while awaiting_cut()); kQuietUnknown cuts as if
   * it were a pause. */
  static constexpr uint64_t kQuietUnknown = UINT64_MAX;

  /* The streaming thread: route one live buffer. `now` is read only by the
   * first buffer after construction or reset() (callers may pass 0 after). */
  FailoverActions on_buffer(uint64_t pts, uint64_t duration, PayloadRef payload, uint64_t now,
                            uint64_t quiet_before = kQuietUnknown);
  /* The streaming thread: pushing to stream failed (not-linked, error...). */
  FailoverActions on_stream_push_failed(const std::string &why, uint64_t now);
  /* The streaming thread: an audio GAP (nothing to route, time moves on). */
  void on_gap(uint64_t start, uint64_t duration);
  /* The streaming thread: EOS arrived. Stops recovery; returns pending replays. */
  FailoverActions on_eos(uint64_t now);
  /* The streaming thread: replays that became due since the last call. */
  FailoverActions take_pending(uint64_t now);
  /* EOS: the stream did not drain in time; give its audio to batch. */
  FailoverActions on_stream_drain_timeout(uint64_t now);
  /* EOS: batch did not drain in time. Its results may still come on the bus,
   * but the text pad ends now: what it owed is reported dropped. */
  FailoverActions on_batch_drain_timeout(uint64_t now);

  /* The streaming thread, before the first buffer of a stream: whether the
   * input is live. Mode auto sends input that is not live to batch. */
  FailoverActions set_input_live(bool live, uint64_t now);
  /* Non-live input waits (backpressure) instead of overflowing the ledger:
   * may a buffer of `duration` be routed now? */
  bool has_room(uint64_t duration) const;

  /* Any thread (the sinks'): upstream reports. */
  FailoverActions on_health(Branch branch, const SinkHealth &health, uint64_t now);
  FailoverActions on_ack(Branch branch, const AckReport &ack, uint64_t now);
  FailoverActions on_transcript(Branch branch, const TranscriptReport &t, uint64_t now);
  /* The stream sink, down for the network's sake, found the path working
   * again (stt/path-restored): recover now, not at the backoff's time. */
  FailoverActions on_path_restored(uint64_t now);

  /* Any thread: the breaker changed; a recovery timer fired; the operator. */
  FailoverActions on_breaker(const BreakerView &view, uint64_t now);
  FailoverActions on_recovery_due(const BreakerView &view, uint64_t now);
  /* Any thread: the give-up timer fired. */
  FailoverActions on_give_up_due(uint64_t now);
  FailoverActions set_mode(FailoverMode mode, uint64_t now);

  /* Captions and gaps ready for the text pad, in order; `clock_position`
   * (a live pipeline's clock) releases everything before it. */
  std::vector<CaptionOutput> take_text(uint64_t clock_position = 0);
  /* take_text() would release a caption now. */
  bool caption_ready() const { return merger_.caption_ready(); }
  /* Where the text output has got to (pipeline ns). */
  uint64_t text_emitted_to() const { return merger_.emitted_to(); }
  /* EOS: everything the merger still holds. */
  std::vector<CaptionOutput> finish_text();

  /* Flushing seek: forget the stream's audio and position; keep mode and
   * settings. */
  void reset();

  FailoverState state() const { return state_; }
  FailoverMode mode() const { return mode_; }
  FailoverStats stats(uint64_t now) const;
  bool stream_drained() const { return stream_drained_; }
  bool batch_drained() const { return batch_drained_; }
  bool has_pending() const { return !pending_replay_.empty() || !stream_replay_.empty(); }
  /* Recovering, waiting for a pause to cut back to streaming at. */
  bool awaiting_cut() const { return state_ == FailoverState::Recovering && cut_pending_; }
  /* Mode auto with input that is not live: batch is the primary branch. */
  bool batch_primary() const { return mode_ == FailoverMode::Auto && input_known_ && !input_live_; }
  /* The batch branch's last health report (true before any). */
  bool batch_healthy() const { return batch_healthy_; }
  /* An ERROR was posted: nothing can transcribe (permanent failures, or
   * max_outage passed). Audio is refused from then on. */
  bool fatal() const { return fatal_; }
  uint64_t watermark() const { return merger_.watermark(); }

private:
  using Ledger = AudioLedger<PayloadRef>;

  void start(uint64_t now, FailoverActions &out);
  /* Leave streaming/recovering: replay un-acked stream audio to batch. */
  void degrade(const std::string &reason, int code, uint64_t now, FailoverActions &out,
               bool announce = true);
  void declare_recovered(uint64_t now, FailoverActions &out);
  /* Batch primary: its outage opens and closes the stt/degraded period. */
  void on_batch_primary_health(const SinkHealth &health, uint64_t now, FailoverActions &out);
  /* Mode or liveness changed which branch is primary. */
  void primary_changed(bool was_batch_primary, uint64_t now, FailoverActions &out);
  /* A recovery attempt (or the session it gave) failed. */
  void recovery_failed(const SinkHealth &health, uint64_t now, FailoverActions &out);
  /* Re-judges "no branch transcribes": warns, arms or disarms the give-up. */
  void update_outage(uint64_t now, FailoverActions &out);
  bool nothing_transcribes() const;
  void go_fatal(const std::string &message, const std::string &detail, FailoverActions &out);
  /* Awaiting the cut: is this buffer the place (a pause, or waited long enough)? */
  bool cut_due(uint64_t pts, uint64_t quiet_before);
  uint32_t take_flush_id(); /* never 0: 0 means "no flush" on the wire */
  void schedule(uint64_t at, FailoverActions &out);
  /* The next attempt after the backoff, and not before the breaker allows. */
  void schedule_attempt(uint64_t now, FailoverActions &out);
  uint64_t backoff_ns(uint32_t attempt);
  void drain_pending(FailoverActions &out);
  void route_stream(uint64_t pts, uint64_t duration, PayloadRef payload, FailoverActions &out);
  void route_batch(uint64_t pts, uint64_t duration, PayloadRef payload, bool replay,
                   FailoverActions &out);
  /* Audio routed nowhere (force-stream while the stream is down): reported
   * in runs of up to a second rather than one message per buffer. */
  void drop(uint64_t start, uint64_t duration, const std::string &reason, const std::string &detail,
            FailoverActions &out);
  void flush_drop_run(FailoverActions &out);
  void post_drop(uint64_t start, uint64_t duration, const std::string &reason,
                 const std::string &detail, FailoverActions &out, uint32_t buffers = 1);
  void set_state(FailoverState state, FailoverActions &out);
  bool recovery_wanted() const;
  bool accept_stream(const std::string &session_id) const;

  FailoverSettings settings_;
  Random random_;
  Ledger ledger_;
  CaptionMerger merger_;

  FailoverState state_ = FailoverState::Streaming;
  FailoverMode mode_ = FailoverMode::Auto;
  BreakerView breaker_;
  bool started_ = false;
  bool eos_ = false;
  bool input_known_ = false;
  bool input_live_ = true;
  bool batch_healthy_ = true;
  bool stream_permanent_ = false; /* the live API refused for good (401, 402, 1008...) */
  bool batch_permanent_ = false;
  std::string stream_reason_; /* last unhealthy reports, for messages */
  std::string batch_reason_;
  bool reconnect_outstanding_ = false; /* a SendReconnect not answered yet */
  std::optional<uint64_t> last_recovery_warning_;
  std::optional<uint64_t> nothing_since_; /* no branch transcribes since */
  bool fatal_ = false;

  /* The stream session whose results count; empty until it reports. */
  std::string stream_session_;
  /* Stream results for audio before this are stale (replayed elsewhere). */
  uint64_t stream_from_ = 0;
  bool cut_pending_ = false;              /* recovering: cut at the next pause */
  std::optional<uint64_t> cut_wait_from_; /* pts of the first buffer awaiting the cut */
  uint64_t cut_at_ = 0;
  bool stream_discont_ = false;
  std::optional<uint64_t> batch_end_; /* end of the audio last sent to batch */
  std::optional<uint64_t> input_end_; /* end of the last buffer in: a later PTS is a pause */
  bool batch_dirty_ = false;          /* batch got audio since its last flush */
  bool catch_up_due_ = false;         /* recovering: batch uploads what it holds now */
  uint32_t next_flush_id_ = 1;
  uint32_t pending_flush_id_ = 0;
  std::deque<Ledger::Entry> pending_replay_;
  /* The stream sink reconnects by itself (SinkHealth::restarting): stream
   * audio is held in the ledger, not pushed, until the new session reports;
   * then everything un-acked goes to it again, in order, before live audio. */
  bool restart_pending_ = false;
  bool restart_reconnect_due_ = false; /* the SendReconnect, from the streaming thread */
  std::deque<Ledger::Entry> stream_replay_;

  bool outage_open_ = false; /* stt/degraded posted, stt/recovered not yet */
  uint64_t degraded_since_ = 0;
  uint64_t period_batch_audio_ = 0;
  uint64_t period_replayed_ = 0;
  uint32_t attempt_ = 0;
  std::optional<uint64_t> scheduled_at_;

  DropCoalescer drops_;

  bool stream_drained_ = false;
  bool batch_drained_ = false;
  FailoverStats stats_;
};

} // namespace dgf
