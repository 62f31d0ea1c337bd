/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator's capacity: how many live streams sending real-time audio
 * dg-emulator holds on this machine, per engine, before its recognition
 * falls behind (docs/performance.md, "Emulator capacity").
 *
 * dg-emulator runs in its own process. For each N, N WebSocket clients in
 * this process send 16 kHz mono linear16 in 100 ms frames at the pace of the
 * wall clock (one timer feeds them all) for --seconds, then CloseStream.
 * sequence streams send sequence audio; pocketsphinx streams LibriVox speech
 * (pocketsphinx-testdata, its clips with their pauses, looped; each stream
 * starts at another point). N grows until the emulator says it is behind:
 *
 *  - its recognition_lag_peak_ms (audio received, not yet recognized) reaches
 *    --lag-limit, or a connection was counted lagging; or
 *  - its server thread ran late: server_tick_late_ms (its 20 ms timer
 *    firing late) reached 500 ms.
 *
 * Also printed: the emulator's CPU (% of one core) and recognition_rtf
 * (mean of its 1 s readings), how far the acknowledged audio (the end of the
 * last final Results) trailed the audio sent, and how long the last stream
 * took to close after CloseStream (the backlog it still had). A round where
 * this process could not keep its own pace (a frame 0.5 s late) is marked
 * "bench-limited": it says nothing about the emulator.
 *
 *   bench-emulator-capacity --emulator PATH [--engines sequence,pocketsphinx]
 *       [--sequence-streams 200,400,800,1600,3200] [--pocketsphinx-streams 1,2,4,6,8,10,12]
 *       [--seconds 15] [--lag-limit 2]
 */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench_util.h"
#include "librivox.h"
#include "sequence_audio.h"

namespace {

constexpr int kRate = 16000;
constexpr size_t kFrame = 1600; /* 100 ms */
constexpr double kFrameSeconds = 0.1;
constexpr long long kTickLateLimitMs = 500;
constexpr double kBenchSlipLimit = 0.5;

struct Options {
  std::string emulator;
  std::vector<std::string> engines{"sequence", "pocketsphinx"};
  std::vector<int> sequence_streams{200, 400, 800, 1600, 3200};
  std::vector<int> pocketsphinx_streams{1, 2, 4, 6, 8, 10, 12};
  int seconds = 15;
  double lag_limit = 2.0;
};

struct Round;

struct Stream {
  Round *round = nullptr;
  SoupWebsocketConnection *ws = nullptr;
  size_t offset = 0; /* where this stream starts in the audio, samples */
  size_t frames_sent = 0;
  double ack_lag_max = 0;
  bool failed = false;
  bool closed = false;
  gint64 closed_us = 0;
};

struct Round {
  SoupSession *session = nullptr;
  std::string ws_url, http_url;
  const std::vector<int16_t> *audio = nullptr;
  std::vector<std::unique_ptr<Stream>> streams;
  size_t next_connect = 0;
  int connected = 0, closed = 0, frames_total = 0;
  gint64 start_us = 0;
  double slip_max = 0;
  /* From the counters, every 0.5 s. */
  std::vector<double> rtf;
  long long tick_late_max = 0;
  bool polling = false;
};

double now_s() {
  return static_cast<double>(g_get_monotonic_time()) / 1e6;
}

/* utime + stime of a process, seconds. */
double process_cpu(GPid pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos)
    return 0;
  std::istringstream in(text.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; i++) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

JsonObject *counters_of(GBytes *body, JsonParser *parser) {
  gsize len = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(body, &len));
  if (!json_parser_load_from_data(parser, data, static_cast<gssize>(len), nullptr))
    return nullptr;
  JsonNode *root = json_parser_get_root(parser);
  return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
}

GBytes *http_sync(SoupSession *session, const char *method, const std::string &url) {
  SoupMessage *msg = soup_message_new(method, url.c_str());
  GBytes *body = soup_session_send_and_read(session, msg, nullptr, nullptr);
  g_object_unref(msg);
  return body;
}

void on_counters(GObject *src, GAsyncResult *res, gpointer data) {
  auto *r = static_cast<Round *>(data);
  r->polling = false;
  GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, nullptr);
  if (!body)
    return;
  JsonParser *parser = json_parser_new();
  if (JsonObject *o = counters_of(body, parser)) {
    double rtf = json_object_get_double_member(o, "recognition_rtf");
    if (rtf > 0)
      r->rtf.push_back(rtf);
    r->tick_late_max =
        std::max<long long>(r->tick_late_max, json_object_get_int_member(o, "server_tick_late_ms"));
  }
  g_object_unref(parser);
  g_bytes_unref(body);
}

void on_ws_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  JsonParser *parser = json_parser_new();
  if (JsonObject *o = counters_of(message, parser)) {
    if (json_object_has_member(o, "is_final") && json_object_get_boolean_member(o, "is_final")) {
      double acked =
          json_object_get_double_member(o, "start") + json_object_get_double_member(o, "duration");
      double sent = static_cast<double>(s->frames_sent) * kFrameSeconds;
      s->ack_lag_max = std::max(s->ack_lag_max, sent - acked);
    }
  }
  g_object_unref(parser);
}

void on_ws_closed(SoupWebsocketConnection *, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  if (!s->closed) {
    s->closed = true;
    s->closed_us = g_get_monotonic_time();
    s->round->closed++;
  }
}

void connect_next(Round *r);

void on_connected(GObject *src, GAsyncResult *res, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  GError *err = nullptr;
  s->ws = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
  if (!s->ws) {
    fprintf(stderr, "bench-emulator-capacity: connect: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    s->failed = true;
  } else {
    g_signal_connect(s->ws, "message", G_CALLBACK(on_ws_message), s);
    g_signal_connect(s->ws, "closed", G_CALLBACK(on_ws_closed), s);
  }
  s->round->connected++;
  connect_next(s->round);
}

/* A few at a time: a burst of hundreds would overflow the listen backlog. */
void connect_next(Round *r) {
  if (r->next_connect >= r->streams.size())
    return;
  Stream *s = r->streams[r->next_connect++].get();
  std::string url = r->ws_url + "/v1/listen?encoding=linear16&sample_rate=16000&channels=1";
  SoupMessage *msg = soup_message_new("GET", url.c_str());
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                               "Token bench");
  soup_session_websocket_connect_async(r->session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT,
                                       nullptr, on_connected, s);
  g_object_unref(msg);
}

/* Sends every frame that is due by now to every stream. */
gboolean feed_tick(gpointer data) {
  auto *r = static_cast<Round *>(data);
  double elapsed = static_cast<double>(g_get_monotonic_time() - r->start_us) / 1e6;
  size_t due = std::min<size_t>(static_cast<size_t>(elapsed / kFrameSeconds) + 1,
                                static_cast<size_t>(r->frames_total));
  const std::vector<int16_t> &a = *r->audio;
  for (auto &s : r->streams) {
    if (!s->ws || s->closed ||
        soup_websocket_connection_get_state(s->ws) != SOUP_WEBSOCKET_STATE_OPEN)
      continue;
    while (s->frames_sent < due) {
      size_t pos = (s->offset + s->frames_sent * kFrame) % (a.size() - kFrame);
      double late = elapsed - static_cast<double>(s->frames_sent) * kFrameSeconds;
      r->slip_max = std::max(r->slip_max, late);
      soup_websocket_connection_send_binary(s->ws, a.data() + pos, kFrame * sizeof(int16_t));
      s->frames_sent++;
    }
  }
  return G_SOURCE_CONTINUE;
}

gboolean poll_tick(gpointer data) {
  auto *r = static_cast<Round *>(data);
  if (r->polling)
    return G_SOURCE_CONTINUE;
  r->polling = true;
  SoupMessage *msg = soup_message_new("GET", (r->http_url + "/_emulator/counters").c_str());
  soup_session_send_and_read_async(r->session, msg, G_PRIORITY_DEFAULT, nullptr, on_counters, r);
  g_object_unref(msg);
  return G_SOURCE_CONTINUE;
}

void run_until(const std::function<bool()> &done, double timeout_s) {
  double deadline = now_s() + timeout_s;
  while (!done() && now_s() < deadline)
    g_main_context_iteration(nullptr, TRUE);
}

struct Row {
  std::string engine;
  int streams = 0;
  double cpu_pct = 0, rtf = 0, ack_lag_max = 0, close_max = 0;
  long long lag_peak = 0, lagging = 0, tick_late = 0;
  bool held = false, bench_limited = false, failed = false;
};

Row run_round(const Options &o, const std::string &engine, int n, int port, GPid pid,
              const std::vector<int16_t> &audio) {
  Row row;
  row.engine = engine;
  row.streams = n;
  Round r;
  r.session = soup_session_new_with_options("max-conns", 8192, "max-conns-per-host", 8192,
                                            "timeout", 120, nullptr);
  r.http_url = "http://127.0.0.1:" + std::to_string(port);
  r.ws_url = "ws://127.0.0.1:" + std::to_string(port);
  r.audio = &audio;
  r.frames_total = o.seconds * 10;
  GBytes *reset = http_sync(r.session, "POST", r.http_url + "/_emulator/reset");
  if (reset)
    g_bytes_unref(reset);

  for (int i = 0; i < n; i++) {
    auto s = std::make_unique<Stream>();
    s->round = &r;
    /* Streams start at different points so the engine hears different audio. */
    s->offset = (static_cast<size_t>(i) * 12347 * kFrame / 10) % (audio.size() - kFrame);
    r.streams.push_back(std::move(s));
  }
  for (int i = 0; i < 8; i++)
    connect_next(&r);
  run_until([&] { return r.connected == n; }, 60);
  for (auto &s : r.streams)
    row.failed = row.failed || !s->ws;

  double cpu0 = process_cpu(pid), t0 = now_s();
  r.start_us = g_get_monotonic_time();
  guint feed = g_timeout_add(20, feed_tick, &r);
  guint poll = g_timeout_add(500, poll_tick, &r);
  run_until(
      [&] {
        for (auto &s : r.streams)
          if (s->ws && !s->closed && s->frames_sent < static_cast<size_t>(r.frames_total))
            return false;
        return true;
      },
      o.seconds * 3 + 10);
  double cpu1 = process_cpu(pid), t1 = now_s();
  g_source_remove(feed);

  gint64 close_us = g_get_monotonic_time();
  int open = 0;
  row.failed = row.failed || r.closed > 0; /* the server closed some before the end */
  for (auto &s : r.streams)
    if (s->ws && !s->closed &&
        soup_websocket_connection_get_state(s->ws) == SOUP_WEBSOCKET_STATE_OPEN) {
      soup_websocket_connection_send_text(s->ws, R"({"type":"CloseStream"})");
      open++;
    }
  int closes = r.closed + open;
  run_until([&] { return r.closed >= closes; }, 120);
  g_source_remove(poll);
  run_until([&] { return !r.polling; }, 10);

  GBytes *body = http_sync(r.session, "GET", r.http_url + "/_emulator/counters");
  JsonParser *parser = json_parser_new();
  if (JsonObject *c = body ? counters_of(body, parser) : nullptr) {
    row.lag_peak = json_object_get_int_member(c, "recognition_lag_peak_ms");
    row.lagging = json_object_get_int_member(c, "lagging_connections_total");
    r.tick_late_max =
        std::max<long long>(r.tick_late_max, json_object_get_int_member(c, "server_tick_late_ms"));
  }
  g_object_unref(parser);
  if (body)
    g_bytes_unref(body);

  row.cpu_pct = 100.0 * (cpu1 - cpu0) / std::max(1e-6, t1 - t0);
  double sum = 0;
  for (double v : r.rtf)
    sum += v;
  row.rtf = r.rtf.empty() ? 0 : sum / static_cast<double>(r.rtf.size());
  row.tick_late = r.tick_late_max;
  for (auto &s : r.streams) {
    row.ack_lag_max = std::max(row.ack_lag_max, s->ack_lag_max);
    if (s->closed)
      row.close_max = std::max(row.close_max, static_cast<double>(s->closed_us - close_us) / 1e6);
    else if (s->ws)
      row.failed = true;
  }
  row.bench_limited = r.slip_max >= kBenchSlipLimit;
  row.held = !row.failed && row.lag_peak < static_cast<long long>(o.lag_limit * 1000) &&
             row.lagging == 0 && row.tick_late < kTickLateLimitMs;

  for (auto &s : r.streams)
    if (s->ws) {
      g_signal_handlers_disconnect_by_data(s->ws, s.get());
      if (soup_websocket_connection_get_state(s->ws) != SOUP_WEBSOCKET_STATE_CLOSED)
        g_io_stream_close(soup_websocket_connection_get_io_stream(s->ws), nullptr, nullptr);
      g_object_unref(s->ws);
    }
  g_object_unref(r.session);
  while (g_main_context_iteration(nullptr, FALSE)) {
  }
  return row;
}

std::vector<int16_t> sequence_audio(int seconds) {
  return dgemu::sequence_blocks(kRate, 1, 0, static_cast<uint32_t>(seconds * 10 + 10));
}

bool pocketsphinx_available(std::string *why) {
  if (!g_file_test("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin", G_FILE_TEST_EXISTS)) {
    *why = "the pocketsphinx-en-us model is not installed";
    return false;
  }
  if (librivox::utterances().empty()) {
    *why = "pocketsphinx-testdata is not installed";
    return false;
  }
  return true;
}

std::vector<std::string> split(const char *text) {
  std::vector<std::string> out;
  gchar **parts = g_strsplit(text, ",", -1);
  for (gchar **p = parts; *p; p++)
    if (**p)
      out.push_back(*p);
  g_strfreev(parts);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--emulator" && v)
      o.emulator = argv[++i];
    else if (a == "--engines" && v)
      o.engines = split(argv[++i]);
    else if (a == "--sequence-streams" && v)
      o.sequence_streams = bench::parse_list(argv[++i]);
    else if (a == "--pocketsphinx-streams" && v)
      o.pocketsphinx_streams = bench::parse_list(argv[++i]);
    else if (a == "--seconds" && v)
      o.seconds = std::max(1, atoi(argv[++i]));
    else if (a == "--lag-limit" && v)
      o.lag_limit = g_ascii_strtod(argv[++i], nullptr);
    else {
      fprintf(stderr,
              "usage: %s --emulator PATH [--engines sequence,pocketsphinx] "
              "[--sequence-streams 50,100] [--pocketsphinx-streams 1,2] [--seconds 15] "
              "[--lag-limit 2]\n",
              argv[0]);
      return 2;
    }
  }
  if (o.emulator.empty()) {
    fprintf(stderr, "bench-emulator-capacity: --emulator PATH is required\n");
    return 2;
  }

  printf("dg-emulator capacity: %d s of real-time 16 kHz mono per stream, 100 ms frames, "
         "%u processors; behind = recognition lag >= %.1f s or server tick >= %lld ms late\n\n",
         o.seconds, g_get_num_processors(), o.lag_limit, kTickLateLimitMs);
  printf("| engine | streams | emulator CPU %% of one core | recognition RTF | lag peak ms | "
         "lagging connections | server tick late max ms | ack lag max s | CloseStream -> "
         "close max s | held in real time |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  fflush(stdout);

  std::vector<std::string> summary;
  for (const std::string &engine : o.engines) {
    std::vector<int16_t> audio;
    std::vector<int> counts;
    if (engine == "sequence") {
      audio = sequence_audio(o.seconds);
      counts = o.sequence_streams;
    } else if (engine == "pocketsphinx") {
      std::string why;
      if (!pocketsphinx_available(&why)) {
        printf("| pocketsphinx | - | skipped: %s | | | | | | | |\n", why.c_str());
        continue;
      }
      audio = librivox::session(librivox::utterances()).audio;
      counts = o.pocketsphinx_streams;
    } else {
      fprintf(stderr, "bench-emulator-capacity: unknown engine %s\n", engine.c_str());
      return 2;
    }
    GPid pid = 0;
    int port =
        bench::start_emulator(o.emulator, {"--engine", engine, "--idle-timeout", "60"}, &pid);
    int held = 0;
    bool behind = false;
    for (int n : counts) {
      Row row = run_round(o, engine, n, port, pid, audio);
      const char *verdict = row.failed          ? "no (connections failed)"
                            : row.bench_limited ? "bench-limited"
                            : row.held          ? "yes"
                                                : "**no**";
      printf("| %s | %d | %.1f | %.3g | %lld | %lld | %lld | %.2f | %.2f | %s |\n", engine.c_str(),
             n, row.cpu_pct, row.rtf, row.lag_peak, row.lagging, row.tick_late, row.ack_lag_max,
             row.close_max, verdict);
      fflush(stdout);
      if (row.bench_limited)
        break;
      if (!row.held) {
        behind = true;
        break;
      }
      held = n;
    }
    bench::stop_emulator(pid);
    summary.push_back(engine + ": " + std::to_string(held) + " streams held" +
                      (behind ? " (behind at the next step)" : " (never behind in this run)"));
  }
  printf("\n");
  for (const auto &s : summary)
    printf("%s\n", s.c_str());
  return 0;
}
