/* sttfailover with the real sinks against the in-process dg-emulator
 * (sequence engine): every block transcribed exactly once at the right time,
 * through every outage, with one stt/degraded and one stt/recovered per
 * transition, and ordered, non-overlapping captions on the text pad.
 *
 * Waits are on conditions (state notifications, EOS), never on timers.
 */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "dg_test_support.h"
#include "gststtfailover.h"

using dgtest::BusLog;

namespace {

const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

std::string unique_breaker() {
  static int n = 0;
  return "failover-it-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

struct Run {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *failover = nullptr;
  GstElement *text = nullptr;
  std::unique_ptr<BusLog> log;
  std::string breaker;

  std::mutex mutex;
  std::condition_variable cond;
  std::vector<int> states; /* every state the element went through */

  Run(const dgemu::Emulator &emu, const std::string &failover_props = "",
      const std::string &stream_props = "", const std::string &text_branch = "",
      std::string breaker_name = "")
      : breaker(breaker_name.empty() ? unique_breaker() : breaker_name) {
    std::string desc =
        "appsrc name=src format=time caps=" + std::string(kCaps) +
        " ! sttfailover name=f breaker=" + breaker +
        " recovery-backoff-min=50 recovery-backoff-max=400 reset-timeout=300 " + failover_props +
        " f.stream ! queue ! dgstreamsink url=@WS@ api-key=test-key breaker=" + breaker +
        " finalize-timeout=5000 " + stream_props +
        " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=test-key min-chunk=500000000 "
        "max-chunk=2000000000 retry-base=20 retry-max=200 breaker=" +
        breaker + "-batch f.text ! queue ! " +
        (text_branch.empty() ? "appsink name=text sync=false wait-on-eos=false emit-signals=true"
                             : text_branch);
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    g_assert_no_error(err);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    failover = gst_bin_get_by_name(GST_BIN(pipeline), "f");
    text = gst_bin_get_by_name(GST_BIN(pipeline), "text");
    log = std::make_unique<BusLog>(pipeline);
    g_signal_connect(failover, "notify::state", G_CALLBACK(on_state), this);
    if (text && GST_IS_APP_SINK(text))
      g_signal_connect(text, "new-sample", G_CALLBACK(on_sample), this);
  }
  ~Run() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    log.reset();
    if (text)
      gst_object_unref(text);
    gst_object_unref(failover);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  static void on_state(GObject *object, GParamSpec *, gpointer data) {
    auto *run = static_cast<Run *>(data);
    int s;
    g_object_get(object, "state", &s, nullptr);
    {
      std::lock_guard<std::mutex> lock(run->mutex);
      run->states.push_back(s);
    }
    run->cond.notify_all();
  }
  /* Waits (bounded) until the element has been in `state` `times` times. */
  void wait_state(int state, int times = 1) {
    std::unique_lock<std::mutex> lock(mutex);
    bool ok = cond.wait_for(lock, std::chrono::seconds(30), [&] {
      return std::count(states.begin(), states.end(), state) >= times;
    });
    if (!ok)
      g_error("state %d never reached %d time(s)", state, times);
  }
  void play() { gst_element_set_state(pipeline, GST_STATE_PLAYING); }
  void push(uint32_t first, uint32_t count, bool eos = false) {
    dgtest::push_sequence(src, 16000, 1, first, count, 0, eos);
  }
  void finish() {
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    bool eos = log->run_to_end();
    for (const auto &e : log->errors())
      g_printerr("error: %s\n", e.c_str());
    g_assert_true(eos);
  }
  GstStructure *stats() {
    GstStructure *s = nullptr;
    g_object_get(failover, "stats", &s, nullptr);
    return s;
  }

  /* The captions the text pad produced (appsink), in order. */
  struct Cue {
    uint64_t pts, duration;
    std::string text, branch;
  };
  std::vector<Cue> captions;
  static GstFlowReturn on_sample(GstAppSink *sink, gpointer data) {
    auto *run = static_cast<Run *>(data);
    GstSample *sample = gst_app_sink_pull_sample(sink);
    GstBuffer *b = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    Cue c{GST_BUFFER_PTS(b), GST_BUFFER_DURATION(b),
          std::string(reinterpret_cast<const char *>(map.data), map.size), ""};
    gst_buffer_unmap(b, &map);
    if (GstCustomMeta *m = gst_buffer_get_custom_meta(b, GST_STT_FAILOVER_TRANSCRIPT_META))
      c.branch = gst_structure_get_string(gst_custom_meta_get_structure(m), "branch");
    gst_sample_unref(sample);
    std::lock_guard<std::mutex> lock(run->mutex);
    run->captions.push_back(c);
    return GST_FLOW_OK;
  }
  std::vector<Cue> cues() {
    std::lock_guard<std::mutex> lock(mutex);
    return captions;
  }
};

void assert_blocks(Run &run, uint32_t count) {
  auto report = dgtest::check_blocks(run.log->finals(), 0, count, 0);
  if (!report.perfect())
    g_error("blocks on the bus: %s", report.describe().c_str());
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
}

/* The text pad: every block's word once, in order, PTS monotonic, no overlap. */
void assert_captions(Run &run, uint32_t count) {
  auto cues = run.cues();
  uint64_t end = 0;
  uint32_t next = 0;
  for (const auto &c : cues) {
    g_assert_true(GST_CLOCK_TIME_IS_VALID(c.pts));
    g_assert_true(GST_CLOCK_TIME_IS_VALID(c.duration));
    g_assert_cmpuint(c.pts, >=, end);
    end = c.pts + c.duration;
    g_assert_false(c.branch.empty());
    std::istringstream words(c.text);
    std::string w;
    while (words >> w) {
      char expect[16];
      g_snprintf(expect, sizeof expect, "b%06u", next);
      if (w.rfind(expect, 0) != 0)
        g_error("caption word %s, expected %s", w.c_str(), expect);
      next++;
    }
  }
  g_assert_cmpuint(next, ==, count);
}

void assert_alternating_messages(Run &run) {
  /* Exactly one stt/degraded per outage and one stt/recovered per recovery. */
  size_t degraded = run.log->count("stt/degraded");
  size_t recovered = run.log->count("stt/recovered");
  g_assert_cmpuint(degraded, >=, 1);
  g_assert_cmpuint(recovered, ==, degraded);
}

void test_streaming_only() {
  auto emu = dgtest::start_emulator();
  Run run(*emu);
  run.play();
  run.push(0, 60);
  run.finish();
  assert_blocks(run, 60);
  assert_captions(run, 60);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 0);
  g_assert_cmpint(emu->counters().batch_ok, ==, 0);
}

/* A fault ends the live connection mid-stream; the failover degrades,
 * replays, recovers at a cut, and every block is transcribed once. */
void check_outage(const char *fault, const char *stream_props = "") {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(fault, &error);
  g_assert_cmpstr(error.c_str(), ==, "");
  Run run(*emu, "", stream_props);
  run.play();
  run.push(0, 40);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(40, 40);
  run.finish();
  assert_blocks(run, 80);
  assert_captions(run, 80);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 1);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
  g_assert_cmpint(emu->counters().batch_ok, >=, 1);
}

void test_close_1011() {
  check_outage(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_bytes":64000,"target":"new","count":1})");
}
void test_tcp_drop() {
  check_outage(R"({"type":"drop","after_bytes":48000,"target":"new","count":1})");
}
void test_stall() {
  check_outage(R"({"type":"stall","after_bytes":48000,"target":"new","count":1})",
               "stall-timeout=400");
}

/* Refused at the handshake: one stt/degraded, batch from the first block. */
void test_refused_at_start() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(R"({"type":"refuse","status":503,"count":1})", &error);
  Run run(*emu);
  run.play();
  run.push(0, 30);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(30, 30);
  run.finish();
  assert_blocks(run, 60);
  assert_captions(run, 60);
  auto degraded = run.log->element_messages("stt/degraded");
  g_assert_cmpuint(degraded.size(), ==, 1);
  int code = 0;
  gst_structure_get_int(degraded[0], "code", &code);
  g_assert_cmpint(code, ==, 503);
  for (auto *s : degraded)
    gst_structure_free(s);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
}

/* Another pipeline in this process tripped the shared breaker: this one goes
 * straight to batch and never connects. */
void test_breaker_open_from_other_pipeline() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(R"({"type":"refuse","status":503})", &error); /* down for good */
  std::string name = unique_breaker();
  std::string desc =
      "appsrc name=src format=time caps=" + std::string(kCaps) +
      " ! dgstreamsink url=@WS@ api-key=test-key finalize-timeout=100 breaker=" + name;
  GstElement *first = gst_parse_launch(dgtest::with_urls(desc, *emu).c_str(), nullptr);
  GstElement *first_src = gst_bin_get_by_name(GST_BIN(first), "src");
  dgtest::push_sequence(first_src, 16000, 1, 0, 10, 0, false);
  gst_element_set_state(first, GST_STATE_PLAYING);
  for (int i = 0; i < 500 && emu->counters().live_refused < 3; i++)
    g_usleep(10000); /* the other pipeline's own retries: polled, bounded */
  g_assert_cmpint(emu->counters().live_refused, ==, 3);

  {
    Run run(*emu, "", "", "", name);
    run.play();
    run.push(0, 30);
    run.finish();
    assert_blocks(run, 30);
    assert_captions(run, 30);
    auto degraded = run.log->element_messages("stt/degraded");
    g_assert_cmpuint(degraded.size(), ==, 1);
    g_assert_cmpstr(gst_structure_get_string(degraded[0], "reason"), ==, "breaker open");
    for (auto *s : degraded)
      gst_structure_free(s);
  }
  g_assert_cmpint(emu->counters().live_refused, ==, 3); /* this pipeline never asked */
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
  gst_element_set_state(first, GST_STATE_NULL);
  gst_object_unref(first_src);
  gst_object_unref(first);
}

/* Several outages in a row: messages never repeat, blocks stay exact. */
void test_flapping() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_bytes":40000,"target":"new","count":3})",
      &error);
  Run run(*emu);
  run.play();
  uint32_t next = 0;
  for (int outage = 1; outage <= 3; outage++) {
    run.push(next, 20);
    next += 20;
    run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED, outage);
    run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING, outage);
  }
  run.push(next, 30);
  next += 30;
  run.finish();
  assert_blocks(run, next);
  assert_captions(run, next);
  assert_alternating_messages(run);
  g_assert_cmpint(emu->counters().live_accepted, ==, 4);
}

/* Operator override: batch only, then back to auto. */
void test_mode_force_batch_then_auto() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "mode=force-batch");
  run.play();
  run.push(0, 30);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
  g_object_set(run.failover, "mode", GST_STT_FAILOVER_MODE_AUTO, nullptr);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(30, 30);
  run.finish();
  assert_blocks(run, 60);
  assert_captions(run, 60);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 1);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
}

/* Captions through webvttenc into a file, across an outage. */
void test_webvtt_file() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_bytes":64000,"target":"new","count":1})",
      &error);
  gchar *path = g_build_filename(g_get_tmp_dir(), "sttfailover-it-XXXXXX.vtt", nullptr);
  int fd = g_mkstemp(path);
  close(fd);
  Run run(*emu, "", "", std::string("webvttenc ! filesink location=") + path);
  run.play();
  run.push(0, 40);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(40, 40);
  run.finish();
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  g_assert_true(content.rfind("WEBVTT", 0) == 0);
  size_t cues = 0;
  for (size_t at = content.find("-->"); at != std::string::npos; at = content.find("-->", at + 3))
    cues++;
  g_assert_cmpuint(cues, >=, 2);
  for (uint32_t b = 0; b < 80; b++) {
    char word[16];
    g_snprintf(word, sizeof word, "b%06u", b);
    if (content.find(word) == std::string::npos)
      g_error("%s missing from the WebVTT file", word);
  }
  g_unlink(path);
  g_free(path);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/failover/streaming-only", test_streaming_only);
  g_test_add_func("/failover/close-1011", test_close_1011);
  g_test_add_func("/failover/tcp-drop", test_tcp_drop);
  g_test_add_func("/failover/stall", test_stall);
  g_test_add_func("/failover/refused-at-start", test_refused_at_start);
  g_test_add_func("/failover/breaker-open-from-other-pipeline",
                  test_breaker_open_from_other_pipeline);
  g_test_add_func("/failover/flapping", test_flapping);
  g_test_add_func("/failover/mode-force-batch-then-auto", test_mode_force_batch_then_auto);
  g_test_add_func("/failover/webvtt-file", test_webvtt_file);
  return g_test_run();
}
