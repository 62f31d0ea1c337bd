/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink's decisions, apart from GStreamer so they run on fake time:
 * chunking, the backlog, the in-flight limit, retries with backoff and
 * Retry-After, breaker outcomes, results in timestamp order, max-buffer
 * drops, flush and EOS marks, the drain timeout, max-outage and permanent
 * failures.
 *
 * Backlog: the queue holds chunks (waiting, in flight, transcribed but held
 * behind an older chunk) and flush/EOS marks, oldest first. Its front leaves
 * only when finished, so results leave in timestamp order whatever order the
 * requests finish in. Held audio (waiting + in flight) is bounded by
 * max_buffer: the pusher either waits for room (block) or the oldest whole
 * chunks are dropped, each exact range reported.
 *
 * Every input returns the actions to carry out, in order. Times are ns:
 * audio times are pipeline timestamps, `now` is any monotonic clock (the
 * element's GstClock). Not thread-safe: the owner (elements/dg_batch_core)
 * serializes calls.
 */
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "backoff.h"
#include "breaker.h"
#include "deepgram_json.h"
#include "pause_chunker.h"
#include "sink_health.h"
#include "time_map.h"

namespace dgf {

/* What the sink does with an answer. */
enum class UploadVerdict {
  Transcribed, /* 2xx with a response body to parse */
  Retry,       /* outage: network error, timeout, 408, 499, 5xx */
  Reject,      /* this audio is refused (400 about the audio, 413, 415, 422, other 4xx) */
  Fatal,       /* permanent: 400 options, 401, 402, 403, 404, 405, TLS (failure.h) */
  Throttled,   /* 429: over the project's concurrency; the service works, wait and resend */
  Cancelled,   /* we cancelled it */
};

struct BatchSettings {
  unsigned max_in_flight = 2;
  uint64_t max_buffer = 600ull * 1000000000; /* ns of held audio */
  ChunkerSettings chunker;
  BackoffPolicy backoff;
  /* A 2xx whose body does not parse is retried this many times, then the
   * chunk is rejected: a server that always answers garbage must not wedge
   * the queue. */
  unsigned max_bad_responses = 3;
  /* Alone (not supervised): give up (fatal) once requests failed for this
   * long; 0: never; -1: 120 s for input that is not live, never when live. */
  int max_outage_ms = -1;
};

struct BatchStats {
  uint64_t uploaded = 0; /* ns of audio transcribed (2xx answers) */
  uint64_t requests = 0;
  uint64_t failures = 0;  /* retryable failures */
  uint64_t throttled = 0; /* requests answered 429 (over the concurrency cap): no failure */
  uint64_t retries = 0;   /* requests that repeat an earlier attempt */
  uint64_t backlog = 0;   /* ns: held chunks + audio not cut yet */
  uint64_t dropped = 0;   /* ns reported by stt/audio-dropped */
  unsigned in_flight = 0;
  uint64_t chunks_transcribed = 0;
  uint64_t chunks_rejected = 0;
  uint64_t tolerated = 0;  /* responses read with an odd shape outside the transcript */
  uint64_t bytes_sent = 0; /* request bodies (after encoding), every attempt; the glue counts */
  std::string last_error;  /* the last failure in words (a refusal, if there was one) */
};

struct BatchRejection {
  uint64_t start = 0, duration = 0;
  unsigned status = 0;
  std::string reason; /* the server's words */
};

struct BatchFatal {
  unsigned status = 0;
  std::string reason;     /* "HTTP 402 Payment Required: ASR_PAYMENT_REQUIRED: ..." */
  std::string hint;       /* what to do */
  std::string request_id; /* dg-request-id */
};

/* An upload's answer, its body already parsed (outside the owner's lock). */
struct UploadReport {
  UploadVerdict verdict = UploadVerdict::Retry;
  unsigned status = 0; /* HTTP status; 0 for a transport error */
  std::string error;
  std::string described; /* `error` with the status phrase, for drop reports */
  std::string hint;
  std::string request_id;
  std::optional<std::chrono::milliseconds> retry_after;
  /* Transcribed: the parsed body; nullopt when it did not parse (the
   * verdict is then Retry and `error` says why). */
  std::optional<PrerecordedResponse> response;
};

namespace batch {
/* Ask the breaker for a permit for chunk `id`, then call on_permit(). */
struct AcquirePermit {
  uint64_t id = 0;
};
struct StartUpload {
  uint64_t id = 0;
  std::shared_ptr<std::vector<uint8_t>> storage; /* headroom + S16LE audio */
  int rate = 0, channels = 0;
};
struct CancelUpload { /* its on_upload_done() still comes */
  uint64_t id = 0;
};
/* Tell the breaker how the request held for chunk `id` went. */
struct ReportBreaker {
  uint64_t id = 0;
  BreakerOutcome outcome = BreakerOutcome::Cancelled;
  FailureSource source = FailureSource::Service; /* of a Failure: no answer is the network's */
};
/* A chunk's answer, in order: the owner maps it to pipeline time. */
struct Transcribed {
  uint64_t start = 0, end = 0;
  TimeMap map;
  std::string session_id;
  std::string request_id; /* from the header, when the body has none */
  std::shared_ptr<const PrerecordedResponse> response;
};
struct Ack {
  uint64_t position = 0;
  std::string session_id;
  uint32_t flush_id = 0;
  bool drained = false; /* the EOS mark: the drain is over */
};
struct Dropped {
  uint64_t start = 0, duration = 0;
  std::string reason;
  std::string detail;
};
struct Rejected {
  BatchRejection rejection;
};
struct Fatal {
  BatchFatal fatal;
};
using Health = SinkHealth; /* stt/health upstream */
struct ArmRetryTimer {     /* replaces an earlier one; then on_retry_timer() */
  uint64_t at = 0;
};
struct ArmDrainTimer { /* replaces an earlier one; then on_drain_timer() */
  uint64_t at = 0;
};
/* Room, a fatal failure or the end of a drain: wake whoever waits. */
struct Wake {};
struct Log {
  enum Level { Warning, Info, Debug } level = Debug;
  std::string text;
};
/* A WARNING for the user, once per stretch: alone with live input,
 * requests take longer than the audio they carry (captions fall further
 * behind with every chunk); or Deepgram throttles the requests (429). */
struct Warn {
  std::string message;
  std::string detail;
};
} // namespace batch

using BatchAction =
    std::variant<batch::AcquirePermit, batch::StartUpload, batch::CancelUpload,
                 batch::ReportBreaker, batch::Transcribed, batch::Ack, batch::Dropped,
                 batch::Rejected, batch::Fatal, batch::Health, batch::ArmRetryTimer,
                 batch::ArmDrainTimer, batch::Wake, batch::Log, batch::Warn>;
using BatchActions = std::vector<BatchAction>;

enum class BatchPush { Ok, Error, Flushing, NotNegotiated, Interrupted };

class BatchPlanner {
public:
  using Random = std::function<double()>; /* uniform [0, 1) for backoff jitter */
  using NewSessionId = std::function<std::string()>;

  explicit BatchPlanner(BatchSettings settings, Random random = {}, NewSessionId session_id = {});

  /* A format change first cuts what is pending. False if unchanged. */
  bool set_format(int rate, int channels, BatchActions &out);
  /* Audio whose first frame is at `pts`. `block`: the caller waited for
   * room (has_room()); else the oldest chunks past max_buffer are dropped.
   * `cut`: a chunk was queued. */
  BatchPush push(uint64_t pts, const int16_t *samples, size_t frames, bool block, BatchActions &out,
                 bool *cut = nullptr);
  /* stt/flush: cut now; ack `flush_id` once all before it is done. */
  BatchActions flush_mark(uint32_t flush_id);
  /* EOS: cut and queue the EOS mark; its drained ack ends the drain, or the
   * drain timer does after `timeout` ns without a chunk transcribed.
   * Ok: the drain started; else what the caller returns. */
  BatchPush begin_drain(uint64_t timeout, uint64_t now, BatchActions &out);
  /* The drain timer fired. */
  void on_drain_timer() { drain_expired_ = true; }
  /* The drain timed out: what is left is reported dropped (the real cause
   * named), and the EOS mark leaves. */
  BatchActions expire_drain();
  void end_drain() { draining_ = false; }

  /* Network side: give up if due, emit finished results in order and ask
   * for a permit for the next waiting chunk if one may be sent now. */
  BatchActions poll(uint64_t now);
  /* The breaker's answer to AcquirePermit; `retry_in` ns when refused. */
  BatchActions on_permit(uint64_t id, bool granted, uint64_t retry_in, uint64_t now);
  BatchActions on_upload_done(uint64_t id, UploadReport report, uint64_t now);
  void on_retry_timer() { retry_armed_ = false; }
  /* The network path works again: what waits for the backoff goes at the
   * next poll(). Returns whether anything was held back. */
  bool retry_now(uint64_t now);

  void set_supervised(bool supervised) { supervised_ = supervised; }
  void set_live(bool live) { live_ = live; }
  /* FLUSH_START discards all held audio (reported dropped, `reason`);
   * FLUSH_STOP accepts audio again. */
  BatchActions set_flushing(bool flushing, const char *reason);
  /* The pad goes inactive: results wait, nothing is discarded. */
  void hold_results() { flushing_ = true; }
  /* Everything is discarded, reported dropped with `reason`. */
  BatchActions stop(const char *reason);

  bool has_room() const { return held() <= settings_.max_buffer; }
  bool fatal() const { return fatal_; }
  bool supervised() const { return supervised_; }
  bool flushing() const { return flushing_; }
  bool drain_expired() const { return drain_expired_; }
  bool has_format(int rate, int channels) const {
    return chunker_ && rate == rate_ && channels == channels_;
  }
  BatchStats stats() const;

private:
  enum class Kind { Chunk, FlushMark, EosMark };
  enum class State { Waiting, InFlight, Done, Abandoned };
  struct Entry {
    Kind kind = Kind::Chunk;
    State state = State::Waiting;
    uint64_t id = 0;
    uint64_t start = 0, duration = 0;              /* duration: of the audio (chunks) */
    TimeMap map;                                   /* chunks: chunk seconds -> pipeline time */
    std::shared_ptr<std::vector<uint8_t>> storage; /* until transcribed */
    int rate = 0, channels = 0;
    std::string session_id;
    unsigned attempts = 0, bad_responses = 0;
    bool uploading = false;          /* a request is out (even if abandoned since) */
    uint64_t failures_when_sent = 0; /* stats_.failures at the last send */
    uint64_t sent_at = 0;            /* `now` of the last send */
    std::shared_ptr<const PrerecordedResponse> response;
    std::string request_id;
    std::string drop_reason;                 /* Abandoned */
    std::string drop_detail;                 /* Abandoned: what happened, in words */
    std::optional<BatchRejection> rejection; /* Abandoned by the server */
    uint32_t flush_id = 0;                   /* marks */
    uint64_t position = 0;                   /* marks: ack position */
    /* Pipeline time after the last sample (a chunk joined over a gap spans
     * more than its audio). */
    uint64_t end() const { return map.empty() ? start + duration : map.end_pts(); }
  };

  void enqueue(std::vector<AudioChunk> chunks, BatchActions &out);
  void drop_overflow(BatchActions &out);
  void abandon_held(const std::string &reason, const std::string &detail = {});
  void discard(const char *reason, BatchActions &out);
  uint64_t held() const;
  Entry *find(uint64_t id);
  void pop_finished(BatchActions &out);
  /* One report per stretch of audio in the chunk, so a gap is not reported. */
  void drop_chunk(const Entry &e, const std::string &reason, BatchActions &out,
                  const std::string &detail = {});
  void arm_retry_timer(uint64_t at, BatchActions &out);
  void arm_drain_timer(uint64_t now, BatchActions &out);
  void go_fatal(const BatchFatal &f, BatchActions &out);
  void give_up_if_due(uint64_t now, BatchActions &out);
  void retry_later(Entry &e, const UploadReport &r, uint64_t now, BatchActions &out);
  void resend_outage_requests(const Entry &answered, uint64_t outage_start, BatchActions &out);
  /* Live input, alone: did this answer take longer than its audio? With
   * `answered` false, the request is still out: it warns as soon as it has
   * taken that long, without waiting for its answer. */
  void check_pace(const Entry &e, uint64_t now, bool answered, BatchActions &out);
  void throttled(Entry &e, const UploadReport &r, uint64_t now, BatchActions &out);

  const BatchSettings settings_;
  Random random_;
  NewSessionId new_session_id_;
  std::unique_ptr<PauseChunker> chunker_;
  int rate_ = 0, channels_ = 0;
  std::deque<Entry> queue_;
  uint64_t next_id_ = 1;
  uint64_t last_end_ = 0; /* end of the last chunk queued */
  unsigned in_flight_ = 0;
  uint32_t consecutive_failures_ = 0;
  uint32_t consecutive_throttles_ = 0;
  std::optional<uint64_t> throttle_warned_at_;
  uint64_t hold_until_ = 0;        /* no upload before this (backoff, Retry-After) */
  uint64_t server_hold_until_ = 0; /* the part of it a server's Retry-After asked for */
  bool retry_armed_ = false;
  uint64_t retry_at_ = 0;
  bool fatal_ = false, flushing_ = false;
  bool draining_ = false, drain_expired_ = false;
  uint64_t drain_timeout_ = 0;
  bool healthy_ = true; /* as last reported by a Health action */
  std::optional<uint64_t> unhealthy_since_;
  uint64_t recovered_at_ = 0; /* `now` the service last answered again after failing */
  bool supervised_ = false;
  bool live_ = true;
  bool slow_warned_ = false; /* this stretch of slow answers was reported */
  std::string fatal_reason_;
  std::string last_failure_;         /* why the service last failed, for drop reports */
  unsigned last_failure_status_ = 0; /* its HTTP status; 0: no answer */
  BatchStats stats_;
};

} // namespace dgf
