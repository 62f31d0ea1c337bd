/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One sttfailover pipeline against dg-emulator, as the integration tests
 * build it: appsrc (16 kHz mono S16LE) ! sttfailover ! queue ! dgstreamsink,
 * ! queue ! dgbatchsink, text ! appsink (or a given text branch), with short
 * timers so outages play out in a fraction of a second, and its bus log,
 * state history and captions.
 */
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

#include "dg_test_support.h"
#include "gststtfailover.h"

namespace failovertest {

using dgtest::BusLog;

inline const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

inline std::string unique_breaker() {
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

  std::unique_ptr<dgtest::StateRecorder> states;
  std::mutex mutex; /* captions */

  Run(const dgemu::Emulator &emu, const std::string &failover_props = "",
      const std::string &stream_props = "", const std::string &text_branch = "",
      std::string breaker_name = "", const std::string &batch_props = "")
      : breaker(breaker_name.empty() ? unique_breaker() : breaker_name) {
    std::string desc =
        "appsrc name=src format=time caps=" + std::string(kCaps) +
        " ! sttfailover name=f breaker=" + breaker +
        /* cut-pause=0: sequence speech has no pauses; test_cut_at_pause has them.
         * appsrc is not live: stream-first tests the live path (a mode= in
         * failover_props wins). */
        " retry-backoff-min=50 retry-backoff-max=400 reset-timeout=300 cut-pause=0 "
        "mode=stream-first " +
        failover_props +
        " f.stream ! queue ! dgstreamsink url=@WS@ api-key=test-key breaker=" + breaker +
        " finalize-timeout=5000 " + stream_props +
        " f.batch ! queue ! dgbatchsink url=@HTTP@ api-key=test-key min-chunk=500 "
        "max-chunk=2000 retry-backoff-min=20 retry-backoff-max=200 reset-timeout=50 "
        "reset-timeout-max=400 breaker=" +
        breaker + "-batch " + batch_props + " f.text ! queue ! " +
        (text_branch.empty() ? "appsink name=text sync=false wait-on-eos=false emit-signals=true"
                             : text_branch);
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    g_assert_no_error(err);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    failover = gst_bin_get_by_name(GST_BIN(pipeline), "f");
    text = gst_bin_get_by_name(GST_BIN(pipeline), "text");
    log = std::make_unique<BusLog>(pipeline);
    states = std::make_unique<dgtest::StateRecorder>(failover);
    if (text && GST_IS_APP_SINK(text))
      g_signal_connect(text, "new-sample", G_CALLBACK(on_sample), this);
  }
  ~Run() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    log.reset();
    states.reset();
    if (text)
      gst_object_unref(text);
    gst_object_unref(failover);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  /* Waits (bounded) until the element has been in `state` `times` times. */
  void wait_state(int state, int times = 1) { states->wait(state, times); }
  void play() { gst_element_set_state(pipeline, GST_STATE_PLAYING); }
  void push(uint32_t first, uint32_t count, bool eos = false, const dgemu::BlockKindFn &kind = {}) {
    dgtest::push_sequence(src, 16000, 1, first, count, 0, eos, kind);
  }
  /* Pushes samples [from, to) of 16 kHz mono audio in 100 ms buffers, timed
   * from sample 0. */
  void push_pcm(const std::vector<int16_t> &pcm, size_t from, size_t to) {
    const size_t step = 1600;
    for (size_t at = from; at < std::min(to, pcm.size()); at += step) {
      size_t n = std::min({step, to - at, pcm.size() - at});
      GstBuffer *b = gst_buffer_new_memdup(pcm.data() + at, n * sizeof(int16_t));
      GST_BUFFER_PTS(b) = gst_util_uint64_scale_int(at, GST_SECOND, 16000);
      GST_BUFFER_DURATION(b) = gst_util_uint64_scale_int(n, GST_SECOND, 16000);
      g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src), b), ==, GST_FLOW_OK);
    }
  }
  /* EOS, then waits for the pipeline's (at most `timeout`). */
  void finish(GstClockTime timeout = 60 * GST_SECOND) {
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    bool eos = log->run_to_end(timeout);
    for (const auto &e : log->errors())
      g_printerr("error: %s\n", e.c_str());
    g_assert_true(eos);
  }
  int state() {
    int s;
    g_object_get(failover, "state", &s, nullptr);
    return s;
  }
  GstStructure *stats() {
    GstStructure *s = nullptr;
    g_object_get(failover, "stats", &s, nullptr);
    return s;
  }

  /* The captions the text pad produced (appsink), in order. */
  using Cue = dgtest::Cue;
  std::vector<Cue> captions;
  static GstFlowReturn on_sample(GstAppSink *sink, gpointer data) {
    auto *run = static_cast<Run *>(data);
    GstSample *sample = gst_app_sink_pull_sample(sink);
    Cue c = dgtest::cue_of(gst_sample_get_buffer(sample));
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

} // namespace failovertest
