/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink: Deepgram's live (WebSocket) speech-to-text as a GstBaseSink. */
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DG_STREAM_SINK (gst_dg_stream_sink_get_type())
G_DECLARE_FINAL_TYPE(GstDgStreamSink, gst_dg_stream_sink, GST, DG_STREAM_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(dgstreamsink);

G_END_DECLS
