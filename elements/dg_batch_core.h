/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The threaded shell of dgbatchsink's engine: the decisions are
 * BatchPlanner's (plugin/batch_planner.h); this carries out its actions with
 * a network thread, a soup session, GstClock timers and hooks.
 *
 * Threads:
 *   - the streaming thread feeds audio (push), flush marks and EOS (drain);
 *   - the network thread starts uploads, takes their results and emits
 *     transcripts, acks and rejections, so those go out in one order;
 *   - the timer clock's thread only hands timer expiries to the other two.
 * One mutex guards the planner and the shell's state; hooks are always
 * called without it, and never after stop() has returned. The network
 * thread takes finished entries and emits them under emit_mutex_ (taken
 * before the state mutex), so a flush or deactivation (set_flushing,
 * unlock(hard)) waits for an emission in progress and none starts after it:
 * nothing reaches a flushed pad, and no result is lost between taking and
 * emitting it.
 */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backoff.h"
#include "batch_planner.h"
#include "breaker.h"
#include "dg_batch_upload.h"
#include "dg_path_probe.h"
#include "dg_common.h"
#include "net_thread.h"
#include "stt_protocol.h"

namespace dgf {

struct BatchConfig {
  DgCommonSettings common; /* TLS settings for the session */
  DgRequest request;
  unsigned request_timeout_s = 60;
  unsigned connect_timeout_ms = 10000; /* a new connection, TCP and TLS */
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

struct BatchHooks {
  std::function<void(const stt::TimedTranscript &)> transcript;
  std::function<void(const stt::Ack &)> ack;
  std::function<void(const stt::AudioDropped &)> dropped;
  std::function<void(const BatchRejection &)> rejected;
  std::function<void(const BatchFatal &)> fatal;
  /* The service started failing (first retryable failure after a success)
   * or answers again: a failover whose primary branch this is reports it. */
  std::function<void(const stt::Health &)> health;
  /* Alone with live input: requests take longer than their audio. */
  std::function<void(const batch::Warn &)> warn;
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
  /* stt/retry-now: the path to Deepgram works again; the breaker half-opens
   * (if open) and what waits for the backoff is sent now. */
  void retry_now();
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
  using Output = std::function<void()>;
  /* What the network thread does after the lock: hooks in order, breaker
   * reports, uploads to start. */
  struct Work {
    std::vector<Output> out;
    std::vector<GCancellable *> cancel; /* refs; cancelled on the network thread */
    struct Send {
      uint64_t id;
      std::shared_ptr<std::vector<uint8_t>> storage;
      int rate, channels;
      GCancellable *cancellable; /* a ref */
    };
    std::vector<Send> sends;
    struct Report {
      BreakerPermit permit;
      BreakerOutcome outcome;
      FailureSource source;
    };
    std::vector<Report> reports;
  };

  /* Carries out the planner's actions: the locked part now, the rest into
   * `work`. `fresh`: the permit just granted for on_permit(). Locked. */
  void apply_locked(BatchActions actions, Work &work, const BreakerPermit *fresh = nullptr);
  Output hook_for(BatchAction &action);
  void arm_retry_timer_locked(GstClockTime at);
  void arm_drain_timer_locked(GstClockTime at);

  /* Network thread. */
  void pump();
  void on_upload_done(uint64_t id, UploadResult result);
  void on_timer(uint64_t generation);
  void finish(Work &work); /* unlocked: reports, then hooks */

  /* Once a second while there is something to watch (network thread):
   * after a dead path, alone, probe the host (one probe per breaker) and
   * retry_now() when it answers; while requests are out, poll the planner,
   * since a request can become too slow with no other event to notice it. */
  void watch();
  void check_path();

  void kick();
  void emit(std::vector<Output> &out);
  void cancel_on_net(std::vector<GCancellable *> cancel);
  static void cancel_now(std::vector<GCancellable *> &cancel);
  GstClockTime now() const { return gst_clock_get_time(config_.clock); }

  const BatchConfig config_;
  const BatchHooks hooks_;
  std::shared_ptr<NetThread> net_;
  SoupSession *session_ = nullptr; /* network thread only */

  std::recursive_mutex emit_mutex_; /* recursive: a handler may flush us */
  std::mutex mutex_;
  std::condition_variable cv_;
  BatchPlanner planner_;
  std::map<uint64_t, GCancellable *> uploads_; /* per upload in flight, until cancelled */
  std::map<uint64_t, BreakerPermit> permits_;  /* per upload in flight, even if dropped */
  /* Wakes pump() when the shared breaker closes or half-opens: a refusal
   * while another element's probe is out would otherwise wait for the
   * probe's whole lease (next_deadline()), not for its answer. */
  uint64_t breaker_listener_ = 0;
  GstClockID retry_timer_ = nullptr;
  GstClockID drain_timer_ = nullptr;
  uint64_t timer_generation_ = 0;
  std::atomic<uint64_t> bytes_sent_{0}; /* request bodies started: stats bytes-sent */
  /* Network thread only: the path check after a dead path. */
  bool path_down_ = false;
  guint watch_timer_ = 0;
  GCancellable *path_probe_ = nullptr;
  bool stopped_ = false, unlocked_ = false, drained_ = false;
};

} // namespace dgf
