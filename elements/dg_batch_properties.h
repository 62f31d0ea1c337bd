/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink's settings: what its properties hold, their defaults, and the
 * GObject property plumbing (install, set, get, the stats structure), in
 * dg_batch_properties.cpp. */
#pragma once

#include <gst/gst.h>

#include "gstdgbatchsink.h"
#include "dg_common.h"
#include "resilience_properties.h"

namespace dgf::batchsink {

constexpr const char *DEFAULT_URL = "https://api.deepgram.com/v1/listen";
constexpr guint DEFAULT_MIN_CHUNK_MS = 5000;
constexpr guint DEFAULT_MAX_CHUNK_MS = 30000; /* as the original backend */
constexpr guint DEFAULT_MIN_PAUSE_MS = 300;
constexpr gdouble DEFAULT_PAUSE_THRESHOLD = -40.0;
constexpr guint DEFAULT_MAX_BUFFER_MS = 600000;
constexpr GstDgBatchOverflow DEFAULT_OVERFLOW = GST_DG_BATCH_OVERFLOW_AUTO;
constexpr guint DEFAULT_DRAIN_TIMEOUT = 120000;  /* ms */
constexpr guint DEFAULT_REQUEST_TIMEOUT = 60000; /* ms */
constexpr guint DEFAULT_MAX_IN_FLIGHT = 2;
constexpr gboolean DEFAULT_UTTERANCES = FALSE;

struct Settings {
  DgCommonSettings common;
  guint min_chunk_ms = DEFAULT_MIN_CHUNK_MS;
  guint max_chunk_ms = DEFAULT_MAX_CHUNK_MS;
  guint min_pause_ms = DEFAULT_MIN_PAUSE_MS;
  gdouble pause_threshold = DEFAULT_PAUSE_THRESHOLD;
  guint max_buffer_ms = DEFAULT_MAX_BUFFER_MS;
  GstDgBatchOverflow overflow = DEFAULT_OVERFLOW;
  guint drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  guint request_timeout = DEFAULT_REQUEST_TIMEOUT;
  guint connect_timeout = DEFAULT_CONNECT_TIMEOUT_MS;
  RetryBackoffProperties retry_backoff;
  guint max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  gboolean utterances = DEFAULT_UTTERANCES;
  BreakerProperties breaker; /* no name: the pipeline's breaker (breaker_context.h) */
  /* Owned ref; nullptr: the system clock. Tests set a GstTestClock through
   * a "dgf.timer-clock" GstContext (no property: it is not for users). */
  GstClock *timer_clock = nullptr;
};

/* The properties, in their gst-inspect order; called from class_init. */
void install_properties(GObjectClass *gobject_class);
void gst_dg_batch_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                    GParamSpec *pspec);
void gst_dg_batch_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                    GParamSpec *pspec);
/* Tells the stats property's listeners it changed. */
void notify_stats(GstDgBatchSink *self);

} // namespace dgf::batchsink
