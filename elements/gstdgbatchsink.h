/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink: Deepgram's pre-recorded (REST) speech-to-text as a GstBaseSink.
 *
 * Cuts the audio into chunks at pauses, uploads each as audio/wav and posts
 * the transcripts (stt/transcript) in timestamp order. Holds audio through
 * outages up to max-buffer and reports whatever it has to drop. See
 * docs/dgbatchsink.md.
 */
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DG_BATCH_SINK (gst_dg_batch_sink_get_type())
G_DECLARE_FINAL_TYPE(GstDgBatchSink, gst_dg_batch_sink, GST, DG_BATCH_SINK, GstBaseSink)

/* What to do when held audio passes max-buffer. */
typedef enum {
  GST_DG_BATCH_OVERFLOW_AUTO,        /* block for non-live upstream, else drop-oldest */
  GST_DG_BATCH_OVERFLOW_DROP_OLDEST, /* drop the oldest chunks, report stt/audio-dropped */
  GST_DG_BATCH_OVERFLOW_BLOCK,       /* render waits for room (flow control) */
} GstDgBatchOverflow;

#define GST_TYPE_DG_BATCH_OVERFLOW (gst_dg_batch_overflow_get_type())
GType gst_dg_batch_overflow_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(dgbatchsink);

G_END_DECLS
