/* Concurrent live streams: N dgstreamsink pipelines in one process, fed
 * 16 kHz mono sequence audio in real time (100 ms buffers), against a
 * dg-emulator in another process (its CPU is not counted).
 *
 * Prints CPU seconds per stream-minute, RSS per stream, and result latency
 * (buffer pushed -> final result for its block received), p50 and p99.
 *
 *   bench-live-streams --emulator PATH [--streams 1,10,50] [--seconds 10]
 *                      [--threads shared|per-element|both]
 */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sequence_audio.h"
#include "stt_protocol.h"

namespace {

struct Options {
  std::string emulator;
  std::vector<int> streams{1, 10, 50};
  int seconds = 10;
  std::vector<std::string> thread_modes{"shared", "per-element"};
};

struct Latencies {
  std::mutex mutex;
  std::map<std::pair<int, uint32_t>, gint64> pushed_us; /* (stream, block) -> push time */
  std::vector<double> ms;
};

struct Stream {
  int index;
  GstElement *pipeline;
  GstElement *src;
  Latencies *latencies;
};

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long rss_kib() {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m);
  if (t && t->is_final) {
    gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> lock(s->latencies->mutex);
    for (const auto &w : t->words) {
      unsigned block;
      if (sscanf(w.word.c_str(), "b%u", &block) != 1)
        continue;
      auto it = s->latencies->pushed_us.find({s->index, block});
      if (it != s->latencies->pushed_us.end())
        s->latencies->ms.push_back((now - it->second) / 1000.0);
    }
  }
  return GST_BUS_PASS;
}

/* Starts dg-emulator and returns its port. */
int start_emulator(const std::string &path, GPid *pid) {
  gchar *argv[] = {(gchar *)path.c_str(), (gchar *)"--port", (gchar *)"0", nullptr};
  gint out_fd;
  GError *error = nullptr;
  if (!g_spawn_async_with_pipes(nullptr, argv, nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, pid,
                                nullptr, &out_fd, nullptr, &error))
    g_error("cannot start %s: %s", path.c_str(), error->message);
  FILE *f = fdopen(out_fd, "r");
  char line[512];
  int port = 0;
  if (!fgets(line, sizeof line, f) || sscanf(line, "DG_EMULATOR_READY port=%d", &port) != 1)
    g_error("dg-emulator did not report ready");
  return port;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

struct Row {
  std::string threads;
  int streams;
  double cpu_per_stream_minute;
  double rss_per_stream_kib;
  double p50, p99;
  size_t results;
  bool kept_up;
};

Row run(int port, int n, int seconds, const std::string &threads) {
  g_setenv("DGF_NET_THREAD", threads.c_str(), TRUE);
  Latencies latencies;
  std::vector<Stream> streams(n);
  long rss_before = rss_kib();
  for (int i = 0; i < n; i++) {
    gchar *desc = g_strdup_printf(
        "appsrc name=src format=time is-live=true "
        "caps=audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1 ! "
        "dgstreamsink url=ws://127.0.0.1:%d/v1/listen api-key=bench breaker=bench-%d "
        "finalize-timeout=5000",
        port, i);
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(desc, &error);
    g_free(desc);
    if (error || !GST_IS_BIN(pipeline))
      g_error("cannot build the pipeline (is GST_PLUGIN_PATH set?): %s",
              error ? error->message : "no dgstreamsink");
    streams[i] = Stream{i, pipeline, nullptr, &latencies};
    streams[i].src = gst_bin_get_by_name(GST_BIN(streams[i].pipeline), "src");
    GstBus *bus = gst_element_get_bus(streams[i].pipeline);
    gst_bus_set_sync_handler(bus, on_message, &streams[i], nullptr);
    gst_object_unref(bus);
    gst_element_set_state(streams[i].pipeline, GST_STATE_PLAYING);
  }
  double cpu0 = cpu_seconds();
  gint64 start = g_get_monotonic_time();
  uint32_t blocks = static_cast<uint32_t>(seconds * 10);
  bool kept_up = true;
  for (uint32_t b = 0; b < blocks; b++) {
    gint64 due = start + static_cast<gint64>(b) * 100000;
    gint64 now = g_get_monotonic_time();
    if (now < due)
      g_usleep(due - now);
    else if (now - due > 100000)
      kept_up = false; /* more than one buffer late: not real time any more */
    auto pcm = dgemu::sequence_blocks(16000, 1, b, 1);
    for (auto &s : streams) {
      GstBuffer *buf = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);
      GST_BUFFER_PTS(buf) = b * 100 * GST_MSECOND;
      GST_BUFFER_DURATION(buf) = 100 * GST_MSECOND;
      {
        std::lock_guard<std::mutex> lock(latencies.mutex);
        latencies.pushed_us[{s.index, b}] = g_get_monotonic_time();
      }
      gst_app_src_push_buffer(GST_APP_SRC(s.src), buf);
    }
  }
  for (auto &s : streams)
    gst_app_src_end_of_stream(GST_APP_SRC(s.src));
  for (auto &s : streams) {
    GstBus *bus = gst_element_get_bus(s.pipeline);
    GstMessage *m = gst_bus_timed_pop_filtered(
        bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (m)
      gst_message_unref(m);
    gst_object_unref(bus);
  }
  double cpu = cpu_seconds() - cpu0;
  long rss_after = rss_kib();
  Row row{threads,
          n,
          cpu / n / (seconds / 60.0),
          double(rss_after - rss_before) / n,
          percentile(latencies.ms, 0.5),
          percentile(latencies.ms, 0.99),
          latencies.ms.size(),
          kept_up};
  for (auto &s : streams) {
    gst_element_set_state(s.pipeline, GST_STATE_NULL);
    gst_object_unref(s.src);
    gst_object_unref(s.pipeline);
  }
  return row;
}

std::vector<int> parse_list(const char *text) {
  std::vector<int> out;
  gchar **parts = g_strsplit(text, ",", -1);
  for (gchar **p = parts; *p; p++)
    out.push_back(atoi(*p));
  g_strfreev(parts);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--emulator"))
      o.emulator = argv[i + 1];
    else if (!strcmp(argv[i], "--streams"))
      o.streams = parse_list(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds"))
      o.seconds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads"))
      o.thread_modes = strcmp(argv[i + 1], "both")
                           ? std::vector<std::string>{argv[i + 1]}
                           : std::vector<std::string>{"shared", "per-element"};
  }
  if (o.emulator.empty() || o.seconds < 1) {
    fprintf(stderr,
            "usage: %s --emulator PATH [--streams 1,10,50] [--seconds N] "
            "[--threads shared|per-element|both]\n",
            argv[0]);
    return 2;
  }
  GPid pid;
  int port = start_emulator(o.emulator, &pid);
  printf("| threads | streams | CPU s per stream-minute | RSS KiB per stream | latency p50 ms | "
         "latency p99 ms | results | real time |\n|---|---|---|---|---|---|---|---|\n");
  bool all_ok = true;
  for (int n : o.streams)
    for (const auto &mode : o.thread_modes) {
      Row r = run(port, n, o.seconds, mode);
      printf("| %s | %d | %.3f | %.0f | %.1f | %.1f | %zu | %s |\n", r.threads.c_str(), r.streams,
             r.cpu_per_stream_minute, r.rss_per_stream_kib, r.p50, r.p99, r.results,
             r.kept_up ? "yes" : "NO");
      fflush(stdout);
      all_ok = all_ok && r.results == static_cast<size_t>(n) * o.seconds * 10;
    }
  kill(pid, SIGTERM);
  g_spawn_close_pid(pid);
  return all_ok ? 0 : 1;
}
