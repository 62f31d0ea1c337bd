/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sink_caps.h"

namespace dgf {

static GstPadProbeReturn check_caps_probe(GstPad *pad, GstPadProbeInfo *info, gpointer) {
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstCaps *accepted = gst_pad_query_caps(pad, nullptr);
  if (!gst_caps_can_intersect(caps, accepted)) {
    GstElement *element = GST_ELEMENT(gst_pad_get_parent(pad));
    gchar *got = gst_caps_to_string(caps);
    gchar *need = gst_caps_to_string(accepted);
    if (element) {
      GST_ELEMENT_ERROR(element, CORE, NEGOTIATION, ("unsupported audio caps: %s", got),
                        ("accepted: %s; put audioconvert ! audioresample before it (it downmixes "
                         "and converts), or set multichannel=true for one transcript per channel",
                         need));
      gst_object_unref(element);
    }
    g_free(got);
    g_free(need);
  }
  gst_caps_unref(accepted);
  return GST_PAD_PROBE_OK; /* the pad still refuses them (not-negotiated) */
}

GstCaps *dg_sink_caps(GstPad *sink_pad, GstCaps *filter, bool multichannel) {
  GstCaps *caps = gst_pad_get_pad_template_caps(sink_pad);
  if (!multichannel) {
    caps = gst_caps_make_writable(caps);
    for (guint i = 0; i < gst_caps_get_size(caps); i++)
      gst_structure_set(gst_caps_get_structure(caps, i), "channels", G_TYPE_INT, 1, nullptr);
  }
  if (filter) {
    GstCaps *both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = both;
  }
  return caps;
}

void dg_name_refused_caps(GstPad *sink_pad) {
  gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, check_caps_probe, nullptr,
                    nullptr);
}

} // namespace dgf
