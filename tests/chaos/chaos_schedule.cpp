/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "chaos_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

namespace chaos {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Rng::uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}

int Rng::range(int lo, int hi) {
  return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1));
}

bool Rng::chance(double p) {
  return uniform(0, 1) < p;
}

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

/* A fault being written: `{"type":"x"` plus fields. */
struct Json {
  std::string s;
  explicit Json(const std::string &type) : s("{\"type\":\"" + type + "\"") {}
  Json &field(const char *name, const std::string &raw) {
    s += std::string(",\"") + name + "\":" + raw;
    return *this;
  }
  Json &str(const char *name, const std::string &v) { return field(name, "\"" + v + "\""); }
  Json &integer(const char *name, long long v) { return field(name, std::to_string(v)); }
  Json &real(const char *name, double v) { return field(name, num(v)); }
  std::string done() const { return s + "}"; }
};

/* A time as written in the JSON (%.3f), rounded up: bounds stay bounds. */
double ceil_ms(double v) {
  return std::ceil(v * 1000) / 1000;
}

/* Live connection faults hit the connections open now (maybe after a while),
 * or the next 1-3 new ones accepted within 1-3 s (after a while on each).
 * *reach: how long after `at` the last effect can come. */
void live_target(Rng &rng, Json &j, double *reach) {
  if (rng.chance(0.5)) {
    j.str("target", "open");
    if (rng.chance(0.5)) {
      double after = ceil_ms(rng.uniform(0.05, 1.0));
      j.real("after_s", after);
      *reach = after;
    }
  } else {
    double window = ceil_ms(rng.uniform(1.0, 3.0)), after = ceil_ms(rng.uniform(0.1, 1.5));
    j.str("target", "new")
        .integer("count", rng.range(1, 3))
        .real("duration", window)
        .real("after_s", after);
    *reach = window + after;
  }
}

struct Variant {
  std::string family, label;
  /* Returns the fault JSON; *reach is set to how long after its start the
   * fault can still act (its window, plus a connection's after_s). */
  std::function<std::string(Rng &, double *reach)> make;
};

/* A slot of the family deck: one family (or part of one), whose variants
 * are dealt in turn from a deck of their own. */
using Slot = std::vector<Variant>;

std::vector<Variant> refuse_variants() {
  /* The live handshake refused: every retryable class of status. 400, 401,
   * 402, 403 and 404 are permanent (options, key, credit, address) and stop
   * the pipeline by design; tests/integration/test_errors.cpp covers them. */
  std::vector<Variant> out;
  for (int status : {408, 429, 500, 502, 503, 504}) {
    out.push_back({"refuse", "refuse " + std::to_string(status), [status](Rng &rng, double *r) {
                     Json j("refuse");
                     j.integer("status", status);
                     if (rng.chance(0.5)) { /* the next 1-4 handshakes, within 1-3 s */
                       *r = ceil_ms(rng.uniform(1.0, 3.0));
                       j.integer("count", rng.range(1, 4)).real("duration", *r);
                     } else {
                       *r = ceil_ms(rng.uniform(0.2, 1.5));
                       j.real("duration", *r);
                     }
                     if ((status == 429 || status == 503) && rng.chance(0.5))
                       j.integer("retry_after", 1);
                     return j.done();
                   }});
  }
  return out;
}

std::vector<Variant> close_variants() {
  /* Every code but 1008 (DATA-0000: the audio is undecodable, which stops
   * the pipeline with an ERROR by design). */
  struct Close {
    int code;
    const char *reason;
  };
  std::vector<Variant> out;
  for (Close c :
       {Close{1000, ""}, Close{1001, ""}, Close{1002, ""}, Close{1003, ""}, Close{1007, ""},
        Close{1009, ""}, Close{1011, "NET-0000"}, Close{1011, "NET-0001"}, Close{1012, ""},
        Close{1013, ""}, Close{1014, ""}, Close{4000, "chaos"}}) {
    std::string label = "close " + std::to_string(c.code) + (*c.reason ? " " : "") + c.reason;
    out.push_back({"close", label, [c](Rng &rng, double *r) {
                     Json j("close");
                     j.integer("code", c.code);
                     if (*c.reason)
                       j.str("reason", c.reason);
                     live_target(rng, j, r);
                     return j.done();
                   }});
  }
  return out;
}

Variant live_fault(const char *type) {
  return {type, type, [type](Rng &rng, double *r) {
            Json j(type);
            if (std::string(type) == "delay")
              j.integer("ms", rng.range(50, 500));
            if (std::string(type) == "malformed")
              j.integer("frames", rng.range(1, 3));
            live_target(rng, j, r);
            return j.done();
          }};
}

std::vector<Variant> batch_error_variants() {
  /* Retryable batch errors, with and without Retry-After. */
  std::vector<Variant> out;
  for (int status : {429, 500, 502, 503, 504}) {
    out.push_back(
        {"batch_error", "batch_error " + std::to_string(status), [status](Rng &rng, double *r) {
           Json j("batch_error");
           j.integer("status", status);
           if (rng.chance(0.6)) {
             j.integer("count", rng.range(1, 4));
           } else {
             *r = ceil_ms(rng.uniform(0.3, 1.5));
             j.real("duration", *r);
           }
           if (status == 429 || rng.chance(0.4))
             j.real("retry_after", rng.uniform(0.1, 1.0)); /* sent as 1 s */
           return j.done();
         }});
  }
  return out;
}

Variant outage(const std::string &api, double min_s, double max_s, const std::string &label) {
  return {"outage", label, [api, min_s, max_s](Rng &rng, double *r) {
            Json j("outage");
            j.str("api", api);
            *r = ceil_ms(rng.uniform(min_s, max_s));
            j.real("duration", *r);
            j.integer("status", rng.chance(0.5) ? 503 : 502);
            if (api != "batch" && rng.chance(0.3))
              j.integer("code", 1011).str("reason", "NET-0000");
            return j.done();
          }};
}

/* The family deck. Its make-up sets the proportions: live faults 8 of 14
 * slots, batch 4, outages 2. Live faults are fewer than the variants would
 * make them (25 of 35): a refused or closed live connection is what keeps a
 * pipeline from recovering, while batch faults only act while one is
 * degraded. */
std::vector<Slot> build_slots() {
  std::vector<Slot> slots;
  for (int i = 0; i < 2; i++)
    slots.push_back(refuse_variants());
  for (int i = 0; i < 2; i++)
    slots.push_back(close_variants());
  for (const char *type : {"drop", "stall", "delay", "malformed"})
    slots.push_back({live_fault(type)});
  for (int i = 0; i < 2; i++)
    slots.push_back(batch_error_variants());
  /* One chunk rejected (400, Deepgram's body for audio it cannot decode): the
   * sink gives it up and reports it, so runs exercise the honest accounting
   * of reported drops. A 400 for the options would stop the pipeline. */
  slots.push_back({{"batch_error", "batch_error 400 (rejected chunk)", [](Rng &, double *) {
                      return Json("batch_error")
                          .integer("status", 400)
                          .integer("count", 1)
                          .str("err_code", "Bad Request")
                          .str("err_msg",
                               "Bad Request: failed to process audio: corrupt or unsupported data")
                          .done();
                    }}});
  slots.push_back({{"batch_delay", "batch_delay", [](Rng &rng, double *) {
                      return Json("batch_delay")
                          .integer("ms", rng.range(100, 1500))
                          .integer("count", rng.range(1, 3))
                          .done();
                    }}});
  for (int i = 0; i < 2; i++)
    slots.push_back({outage("live", 0.3, 1.5, "outage live"),
                     outage("batch", 0.3, 1.5, "outage batch"),
                     outage("both", 0.3, 1.5, "outage both")});
  return slots;
}

/* Deals from a deck of `size` cards, reshuffled (Fisher-Yates) when empty. */
class Dealer {
public:
  explicit Dealer(size_t size) : size_(size) {}
  size_t next(Rng &rng) {
    if (order_.empty()) {
      for (size_t k = 0; k < size_; k++)
        order_.push_back(k);
      for (size_t k = order_.size() - 1; k > 0; k--)
        std::swap(order_[k], order_[static_cast<size_t>(rng.next() % (k + 1))]);
    }
    size_t card = order_.back();
    order_.pop_back();
    return card;
  }

private:
  size_t size_;
  std::vector<size_t> order_;
};

} // namespace

size_t deck_size() {
  std::set<std::string> labels;
  for (const Slot &slot : build_slots())
    for (const Variant &v : slot)
      labels.insert(v.label);
  return labels.size();
}

size_t family_deck_size() {
  return build_slots().size();
}

std::vector<ScheduledFault> make_schedule(const ScheduleOptions &options) {
  Rng rng(options.seed);
  const std::vector<Slot> slots = build_slots();
  const double first = std::min(0.5, options.horizon_s / 4);
  const double span = options.horizon_s - first;
  size_t n = std::max(slots.size(), static_cast<size_t>(span / options.mean_gap_s));

  std::vector<double> times;
  for (size_t i = 0; i < n; i++)
    times.push_back(rng.uniform(first, options.horizon_s));
  std::sort(times.begin(), times.end());

  std::vector<ScheduledFault> out;
  Dealer slot_dealer(slots.size());
  std::vector<Dealer> variant_dealers;
  for (const Slot &slot : slots)
    variant_dealers.emplace_back(slot.size());
  auto place = [&](const Variant &v, double at) {
    double reach = 0;
    std::string json = v.make(rng, &reach);
    if (at + reach > options.horizon_s) /* every effect comes within the horizon */
      at = std::max(0.0, options.horizon_s - reach);
    at = std::floor(at * 1000) / 1000; /* the JSON's precision */
    out.push_back({at, v.family, v.label, json});
  };
  for (size_t i = 0; i < n; i++) {
    size_t s = slot_dealer.next(rng);
    place(slots[s][variant_dealers[s].next(rng)], times[i]);
  }
  /* The finale: every open live connection lost at once, and reconnects
   * refused for a moment, so that every pipeline fails over at least once and
   * all of them recover together, through the shared breaker, afterwards. */
  place(outage(rng.chance(0.5) ? "live" : "both", 0.5, 1.0, "outage (finale)"), options.horizon_s);
  std::stable_sort(out.begin(), out.end(),
                   [](const ScheduledFault &a, const ScheduledFault &b) { return a.at < b.at; });
  return out;
}

std::string schedule_json(const std::vector<ScheduledFault> &schedule) {
  std::string s = "{\"faults\":[\n";
  for (size_t i = 0; i < schedule.size(); i++) {
    const std::string &j = schedule[i].json;
    /* {"type":...} -> {"at":T,"type":...} */
    s += "  {\"at\":" + num(schedule[i].at) + "," + j.substr(1);
    s += i + 1 < schedule.size() ? ",\n" : "\n";
  }
  return s + "]}\n";
}

} // namespace chaos
