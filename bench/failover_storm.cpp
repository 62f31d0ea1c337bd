/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The failover storm: N dgtranscribebin pipelines in one process, fed
 * live-paced sequence audio (100 ms blocks), against a dg-emulator in its own
 * process; at --outage-at the live API goes down for all of them at once
 * (the emulator's outage fault: open connections reset, handshakes refused
 * 503) for --outage seconds, then returns.
 *
 * Prints, per run: how soon each stream reached the batch branch after the
 * close (stt/degraded), how hard the live API was knocked during the outage
 * (handshakes per second from the emulator's counters), how the pre-recorded
 * API was loaded (requests, 429s from --batch-concurrency, peak in flight,
 * and per stream the lateness of its outage audio's captions: a stream whose
 * backlog waits behind another's shows as a long tail), the recovery spread
 * (stt/recovered after the restore), peak RSS, and whether every block's
 * word reached the text pad exactly once or was reported dropped.
 *
 *   bench-failover-storm --emulator PATH [--streams 1000] [--seconds 80]
 *                        [--outage-at 20] [--outage 30] [--batch-concurrency 0]
 *                        [--breaker shared|per-pipeline] [--pattern SSSS....]
 *
 * --breaker shared (default): every pipeline names the same breakers
 * (breaker=storm, batch-breaker=storm-batch), one per API per process, as
 * docs/runbook.md advises for many streams; per-pipeline: each pipeline's
 * own (the default property, shared inside the pipeline by GstContext).
 */
#include <gst/gst.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
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

constexpr gint64 kBlockUs = 100000;

struct Options {
  std::string emulator;
  int streams = 1000;
  int seconds = 80;
  int outage_at = 20;
  int outage = 30;
  int batch_concurrency = 0;
  bool shared_breaker = true;
  /* Speech with a pause every few seconds, as people talk: the batch sink
   * cuts its chunks at pauses (sequence-audio.md's pattern letters). */
  std::string pattern = "SSSSSSSSSSSSSSSSSSSSSSSSSS....";
};

/* What one pipeline saw. Written by streaming and bus threads, read after
 * the run. */
struct Stream {
  int index = 0;
  GstElement *pipeline = nullptr;
  GstElement *bin = nullptr;
  GstPad *feed = nullptr;
  std::mutex mutex;
  std::vector<uint16_t> seen;                    /* per block: times its word left the text pad */
  std::vector<gint64> arrived_us;                /* per block: when it first did */
  std::vector<bool> dropped;                     /* per block: reported by stt/audio-dropped */
  std::map<std::string, long long> drop_reasons; /* blocks per reason */
  /* The first of each after the outage's start. */
  gint64 degraded_us = 0, reconnected_us = 0, recovered_us = 0;
  int degrades = 0, recoveries = 0, warnings = 0, errors = 0;
  std::string first_error;
};

gint64 g_outage_start_us = 0; /* set before the outage, read by bus handlers */

GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(s->mutex);
  if (dgf::stt::parse<dgf::stt::Degraded>(m)) {
    s->degrades++;
    if (!s->degraded_us && g_outage_start_us && now >= g_outage_start_us)
      s->degraded_us = now;
  } else if (dgf::stt::parse<dgf::stt::Recovered>(m)) {
    s->recoveries++;
    if (s->degraded_us && !s->recovered_us)
      s->recovered_us = now;
  } else if (auto d = dgf::stt::parse<dgf::stt::AudioDropped>(m)) {
    uint64_t first = d->start / (kBlockUs * 1000),
             end = (d->start + d->duration) / (kBlockUs * 1000);
    for (uint64_t b = first; b < end && b < s->dropped.size(); b++)
      s->dropped[b] = true;
    s->drop_reasons[d->reason] += static_cast<long long>(end - first);
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING) {
    s->warnings++;
  } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    if (!s->errors++) {
      GError *e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      s->first_error = e ? e->message : "";
      g_clear_error(&e);
    }
  }
  if (GST_MESSAGE_TYPE(m) & (GST_MESSAGE_EOS | GST_MESSAGE_ERROR))
    return GST_BUS_PASS; /* waited for after the run */
  gst_message_unref(m);  /* GST_BUS_DROP owns it */
  return GST_BUS_DROP;
}

/* The live sink's first new connection after the outage began. */
GstPadProbeReturn on_connected(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  auto health = dgf::stt::parse<dgf::stt::Health>(GST_PAD_PROBE_INFO_EVENT(info));
  gint64 now = g_get_monotonic_time();
  if (health && health->healthy && health->reason == "connected" && g_outage_start_us &&
      now > g_outage_start_us) {
    std::lock_guard<std::mutex> lock(s->mutex);
    if (!s->reconnected_us)
      s->reconnected_us = now;
  }
  return GST_PAD_PROBE_OK;
}

/* Each caption's words ("b000123 b000124 ...") counted per block. */
GstPadProbeReturn on_caption(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *s = static_cast<Stream *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (!buf || !gst_buffer_map(buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  std::string text(reinterpret_cast<const char *>(map.data), map.size);
  gst_buffer_unmap(buf, &map);
  gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> lock(s->mutex);
  for (size_t at = text.find('b'); at != std::string::npos; at = text.find('b', at + 1)) {
    unsigned block;
    if (sscanf(text.c_str() + at, "b%6u", &block) == 1 && block < s->seen.size()) {
      if (!s->seen[block]++)
        s->arrived_us[block] = now;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* The emulator's counters, sampled through the run. */
struct Sample {
  gint64 t_us = 0;
  long long handshakes = 0; /* live_accepted + live_refused */
  long long batch_requests = 0, batch_throttled = 0, batch_in_flight_peak = 0;
};

JsonObject *get_counters(SoupSession *session, const std::string &url, JsonParser *parser) {
  SoupMessage *msg = soup_message_new("GET", (url + "/_emulator/counters").c_str());
  GBytes *body = soup_session_send_and_read(session, msg, nullptr, nullptr);
  g_object_unref(msg);
  if (!body)
    return nullptr;
  gsize len = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(body, &len));
  bool ok = json_parser_load_from_data(parser, data, static_cast<gssize>(len), nullptr);
  g_bytes_unref(body);
  JsonNode *root = ok ? json_parser_get_root(parser) : nullptr;
  return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
}

bool post_fault(SoupSession *session, const std::string &url, const std::string &fault) {
  SoupMessage *msg = soup_message_new("POST", (url + "/_emulator/faults").c_str());
  GBytes *b = g_bytes_new(fault.data(), fault.size());
  soup_message_set_request_body_from_bytes(msg, "application/json", b);
  g_bytes_unref(b);
  GBytes *body = soup_session_send_and_read(session, msg, nullptr, nullptr);
  bool ok = body && soup_message_get_status(msg) == 200;
  if (body)
    g_bytes_unref(body);
  g_object_unref(msg);
  return ok;
}

/* Samples the counters every 250 ms from `start_us` until *stop; starts the
 * outage at its time and stamps g_outage_start_us. */
void watch_emulator(const std::string &url, const Options &o, gint64 start_us,
                    std::atomic<bool> *stop, std::vector<Sample> *samples) {
  SoupSession *session = soup_session_new();
  JsonParser *parser = json_parser_new();
  bool injected = false;
  while (!stop->load()) {
    gint64 now = g_get_monotonic_time();
    if (!injected && now >= start_us + o.outage_at * G_USEC_PER_SEC) {
      injected = true;
      g_outage_start_us = g_get_monotonic_time();
      std::string fault =
          "{\"type\":\"outage\",\"api\":\"live\",\"duration\":" + std::to_string(o.outage) + "}";
      if (!post_fault(session, url, fault))
        g_error("the emulator refused the outage fault");
    }
    if (JsonObject *c = get_counters(session, url, parser)) {
      auto num = [c](const char *name) { return json_object_get_int_member(c, name); };
      samples->push_back(Sample{now, num("live_accepted") + num("live_refused"),
                                num("batch_ok") + num("batch_failed"), num("batch_throttled"),
                                num("batch_in_flight_peak")});
    }
    g_usleep(250000);
  }
  g_object_unref(parser);
  g_object_unref(session);
}

double seconds_between(gint64 from_us, gint64 to_us) {
  return (to_us - from_us) / 1e6;
}

std::string quantiles(std::vector<double> v) {
  if (v.empty())
    return "-";
  char text[96];
  snprintf(text, sizeof text, "%.2f / %.2f / %.2f", bench::percentile(v, 0.5),
           bench::percentile(v, 0.99), *std::max_element(v.begin(), v.end()));
  return text;
}

GstElement *make_pipeline(int port, int index, bool shared_breaker) {
  std::string breakers = shared_breaker ? "breaker=storm batch-breaker=storm-batch"
                                        : ""; /* the pipeline's own, through GstContext */
  gchar *desc =
      g_strdup_printf("dgtranscribebin name=bin stream-url=ws://127.0.0.1:%d/v1/listen "
                      "batch-url=http://127.0.0.1:%d/v1/listen api-key=bench encoding=linear16 %s "
                      "! fakesink name=text sync=false",
                      port, port, breakers.c_str());
  GError *error = nullptr;
  GstElement *bin =
      gst_parse_bin_from_description_full(desc, FALSE, nullptr, GST_PARSE_FLAG_NONE, &error);
  g_free(desc);
  if (error || !bin)
    g_error("cannot build the pipeline (is GST_PLUGIN_PATH set?): %s",
            error ? error->message : "no dgtranscribebin");
  (void)index;
  GstElement *pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), bin);
  return pipeline;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  bool bad = argc % 2 == 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--emulator"))
      o.emulator = v;
    else if (!strcmp(k, "--streams"))
      o.streams = atoi(v);
    else if (!strcmp(k, "--seconds"))
      o.seconds = atoi(v);
    else if (!strcmp(k, "--outage-at"))
      o.outage_at = atoi(v);
    else if (!strcmp(k, "--outage"))
      o.outage = atoi(v);
    else if (!strcmp(k, "--batch-concurrency"))
      o.batch_concurrency = atoi(v);
    else if (!strcmp(k, "--pattern"))
      o.pattern = v;
    else if (!strcmp(k, "--breaker") && (!strcmp(v, "shared") || !strcmp(v, "per-pipeline")))
      o.shared_breaker = !strcmp(v, "shared");
    else
      bad = true;
  }
  if (bad || o.emulator.empty() || o.streams < 1 || o.outage < 1 || o.outage_at < 1 ||
      o.seconds < o.outage_at + o.outage + 5 || o.batch_concurrency < 0) {
    fprintf(stderr,
            "usage: %s --emulator PATH [--streams N] [--seconds S] [--outage-at S] "
            "[--outage S] [--batch-concurrency N] [--breaker shared|per-pipeline] "
            "[--pattern SSSS....]\n"
            "(--seconds must leave 5 s after the outage)\n",
            argv[0]);
    return 2;
  }
  std::vector<std::string> extra;
  if (o.batch_concurrency)
    extra = {"--batch-concurrency", std::to_string(o.batch_concurrency)};
  GPid pid;
  int port = bench::start_emulator(o.emulator, extra, &pid);
  std::string http_url = "http://127.0.0.1:" + std::to_string(port);
  g_setenv("DGF_NET_THREAD", "shared", TRUE);

  uint32_t blocks = static_cast<uint32_t>(o.seconds * 10);
  long rss_before = bench::rss_kib();
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<int> connected{0};
  for (int i = 0; i < o.streams; i++) {
    auto s = std::make_unique<Stream>();
    s->index = i;
    s->seen.assign(blocks, 0);
    s->arrived_us.assign(blocks, 0);
    s->dropped.assign(blocks, false);
    s->pipeline = make_pipeline(port, i, o.shared_breaker);
    s->bin = gst_bin_get_by_name(GST_BIN(s->pipeline), "bin");
    GstElement *text = gst_bin_get_by_name(GST_BIN(s->pipeline), "text");
    GstPad *text_pad = gst_element_get_static_pad(text, "sink");
    gst_pad_add_probe(text_pad, GST_PAD_PROBE_TYPE_BUFFER, on_caption, s.get(), nullptr);
    gst_object_unref(text_pad);
    gst_object_unref(text);
    GstBus *bus = gst_element_get_bus(s->pipeline);
    gst_bus_set_sync_handler(bus, on_message, s.get(), nullptr);
    gst_object_unref(bus);
    gst_element_set_state(s->pipeline, GST_STATE_PLAYING);
    GstElement *live = gst_bin_get_by_name(GST_BIN(s->bin), "stream");
    s->feed = bench::make_live_feed(s->bin, live, i, &connected);
    GstPad *live_pad = gst_element_get_static_pad(live, "sink");
    gst_pad_add_probe(live_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_connected, s.get(), nullptr);
    gst_object_unref(live_pad);
    gst_object_unref(live);
    streams.push_back(std::move(s));
  }
  for (auto &s : streams)
    gst_pad_push_event(s->feed, dgf::stt::make_event(dgf::stt::Reconnect{}));
  gint64 t0 = g_get_monotonic_time();
  while (connected.load() < o.streams && g_get_monotonic_time() < t0 + 60 * G_USEC_PER_SEC)
    g_usleep(10000);
  if (connected.load() < o.streams)
    g_error("only %d of %d streams connected", connected.load(), o.streams);
  fprintf(stderr, "%d streams connected in %.1f s\n", o.streams,
          seconds_between(t0, g_get_monotonic_time()));

  gint64 start = g_get_monotonic_time();
  std::atomic<bool> stop{false};
  std::vector<Sample> samples;
  std::thread watcher(watch_emulator, http_url, std::cref(o), start, &stop, &samples);
  std::vector<gint64> pushed_us(blocks, 0);
  auto kinds = dgemu::sequence_pattern(o.pattern);
  long rss_peak = bench::rss_kib();
  int late_blocks = 0;
  for (uint32_t b = 0; b < blocks; b++) {
    gint64 due = start + static_cast<gint64>(b) * kBlockUs;
    gint64 now = g_get_monotonic_time();
    if (now < due)
      g_usleep(due - now);
    else if (now - due > kBlockUs)
      late_blocks++; /* the feed itself fell behind real time */
    auto pcm = dgemu::sequence_blocks(16000, 1, b, 1, kinds);
    pushed_us[b] = g_get_monotonic_time();
    for (auto &s : streams) {
      /* A buffer of its own per stream, as from a source each: one memory
       * mapped by more than 255 threads at once breaks GstMiniObject's lock
       * count (the batch sinks map it together after a failover). */
      GstBuffer *block = gst_buffer_new_memdup(pcm.data(), pcm.size() * 2);
      GST_BUFFER_PTS(block) = b * kBlockUs * 1000;
      GST_BUFFER_DURATION(block) = kBlockUs * 1000;
      gst_pad_push(s->feed, block);
    }
    if (b % 10 == 9)
      rss_peak = std::max(rss_peak, bench::rss_kib());
  }
  gint64 fed_us = g_get_monotonic_time();
  std::vector<std::thread> eos;
  for (auto &s : streams)
    eos.emplace_back([&s] { gst_pad_push_event(s->feed, gst_event_new_eos()); });
  for (auto &t : eos)
    t.join();
  int no_eos = 0;
  for (auto &s : streams) {
    GstBus *bus = gst_element_get_bus(s->pipeline);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND, GST_MESSAGE_EOS);
    if (m)
      gst_message_unref(m);
    else
      no_eos++;
    gst_object_unref(bus);
  }
  rss_peak = std::max(rss_peak, bench::rss_kib());
  stop = true;
  watcher.join();
  fprintf(stderr, "drained %.1f s after the last block\n",
          seconds_between(fed_us, g_get_monotonic_time()));

  /* ---- figures ---- */
  gint64 outage_start = g_outage_start_us, outage_end = outage_start + o.outage * G_USEC_PER_SEC;
  uint32_t first_outage_block = static_cast<uint32_t>(o.outage_at * 10);
  uint32_t end_outage_block = static_cast<uint32_t>((o.outage_at + o.outage) * 10);
  std::vector<double> to_batch, reconnect, to_stream, outage_lateness_max, healthy_lateness;
  long long once = 0, missing = 0, duplicated = 0, dropped = 0;
  int degraded = 0, recovered = 0, warnings = 0, errors = 0, redegraded = 0;
  std::string first_error, first_missing;
  std::map<std::string, long long> drop_reasons;
  for (auto &s : streams) {
    std::lock_guard<std::mutex> lock(s->mutex);
    if (s->degraded_us) {
      degraded++;
      to_batch.push_back(seconds_between(outage_start, s->degraded_us));
    }
    if (s->reconnected_us)
      reconnect.push_back(seconds_between(outage_end, s->reconnected_us));
    if (s->recovered_us) {
      recovered++;
      to_stream.push_back(seconds_between(outage_end, s->recovered_us));
    }
    redegraded += s->degrades > 1;
    warnings += s->warnings;
    errors += s->errors;
    if (first_error.empty())
      first_error = s->first_error;
    double worst = 0;
    for (uint32_t b = 0; b < blocks; b++) {
      if (s->seen[b] == 1)
        once++;
      else if (s->seen[b] > 1)
        duplicated++;
      else if (s->dropped[b])
        dropped++;
      else if (!missing++)
        first_missing = "stream " + std::to_string(s->index) + " block " + std::to_string(b);
      if (!s->seen[b])
        continue;
      double late = seconds_between(pushed_us[b], s->arrived_us[b]);
      if (b >= first_outage_block && b < end_outage_block)
        worst = std::max(worst, late);
      else if (b + 20 < first_outage_block) /* its result was not lost with the connection */
        healthy_lateness.push_back(late);
    }
    outage_lateness_max.push_back(worst);
    for (auto &[reason, n] : s->drop_reasons)
      drop_reasons[reason] += n;
  }
  /* Live handshakes while the API was down, per second. */
  std::map<int, long long> per_second;
  long long during = 0, batch_requests = 0, throttled = 0, in_flight_peak = 0;
  for (size_t i = 1; i < samples.size(); i++) {
    const Sample &a = samples[i - 1], &b = samples[i];
    if (b.t_us > outage_start && a.t_us < outage_end) {
      long long n = b.handshakes - a.handshakes;
      during += n;
      per_second[static_cast<int>(seconds_between(outage_start, b.t_us))] += n;
    }
    if (b.t_us > outage_start) {
      batch_requests += b.batch_requests - a.batch_requests;
      throttled += b.batch_throttled - a.batch_throttled;
    }
    in_flight_peak = std::max(in_flight_peak, b.batch_in_flight_peak);
  }
  std::string knocks;
  for (auto &[sec, n] : per_second)
    if (n)
      knocks +=
          (knocks.empty() ? "" : ", ") + std::to_string(n) + " at " + std::to_string(sec) + " s";

  printf("| figure | value |\n|---|---|\n");
  printf("| streams, breakers | %d, %s |\n", o.streams,
         o.shared_breaker ? "one per API per process" : "one per pipeline");
  printf("| outage | live API, %d s at %d s; pre-recorded cap %s |\n", o.outage, o.outage_at,
         o.batch_concurrency ? std::to_string(o.batch_concurrency).c_str() : "none");
  printf("| reached batch after the close, s (p50 / p99 / max) | %s (%d of %d streams) |\n",
         quantiles(to_batch).c_str(), degraded, o.streams);
  printf("| live handshakes during the outage | %lld (%s) |\n", during,
         knocks.empty() ? "none" : knocks.c_str());
  printf("| pre-recorded requests after the close / 429 / peak in flight | %lld / %lld / %lld |\n",
         batch_requests, throttled, in_flight_peak);
  printf("| outage audio: each stream's latest caption, s after its audio (p50 / p99 / max "
         "across streams) | %s |\n",
         quantiles(outage_lateness_max).c_str());
  printf("| healthy captions (to 2 s before the outage), s after the audio (p50 / p99 / max) | "
         "%s |\n",
         quantiles(healthy_lateness).c_str());
  printf("| reconnected after the restore, s (p1 / p50 / p99 / max) | %.2f / %s (%zu of %d) |\n",
         bench::percentile(reconnect, 0.01), quantiles(reconnect).c_str(), reconnect.size(),
         o.streams);
  printf("| back on streaming after the restore, s (p50 / p99 / max) | %s (%d of %d; %d degraded "
         "again) |\n",
         quantiles(to_stream).c_str(), recovered, o.streams, redegraded);
  printf("| peak RSS, MiB (per stream KiB) | %.0f (%.0f) |\n", (rss_peak - rss_before) / 1024.0,
         double(rss_peak - rss_before) / o.streams);
  printf("| blocks: exactly once / duplicated / reported dropped / missing | %lld / %lld / %lld / "
         "%lld |\n",
         once, duplicated, dropped, missing);
  std::string reasons;
  for (auto &[reason, n] : drop_reasons)
    reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  if (!reasons.empty() || missing)
    printf("| dropped by reason (blocks); first missing | %s; %s |\n",
           reasons.empty() ? "none" : reasons.c_str(),
           first_missing.empty() ? "none" : first_missing.c_str());
  printf("| WARNINGs / ERRORs / streams without EOS | %d / %d / %d%s%s |\n", warnings, errors,
         no_eos, first_error.empty() ? "" : "; first ERROR: ", first_error.c_str());
  printf("| feed blocks over 100 ms late | %d |\n", late_blocks);

  for (auto &s : streams) {
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
    gst_pad_set_active(s->feed, FALSE);
    gst_object_unref(s->feed);
    gst_object_unref(s->bin);
    gst_object_unref(s->pipeline);
  }
  bench::stop_emulator(pid);
  bool ok = duplicated == 0 && missing == 0 && errors == 0 && no_eos == 0 &&
            degraded == o.streams && recovered == o.streams;
  return ok ? 0 : 1;
}
