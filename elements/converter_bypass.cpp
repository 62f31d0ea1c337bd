/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <config.h>

#include "converter_bypass.h"

#include <gst/audio/audio.h>
#include <gst/base/gstbasetransform.h>

#include <atomic>
#include <memory>
#include <vector>

namespace dgf {

namespace {

struct Bypass {
  /* All borrowed: the bin owns them, and buffers flow only while it lives.
   * A reference would be a cycle (the last converter's source pad holds a
   * probe that holds this state). */
  GstPad *ghost = nullptr;
  GstPad *target = nullptr;
  std::vector<GstBaseTransform *> converters;
  GstPadChainFunction long_way = nullptr;    /* the ghost pad's own chain */
  GstPadEventFunction ghost_event = nullptr; /* the ghost pad's own event handler */

  /* Streaming thread (the ghost pad's stream lock) only. */
  GstSegment segment;
  gint rate = 0;
  gint bpf = 0;

  std::atomic<bool> active{false};

  /* After a buffer took the chain: would the next one come out unchanged?
   * Each converter has the same caps on both sides (audioconvert and
   * audioresample then pass buffers through; capsfilter never changes one)
   * and no renegotiation pending. */
  bool chain_is_passthrough() const {
    /* Both ends first: audio that is converted fails here, at one compare
     * per buffer. */
    if (rate <= 0 || bpf <= 0 || !same_caps(ghost, target))
      return false;
    for (GstBaseTransform *t : converters)
      if (!same_caps(GST_BASE_TRANSFORM_SINK_PAD(t), GST_BASE_TRANSFORM_SRC_PAD(t)) ||
          gst_pad_needs_reconfigure(GST_BASE_TRANSFORM_SRC_PAD(t)))
        return false;
    return true;
  }

  static bool same_caps(GstPad *a, GstPad *b) {
    GstCaps *in = gst_pad_get_current_caps(a);
    GstCaps *out = gst_pad_get_current_caps(b);
    bool same = in && out && gst_caps_is_equal(in, out);
    if (in)
      gst_caps_unref(in);
    if (out)
      gst_caps_unref(out);
    return same;
  }
};

using Shared = std::shared_ptr<Bypass>;

GQuark bypass_quark() {
  static GQuark quark = g_quark_from_static_string("dgf-converter-bypass");
  return quark;
}

/* The ghost pad's state (its functions have no user data of their own). */
Bypass *of(GstPad *ghost) {
  auto *shared = static_cast<Shared *>(g_object_get_qdata(G_OBJECT(ghost), bypass_quark()));
  return shared ? shared->get() : nullptr;
}

void release(gpointer data) {
  delete static_cast<Shared *>(data);
}

GstFlowReturn bypass_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer) {
  Bypass *b = of(pad);
  if (!b->active.load(std::memory_order_relaxed)) {
    GstFlowReturn ret = b->long_way(pad, parent, buffer);
    if (ret == GST_FLOW_OK && b->chain_is_passthrough()) {
      GST_DEBUG_OBJECT(pad, "converters are passthrough: buffers go straight to %" GST_PTR_FORMAT,
                       b->target);
      b->active.store(true, std::memory_order_relaxed);
    }
    return ret;
  }
  /* What audioresample does to every buffer, passthrough or not. */
  if (b->segment.format == GST_FORMAT_TIME) {
    buffer = gst_audio_buffer_clip(buffer, &b->segment, b->rate, b->bpf);
    if (!buffer)
      return GST_FLOW_OK;
  }
  return gst_pad_chain(b->target, buffer);
}

gboolean bypass_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  Bypass *b = of(pad);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_CAPS: {
    /* New caps: the converters may convert now; the next buffer shows. */
    b->active.store(false, std::memory_order_relaxed);
    GstCaps *caps;
    gst_event_parse_caps(event, &caps);
    GstAudioInfo info;
    bool audio = gst_audio_info_from_caps(&info, caps);
    b->rate = audio ? GST_AUDIO_INFO_RATE(&info) : 0;
    b->bpf = audio ? GST_AUDIO_INFO_BPF(&info) : 0;
    break;
  }
  case GST_EVENT_SEGMENT:
    gst_event_copy_segment(event, &b->segment);
    break;
  case GST_EVENT_FLUSH_STOP:
    gst_segment_init(&b->segment, GST_FORMAT_UNDEFINED);
    break;
  default:
    break;
  }
  return b->ghost_event(pad, parent, event);
}

/* Downstream wants other caps: the converters renegotiate at the next
 * buffer they see, so they must see it. */
GstPadProbeReturn on_upstream_event(GstPad *, GstPadProbeInfo *info, gpointer data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_RECONFIGURE)
    static_cast<Shared *>(data)->get()->active.store(false, std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

} // namespace

void converter_bypass_install(GstPad *ghost, GstPad *target,
                              std::initializer_list<GstElement *> converters) {
  auto bypass = std::make_shared<Bypass>();
  bypass->ghost = ghost;
  bypass->target = target;
  for (GstElement *e : converters)
    bypass->converters.push_back(GST_BASE_TRANSFORM(e));
  bypass->long_way = GST_PAD_CHAINFUNC(ghost);
  bypass->ghost_event = GST_PAD_EVENTFUNC(ghost);
  gst_segment_init(&bypass->segment, GST_FORMAT_UNDEFINED);
  g_object_set_qdata_full(G_OBJECT(ghost), bypass_quark(), new Shared(bypass), release);
  gst_pad_set_chain_function(ghost, bypass_chain);
  gst_pad_set_event_function(ghost, bypass_event);
  /* On the last converter's source pad, which skipped buffers never pass:
   * a probe on `target` would cost every buffer a probe walk. */
  gst_pad_add_probe(GST_BASE_TRANSFORM_SRC_PAD(bypass->converters.back()),
                    GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, new Shared(bypass),
                    release);
}

} // namespace dgf
