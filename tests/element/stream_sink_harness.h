/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test rig for dgstreamsink: appsrc ! dgstreamsink against an in-process
 * dg-emulator, its bus collected (dgtest::BusLog), its stats read by name.
 * Header-only; the element tests that use it include it once each. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "dg_test_support.h"

namespace streamtest {

using dgtest::BusLog;

inline const char *kCaps16kMono =
    "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

struct Run {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *sink = nullptr;
  std::unique_ptr<BusLog> log;

  Run(const dgemu::Emulator &emu, const std::string &sink_props, const char *caps = kCaps16kMono) {
    std::string desc = "appsrc name=src format=time caps=" + std::string(caps) +
                       " ! dgstreamsink name=sink url=@WS@ api-key=test-key "
                       "retry-backoff-min=20 retry-backoff-max=200 " +
                       sink_props;
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    g_assert_no_error(err);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    log = std::make_unique<BusLog>(pipeline);
  }
  ~Run() {
    log.reset();
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
  }
  GstStructure *stats() {
    GstStructure *s = nullptr;
    g_object_get(sink, "stats", &s, nullptr);
    return s;
  }
  guint64 stat(const char *field) { return dgtest::stat_u64(sink, field); }
};

inline void assert_perfect(const dgtest::BlockReport &r) {
  if (!r.perfect())
    g_error("blocks: %s", r.describe().c_str());
}

/* Pushes `count` blocks and runs to EOS; asserts a clean end. */
inline void stream_blocks(Run &run, uint32_t count, int channels = 1) {
  dgtest::push_sequence(run.src, 16000, channels, 0, count, 0);
  bool eos = run.log->run_to_end();
  for (const auto &e : run.log->errors())
    g_printerr("error: %s\n", e.c_str());
  g_assert_true(eos);
}

} // namespace streamtest
