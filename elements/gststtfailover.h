/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover: routes audio to a live (stream) or a pre-recorded (batch)
 * speech-to-text branch, fails over without losing audio, comes back when the
 * stream heals, and merges both branches' captions on its text pad.
 * Reference: docs/sttfailover.md. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_STT_FAILOVER (gst_stt_failover_get_type())
G_DECLARE_FINAL_TYPE(GstSttFailover, gst_stt_failover, GST, STT_FAILOVER, GstElement)

/* The `mode` property: an operator's override of the routing. */
typedef enum {
  GST_STT_FAILOVER_MODE_AUTO = 0,         /* live: stream, batch while down; not live: batch */
  GST_STT_FAILOVER_MODE_FORCE_STREAM = 1, /* never batch; audio is reported dropped while down */
  GST_STT_FAILOVER_MODE_FORCE_BATCH = 2,  /* always batch; no recovery attempts */
  GST_STT_FAILOVER_MODE_STREAM_FIRST = 3, /* stream, batch while down, live or not */
} GstSttFailoverMode;
#define GST_TYPE_STT_FAILOVER_MODE (gst_stt_failover_mode_get_type())
GType gst_stt_failover_mode_get_type(void);

/* The read-only `state` property. */
typedef enum {
  GST_STT_FAILOVER_STATE_STREAMING = 0,
  GST_STT_FAILOVER_STATE_DEGRADED = 1,
  GST_STT_FAILOVER_STATE_RECOVERING = 2,
  GST_STT_FAILOVER_STATE_BATCH = 3, /* batch by choice: the input is not live */
} GstSttFailoverState;
#define GST_TYPE_STT_FAILOVER_STATE (gst_stt_failover_state_get_type())
GType gst_stt_failover_state_get_type(void);

/* Every buffer on the text pad carries a GstCustomMeta of this name whose
 * structure has `branch` ("stream" or "batch") and `session-id` (the STT
 * session that produced it; speaker labels compare only within one). Read it
 * with gst_buffer_get_custom_meta(buffer, GST_STT_FAILOVER_TRANSCRIPT_META). */
#define GST_STT_FAILOVER_TRANSCRIPT_META "DgfTranscriptMeta"

GST_ELEMENT_REGISTER_DECLARE(sttfailover);

G_END_DECLS
