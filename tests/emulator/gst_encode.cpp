/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gst_encode.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

namespace emutest {

std::string gst_encode(const std::vector<int16_t> &pcm, int rate, int channels,
                       const std::string &chain) {
  gst_init(nullptr, nullptr);
  gchar *desc = g_strdup_printf(
      "appsrc name=src format=time caps=audio/x-raw,format=S16LE,layout=interleaved,rate=%d,"
      "channels=%d ! audioconvert ! %s ! appsink name=sink sync=false",
      rate, channels, chain.c_str());
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc, &err);
  if (!pipe || err)
    g_error("gst_encode: %s: %s", desc, err ? err->message : "?");
  g_free(desc);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  g_object_set(src, "max-bytes", static_cast<guint64>(0), nullptr);
  g_assert_true(gst_element_set_state(pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  gsize bytes = pcm.size() * sizeof(int16_t);
  GstBuffer *buf = gst_buffer_new_memdup(pcm.data(), bytes);
  GST_BUFFER_PTS(buf) = 0;
  GST_BUFFER_DURATION(buf) =
      gst_util_uint64_scale(pcm.size() / static_cast<size_t>(channels), GST_SECOND, rate);
  g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src), buf), ==, GST_FLOW_OK);
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  std::string out;
  while (GstSample *s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstMapInfo map;
    GstBuffer *b = gst_sample_get_buffer(s);
    g_assert_true(gst_buffer_map(b, &map, GST_MAP_READ));
    out.append(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (m) {
    GError *e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    g_error("gst_encode: %s: %s", chain.c_str(), e->message);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  g_assert_cmpuint(out.size(), >, 0);
  return out;
}

} // namespace emutest
