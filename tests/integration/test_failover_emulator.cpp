/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

#include "failover_run.h"

using dgtest::BusLog;

namespace {

using namespace failovertest;

void assert_blocks(Run &run, uint32_t count, const std::set<uint32_t> &silent = {}) {
  auto report = dgtest::check_blocks(run.log->finals(), 0, count, 0, -1, GST_MSECOND, silent);
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

/* One outage and its recovery: every block once on the bus and the text pad,
 * one stt/degraded, one stt/recovered, and batch did transcribe. */
void assert_one_outage(Run &run, dgemu::Emulator &emu, uint32_t blocks) {
  assert_blocks(run, blocks);
  assert_captions(run, blocks);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 1);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
  g_assert_cmpint(emu.counters().batch_ok, >=, 1);
}

void assert_alternating_messages(Run &run) {
  /* Exactly one stt/degraded per outage and one stt/recovered per recovery. */
  size_t degraded = run.log->count("stt/degraded");
  size_t recovered = run.log->count("stt/recovered");
  g_assert_cmpuint(degraded, >=, 1);
  g_assert_cmpuint(recovered, ==, degraded);
}

/* (trip, open-window) of every stt/breaker open the failover posted. */
std::vector<std::pair<guint, uint64_t>> open_windows(Run &run) {
  std::vector<std::pair<guint, uint64_t>> out;
  for (GstStructure *s : run.log->element_messages("stt/breaker")) {
    if (g_strcmp0(gst_structure_get_string(s, "state"), "open") == 0) {
      guint trip = 0;
      guint64 window = 0;
      gst_structure_get_uint(s, "trip", &trip);
      gst_structure_get_uint64(s, "open-window", &window);
      out.emplace_back(trip, window);
    }
    gst_structure_free(s);
  }
  return out;
}

bool wait_opens(Run &run, size_t count) {
  while (open_windows(run).size() < count)
    if (!run.log->wait_for("stt/breaker", run.log->count("stt/breaker") + 1))
      return false;
  return true;
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
  dgtest::inject(*emu, fault);
  Run run(*emu, "", stream_props);
  run.play();
  run.push(0, 40);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(40, 40);
  run.finish();
  assert_one_outage(run, *emu, 80);
}

void test_close_1011() {
  check_outage(
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1})");
}
void test_tcp_drop() {
  check_outage(R"({"type":"drop","after_audio_ms":1500,"target":"new","count":1})");
}
void test_stall() {
  check_outage(R"({"type":"stall","after_audio_ms":1500,"target":"new","count":1})",
               "stall-timeout=400");
}

/* Refused at the handshake: one stt/degraded, batch from the first block. */
void test_refused_at_start() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"refuse","status":503,"count":1})");
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
  dgtest::inject(*emu, R"({"type":"refuse","status":503})"); /* down for good */
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

/* The cut back to streaming waits for a pause (two silent blocks here), so no
 * word is split between the branches; silent blocks have no word. */
void test_cut_at_pause() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(
      *emu,
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1})");
  Run run(*emu, "cut-pause=200 cut-max-wait=60000");
  auto kind = dgemu::sequence_pattern("SSSSSSSS...");
  std::set<uint32_t> silent;
  for (uint32_t b = 0; b < 110; b++)
    if (kind(b) == dgemu::BlockKind::silence)
      silent.insert(b);
  run.play();
  run.push(0, 40, false, kind);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(40, 70, false, kind);
  g_assert_true(run.log->wait_for("stt/recovered", 1));
  GstStructure *stats = run.stats(); /* before finish(): NULL resets them */
  guint64 at_pause = 0, forced = 0;
  g_assert_true(gst_structure_get_uint64(stats, "cuts-at-pause", &at_pause));
  g_assert_true(gst_structure_get_uint64(stats, "cuts-forced", &forced));
  gst_structure_free(stats);
  g_assert_cmpuint(at_pause, ==, 1);
  g_assert_cmpuint(forced, ==, 0);
  run.finish();
  assert_blocks(run, 110, silent);
  g_assert_cmpuint(run.log->count("stt/recovered"), ==, 1);
}

/* Live and pre-recorded down together: the batch branch holds its backlog
 * through the failed requests and drains it when the service heals. */
void test_both_apis_down() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "reset-timeout-max=1000");
  run.play();
  run.push(0, 30);
  dgtest::inject(*emu, R"({"type":"outage","api":"both","duration":600})");
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  run.push(30, 50);
  for (int i = 0; i < 1000 && emu->counters().batch_failed < 3; i++)
    g_usleep(10000); /* the batch sink's retries: polled, bounded */
  g_assert_cmpint(emu->counters().batch_failed, >=, 3);
  g_assert_cmpint(emu->counters().batch_ok, ==, 0);
  g_assert_cmpint(run.state(), ==, GST_STT_FAILOVER_STATE_DEGRADED);

  emu->advance_clock(600); /* heal */
  run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING);
  run.push(80, 30);
  run.finish();
  assert_one_outage(run, *emu, 110);
}

/* While the probes keep failing, each trip of the shared breaker opens for a
 * window twice the last (stt/breaker shows it); closing resets it. */
void test_breaker_backoff_visible() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "failure-threshold=1 reset-timeout=50 reset-timeout-max=400");
  run.play();
  uint32_t next = 0;
  for (int outage = 1; outage <= 2; outage++) {
    run.push(next, 20);
    next += 20;
    size_t opens_before = open_windows(run).size();
    dgtest::inject(*emu, R"({"type":"outage","api":"live","duration":600})");
    run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED, outage);
    /* The drop trips the breaker; three failed probes re-trip it. */
    g_assert_true(wait_opens(run, opens_before + 4));
    emu->advance_clock(600);
    run.wait_state(GST_STT_FAILOVER_STATE_RECOVERING, outage);
    run.push(next, 20);
    next += 20;
    g_assert_true(run.log->wait_for("stt/recovered", outage));
    auto windows = open_windows(run);
    std::vector<uint64_t> expect = {50, 100, 200, 400};
    for (size_t i = 0; i < expect.size(); i++) {
      g_assert_cmpuint(windows[opens_before + i].first, ==, i + 1);
      g_assert_cmpuint(windows[opens_before + i].second, ==, expect[i] * GST_MSECOND);
    }
  }
  run.finish();
  assert_blocks(run, next);
  assert_alternating_messages(run);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 2);
}

/* Several outages in a row: messages never repeat, blocks stay exact. */
void test_flapping() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(
      *emu,
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":1250,"target":"new","count":3})");
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

/* Operator override: batch only, then back to streaming with failover
 * (stream-first: this appsrc is not live, so auto would stay on batch). */
void test_mode_force_batch_then_stream_first() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "mode=force-batch");
  run.play();
  run.push(0, 30);
  run.wait_state(GST_STT_FAILOVER_STATE_DEGRADED);
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
  g_object_set(run.failover, "mode", GST_STT_FAILOVER_MODE_STREAM_FIRST, nullptr);
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
  dgtest::inject(
      *emu,
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":2000,"target":"new","count":1})");
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

/* A file (appsrc is not live) kept on the live API with a replay window far
 * shorter than the audio, results slowed down, and the connection closed in
 * the middle: the streaming thread waits for acks instead of overflowing the
 * window, so nothing is reported dropped and every block comes back once. */
void test_file_waits_for_room_in_the_ledger() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(*emu, R"({"type":"delay","ms":400,"target":"new","count":1})");
  dgtest::inject(
      *emu,
      R"({"type":"close","code":1011,"reason":"NET-0000","after_audio_ms":5000,"target":"new","count":1})");
  Run run(*emu, "replay-window=1000");
  run.play();
  run.push(0, 150, true);
  bool eos = run.log->run_to_end();
  g_assert_true(eos);
  assert_blocks(run, 150); /* and no stt/audio-dropped */
  assert_captions(run, 150);
  g_assert_cmpuint(run.log->count("stt/degraded"), ==, 1);
  /* A file outruns the recovery: the rest may well go to batch. */
  g_assert_cmpuint(run.log->count("stt/recovered"), <=, 1);
  GstStructure *st = run.stats();
  guint64 dropped = 1;
  g_assert_true(gst_structure_get_uint64(st, "audio-dropped", &dropped));
  gst_structure_free(st);
  g_assert_cmpuint(dropped, ==, 0);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/failover/streaming-only", test_streaming_only);
  g_test_add_func("/failover/file-waits-for-room", test_file_waits_for_room_in_the_ledger);
  g_test_add_func("/failover/close-1011", test_close_1011);
  g_test_add_func("/failover/tcp-drop", test_tcp_drop);
  g_test_add_func("/failover/stall", test_stall);
  g_test_add_func("/failover/refused-at-start", test_refused_at_start);
  g_test_add_func("/failover/breaker-open-from-other-pipeline",
                  test_breaker_open_from_other_pipeline);
  g_test_add_func("/failover/flapping", test_flapping);
  g_test_add_func("/failover/cut-at-pause", test_cut_at_pause);
  g_test_add_func("/failover/both-apis-down", test_both_apis_down);
  g_test_add_func("/failover/breaker-backoff-visible", test_breaker_backoff_visible);
  g_test_add_func("/failover/mode-force-batch-then-stream-first",
                  test_mode_force_batch_then_stream_first);
  g_test_add_func("/failover/webvtt-file", test_webvtt_file);
  return g_test_run();
}
