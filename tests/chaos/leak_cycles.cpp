/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leak check: one sttfailover pipeline (both sinks, against the in-process
 * emulator) goes PLAYING -> NULL again and again, with a different fault in
 * flight each time and now and then a full EOS drain. Afterwards it must hold
 * exactly the descriptors (sockets included) and threads it held after the
 * warm-up cycle, and, once the pipeline is freed, what it held before it was
 * built. Memory leaks are LeakSanitizer's job (tools/run-asan.sh runs this).
 *
 * stdout: one summary line per check. See docs/reliability.md.
 */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "dg_test_support.h"
#include "proc_counts.h"
#include "soak_pipeline.h"
#include "watchdog.h"

namespace {

using Clock = std::chrono::steady_clock;

/* What is in flight when the pipeline goes to NULL: live connections open,
 * refused, closed, dropped, stalled, delayed or garbled, batch requests failed,
 * held or in an outage. */
const char *const kFaults[] = {
    "",
    R"({"type":"refuse","status":503,"count":1})",
    R"({"type":"close","code":1011,"reason":"NET-0000","target":"new","count":1,"after_s":0.05})",
    R"({"type":"drop","target":"new","count":1,"after_s":0.05})",
    R"({"type":"stall","target":"new","count":1})",
    R"({"type":"malformed","frames":1,"target":"new","count":1})",
    R"({"type":"delay","ms":200,"target":"new","count":1})",
    R"({"type":"outage","api":"both","duration":0.3})",
    R"({"type":"batch_error","status":503,"count":2,"retry_after":1})",
    R"({"type":"batch_delay","ms":300,"count":1})",
    R"({"type":"outage","api":"live","duration":0.3,"code":1011,"reason":"NET-0000"})",
};
constexpr size_t kFaultCount = G_N_ELEMENTS(kFaults);

struct Pipeline {
  GstElement *pipeline = nullptr, *src = nullptr;
  std::unique_ptr<dgtest::BusLog> log;

  explicit Pipeline(const dgemu::Emulator &emu) {
    std::string desc =
        chaos::soak_pipeline_description(16000, 1, "leak-" + std::to_string(getpid()));
    GError *err = nullptr;
    pipeline = gst_parse_launch(dgtest::with_urls(desc, emu).c_str(), &err);
    if (err)
      g_error("%s", err->message);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    log = std::make_unique<dgtest::BusLog>(pipeline);
  }
  ~Pipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    log.reset();
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  /* Progress made in this cycle: a transcript or a failover. */
  size_t progress() const { return log->count("stt/transcript") + log->count("stt/degraded"); }

  /* One PLAYING -> NULL cycle with `fault` in flight; with `drain`, EOS and
   * its drain complete first. Returns false when a drain did not end. */
  bool cycle(dgemu::Emulator &emu, const char *fault, bool drain) {
    std::string error;
    if (*fault && emu.inject_json(fault, &error).empty())
      g_error("fault %s: %s", fault, error.c_str());
    size_t before = progress();
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    dgtest::push_sequence(src, 16000, 1, 0, 20, 0, drain);
    bool ok = true;
    if (drain) {
      GstBus *bus = gst_element_get_bus(pipeline);
      GstMessage *end = gst_bus_timed_pop_filtered(
          bus, 20 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      ok = end && GST_MESSAGE_TYPE(end) == GST_MESSAGE_EOS;
      if (end)
        gst_message_unref(end);
      gst_object_unref(bus);
    } else {
      /* Go down mid-flight, once something happened (bounded: a cycle whose
       * fault kept anything from happening is torn down all the same). */
      auto until = Clock::now() + std::chrono::milliseconds(250);
      while (progress() == before && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    emu.clear_faults();
    /* Drain the bus: nobody else pops it. */
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_flushing(bus, TRUE);
    gst_bus_set_flushing(bus, FALSE);
    gst_object_unref(bus);
    return ok;
  }
};

} // namespace

int main(int argc, char **argv) {
  gint cycles = 200;
  gdouble watchdog_s = 170;
  gint only = -1;
  GOptionEntry entries[] = {{"cycles", 0, 0, G_OPTION_ARG_INT, &cycles, "cycles (200)", "N"},
                            {"watchdog", 0, 0, G_OPTION_ARG_DOUBLE, &watchdog_s,
                             "fail with a thread dump after this many seconds (170)", "S"},
                            {"only", 0, 0, G_OPTION_ARG_INT, &only,
                             "only this fault of the list (0: none), to find a leak's cause", "I"},
                            {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *ctx = g_option_context_new("- PLAYING/NULL cycles under faults, leak check");
  g_option_context_add_main_entries(ctx, entries, nullptr);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = nullptr;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || cycles < 2) {
    g_printerr("leak-cycles: %s\n", err ? err->message : "need --cycles >= 2");
    return 2;
  }
  g_option_context_free(ctx);
  gst_init(&argc, &argv);

  int done = 0;
  chaos::Watchdog watchdog(watchdog_s, [&] { return "cycle " + std::to_string(done) + "\n"; });
  const auto start = Clock::now();
  /* Warm-up against an emulator of its own, stopped before the baseline:
   * the final check runs with no emulator in the process, so every socket
   * left is the plugin's. */
  {
    auto warm_emu = dgtest::start_emulator();
    Pipeline w(*warm_emu);
    if (!w.cycle(*warm_emu, "", true))
      g_error("the warm-up pipeline did not drain");
  }
  const chaos::ProcCounts initial = chaos::proc_counts();
  auto emu = dgtest::start_emulator();
  emu->sync();

  int failures = 0, drains = 0, drain_failures = 0;
  std::map<std::string, double> seconds_per_fault;
  chaos::ProcCounts warm, end;
  {
    Pipeline p(*emu);
    for (done = 0; done < cycles; done++) {
      /* Cycle 0 drains too: the bus's poll fds appear at the first wait. */
      bool drain = done % 10 == 0;
      drains += drain;
      const char *fault = kFaults[only >= 0 ? only % kFaultCount : done % kFaultCount];
      auto t0 = Clock::now();
      if (!p.cycle(*emu, fault, drain))
        drain_failures++;
      seconds_per_fault[*fault ? fault : "(none)"] +=
          std::chrono::duration<double>(Clock::now() - t0).count();
      if (done == 0) {
        emu->sync();
        warm = chaos::quiet_counts(emu->port(), std::chrono::seconds(5));
      }
    }
    for (const auto &[f, secs] : seconds_per_fault)
      g_printerr("leak-cycles: %5.1f s in cycles with %s\n", secs, f.c_str());
    emu->sync();
    end = chaos::settle_counts(warm, std::chrono::seconds(5), emu->port());
    for (const auto &e : p.log->errors())
      g_printerr("leak-cycles: ERROR on the bus: %s\n", e.c_str());
    failures += p.log->errors().empty() ? 0 : 1;
  }
  emu->stop();
  const chaos::ProcCounts freed = chaos::settle_counts(initial, std::chrono::seconds(5));
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  watchdog.disarm();

  std::string cycle_leak = chaos::leak_report(warm, end);
  std::string freed_leak = chaos::leak_report(initial, freed);
  std::printf("leak-cycles: %d PLAYING->NULL cycles (%d with a full EOS drain, %d drains cut "
              "short), %zu fault kinds in turn, %.1f s\n",
              cycles, drains, drain_failures, kFaultCount - 1, wall);
  std::printf("after warm-up cycle: fds %d, threads %d (emulator running, its sockets "
              "counted)\nafter %d cycles:     fds %d, threads %d%s%s\n",
              warm.fds, warm.threads, cycles, end.fds, end.threads,
              cycle_leak.empty() ? "" : "  LEAK: ", cycle_leak.c_str());
  std::printf("no emulator, before the pipeline: fds %d, threads %d\n"
              "no emulator, after freeing it:   fds %d, threads %d%s%s\n",
              initial.fds, initial.threads, freed.fds, freed.threads,
              freed_leak.empty() ? "" : "  LEAK: ", freed_leak.c_str());
  if (!cycle_leak.empty() || !freed_leak.empty()) {
    std::printf("warm-up: %s\nend:     %s\nfreed:   %s\n", warm.describe().c_str(),
                end.describe().c_str(), freed.describe().c_str());
    failures++;
  }
  if (drain_failures) {
    std::printf("FAIL: %d EOS drains did not complete\n", drain_failures);
    failures++;
  }
  std::printf("%s\n", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
