/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Concurrent live streams: N dgstreamsink (or dgtranscribebin) pipelines in
 * one process, fed 16 kHz mono sequence audio in real time (100 ms buffers),
 * against a dg-emulator in another process (its CPU is not counted). With
 * --sdk-peer,
 * the official Deepgram JavaScript SDK's live client streams the same audio
 * at the same pace from one Node process (bench/sdk-peer/live_peer.js), and
 * the ratios plugin / SDK are printed.
 *
 * Prints CPU seconds per stream-minute, RSS per stream (peak while streaming
 * minus the process before), and result latency (block pushed -> final
 * result holding its word received), p50, p99 and max; a stream is behind
 * when it missed a result or its slowest one took over 2 s.
 *
 *   bench-live-streams --emulator PATH [--streams 1,10,50] [--seconds 10]
 *                      [--threads shared|per-element|both] [--feed direct|appsrc]
 *                      [--element dgstreamsink|dgtranscribebin|both] [--sdk-peer DIR]
 *
 * --element dgtranscribebin: what users run, the whole bin (failover, both
 * sinks, caption splitting) with its text pad consumed by a fakesink; its
 * results are still timed as its live sink posts them (stt/transcript).
 *
 * --feed direct (default): each sink alone in a pipeline, fed from a pad of
 * ours by the one pushing thread, as the SDK peer's one event loop feeds its
 * sockets; --feed appsrc: appsrc ! dgstreamsink, one source thread each.
 */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_feed.h"
#include "bench_util.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

namespace {

constexpr gint64 kBehindUs = 2000000;

struct Options {
  std::string emulator;
  std::vector<int> streams{1, 10, 50};
  int seconds = 10;
  std::vector<std::string> thread_modes{"shared", "per-element"};
  std::string sdk_peer; /* directory with live_peer.js and node_modules */
  bool appsrc = false;  /* feed through one appsrc (and its thread) per stream */
  std::vector<std::string> elements{"dgstreamsink"};
};

struct Stream {
  int index = 0;
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr; /* appsrc, or the sink when fed directly */
  GstPad *feed = nullptr;    /* direct feed: our pad linked to the sink's */
  std::mutex *mutex = nullptr;
  std::vector<gint64> pushed_us; /* per block */
  std::vector<double> *latencies = nullptr;
  double worst_ms = 0;
  size_t results = 0;
};

/* Reads every transcript as it is posted and drops it and every other
 * message but EOS and ERROR, as an application reading its bus would (left
 * queued, they would pile up in the bus and count as the sink's memory).
 * A sync handler that answers GST_BUS_DROP owns the message and must unref
 * it (GstBusSyncHandler's contract): not doing so leaked every result. */
GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m);
  if (!t) { /* only the end is waited for; anything else left queued would grow */
    if (GST_MESSAGE_TYPE(m) & (GST_MESSAGE_EOS | GST_MESSAGE_ERROR))
      return GST_BUS_PASS;
    gst_message_unref(m);
    return GST_BUS_DROP;
  }
  if (t->is_final) {
    gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> lock(*s->mutex);
    for (const auto &w : t->words) {
      unsigned block;
      if (sscanf(w.word.c_str(), "b%u", &block) != 1 || block >= s->pushed_us.size() ||
          s->pushed_us[block] == 0)
        continue;
      double ms = (now - s->pushed_us[block]) / 1000.0;
      s->latencies->push_back(ms);
      s->worst_ms = std::max(s->worst_ms, ms);
      s->results++;
    }
  }
  gst_message_unref(m);
  return GST_BUS_DROP;
}

/* One side's figures for one N. */
struct Row {
  std::string side;
  int streams = 0;
  double cpu_per_stream_minute = 0;
  double rss_per_stream_kib = 0;
  double p50 = 0, p99 = 0, max = 0;
  size_t results = 0;
  int behind = 0;
  bool kept_up = true;
  bool ok = false; /* the side ran at all */
};

Row run_plugin(int port, int n, int seconds, const std::string &threads, bool appsrc,
               const std::string &element) {
  bool bin = element == "dgtranscribebin";
  g_setenv("DGF_NET_THREAD", threads.c_str(), TRUE);
  std::mutex mutex;
  std::vector<double> latencies;
  std::vector<Stream> streams(n);
  std::atomic<int> connected{0};
  uint32_t blocks = static_cast<uint32_t>(seconds * 10);
  long rss_before = bench::rss_kib();
  for (int i = 0; i < n; i++) {
    /* linear16: the SDK peer sends raw PCM, so both put the same audio on
     * the wire. The bin: every other property its default, its captions
     * taken as fast as they come. */
    gchar *desc =
        bin ? g_strdup_printf(
                  "%sdgtranscribebin name=sink stream-url=ws://127.0.0.1:%d/v1/listen "
                  "batch-url=http://127.0.0.1:%d/v1/listen api-key=bench breaker=bench-%d "
                  "batch-breaker=bench-batch-%d encoding=linear16 ! fakesink sync=false",
                  appsrc ? "appsrc name=src format=time is-live=true "
                           "caps=audio/x-raw,format=S16LE,layout=interleaved,rate=16000,"
                           "channels=1 ! "
                         : "",
                  port, port, i, i)
            : g_strdup_printf(
                  "%sdgstreamsink name=sink url=ws://127.0.0.1:%d/v1/listen api-key=bench "
                  "breaker=bench-%d finalize-timeout=5000 encoding=linear16",
                  appsrc ? "appsrc name=src format=time is-live=true "
                           "caps=audio/x-raw,format=S16LE,layout=interleaved,rate=16000,"
                           "channels=1 ! "
                         : "",
                  port, i);
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_bin_from_description_full(desc, FALSE, nullptr,
                                                               GST_PARSE_FLAG_PLACE_IN_BIN, &error);
    g_free(desc);
    if (pipeline && !GST_IS_PIPELINE(pipeline)) {
      /* A bin: give it a pipeline (its own bus and clock). */
      GstElement *bin = pipeline;
      pipeline = gst_pipeline_new(nullptr);
      gst_bin_add(GST_BIN(pipeline), bin);
    }
    if (error || !pipeline)
      g_error("cannot build the pipeline (is GST_PLUGIN_PATH set?): %s",
              error ? error->message : "no dgstreamsink");
    Stream &s = streams[i];
    s.index = i;
    s.pipeline = pipeline;
    s.src = gst_bin_get_by_name(GST_BIN(pipeline), appsrc ? "src" : "sink");
    s.mutex = &mutex;
    s.pushed_us.assign(blocks, 0);
    s.latencies = &latencies;
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, on_message, &s, nullptr);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    if (!appsrc) {
      GstElement *live =
          bin ? gst_bin_get_by_name(GST_BIN(s.src), "stream") : GST_ELEMENT(gst_object_ref(s.src));
      s.feed = bench::make_live_feed(s.src, live, i, &connected);
      gst_object_unref(live);
    }
  }
  double cpu0 = bench::cpu_seconds();
  /* Direct feed: connect every stream before the first block, as the SDK
   * peer opens its sockets (waitForOpen) before streaming. The connects are
   * in the CPU figure on both sides. */
  if (!appsrc) {
    for (auto &s : streams)
      gst_pad_push_event(s.feed, dgf::stt::make_event(dgf::stt::Reconnect{}));
    gint64 t0 = g_get_monotonic_time(), deadline = t0 + 30 * G_USEC_PER_SEC, said = t0;
    while (connected.load() < n && g_get_monotonic_time() < deadline) {
      g_usleep(5000);
      if (g_get_monotonic_time() - said >= 5 * G_USEC_PER_SEC) {
        said = g_get_monotonic_time();
        fprintf(stderr, "%d of %d streams connected after %.0f s\n", connected.load(), n,
                (said - t0) / 1e6);
      }
    }
    if (connected.load() < n)
      g_error("only %d of %d streams connected", connected.load(), n);
  }
  long rss_peak = bench::rss_kib();
  gint64 start = g_get_monotonic_time();
  bool kept_up = true;
  for (uint32_t b = 0; b < blocks; b++) {
    gint64 due = start + static_cast<gint64>(b) * 100000;
    gint64 now = g_get_monotonic_time();
    if (now < due)
      g_usleep(due - now);
    else if (now - due > 100000)
      kept_up = false; /* more than one buffer late: not real time any more */
    /* One buffer per block, shared by every stream (sinks only read it), as
     * the SDK peer sends one Buffer's view to every socket. */
    auto pcm = dgemu::sequence_blocks(16000, 1, b, 1);
    GstBuffer *block = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);
    GST_BUFFER_PTS(block) = b * 100 * GST_MSECOND;
    GST_BUFFER_DURATION(block) = 100 * GST_MSECOND;
    for (auto &s : streams) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        s.pushed_us[b] = g_get_monotonic_time();
      }
      if (s.feed)
        gst_pad_push(s.feed, gst_buffer_ref(block));
      else
        gst_app_src_push_buffer(GST_APP_SRC(s.src), gst_buffer_ref(block));
    }
    gst_buffer_unref(block);
    if (b % 10 == 9) /* once a second: reading /proc costs as much as a buffer */
      rss_peak = std::max(rss_peak, bench::rss_kib());
  }
  /* EOS on every stream at once (a sink's EOS waits for its last results). */
  std::vector<std::thread> eos;
  for (auto &s : streams) {
    if (s.feed)
      eos.emplace_back([&s] { gst_pad_push_event(s.feed, gst_event_new_eos()); });
    else
      gst_app_src_end_of_stream(GST_APP_SRC(s.src));
  }
  for (auto &t : eos)
    t.join();
  for (auto &s : streams) {
    GstBus *bus = gst_element_get_bus(s.pipeline);
    GstMessage *m = gst_bus_timed_pop_filtered(
        bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (m)
      gst_message_unref(m);
    gst_object_unref(bus);
  }
  double cpu = bench::cpu_seconds() - cpu0;
  Row row;
  row.side = (bin ? std::string("dgtranscribebin (") : std::string("plugin (")) + threads +
             " thread" + (appsrc ? ", appsrc" : "") + ")";
  row.streams = n;
  row.cpu_per_stream_minute = cpu / n / (seconds / 60.0);
  row.rss_per_stream_kib = double(rss_peak - rss_before) / n;
  row.p50 = bench::percentile(latencies, 0.5);
  row.p99 = bench::percentile(latencies, 0.99);
  row.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  row.results = latencies.size();
  for (auto &s : streams)
    if (s.results < blocks || s.worst_ms > kBehindUs / 1000.0)
      row.behind++;
  row.kept_up = kept_up;
  row.ok = true;
  for (auto &s : streams) {
    gst_element_set_state(s.pipeline, GST_STATE_NULL);
    if (s.feed) {
      gst_pad_set_active(s.feed, FALSE);
      gst_object_unref(s.feed);
    }
    gst_object_unref(s.src);
    gst_object_unref(s.pipeline);
  }
  return row;
}

/* The same audio, pace and figures through the official SDK (live_peer.js). */
Row run_sdk(const std::string &peer_dir, const std::string &pcm_path, int port, int n,
            int seconds) {
  Row row;
  row.side = "Deepgram JS SDK";
  row.streams = n;
  std::string ws = "ws://127.0.0.1:" + std::to_string(port);
  std::string script = peer_dir + "/live_peer.js";
  std::string n_text = std::to_string(n), s_text = std::to_string(seconds);
  const char *argv[] = {"node",         script.c_str(), ws.c_str(), pcm_path.c_str(),
                        n_text.c_str(), s_text.c_str(), nullptr};
  std::string out;
  if (!bench::run_capture(argv, peer_dir.c_str(), &out)) {
    fprintf(stderr, "SDK peer failed for %d streams\n", n);
    return row;
  }
  double cpu = 0, rss = 0;
  int late = 0;
  if (sscanf(out.c_str(),
             "cpu_s=%lf rss_kib=%lf p50_ms=%lf p99_ms=%lf max_ms=%lf results=%zu behind=%d "
             "late_ticks=%d",
             &cpu, &rss, &row.p50, &row.p99, &row.max, &row.results, &row.behind, &late) != 8) {
    fprintf(stderr, "SDK peer printed: %s\n", out.c_str());
    return row;
  }
  row.cpu_per_stream_minute = cpu / n / (seconds / 60.0);
  row.rss_per_stream_kib = rss / n;
  row.kept_up = late == 0;
  row.ok = true;
  return row;
}

void print_row(const Row &r) {
  printf("| %s | %d | %.4f | %.0f | %.1f | %.1f | %.1f | %zu | %d | %s |\n", r.side.c_str(),
         r.streams, r.cpu_per_stream_minute, r.rss_per_stream_kib, r.p50, r.p99, r.max, r.results,
         r.behind, r.kept_up && r.behind == 0 ? "yes" : "NO");
  fflush(stdout);
}

double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  bool bad = argc % 2 == 0; /* every option takes a value */
  auto one_of = [](const char *v, std::initializer_list<const char *> allowed) {
    for (const char *a : allowed)
      if (!strcmp(v, a))
        return true;
    return false;
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--emulator"))
      o.emulator = argv[i + 1];
    else if (!strcmp(argv[i], "--streams"))
      o.streams = bench::parse_list(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds"))
      o.seconds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--sdk-peer")) {
      gchar *dir = g_canonicalize_filename(argv[i + 1], nullptr);
      o.sdk_peer = dir;
      g_free(dir);
    } else if (!strcmp(argv[i], "--element") &&
               one_of(argv[i + 1], {"dgstreamsink", "dgtranscribebin", "both"}))
      o.elements = strcmp(argv[i + 1], "both")
                       ? std::vector<std::string>{argv[i + 1]}
                       : std::vector<std::string>{"dgstreamsink", "dgtranscribebin"};
    else if (!strcmp(argv[i], "--threads") &&
             one_of(argv[i + 1], {"shared", "per-element", "both"}))
      o.thread_modes = strcmp(argv[i + 1], "both")
                           ? std::vector<std::string>{argv[i + 1]}
                           : std::vector<std::string>{"shared", "per-element"};
    else if (!strcmp(argv[i], "--feed") && one_of(argv[i + 1], {"direct", "appsrc"}))
      o.appsrc = !strcmp(argv[i + 1], "appsrc");
    else
      bad = true; /* unknown option or value */
  }
  if (bad || o.emulator.empty() || o.seconds < 1) {
    fprintf(stderr,
            "usage: %s --emulator PATH [--streams 1,10,50] [--seconds N] "
            "[--threads shared|per-element|both] [--feed direct|appsrc] "
            "[--element dgstreamsink|dgtranscribebin|both] [--sdk-peer DIR]\n",
            argv[0]);
    return 2;
  }
  GPid pid;
  int port = bench::start_emulator(o.emulator, {}, &pid);
  std::string pcm_path;
  if (!o.sdk_peer.empty()) {
    pcm_path = o.sdk_peer + "/sequence.pcm";
    auto pcm = dgemu::sequence_blocks(16000, 1, 0, static_cast<uint32_t>(o.seconds * 10));
    if (!g_file_set_contents(pcm_path.c_str(), reinterpret_cast<const char *>(pcm.data()),
                             pcm.size() * 2, nullptr))
      g_error("cannot write %s", pcm_path.c_str());
  }
  printf("| side | streams | CPU s per stream-minute | RSS KiB per stream | latency p50 ms | "
         "latency p99 ms | latency max ms | results | streams behind | real time |\n"
         "|---|---|---|---|---|---|---|---|---|---|\n");
  /* Warm-up, not printed: the first pipeline loads GStreamer's plugins,
   * libsoup and TLS once per process (the SDK peer's baseline is taken after
   * Node has loaded its modules). */
  for (const auto &mode : o.thread_modes)
    for (const auto &element : o.elements)
      run_plugin(port, 1, 1, mode, o.appsrc, element);
  bool all_ok = true;
  /* Per N: each element's first row (its first thread mode), and the SDK's. */
  std::map<int, std::map<std::string, Row>> rows;
  for (int n : o.streams) {
    for (const auto &element : o.elements)
      for (const auto &mode : o.thread_modes) {
        Row r = run_plugin(port, n, o.seconds, mode, o.appsrc, element);
        print_row(r);
        all_ok = all_ok && r.results == static_cast<size_t>(n) * o.seconds * 10;
        rows[n].emplace(element, r);
      }
    if (!o.sdk_peer.empty()) {
      Row sdk = run_sdk(o.sdk_peer, pcm_path, port, n, o.seconds);
      if (sdk.ok) {
        print_row(sdk);
        rows[n].emplace("sdk", sdk);
      }
      all_ok = all_ok && sdk.ok && sdk.results == static_cast<size_t>(n) * o.seconds * 10;
    }
  }
  auto compare = [&](const std::string &a, const std::string &b, const char *a_name,
                     const char *b_name) {
    bool header = false;
    for (auto &[n, by] : rows) {
      if (!by.count(a) || !by.count(b))
        continue;
      if (!header)
        printf("\n| streams | CPU %s / %s | RSS %s / %s | p50 %s / %s | p99 %s / %s |\n"
               "|---|---|---|---|---|\n",
               a_name, b_name, a_name, b_name, a_name, b_name, a_name, b_name);
      header = true;
      const Row &p = by[a], &q = by[b];
      printf("| %d | %.2f | %.2f | %.2f | %.2f |\n", n,
             ratio(p.cpu_per_stream_minute, q.cpu_per_stream_minute),
             ratio(p.rss_per_stream_kib, q.rss_per_stream_kib), ratio(p.p50, q.p50),
             ratio(p.p99, q.p99));
    }
  };
  compare("dgstreamsink", "sdk", "plugin", "SDK");
  compare("dgtranscribebin", "sdk", "bin", "SDK");
  compare("dgtranscribebin", "dgstreamsink", "bin", "sink");
  bench::stop_emulator(pid);
  return all_ok ? 0 : 1;
}
