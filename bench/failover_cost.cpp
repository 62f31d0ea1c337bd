/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Failover cost: what sttfailover adds per buffer on the healthy path,
 * against identity in the same place.
 *
 *   identity:    feed ! identity ! fakesink
 *   sttfailover: feed ! sttfailover name=f  f.stream ! fakesink (acks)
 *                                           f.batch ! fakesink  f.text ! fakesink
 *
 * Buffers of 16 kHz mono sequence audio are pushed from the main thread, so
 * the whole path runs on it. The stream fakesink plays a healthy stream sink:
 * stt/health once, then an stt/ack for the audio every second, as results
 * would come, so the replay ledger stays small (the element's handling of
 * them is counted, making them is not).
 *
 * Figures: wall time per buffer (best of --rounds), and with --callgrind
 * VALGRIND the instructions per buffer, from two runs under callgrind with
 * different buffer counts (the difference cancels start-up).
 *
 *   bench-failover-cost [--buffers 20000] [--buffer-ms 100,20] [--rounds 5]
 *                       [--callgrind valgrind]
 *   bench-failover-cost --one identity|sttfailover --buffers N --buffer-ms M
 *                       (one run: what the callgrind runs execute)
 */
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_feed.h"
#include "bench_util.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

namespace {

const char *const kElements[] = {"identity", "sttfailover"};

/* One buffer through the element under test. Not inlined: the callgrind runs
 * collect only inside it (--toggle-collect), so their profile is the
 * per-buffer path alone. */
__attribute__((noinline)) GstFlowReturn push_one(GstPad *feed, GstBuffer *buf) {
  return gst_pad_push(feed, buf);
}

/* An stt event from the stream sink's pad up into the element; collected
 * too (the element's handling of acks is part of its healthy path), while
 * making the event is not. */
__attribute__((noinline)) void push_ack(GstPad *sinkpad, GstEvent *event) {
  gst_pad_push_event(sinkpad, event);
}

/* Builds the pipeline, pushes `buffers` buffers, returns wall ns per buffer. */
double run_once(const std::string &element, uint64_t buffers, int buffer_ms) {
  std::string desc =
      element == "identity"
          ? "identity name=x ! fakesink sync=false async=false"
          /* the healthy live path: a bare feed pad answers no latency query */
          : "sttfailover name=x mode=stream-first x.stream ! fakesink name=stream sync=false "
            "async=false "
            "x.batch ! fakesink sync=false async=false x.text ! fakesink sync=false async=false";
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description_full(desc.c_str(), FALSE, nullptr,
                                                        GST_PARSE_FLAG_PLACE_IN_BIN, &error);
  if (!bin || error)
    g_error("cannot build '%s' (is GST_PLUGIN_PATH set?): %s", desc.c_str(),
            error ? error->message : "?");
  GstElement *pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), bin);
  /* The stream sink's pad: acks go up from it, as from a healthy sink. */
  GstPad *stream_pad = nullptr;
  if (GstElement *stream = gst_bin_get_by_name(GST_BIN(bin), "stream")) {
    stream_pad = gst_element_get_static_pad(stream, "sink");
    gst_object_unref(stream);
  }
  uint64_t per_ack = std::max(1, 1000 / buffer_ms); /* results come about once a second */
  GstElement *x = gst_bin_get_by_name(GST_BIN(bin), "x");
  GstPad *target = gst_element_get_static_pad(x, "sink");
  GstPad *feed = gst_pad_new("feed", GST_PAD_SRC);
  gst_pad_set_active(feed, TRUE);
  gst_pad_link(feed, target);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  bench::start_feed(feed, "bench");

  /* Ten distinct blocks, reused: audio making is not what is measured. */
  std::vector<GstBuffer *> blocks;
  for (uint32_t b = 0; b < 10; b++) {
    auto pcm = dgemu::sequence_blocks(16000, 1, b, 1, {}, buffer_ms);
    blocks.push_back(gst_buffer_new_memdup(pcm.data(), pcm.size() * 2));
  }
  uint64_t duration = static_cast<uint64_t>(buffer_ms) * GST_MSECOND;
  gint64 start = g_get_monotonic_time();
  for (uint64_t i = 0; i < buffers; i++) {
    GstBuffer *buf = gst_buffer_copy(blocks[i % blocks.size()]); /* shares the memory */
    GST_BUFFER_PTS(buf) = i * duration;
    GST_BUFFER_DURATION(buf) = duration;
    if (push_one(feed, buf) != GST_FLOW_OK)
      g_error("%s: push failed at buffer %" G_GUINT64_FORMAT, element.c_str(), i);
    if (stream_pad && i == 0)
      push_ack(stream_pad,
               dgf::stt::make_event(dgf::stt::Health{true, "connected", 0, true, "bench"}));
    if (stream_pad && (i + 1) % per_ack == 0)
      push_ack(stream_pad,
               dgf::stt::make_event(dgf::stt::Ack{(i + 1) * duration, "bench", 0, false}));
  }
  gint64 wall = g_get_monotonic_time() - start;
  for (GstBuffer *b : blocks)
    gst_buffer_unref(b);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_pad_set_active(feed, FALSE);
  gst_object_unref(feed);
  gst_object_unref(target);
  gst_object_unref(x);
  if (stream_pad)
    gst_object_unref(stream_pad);
  gst_object_unref(pipeline);
  return wall * 1000.0 / buffers;
}

/* Instructions per buffer: one run under callgrind collecting inside
 * push_one() only. */
double callgrind_per_buffer(const std::string &valgrind, const std::string &self,
                            const std::string &element, uint64_t buffers, int buffer_ms,
                            const std::string &out_file) {
  std::string out_arg = "--callgrind-out-file=" + out_file;
  const char *toggle = "--toggle-collect=*push_one*";
  const char *toggle_ack = "--toggle-collect=*push_ack*";
  std::string n = std::to_string(buffers), ms = std::to_string(buffer_ms);
  const char *argv[] = {valgrind.c_str(),
                        "--tool=callgrind",
                        "-q",
                        "--collect-atstart=no",
                        toggle,
                        toggle_ack,
                        out_arg.c_str(),
                        self.c_str(),
                        "--one",
                        element.c_str(),
                        "--buffers",
                        n.c_str(),
                        "--buffer-ms",
                        ms.c_str(),
                        nullptr};
  std::string ignored;
  if (!bench::run_capture(argv, nullptr, &ignored))
    g_error("callgrind run failed: %s %s", element.c_str(), n.c_str());
  gchar *text = nullptr;
  if (!g_file_get_contents(out_file.c_str(), &text, nullptr, nullptr))
    g_error("no callgrind output %s", out_file.c_str());
  double total = 0;
  for (const char *key : {"\nsummary: ", "\ntotals: "})
    if (const char *p = strstr(text, key)) {
      total = g_ascii_strtod(p + strlen(key), nullptr);
      break;
    }
  g_free(text);
  return total / double(buffers);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  uint64_t buffers = 20000;
  std::vector<int> buffer_ms{100, 20};
  int rounds = 5;
  std::string valgrind, one;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--buffers"))
      buffers = g_ascii_strtoull(argv[i + 1], nullptr, 10);
    else if (!strcmp(argv[i], "--buffer-ms"))
      buffer_ms = bench::parse_list(argv[i + 1]);
    else if (!strcmp(argv[i], "--rounds"))
      rounds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--callgrind"))
      valgrind = argv[i + 1];
    else if (!strcmp(argv[i], "--one"))
      one = argv[i + 1];
  }
  if (buffers < 10 || rounds < 1 || buffer_ms.empty()) {
    fprintf(stderr,
            "usage: %s [--buffers N] [--buffer-ms 100,20] [--rounds R] [--callgrind VALGRIND]\n",
            argv[0]);
    return 2;
  }
  if (!one.empty()) {
    run_once(one, buffers, buffer_ms[0]);
    return 0;
  }
  gchar *self = g_file_read_link("/proc/self/exe", nullptr);
  gchar *tmp = g_dir_make_tmp("bench-failover-XXXXXX", nullptr);
  printf("| buffer | element | wall ns per buffer | instructions per buffer |\n"
         "|---|---|---|---|\n");
  bool ok = true;
  std::vector<std::string> ratios;
  for (int ms : buffer_ms) {
    double wall[2], instr[2] = {0, 0};
    for (int e = 0; e < 2; e++) {
      run_once(kElements[e], buffers / 10, ms); /* warm-up */
      wall[e] = 1e18;
      for (int r = 0; r < rounds; r++)
        wall[e] = std::min(wall[e], run_once(kElements[e], buffers, ms));
      if (!valgrind.empty()) {
        /* Fewer buffers under callgrind (about 50x slower). */
        std::string file =
            std::string(tmp) + "/" + kElements[e] + "-" + std::to_string(ms) + ".out";
        instr[e] = callgrind_per_buffer(valgrind, self, kElements[e],
                                        std::max<uint64_t>(10, buffers / 10), ms, file);
      }
      printf("| %d ms | %s | %.0f | %s |\n", ms, kElements[e], wall[e],
             valgrind.empty() ? "-" : std::to_string(static_cast<long>(instr[e])).c_str());
      fflush(stdout);
    }
    char line[256];
    snprintf(line, sizeof line, "| %d ms | %.2f | %s |", ms, wall[1] / wall[0],
             instr[0] > 0 ? std::to_string(instr[1] / instr[0]).substr(0, 4).c_str() : "-");
    ratios.push_back(line);
    ok = ok && wall[0] > 0 && wall[1] > 0;
  }
  printf("\n| buffer | wall sttfailover / identity | instructions sttfailover / identity |\n"
         "|---|---|---|\n");
  for (const auto &r : ratios)
    printf("%s\n", r.c_str());
  if (!valgrind.empty())
    printf("\ncallgrind profiles (callgrind_annotate FILE): %s\n", tmp);
  else
    g_rmdir(tmp);
  g_free(tmp);
  g_free(self);
  return ok ? 0 : 1;
}
