/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The benchmarks feed sinks from a bare source pad of their own (no appsrc
 * queue in the measurement): this starts such a pad's stream. */
#pragma once

#include <gst/gst.h>

#include <string>

namespace bench {

/* stream-start, 16 kHz mono S16LE caps and a TIME segment on a linked,
 * active feed pad. */
inline void start_feed(GstPad *feed, const std::string &stream_id) {
  gst_pad_push_event(feed, gst_event_new_stream_start(stream_id.c_str()));
  GstCaps *caps =
      gst_caps_from_string("audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1");
  gst_pad_push_event(feed, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(feed, gst_event_new_segment(&segment));
}

} // namespace bench
