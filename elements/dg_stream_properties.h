/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's settings: what its properties hold, their defaults, and the
 * GObject property plumbing (install, set, get, the stats structure), in
 * dg_stream_properties.cpp. */
#pragma once

#include <gst/gst.h>

#include "dg_common.h"
#include "resilience_properties.h"

namespace dgf::streamsink {

constexpr const char *kDefaultUrl = "wss://api.deepgram.com/v1/listen";
constexpr gboolean DEFAULT_INTERIM_RESULTS = FALSE;
constexpr gint DEFAULT_ENDPOINTING = -1; /* Deepgram's default */
constexpr guint DEFAULT_UTTERANCE_END_MS = 0;
constexpr gboolean DEFAULT_VAD_EVENTS = FALSE;
constexpr guint DEFAULT_KEEPALIVE_MS = 3000;
constexpr guint DEFAULT_STALL_TIMEOUT_MS = 10000;
constexpr guint DEFAULT_SEND_TIMEOUT_MS = 5000;
constexpr guint DEFAULT_FINALIZE_TIMEOUT_MS = 10000;
constexpr gboolean DEFAULT_RECONNECT = TRUE;
constexpr guint DEFAULT_REPLAY_WINDOW_MS = 60000;

struct StreamSettings {
  DgCommonSettings common;
  bool interim_results = DEFAULT_INTERIM_RESULTS;
  int endpointing = DEFAULT_ENDPOINTING;
  guint utterance_end_ms = DEFAULT_UTTERANCE_END_MS;
  bool vad_events = DEFAULT_VAD_EVENTS;
  guint keepalive_ms = DEFAULT_KEEPALIVE_MS;
  guint stall_ms = DEFAULT_STALL_TIMEOUT_MS;
  guint connect_ms = DEFAULT_CONNECT_TIMEOUT_MS;
  guint send_ms = DEFAULT_SEND_TIMEOUT_MS;
  guint finalize_ms = DEFAULT_FINALIZE_TIMEOUT_MS;
  bool reconnect = DEFAULT_RECONNECT;
  guint replay_window_ms = DEFAULT_REPLAY_WINDOW_MS;
  RetryBackoffProperties retry_backoff; /* reconnects when used alone */
  BreakerProperties breaker =
      live_api_breaker_defaults(); /* no name: the pipeline's breaker (breaker_context.h) */
};

/* The properties, in their gst-inspect order; called from class_init. */
void install_properties(GObjectClass *gobject_class);
void gst_dg_stream_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                     GParamSpec *pspec);
void gst_dg_stream_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                     GParamSpec *pspec);

} // namespace dgf::streamsink
