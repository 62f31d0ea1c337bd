/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttcea608enc in a harness: one buffer per frame on the frame grid, also
 * over GAPs; pop-on flips at the caption's PTS; EOS erases and ends; caps per
 * channel (raw for field 1, s334-1a with the field byte for CC3); flush and
 * latency. The byte stream itself: tests/unit/test_cea608_encoder.cpp. */
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <string>
#include <vector>

static const GstClockTime MS = GST_MSECOND;

static GstHarness *harness(const char *props,
                           const char *src_caps = "closedcaption/x-cea-608,format=raw") {
  std::string desc = std::string("sttcea608enc ") + props;
  GstHarness *h = gst_harness_new_parse(desc.c_str());
  /* What downstream takes first: the element negotiates on the text caps. */
  gst_harness_set_sink_caps_str(h, src_caps);
  gst_harness_set_src_caps_str(h, "text/x-raw,format=utf8");
  return h;
}

static void push_caption(GstHarness *h, const char *text, GstClockTime pts, GstClockTime dur) {
  GstBuffer *b = gst_buffer_new_memdup(text, strlen(text));
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DURATION(b) = dur;
  g_assert_cmpint(gst_harness_push(h, b), ==, GST_FLOW_OK);
}

static void push_gap(GstHarness *h, GstClockTime ts, GstClockTime dur) {
  g_assert_true(gst_harness_push_event(h, gst_event_new_gap(ts, dur)));
}

struct Frame {
  GstClockTime pts, duration;
  std::vector<guint8> bytes;
};

static std::vector<Frame> pull_all(GstHarness *h) {
  std::vector<Frame> out;
  while (GstBuffer *b = gst_harness_try_pull(h)) {
    Frame f{GST_BUFFER_PTS(b), GST_BUFFER_DURATION(b), {}};
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    f.bytes.assign(map.data, map.data + map.size);
    gst_buffer_unmap(b, &map);
    gst_buffer_unref(b);
    out.push_back(f);
  }
  return out;
}

/* The frames' PTS follow each other with no hole, from `first`. */
static void assert_grid(const std::vector<Frame> &frames, guint64 first, int fps_n, int fps_d) {
  for (size_t i = 0; i < frames.size(); i++) {
    GstClockTime expect = gst_util_uint64_scale(first + i, GST_SECOND * fps_d, fps_n);
    GstClockTime next = gst_util_uint64_scale(first + i + 1, GST_SECOND * fps_d, fps_n);
    g_assert_cmpuint(frames[i].pts, ==, expect);
    g_assert_cmpuint(frames[i].duration, ==, next - expect);
  }
}

static long first_frame_with(const std::vector<Frame> &frames, guint8 b1, guint8 b2) {
  for (size_t i = 0; i < frames.size(); i++) {
    size_t at = frames[i].bytes.size() - 2;
    if (frames[i].bytes[at] == b1 && frames[i].bytes[at + 1] == b2)
      return static_cast<long>(i);
  }
  return -1;
}

/* Frames flow over silence (GAP), lookahead behind the caption stream; the
 * caption flips on at its PTS; EOS erases it at its end and ends the stream. */
static void test_frames_gaps_and_eos() {
  GstHarness *h = harness("framerate=30/1 lookahead=1000");
  push_gap(h, 0, 2000 * MS);
  auto frames = pull_all(h);
  /* Known to 2 s, 1 s ahead: the frames of [0, 1 s]. */
  g_assert_cmpuint(frames.size(), ==, 31);
  assert_grid(frames, 0, 30, 1);
  for (const auto &f : frames) {
    g_assert_cmpuint(f.bytes.size(), ==, 2);
    g_assert_cmphex(f.bytes[0], ==, 0x80);
    g_assert_cmphex(f.bytes[1], ==, 0x80);
  }
  push_caption(h, "Hello there", 2500 * MS, 1000 * MS);
  push_gap(h, 3500 * MS, 500 * MS);
  auto more = pull_all(h);
  frames.insert(frames.end(), more.begin(), more.end());
  g_assert_cmpuint(frames.size(), ==, 91); /* to 4 s - 1 s */
  gst_harness_push_event(h, gst_event_new_eos());
  more = pull_all(h);
  frames.insert(frames.end(), more.begin(), more.end());
  assert_grid(frames, 0, 30, 1);
  /* EOC (94 2f) at 2.5 s = frame 75, EDM (94 2c) at 3.5 s = frame 105. */
  g_assert_cmpint(first_frame_with(frames, 0x94, 0x2f), ==, 75);
  g_assert_cmpint(first_frame_with(frames, 0x94, 0x2c), ==, 105);
  g_assert_cmpuint(frames.size(), ==, 107); /* the EDM's repeat is the last */
  GstEvent *ev;
  bool eos = false;
  while ((ev = gst_harness_try_pull_event(h))) {
    eos |= GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  g_assert_true(eos);
  gst_harness_teardown(h);
}

static std::string caps_string(GstHarness *h) {
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  g_assert_nonnull(caps);
  gchar *s = gst_caps_to_string(caps);
  std::string out = s;
  g_free(s);
  gst_caps_unref(caps);
  return out;
}

/* CC3 is field 2: s334-1a triples whose first byte says field 2 (bit 7
 * clear), with CC3's codes (15 2f for EOC). CC1 on raw caps: pairs. */
static void test_channels_and_caps() {
  GstHarness *h = harness("channel=cc3 framerate=25/1 lookahead=0",
                          "closedcaption/x-cea-608,format={raw,s334-1a}");
  push_caption(h, "x", 0, 400 * MS);
  push_gap(h, 400 * MS, 600 * MS);
  auto frames = pull_all(h);
  std::string caps = caps_string(h);
  g_assert_nonnull(strstr(caps.c_str(), "s334-1a"));
  g_assert_nonnull(strstr(caps.c_str(), "25/1"));
  g_assert_cmpuint(frames.size(), >, 10);
  for (const auto &f : frames) {
    g_assert_cmpuint(f.bytes.size(), ==, 3);
    g_assert_cmphex(f.bytes[0], ==, 0x00);
  }
  g_assert_cmpint(first_frame_with(frames, 0x15, 0x2f), >=, 0);
  g_assert_cmpint(first_frame_with(frames, 0x94, 0x2f), ==, -1);
  gst_harness_teardown(h);

  /* CC1 on raw caps, on an NTSC frame grid. */
  h = harness("framerate=30000/1001");
  push_gap(h, 0, 3000 * MS);
  frames = pull_all(h);
  caps = caps_string(h);
  g_assert_nonnull(strstr(caps.c_str(), "format=(string)raw"));
  g_assert_nonnull(strstr(caps.c_str(), "30000/1001"));
  assert_grid(frames, 0, 30000, 1001);
  gst_harness_teardown(h);
}

/* To a 708 consumer (cc_data caps): per frame a CDP's 20 triplets at 29.97
 * fps, the 608 pair first (cc_type 0, valid), field 2 empty, then service
 * 1's DTVCC packets (cc_type 3 starts one, 2 continues), then padding. */
static void test_cc_data_carries_708() {
  GstHarness *h =
      harness("framerate=30000/1001 lookahead=1500", "closedcaption/x-cea-708,format=cc_data");
  push_caption(h, "HELLO", 1000 * MS, 1000 * MS);
  push_gap(h, 2000 * MS, 2000 * MS);
  gst_harness_push_event(h, gst_event_new_eos());
  auto frames = pull_all(h);
  std::string caps = caps_string(h);
  g_assert_nonnull(strstr(caps.c_str(), "x-cea-708"));
  g_assert_nonnull(strstr(caps.c_str(), "cc_data"));
  assert_grid(frames, 0, 30000, 1001);
  int packets = 0, eoc = -1;
  for (size_t i = 0; i < frames.size(); i++) {
    const auto &b = frames[i].bytes;
    g_assert_cmpuint(b.size(), ==, 60);
    g_assert_cmphex(b[0], ==, 0xFC);
    if (b[1] == 0x94 && b[2] == 0x2f && eoc < 0)
      eoc = static_cast<int>(i);
    g_assert_cmphex(b[3], ==, 0xF9);
    for (size_t t = 6; t < b.size(); t += 3)
      packets += b[t] == 0xFF; /* valid, cc_type 3 */
  }
  g_assert_cmpint(eoc, ==, 30);    /* the 608 flip at 1.001 s, as on raw caps */
  g_assert_cmpint(packets, ==, 3); /* build, toggle, hide */
  gst_harness_teardown(h);
}

/* GStreamer's own 708 renderer shows the captions: cc708overlay (which
 * renders 708 only) on black video lights pixels while each caption is up
 * and not before or after. Live video, so the overlay has the caption data
 * by each frame's time. */
static void test_cc708overlay_renders() {
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(
      "cc708overlay name=o ! video/x-raw,format=I420 ! appsink name=out sync=false "
      "videotestsrc is-live=true pattern=black num-buffers=105 ! "
      "video/x-raw,width=640,height=360,framerate=30000/1001 ! o.video_sink "
      "appsrc name=cc format=time caps=text/x-raw,format=utf8 ! sttcea608enc ! o.cc_sink",
      &error);
  g_assert_no_error(error);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "cc");
  GstElement *out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  struct Cue {
    double start, end;
    const char *text;
  } cues[] = {{1.0, 2.0, "HELLO WORLD"}, {2.5, 3.0, "SECOND"}};
  for (const Cue &c : cues) {
    GstBuffer *b = gst_buffer_new_memdup(c.text, strlen(c.text));
    GST_BUFFER_PTS(b) = static_cast<GstClockTime>(c.start * GST_SECOND);
    GST_BUFFER_DURATION(b) = static_cast<GstClockTime>((c.end - c.start) * GST_SECOND);
    GstFlowReturn ret;
    g_signal_emit_by_name(src, "push-buffer", b, &ret);
    gst_buffer_unref(b);
  }
  GstFlowReturn ret;
  g_signal_emit_by_name(src, "end-of-stream", &ret);
  int lit_frames = 0;
  for (;;) {
    GstSample *got = nullptr;
    g_signal_emit_by_name(out, "pull-sample", &got);
    if (!got)
      break;
    GstBuffer *b = gst_sample_get_buffer(got);
    double t = static_cast<double>(GST_BUFFER_PTS(b)) / GST_SECOND;
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    long lit = 0;
    for (gsize i = 0; i < 640 * 360; i++) /* the luma plane */
      lit += map.data[i] > 64;
    gst_buffer_unmap(b, &map);
    gst_sample_unref(got);
    bool inside = false, near_edge = false;
    for (const Cue &c : cues) {
      inside = inside || (t >= c.start + 0.2 && t < c.end - 0.2);
      near_edge = near_edge || (t > c.start - 0.2 && t < c.end + 0.2);
    }
    if (inside)
      g_assert_cmpint(lit, >, 100);
    else if (!near_edge)
      g_assert_cmpint(lit, ==, 0);
    lit_frames += lit > 0;
  }
  g_assert_cmpint(lit_frames, >=, 30); /* about 1.5 s of the 3.5 */
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(out);
  gst_object_unref(pipeline);
}

/* The latency query adds the lookahead; a flush starts blank on the grid of
 * the new segment. */
static void test_latency_and_flush() {
  GstHarness *h = harness("framerate=30/1 lookahead=700");
  push_caption(h, "before the flush", 0, 5000 * MS);
  GstQuery *q = gst_query_new_latency();
  gst_query_set_latency(q, TRUE, 0, GST_CLOCK_TIME_NONE);
  g_assert_true(gst_pad_peer_query(h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  g_assert_cmpuint(min, >=, 700 * MS);
  gst_query_unref(q);
  pull_all(h);
  gst_harness_push_event(h, gst_event_new_flush_start());
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  seg.start = 10 * GST_SECOND;
  seg.time = 10 * GST_SECOND;
  gst_harness_push_event(h, gst_event_new_segment(&seg));
  push_gap(h, 10 * GST_SECOND, 1000 * MS);
  auto frames = pull_all(h);
  g_assert_cmpuint(frames.size(), ==, 10);
  assert_grid(frames, 300, 30, 1);
  for (const auto &f : frames)
    g_assert_cmphex(f.bytes[0], ==, 0x80); /* nothing of the flushed caption */
  gst_harness_teardown(h);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  gst_init(nullptr, nullptr);
  g_test_add_func("/sttcea608enc/frames-gaps-and-eos", test_frames_gaps_and_eos);
  g_test_add_func("/sttcea608enc/channels-and-caps", test_channels_and_caps);
  g_test_add_func("/sttcea608enc/latency-and-flush", test_latency_and_flush);
  g_test_add_func("/sttcea608enc/cc-data-carries-708", test_cc_data_carries_708);
  g_test_add_func("/sttcea608enc/cc708overlay-renders", test_cc708overlay_renders);
  return g_test_run();
}
