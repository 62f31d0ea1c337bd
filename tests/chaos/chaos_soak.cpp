/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chaos soak: N pipelines in one process stream sequence audio through
 * sttfailover (stream: dgstreamsink, batch: dgbatchsink) to one shared
 * in-process dg-emulator, faster than real time, while the emulator fires a
 * random, seeded schedule of every fault it has. At the end it prints one
 * row per pipeline (what became of every block) and fails on any lost,
 * duplicated or mis-timed block outside reported drops, any ERROR, a hang
 * (watchdog) or a leaked descriptor or thread.
 *
 * stdout is the report (the table); progress goes to stderr.
 * See docs/reliability.md. Replay a run with the seed it printed:
 *   tools/run-chaos.sh --seconds S --seed N --pipelines P --speed X
 */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "chaos_schedule.h"
#include "chaos_tally.h"
#include "dg_test_support.h"
#include "proc_counts.h"
#include "soak_pipeline.h"
#include "watchdog.h"

namespace {

using Clock = std::chrono::steady_clock;

/* Wall seconds without faults before EOS: after the finale outage every
 * pipeline reconnects through the shared breaker (whose open time may have
 * grown to reset-timeout-max, 2 s), waits for a pause to cut in and gets a
 * final: about 3 s, with margin for a loaded machine. */
constexpr double kQuietEnd = 5;
/* Audio goes on after `seconds`, this long at most, while a pipeline has
 * not yet recovered. */
constexpr double kMaxOvertime = 15;

struct Config {
  gint64 seed = -1;
  double seconds = 15;   /* wall time of audio pushing (faults stop 3 s earlier) */
  int pipelines = 8;     /* in one process */
  double speed = 4;      /* audio seconds per wall second */
  double watchdog = 0;   /* seconds; 0: seconds + 90 */
  double mean_gap = 1.0; /* seconds between faults, on average */
  gboolean print_schedule = FALSE;
};

struct Format {
  int rate, channels;
};
/* Pipelines cycle through rates and channel counts. */
const Format kFormats[] = {{16000, 1}, {8000, 1}, {48000, 1}, {16000, 2}};

dgemu::BlockKind block_kind(uint32_t block) {
  /* 1.6 s of speech, 0.4 s of pause: the batch sink cuts in the pauses. */
  return block % 20 < 16 ? dgemu::BlockKind::speech : dgemu::BlockKind::silence;
}

struct Soaker {
  int index = 0;
  Format format{};
  GstElement *pipeline = nullptr, *src = nullptr, *failover = nullptr, *text = nullptr;
  std::unique_ptr<dgtest::BusLog> log;
  std::atomic<uint32_t> sent{0}; /* read by the watchdog */
  std::atomic<bool> ended{false};
  bool eos = false;

  std::mutex mutex;
  std::vector<std::string> caption_words;
  uint64_t caption_end = 0;
  int caption_overlaps = 0;

  ~Soaker() {
    if (!pipeline)
      return;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    log.reset();
    gst_object_unref(text);
    gst_object_unref(failover);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  static GstFlowReturn on_sample(GstAppSink *sink, gpointer data) {
    auto *self = static_cast<Soaker *>(data);
    GstSample *sample = gst_app_sink_pull_sample(sink);
    GstBuffer *b = gst_sample_get_buffer(sample);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    std::istringstream in(std::string(reinterpret_cast<const char *>(map.data), map.size));
    gst_buffer_unmap(b, &map);
    std::lock_guard<std::mutex> lock(self->mutex);
    if (GST_BUFFER_PTS(b) < self->caption_end)
      self->caption_overlaps++;
    self->caption_end = GST_BUFFER_PTS(b) + GST_BUFFER_DURATION(b);
    std::string w;
    while (in >> w) {
      while (!w.empty() && !g_ascii_isalnum(w.back()))
        w.pop_back(); /* punctuation */
      self->caption_words.push_back(w);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }

  void build(const dgemu::Emulator &emu, const std::string &breaker) {
    std::string desc = chaos::soak_pipeline_description(format.rate, format.channels, breaker);
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    if (err)
      g_error("pipeline %d: %s", index, err->message);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    failover = gst_bin_get_by_name(GST_BIN(pipeline), "f");
    text = gst_bin_get_by_name(GST_BIN(pipeline), "text");
    log = std::make_unique<dgtest::BusLog>(pipeline);
    g_signal_connect(text, "new-sample", G_CALLBACK(on_sample), this);
  }

  void push_until(uint32_t target) {
    uint32_t from = sent;
    if (target > from) {
      dgtest::push_sequence(src, format.rate, format.channels, from, target - from, 0, false,
                            block_kind);
      sent = target;
    }
  }

  std::string state_name() {
    GstStructure *s = nullptr;
    g_object_get(failover, "stats", &s, nullptr);
    std::string out = s ? gst_structure_get_string(s, "state") : "?";
    if (s)
      gst_structure_free(s);
    return out;
  }
};

struct Row {
  chaos::Tally blocks;
  chaos::CaptionTally captions;
  size_t degraded = 0, recovered = 0, drop_messages = 0;
  bool alternating = true;
  std::vector<std::string> errors;
  std::map<std::string, int> drop_reasons;
  std::vector<std::string> problems;
  std::string transitions; /* "d 3.1 r 4.9 ..." (wall seconds), for stderr */
};

/* When the pipeline failed over (d) and recovered (r), in running time. */
std::string transitions(const dgtest::BusLog &log) {
  std::vector<std::pair<uint64_t, char>> at;
  for (const char *name : {"stt/degraded", "stt/recovered"})
    for (GstStructure *m : log.element_messages(name)) {
      guint64 t = 0;
      gst_structure_get_uint64(m, "running-time", &t);
      at.push_back({t, name[4]});
      gst_structure_free(m);
    }
  std::sort(at.begin(), at.end());
  std::string out;
  for (const auto &[t, kind] : at) {
    char buf[32];
    g_snprintf(buf, sizeof buf, "%s%c %.1f", out.empty() ? "" : " ", kind, t / 1e9);
    out += buf;
  }
  return out;
}

Row account(Soaker &s) {
  Row r;
  std::vector<chaos::Range> drops;
  for (const auto &d : s.log->dropped()) {
    drops.push_back({d.start, d.duration});
    r.drop_reasons[d.reason]++;
  }
  r.drop_messages = drops.size();
  std::vector<chaos::Word> words;
  /* Channel 0: with 2 channels the stream sink asks for multichannel results
   * (every word on each channel) and the batch sink's are downmixed. */
  for (const auto &t : s.log->finals())
    for (const auto &w : t.channel == 0 ? t.words : std::vector<dgf::stt::TimedWord>{})
      words.push_back({w.word, w.start});
  r.blocks = chaos::tally_blocks(words, s.sent, dgtest::kBlockNs, drops, GST_MSECOND);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    r.captions = chaos::tally_captions(s.caption_words, s.sent, dgtest::kBlockNs, drops);
    if (s.caption_overlaps)
      r.problems.push_back(std::to_string(s.caption_overlaps) + " overlapping captions");
  }
  std::string expect = "stt/degraded";
  for (const std::string &name : s.log->element_names()) {
    if (name != "stt/degraded" && name != "stt/recovered")
      continue;
    (name == "stt/degraded" ? r.degraded : r.recovered)++;
    if (name != expect)
      r.alternating = false;
    expect = name == "stt/degraded" ? "stt/recovered" : "stt/degraded";
  }
  r.errors = s.log->errors();
  r.transitions = transitions(*s.log);
  if (!s.eos)
    r.problems.push_back("no EOS");
  if (!r.blocks.clean())
    r.problems.push_back("bus: " + r.blocks.describe());
  if (!r.captions.clean())
    r.problems.push_back("captions: missing " + std::to_string(r.captions.missing) +
                         ", duplicated " + std::to_string(r.captions.duplicated) +
                         ", out of order " + std::to_string(r.captions.out_of_order) + ", stray " +
                         std::to_string(r.captions.stray));
  if (!r.alternating)
    r.problems.push_back("stt/degraded and stt/recovered do not alternate");
  /* The schedule ends with an outage and a quiet stretch: every pipeline
   * must have gone through a whole failover and back. */
  if (r.recovered == 0)
    r.problems.push_back("never recovered (" + std::to_string(r.degraded) + " failovers)");
  for (const auto &e : r.errors)
    r.problems.push_back("ERROR " + e);
  return r;
}

std::string replay_command(const Config &c, gint64 seed) {
  char buf[256];
  g_snprintf(buf, sizeof buf,
             "tools/run-chaos.sh --seconds %g --seed %" G_GINT64_FORMAT
             " --pipelines %d --speed %g",
             c.seconds, seed, c.pipelines, c.speed);
  return buf;
}

bool parse_args(int *argc, char ***argv, Config *c) {
  double minutes = 0;
  GOptionEntry entries[] = {
      {"seed", 0, 0, G_OPTION_ARG_INT64, &c->seed,
       "fault schedule seed (default: random, or $CHAOS_SEED)", "N"},
      {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &c->seconds, "wall seconds of audio (15)", "S"},
      {"minutes", 0, 0, G_OPTION_ARG_DOUBLE, &minutes, "same in minutes", "M"},
      {"pipelines", 0, 0, G_OPTION_ARG_INT, &c->pipelines, "pipelines in this process (8)", "N"},
      {"speed", 0, 0, G_OPTION_ARG_DOUBLE, &c->speed, "audio seconds per wall second (4)", "X"},
      {"fault-gap", 0, 0, G_OPTION_ARG_DOUBLE, &c->mean_gap, "mean seconds between faults (1.0)",
       "S"},
      {"watchdog", 0, 0, G_OPTION_ARG_DOUBLE, &c->watchdog,
       "fail after this many seconds (default: seconds + 90)", "S"},
      {"print-schedule", 0, 0, G_OPTION_ARG_NONE, &c->print_schedule,
       "print the fault schedule (JSON) to stderr", nullptr},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *ctx = g_option_context_new("- chaos soak of sttfailover against dg-emulator");
  g_option_context_add_main_entries(ctx, entries, nullptr);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = nullptr;
  bool ok = g_option_context_parse(ctx, argc, argv, &err);
  g_option_context_free(ctx);
  if (!ok) {
    g_printerr("chaos-soak: %s\n", err->message);
    g_error_free(err);
    return false;
  }
  if (minutes > 0)
    c->seconds = minutes * 60;
  if (c->seed < 0 && g_getenv("CHAOS_SEED"))
    c->seed = g_ascii_strtoll(g_getenv("CHAOS_SEED"), nullptr, 10);
  if (c->seed < 0)
    c->seed = g_random_int_range(1, G_MAXINT32);
  if (c->seconds < 2 * kQuietEnd || c->pipelines < 1 || c->pipelines > 64 || c->speed <= 0 ||
      c->mean_gap <= 0) {
    g_printerr("chaos-soak: need --seconds >= %g, 1..64 pipelines, --speed > 0\n", 2 * kQuietEnd);
    return false;
  }
  if (c->watchdog <= 0)
    c->watchdog = c->seconds + 90;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Config cfg;
  if (!parse_args(&argc, &argv, &cfg))
    return 2;
  gst_init(&argc, &argv);
  const std::string replay = replay_command(cfg, cfg.seed);
  std::printf("chaos soak: seed %" G_GINT64_FORMAT ", %d pipelines, %.0f s at %gx (%.0f s of "
              "audio each)\nreplay: %s\n",
              cfg.seed, cfg.pipelines, cfg.seconds, cfg.speed, cfg.seconds * cfg.speed,
              replay.c_str());
  std::fflush(stdout);

  std::vector<std::unique_ptr<Soaker>> soakers;
  chaos::Watchdog watchdog(cfg.watchdog, [&] {
    std::string s = "seed " + std::to_string(cfg.seed) + "; replay: " + replay + "\n";
    for (auto &k : soakers)
      s += "  pipeline " + std::to_string(k->index) + ": sent " + std::to_string(k->sent) +
           (k->ended ? ", ended" : ", NOT ended") + "\n";
    return s;
  });

  auto emu = dgtest::start_emulator();
  /* Warm-up: one short clean run, so that what lives for the process
   * (GStreamer's system clock thread, GIO's worker and dconf threads and their
   * eventfds) exists before the baseline. */
  {
    Soaker warm;
    warm.format = kFormats[0];
    warm.build(*emu, "chaos-warmup-" + std::to_string(getpid()));
    warm.push_until(20);
    gst_app_src_end_of_stream(GST_APP_SRC(warm.src));
    if (!warm.log->run_to_end(30 * GST_SECOND))
      g_error("the warm-up pipeline did not reach EOS");
  }
  emu->sync();
  const chaos::ProcCounts before = chaos::quiet_counts(emu->port(), std::chrono::seconds(5));

  const double horizon = cfg.seconds - kQuietEnd;
  auto schedule = chaos::make_schedule({static_cast<uint64_t>(cfg.seed), horizon, cfg.mean_gap});
  if (cfg.print_schedule)
    g_printerr("%s", chaos::schedule_json(schedule).c_str());
  std::map<std::string, int> families;
  for (const auto &f : schedule)
    families[f.family]++;

  const std::string breaker = "chaos-" + std::to_string(getpid());
  for (int i = 0; i < cfg.pipelines; i++) {
    auto s = std::make_unique<Soaker>();
    s->index = i;
    s->format = kFormats[i % G_N_ELEMENTS(kFormats)];
    s->build(*emu, breaker);
    soakers.push_back(std::move(s));
  }

  /* The faults go in with `at` from now: the schedule's clock is the audio's. */
  std::string error;
  for (const auto &f : schedule) {
    char at[32];
    g_snprintf(at, sizeof at, "%.3f", f.at);
    std::string json = std::string("{\"at\":") + at + "," + f.json.substr(1);
    if (emu->inject_json(json, &error).empty())
      g_error("fault %s rejected: %s", json.c_str(), error.c_str());
  }
  for (auto &s : soakers)
    gst_element_set_state(s->pipeline, GST_STATE_PLAYING);

  const auto start = Clock::now();
  uint32_t total = static_cast<uint32_t>(cfg.seconds * cfg.speed * 10);
  auto last_progress = start;
  double overtime = 0;
  for (;;) {
    double t = std::chrono::duration<double>(Clock::now() - start).count();
    uint32_t target = std::min(total, static_cast<uint32_t>(t * cfg.speed * 10));
    for (auto &s : soakers)
      s->push_until(target);
    if (target >= total) {
      /* Every pipeline should be streaming again by now. One still on its
       * way back (a slow machine, a sanitizer) gets more audio, bounded,
       * rather than an EOS that would cut its recovery short. */
      bool all_streaming = std::all_of(soakers.begin(), soakers.end(),
                                       [](auto &s) { return s->state_name() == "streaming"; });
      if (all_streaming || t >= cfg.seconds + kMaxOvertime)
        break;
      overtime = t - cfg.seconds;
      total = target + 1;
    }
    if (Clock::now() - last_progress > std::chrono::seconds(5)) {
      last_progress = Clock::now();
      auto c = emu->counters();
      g_printerr("chaos-soak: %3.0f s, block %u/%u, live accepted %lld refused %lld, batch ok "
                 "%lld failed %lld\n",
                 t, target, total, (long long)c.live_accepted, (long long)c.live_refused,
                 (long long)c.batch_ok, (long long)c.batch_failed);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); /* the source's pace */
  }
  for (auto &s : soakers)
    gst_app_src_end_of_stream(GST_APP_SRC(s->src));
  g_printerr("chaos-soak: all audio sent, waiting for EOS\n");

  for (auto &s : soakers) {
    GstBus *bus = gst_element_get_bus(s->pipeline);
    GstMessage *end = gst_bus_timed_pop_filtered(
        bus, GST_CLOCK_TIME_NONE, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    s->eos = GST_MESSAGE_TYPE(end) == GST_MESSAGE_EOS;
    s->ended = true;
    gst_message_unref(end);
    gst_object_unref(bus);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto &s : soakers)
    gst_element_set_state(s->pipeline, GST_STATE_NULL);

  /* The table. */
  std::vector<std::string> failures;
  std::printf("\n%4s %-8s %6s %6s %5s %4s %8s %8s %5s %8s %9s  %s\n", "pipe", "format", "sent",
              "once", "lost", "dup", "mistimed", "in-drops", "drops", "degraded", "recovered",
              "result");
  Row sum;
  uint32_t sent = 0;
  std::map<std::string, int> drop_reasons;
  for (auto &s : soakers) {
    Row r = account(*s);
    char fmt[16];
    g_snprintf(fmt, sizeof fmt, "%dk/%d", s->format.rate / 1000, s->format.channels);
    std::printf("%4d %-8s %6u %6u %5u %4u %8u %8u %5zu %8zu %9zu  %s\n", s->index, fmt,
                r.blocks.sent, r.blocks.once, r.blocks.lost, r.blocks.duplicated, r.blocks.mistimed,
                r.blocks.dropped, r.drop_messages, r.degraded, r.recovered,
                r.problems.empty() ? "ok" : "FAIL");
    for (const auto &p : r.problems)
      failures.push_back("pipeline " + std::to_string(s->index) + ": " + p);
    g_printerr("chaos-soak: pipeline %d failed over (d) and recovered (r) at: %s\n", s->index,
               r.transitions.c_str());
    sent += r.blocks.sent;
    sum.blocks.once += r.blocks.once;
    sum.blocks.lost += r.blocks.lost;
    sum.blocks.duplicated += r.blocks.duplicated;
    sum.blocks.mistimed += r.blocks.mistimed;
    sum.blocks.dropped += r.blocks.dropped;
    sum.drop_messages += r.drop_messages;
    sum.degraded += r.degraded;
    sum.recovered += r.recovered;
    for (const auto &[k, v] : r.drop_reasons)
      drop_reasons[k] += v;
  }
  std::printf("%4s %-8s %6u %6u %5u %4u %8u %8u %5zu %8zu %9zu  %s\n", "all", "", sent,
              sum.blocks.once, sum.blocks.lost, sum.blocks.duplicated, sum.blocks.mistimed,
              sum.blocks.dropped, sum.drop_messages, sum.degraded, sum.recovered,
              failures.empty() ? "ok" : "FAIL");
  std::string reasons;
  for (const auto &[k, v] : drop_reasons)
    reasons += (reasons.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("\nreported drops by reason: %s\n", reasons.empty() ? "none" : reasons.c_str());

  std::string sched;
  for (const auto &[k, v] : families)
    sched += (sched.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("faults scheduled (%zu, until %.1f s, then %g s quiet%s): %s\n", schedule.size(),
              horizon, kQuietEnd + overtime,
              overtime > 0 ? " (audio extended: a pipeline was still recovering)" : "",
              sched.c_str());
  auto counters = emu->counters();
  std::string fired;
  for (const auto &[k, v] : counters.faults_fired)
    fired += (fired.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("fault effects (emulator): %s\n", fired.c_str());
  std::printf("emulator: live accepted %lld, refused %lld; batch ok %lld, failed %lld\n",
              (long long)counters.live_accepted, (long long)counters.live_refused,
              (long long)counters.batch_ok, (long long)counters.batch_failed);

  /* Leaks: every pipeline gone, the emulator still up (its threads and
   * listening socket were counted in `before`); every connection of either
   * side must be closed. */
  soakers.clear();
  emu->sync();
  chaos::ProcCounts after = chaos::settle_counts(before, std::chrono::seconds(5), emu->port());
  std::string leak = chaos::leak_report(before, after);
  std::printf("leak check: fds %d -> %d, threads %d -> %d%s%s\n", before.fds, after.fds,
              before.threads, after.threads, leak.empty() ? "" : ": ", leak.c_str());
  std::printf("emulator side: %d server sockets still open after their clients closed\n",
              chaos::server_sockets(after) - chaos::server_sockets(before));
  if (!leak.empty())
    failures.push_back("leak: " + leak + "\n  before: " + before.describe() +
                       "\n  after:  " + after.describe());
  emu->stop();
  watchdog.disarm();

  std::printf("wall time: %.1f s (audio sent and drained)\n", wall);
  if (!failures.empty()) {
    std::printf("\nFAIL (seed %" G_GINT64_FORMAT "; replay: %s)\n", cfg.seed, replay.c_str());
    for (const auto &f : failures)
      std::printf("  %s\n", f.c_str());
    return 1;
  }
  std::printf("\nPASS: 0 lost, 0 duplicated, 0 mis-timed outside reported drops, no ERROR, no "
              "hang, no leaked fd or thread\n");
  return 0;
}
