/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "breaker.h"

#include <cmath>
#include <cstdio>
#include <random>

namespace dgf {
namespace {

using std::chrono::milliseconds;

BreakerRandom default_random() {
  return [engine = std::mt19937_64(std::random_device{}())]() mutable {
    return static_cast<double>(engine() >> 11) * 0x1.0p-53; /* exact [0, 1) */
  };
}

/* Injected sources may misbehave; the backoff maths must not. */
double clamp_unit(double r) {
  if (!(r >= 0.0)) /* also NaN */
    return 0.0;
  if (r >= 1.0)
    return std::nextafter(1.0, 0.0);
  return r;
}

void clamp_duration(const char *field, milliseconds &value, milliseconds lo, milliseconds hi,
                    std::string &notes) {
  milliseconds asked = value;
  if (value < lo)
    value = lo;
  if (value > hi)
    value = hi;
  if (value != asked) {
    char line[160];
    std::snprintf(line, sizeof line, "%s%s: asked %lldms, using %lldms", notes.empty() ? "" : "; ",
                  field, static_cast<long long>(asked.count()),
                  static_cast<long long>(value.count()));
    notes += line;
  }
}

uint32_t saturating_increment(uint32_t v) {
  return v == UINT32_MAX ? v : v + 1;
}

} // namespace

const char *breaker_state_name(BreakerState state) {
  switch (state) {
  case BreakerState::Closed:
    return "closed";
  case BreakerState::Open:
    return "open";
  case BreakerState::HalfOpen:
    return "half-open";
  }
  return "unknown";
}

const char *breaker_override_name(BreakerOverride mode) {
  switch (mode) {
  case BreakerOverride::None:
    return "none";
  case BreakerOverride::ForcedOpen:
    return "forced-open";
  case BreakerOverride::ForcedClosed:
    return "forced-closed";
  }
  return "unknown";
}

const char *breaker_cause_name(BreakerCause cause) {
  switch (cause) {
  case BreakerCause::FailureThreshold:
    return "failure-threshold";
  case BreakerCause::ProbeFailed:
    return "probe-failed";
  case BreakerCause::ProbeExpired:
    return "probe-expired";
  case BreakerCause::OpenElapsed:
    return "open-elapsed";
  case BreakerCause::ProbeSucceeded:
    return "probe-succeeded";
  case BreakerCause::ForcedOpen:
    return "forced-open";
  case BreakerCause::ForcedClosed:
    return "forced-closed";
  case BreakerCause::Released:
    return "released";
  case BreakerCause::PathRestored:
    return "path-restored";
  }
  return "unknown";
}

BreakerSettings BreakerSettings::clamped(std::string *notes) const {
  BreakerSettings out = *this;
  std::string why;
  if (out.failure_threshold < 1) {
    why += "failure-threshold: asked " + std::to_string(out.failure_threshold) + ", using 1";
    out.failure_threshold = 1;
  }
  clamp_duration("open-base", out.open_base, kMinDuration, kMaxDuration, why);
  clamp_duration("open-cap", out.open_cap, out.open_base, kMaxDuration, why);
  clamp_duration("probe-timeout", out.probe_timeout, kMinDuration, kMaxDuration, why);
  double jitter = std::isnan(out.jitter) ? 1.0 : std::fmin(1.0, std::fmax(0.0, out.jitter));
  if (jitter != out.jitter || std::isnan(out.jitter)) {
    char line[96];
    std::snprintf(line, sizeof line, "%sjitter: asked %g, using %g", why.empty() ? "" : "; ",
                  out.jitter, jitter);
    why += line;
    out.jitter = jitter;
  }
  if (notes)
    *notes = why;
  return out;
}

std::string BreakerSettings::to_string() const {
  char text[200];
  std::snprintf(text, sizeof text,
                "failure-threshold=%d open-base=%lldms open-cap=%lldms probe-timeout=%lldms "
                "jitter=%g",
                failure_threshold, static_cast<long long>(open_base.count()),
                static_cast<long long>(open_cap.count()),
                static_cast<long long>(probe_timeout.count()), jitter);
  return text;
}

bool BreakerSettings::operator==(const BreakerSettings &other) const {
  return failure_threshold == other.failure_threshold && open_base == other.open_base &&
         open_cap == other.open_cap && probe_timeout == other.probe_timeout &&
         jitter == other.jitter;
}

Breaker::Breaker(std::string name, const BreakerSettings &settings, BreakerClock clock,
                 BreakerRandom random)
    : name_(std::move(name)), settings_(settings.clamped()),
      clock_(clock ? std::move(clock) : BreakerClock(std::chrono::steady_clock::now)),
      random_(random ? std::move(random) : default_random()) {}

BreakerPermit Breaker::try_acquire() {
  BreakerPermit permit;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    BreakerTime now = clock_();
    advance_locked(now);
    permit.generation = generation_;
    if (override_ == BreakerOverride::ForcedClosed || state_ == BreakerState::Closed) {
      permit.allowed = true;
    } else if (override_ == BreakerOverride::None && state_ == BreakerState::HalfOpen &&
               !probe_out_) {
      probe_out_ = true;
      probe_deadline_ = now + settings_.probe_timeout;
      permit.allowed = true;
      permit.is_probe = true;
      counters_.probes++;
    }
    if (permit.allowed)
      counters_.permits++;
    else
      counters_.refusals++;
  }
  deliver_pending();
  return permit;
}

bool Breaker::report(const BreakerPermit &permit, BreakerOutcome outcome, FailureSource source) {
  bool accepted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    /* Whatever the permit's generation: an answer says the path works. */
    if (outcome == BreakerOutcome::Success)
      path_in_doubt_ = false;
    else if (outcome == BreakerOutcome::Failure)
      path_in_doubt_ = source == FailureSource::Network;
    BreakerTime now = clock_();
    advance_locked(now); /* an expired probe's late result must find a new generation */
    bool current = permit.allowed && permit.generation == generation_;
    /* Open and forced-open issue no permits, so a current permit is from
     * closed, forced-closed or the half-open probe. */
    bool is_probe_result = state_ == BreakerState::HalfOpen && permit.is_probe && probe_out_;
    if (current && state_ == BreakerState::HalfOpen && !is_probe_result)
      current = false;
    if (!current) {
      counters_.ignored_reports++;
    } else {
      accepted = true;
      bool automatic = override_ == BreakerOverride::None;
      switch (outcome) {
      case BreakerOutcome::Success:
        counters_.successes++;
        consecutive_failures_ = 0;
        if (is_probe_result) {
          probe_out_ = false;
          backoff_level_ = 0;
          set_state_locked(BreakerState::Closed, BreakerCause::ProbeSucceeded);
        }
        break;
      case BreakerOutcome::Failure:
        counters_.failures++;
        if (!automatic)
          break; /* forced closed never trips */
        consecutive_failures_ = saturating_increment(consecutive_failures_);
        if (is_probe_result)
          trip_locked(now, BreakerCause::ProbeFailed);
        else if (consecutive_failures_ >= static_cast<uint32_t>(settings_.failure_threshold))
          trip_locked(now, BreakerCause::FailureThreshold);
        break;
      case BreakerOutcome::Cancelled:
        counters_.cancellations++;
        if (is_probe_result) {
          /* Free the slot; a new generation makes a later result of the
           * abandoned call stale. */
          probe_out_ = false;
          generation_++;
        }
        break;
      }
    }
  }
  deliver_pending();
  return accepted;
}

std::optional<BreakerTime> Breaker::poll() {
  std::optional<BreakerTime> deadline;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_locked(clock_());
    deadline = next_deadline_locked();
  }
  deliver_pending();
  return deadline;
}

std::optional<BreakerTime> Breaker::next_deadline() {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_deadline_locked();
}

void Breaker::force_open() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (override_ != BreakerOverride::ForcedOpen) {
      override_ = BreakerOverride::ForcedOpen;
      probe_out_ = false;
      if (state_ != BreakerState::Open)
        set_state_locked(BreakerState::Open, BreakerCause::ForcedOpen);
      else
        generation_++;
      open_for_ = milliseconds{0}; /* forced open has no end */
    }
  }
  deliver_pending();
}

void Breaker::force_closed() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (override_ != BreakerOverride::ForcedClosed) {
      override_ = BreakerOverride::ForcedClosed;
      probe_out_ = false;
      consecutive_failures_ = 0;
      backoff_level_ = 0;
      if (state_ != BreakerState::Closed)
        set_state_locked(BreakerState::Closed, BreakerCause::ForcedClosed);
      else
        generation_++;
    }
  }
  deliver_pending();
}

bool Breaker::note_path_restored() {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_locked(clock_());
    if (path_in_doubt_ && override_ == BreakerOverride::None && state_ == BreakerState::Open) {
      set_state_locked(BreakerState::HalfOpen, BreakerCause::PathRestored);
      changed = true;
    }
    path_in_doubt_ = false; /* it is back: one early probe per return */
  }
  deliver_pending();
  return changed;
}

void Breaker::note_path_lost() {
  std::lock_guard<std::mutex> lock(mutex_);
  path_in_doubt_ = true;
}

bool Breaker::claim_path_check(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!path_in_doubt_)
    return false; /* nothing failed at the network level, or the service answered since */
  BreakerTime now = clock_();
  if (last_path_check_ && now < *last_path_check_ + interval)
    return false;
  last_path_check_ = now;
  return true;
}

void Breaker::release_override() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    BreakerOverride was = override_;
    override_ = BreakerOverride::None;
    if (was == BreakerOverride::ForcedOpen)
      set_state_locked(BreakerState::HalfOpen, BreakerCause::Released);
    else if (was == BreakerOverride::ForcedClosed)
      generation_++; /* permits from the forced period don't count */
  }
  deliver_pending();
}

BreakerSnapshot Breaker::snapshot() {
  BreakerSnapshot snap;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_locked(clock_());
    snap = counters_;
    snap.state = state_;
    snap.override_mode = override_;
    snap.generation = generation_;
    snap.consecutive_failures = consecutive_failures_;
    if (state_ == BreakerState::Open && override_ == BreakerOverride::None) {
      snap.open_until = open_until_;
      snap.open_for = open_for_;
    }
    if (state_ == BreakerState::HalfOpen && probe_out_)
      snap.probe_deadline = probe_deadline_;
  }
  deliver_pending();
  return snap;
}

/* Timers are applied lazily: whoever calls first after a deadline moves the
 * state, measured from that call's "now". */
void Breaker::advance_locked(BreakerTime now) {
  if (override_ != BreakerOverride::None)
    return;
  if (state_ == BreakerState::HalfOpen && probe_out_ && now >= probe_deadline_) {
    counters_.probe_expiries++;
    consecutive_failures_ = saturating_increment(consecutive_failures_);
    trip_locked(now, BreakerCause::ProbeExpired);
  } else if (state_ == BreakerState::Open && now >= open_until_) {
    set_state_locked(BreakerState::HalfOpen, BreakerCause::OpenElapsed);
  }
}

void Breaker::trip_locked(BreakerTime now, BreakerCause cause) {
  probe_out_ = false;
  counters_.trips++;
  milliseconds window = open_window_locked();
  milliseconds open_for = jittered_locked(window);
  uint32_t trip = backoff_level_ + 1;
  if (backoff_level_ < 64) /* past log2(max/min) the window is capped anyway */
    backoff_level_++;
  open_until_ = now + open_for;
  bool changes = state_ != BreakerState::Open;
  set_state_locked(BreakerState::Open, cause, open_for);
  if (changes) { /* the event just queued */
    pending_.back().trip = trip;
    pending_.back().open_window = window;
  }
}

/* window = min(cap, base * 2^level) */
milliseconds Breaker::open_window_locked() const {
  milliseconds window = settings_.open_base;
  for (uint32_t i = 0; i < backoff_level_ && window < settings_.open_cap; i++)
    window = (window > settings_.open_cap / 2) ? settings_.open_cap : window * 2;
  return window;
}

/* Open time uniform in (window * (1 - jitter), window], at least kMinDuration. */
milliseconds Breaker::jittered_locked(milliseconds window) {
  double factor = 1.0 - settings_.jitter * clamp_unit(random_());
  auto jittered = milliseconds(std::llround(static_cast<double>(window.count()) * factor));
  return std::max(jittered, std::min(window, BreakerSettings::kMinDuration));
}

std::optional<BreakerTime> Breaker::next_deadline_locked() const {
  if (override_ != BreakerOverride::None)
    return std::nullopt;
  if (state_ == BreakerState::Open)
    return open_until_;
  if (state_ == BreakerState::HalfOpen && probe_out_)
    return probe_deadline_;
  return std::nullopt;
}

void Breaker::set_state_locked(BreakerState to, BreakerCause cause, milliseconds open_for) {
  if (to == state_)
    return;
  open_for_ = open_for;
  BreakerEvent event;
  event.name = name_;
  event.from = state_;
  event.to = to;
  event.cause = cause;
  event.override_mode = override_;
  event.generation = ++generation_;
  event.consecutive_failures = consecutive_failures_;
  event.sequence = next_sequence_++;
  if (open_for > milliseconds{0}) {
    event.open_for = open_for;
    event.open_until = open_until_;
  }
  state_ = to;
  counters_.state_changes++;
  pending_.push_back(std::move(event));
}

uint64_t Breaker::add_listener(BreakerListener listener) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t id = next_listener_id_++;
  listeners_.emplace(id, ListenerEntry{std::make_shared<const BreakerListener>(std::move(listener)),
                                       next_sequence_});
  return id;
}

void Breaker::remove_listener(uint64_t id) {
  std::unique_lock<std::mutex> lock(mutex_);
  listeners_.erase(id);
  /* From inside its own callback: waiting would wait for ourselves. */
  if (delivering_ && delivering_thread_ == std::this_thread::get_id())
    return;
  listener_idle_.wait(lock, [&] { return in_flight_listener_ != id; });
}

/* One thread at a time drains the queue (the "drainer"); others leave their
 * events to it. Calls made from inside a listener land here too and return at
 * once, so a listener can call back into the breaker without deadlock. */
void Breaker::deliver_pending() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (delivering_ || pending_.empty())
    return;
  delivering_ = true;
  delivering_thread_ = std::this_thread::get_id();
  while (!pending_.empty()) {
    BreakerEvent event = std::move(pending_.front());
    pending_.pop_front();
    /* Re-look-up after every call: listeners may be added or removed. */
    uint64_t cursor = 0;
    for (;;) {
      auto it = listeners_.upper_bound(cursor);
      if (it == listeners_.end() || it->second.first_sequence > event.sequence)
        break; /* ids and first_sequence grow together */
      cursor = it->first;
      std::shared_ptr<const BreakerListener> fn = it->second.fn;
      in_flight_listener_ = cursor;
      lock.unlock();
      try {
        (*fn)(event);
      } catch (...) {
        /* A throwing listener must not wedge delivery for everyone else. */
      }
      lock.lock();
      in_flight_listener_ = 0;
      listener_idle_.notify_all();
    }
  }
  delivering_ = false;
  delivering_thread_ = std::thread::id();
}

} // namespace dgf
