/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chaos soak's fault schedule: a seeded, random mix of every fault the
 * emulator can fire (docs/emulator.md), as fault objects in the emulator's
 * JSON format. Pure C++: the same seed gives the same schedule anywhere. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chaos {

struct ScheduledFault {
  double at = 0;      /* seconds after the soak starts */
  std::string family; /* emulator fault type: refuse, close, drop, ... */
  std::string label;  /* what it is, for the summary: "refuse 429", "close 1011 NET-0000" */
  std::string json;   /* one fault object, `at` relative to the injection */
};

struct ScheduleOptions {
  uint64_t seed = 1;
  /* Every fault acts before this: windows end, and so does every delayed
   * effect on a connection (after_s). */
  double horizon_s = 15;
  double mean_gap_s = 1.0;
};

/* Faults are dealt from a shuffled deck of families (refuse, close, ...,
 * weighted: see build_slots()), reshuffled when empty; each family deals its
 * variants (each status, each close code, ...) in turn from a deck of its
 * own. At least one whole family deck is dealt, however short the horizon.
 * A last outage of the live API (`outage (finale)`) ends at the horizon, so
 * that every pipeline fails over at least once before the quiet end.
 * Sorted by `at`. */
std::vector<ScheduledFault> make_schedule(const ScheduleOptions &options);

/* The number of distinct variants (labels, the finale aside). */
size_t deck_size();
/* The number of slots in the family deck. */
size_t family_deck_size();

/* {"faults":[...]} with each fault's `at`, for --print-schedule. */
std::string schedule_json(const std::vector<ScheduledFault> &schedule);

/* A small deterministic generator (splitmix64), identical on every platform. */
class Rng {
public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform(double lo, double hi); /* [lo, hi) */
  int range(int lo, int hi);            /* [lo, hi] */
  bool chance(double p);

private:
  uint64_t state_;
};

} // namespace chaos
