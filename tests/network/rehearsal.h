/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One rehearsal: sequence audio paced live (appsrc is-live ! clocksync) into
 * dgtranscribebin or a standalone sink, against an in-process dg-emulator on
 * 127.0.0.1 in the same network namespace, with a network event applied at
 * a pipeline running time, and every instant that matters recorded.
 *
 *   Scenario s;  s.seconds = 50;  s.blackhole_at = 10;  s.blackhole_for = 20;
 *   Recording r = rehearse(s, Target::bin, emu, net);
 *
 * All instants are pipeline running times (ns): the pipeline runs on the
 * monotonic system clock, so bus messages are stamped with that clock as they
 * are posted (sync handler) and a block's PTS is the running time it was due.
 */
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emulator.h"
#include "net_control.h"
#include "stt_protocol.h"

namespace nettest {

enum class Target { bin, stream, batch };
const char *name(Target t);
bool parse_target(const std::string &text, Target *t);

struct Scenario {
  double seconds = 40;                         /* program length, pause included */
  double pause_at = 0, pause_for = 0;          /* the source sends nothing then */
  double blackhole_at = -1, blackhole_for = 0; /* -1: no blackhole */
  std::string rate;                            /* tbf rate for the whole run ("" none) */
  int loss_percent = 0;                        /* random loss for the whole run */
  double drain_s = 120;                        /* after the last audio, EOS wait bound */
  std::string pattern;        /* speech and quiet blocks (dgemu::sequence_pattern); "" all speech */
  std::string dut_properties; /* added to the element under test, e.g. "encoding=flac" */
};

struct Stamped {
  GstClockTime at = GST_CLOCK_TIME_NONE; /* running time */
  std::string text;
};

struct Final {
  GstClockTime at = GST_CLOCK_TIME_NONE;
  dgf::stt::TimedTranscript t;
};

struct Dropped {
  GstClockTime at = GST_CLOCK_TIME_NONE;
  dgf::stt::AudioDropped d;
};

/* A sample of the sink's `stats` (the bin's: its live sink's; failures, connections, audio
 * transcribed), taken every 50 ms. */
struct StatsSample {
  GstClockTime at = GST_CLOCK_TIME_NONE;
  uint64_t failures = 0, connections = 0, connect_attempts = 0, uploaded = 0;
  uint64_t requests = 0, in_flight = 0; /* dgbatchsink */
  std::string state;
};

struct Recording {
  Target target = Target::bin;
  Scenario scenario;
  GstClockTime event = GST_CLOCK_TIME_NONE, restored = GST_CLOCK_TIME_NONE;
  std::vector<uint32_t> fed; /* blocks sent, block b at b * 100 ms */
  std::vector<Final> finals;
  std::vector<Dropped> dropped;
  std::vector<Stamped> warnings, errors, degraded, recovered;
  std::vector<StatsSample> stats;
  bool eos = false;
  GstClockTime ended = GST_CLOCK_TIME_NONE; /* EOS (or the give-up) */
  std::string setup_error;                  /* the network event could not be applied */
};

/* Runs the scenario to EOS (bounded); the emulator must be running. */
Recording rehearse(const Scenario &s, Target target, const dgemu::Emulator &emu, NetControl &net);

} // namespace nettest
