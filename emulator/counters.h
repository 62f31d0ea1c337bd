/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: counters that tests and operators read
 * (GET /_emulator/counters, Emulator::counters()). Thread-safe. */
#pragma once

#include <json-glib/json-glib.h>

#include <map>
#include <mutex>
#include <string>

namespace dgemu {

struct Counters {
  long long live_accepted = 0;      /* WebSocket handshakes completed */
  long long live_refused = 0;       /* handshakes answered with an error status */
  long long live_open = 0;          /* live connections open now */
  long long live_closed = 0;        /* live connections ended (any way) */
  long long live_messages_sent = 0; /* text frames sent */
  long long batch_ok = 0;           /* pre-recorded requests answered 200 */
  long long batch_failed = 0;       /* pre-recorded requests answered with an error */
  long long batch_in_flight = 0;    /* now: pre-recorded requests being transcribed */
  long long batch_in_flight_peak = 0;
  long long batch_throttled = 0; /* answered 429 by the concurrency cap (--batch-concurrency) */
  double audio_seconds_live = 0;
  double audio_seconds_batch = 0;
  /* Recognition keeping up with live audio (docs/emulator.md, Counters). */
  long long recognition_lag_max_ms = 0;    /* now: the open connection furthest behind */
  long long recognition_lag_peak_ms = 0;   /* the most since start or reset */
  long long lagging_connections = 0;       /* now: open connections behind by the threshold */
  long long lagging_connections_total = 0; /* connections that fell that far behind */
  double recognition_rtf = 0;        /* last second: recognizing seconds per second of audio */
  long long server_tick_late_ms = 0; /* last second: the most the server's timer fired late */
  /* Every effect of a fault: a refused handshake, a closed / dropped /
   * stalled / delayed connection, a malformed frame, a failed or delayed
   * request. Outage effects count under "outage". */
  std::map<std::string, long long> faults_fired;

  long long fired(const std::string &type) const {
    auto it = faults_fired.find(type);
    return it == faults_fired.end() ? 0 : it->second;
  }
};

class CounterStore {
public:
  Counters get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return c_;
  }
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    Counters kept = c_;
    c_ = Counters();
    /* What holds now stays; a reset clears what happened. */
    c_.live_open = kept.live_open;
    c_.batch_in_flight = c_.batch_in_flight_peak = kept.batch_in_flight;
    c_.recognition_lag_max_ms = kept.recognition_lag_max_ms;
    c_.lagging_connections = kept.lagging_connections;
    c_.recognition_rtf = kept.recognition_rtf;
    c_.server_tick_late_ms = kept.server_tick_late_ms;
  }
  template <typename F> void update(F &&f) {
    std::lock_guard<std::mutex> lock(mutex_);
    f(c_);
  }
  void fault_fired(const std::string &type) {
    update([&](Counters &c) { c.faults_fired[type]++; });
  }

private:
  mutable std::mutex mutex_;
  Counters c_;
};

/* The counters as a JSON object. */
void counters_to_json(JsonBuilder *b, const Counters &c);

} // namespace dgemu
