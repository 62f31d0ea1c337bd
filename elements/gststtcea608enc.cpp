/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttcea608enc: GStreamer glue over plugin/cea608_encoder (the byte stream,
 * unit-tested on its own). Everything runs on the sink pad's streaming
 * thread: captions and GAPs say how far the caption stream is known; every
 * frame whose time plus `lookahead` lies within that is encoded and pushed,
 * so pop-on captions can be built off screen before they are due. Settings
 * are read once per stream (at caps); the rest is reset on flush and stop.
 */
/**
 * SECTION:element-sttcea608enc
 * @title: sttcea608enc
 *
 * Encodes a timed caption text stream (sttfailover's `text` pad,
 * dgtranscribebin's `src` pad) into CEA-608 closed captions: one byte pair
 * per video frame, padding (0x80 0x80) when idle, so the stream keeps
 * flowing for cccombiner also over silence (GAP events). Pop-on captions
 * flip on screen at each caption's PTS and are erased at its end; roll-up
 * (2 to 4 rows) shows text as it is sent, starting at the PTS. Rows hold at
 * most 32 columns (use `caption-max-chars=32` upstream so lines are not
 * re-broken); characters outside the 608 repertoire are replaced.
 *
 * CC1 and CC2 come out as `closedcaption/x-cea-608,format=raw` (field 1) when
 * downstream takes it, else as `format=s334-1a`; CC3 and CC4 are field 2 and
 * come out as s334-1a, which carries the field. To a downstream that takes
 * only CEA-708 (`closedcaption/x-cea-708,format=cc_data`, e.g. cc708overlay,
 * which renders only 708) the output is cc_data: the 608 pair plus CEA-708
 * service 1 with the same rows.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=talk.wav ! wavparse ! dgtranscribebin caption-max-chars=32 ! \
 *     sttcea608enc ! ccconverter ! closedcaption/x-cea-708,format=cc_data ! cc.caption \
 *     videotestsrc num-buffers=900 ! video/x-raw,format=I420,framerate=30000/1001 ! \
 *     cccombiner name=cc ! x264enc ! h264parse ! mpegtsmux ! filesink location=talk.ts
 * ]|
 * Puts a WAV file's captions, as CEA-608 in A/53 user data, into an H.264
 * MPEG-TS. x264enc writes the A/53 user data only from CEA-708 `cc_data`
 * caption meta, hence ccconverter and its caps. Linked to cc708overlay's
 * `cc_sink` instead, the output is cc_data with CEA-708 service 1, which
 * cc708overlay draws. docs/broadcast-captions.md has the rest.
 */
#include <config.h>

#include "gststtcea608enc.h"

#include <algorithm>
#include <memory>
#include <string>

#include "cea608_encoder.h"
#include "cea708_service.h"

GST_DEBUG_CATEGORY_STATIC(stt_cea608_enc_debug);
#define GST_CAT_DEFAULT stt_cea608_enc_debug

#define DEFAULT_MODE GST_STT_CEA608_ENC_MODE_POP_ON
#define DEFAULT_CHANNEL GST_STT_CEA608_ENC_CHANNEL_CC1
#define DEFAULT_FPS_N 30000
#define DEFAULT_FPS_D 1001
#define DEFAULT_LOOKAHEAD 1500 /* ms: a full 2 x 32 pop-on caption takes 1.35 s at 29.97 fps */

enum { PROP_0, PROP_MODE, PROP_CHANNEL, PROP_FRAMERATE, PROP_LOOKAHEAD };

namespace {

struct Settings {
  GstSttCea608EncMode mode = DEFAULT_MODE;
  GstSttCea608EncChannel channel = DEFAULT_CHANNEL;
  gint fps_n = DEFAULT_FPS_N;
  gint fps_d = DEFAULT_FPS_D;
  guint lookahead_ms = DEFAULT_LOOKAHEAD;
};

/* Per stream; only the streaming thread touches it. */
struct State {
  std::unique_ptr<dgf::Cea608Encoder> encoder;
  std::unique_ptr<dgf::Cea708Service> service; /* cc_data output: 708 service 1 too */
  unsigned cc_count = 0;                       /* cc_data triplets per frame */
  GstSegment segment;
  bool have_segment = false;
  bool s334 = false;   /* output carries the field byte */
  bool field2 = false; /* CC3/CC4 */
  GstClockTime lookahead = 0;
  GstClockTime known_until = 0; /* the caption stream is complete before this */
};

} // namespace

struct _GstSttCea608Enc {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *srcpad;
  Settings *settings; /* object lock */
  State *state;       /* streaming thread */
};

G_DEFINE_TYPE(GstSttCea608Enc, gst_stt_cea608_enc, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(sttcea608enc, "sttcea608enc", GST_RANK_NONE, GST_TYPE_STT_CEA608_ENC);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("text/x-raw, format = (string) utf8"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("closedcaption/x-cea-608, format = (string) { raw, "
                                            "s334-1a }, framerate = (fraction) [ 1/1001, 240/1 ]; "
                                            "closedcaption/x-cea-708, format = (string) cc_data, "
                                            "framerate = (fraction) [ 1/1001, 240/1 ]"));

GType gst_stt_cea608_enc_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_CEA608_ENC_MODE_POP_ON,
       "Pop-on: each caption built off screen, shown whole at its start, erased at its end",
       "pop-on"},
      {GST_STT_CEA608_ENC_MODE_ROLL_UP_2, "Roll-up, 2 rows: text shows as it is sent", "roll-up-2"},
      {GST_STT_CEA608_ENC_MODE_ROLL_UP_3, "Roll-up, 3 rows", "roll-up-3"},
      {GST_STT_CEA608_ENC_MODE_ROLL_UP_4, "Roll-up, 4 rows", "roll-up-4"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttCea608EncMode", values));
  return type;
}

GType gst_stt_cea608_enc_channel_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STT_CEA608_ENC_CHANNEL_CC1, "CC1 (field 1, data channel 1)", "cc1"},
      {GST_STT_CEA608_ENC_CHANNEL_CC2, "CC2 (field 1, data channel 2)", "cc2"},
      {GST_STT_CEA608_ENC_CHANNEL_CC3, "CC3 (field 2, data channel 1; s334-1a output)", "cc3"},
      {GST_STT_CEA608_ENC_CHANNEL_CC4, "CC4 (field 2, data channel 2; s334-1a output)", "cc4"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstSttCea608EncChannel", values));
  return type;
}

/* Both byte streams from frame `frame` on, blank (a new segment, a flush). */
static void start_at(State *st, uint64_t frame) {
  st->encoder->start_at(frame);
  if (st->service)
    st->service->start_at(frame);
}

/* Picks the output format (raw for field 1 when downstream takes it; cc_data,
 * with the 708 service, for a 708-only consumer) and the frame rate
 * (downstream's if it fixes one, else the property), makes the encoders and
 * pushes the caps. */
static gboolean negotiate(GstSttCea608Enc *self) {
  Settings s;
  GST_OBJECT_LOCK(self);
  s = *self->settings;
  GST_OBJECT_UNLOCK(self);
  State *st = self->state;
  st->field2 =
      s.channel == GST_STT_CEA608_ENC_CHANNEL_CC3 || s.channel == GST_STT_CEA608_ENC_CHANNEL_CC4;
  st->lookahead = static_cast<GstClockTime>(s.lookahead_ms) * GST_MSECOND;

  GstCaps *peer = gst_pad_peer_query_caps(self->srcpad, nullptr);
  GstCaps *chosen = nullptr;
  /* 608 alone where downstream takes it; cc_data (608 and 708 service 1)
   * for a 708 consumer (cc708overlay renders only 708). */
  const char *formats[][2] = {{"closedcaption/x-cea-608", "raw"},
                              {"closedcaption/x-cea-608", "s334-1a"},
                              {"closedcaption/x-cea-708", "cc_data"}};
  for (auto [media, format] : formats) {
    if (st->field2 && g_str_equal(format, "raw"))
      continue;
    GstCaps *want = gst_caps_new_simple(media, "format", G_TYPE_STRING, format, "framerate",
                                        GST_TYPE_FRACTION_RANGE, 1, 1001, 240, 1, nullptr);
    GstCaps *both = gst_caps_intersect(want, peer);
    gst_caps_unref(want);
    if (!gst_caps_is_empty(both)) {
      chosen = both;
      break;
    }
    gst_caps_unref(both);
  }
  gst_caps_unref(peer);
  if (!chosen) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("downstream takes no CEA-608 this channel needs"),
                      ("channel %s needs format=%s", st->field2 ? "CC3/CC4" : "CC1/CC2",
                       st->field2 ? "s334-1a or 708 cc_data" : "raw, s334-1a or 708 cc_data"));
    return FALSE;
  }
  chosen = gst_caps_make_writable(chosen);
  chosen = gst_caps_truncate(chosen);
  gst_structure_fixate_field_nearest_fraction(gst_caps_get_structure(chosen, 0), "framerate",
                                              s.fps_n, s.fps_d);
  chosen = gst_caps_fixate(chosen);
  const GstStructure *fixed = gst_caps_get_structure(chosen, 0);
  gint fps_n = s.fps_n, fps_d = s.fps_d;
  gst_structure_get_fraction(fixed, "framerate", &fps_n, &fps_d);
  st->s334 = g_str_equal(gst_structure_get_string(fixed, "format"), "s334-1a");
  st->service.reset();
  if (g_str_equal(gst_structure_get_string(fixed, "format"), "cc_data")) {
    /* cc_count per frame as in a CDP: 9600 bit/s of captions in all. */
    double fps = static_cast<double>(fps_n) / fps_d;
    st->cc_count = fps >= 59 ? 10 : fps >= 49 ? 12 : fps >= 29 ? 20 : fps >= 24.5 ? 24 : 25;
    st->service = std::make_unique<dgf::Cea708Service>(
        static_cast<uint32_t>(fps_n), static_cast<uint32_t>(fps_d), st->cc_count - 2);
  }

  dgf::Cea608Settings cs;
  cs.mode = static_cast<dgf::Cea608Mode>(s.mode);
  cs.channel = static_cast<dgf::Cea608Channel>(s.channel);
  cs.fps_n = static_cast<uint32_t>(fps_n);
  cs.fps_d = static_cast<uint32_t>(fps_d);
  st->encoder = std::make_unique<dgf::Cea608Encoder>(cs);
  if (st->have_segment)
    start_at(st, st->encoder->frame_at(st->segment.start));
  GST_INFO_OBJECT(self, "output %" GST_PTR_FORMAT, chosen);
  gboolean ok = gst_pad_push_event(self->srcpad, gst_event_new_caps(chosen));
  gst_caps_unref(chosen);
  return ok;
}

static GstFlowReturn push_frame(GstSttCea608Enc *self) {
  State *st = self->state;
  uint64_t index = st->encoder->frame();
  uint64_t late_before = st->encoder->late_captions();
  dgf::Cea608Pair pair = st->encoder->next();
  if (st->encoder->late_captions() != late_before)
    GST_INFO_OBJECT(
        self,
        "a pop-on caption could not be built by its start: on screen late, %" G_GUINT64_FORMAT
        " so far (a long caption right after a short one, or lookahead too short)",
        st->encoder->late_captions());
  GstBuffer *buf;
  if (st->service) {
    /* cc_data: the 608 pair in its field's triplet (cc_type 0 or 1), the
     * other field's empty, the 708 service's DTVCC triplets, then padding. */
    std::vector<guint8> cc;
    auto triplet = [&cc](guint8 head, guint8 b1, guint8 b2) {
      cc.insert(cc.end(), {head, b1, b2});
    };
    if (st->field2) {
      triplet(0xF8, 0x80, 0x80);
      triplet(0xFD, pair.b1, pair.b2);
    } else {
      triplet(0xFC, pair.b1, pair.b2);
      triplet(0xF9, 0x80, 0x80);
    }
    for (const dgf::CcTriplet &t : st->service->next())
      triplet(t[0], t[1], t[2]);
    while (cc.size() < 3u * st->cc_count)
      triplet(0xFA, 0x00, 0x00);
    buf = gst_buffer_new_memdup(cc.data(), cc.size());
  } else if (st->s334) {
    /* SMPTE 334-1 line byte: bit 7 set for field 1. */
    const guint8 triple[3] = {static_cast<guint8>(st->field2 ? 0x00 : 0x80), pair.b1, pair.b2};
    buf = gst_buffer_new_memdup(triple, sizeof triple);
  } else {
    const guint8 bytes[2] = {pair.b1, pair.b2};
    buf = gst_buffer_new_memdup(bytes, sizeof bytes);
  }
  GST_BUFFER_PTS(buf) = st->encoder->frame_time(index);
  GST_BUFFER_DURATION(buf) = st->encoder->frame_time(index + 1) - GST_BUFFER_PTS(buf);
  return gst_pad_push(self->srcpad, buf);
}

/* Every frame the caption stream is known for, `lookahead` ahead; at EOS
 * (`all`) until everything is on and off screen. */
static GstFlowReturn drain(GstSttCea608Enc *self, bool all) {
  State *st = self->state;
  if (!st->encoder)
    return GST_FLOW_OK;
  GstFlowReturn ret = GST_FLOW_OK;
  if (all) {
    while (ret == GST_FLOW_OK && (!st->encoder->idle() || (st->service && !st->service->idle())))
      ret = push_frame(self);
    return ret;
  }
  while (ret == GST_FLOW_OK &&
         st->encoder->frame_time(st->encoder->frame()) + st->lookahead <= st->known_until)
    ret = push_frame(self);
  return ret;
}

static GstFlowReturn chain(GstPad *, GstObject *parent, GstBuffer *buf) {
  auto *self = GST_STT_CEA608_ENC(parent);
  State *st = self->state;
  if (!st->encoder && !negotiate(self)) {
    gst_buffer_unref(buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstClockTime pts = GST_BUFFER_PTS(buf), duration = GST_BUFFER_DURATION(buf);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) {
    GST_WARNING_OBJECT(self, "caption without a PTS, dropped");
    gst_buffer_unref(buf);
    return GST_FLOW_OK;
  }
  if (!GST_CLOCK_TIME_IS_VALID(duration))
    duration = 0;
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    std::string text(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(buf, &map);
    size_t replaced = 0;
    for (const auto &c : dgf::cea608_chars(text))
      replaced += c.replaced;
    if (replaced)
      GST_DEBUG_OBJECT(self, "%zu characters outside CEA-608 replaced in \"%s\"", replaced,
                       text.c_str());
    GST_LOG_OBJECT(self, "caption %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT ": %s",
                   GST_TIME_ARGS(pts), GST_TIME_ARGS(duration), text.c_str());
    st->encoder->push({text, pts, duration});
    if (st->service)
      st->service->push({text, pts, duration});
  }
  gst_buffer_unref(buf);
  st->known_until = std::max<GstClockTime>(st->known_until, pts + duration);
  return drain(self, false);
}

static void reset_state(GstSttCea608Enc *self) {
  State *st = self->state;
  st->encoder.reset();
  st->service.reset();
  st->have_segment = false;
  st->known_until = 0;
  gst_segment_init(&st->segment, GST_FORMAT_TIME);
}

static gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_CEA608_ENC(parent);
  State *st = self->state;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_CAPS:
    gst_event_unref(event);
    return st->encoder ? TRUE : negotiate(self);
  case GST_EVENT_SEGMENT: {
    const GstSegment *segment;
    gst_event_parse_segment(event, &segment);
    if (segment->format != GST_FORMAT_TIME) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("captions need a TIME segment"), (nullptr));
      gst_event_unref(event);
      return FALSE;
    }
    gst_segment_copy_into(segment, &st->segment);
    st->have_segment = true;
    st->known_until = std::max<GstClockTime>(st->known_until, segment->start);
    if (st->encoder)
      start_at(st, st->encoder->frame_at(segment->start));
    return gst_pad_push_event(self->srcpad, event);
  }
  case GST_EVENT_GAP: {
    /* Nothing said here: the frames still go out (padding) so cccombiner,
     * which takes one caption buffer per video frame, never waits. */
    GstClockTime ts, duration;
    gst_event_parse_gap(event, &ts, &duration);
    gst_event_unref(event);
    if (GST_CLOCK_TIME_IS_VALID(ts))
      st->known_until = std::max<GstClockTime>(
          st->known_until, ts + (GST_CLOCK_TIME_IS_VALID(duration) ? duration : 0));
    return drain(self, false) == GST_FLOW_OK;
  }
  case GST_EVENT_EOS:
    /* Everything left goes out, the last caption erased at its end. */
    if (st->encoder)
      drain(self, true);
    return gst_pad_push_event(self->srcpad, event);
  case GST_EVENT_FLUSH_STOP:
    /* Downstream dropped what we sent: start blank; a segment follows. */
    if (st->encoder)
      start_at(st, st->encoder->frame_at(st->segment.start));
    st->known_until = 0;
    return gst_pad_push_event(self->srcpad, event);
  default:
    return gst_pad_event_default(pad, parent, event);
  }
}

/* Frames go out `lookahead` behind the captions: add it to the latency. */
static gboolean src_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  auto *self = GST_STT_CEA608_ENC(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return gst_pad_query_default(pad, parent, query);
  if (!gst_pad_peer_query(self->sinkpad, query))
    return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  GST_OBJECT_LOCK(self);
  GstClockTime extra = static_cast<GstClockTime>(self->settings->lookahead_ms) * GST_MSECOND;
  GST_OBJECT_UNLOCK(self);
  gst_query_set_latency(query, live, min + extra,
                        GST_CLOCK_TIME_IS_VALID(max) ? max + extra : GST_CLOCK_TIME_NONE);
  return TRUE;
}

static GstStateChangeReturn change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_STT_CEA608_ENC(element);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_stt_cea608_enc_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset_state(self);
  return ret;
}

static void set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_CEA608_ENC(object);
  GST_OBJECT_LOCK(self);
  Settings *s = self->settings;
  switch (id) {
  case PROP_MODE:
    s->mode = static_cast<GstSttCea608EncMode>(g_value_get_enum(value));
    break;
  case PROP_CHANNEL:
    s->channel = static_cast<GstSttCea608EncChannel>(g_value_get_enum(value));
    break;
  case PROP_FRAMERATE:
    s->fps_n = gst_value_get_fraction_numerator(value);
    s->fps_d = gst_value_get_fraction_denominator(value);
    break;
  case PROP_LOOKAHEAD:
    s->lookahead_ms = g_value_get_uint(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_STT_CEA608_ENC(object);
  GST_OBJECT_LOCK(self);
  Settings *s = self->settings;
  switch (id) {
  case PROP_MODE:
    g_value_set_enum(value, s->mode);
    break;
  case PROP_CHANNEL:
    g_value_set_enum(value, s->channel);
    break;
  case PROP_FRAMERATE:
    gst_value_set_fraction(value, s->fps_n, s->fps_d);
    break;
  case PROP_LOOKAHEAD:
    g_value_set_uint(value, s->lookahead_ms);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void finalize(GObject *object) {
  auto *self = GST_STT_CEA608_ENC(object);
  delete self->state;
  delete self->settings;
  G_OBJECT_CLASS(gst_stt_cea608_enc_parent_class)->finalize(object);
}

static void gst_stt_cea608_enc_class_init(GstSttCea608EncClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  object_class->set_property = set_property;
  object_class->get_property = get_property;
  object_class->finalize = finalize;
  element_class->change_state = change_state;

  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  /**
   * GstSttCea608Enc:mode:
   *
   * Pop-on (whole captions at their start, erased at their end) or roll-up
   * with 2, 3 or 4 rows (text shows as it is sent). Default: pop-on.
   */
  g_object_class_install_property(
      object_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode",
                        "Caption style: pop-on (each caption shown whole at its start, erased "
                        "at its end) or roll-up with 2, 3 or 4 rows (text shows as it is sent)",
                        GST_TYPE_STT_CEA608_ENC_MODE, DEFAULT_MODE, flags));
  /**
   * GstSttCea608Enc:channel:
   *
   * CEA-608 caption channel: CC1 and CC2 are field 1 (raw output), CC3 and
   * CC4 field 2 (s334-1a output). Default: cc1.
   */
  g_object_class_install_property(
      object_class, PROP_CHANNEL,
      g_param_spec_enum("channel", "Channel",
                        "CEA-608 caption channel: cc1/cc2 are field 1 (format=raw, or s334-1a), "
                        "cc3/cc4 field 2 (format=s334-1a, which carries the field); on 708 "
                        "cc_data output the pair goes in its field's triplet either way",
                        GST_TYPE_STT_CEA608_ENC_CHANNEL, DEFAULT_CHANNEL, flags));
  /**
   * GstSttCea608Enc:framerate:
   *
   * The video frame rate: one byte pair goes out per frame. A frame rate
   * fixed by downstream caps wins. Default: 30000/1001.
   */
  g_object_class_install_property(
      object_class, PROP_FRAMERATE,
      gst_param_spec_fraction("framerate", "Frame rate",
                              "Video frame rate, one byte pair per frame (a rate downstream "
                              "caps fix wins)",
                              1, 1001, 240, 1, DEFAULT_FPS_N, DEFAULT_FPS_D, flags));
  /**
   * GstSttCea608Enc:lookahead:
   *
   * How far (ms) frames go out behind the caption stream, so a pop-on
   * caption can be built off screen before its start (about 1 frame per 2
   * characters); added to the latency. Default: 1500.
   */
  g_object_class_install_property(
      object_class, PROP_LOOKAHEAD,
      g_param_spec_uint("lookahead", "Lookahead",
                        "Frames go out this far (ms) behind the caption stream so pop-on captions "
                        "are built before their start (a 2 x 32 caption takes 1350 ms at 29.97 "
                        "fps); added to the latency",
                        0, 60000, DEFAULT_LOOKAHEAD, flags));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Captions to CEA-608", "Encoder/ClosedCaption",
      "Timed caption text to CEA-608 closed captions, one byte pair per video frame (pop-on or "
      "roll-up, CC1 to CC4), for ccconverter and cccombiner",
      DGF_MAINTAINER);
  gst_type_mark_as_plugin_api(GST_TYPE_STT_CEA608_ENC_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_STT_CEA608_ENC_CHANNEL, static_cast<GstPluginAPIFlags>(0));
  GST_DEBUG_CATEGORY_INIT(stt_cea608_enc_debug, "sttcea608enc", 0, "captions to CEA-608");
}

static void gst_stt_cea608_enc_init(GstSttCea608Enc *self) {
  self->settings = new Settings();
  self->state = new State();
  gst_segment_init(&self->state->segment, GST_FORMAT_TIME);
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, chain);
  gst_pad_set_event_function(self->sinkpad, sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_query_function(self->srcpad, src_query);
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
