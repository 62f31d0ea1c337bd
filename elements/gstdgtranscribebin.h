/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgtranscribebin: audio in, captions out. sttfailover with a dgstreamsink
 * and a dgbatchsink branch inside, so `... ! dgtranscribebin ! webvttenc !
 * filesink` needs no hand-built branches; static `sink` and `src` pads and a
 * guint ms `latency`, so gst-plugins-rs transcriberbin can use it as its
 * transcriber. Reference: docs/dgtranscribebin.md. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DG_TRANSCRIBE_BIN (gst_dg_transcribe_bin_get_type())
G_DECLARE_FINAL_TYPE(GstDgTranscribeBin, gst_dg_transcribe_bin, GST, DG_TRANSCRIBE_BIN, GstBin)

GST_ELEMENT_REGISTER_DECLARE(dgtranscribebin);

G_END_DECLS
