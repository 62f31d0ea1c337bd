/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Switch latency of sttfailover, with the emulator killing the live socket.
 *
 *   feed ! sttfailover name=f  f.stream ! queue ! dgstreamsink
 *                              f.batch ! queue ! dgbatchsink   f.text ! fakesink
 *
 * 16 kHz mono sequence audio (100 ms buffers) is pushed in real time. Part 1,
 * --cycles times: 3 s of healthy streaming, then a live outage of
 * --outage-seconds whose start closes the open socket (1011 NET-0000) and
 * refuses handshakes until it ends. Measured:
 *   - close sent -> stt/degraded posted (the close read and acted on)
 *   - stt/degraded -> the first buffer on the batch pad (the ledger replay)
 *   - outage end -> stt/recovered (probe interval 1 s: reset-timeout and
 *     retry-backoff-max 1000 ms; cut-pause 0 so the cut waits for no pause)
 * Part 2: caption latency in degraded mode (mode=force-batch), block pushed ->
 * dgbatchsink's final transcript holding its word, for pause-cut chunks (the
 * defaults: 5..30 s, cut at a pause; the audio pauses 0.5 s every 5 s) and for
 * fixed chunks of --fixed-chunk seconds (min-chunk = max-chunk), each over
 * --caption-seconds of audio.
 *
 *   bench-switch-latency [--cycles 3] [--outage-seconds 3] [--caption-seconds 90]
 *                        [--fixed-chunk 30]
 */
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "bench_feed.h"
#include "bench_util.h"
#include "emulator.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

namespace {

constexpr int kBlockMs = 100;
const char *const kPattern = "sssssssssssssssssssssssssssssssssssssssssssss.....";

/* What the bus and the batch pad saw, with monotonic times (us). */
struct Seen {
  std::mutex mutex;
  std::vector<gint64> degraded, recovered;
  gint64 first_batch = 0; /* first batch buffer since armed */
  bool armed = false;
  std::vector<std::pair<uint32_t, gint64>> batch_words; /* (block, arrival) */
};

GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
  auto *seen = static_cast<Seen *>(data);
  gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(seen->mutex);
  if (dgf::stt::is<dgf::stt::Degraded>(m))
    seen->degraded.push_back(now);
  else if (dgf::stt::is<dgf::stt::Recovered>(m))
    seen->recovered.push_back(now);
  else if (auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m)) {
    if (t->is_final && t->branch == "batch")
      for (const auto &w : t->words) {
        unsigned block;
        if (sscanf(w.word.c_str(), "b%u", &block) == 1)
          seen->batch_words.push_back({block, now});
      }
  }
  return GST_BUS_PASS;
}

GstPadProbeReturn on_batch_buffer(GstPad *, GstPadProbeInfo *, gpointer data) {
  auto *seen = static_cast<Seen *>(data);
  std::lock_guard<std::mutex> lock(seen->mutex);
  if (seen->armed && seen->first_batch == 0)
    seen->first_batch = g_get_monotonic_time();
  return GST_PAD_PROBE_OK;
}

/* A running pipeline fed in real time from the main thread. */
class Rig {
public:
  Rig(const dgemu::Emulator &emu, const std::string &failover_props,
      const std::string &batch_props) {
    gchar *desc = g_strdup_printf(
        "sttfailover name=f breaker=bench-switch reset-timeout=1000 reset-timeout-max=1000 "
        /* fed in real time from a bare pad (no live source to answer latency
         * queries): stream-first, as a live feed would be */
        "retry-backoff-min=500 retry-backoff-max=1000 cut-pause=0 mode=stream-first %s "
        "f.stream ! queue ! dgstreamsink url=%s/v1/listen api-key=bench breaker=bench-switch "
        "f.batch ! queue ! dgbatchsink name=batch url=%s/v1/listen api-key=bench "
        "breaker=bench-switch-batch %s "
        "f.text ! fakesink sync=false async=false",
        failover_props.c_str(), emu.ws_url().c_str(), emu.http_url().c_str(), batch_props.c_str());
    GError *error = nullptr;
    GstElement *bin = gst_parse_bin_from_description_full(desc, FALSE, nullptr,
                                                          GST_PARSE_FLAG_PLACE_IN_BIN, &error);
    g_free(desc);
    if (!bin || error)
      g_error("cannot build the pipeline (is GST_PLUGIN_PATH set?): %s",
              error ? error->message : "?");
    pipeline_ = gst_pipeline_new(nullptr);
    gst_bin_add(GST_BIN(pipeline_), bin);
    GstBus *bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, on_message, &seen, nullptr);
    gst_object_unref(bus);
    GstElement *f = gst_bin_get_by_name(GST_BIN(bin), "f");
    GstPad *batch = gst_element_get_static_pad(f, "batch");
    gst_pad_add_probe(batch, GST_PAD_PROBE_TYPE_BUFFER, on_batch_buffer, &seen, nullptr);
    gst_object_unref(batch);
    GstPad *sinkpad = gst_element_get_static_pad(f, "sink");
    gst_object_unref(f);
    feed_ = gst_pad_new("feed", GST_PAD_SRC);
    gst_pad_set_active(feed_, TRUE);
    gst_pad_link(feed_, sinkpad);
    gst_object_unref(sinkpad);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    bench::start_feed(feed_, "bench");
    start_us_ = g_get_monotonic_time();
  }
  /* EOS, and waits (bounded) until the sinks have drained. */
  void finish() {
    if (finished_)
      return;
    finished_ = true;
    gst_pad_push_event(feed_, gst_event_new_eos());
    GstBus *bus = gst_element_get_bus(pipeline_);
    GstMessage *m = gst_bus_timed_pop_filtered(
        bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (m)
      gst_message_unref(m);
    gst_object_unref(bus);
  }
  ~Rig() {
    finish();
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_pad_set_active(feed_, FALSE);
    gst_object_unref(feed_);
    gst_object_unref(pipeline_);
  }
  Rig(const Rig &) = delete;
  Rig &operator=(const Rig &) = delete;

  /* Pushes blocks in real time until `until` (monotonic us) has passed. */
  void play_until(gint64 until) {
    static const auto kind = dgemu::sequence_pattern(kPattern);
    while (true) {
      gint64 due = start_us_ + static_cast<gint64>(block_) * kBlockMs * 1000;
      if (due >= until)
        return;
      gint64 now = g_get_monotonic_time();
      if (now < due)
        g_usleep(due - now);
      auto pcm = dgemu::sequence_blocks(16000, 1, block_, 1, kind, kBlockMs);
      GstBuffer *buf = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);
      GST_BUFFER_PTS(buf) = static_cast<uint64_t>(block_) * kBlockMs * GST_MSECOND;
      GST_BUFFER_DURATION(buf) = kBlockMs * GST_MSECOND;
      pushed_us.push_back(g_get_monotonic_time());
      gst_pad_push(feed_, buf);
      block_++;
    }
  }
  void play_for(double seconds) { play_until(g_get_monotonic_time() + gint64(seconds * 1e6)); }

  Seen seen;
  std::vector<gint64> pushed_us; /* per block */

private:
  GstElement *pipeline_ = nullptr;
  GstPad *feed_ = nullptr;
  gint64 start_us_ = 0;
  uint32_t block_ = 0;
  bool finished_ = false;
};

struct Cycle {
  double close_to_degraded_ms = -1, degraded_to_batch_ms = -1, close_to_batch_ms = -1;
  double end_to_recovered_ms = -1;
};

std::vector<Cycle> run_switches(dgemu::Emulator &emu, int cycles, double outage_s) {
  std::vector<Cycle> out;
  Rig rig(emu, "", "");
  rig.play_for(3);
  for (int c = 0; c < cycles; c++) {
    size_t degraded_before, recovered_before;
    {
      std::lock_guard<std::mutex> lock(rig.seen.mutex);
      degraded_before = rig.seen.degraded.size();
      recovered_before = rig.seen.recovered.size();
      rig.seen.first_batch = 0;
      rig.seen.armed = true;
    }
    std::string err;
    char fault[256];
    snprintf(fault, sizeof fault,
             R"({"type":"outage","api":"live","duration":%.3f,"code":1011,"reason":"NET-0000"})",
             outage_s);
    gint64 close_us = g_get_monotonic_time();
    if (emu.inject_json(fault, &err).empty())
      g_error("cannot inject the outage: %s", err.c_str());
    gint64 end_us = close_us + gint64(outage_s * 1e6);
    /* Audio on until recovered (or 15 s past the outage's end), then 2 s more. */
    Cycle cycle;
    while (g_get_monotonic_time() < end_us + 15000000) {
      rig.play_for(0.1);
      std::lock_guard<std::mutex> lock(rig.seen.mutex);
      if (rig.seen.recovered.size() > recovered_before)
        break;
    }
    rig.play_for(2);
    std::lock_guard<std::mutex> lock(rig.seen.mutex);
    rig.seen.armed = false;
    if (rig.seen.degraded.size() > degraded_before) {
      gint64 degraded = rig.seen.degraded[degraded_before];
      cycle.close_to_degraded_ms = (degraded - close_us) / 1000.0;
      if (rig.seen.first_batch) {
        cycle.degraded_to_batch_ms = (rig.seen.first_batch - degraded) / 1000.0;
        cycle.close_to_batch_ms = (rig.seen.first_batch - close_us) / 1000.0;
      }
    }
    if (rig.seen.recovered.size() > recovered_before)
      cycle.end_to_recovered_ms = (rig.seen.recovered[recovered_before] - end_us) / 1000.0;
    out.push_back(cycle);
  }
  return out;
}

struct Captions {
  std::string chunking;
  size_t words = 0, blocks = 0;
  double p50 = 0, p99 = 0, max = 0;
};

Captions run_captions(dgemu::Emulator &emu, const std::string &chunking,
                      const std::string &batch_props, double seconds) {
  Rig rig(emu, "mode=force-batch", batch_props);
  rig.play_for(seconds);
  rig.finish(); /* the last chunk's words count too */
  Captions c;
  c.chunking = chunking;
  c.blocks = rig.pushed_us.size();
  std::vector<double> latencies;
  std::lock_guard<std::mutex> lock(rig.seen.mutex);
  for (const auto &[block, at] : rig.seen.batch_words)
    if (block < rig.pushed_us.size())
      latencies.push_back((at - rig.pushed_us[block]) / 1e6);
  c.words = latencies.size();
  c.p50 = bench::percentile(latencies, 0.5);
  c.p99 = bench::percentile(latencies, 0.99);
  c.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  return c;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int cycles = 3;
  double outage_s = 3, caption_s = 90, fixed_chunk = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--cycles"))
      cycles = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--outage-seconds"))
      outage_s = g_ascii_strtod(argv[i + 1], nullptr);
    else if (!strcmp(argv[i], "--caption-seconds"))
      caption_s = g_ascii_strtod(argv[i + 1], nullptr);
    else if (!strcmp(argv[i], "--fixed-chunk"))
      fixed_chunk = g_ascii_strtod(argv[i + 1], nullptr);
  }
  if (cycles < 1 || outage_s <= 0 || caption_s <= 0 || fixed_chunk <= 0) {
    fprintf(stderr,
            "usage: %s [--cycles 3] [--outage-seconds 3] [--caption-seconds 90] "
            "[--fixed-chunk 30]\n",
            argv[0]);
    return 2;
  }
  dgemu::Emulator emu(dgemu::Options{});
  std::string err;
  if (!emu.start(&err))
    g_error("emulator: %s", err.c_str());
  bool ok = true;
  printf("| cycle | close -> stt/degraded ms | stt/degraded -> first batch buffer ms | "
         "close -> first batch buffer ms | outage end -> stt/recovered ms |\n"
         "|---|---|---|---|---|\n");
  auto cycles_out = run_switches(emu, cycles, outage_s);
  for (size_t i = 0; i < cycles_out.size(); i++) {
    const Cycle &c = cycles_out[i];
    printf("| %zu | %.1f | %.1f | %.1f | %.1f |\n", i + 1, c.close_to_degraded_ms,
           c.degraded_to_batch_ms, c.close_to_batch_ms, c.end_to_recovered_ms);
    ok = ok && c.close_to_batch_ms >= 0 && c.end_to_recovered_ms >= 0;
  }
  fflush(stdout);

  printf("\n| degraded-mode chunking | words / blocks | caption latency p50 s | p99 s | max s |\n"
         "|---|---|---|---|---|\n");
  gchar *fixed =
      g_strdup_printf("min-chunk=%u max-chunk=%u", static_cast<guint>(fixed_chunk * 1000),
                      static_cast<guint>(fixed_chunk * 1000));
  std::string fixed_name = "fixed " + std::to_string(static_cast<int>(fixed_chunk)) + " s chunks";
  for (const auto &[name, props] : std::vector<std::pair<std::string, std::string>>{
           {"pause-cut (5-30 s, defaults)", ""}, {fixed_name, fixed}}) {
    Captions c = run_captions(emu, name, props, caption_s);
    printf("| %s | %zu / %zu | %.2f | %.2f | %.2f |\n", c.chunking.c_str(), c.words, c.blocks,
           c.p50, c.p99, c.max);
    fflush(stdout);
    ok = ok && c.words == c.blocks;
  }
  g_free(fixed);
  emu.stop();
  return ok ? 0 : 1;
}
