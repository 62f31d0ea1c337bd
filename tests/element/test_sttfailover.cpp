/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover with fake STT sinks: a GstHarness on each src pad plays the
 * sink, answering with stt/health, stt/ack and stt/transcript as a real one
 * would. Time is a GstTestClock: recovery and drain timers fire only when
 * the test cranks it. The element is compiled into this test so the test
 * shares its breaker registry (to open the breaker "from another pipeline").
 */
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <cstring>
#include <gst/check/gsttestclock.h>
#include <gst/gst.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "breaker_registry.h"
#include "gststtfailover.h"
#include "stt_protocol.h"

namespace stt = dgf::stt;

namespace {

const uint64_t MS = GST_MSECOND;
const int kRate = 16000;
const uint64_t kFramesPerBuffer = 1600; /* 100 ms */
const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

/* Each sample says which frame it is, so any buffer shows exactly which
 * audio it carries. */
gint16 sample_of(uint64_t frame) {
  return static_cast<gint16>(frame % 30000);
}

/* Loud audio whose samples encode their frame, or silence (for cut-pause). */
GstBuffer *audio_buffer(uint64_t first_frame, uint64_t frames, bool quiet = false) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, frames * 2, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  auto *s = reinterpret_cast<gint16 *>(map.data);
  for (uint64_t i = 0; i < frames; i++)
    s[i] = quiet ? 0 : sample_of(first_frame + i);
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = gst_util_uint64_scale_int(first_frame, GST_SECOND, kRate);
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale_int(frames, GST_SECOND, kRate);
  return buf;
}

/* The frames a buffer carries, checked against its PTS. */
std::vector<uint64_t> frames_of(GstBuffer *buf) {
  std::vector<uint64_t> frames;
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_READ);
  auto *s = reinterpret_cast<const gint16 *>(map.data);
  uint64_t first = gst_util_uint64_scale_int(GST_BUFFER_PTS(buf), kRate, GST_SECOND);
  for (gsize i = 0; i < map.size / 2; i++) {
    g_assert_cmpint(s[i], ==, sample_of(first + i)); /* timestamps match the audio */
    frames.push_back(first + i);
  }
  gst_buffer_unmap(buf, &map);
  return frames;
}

/* The element, a harness per pad, a bus, a test clock. */
struct Rig {
  GstElement *element;
  GstHarness *in;    /* sink pad in, stream pad out */
  GstHarness *batch; /* batch pad */
  GstHarness *text;  /* text pad */
  GstBus *bus;
  uint64_t next_frame = 0;
  std::vector<GstBuffer *> stream_seen, batch_seen;

  /* cut-pause=0: the rig's audio is all loud, so most tests cut at once. */
  explicit Rig(const char *breaker, const char *props = "") {
    std::string desc = std::string("sttfailover breaker=") + breaker +
                       " retry-backoff-min=100 retry-backoff-max=1000 cut-pause=0 " + props;
    GError *err = nullptr;
    element = gst_parse_launch(desc.c_str(), &err);
    g_assert_no_error(err);
    bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    in = gst_harness_new_with_element(element, "sink", "stream");
    batch = gst_harness_new_with_element(element, nullptr, "batch");
    text = gst_harness_new_with_element(element, nullptr, "text");
    gst_harness_use_testclock(in);
    gst_harness_set_src_caps_str(in, kCaps);
  }
  ~Rig() {
    for (GstBuffer *b : stream_seen)
      gst_buffer_unref(b);
    for (GstBuffer *b : batch_seen)
      gst_buffer_unref(b);
    gst_harness_teardown(text);
    gst_harness_teardown(batch);
    gst_harness_teardown(in);
    gst_element_set_bus(element, nullptr);
    gst_object_unref(bus);
    gst_object_unref(element);
  }

  uint64_t pts() const { return gst_util_uint64_scale_int(next_frame, GST_SECOND, kRate); }
  void push(int buffers = 1, bool quiet = false) {
    for (int i = 0; i < buffers; i++) {
      g_assert_cmpint(gst_harness_push(in, audio_buffer(next_frame, kFramesPerBuffer, quiet)), ==,
                      GST_FLOW_OK);
      next_frame += kFramesPerBuffer;
    }
  }
  void push_quiet(int buffers = 1) { push(buffers, true); }
  guint64 stat(const char *field) {
    GstStructure *stats;
    g_object_get(element, "stats", &stats, nullptr);
    guint64 v = 0;
    g_assert_true(gst_structure_get_uint64(stats, field, &v));
    gst_structure_free(stats);
    return v;
  }
  /* Streaming, then a stall, a recovery attempt and a healthy new session:
   * the state where the cut back to streaming is awaited. */
  void fail_and_reconnect() {
    stream_health(true, "s1");
    push(3);
    take_stream();
    stream_ack(300 * MS, "s1");
    stream_health(false, "s1", "stall", 0);
    push(2);
    take_batch();
    crank();
    stream_health(true, "s2");
    g_assert_cmpint(state(), ==, GST_STT_FAILOVER_STATE_RECOVERING);
  }
  /* Buffers that arrived on stream / batch since the last call. */
  std::vector<GstBuffer *> take(GstHarness *h, std::vector<GstBuffer *> &seen) {
    std::vector<GstBuffer *> out;
    while (GstBuffer *b = gst_harness_try_pull(h)) {
      out.push_back(b);
      seen.push_back(gst_buffer_ref(b));
      gst_buffer_unref(b);
    }
    return out;
  }
  std::vector<GstBuffer *> take_stream() { return take(in, stream_seen); }
  std::vector<GstBuffer *> take_batch() { return take(batch, batch_seen); }

  template <typename T> void upstream(GstHarness *h, const T &v) {
    g_assert_true(gst_harness_push_upstream_event(h, stt::make_event(v)));
  }
  void stream_health(bool healthy, const char *session, const char *reason = "connected",
                     int code = 0) {
    upstream(in, stt::Health{healthy, reason, code, true, session});
  }
  void stream_ack(uint64_t position, const char *session, bool drained = false) {
    upstream(in, stt::Ack{position, session, 0, drained});
  }
  void batch_ack(uint64_t position, uint32_t flush_id = 0, bool drained = false) {
    upstream(batch, stt::Ack{position, "b", flush_id, drained});
  }
  void final_text(GstHarness *h, uint64_t start, uint64_t duration, const char *text,
                  const char *session) {
    stt::TimedTranscript t;
    t.text = text;
    t.start = start;
    t.duration = duration;
    t.session_id = session;
    t.branch = h == in ? "stream" : "batch";
    upstream(h, t);
  }

  /* Events of one custom name that reached a harness, in order. */
  template <typename T> std::vector<T> events(GstHarness *h) {
    std::vector<T> out;
    while (GstEvent *e = gst_harness_try_pull_event(h)) {
      if (auto v = stt::parse<T>(e))
        out.push_back(*v);
      gst_event_unref(e);
    }
    return out;
  }
  size_t messages(const char *name) {
    size_t n = 0;
    while (GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
      std::string got = gst_structure_get_name(gst_message_get_structure(m));
      log.push_back(gst_message_ref(m));
      gst_message_unref(m);
      (void)got;
    }
    for (GstMessage *m : log)
      if (gst_structure_has_name(gst_message_get_structure(m), name))
        n++;
    return n;
  }
  template <typename T> std::vector<T> posted() {
    messages("");
    std::vector<T> out;
    for (GstMessage *m : log)
      if (auto v = stt::parse<T>(m))
        out.push_back(*v);
    return out;
  }
  int state() {
    int s;
    g_object_get(element, "state", &s, nullptr);
    return s;
  }
  /* Fires the next pending timer (the recovery attempt). */
  void crank() { g_assert_true(gst_harness_crank_single_clock_wait(in)); }

  std::vector<GstMessage *> log;
};

void free_log(Rig &r) {
  for (GstMessage *m : r.log)
    gst_message_unref(m);
  r.log.clear();
}

/* Streaming: every buffer to stream, untouched; the sink is told it is supervised. */
void test_streaming_routes_to_stream() {
  Rig r("t-stream");
  r.stream_health(true, "s1");
  r.push(5);
  auto got = r.take_stream();
  g_assert_cmpuint(got.size(), ==, 5);
  g_assert_cmpuint(r.take_batch().size(), ==, 0);
  g_assert_cmpuint(r.events<stt::Supervisor>(r.in).size(), ==, 1);
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_STREAMING);
  g_assert_cmpuint(r.messages("stt/degraded"), ==, 0);
  free_log(r);
}

/* A close: the un-acked stream audio goes to batch with its original
 * timestamps before the next live buffer; acked audio is not repeated. */
void test_failure_replays_before_live() {
  Rig r("t-replay");
  r.stream_health(true, "s1");
  r.push(10);
  r.take_stream();
  r.stream_ack(350 * MS, "s1");
  r.stream_health(false, "s1", "closed 1011 NET-0001", 1011);
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_DEGRADED);
  auto deg = r.posted<stt::Degraded>();
  g_assert_cmpuint(deg.size(), ==, 1);
  g_assert_cmpstr(deg[0].reason.c_str(), ==, "closed 1011 NET-0001");
  g_assert_cmpint(deg[0].code, ==, 1011);
  g_assert_cmpstr(deg[0].breaker_state.c_str(), ==, "closed");
  g_assert_cmpuint(r.take_batch().size(), ==, 0); /* replays wait for the streaming thread */

  r.push();
  auto got = r.take_batch();
  g_assert_cmpuint(got.size(), ==, 8);
  g_assert_cmpuint(GST_BUFFER_PTS(got[0]), ==, 350 * MS);
  g_assert_cmpuint(gst_buffer_get_size(got[0]), ==, 800 * 2); /* 50 ms: acked part cut */
  uint64_t expect = 350 * kRate / 1000;
  for (GstBuffer *b : got)
    for (uint64_t f : frames_of(b))
      g_assert_cmpuint(f, ==, expect++);
  g_assert_cmpuint(expect, ==, r.next_frame);
  g_assert_cmpuint(r.take_stream().size(), ==, 0);
  free_log(r);
}

/* Degraded -> timer -> stt/reconnect -> healthy -> cut: flush to batch after
 * all its audio, stream from the cut; recovered only after results. */
void test_recovery_cycle() {
  Rig r("t-recover");
  r.stream_health(true, "s1");
  r.push(3);
  g_assert_cmpuint(r.take_stream().size(), ==, 3);
  r.stream_ack(300 * MS, "s1");
  r.stream_health(false, "s1", "stall", 0);
  r.push(5);
  size_t batch_before = r.take_batch().size();
  g_assert_cmpuint(batch_before, ==, 5);
  r.events<stt::Reconnect>(r.in);

  r.crank(); /* recovery attempt */
  auto rc = r.events<stt::Reconnect>(r.in);
  g_assert_cmpuint(rc.size(), ==, 1);
  g_assert_cmpuint(rc[0].attempt, ==, 1);
  r.stream_health(true, "s2");
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_RECOVERING);
  g_assert_cmpuint(r.messages("stt/recovered"), ==, 0);

  uint64_t cut = r.pts();
  r.push();
  auto flushes = r.events<stt::Flush>(r.batch);
  g_assert_cmpuint(flushes.size(), ==, 1);
  g_assert_cmpuint(flushes[0].flush_id, !=, 0);
  g_assert_cmpuint(r.take_batch().size(), ==, 0); /* nothing to batch after the flush */
  auto s = r.take_stream();
  g_assert_cmpuint(s.size(), ==, 1);
  g_assert_cmpuint(GST_BUFFER_PTS(s[0]), ==, cut);
  g_assert_true(GST_BUFFER_FLAG_IS_SET(s[0], GST_BUFFER_FLAG_DISCONT));

  r.push(2);
  r.batch_ack(cut, flushes[0].flush_id);
  r.stream_ack(cut + 100 * MS, "s2");
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_STREAMING);
  auto rec = r.posted<stt::Recovered>();
  g_assert_cmpuint(rec.size(), ==, 1);
  g_assert_cmpuint(rec[0].batch_audio, ==, 500 * MS);
  r.stream_ack(cut + 300 * MS, "s2");
  g_assert_cmpuint(r.messages("stt/recovered"), ==, 1);
  g_assert_cmpuint(r.messages("stt/degraded"), ==, 1);
  free_log(r);
}

/* Two outages (the second during recovery) and back: every frame reaches
 * exactly one transcriber that finished it. */
/* The cut back to streaming waits for a pause: speech keeps going to batch,
 * so no word is split between a batch chunk and the new stream session. */
void test_cut_waits_for_a_pause() {
  Rig r("t-cut-pause", "cut-pause=200");
  r.fail_and_reconnect();
  r.push(4); /* speech: batch still */
  g_assert_cmpuint(r.take_batch().size(), ==, 4);
  g_assert_cmpuint(r.take_stream().size(), ==, 0);
  /* The outage's backlog goes at once, not at the cut. */
  auto catch_up = r.events<stt::Flush>(r.batch);
  g_assert_cmpuint(catch_up.size(), ==, 1);
  g_assert_cmpstr(catch_up[0].reason.c_str(), ==, "catch-up");
  g_assert_cmpuint(r.stat("catch-ups"), ==, 1);
  r.push_quiet(2); /* 0 and 100 ms of quiet before these: not yet */
  g_assert_cmpuint(r.take_batch().size(), ==, 2);
  g_assert_cmpuint(r.events<stt::Flush>(r.batch).size(), ==, 0);

  uint64_t cut = r.pts();
  r.push_quiet(); /* 200 ms of quiet before it: the cut */
  auto flushes = r.events<stt::Flush>(r.batch);
  g_assert_cmpuint(flushes.size(), ==, 1);
  g_assert_cmpstr(flushes[0].reason.c_str(), ==, "recovered");
  g_assert_cmpuint(r.take_batch().size(), ==, 0);
  auto s = r.take_stream();
  g_assert_cmpuint(s.size(), ==, 1);
  g_assert_cmpuint(GST_BUFFER_PTS(s[0]), ==, cut);
  g_assert_true(GST_BUFFER_FLAG_IS_SET(s[0], GST_BUFFER_FLAG_DISCONT));
  g_assert_cmpuint(r.stat("cuts-at-pause"), ==, 1);
  g_assert_cmpuint(r.stat("cuts-forced"), ==, 0);
  free_log(r);
}

/* No pause in cut-max-wait of audio: cut anyway, and count it. */
void test_cut_forced_after_max_wait() {
  Rig r("t-cut-forced", "cut-pause=200 cut-max-wait=500");
  r.fail_and_reconnect();
  uint64_t cut = r.pts() + 500 * MS;
  r.push(5); /* 0..400 ms after the first awaiting buffer */
  g_assert_cmpuint(r.take_batch().size(), ==, 5);
  g_assert_cmpuint(r.events<stt::Flush>(r.batch).size(), ==, 1); /* the catch-up */
  r.push();
  auto flushes = r.events<stt::Flush>(r.batch);
  g_assert_cmpuint(flushes.size(), ==, 1);
  g_assert_cmpstr(flushes[0].reason.c_str(), ==, "recovered");
  auto s = r.take_stream();
  g_assert_cmpuint(s.size(), ==, 1);
  g_assert_cmpuint(GST_BUFFER_PTS(s[0]), ==, cut);
  g_assert_cmpuint(r.stat("cuts-forced"), ==, 1);
  g_assert_cmpuint(r.stat("cuts-at-pause"), ==, 0);
  free_log(r);
}

void test_exactly_once_across_cuts() {
  Rig r("t-exact");
  std::map<std::string, uint64_t> acked;
  std::map<std::string, std::vector<GstBuffer *>> sent;
  std::string session = "s1";
  auto collect = [&] {
    for (GstBuffer *b : r.take_stream())
      sent[session].push_back(b);
    r.take_batch();
  };
  auto ack = [&](uint64_t pos) {
    acked[session] = pos;
    r.stream_ack(pos, session.c_str());
  };
  r.stream_health(true, "s1");
  r.push(6);
  collect();
  ack(420 * MS);
  r.stream_health(false, "s1", "closed 1006", 1006);
  r.push(4);
  collect();
  r.crank();
  session = "s2";
  r.stream_health(true, "s2");
  r.push(3);
  collect();
  ack(1100 * MS); /* recovered */
  r.push(2);
  collect();
  ack(1230 * MS);
  r.stream_health(false, "s2", "closed 1011", 1011);
  r.push(2);
  collect();
  r.crank();
  session = "s3";
  r.stream_health(true, "s3");
  r.push(2);
  collect();
  r.stream_health(false, "s3", "tcp drop", 1006); /* fails while recovering */
  r.push(2);
  collect();
  r.crank();
  session = "s4";
  r.stream_health(true, "s4");
  r.push(3);
  collect();
  ack(r.pts());

  std::map<uint64_t, int> hits;
  for (GstBuffer *b : r.batch_seen)
    for (uint64_t f : frames_of(b))
      hits[f]++;
  for (auto &[sid, bufs] : sent)
    for (GstBuffer *b : bufs)
      for (uint64_t f : frames_of(b))
        if (gst_util_uint64_scale_int(f, GST_SECOND, kRate) < acked[sid])
          hits[f]++;
  for (uint64_t f = 0; f < r.next_frame; f++)
    if (hits[f] != 1)
      g_error("frame %" G_GUINT64_FORMAT " transcribed %d times", f, hits[f]);
  g_assert_cmpuint(r.messages("stt/degraded"), ==, 2);
  g_assert_cmpuint(r.messages("stt/recovered"), ==, 2);
  g_assert_cmpuint(r.messages("stt/audio-dropped"), ==, 0);
  free_log(r);
}

/* Captions from both branches come out in order, clipped, gap-filled, each
 * with its branch and session. */
void test_text_pad_order_and_meta() {
  Rig r("t-text");
  r.stream_health(true, "s1");
  r.push(3);
  r.final_text(r.in, 0, 120 * MS, "one", "s1");
  r.stream_ack(120 * MS, "s1");
  r.stream_health(false, "s1", "closed 1011", 1011);
  r.push(3); /* replay [120, 300) + live to batch */
  r.crank();
  r.stream_health(true, "s2");
  r.push(3); /* cut at 600 */
  r.final_text(r.in, 650 * MS, 100 * MS, "four", "s2");
  r.stream_ack(800 * MS, "s2");
  r.push();
  r.final_text(r.batch, 400 * MS, 300 * MS, "three", "b2"); /* overlaps "four" */
  r.final_text(r.batch, 150 * MS, 100 * MS, "two", "b1");
  r.batch_ack(600 * MS);
  r.push();

  /* Text goes out on the text pad's own task: wait for the four captions. */
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  std::vector<std::string> words;
  for (int i = 0; i < 4; i++) {
    GstBuffer *b = gst_harness_pull(r.text);
    g_assert_nonnull(b);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    words.emplace_back(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(b, &map);
    g_assert_true(GST_BUFFER_PTS_IS_VALID(b));
    g_assert_true(GST_BUFFER_DURATION_IS_VALID(b));
    spans.push_back({GST_BUFFER_PTS(b), GST_BUFFER_DURATION(b)});
    GstCustomMeta *meta = gst_buffer_get_custom_meta(b, GST_STT_FAILOVER_TRANSCRIPT_META);
    g_assert_nonnull(meta);
    GstStructure *s = gst_custom_meta_get_structure(meta);
    std::string branch = gst_structure_get_string(s, "branch");
    std::string sid = gst_structure_get_string(s, "session-id");
    g_assert_true((branch == "stream") == (sid[0] == 's'));
    gst_buffer_unref(b);
  }
  g_assert_null(gst_harness_try_pull(r.text)); /* nothing more */
  while (GstEvent *e = gst_harness_try_pull_event(r.text)) {
    if (GST_EVENT_TYPE(e) == GST_EVENT_GAP) {
      GstClockTime start, duration;
      gst_event_parse_gap(e, &start, &duration);
      spans.push_back({start, duration});
    }
    gst_event_unref(e);
  }
  std::vector<std::string> want = {"one", "two", "three", "four"};
  g_assert_true(words == want);
  std::sort(spans.begin(), spans.end());
  uint64_t cursor = 0;
  for (auto [start, duration] : spans) {
    g_assert_cmpuint(start, ==, cursor); /* no overlap, no hole */
    cursor = start + duration;
  }
  g_assert_cmpuint(cursor, >=, 800 * MS);
  free_log(r);
}

/* A caption's meta carries what Deepgram said about it: request, channel,
 * language, speaker and its own words (not its neighbours'). */
void test_text_meta_details() {
  Rig r("t-meta");
  r.stream_health(true, "s1");
  r.push(3);
  stt::TimedTranscript t;
  t.text = "bonjour world";
  t.start = 0;
  t.duration = 300 * MS;
  t.session_id = "s1";
  t.request_id = "req-1";
  t.branch = "stream";
  t.channel = 0; /* the caption track is channel 0's */
  t.language = "fr";
  t.speaker = 2;
  t.from_finalize = true;
  t.words = {{"bonjour", "Bonjour", 0, 100 * MS, 0.9, 2, "fr", 0.75},
             {"world", "world.", 150 * MS, 300 * MS, 0.8, 2, "en", -1.0}};
  r.upstream(r.in, t);
  r.stream_ack(300 * MS, "s1");
  r.push();
  GstBuffer *b = gst_harness_pull(r.text);
  g_assert_nonnull(b);
  GstCustomMeta *meta = gst_buffer_get_custom_meta(b, GST_STT_FAILOVER_TRANSCRIPT_META);
  g_assert_nonnull(meta);
  GstStructure *s = gst_custom_meta_get_structure(meta);
  g_assert_cmpstr(gst_structure_get_string(s, "request-id"), ==, "req-1");
  g_assert_cmpstr(gst_structure_get_string(s, "language"), ==, "fr");
  int channel = -1, speaker = -1;
  gboolean from_finalize = FALSE;
  g_assert_true(gst_structure_get_int(s, "channel", &channel));
  g_assert_true(gst_structure_get_int(s, "speaker", &speaker));
  g_assert_true(gst_structure_get_boolean(s, "from-finalize", &from_finalize));
  g_assert_cmpint(channel, ==, 0);
  g_assert_cmpint(speaker, ==, 2);
  g_assert_true(from_finalize);
  const GValue *words = gst_structure_get_value(s, "words");
  g_assert_nonnull(words);
  g_assert_cmpuint(gst_value_array_get_size(words), ==, 2);
  const GstStructure *first = gst_value_get_structure(gst_value_array_get_value(words, 0));
  g_assert_cmpstr(gst_structure_get_name(first), ==, "stt/word");
  g_assert_cmpstr(gst_structure_get_string(first, "punctuated-word"), ==, "Bonjour");
  g_assert_cmpstr(gst_structure_get_string(first, "language"), ==, "fr");
  double speaker_confidence = 0;
  g_assert_true(gst_structure_get_double(first, "speaker-confidence", &speaker_confidence));
  g_assert_cmpfloat_with_epsilon(speaker_confidence, 0.75, 1e-9);
  gst_buffer_unref(b);
  free_log(r);
}

/* EOS: stream drains first, then batch, then the last captions and EOS on
 * text. The sinks' answers come from this thread while the element waits. */
void test_eos_waits_for_both_drains() {
  Rig r("t-eos");
  r.stream_health(true, "s1");
  r.push(4);
  r.final_text(r.in, 0, 100 * MS, "hello", "s1");
  std::thread pusher([&] { gst_harness_push_event(r.in, gst_event_new_eos()); });
  auto wait_eos = [](GstHarness *h) {
    for (;;) {
      GstEvent *e = gst_harness_pull_event(h);
      g_assert_nonnull(e);
      bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
      if (eos)
        return;
    }
  };
  wait_eos(r.in);
  r.stream_ack(400 * MS, "s1", true);
  wait_eos(r.batch);
  r.batch_ack(0, 0, true);
  pusher.join();
  wait_eos(r.text);
  GstBuffer *b = gst_harness_try_pull(r.text);
  g_assert_nonnull(b);
  g_assert_cmpuint(GST_BUFFER_PTS(b), ==, 0);
  gst_buffer_unref(b);
  g_assert_cmpuint(r.messages("stt/degraded"), ==, 0);
  free_log(r);
}

/* The stream dies during its EOS drain: its audio goes to batch before
 * batch gets EOS. */
void test_eos_stream_fails_during_drain() {
  Rig r("t-eos-fail");
  r.stream_health(true, "s1");
  r.push(3);
  r.take_stream();
  r.stream_ack(100 * MS, "s1");
  std::thread pusher([&] { gst_harness_push_event(r.in, gst_event_new_eos()); });
  for (;;) {
    GstEvent *e = gst_harness_pull_event(r.in);
    bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
    if (eos)
      break;
  }
  r.stream_health(false, "s1", "closed 1006", 1006);
  for (;;) {
    GstEvent *e = gst_harness_pull_event(r.batch);
    bool eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
    if (eos)
      break;
  }
  auto got = r.take_batch();
  g_assert_cmpuint(got.size(), ==, 2);
  g_assert_cmpuint(GST_BUFFER_PTS(got[0]), ==, 100 * MS);
  r.batch_ack(300 * MS, 0, true);
  pusher.join();
  free_log(r);
}

/* EOS when a branch never answers: drain-timeout on the element's clock. */
void test_eos_drain_timeout() {
  Rig r("t-eos-timeout", "drain-timeout=5000");
  r.stream_health(true, "s1");
  r.push(2);
  r.take_stream();
  std::thread pusher([&] { gst_harness_push_event(r.in, gst_event_new_eos()); });
  r.crank(); /* stream drain times out: its audio goes to batch */
  r.crank(); /* batch drain times out too */
  pusher.join();
  auto got = r.take_batch();
  g_assert_cmpuint(got.size(), ==, 2);
  auto deg = r.posted<stt::Degraded>();
  g_assert_cmpuint(deg.size(), ==, 1);
  g_assert_cmpstr(deg[0].reason.c_str(), ==, "stream drain timeout");
  free_log(r);
}

/* Operator override at runtime: force-batch, then back to auto. */
void test_mode_override() {
  Rig r("t-mode");
  r.stream_health(true, "s1");
  r.push(2);
  r.stream_ack(200 * MS, "s1");
  g_object_set(r.element, "mode", GST_STT_FAILOVER_MODE_FORCE_BATCH, nullptr);
  r.push(2);
  g_assert_cmpuint(r.take_batch().size(), ==, 2);
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_DEGRADED);
  auto deg = r.posted<stt::Degraded>();
  g_assert_cmpuint(deg.size(), ==, 1);
  g_assert_cmpstr(deg[0].reason.c_str(), ==, "mode force-batch");
  r.stream_health(true, "s1"); /* ignored while forced */
  r.push();
  g_assert_cmpuint(r.take_batch().size(), ==, 1);

  g_object_set(r.element, "mode", GST_STT_FAILOVER_MODE_AUTO, nullptr);
  r.crank();
  g_assert_cmpuint(r.events<stt::Reconnect>(r.in).size(), ==, 1);
  r.stream_health(true, "s1"); /* still connected: same session */
  r.push();
  g_assert_cmpuint(r.events<stt::Flush>(r.batch).size(), ==, 1);
  r.stream_ack(r.pts(), "s1");
  g_assert_cmpuint(r.messages("stt/recovered"), ==, 1);
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_STREAMING);
  GstStructure *stats;
  g_object_get(r.element, "stats", &stats, nullptr);
  guint64 batch_audio = 0;
  gst_structure_get_uint64(stats, "audio-batched", &batch_audio);
  g_assert_cmpuint(batch_audio, ==, 300 * MS);
  gst_structure_free(stats);
  free_log(r);
}

/* Another pipeline's failures opened the shared breaker: this one starts on
 * batch and never sends audio to stream, so its sink never connects. */
void test_open_breaker_at_start() {
  auto breaker = dgf::BreakerRegistry::global().get("t-open", dgf::BreakerSettings{});
  breaker->force_open();
  Rig r("t-open");
  r.push(4);
  g_assert_cmpuint(r.take_stream().size(), ==, 0);
  g_assert_cmpuint(r.take_batch().size(), ==, 4);
  auto deg = r.posted<stt::Degraded>();
  g_assert_cmpuint(deg.size(), ==, 1);
  g_assert_cmpstr(deg[0].reason.c_str(), ==, "breaker open");
  g_assert_cmpstr(deg[0].breaker_state.c_str(), ==, "open");
  /* The timer fires while still open: no reconnect asked. */
  r.crank();
  g_assert_cmpuint(r.events<stt::Reconnect>(r.in).size(), ==, 0);
  /* Released: the element hears it (stt/breaker) and tries. */
  breaker->release_override();
  g_assert_cmpuint(r.messages("stt/breaker"), >=, 1);
  r.crank();
  g_assert_cmpuint(r.events<stt::Reconnect>(r.in).size(), ==, 1);
  free_log(r);
}

/* A healthy stream stays when other pipelines open the breaker. */
void test_breaker_open_keeps_healthy_stream() {
  Rig r("t-keep");
  r.stream_health(true, "s1");
  r.push(2);
  dgf::BreakerRegistry::global().get("t-keep", dgf::BreakerSettings{})->force_open();
  r.push(2);
  g_assert_cmpuint(r.take_stream().size(), ==, 4);
  g_assert_cmpint(r.state(), ==, GST_STT_FAILOVER_STATE_STREAMING);
  auto changes = r.posted<stt::BreakerChange>();
  g_assert_cmpuint(changes.size(), ==, 1);
  g_assert_cmpstr(changes[0].state.c_str(), ==, "open");
  free_log(r);
}

/* LATENCY on the text pad: upstream's plus the latency property. */
void test_latency_query() {
  Rig r("t-latency", "latency=2500");
  gst_harness_set_upstream_latency(r.in, 20 * MS);
  GstQuery *q = gst_query_new_latency();
  g_assert_true(gst_pad_peer_query(r.text->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  g_assert_cmpuint(min, ==, 2520 * MS);
  gst_query_unref(q);
  free_log(r);
}

/* The state property notifies on every transition, exactly once each. */
void test_state_notify() {
  Rig r("t-notify");
  int notified = 0;
  g_signal_connect(r.element, "notify::state", G_CALLBACK(+[](GObject *, GParamSpec *, gpointer n) {
                     (*static_cast<int *>(n))++;
                   }),
                   &notified);
  r.stream_health(true, "s1");
  r.push();
  r.stream_health(false, "s1", "x", 0);
  r.crank();
  r.stream_health(true, "s2");
  r.push();
  r.stream_ack(r.pts(), "s2");
  g_assert_cmpint(notified, ==, 3); /* degraded, recovering, streaming */
  free_log(r);
}

/* The input itself loses 5 % of its packets (holes in the timestamps, as
 * tsdemux gives after UDP loss): counted in stats, and one WARNING says so;
 * a 10 s pause in the source is counted apart and warns of nothing. */
void test_input_loss_is_visible() {
  Rig r("t-input-loss");
  r.stream_health(true, "s1");
  for (int i = 0; i < 300; i++) {
    if (i % 20 == 19)
      r.next_frame += kFramesPerBuffer; /* a lost packet */
    else
      r.push();
  }
  r.next_frame += 10 * kRate; /* the sender pauses 10 s */
  r.push(20);
  size_t warnings = 0;
  while (GstMessage *m = gst_bus_pop_filtered(r.bus, GST_MESSAGE_WARNING)) {
    GError *err = nullptr;
    gst_message_parse_warning(m, &err, nullptr);
    g_assert_nonnull(strstr(err->message, "losing audio"));
    g_error_free(err);
    gst_message_unref(m);
    warnings++;
  }
  g_assert_cmpuint(warnings, ==, 1);
  /* 14 lost packets, then the last loss and the pause make one 10.1 s hole. */
  g_assert_cmpuint(r.stat("input-gaps"), ==, 15);
  g_assert_cmpuint(r.stat("input-pauses"), ==, 1);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  gst_init(nullptr, nullptr);
  GST_ELEMENT_REGISTER(sttfailover, nullptr);
  g_test_add_func("/sttfailover/input-loss-is-visible", test_input_loss_is_visible);
  g_test_add_func("/sttfailover/streaming", test_streaming_routes_to_stream);
  g_test_add_func("/sttfailover/failure-replays-before-live", test_failure_replays_before_live);
  g_test_add_func("/sttfailover/recovery-cycle", test_recovery_cycle);
  g_test_add_func("/sttfailover/cut-waits-for-pause", test_cut_waits_for_a_pause);
  g_test_add_func("/sttfailover/cut-forced-after-max-wait", test_cut_forced_after_max_wait);
  g_test_add_func("/sttfailover/exactly-once-across-cuts", test_exactly_once_across_cuts);
  g_test_add_func("/sttfailover/text-order-and-meta", test_text_pad_order_and_meta);
  g_test_add_func("/sttfailover/text-meta-details", test_text_meta_details);
  g_test_add_func("/sttfailover/eos-waits-for-both", test_eos_waits_for_both_drains);
  g_test_add_func("/sttfailover/eos-stream-fails", test_eos_stream_fails_during_drain);
  g_test_add_func("/sttfailover/eos-drain-timeout", test_eos_drain_timeout);
  g_test_add_func("/sttfailover/mode-override", test_mode_override);
  g_test_add_func("/sttfailover/open-breaker-at-start", test_open_breaker_at_start);
  g_test_add_func("/sttfailover/breaker-open-keeps-stream", test_breaker_open_keeps_healthy_stream);
  g_test_add_func("/sttfailover/latency-query", test_latency_query);
  g_test_add_func("/sttfailover/state-notify", test_state_notify);
  return g_test_run();
}
