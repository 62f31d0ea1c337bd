/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Batch throughput: a backlog of audio drained through dgbatchsink.
 *
 * The pre-recorded API is down (an emulator outage) while --minutes of
 * 16 kHz mono sequence audio (speech with a short pause every 5 s, so chunks
 * are cut at pauses) is pushed as fast as the sink takes it; the sink holds
 * it all. Then the outage ends and the clock runs until EOS has drained the
 * backlog. For each --in-flight value it prints the audio seconds transcribed
 * per wall second and the memory held for the backlog (the growth of the
 * heap in use, malloc's own count, while holding it) against the raw audio
 * size.
 *
 * The emulator runs in this process (its own thread), so its CPU counts in
 * the wall time, as a local server's would on these 2 cores.
 *
 * --server-ms adds that much time to every request while draining (an
 * emulator batch_delay), standing in for Deepgram's processing and the
 * network round trip that the loopback emulator does not have.
 *
 *   bench-batch-throughput [--minutes 10] [--in-flight 1,2,4] [--server-ms 0]
 */
#include <gst/gst.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_feed.h"
#include "bench_util.h"
#include "emulator.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

namespace {

constexpr int kRate = 16000;
constexpr int kBlockMs = 100;
constexpr double kRawBytesPerMinute = kRate * 2 * 60.0;
/* 4.5 s of speech, then 0.5 s of pause: a pause to cut at every 5 s. */
const char *const kPattern = "sssssssssssssssssssssssssssssssssssssssssssss.....";

struct Count {
  std::atomic<uint64_t> words{0};
};

GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
  auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m);
  if (t && t->is_final)
    static_cast<Count *>(data)->words += t->words.size();
  return GST_BUS_PASS;
}

struct Row {
  unsigned in_flight;
  double audio_s, drain_wall_s;
  double backlog_s; /* held by the sink when the outage ends (its stats) */
  double held_mib, raw_mib;
  uint64_t words, expected;
};

Row run(dgemu::Emulator &emu, double minutes, unsigned in_flight, int server_ms) {
  std::string err;
  emu.clear_faults();
  if (emu.inject_json(R"({"type":"outage","api":"batch","status":503})", &err).empty())
    g_error("cannot inject the outage: %s", err.c_str());
  gchar *desc = g_strdup_printf(
      "dgbatchsink name=sink url=%s/v1/listen api-key=bench breaker=bench-batch-%u "
      "max-in-flight=%u max-buffer=%u retry-backoff-min=1 retry-backoff-max=5 "
      "reset-timeout=10 reset-timeout-max=10 drain-timeout=600000",
      emu.http_url().c_str(), in_flight, in_flight, static_cast<guint>((minutes * 60 + 60) * 1000));
  GError *error = nullptr;
  GstElement *sink = gst_parse_launch(desc, &error);
  g_free(desc);
  if (!sink || error)
    g_error("cannot make dgbatchsink (is GST_PLUGIN_PATH set?): %s", error ? error->message : "?");
  GstElement *pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  Count count;
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, on_message, &count, nullptr);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  GstPad *feed = gst_pad_new("feed", GST_PAD_SRC);
  gst_pad_set_active(feed, TRUE);
  gst_pad_link(feed, sinkpad);
  bench::start_feed(feed, "bench");

  size_t heap_before = bench::heap_bytes();
  auto kind = dgemu::sequence_pattern(kPattern);
  uint32_t blocks = static_cast<uint32_t>(minutes * 60 * 1000 / kBlockMs);
  uint64_t expected = 0;
  for (uint32_t b = 0; b < blocks; b += 10) { /* one second per buffer */
    auto pcm = dgemu::sequence_blocks(kRate, 1, b, 10, kind, kBlockMs);
    expected += 10; /* silence blocks keep their header: one word each too */
    GstBuffer *buf = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);
    GST_BUFFER_PTS(buf) = static_cast<uint64_t>(b) * kBlockMs * GST_MSECOND;
    GST_BUFFER_DURATION(buf) = GST_SECOND;
    if (gst_pad_push(feed, buf) != GST_FLOW_OK)
      g_error("push failed at block %u", b);
  }
  size_t heap_held = bench::heap_bytes();
  double backlog_s = 0;
  GstStructure *stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  if (stats) {
    guint64 backlog = 0;
    gst_structure_get_uint64(stats, "audio-backlog", &backlog);
    backlog_s = static_cast<double>(backlog) / GST_SECOND;
    gst_structure_free(stats);
  }

  /* The outage ends: drain. EOS returns once the backlog is transcribed. */
  gint64 t0 = g_get_monotonic_time();
  emu.clear_faults();
  if (server_ms > 0) {
    std::string delay = R"({"type":"batch_delay","ms":)" + std::to_string(server_ms) + "}";
    if (emu.inject_json(delay, &err).empty())
      g_error("cannot inject the delay: %s", err.c_str());
  }
  gst_pad_push_event(feed, gst_event_new_eos());
  double wall = (g_get_monotonic_time() - t0) / 1e6;

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_pad_set_active(feed, FALSE);
  gst_object_unref(feed);
  gst_object_unref(sinkpad);
  gst_object_unref(pipeline);
  double audio_s = minutes * 60;
  return Row{in_flight,
             audio_s,
             wall,
             backlog_s,
             (double(heap_held) - double(heap_before)) / (1024.0 * 1024.0),
             kRawBytesPerMinute * minutes / (1024.0 * 1024.0),
             count.words.load(),
             expected};
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  double minutes = 10;
  std::vector<int> in_flight{1, 2, 4};
  int server_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--server-ms"))
      server_ms = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--minutes"))
      minutes = g_ascii_strtod(argv[i + 1], nullptr);
    else if (!strcmp(argv[i], "--in-flight"))
      in_flight = bench::parse_list(argv[i + 1]);
  }
  if (minutes <= 0 || in_flight.empty()) {
    fprintf(stderr, "usage: %s [--minutes 10] [--in-flight 1,2,4] [--server-ms 0]\n", argv[0]);
    return 2;
  }
  dgemu::Options opts;
  dgemu::Emulator emu(opts);
  std::string err;
  if (!emu.start(&err))
    g_error("emulator: %s", err.c_str());
  printf("| in flight | backlog audio s | drain wall s | audio s per wall s | heap held MiB | "
         "raw audio MiB | held / raw | words |\n|---|---|---|---|---|---|---|---|\n");
  bool ok = true;
  run(emu, 0.2, 1, 0); /* warm-up: one-time start-up (TLS, HTTP session) is not backlog */
  for (int n : in_flight) {
    Row r = run(emu, minutes, static_cast<unsigned>(n), server_ms);
    printf("| %u | %.0f | %.2f | %.0f | %.2f | %.2f | %.3f | %llu / %llu |\n", r.in_flight,
           r.backlog_s, r.drain_wall_s, r.audio_s / r.drain_wall_s, r.held_mib, r.raw_mib,
           r.held_mib / r.raw_mib, static_cast<unsigned long long>(r.words),
           static_cast<unsigned long long>(r.expected));
    fflush(stdout);
    ok = ok && r.words == r.expected;
  }
  emu.stop();
  return ok ? 0 : 1;
}
