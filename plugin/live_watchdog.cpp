/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "live_watchdog.h"

#include <algorithm>

namespace dgf {
namespace {

/* Finals tile the audio up to rounding; this much short of the end is all. */
constexpr double kAnsweredSlack = 0.02;

uint64_t ms(uint64_t ns) {
  return ns / 1000000;
}

} // namespace

void LiveWatchdog::reset(uint64_t now) {
  WatchdogSettings settings = settings_;
  *this = LiveWatchdog(settings);
  playhead_at_ = last_audio_ = last_send_ = last_final_ = now;
}

void LiveWatchdog::advance(uint64_t now) {
  if (now > playhead_at_) {
    playhead_ = std::min(heard(), playhead_ + static_cast<double>(now - playhead_at_) / 1e9);
    playhead_at_ = now;
  }
}

double LiveWatchdog::heard() const {
  return delivered_ < 0 ? sent_ : std::min(sent_, delivered_);
}

bool LiveWatchdog::owed() const {
  /* A Finalize is answered only once the audio before it has arrived. */
  bool finalize_due = finalize_owed_ && heard() + kAnsweredSlack >= sent_;
  return finalize_due || playhead_ > answered_ + kAnsweredSlack;
}

void LiveWatchdog::on_delivered(double end) {
  delivered_ = std::max(delivered_, end);
}

bool LiveWatchdog::finalize_wanted() const {
  return !finalized_ && answered_ + kAnsweredSlack < sent_;
}

void LiveWatchdog::on_audio_sent(uint64_t now, double end) {
  advance(now);
  sent_ = std::max(sent_, end);
  last_audio_ = last_send_ = now;
  finalized_ = false;
}

void LiveWatchdog::on_text_sent(uint64_t now) {
  last_send_ = now;
}

void LiveWatchdog::on_finalize_sent(uint64_t now) {
  last_send_ = now;
  finalized_ = true;
  if (answered_ + kAnsweredSlack < sent_) {
    finalize_owed_ = true;
    if (!awaiting_since_)
      awaiting_since_ = now;
  }
}

void LiveWatchdog::on_close_sent(uint64_t now) {
  on_finalize_sent(now);
}

void LiveWatchdog::on_message(uint64_t now) {
  if (awaiting_since_)
    awaiting_since_ = now; /* alive: the count starts again */
}

void LiveWatchdog::on_final(uint64_t now, double until) {
  on_message(now);
  answered_ = std::max(answered_, until);
  last_final_ = now;
  interims_since_final_ = 0;
  if (answered_ + kAnsweredSlack >= sent_)
    finalize_owed_ = false;
}

void LiveWatchdog::on_interim(uint64_t now) {
  on_message(now);
  interims_since_final_++;
}

LiveWatchdog::Due LiveWatchdog::check(uint64_t now) {
  advance(now);
  if (!owed())
    awaiting_since_ = 0;
  else if (!awaiting_since_)
    awaiting_since_ = now;
  last_verdict_ = Due::Nothing;
  if (awaiting_since_ && now - awaiting_since_ >= settings_.stall)
    last_verdict_ = Due::Stall;
  else if (interims_since_final_ && now - last_final_ >= settings_.stall)
    last_verdict_ = Due::InterimStall; /* endless interims acknowledge nothing */
  else if (settings_.idle_finalize && now - last_audio_ >= settings_.idle_finalize &&
           finalize_wanted())
    last_verdict_ = Due::Finalize;
  else if (settings_.keepalive && now - last_send_ >= settings_.keepalive)
    last_verdict_ = Due::KeepAlive;
  return last_verdict_;
}

std::string LiveWatchdog::stall_reason() const {
  if (last_verdict_ == Due::InterimStall)
    return "stall: " + std::to_string(interims_since_final_) +
           " interim results and no final for " + std::to_string(ms(settings_.stall)) + " ms";
  return "stall: no message from Deepgram for " + std::to_string(ms(settings_.stall)) +
         " ms while it owes results for audio sent";
}

} // namespace dgf
