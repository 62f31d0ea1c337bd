/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a rehearsal measured, and the product's targets for networks that
 * degrade instead of dying (docs/networks.md):
 * - a blackholed connection is detected within ~5 s while audio is sent, and
 *   within keepalive-interval + a few seconds while the source is paused;
 * - after the network returns, the first caption of the backlog within 5 s,
 *   streaming again (stt/recovered) within 15 s;
 * - every second of audio transcribed or named by stt/audio-dropped;
 * - with default properties, on a link at half the linear16 rate, captions
 *   within the bin's default latency (5 s) at p95;
 * - a WARNING when the live path dies, when both branches are unreachable
 *   and when the link is too slow.
 */
#pragma once

#include <string>
#include <vector>

#include "rehearsal.h"

namespace nettest {

/* Which targets apply. */
enum class Kind { sending, idle, slow, loss, none };
const char *name(Kind k);
bool parse_kind(const std::string &text, Kind *k);

/* Seconds; -1: did not happen. Detection and the first WARNING count from the
 * event, the first caption and recovery from the restore. */
struct Figures {
  double event = -1, restored = -1; /* running time */
  double detect = -1, warning = -1, first_caption = -1, recovered = -1;
  /* dgbatchsink: when a request first met the blackhole (one in flight at the
   * event, or the first sent during it), from the event; -1: none did. It
   * sends a chunk at a time, so it has nothing to detect before. */
  double first_send = -1;
  /* Connection attempts (live: WebSocket connects; pre-recorded: requests)
   * from the event to the restore; the breaker's open time is 30 s. */
  uint64_t attempts_in_outage = 0;
  bool first_caption_backlog = false; /* the caption was for audio sent before the restore */
  double fed = 0, transcribed = 0, dropped = 0, lost = 0; /* audio seconds */
  /* Audio sent as Opus that a final covers without its word: the sequence
   * engine cannot read lossy audio, so "answered" is all it can prove. */
  double answered = 0;
  double lossy_from = -1; /* running time the DUT said it sends Opus; -1 never */
  size_t duplicates = 0;  /* blocks transcribed twice or more */
  std::vector<uint32_t> lost_blocks;
  double late_p50 = 0, late_p95 = 0,
         late_max = 0; /* per word: its final's arrival - the word's end */
  size_t finals = 0, warnings = 0, errors = 0, degraded = 0, recovered_count = 0;
  bool eos = false;
};

Figures measure(const Recording &r);

/* A target the figures miss, in words. `timing`: only how soon (detection,
 * WARNING, first caption, recovery, lateness) — on a loaded 2-core machine
 * one run can miss those by a scheduling hiccup; a behaviour miss (EOS,
 * ERROR, audio lost, no WARNING at all) never comes from load. */
struct Miss {
  std::string what;
  bool timing = false;
};

/* The targets the figures miss (empty: all met). */
std::vector<Miss> missed_targets(const Figures &f, const Recording &r, Kind kind);

/* A header and a row of the table; a machine-readable "network-result k=v ..." line. */
std::string table_header();
std::string table_row(const std::string &scenario, const Recording &r, const Figures &f);
std::string result_line(const std::string &scenario, const Recording &r, const Figures &f);

} // namespace nettest
