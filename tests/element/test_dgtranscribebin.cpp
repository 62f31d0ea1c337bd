/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgtranscribebin against the in-process dg-emulator (sequence engine):
 * audio in, captions out through webvttenc and srtenc into files, which are
 * then PARSED and checked as a player would read them: cue times monotonic
 * and non-overlapping, every cue within the line, character and duration
 * limits, and the words exactly the engine's words, in order, none lost,
 * also across an outage inside the bin. Plus the property proxies and the
 * contract gst-plugins-rs transcriberbin relies on.
 *
 * Waits are on conditions (state notifications, EOS), never on timers.
 */
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>

#include "caption_file_parser.h"
#include "breaker_context.h"
#include "caption_splitter.h"
#include "dg_test_support.h"
#include "failure.h"
#include "gststtfailover.h"

using dgtest::BusLog;
using dgtest::CaptionFile;

namespace {

const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";
constexpr uint64_t kMs = GST_MSECOND;

std::string unique_breaker() {
  static int n = 0;
  return "transcribebin-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

std::string temp_path(const char *suffix) {
  gchar *name = g_strdup_printf("dgtranscribebin-XXXXXX%s", suffix);
  gchar *path = g_build_filename(g_get_tmp_dir(), name, nullptr);
  int fd = g_mkstemp_full(path, 0, 0600);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  std::string out = path;
  g_free(path);
  g_free(name);
  return out;
}

/* appsrc ! dgtranscribebin ! tee ! (webvttenc ! filesink) (srtenc ! filesink). */
struct BinRun {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *bin = nullptr;
  std::unique_ptr<BusLog> log;
  std::string vtt = temp_path(".vtt");
  std::string srt = temp_path(".srt");

  std::unique_ptr<dgtest::StateRecorder> states;
  std::mutex mutex;
  guint64 stats_recovered = 0; /* "recovered" in the last stats the bin notified */
  std::vector<std::pair<std::string, GstObject *>> posted; /* element messages: name, source */

  BinRun(const dgemu::Emulator &emu, const std::string &bin_props) {
    std::string breaker = unique_breaker();
    /* Children's own settings through the bin's child proxy (name::prop). */
    std::string desc =
        "appsrc name=src format=time caps=" + std::string(kCaps) +
        " ! dgtranscribebin name=t api-key=test-key stream-url=@WS@ batch-url=@HTTP@ breaker=" +
        breaker + " batch-breaker=" + breaker +
        "-batch retry-backoff-min=50 retry-backoff-max=400 reset-timeout=300 "
        "stream::finalize-timeout=5000 batch::min-chunk=500 batch::max-chunk=2000 "
        "batch::retry-backoff-min=20 batch::retry-backoff-max=200 "
        /* appsrc is not live: these runs test the live path, so ask for it (a
         * later mode= in bin_props wins) */
        "mode=stream-first " +
        bin_props + " ! tee name=tt tt. ! queue ! webvttenc ! filesink location=" + vtt +
        " tt. ! queue ! srtenc ! filesink location=" + srt;
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    g_assert_no_error(err);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    bin = gst_bin_get_by_name(GST_BIN(pipeline), "t");
    log = std::make_unique<BusLog>(pipeline);
    /* The bin's own state property: proxied from the failover, with notify. */
    states = std::make_unique<dgtest::StateRecorder>(bin);
    g_signal_connect(bin, "notify::stats", G_CALLBACK(on_stats), this);
    /* Who posted what (BusLog keeps the structures, not the sources). */
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_enable_sync_message_emission(bus);
    g_signal_connect(bus, "sync-message::element", G_CALLBACK(on_element_message), this);
    gst_object_unref(bus);
  }
  ~BinRun() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    GstBus *bus = gst_element_get_bus(pipeline);
    g_signal_handlers_disconnect_by_data(bus, this);
    gst_bus_disable_sync_message_emission(bus);
    gst_object_unref(bus);
    log.reset();
    states.reset();
    gst_object_unref(bin);
    gst_object_unref(src);
    gst_object_unref(pipeline);
    g_unlink(vtt.c_str());
    g_unlink(srt.c_str());
  }
  static void on_element_message(GstBus *, GstMessage *message, gpointer data) {
    auto *run = static_cast<BinRun *>(data);
    const GstStructure *s = gst_message_get_structure(message);
    std::lock_guard<std::mutex> lock(run->mutex);
    run->posted.emplace_back(gst_structure_get_name(s), GST_MESSAGE_SRC(message));
  }
  std::vector<GstObject *> sources(const char *name) {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<GstObject *> out;
    for (const auto &p : posted)
      if (p.first == name)
        out.push_back(p.second);
    return out;
  }
  static void on_stats(GObject *object, GParamSpec *, gpointer data) {
    auto *run = static_cast<BinRun *>(data);
    GstStructure *stats = nullptr;
    g_object_get(object, "stats", &stats, nullptr);
    guint64 recovered = 0;
    gst_structure_get_uint64(stats, "recovered", &recovered);
    gst_structure_free(stats);
    std::lock_guard<std::mutex> lock(run->mutex);
    run->stats_recovered = std::max(run->stats_recovered, recovered);
  }
  void wait_state(int state) { states->wait(state); }
  void play() { gst_element_set_state(pipeline, GST_STATE_PLAYING); }
  void push(uint32_t first, uint32_t count, const dgemu::BlockKindFn &kind = {}) {
    dgtest::push_sequence(src, 16000, 1, first, count, 0, false, kind);
  }
  void finish() {
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    bool eos = log->run_to_end();
    for (const auto &e : log->errors())
      g_printerr("error: %s\n", e.c_str());
    g_assert_true(eos);
  }
};

struct Limits {
  unsigned chars = 42;
  unsigned lines = 2;
  uint64_t duration = 5000 * kMs;
};

std::string block_word(uint32_t b) {
  char w[16];
  g_snprintf(w, sizeof w, "b%06u", b);
  return w;
}

std::string describe(const dgtest::CaptionFileCue &c) {
  std::string text;
  for (const auto &l : c.lines)
    text += "[" + l + "]";
  return std::to_string(c.start / kMs) + "-" + std::to_string(c.end / kMs) + " ms " + text;
}

/* Cue times monotonic and non-overlapping, every cue within the limits, and
 * the words exactly `blocks`' words in order. */
void check_captions(const CaptionFile &file, const char *what, const Limits &limits,
                    const std::vector<uint32_t> &blocks) {
  if (!file.ok())
    g_error("%s: %s", what, file.error.c_str());
  g_assert_cmpuint(file.cues.size(), >=, 2);
  uint64_t end = 0;
  std::vector<std::string> words;
  for (const auto &c : file.cues) {
    if (c.start < end || c.end < c.start)
      g_error("%s: cue %s overlaps or runs backwards (previous ended %" G_GUINT64_FORMAT " ms)",
              what, describe(c).c_str(), end / kMs);
    end = c.end;
    if (c.lines.empty() || c.lines.size() > limits.lines)
      g_error("%s: cue %s has %zu lines", what, describe(c).c_str(), c.lines.size());
    for (const auto &line : c.lines)
      if (dgf::utf8_length(line) > limits.chars)
        g_error("%s: cue %s has a line over %u characters", what, describe(c).c_str(),
                limits.chars);
    /* Times in the files are whole milliseconds: allow for the rounding. */
    if (c.end - c.start > limits.duration + kMs)
      g_error("%s: cue %s is on screen too long", what, describe(c).c_str());
    for (const auto &line : c.lines) {
      std::istringstream in(line);
      for (std::string w; in >> w;)
        words.push_back(w);
    }
  }
  for (size_t i = 0; i < std::max(words.size(), blocks.size()); i++) {
    std::string want = i < blocks.size() ? block_word(blocks[i]) : "(nothing)";
    std::string got = i < words.size() ? words[i] : "(nothing)";
    if (got.rfind(want, 0) != 0) /* punctuation may follow the word */
      g_error("%s: word %zu is %s, expected %s", what, i, got.c_str(), want.c_str());
  }
}

/* Both files hold the same cues. */
void check_same(const CaptionFile &vtt, const CaptionFile &srt) {
  g_assert_cmpuint(vtt.cues.size(), ==, srt.cues.size());
  for (size_t i = 0; i < vtt.cues.size(); i++) {
    g_assert_cmpuint(vtt.cues[i].start, ==, srt.cues[i].start);
    g_assert_cmpuint(vtt.cues[i].end, ==, srt.cues[i].end);
    g_assert_true(vtt.cues[i].lines == srt.cues[i].lines);
  }
}

std::vector<uint32_t> range(uint32_t first, uint32_t count) {
  std::vector<uint32_t> out;
  for (uint32_t b = first; b < first + count; b++)
    out.push_back(b);
  return out;
}

void check_files(BinRun &run, const Limits &limits, const std::vector<uint32_t> &blocks) {
  CaptionFile vtt = dgtest::parse_webvtt(dgtest::read_text_file(run.vtt));
  CaptionFile srt = dgtest::parse_srt(dgtest::read_text_file(run.srt));
  check_captions(vtt, "WebVTT", limits, blocks);
  check_captions(srt, "SRT", limits, blocks);
  check_same(vtt, srt);
}

/* The parser the checks rely on: what players accept, and what they reject. */
void test_caption_file_parser() {
  CaptionFile vtt = dgtest::parse_webvtt("WEBVTT - captions\r\n\r\nNOTE made by hand\r\n\r\n"
                                         "cue-1\r\n00:01.500 --> 00:02.250 align:start\r\n"
                                         "one\r\ntwo\r\n\r\n"
                                         "01:00:00.000 --> 01:00:01.000\r\nthree\r\n");
  g_assert_true(vtt.ok());
  g_assert_cmpuint(vtt.cues.size(), ==, 2);
  g_assert_cmpuint(vtt.cues[0].start, ==, 1500 * kMs);
  g_assert_cmpuint(vtt.cues[0].end, ==, 2250 * kMs);
  g_assert_true((vtt.cues[0].lines == std::vector<std::string>{"one", "two"}));
  g_assert_cmpuint(vtt.cues[1].start, ==, 3600 * 1000 * kMs);
  g_assert_false(dgtest::parse_webvtt("WEBVT\n\n00:00.000 --> 00:01.000\nx\n").ok());
  g_assert_false(dgtest::parse_webvtt("WEBVTT\n\n00:00.000 -> 00:01.000\nx\n").ok());
  g_assert_false(dgtest::parse_webvtt("WEBVTT\n\n00:00.000 --> 00:61.000\nx\n").ok());

  CaptionFile srt = dgtest::parse_srt("1\n00:00:01,000 --> 00:00:02,500\nhello\nthere\n\n"
                                      "2\n00:00:03,000 --> 00:00:04,000\nagain\n");
  g_assert_true(srt.ok());
  g_assert_cmpuint(srt.cues.size(), ==, 2);
  g_assert_cmpuint(srt.cues[0].end, ==, 2500 * kMs);
  g_assert_cmpuint(srt.cues[1].lines.size(), ==, 1);
  /* Numbering must count from 1; SRT times need hours and a comma. */
  g_assert_false(dgtest::parse_srt("2\n00:00:01,000 --> 00:00:02,000\nx\n").ok());
  g_assert_false(dgtest::parse_srt("1\n00:01,000 --> 00:02,000\nx\n").ok());
  g_assert_false(dgtest::parse_srt("1\n00:00:01.000 --> 00:00:02.000\nx\n").ok());
}

/* Live results (about a second of words each), split to 32-character lines
 * and 2 s on screen. */
void test_streaming_to_webvtt_and_srt() {
  auto emu = dgtest::start_emulator();
  BinRun run(*emu, "caption-max-chars=32 caption-max-duration=2000");
  run.play();
  run.push(0, 100);
  run.finish();
  Limits limits;
  limits.chars = 32;
  limits.duration = 2000 * kMs;
  check_files(run, limits, range(0, 100));
  g_assert_cmpint(emu->counters().batch_ok, ==, 0);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 0);
}

/* Buffers into the bin's audioconvert (the first converter). */
struct ConverterCount {
  GstPad *pad = nullptr;
  std::atomic<guint> buffers{0};
  explicit ConverterCount(GstElement *bin) {
    GstElement *convert = gst_bin_get_by_name(GST_BIN(bin), "convert");
    g_assert_nonnull(convert);
    pad = gst_element_get_static_pad(convert, "sink");
    gst_object_unref(convert);
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) {
          static_cast<ConverterCount *>(data)->buffers++;
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
  }
  ~ConverterCount() { gst_object_unref(pad); }
};

/* Audio the sinks take as it is skips the converters after its first buffer
 * (their walk costs CPU at scale); audio they must convert (stereo) takes
 * them, from its caps event on, and the words come through either way. */
void test_converters_skipped_when_idle() {
  auto emu = dgtest::start_emulator();
  BinRun run(*emu, "");
  ConverterCount convert(run.bin);
  run.play();
  auto caps_of = [](int channels) {
    return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout",
                               G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, 16000, "channels",
                               G_TYPE_INT, channels, nullptr);
  };
  auto push = [&](int channels, uint32_t first, uint32_t count) {
    GstCaps *caps = caps_of(channels);
    gst_app_src_set_caps(GST_APP_SRC(run.src), caps); /* queued in order with the buffers */
    gst_caps_unref(caps);
    dgtest::push_sequence(run.src, 16000, channels, first, count, 0, false);
  };
  push(1, 0, 30);  /* mono: the first buffer shows the converters idle */
  push(2, 30, 30); /* stereo: mixed down, every buffer */
  push(1, 60, 30); /* mono again: skipped after one */
  run.finish();
  g_assert_cmpuint(convert.buffers.load(), ==, 1 + 30 + 1);
  check_files(run, Limits{}, range(0, 90));
}

/* Voluntary context switches of this process's threads named `comm`. */
guint64 thread_switches(const char *comm) {
  guint64 total = 0;
  GDir *dir = g_dir_open("/proc/self/task", 0, nullptr);
  g_assert_nonnull(dir);
  while (const char *tid = g_dir_read_name(dir)) {
    std::string base = std::string("/proc/self/task/") + tid;
    std::string name = dgtest::read_text_file(base + "/comm");
    if (name != std::string(comm) + "\n")
      continue;
    std::istringstream status(dgtest::read_text_file(base + "/status"));
    for (std::string line; std::getline(status, line);)
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        total += g_ascii_strtoull(line.c_str() + strlen("voluntary_ctxt_switches:"), nullptr, 10);
  }
  g_dir_close(dir);
  return total;
}

/* Live and healthy, the results come well within the latency, so a clock
 * tick of the text pad would push nothing: the pad sleeps until the clock
 * catches up with its output (at most a second) instead of waking every
 * 100 ms, and the captions still come as the reports release them. Real
 * time (the tick is): over 2 s of live audio a ticking pad wakes about 20
 * times, a sleeping one a few (its thread's context switches). */
void test_live_text_pad_sleeps_while_ahead() {
  auto emu = dgtest::start_emulator();
  std::string breaker = unique_breaker();
  std::string desc = "appsrc name=src format=time is-live=true caps=" + std::string(kCaps) +
                     " ! dgtranscribebin name=t api-key=test-key stream-url=@WS@ "
                     "batch-url=@HTTP@ breaker=" +
                     breaker + " batch-breaker=" + breaker + "-batch ! fakesink sync=false";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(dgtest::with_urls(desc, *emu).c_str(), &err);
  g_assert_no_error(err);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  BusLog log(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const uint32_t blocks = 40;
  guint64 switches_from = 0, switches_to = 0;
  gint64 start = g_get_monotonic_time();
  for (uint32_t b = 0; b < blocks; b++) {
    gint64 due = start + static_cast<gint64>(b) * 100000;
    gint64 now = g_get_monotonic_time();
    if (due > now)
      g_usleep(due - now); /* a live source's pace */
    if (b == 10)
      switches_from = thread_switches("failover:text");
    if (b == 30)
      switches_to = thread_switches("failover:text");
    dgtest::push_sequence(src, 16000, 1, b, 1, 0, false);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  g_assert_true(log.run_to_end());
  guint64 wakes = switches_to - switches_from;
  g_test_message("the text pad's thread: %" G_GUINT64_FORMAT " wakeups in 2 s of live audio",
                 wakes);
  g_assert_cmpuint(switches_from, >, 0); /* the thread was found */
  g_assert_cmpuint(wakes, <, 12);
  dgtest::BlockReport report = dgtest::check_blocks(log.finals(), 0, blocks, 0, 0, 50 * kMs);
  if (!report.perfect())
    g_error("%s", report.describe().c_str());
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

/* Batch results (up to 2 s, 20 words each) are long: split with the
 * default limits. */
void test_batch_results_split_with_defaults() {
  auto emu = dgtest::start_emulator();
  BinRun run(*emu, "mode=force-batch");
  run.play();
  run.push(0, 100);
  run.finish();
  check_files(run, Limits{}, range(0, 100));
  g_assert_cmpint(emu->counters().batch_ok, >=, 3);
  CaptionFile vtt = dgtest::parse_webvtt(dgtest::read_text_file(run.vtt));
  /* 20 words of 7 characters cannot fit one cue of 2 lines of 42. */
  g_assert_cmpuint(vtt.cues.size(), >, run.log->finals().size());
}

/* The live API drops mid-stream inside the bin: stt/degraded and
 * stt/recovered reach the application's bus as the failover posted them,
 * and the captions still hold every word once, in order. Pauses in the
 * audio (the engine still names silent blocks) give the failover places to
 * cut back to streaming. */
void test_outage_inside_the_bin() {
  auto emu = dgtest::start_emulator();
  std::string error;
  emu->inject_json(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1})",
      &error);
  g_assert_cmpstr(error.c_str(), ==, "");
  BinRun run(*emu, "caption-max-chars=32");
  auto kind = dgemu::sequence_pattern("sssssss...");
  run.play();
  run.push(0, 40, kind);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(40, 80, kind);
  run.finish();

  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 1);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
  /* Unchanged: posted by the failover inside the bin, not re-posted by it. */
  GstElement *failover = gst_bin_get_by_name(GST_BIN(run.bin), "failover");
  g_assert_nonnull(failover);
  GstObject *parent = gst_object_get_parent(GST_OBJECT(failover));
  g_assert_true(parent == GST_OBJECT(run.bin));
  gst_object_unref(parent);
  for (const char *name : {"stt/degraded", "stt/recovered"})
    g_assert_true(run.sources(name) == std::vector<GstObject *>{GST_OBJECT(failover)});
  auto degraded = run.log->element_messages("stt/degraded");
  g_assert_nonnull(gst_structure_get_string(degraded[0], "reason"));
  for (auto *s : degraded)
    gst_structure_free(s);
  gst_object_unref(failover);

  Limits limits;
  limits.chars = 32;
  check_files(run, limits, range(0, 120)); /* silent blocks have their word too */
  /* The stats the bin notified (the element resets them on PAUSED->READY). */
  std::lock_guard<std::mutex> lock(run.mutex);
  g_assert_cmpuint(run.stats_recovered, ==, 1);
}

void assert_string(GstElement *e, const char *prop, const char *expected) {
  gchar *v = nullptr;
  g_object_get(e, prop, &v, nullptr);
  g_assert_cmpstr(v, ==, expected);
  g_free(v);
}

/* Every proxy reaches its children; defaults and ranges are the children's. */
void test_properties_reach_the_children() {
  GstElement *bin = gst_element_factory_make("dgtranscribebin", nullptr);
  g_assert_nonnull(bin);
  GstElement *failover = gst_bin_get_by_name(GST_BIN(bin), "failover");
  GstElement *stream = gst_bin_get_by_name(GST_BIN(bin), "stream");
  GstElement *batch = gst_bin_get_by_name(GST_BIN(bin), "batch");
  g_assert_nonnull(failover);
  g_assert_nonnull(stream);
  g_assert_nonnull(batch);

  g_object_set(bin, "model", "nova-2", "language-code", "de-DE", "breaker", "tb-props",
               "batch-breaker", "tb-props-batch", "stream-url", "ws://127.0.0.1:1/v1/listen",
               "batch-url", "http://127.0.0.1:1/v1/listen", "latency", 4000u, "caption-max-chars",
               32u, "mode", GST_STT_FAILOVER_MODE_FORCE_BATCH, "diarize", TRUE, nullptr);
  assert_string(stream, "model", "nova-2");
  assert_string(batch, "model", "nova-2");
  assert_string(stream, "language", "de-DE");
  assert_string(batch, "language", "de-DE");
  assert_string(bin, "language", "de-DE");
  assert_string(failover, "breaker", "tb-props");
  assert_string(stream, "breaker", "tb-props");
  assert_string(batch, "breaker", "tb-props-batch");
  assert_string(stream, "url", "ws://127.0.0.1:1/v1/listen");
  assert_string(batch, "url", "http://127.0.0.1:1/v1/listen");
  guint latency = 0, chars = 0;
  gint mode = 0;
  gboolean diarize = FALSE;
  g_object_get(failover, "latency", &latency, "caption-max-chars", &chars, "mode", &mode, nullptr);
  g_object_get(batch, "diarize", &diarize, nullptr);
  g_assert_cmpuint(latency, ==, 4000);
  g_assert_cmpuint(chars, ==, 32);
  g_assert_cmpint(mode, ==, GST_STT_FAILOVER_MODE_FORCE_BATCH);
  g_assert_true(diarize);

  /* Same default and range as the child each proxy is cloned from. */
  struct {
    const char *bin_prop;
    GstElement *child;
    const char *child_prop;
  } pairs[] = {{"stream-url", stream, "url"},
               {"batch-url", batch, "url"},
               {"reset-timeout", failover, nullptr},
               {"latency", failover, nullptr},
               {"caption-max-duration", failover, nullptr},
               {"punctuate", stream, nullptr}};
  for (const auto &p : pairs) {
    GParamSpec *mine = g_object_class_find_property(G_OBJECT_GET_CLASS(bin), p.bin_prop);
    GParamSpec *theirs = g_object_class_find_property(G_OBJECT_GET_CLASS(p.child),
                                                      p.child_prop ? p.child_prop : p.bin_prop);
    g_assert_nonnull(mine);
    g_assert_nonnull(theirs);
    g_assert_true(G_PARAM_SPEC_VALUE_TYPE(mine) == G_PARAM_SPEC_VALUE_TYPE(theirs));
    g_assert_cmpint(g_param_values_cmp(mine, g_param_spec_get_default_value(mine),
                                       g_param_spec_get_default_value(theirs)),
                    ==, 0);
    if (G_IS_PARAM_SPEC_UINT(mine)) {
      g_assert_cmpuint(G_PARAM_SPEC_UINT(mine)->minimum, ==, G_PARAM_SPEC_UINT(theirs)->minimum);
      g_assert_cmpuint(G_PARAM_SPEC_UINT(mine)->maximum, ==, G_PARAM_SPEC_UINT(theirs)->maximum);
    }
  }
  /* A name reaches the failover and the stream sink alike: one live breaker. */
  g_object_set(bin, "breaker", "studio-a", nullptr);
  gchar *failover_breaker = nullptr, *stream_breaker = nullptr;
  g_object_get(failover, "breaker", &failover_breaker, nullptr);
  g_object_get(stream, "breaker", &stream_breaker, nullptr);
  g_assert_cmpstr(failover_breaker, ==, "studio-a");
  g_assert_cmpstr(failover_breaker, ==, stream_breaker);
  g_free(failover_breaker);
  g_free(stream_breaker);

  GParamSpec *key = g_object_class_find_property(G_OBJECT_GET_CLASS(bin), "api-key");
  g_assert_true((key->flags & G_PARAM_READABLE) == 0); /* a secret stays write-only */

  gst_object_unref(failover);
  gst_object_unref(stream);
  gst_object_unref(batch);
  gst_object_unref(bin);
}

/* What transcriberbin (gst-plugins-rs video/closedcaption) does with its
 * transcriber: links its static "sink" and "src" pads, sets a guint ms
 * "latency" and a string "language-code", and queries latency with a live
 * fakesrc linked in PAUSED. */
/* The registry of `element`'s dgf.breakers context (nullptr: none). */
std::shared_ptr<dgf::BreakerRegistry> breakers_of(GstElement *element) {
  GstContext *context = gst_element_get_context(element, dgf::kBreakerContextType);
  if (!context)
    return nullptr;
  auto registry = dgf::breaker_context_registry(context);
  gst_context_unref(context);
  return registry;
}

GstElement *child(GstElement *pipeline, const char *bin, const char *name) {
  GstElement *b = gst_bin_get_by_name(GST_BIN(pipeline), bin);
  GstElement *c = gst_bin_get_by_name(GST_BIN(b), name);
  gst_object_unref(b);
  gst_object_unref(c); /* the bin keeps it */
  return c;
}

/* Without breaker names, the failover and both sinks get their pipeline's
 * breakers from one dgf.breakers GstContext at NULL->READY (the pipeline
 * keeps it); another pipeline has its own; READY->NULL lets the breakers go. */
void test_breakers_shared_through_context() {
  const char *desc = "audiotestsrc ! dgtranscribebin name=bin api-key=k ! fakesink";
  GstElement *one = gst_parse_launch(desc, nullptr);
  GstElement *two = gst_parse_launch(desc, nullptr);
  g_assert_nonnull(one);
  g_assert_nonnull(two);
  for (GstElement *p : {one, two})
    g_assert_cmpint(gst_element_set_state(p, GST_STATE_READY), ==, GST_STATE_CHANGE_SUCCESS);

  auto registry = breakers_of(one);
  g_assert_nonnull(registry);
  for (const char *name : {"failover", "stream", "batch"})
    g_assert_true(breakers_of(child(one, "bin", name)) == registry);
  g_assert_nonnull(breakers_of(two));
  g_assert_true(breakers_of(two) != registry);
  /* The failover took the live breaker at NULL->READY (its settings win; the
   * stream sink takes it at its first connection). */
  auto live = registry->find(dgf::kLiveBreakerKey);
  g_assert_nonnull(live);
  g_assert_cmpint(live->settings().failure_threshold, ==, 3);
  live.reset();

  gst_element_set_state(one, GST_STATE_NULL);
  g_assert_null(registry->find(dgf::kLiveBreakerKey));
  gst_element_set_state(two, GST_STATE_NULL);
  gst_object_unref(one);
  gst_object_unref(two);
}

void test_transcriberbin_contract() {
  GstElement *bin = gst_element_factory_make("dgtranscribebin", nullptr);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(bin);
  for (const char *name : {"sink", "src"}) {
    GstPadTemplate *templ = gst_element_class_get_pad_template(klass, name);
    g_assert_nonnull(templ);
    g_assert_cmpint(GST_PAD_TEMPLATE_PRESENCE(templ), ==, GST_PAD_ALWAYS);
    GstPad *pad = gst_element_get_static_pad(bin, name);
    g_assert_nonnull(pad);
    gst_object_unref(pad);
  }
  GParamSpec *latency = g_object_class_find_property(G_OBJECT_GET_CLASS(bin), "latency");
  g_assert_nonnull(latency);
  g_assert_true(G_PARAM_SPEC_VALUE_TYPE(latency) == G_TYPE_UINT);
  GParamSpec *language = g_object_class_find_property(G_OBJECT_GET_CLASS(bin), "language-code");
  g_assert_nonnull(language);
  g_assert_true(G_PARAM_SPEC_VALUE_TYPE(language) == G_TYPE_STRING);
  g_object_set(bin, "latency", 4000u, "language-code", "en-US", "breaker", "tb-contract", nullptr);

  /* transcriberbin's query_latency(): fakesrc is-live ! transcriber, PAUSED. */
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *fakesrc = gst_element_factory_make("fakesrc", nullptr);
  g_object_set(fakesrc, "is-live", TRUE, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), fakesrc, bin, nullptr);
  g_assert_true(gst_element_link(fakesrc, bin));
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  GstQuery *q = gst_query_new_latency();
  GstPad *src = gst_element_get_static_pad(bin, "src");
  g_assert_true(gst_pad_query(src, q));
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  g_assert_true(live);
  g_assert_cmpuint(min, >=, 4000 * kMs);
  g_assert_cmpuint(min, <, 4100 * kMs); /* ours, plus at most the resampler's few samples */
  gst_query_unref(q);
  gst_object_unref(src);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

/* transcriberbin itself, with the bin as its transcriber. It ships in
 * gst-plugins-rs, which Debian 12 does not package: skipped there. */
void test_inside_transcriberbin() {
  GstElementFactory *factory = gst_element_factory_find("transcriberbin");
  if (!factory) {
    g_test_skip("transcriberbin (gst-plugins-rs, video/closedcaption) is not installed; Debian 12 "
                "does not package gst-plugins-rs. test_transcriberbin_contract checks what it "
                "relies on");
    return;
  }
  gst_object_unref(factory);
  auto emu = dgtest::start_emulator();
  std::string desc =
      "transcriberbin name=tb appsrc name=src format=time is-live=true caps=" + std::string(kCaps) +
      " ! tb.sink_audio videotestsrc is-live=true num-buffers=150 ! "
      "video/x-raw,framerate=30/1 ! tb.sink_video tb.src_video ! fakesink "
      "tb.src_audio ! fakesink";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  g_assert_no_error(err);
  GstElement *tb = gst_bin_get_by_name(GST_BIN(pipeline), "tb");
  GstElement *transcriber = gst_element_factory_make("dgtranscribebin", nullptr);
  std::string ws = dgtest::with_urls("@WS@", *emu), http = dgtest::with_urls("@HTTP@", *emu);
  g_object_set(transcriber, "api-key", "test-key", "stream-url", ws.c_str(), "batch-url",
               http.c_str(), "breaker", unique_breaker().c_str(), nullptr);
  g_object_set(tb, "transcriber", transcriber, nullptr);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  BusLog log(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  dgtest::push_sequence(src, 16000, 1, 0, 50, 0, true);
  bool eos = log.run_to_end();
  for (const auto &e : log.errors())
    g_printerr("error: %s\n", e.c_str());
  g_assert_true(eos);
  g_assert_cmpint(emu->counters().live_accepted, >=, 1);
  gst_object_unref(src);
  gst_object_unref(tb);
  gst_object_unref(pipeline);
}

/* Every property an error hint tells the user to check exists on the bin,
 * so the advice works for the element most users have (the hints name
 * `url` together with the bin's stream-url / batch-url). */
void test_hints_name_bin_properties() {
  GstElement *bin = gst_element_factory_make("dgtranscribebin", nullptr);
  GstElement *stream = gst_bin_get_by_name(GST_BIN(bin), "stream");
  GstElement *batch = gst_bin_get_by_name(GST_BIN(bin), "batch");
  std::vector<std::string> hints;
  for (unsigned status = 400; status < 600; status++)
    for (const char *said : {"", "failed to process audio: corrupt or unsupported data"})
      hints.push_back(dgf::classify_http(status, "", said).hint);
  for (int code = 1000; code < 1016; code++)
    hints.push_back(dgf::classify_close(code, "").hint);
  int named = 0;
  for (const std::string &hint : hints) {
    std::string word;
    for (size_t i = 0; i <= hint.size(); i++) {
      char c = i < hint.size() ? hint[i] : ' ';
      if (g_ascii_islower(c) || c == '-') {
        word += c;
        continue;
      }
      bool on_child = !word.empty() &&
                      (g_object_class_find_property(G_OBJECT_GET_CLASS(stream), word.c_str()) ||
                       g_object_class_find_property(G_OBJECT_GET_CLASS(batch), word.c_str()));
      if (on_child && word != "url" && word != "name") {
        named++;
        if (!g_object_class_find_property(G_OBJECT_GET_CLASS(bin), word.c_str()))
          g_error("hint \"%s\" names %s, which dgtranscribebin does not have", hint.c_str(),
                  word.c_str());
      }
      word.clear();
    }
  }
  g_assert_cmpint(named, >, 5); /* the hints do name properties */
  gst_object_unref(stream);
  gst_object_unref(batch);
  gst_object_unref(bin);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/dgtranscribebin/caption-file-parser", test_caption_file_parser);
  g_test_add_func("/dgtranscribebin/streaming-to-webvtt-and-srt", test_streaming_to_webvtt_and_srt);
  g_test_add_func("/dgtranscribebin/batch-results-split-with-defaults",
                  test_batch_results_split_with_defaults);
  g_test_add_func("/dgtranscribebin/outage-inside-the-bin", test_outage_inside_the_bin);
  g_test_add_func("/dgtranscribebin/converters-skipped-when-idle",
                  test_converters_skipped_when_idle);
  g_test_add_func("/dgtranscribebin/live-text-pad-sleeps-while-ahead",
                  test_live_text_pad_sleeps_while_ahead);
  g_test_add_func("/dgtranscribebin/properties-reach-the-children",
                  test_properties_reach_the_children);
  g_test_add_func("/dgtranscribebin/breakers-shared-through-context",
                  test_breakers_shared_through_context);
  g_test_add_func("/dgtranscribebin/transcriberbin-contract", test_transcriberbin_contract);
  g_test_add_func("/dgtranscribebin/hints-name-bin-properties", test_hints_name_bin_properties);
  g_test_add_func("/dgtranscribebin/inside-transcriberbin", test_inside_transcriberbin);
  return g_test_run();
}
