/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Caps helpers for the audio sink pads (the sinks' and sttfailover's): a
 * refusal that says what would have been accepted, and mono-unless-asked. */
#pragma once

#include <gst/gst.h>

namespace dgf {

/* Makes caps the sink refuses an ERROR that names them, the accepted caps and
 * what to do (GStreamer alone only says "not-negotiated"). */
void dg_name_refused_caps(GstPad *sink_pad);

/* The caps a sink takes: its template, mono only unless `multichannel` (so
 * an audioconvert upstream downmixes a stereo programme to one transcript). */
GstCaps *dg_sink_caps(GstPad *sink_pad, GstCaps *filter, bool multichannel);

} // namespace dgf
