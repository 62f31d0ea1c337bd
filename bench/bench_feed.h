/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The benchmarks feed sinks from a bare source pad of their own (no appsrc
 * queue in the measurement): this makes such a pad and starts its stream. */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <string>

#include "stt_protocol.h"

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

namespace detail {

inline GstPadProbeReturn count_connected(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto health = dgf::stt::parse<dgf::stt::Health>(GST_PAD_PROBE_INFO_EVENT(info));
  if (health && health->healthy && health->reason == "connected")
    ++*static_cast<std::atomic<int> *>(data);
  return GST_PAD_PROBE_OK;
}

/* The feed is a live source: sttfailover streams live input (a file would
 * go to the pre-recorded API). */
inline gboolean answer_live(GstPad *pad, GstObject *parent, GstQuery *query) {
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return gst_pad_query_default(pad, parent, query);
  gst_query_set_latency(query, TRUE, 0, GST_CLOCK_TIME_NONE);
  return TRUE;
}

} // namespace detail

/* A live feed pad linked to `sink`'s sink pad, its stream started.
 * `live_sink`: where the "connected" stt/health leaves upstream (the sink
 * itself, or the bin's live sink inside it); each one counts in *connected. */
inline GstPad *make_live_feed(GstElement *sink, GstElement *live_sink, int index,
                              std::atomic<int> *connected) {
  GstPad *feed = gst_pad_new("feed", GST_PAD_SRC);
  gst_pad_set_query_function(feed, detail::answer_live);
  GstPad *live_pad = gst_element_get_static_pad(live_sink, "sink");
  gst_pad_add_probe(live_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, detail::count_connected, connected,
                    nullptr);
  gst_object_unref(live_pad);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_set_active(feed, TRUE);
  if (gst_pad_link(feed, sinkpad) != GST_PAD_LINK_OK)
    g_error("cannot link the feed pad");
  gst_object_unref(sinkpad);
  start_feed(feed, "bench-" + std::to_string(index));
  return feed;
}

} // namespace bench
