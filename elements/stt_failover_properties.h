/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover's settings: what its properties hold, their defaults, and the
 * GObject property plumbing (install, set, get, the stats structure), in
 * stt_failover_properties.cpp. */
#pragma once

#include <gst/gst.h>

#include <algorithm>
#include <chrono>

#include "gststtfailover.h"
#include "caption_splitter.h"
#include "failover_core.h"
#include "resilience_properties.h"

namespace dgf::sttfailover {

constexpr GstSttFailoverMode DEFAULT_MODE = GST_STT_FAILOVER_MODE_AUTO;
constexpr guint DEFAULT_REPLAY_WINDOW_MS = 30000;
constexpr guint DEFAULT_BACKOFF_MIN_MS = 1000;
constexpr guint DEFAULT_BACKOFF_MAX_MS = 30000;
/* Covers the p95 caption delay measured on live feeds (docs/live-feeds.md). */
constexpr guint DEFAULT_LATENCY_MS = 5000;
constexpr guint DEFAULT_DRAIN_TIMEOUT_MS = 120000; /* as dgbatchsink's own */
constexpr guint DEFAULT_CUT_PAUSE_MS = 200;
constexpr guint DEFAULT_CUT_MAX_WAIT_MS = 5000;
constexpr gdouble DEFAULT_PAUSE_THRESHOLD = -40.0;
constexpr gint DEFAULT_MAX_OUTAGE_MS = -1; /* auto */
/* max-outage=-1: a file gives up after this; live input never does. */
constexpr guint kNonLiveMaxOutageMs = 120000;

struct Settings {
  BreakerProperties breaker =
      live_api_breaker_defaults(); /* no name: the pipeline's breaker (breaker_context.h) */
  CaptionSplitSettings captions;   /* caption-* properties */
  GstSttFailoverMode mode = DEFAULT_MODE;
  guint replay_window_ms = DEFAULT_REPLAY_WINDOW_MS;
  RetryBackoffProperties retry_backoff{DEFAULT_BACKOFF_MIN_MS,
                                       DEFAULT_BACKOFF_MAX_MS}; /* recovery attempts */
  guint latency_ms = DEFAULT_LATENCY_MS;
  guint drain_timeout_ms = DEFAULT_DRAIN_TIMEOUT_MS;
  guint cut_pause_ms = DEFAULT_CUT_PAUSE_MS;
  guint cut_max_wait_ms = DEFAULT_CUT_MAX_WAIT_MS;
  gdouble pause_threshold = DEFAULT_PAUSE_THRESHOLD;
  gint max_outage_ms = DEFAULT_MAX_OUTAGE_MS;

  /* max-outage for input of this liveness: -1 means never when live (a
   * captioner must come back by itself), kNonLiveMaxOutageMs for a file. */
  guint max_outage_for(bool live) const {
    if (max_outage_ms >= 0)
      return static_cast<guint>(max_outage_ms);
    return live ? 0 : kNonLiveMaxOutageMs;
  }
  FailoverSettings core_settings(bool live = true) const {
    FailoverSettings f;
    f.max_outage = static_cast<uint64_t>(max_outage_for(live)) * GST_MSECOND;
    f.replay_window = static_cast<uint64_t>(replay_window_ms) * GST_MSECOND;
    f.recovery_backoff.base = std::chrono::milliseconds{retry_backoff.min_ms};
    f.recovery_backoff.cap =
        std::chrono::milliseconds{std::max(retry_backoff.min_ms, retry_backoff.max_ms)};
    f.cut_pause = static_cast<uint64_t>(cut_pause_ms) * GST_MSECOND;
    f.cut_max_wait = static_cast<uint64_t>(cut_max_wait_ms) * GST_MSECOND;
    return f;
  }
};

FailoverMode to_core(GstSttFailoverMode m);

/* The properties, in their gst-inspect order; called from class_init. */
void install_properties(GObjectClass *gobject_class);
void set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);

} // namespace dgf::sttfailover
