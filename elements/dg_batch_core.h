/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine of dgbatchsink, apart from the GObject glue: chunking, the
 * backlog, uploads on the shared network thread, retries, the breaker and
 * results in timestamp order.
 *
 * Threads:
 *   - the streaming thread feeds audio (push), flush marks and EOS (drain);
 *   - the network thread starts uploads, takes their results and emits
 *     transcripts, acks and rejections, so those go out in one order;
 *   - the timer clock's thread only hands timer expiries to the other two.
 * One mutex guards all state; hooks are always called without it, and never
 * after stop() has returned. The network thread pops finished entries and
 * emits them under emit_mutex_ (taken before the state mutex), so a flush
 * or deactivation (set_flushing, unlock(hard)) waits for an emission in
 * progress and none starts after it: nothing reaches a flushed pad, and no
 * popped result is lost between pop and emit.
 *
 * Backlog: the queue holds chunks (waiting, in flight, transcribed but held
 * behind an older chunk) and flush/EOS marks, oldest first. Its front leaves
 * only when finished, so results leave in timestamp order whatever order the
 * requests finish in. Held audio (waiting + in flight) is bounded by
 * max_buffer: the streaming thread either waits for room (block) or drops the
 * oldest whole chunks, reporting each exact range.
 */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backoff.h"
#include "breaker.h"
#include "deepgram_json.h"
#include "dg_batch_upload.h"
#include "dg_common.h"
#include "net_thread.h"
#include "pause_chunker.h"
#include "stt_protocol.h"

namespace dgf {

struct BatchConfig {
  DgCommonSettings common; /* TLS settings for the session */
  DgRequest request;
  unsigned request_timeout_s = 60;
  unsigned max_in_flight = 2;
  uint64_t max_buffer = 600 * GST_SECOND; /* ns of held audio */
  ChunkerSettings chunker;
  BackoffPolicy backoff;
  std::shared_ptr<Breaker> breaker;
  GstClock *clock = nullptr; /* timers; the core takes a ref */
  /* The element whose name the logs carry (borrowed: it outlives the core). */
  GstObject *log_object = nullptr;
  bool utterances = false;
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
  uint64_t failures = 0; /* retryable failures */
  uint64_t retries = 0;  /* requests that repeat an earlier attempt */
  uint64_t backlog = 0;  /* ns: held chunks + audio not cut yet */
  uint64_t dropped = 0;  /* ns reported by stt/audio-dropped */
  unsigned in_flight = 0;
  uint64_t chunks_transcribed = 0;
  uint64_t chunks_rejected = 0;
  uint64_t tolerated = 0; /* responses read with an odd shape outside the transcript */
  std::string last_error; /* the last failure in words (a refusal, if there was one) */
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

struct BatchHooks {
  std::function<void(const stt::TimedTranscript &)> transcript;
  std::function<void(const stt::Ack &)> ack;
  std::function<void(const stt::AudioDropped &)> dropped;
  std::function<void(const BatchRejection &)> rejected;
  std::function<void(const BatchFatal &)> fatal;
  /* The service started failing (first retryable failure after a success)
   * or answers again: a failover whose primary branch this is reports it. */
  std::function<void(const stt::Health &)> health;
  std::function<void()> stats_changed;
};

/* push() result when an unlock() interrupted a wait for room: the caller
 * waits for preroll (gst_base_sink_wait_preroll) and pushes again. */
constexpr GstFlowReturn kBatchInterrupted = GST_FLOW_CUSTOM_SUCCESS;

class BatchCore : public std::enable_shared_from_this<BatchCore> {
public:
  BatchCore(BatchConfig config, BatchHooks hooks);
  ~BatchCore();
  BatchCore(const BatchCore &) = delete;
  BatchCore &operator=(const BatchCore &) = delete;

  /* Creates the HTTP session on the network thread. */
  bool start(std::string *error);
  /* Cancels everything; untranscribed audio is reported dropped (`reason`).
   * No hook runs after it returns. */
  void stop(const char *reason);

  /* Streaming thread. A format change first cuts what is pending. */
  void set_format(int rate, int channels);
  /* Feeds audio whose first frame is at `pts`. With `block`, first waits
   * while the held audio exceeds max_buffer; else drops the oldest chunks
   * past it. */
  GstFlowReturn push(uint64_t pts, const int16_t *samples, size_t frames, bool block);
  /* stt/flush: cut now; ack with `flush_id` once all before it is done. */
  void flush_mark(uint32_t flush_id);
  /* EOS: cut, then wait until all is transcribed or reported; the wait
   * ends after `timeout` ns of the timer clock without a chunk transcribed
   * (it restarts at each one); then pushes the drained ack. */
  GstFlowReturn drain(uint64_t timeout);

  /* A failover supervises this sink: a permanent failure is the
   * failover's to report (a WARNING here, no ERROR), later audio is
   * reported dropped instead of failing the stream, and there is no
   * give-up of our own. */
  void set_supervised(bool supervised);
  /* Upstream's liveness: a live stream that cannot be transcribed at EOS
   * gives up after a short grace, and max-outage -1 means never. */
  void set_live(bool live);

  /* FLUSH_START discards all held audio (reported dropped, `reason`);
   * FLUSH_STOP accepts audio again. */
  void set_flushing(bool flushing, const char *reason);
  /* unlock(): waits return; `hard` (the pad is flushing) also ends drains. */
  void unlock(bool hard);
  void unlock_stop();

  BatchStats stats();

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
    uint64_t failures_when_sent = 0;     /* stats_.failures at the last send */
    GCancellable *cancellable = nullptr; /* while in flight */
    std::optional<PrerecordedResponse> response;
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
  using Output = std::function<void()>;
  struct Send {
    uint64_t id;
    std::shared_ptr<std::vector<uint8_t>> storage;
    int rate, channels;
    GCancellable *cancellable;
  };

  /* Locked helpers. */
  void enqueue_locked(std::vector<AudioChunk> chunks);
  void drop_overflow_locked(std::vector<Output> &out, std::vector<GCancellable *> &cancel);
  void abandon_held_locked(const std::string &reason, const std::string &detail = {});
  void discard_locked(const char *reason, std::vector<Output> &out,
                      std::vector<GCancellable *> &cancel);
  uint64_t held_locked() const;
  Entry *find_locked(uint64_t id);
  void pop_finished_locked(std::vector<Output> &out);
  void add_transcript_outputs_locked(const Entry &e, std::vector<Output> &out);
  Output dropped_output(uint64_t start, uint64_t duration, const std::string &reason,
                        const std::string &detail = {});
  /* One report per stretch of audio in the chunk, so a gap is not reported. */
  void drop_chunk_locked(const Entry &e, const std::string &reason, std::vector<Output> &out,
                         const std::string &detail = {});
  void arm_retry_timer_locked(GstClockTime at);
  void arm_drain_timer_locked();
  /* Permanent failure: everything held is abandoned; hooks follow in `out`. */
  void go_fatal_locked(const BatchFatal &f, std::vector<Output> &out);
  /* Alone and failing for max-outage: give up. */
  void give_up_if_due_locked(std::vector<Output> &out);

  /* Network thread. */
  void pump();
  void on_upload_done(uint64_t id, UploadResult result);
  void on_timer(int kind, uint64_t generation);

  void kick();
  void emit(std::vector<Output> &out);
  void cancel_on_net(std::vector<GCancellable *> cancel);
  GstClockTime now() const { return gst_clock_get_time(config_.clock); }

  const BatchConfig config_;
  const BatchHooks hooks_;
  std::shared_ptr<NetThread> net_;
  SoupSession *session_ = nullptr; /* network thread only */

  std::recursive_mutex emit_mutex_; /* recursive: a handler may flush us */
  std::mutex mutex_;
  std::condition_variable cv_;
  std::unique_ptr<PauseChunker> chunker_;
  int rate_ = 0, channels_ = 0;
  std::deque<Entry> queue_;
  std::map<uint64_t, BreakerPermit> permits_; /* per upload in flight, even if dropped */
  uint64_t next_id_ = 1;
  uint64_t last_end_ = 0; /* end of the last chunk queued */
  unsigned in_flight_ = 0;
  uint32_t consecutive_failures_ = 0;
  GstClockTime hold_until_ = 0; /* no upload before this (backoff, Retry-After) */
  /* Wakes pump() when the shared breaker closes or half-opens: a refusal
   * while another element's probe is out would otherwise wait for the
   * probe's whole lease (next_deadline()), not for its answer. */
  uint64_t breaker_listener_ = 0;
  GstClockID retry_timer_ = nullptr;
  GstClockTime retry_timer_at_ = GST_CLOCK_TIME_NONE;
  GstClockID drain_timer_ = nullptr;
  uint64_t timer_generation_ = 0;
  bool stopped_ = false, fatal_ = false, flushing_ = false, unlocked_ = false;
  bool draining_ = false, drained_ = false, drain_expired_ = false;
  uint64_t drain_timeout_ = 0;
  bool healthy_ = true; /* as last reported by the health hook */
  GstClockTime unhealthy_since_ = GST_CLOCK_TIME_NONE;
  bool supervised_ = false;
  bool live_ = true;
  std::string fatal_reason_;
  std::string last_failure_;         /* why the service last failed, for drop reports */
  unsigned last_failure_status_ = 0; /* its HTTP status; 0: no answer */
  BatchStats stats_;
};

} // namespace dgf
