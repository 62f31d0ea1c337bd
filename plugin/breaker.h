/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared circuit breaker: closed -> open -> half-open -> closed.
 *
 * One breaker guards one upstream service (e.g. Deepgram's live API) for every
 * user in the process, so the first pipeline that finds the service down spares
 * the others a reconnect storm. Plain C++17, no GStreamer types; semantics,
 * settings and clamps are documented in docs/breaker.md.
 *
 * Use:
 *   BreakerPermit p = breaker->try_acquire();
 *   if (!p) -> refused: don't call the service; schedule a retry at
 *              breaker->next_deadline() (or just try again later).
 *   else    -> call the service, then breaker->report(p, BreakerOutcome::...).
 *
 * Thread-safety: every method may be called from any thread. State is guarded
 * by one mutex; the injected clock and random source are called under it, so
 * they need not be thread-safe themselves (but must not call the breaker).
 * Listeners run outside that mutex (see add_listener).
 */
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace dgf {

using BreakerTime = std::chrono::steady_clock::time_point;
/* Returns "now". Default: std::chrono::steady_clock::now. */
using BreakerClock = std::function<BreakerTime()>;
/* Returns a uniform double in [0, 1). Default: a seeded mt19937_64 per breaker.
 * Values outside [0, 1) are clamped into it. */
using BreakerRandom = std::function<double()>;

enum class BreakerState { Closed, Open, HalfOpen };
/* "closed", "open", "half-open": the names stt/breaker messages carry. */
const char *breaker_state_name(BreakerState state);

/* An operator's manual override; None means the breaker runs automatically. */
enum class BreakerOverride { None, ForcedOpen, ForcedClosed };
/* "none", "forced-open", "forced-closed". */
const char *breaker_override_name(BreakerOverride mode);

/* Why a state change happened. */
enum class BreakerCause {
  FailureThreshold, /* closed -> open: N consecutive failures */
  ProbeFailed,      /* half-open -> open */
  ProbeExpired,     /* half-open -> open: the probe lease ran out */
  OpenElapsed,      /* open -> half-open */
  ProbeSucceeded,   /* half-open -> closed */
  ForcedOpen,       /* force_open() */
  ForcedClosed,     /* force_closed() */
  Released,         /* release_override() from forced-open -> half-open */
  PathRestored,     /* open -> half-open early: the network path came back */
};
/* "failure-threshold", "probe-failed", "probe-expired", "open-elapsed",
 * "probe-succeeded", "forced-open", "forced-closed", "released",
 * "path-restored". */
const char *breaker_cause_name(BreakerCause cause);

/* Settings are fixed when a breaker is created. clamped() maps bad values to
 * sane ones (see docs/breaker.md); the Breaker constructor applies it. */
struct BreakerSettings {
  static constexpr std::chrono::milliseconds kMinDuration{10};
  static constexpr std::chrono::milliseconds kMaxDuration{24 * 3600 * 1000};

  /* Consecutive failures in closed that trip the breaker. <= 0 becomes 1. */
  int failure_threshold = 3;
  /* Open time of the first trip; doubles on each re-trip up to open_cap. */
  std::chrono::milliseconds open_base{30000};
  std::chrono::milliseconds open_cap{300000};
  /* How long a half-open probe may take before its lease expires. */
  std::chrono::milliseconds probe_timeout{30000};
  /* Fraction of the open window that is random: open time is uniform in
   * (window * (1 - jitter), window]. 1 = full jitter, 0 = none. */
  double jitter = 1.0;

  /* A copy with every field in range. When `notes` is given it receives one
   * "field: asked X, using Y" line per changed field ("" if none). */
  BreakerSettings clamped(std::string *notes = nullptr) const;
  /* "failure-threshold=3 open-base=30000ms open-cap=300000ms ..." */
  std::string to_string() const;
  bool operator==(const BreakerSettings &other) const;
  bool operator!=(const BreakerSettings &other) const { return !(*this == other); }
};

/* A permission to call the service once. Report it exactly once. */
struct BreakerPermit {
  bool allowed = false;
  bool is_probe = false;   /* the single half-open trial call */
  uint64_t generation = 0; /* breaker generation it was issued in */
  explicit operator bool() const { return allowed; }
};

enum class BreakerOutcome {
  Success,
  Failure,
  /* The call was abandoned without an answer (e.g. the element stopped).
   * Counts as neither; a cancelled probe frees the probe slot at once. */
  Cancelled,
};

/* Whose failure a report is: the service's (it answered, with an error) or
 * the network's (no answer: a connect or request that timed out, a dead
 * path, a reset). Path checks act only after the network's. */
enum class FailureSource { Service, Network };

struct BreakerSnapshot {
  BreakerState state = BreakerState::Closed;
  BreakerOverride override_mode = BreakerOverride::None;
  uint64_t generation = 0;
  uint32_t consecutive_failures = 0;
  /* While automatically open: when it goes half-open, and for how long it was
   * opened. Unset / zero otherwise (forced-open has no end). */
  std::optional<BreakerTime> open_until;
  std::chrono::milliseconds open_for{0};
  /* While a probe is out: its lease deadline. */
  std::optional<BreakerTime> probe_deadline;
  /* Counters since creation. Every try_acquire() adds 1 to exactly one of
   * permits / refusals; every report() to exactly one of successes / failures /
   * cancellations / ignored_reports. probes are included in permits. */
  uint64_t permits = 0;
  uint64_t probes = 0;
  uint64_t refusals = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t cancellations = 0;
  uint64_t ignored_reports = 0; /* stale generation, or a refused permit */
  uint64_t trips = 0;           /* automatic transitions into open */
  uint64_t probe_expiries = 0;
  uint64_t state_changes = 0; /* == events queued for listeners */
};

/* A state change, as delivered to listeners. */
struct BreakerEvent {
  std::string name;
  BreakerState from = BreakerState::Closed;
  BreakerState to = BreakerState::Closed;
  BreakerCause cause = BreakerCause::FailureThreshold;
  BreakerOverride override_mode = BreakerOverride::None;
  uint64_t generation = 0; /* the new generation */
  uint32_t consecutive_failures = 0;
  std::optional<BreakerTime> open_until; /* set when `to` is automatic open */
  std::chrono::milliseconds open_for{0};
  /* Automatic open only: which consecutive trip since the breaker last closed
   * (1, 2, 3...) and the backoff window its open time was drawn from, so the
   * backoff is visible despite the jitter. */
  uint32_t trip = 0;
  std::chrono::milliseconds open_window{0};
  uint64_t sequence = 0; /* 1, 2, 3... per breaker, in delivery order */
};

using BreakerListener = std::function<void(const BreakerEvent &)>;

class Breaker {
public:
  /* Empty clock / random mean the defaults. Settings are clamped. */
  explicit Breaker(std::string name, const BreakerSettings &settings = {}, BreakerClock clock = {},
                   BreakerRandom random = {});
  Breaker(const Breaker &) = delete;
  Breaker &operator=(const Breaker &) = delete;

  const std::string &name() const { return name_; }
  const BreakerSettings &settings() const { return settings_; }

  /* Closed: allowed. Open: refused. Half-open: the first caller gets the probe
   * permit (a lease of probe_timeout), everyone else is refused until the
   * probe reports or expires. Applies due timers first. */
  BreakerPermit try_acquire();
  /* Records the outcome of an allowed permit. Returns false, changing
   * nothing but ignored_reports, when the permit was refused or is from an
   * older generation (the state changed since it was issued). */
  bool report(const BreakerPermit &permit, BreakerOutcome outcome,
              FailureSource source = FailureSource::Service);

  /* Applies due timers (open -> half-open, probe lease expiry -> open) and
   * delivers their events. Returns next_deadline(). Call it from a timer set
   * to next_deadline() so listeners hear of a change without waiting for
   * the next try_acquire(). */
  std::optional<BreakerTime> poll();
  /* When the next timer falls due: open_until while open, the probe deadline
   * while a probe is out; unset when nothing is pending. A pure read: it
   * applies nothing, so it may lie in the past (then call poll() now). */
  std::optional<BreakerTime> next_deadline();

  /* The network path to the service was found working again (a cheap
   * reachability check, not a call to the service) after failures that were
   * the network's: automatic open -> half-open now, so one probe finds out at
   * once instead of after the rest of the open time. Returns whether it
   * changed anything. Only after a network failure (report() with
   * FailureSource::Network, or note_path_lost()) that no answer of the
   * service has followed: a service that is up on the network but failing
   * keeps its schedule, whichever user of the breaker last saw the network
   * fail; and once per return of the network. */
  bool note_path_restored();
  /* A connection in use died at the network level (no permit to report):
   * the path is in doubt until the service answers again. */
  void note_path_lost();
  /* At most one reachability check per `interval` for all users of this
   * breaker, and none while the path is not in doubt: true to the caller
   * that should do it now. */
  bool claim_path_check(std::chrono::milliseconds interval);

  /* Operator overrides. Forced open refuses everything and never times out;
   * forced closed allows everything and never trips. Release: forced-open ->
   * half-open (one probe decides), forced-closed -> closed. No-ops (and no
   * event) when already in that mode. */
  void force_open();
  void force_closed();
  void release_override();

  /* Applies due timers, then returns a consistent copy of the state. */
  BreakerSnapshot snapshot();

  /* Listeners hear every state change queued after add_listener() returned,
   * in order, one event and one listener at a time, outside the state lock.
   * A listener may call any method of this breaker (snapshot, report, even
   * remove_listener on itself); changes it causes are delivered after it
   * returns. Delivery runs on the thread that caused the change, or on the
   * thread already delivering. Exceptions from listeners are swallowed.
   * Returns an id > 0. */
  uint64_t add_listener(BreakerListener listener);
  /* After it returns the listener is never called again: it waits for an
   * in-flight call of it on another thread (not when called from inside that
   * listener). Unknown ids are ignored. */
  void remove_listener(uint64_t id);

private:
  struct ListenerEntry {
    std::shared_ptr<const BreakerListener> fn;
    uint64_t first_sequence; /* events before this one predate the listener */
  };

  void advance_locked(BreakerTime now);
  void trip_locked(BreakerTime now, BreakerCause cause);
  /* Records a change and queues its event; open_for > 0 only for an
   * automatic open, with open_until_ already set. */
  void set_state_locked(BreakerState to, BreakerCause cause,
                        std::chrono::milliseconds open_for = std::chrono::milliseconds{0});
  std::chrono::milliseconds open_window_locked() const;
  std::chrono::milliseconds jittered_locked(std::chrono::milliseconds window);
  std::optional<BreakerTime> next_deadline_locked() const;
  void deliver_pending();

  const std::string name_;
  const BreakerSettings settings_;
  const BreakerClock clock_;
  const BreakerRandom random_;

  /* Lock order: mutex_ is the only lock; it is never held while a listener,
   * or anything outside this class but clock_ / random_, runs. */
  std::mutex mutex_;
  BreakerState state_ = BreakerState::Closed;
  BreakerOverride override_ = BreakerOverride::None;
  uint64_t generation_ = 1;
  uint32_t consecutive_failures_ = 0;
  uint32_t backoff_level_ = 0; /* trips since last closed, saturating */
  BreakerTime open_until_{};
  std::chrono::milliseconds open_for_{0};
  bool probe_out_ = false;
  BreakerTime probe_deadline_{};
  BreakerSnapshot counters_; /* only the counter fields are used */
  std::optional<BreakerTime> last_path_check_;
  bool path_in_doubt_ = false; /* a network failure, not answered by the service since */

  /* Listener delivery, also under mutex_. */
  std::deque<BreakerEvent> pending_;
  uint64_t next_sequence_ = 1;
  std::map<uint64_t, ListenerEntry> listeners_;
  uint64_t next_listener_id_ = 1;
  bool delivering_ = false;
  std::thread::id delivering_thread_;
  uint64_t in_flight_listener_ = 0;
  std::condition_variable listener_idle_;
};

} // namespace dgf
