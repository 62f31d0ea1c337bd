/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover's text pad with caption splitting: a GstHarness on each pad
 * plays the sinks and hands the element diarized stt/transcript events the
 * emulator cannot make (it labels every word speaker 0). Checks what leaves
 * the text pad: cue text and lines, speaker marks, PTS and duration on every
 * buffer, in order, never overlapping, and the transcript meta.
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <algorithm>

#include "dg_test_support.h"
#include "gststtfailover.h"
#include "stt_protocol.h"

namespace stt = dgf::stt;

namespace {

const uint64_t MS = GST_MSECOND;
const int kRate = 16000;
const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

std::string unique_breaker() {
  static int n = 0;
  return "failover-captions-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

using dgtest::Cue;

/* The element in force-batch (so no stream session is needed), a harness per pad. */
struct Rig {
  GstElement *element;
  GstHarness *in, *batch, *text;
  uint64_t next_frame = 0;

  explicit Rig(const std::string &props) {
    std::string desc = "sttfailover mode=force-batch breaker=" + unique_breaker() + " " + props;
    GError *err = nullptr;
    element = gst_parse_launch(desc.c_str(), &err);
    g_assert_no_error(err);
    in = gst_harness_new_with_element(element, "sink", "stream");
    batch = gst_harness_new_with_element(element, nullptr, "batch");
    text = gst_harness_new_with_element(element, nullptr, "text");
    gst_harness_set_src_caps_str(in, kCaps);
  }
  ~Rig() {
    gst_harness_teardown(text);
    gst_harness_teardown(batch);
    gst_harness_teardown(in);
    gst_object_unref(element);
  }
  /* 100 ms buffers of silence: what matters here is their time. */
  void push(int buffers) {
    for (int i = 0; i < buffers; i++) {
      GstBuffer *buf = gst_buffer_new_allocate(nullptr, 1600 * 2, nullptr);
      gst_buffer_memset(buf, 0, 0, 1600 * 2);
      GST_BUFFER_PTS(buf) = gst_util_uint64_scale_int(next_frame, GST_SECOND, kRate);
      GST_BUFFER_DURATION(buf) = 100 * MS;
      g_assert_cmpint(gst_harness_push(in, buf), ==, GST_FLOW_OK);
      next_frame += 1600;
    }
  }
  /* The batch sink's side: a final, then "everything before `ack` is done". */
  void batch_says(const stt::TimedTranscript &t, uint64_t ack) {
    g_assert_true(gst_harness_push_upstream_event(batch, stt::make_event(t)));
    g_assert_true(gst_harness_push_upstream_event(batch, stt::make_event(stt::Ack{ack, "b1"})));
  }
  /* Captions leave on the text pad's own task: pull until `done` says the
   * expected ones are all here (each pull bounded by the harness), then
   * nothing more may be waiting. */
  template <typename Done> std::vector<Cue> cues_until(Done done) {
    std::vector<Cue> out;
    while (!done(out)) {
      GstBuffer *b = gst_harness_pull(text);
      g_assert_nonnull(b);
      out.push_back(dgtest::cue_of(b));
      gst_buffer_unref(b);
    }
    GstBuffer *extra = gst_harness_try_pull(text);
    g_assert_null(extra);
    return out;
  }
  std::vector<Cue> cues(size_t n) {
    return cues_until([n](const std::vector<Cue> &got) { return got.size() >= n; });
  }
};

/* A final from the batch branch: `words` one every 250 ms from `start_ms`. */
stt::TimedTranscript transcript(const std::vector<std::pair<const char *, int>> &words,
                                uint64_t start_ms, uint64_t duration_ms) {
  stt::TimedTranscript t;
  t.start = start_ms * MS;
  t.duration = duration_ms * MS;
  t.session_id = "b1";
  t.branch = "batch";
  uint64_t at = start_ms;
  for (const auto &[word, speaker] : words) {
    stt::TimedWord w;
    w.word = word;
    w.punctuated_word = word;
    w.start = at * MS;
    w.end = (at + 200) * MS;
    w.speaker = speaker;
    at += 250;
    t.text += (t.text.empty() ? "" : " ") + std::string(word);
    t.words.push_back(w);
  }
  return t;
}

void assert_timeline(const std::vector<Cue> &cues) {
  uint64_t end = 0;
  for (const auto &c : cues) {
    g_assert_true(GST_CLOCK_TIME_IS_VALID(c.pts));
    g_assert_true(GST_CLOCK_TIME_IS_VALID(c.duration));
    g_assert_cmpuint(c.pts, >=, end);
    end = c.pts + c.duration;
    g_assert_cmpstr(c.branch.c_str(), ==, "batch");
  }
}

/* Two speakers share a cue, a third turn starts the next one. */
void test_speaker_lines_on_the_text_pad() {
  Rig rig("caption-speaker-lines=true");
  rig.push(30);
  rig.batch_says(
      transcript({{"How", 0}, {"are", 0}, {"you?", 0}, {"Fine,", 1}, {"thanks.", 1}, {"Good.", 0}},
                 0, 2000),
      3000 * MS);
  rig.push(1);
  auto cues = rig.cues(2);
  assert_timeline(cues);
  g_assert_cmpuint(cues.size(), ==, 2);
  g_assert_cmpstr(cues[0].text.c_str(), ==, "- How are you?\n- Fine, thanks.");
  g_assert_cmpuint(cues[0].pts, ==, 0);
  g_assert_cmpstr(cues[1].text.c_str(), ==, "Good.");
  g_assert_cmpuint(cues[1].pts, ==, 1250 * MS);
  /* Up to the transcript's end, not past it. */
  g_assert_cmpuint(cues[1].pts + cues[1].duration, ==, 2000 * MS);
  guint64 captions = 0; /* stats count cues */
  GstStructure *stats;
  g_object_get(rig.element, "stats", &stats, nullptr);
  g_assert_true(gst_structure_get_uint64(stats, "captions", &captions));
  gst_structure_free(stats);
  g_assert_cmpuint(captions, ==, 2);
}

/* A long transcript becomes cues within the limits, back to back. */
void test_long_transcript_split() {
  Rig rig("caption-max-chars=20 caption-max-lines=1 caption-max-duration=1000");
  rig.push(40);
  std::vector<std::pair<const char *, int>> words;
  const char *vocab[] = {"alpha", "bravo", "charlie", "delta",  "echo", "foxtrot",
                         "golf",  "hotel", "india",   "juliet", "kilo", "lima"};
  for (const char *w : vocab)
    words.emplace_back(w, -1);
  rig.batch_says(transcript(words, 500, 3000), 4000 * MS);
  rig.push(1);
  const std::string expected =
      "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima";
  auto cues = rig.cues_until([&](const std::vector<Cue> &got) {
    size_t chars = 0;
    for (const auto &c : got)
      chars += c.text.size() + 1;
    return chars >= expected.size() + 1;
  });
  assert_timeline(cues);
  g_assert_cmpuint(cues.size(), >=, 3);
  std::string all;
  for (const auto &c : cues) {
    g_assert_cmpuint(c.text.size(), <=, 20);
    g_assert_true(c.text.find('\n') == std::string::npos);
    g_assert_cmpuint(c.duration, <=, 1000 * MS);
    all += (all.empty() ? "" : " ") + c.text;
  }
  g_assert_cmpstr(all.c_str(), ==, expected.c_str());
  g_assert_cmpuint(cues[0].pts, ==, 500 * MS);
}

/* All limits off: one buffer per final, as before splitting existed. */
void test_splitting_off_passes_whole() {
  Rig rig("caption-max-chars=0 caption-max-duration=0");
  rig.push(40);
  std::vector<std::pair<const char *, int>> words;
  for (int i = 0; i < 12; i++)
    words.emplace_back("word", -1);
  rig.batch_says(transcript(words, 500, 3000), 4000 * MS);
  rig.push(1);
  auto cues = rig.cues(1);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].pts, ==, 500 * MS);
  g_assert_cmpuint(cues[0].duration, ==, 3000 * MS);
  g_assert_cmpuint(std::count(cues[0].text.begin(), cues[0].text.end(), ' '), ==, 11);
}

/* The properties read back what was set, with the documented defaults. */
void test_caption_properties() {
  GstElement *e = gst_element_factory_make("sttfailover", nullptr);
  guint chars, lines, duration;
  gboolean speakers;
  g_object_get(e, "caption-max-chars", &chars, "caption-max-lines", &lines, "caption-max-duration",
               &duration, "caption-speaker-lines", &speakers, nullptr);
  g_assert_cmpuint(chars, ==, 42);
  g_assert_cmpuint(lines, ==, 2);
  g_assert_cmpuint(duration, ==, 5000);
  g_assert_false(speakers);
  g_object_set(e, "caption-max-chars", 32u, "caption-max-lines", 3u, "caption-max-duration", 7000u,
               "caption-speaker-lines", TRUE, nullptr);
  g_object_get(e, "caption-max-chars", &chars, "caption-max-lines", &lines, "caption-max-duration",
               &duration, "caption-speaker-lines", &speakers, nullptr);
  g_assert_cmpuint(chars, ==, 32);
  g_assert_cmpuint(lines, ==, 3);
  g_assert_cmpuint(duration, ==, 7000);
  g_assert_true(speakers);
  gst_object_unref(e);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  gst_init(nullptr, nullptr);
  g_test_add_func("/sttfailover-captions/speaker-lines", test_speaker_lines_on_the_text_pad);
  g_test_add_func("/sttfailover-captions/long-transcript-split", test_long_transcript_split);
  g_test_add_func("/sttfailover-captions/splitting-off-passes-whole",
                  test_splitting_off_passes_whole);
  g_test_add_func("/sttfailover-captions/properties", test_caption_properties);
  return g_test_run();
}
