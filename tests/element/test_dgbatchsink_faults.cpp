/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink under failure, against dg-emulator's fault injection: retries
 * that honour Retry-After (on a GstTestClock, no waiting), an outage window
 * and the backlog drain after it, max-buffer overflow, a 400 for corrupt
 * audio, a 401, EOS with a drain timeout, and a server that never answers
 * TCP's handshake.
 */
#include "batch_sink_harness.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace batchtest;

namespace {

constexpr uint64_t kBlock = 100 * GST_MSECOND;

/* Words of all transcripts, as block numbers. */
std::vector<long> blocks_seen(Rig &rig) {
  std::vector<long> out;
  for (const auto &t : rig.transcripts) {
    for (const auto &w : t.words) {
      long b = block_of(w.word);
      CHECK(b >= 0);
      CHECK(w.start == static_cast<uint64_t>(b) * kBlock ||
                (w.start > static_cast<uint64_t>(b) * kBlock - GST_USECOND &&
                 w.start < static_cast<uint64_t>(b) * kBlock + GST_USECOND),
            "%s at %" GST_TIME_FORMAT, w.word.c_str(), GST_TIME_ARGS(w.start));
      out.push_back(b);
    }
  }
  return out;
}

void expect_blocks(Rig &rig, long first, long count) {
  std::vector<long> seen = blocks_seen(rig);
  CHECK(seen.size() == static_cast<size_t>(count), "%zu words, expected %ld", seen.size(), count);
  for (long i = 0; i < count; i++)
    CHECK(seen[i] == first + i, "word %ld is block %ld", i, seen[i]);
}

GstClockTime next_wakeup(GstTestClock *clock) {
  GstClockID id = nullptr;
  gst_test_clock_wait_for_next_pending_id(clock, &id);
  GstClockTime at = gst_clock_id_get_time(id);
  gst_clock_id_unref(id);
  return at;
}

} // namespace

/* 503 then 429, each with Retry-After: the sink sleeps exactly that long on
 * its timer clock (fake here) before retrying the same chunk. The 429 is
 * throttling, not a failure. */
static void test_retry_after_honoured() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":503,"count":1,"retry_after":1},
                   {"type":"batch_error","status":429,"count":1,"retry_after":2}])");
  GstClock *clock = gst_test_clock_new();
  GstTestClock *tc = GST_TEST_CLOCK(clock);
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "retry-backoff-min", 10u, "retry-backoff-max", 20u, "failure-threshold",
                 100u, "max-in-flight", 1u, nullptr);
  });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(7);

  /* Backoff alone would be <= 10 ms; Retry-After makes it 1 s. */
  CHECK(next_wakeup(tc) == GST_SECOND);
  CHECK(emu->counters().batch_failed == 1 && emu->counters().batch_ok == 0);
  CHECK(rig.stat_u64("failures") == 1);
  {
    auto lock = rig.lock();
    CHECK(rig.transcripts.empty());
  }
  gst_test_clock_crank(tc);

  CHECK(next_wakeup(tc) == 3 * GST_SECOND, "429 Retry-After: 2 s after the retry");
  CHECK(emu->counters().batch_failed == 2 && emu->counters().batch_ok == 0);
  gst_test_clock_crank(tc);

  CHECK(rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:7"; }));
  {
    auto lock = rig.lock();
    expect_blocks(rig, 0, 10);
    CHECK(rig.dropped.empty());
    CHECK(rig.transcripts[0].start == 0 && rig.transcripts[0].duration == GST_SECOND);
  }
  CHECK(rig.stat_u64("requests") == 3);
  CHECK(rig.stat_u64("failures") == 1);
  CHECK(rig.stat_u64("throttled") == 1);
  CHECK(rig.stat_u64("retries") == 2);
  CHECK(rig.stat_seconds("audio-uploaded") == 1.0);
  gst_object_unref(clock);
}

/* A request sent before a failure and answered after it is the audio's
 * transcript, not news that the service is back: only an answer to a
 * request sent after the failure reports it healthy. Otherwise one slow
 * request flaps degraded -> recovered -> degraded. */
static void test_stale_success_is_not_recovery() {
  auto emu = start_emulator();
  /* Request A is held 1.5 s; request B, sent later, fails once. */
  inject(*emu, R"([{"type":"batch_delay","ms":1500,"count":1},
                   {"type":"batch_error","status":503,"count":1,"at":1000,"retry_after":5}])");
  GstClock *clock = gst_test_clock_new();
  GstTestClock *tc = GST_TEST_CLOCK(clock);
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "failure-threshold", 100u, "max-in-flight", 2u, nullptr);
  });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1); /* A: blocks 0-9, held */
  for (int i = 0; i < 3000 && emu->counters().fired("batch_delay") == 0; i++)
    g_usleep(10 * 1000); /* until A reaches the emulator */
  CHECK(emu->counters().fired("batch_delay") == 1);
  emu->advance_clock(1000);
  CHECK(rig.push_blocks(10, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(2); /* B: blocks 10-19, refused */
  CHECK(rig.wait_for([&] { return !rig.health.empty(); }), "no failure reported");
  CHECK(rig.wait_for([&] { return rig.transcripts.size() >= 1; }), "A never answered");
  {
    auto lock = rig.lock();
    CHECK(rig.health.size() == 1 && !rig.health[0].healthy,
          "%zu health reports; A's late answer must not say the service is back",
          rig.health.size());
  }
  next_wakeup(tc); /* B's retry, after Retry-After */
  gst_test_clock_crank(tc);
  CHECK(rig.wait_for([&] { return rig.health.size() >= 2; }), "B's retry not reported");
  CHECK(rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:2"; }),
        "B's transcript did not come");
  auto lock = rig.lock();
  CHECK(rig.health.size() == 2 && rig.health[1].healthy);
  expect_blocks(rig, 0, 20);
  lock.unlock();
  gst_object_unref(clock);
}

/* A batch outage window: audio piles up (nothing dropped), then drains in
 * order once the API is back, through retries and the breaker. */
static void test_backlog_drains_after_outage() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"outage","api":"batch","start":0,"duration":600,"status":503}])");
  Rig rig(emu->http_url(), 16000, 1, [](GstElement *sink) {
    g_object_set(sink, "retry-backoff-min", 20u, "retry-backoff-max", 80u, "failure-threshold", 3u,
                 "reset-timeout", 50u, "reset-timeout-max", 100u, "min-chunk", 1000u, "max-chunk",
                 2000u, "max-in-flight", 2u, nullptr);
  });
  CHECK(rig.push_blocks(0, 100, dgemu::sequence_pattern("sssssssss.."), 800) == GST_FLOW_OK);
  rig.flush(1);
  CHECK(rig.wait_for([&] { return rig.stats_notifies > 0 && emu->counters().batch_failed >= 6; }),
        "the sink did not keep retrying");
  {
    auto lock = rig.lock();
    CHECK(rig.transcripts.empty() && rig.dropped.empty());
  }
  CHECK(rig.stat_seconds("audio-backlog") > 9.99);

  emu->clear_faults(); /* the outage ends */
  CHECK(rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:1"; }),
        "backlog not drained");
  auto lock = rig.lock();
  expect_blocks(rig, 0, 100);
  CHECK(rig.dropped.empty());
  for (size_t i = 1; i < rig.transcripts.size(); i++)
    CHECK(rig.transcripts[i].start ==
          rig.transcripts[i - 1].start + rig.transcripts[i - 1].duration);
  lock.unlock();
  CHECK(rig.stat_seconds("audio-backlog") == 0.0);
  CHECK(rig.stat_u64("failures") >= 6);
  CHECK(rig.stat_seconds("audio-uploaded") > 9.99);
}

/* Past max-buffer the oldest whole chunks go, each reported with its exact
 * range; what is kept is transcribed once the API answers again. */
static void test_max_buffer_overflow_reported() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":503,"retry_after":1}])");
  GstClock *clock = gst_test_clock_new();
  GstTestClock *tc = GST_TEST_CLOCK(clock);
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "overflow", 1 /* drop-oldest */, "max-buffer", 3000u, "min-chunk", 1000u,
                 "max-chunk", 1000u, "failure-threshold", 100u, "max-in-flight", 1u, nullptr);
  });
  CHECK(rig.push_blocks(0, 60, {}, 1600) == GST_FLOW_OK);
  {
    auto lock = rig.lock();
    CHECK(rig.dropped.size() == 3, "%zu drops", rig.dropped.size());
    for (uint64_t i = 0; i < 3; i++) {
      CHECK(rig.dropped[i].start == i * GST_SECOND);
      CHECK(rig.dropped[i].duration == GST_SECOND);
      CHECK(rig.dropped[i].reason == "max-buffer");
    }
  }
  CHECK(rig.stat_seconds("audio-dropped") == 3.0);
  CHECK(rig.stat_seconds("audio-backlog") == 3.0);

  emu->clear_faults();
  rig.flush(2);
  /* Crank the retry timer until the flush is acked (a request that was on
   * its way when the faults were cleared may still have failed). */
  for (int i = 0; i < 50; i++) {
    if (rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:2"; }, 0.1))
      break;
    if (gst_test_clock_peek_next_pending_id(tc, nullptr))
      gst_test_clock_crank(tc);
  }
  auto lock = rig.lock();
  CHECK(!rig.order.empty() && rig.order.back() == "flush:2");
  expect_blocks(rig, 30, 30);
  CHECK(rig.dropped.size() == 3);
  lock.unlock();
  CHECK(rig.stat_seconds("audio-uploaded") == 3.0);
  gst_object_unref(clock);
}

/* A 400 "corrupt audio" is that chunk's problem: a warning naming its
 * range, an stt/audio-dropped, no retry, and the next chunk goes on. */
static void test_corrupt_audio_400() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":400,"count":1,"err_code":"Bad Request",
                    "err_msg":"failed to process audio: corrupt or unsupported data"}])");
  Rig rig(emu->http_url(), 16000, 1, [](GstElement *sink) {
    g_object_set(sink, "max-in-flight", 1u, "failure-threshold", 1u, nullptr);
  });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1);
  CHECK(rig.push_blocks(10, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(2);
  CHECK(rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:2"; }));
  auto lock = rig.lock();
  CHECK(rig.warnings.size() == 1);
  const GstErrorInfo &w = rig.warnings[0];
  CHECK(w.domain == GST_STREAM_ERROR && w.code == GST_STREAM_ERROR_DECODE);
  CHECK(w.http_status == 400 && w.start == 0 && w.duration == GST_SECOND);
  CHECK(w.debug.find("corrupt") != std::string::npos, "debug: %s", w.debug.c_str());
  CHECK(rig.dropped.size() == 1 && rig.dropped[0].start == 0 &&
        rig.dropped[0].duration == GST_SECOND && rig.dropped[0].reason == "rejected");
  std::vector<std::string> expected = {"ack:" + std::to_string(GST_SECOND), "flush:1",
                                       "t:" + std::to_string(GST_SECOND),
                                       "ack:" + std::to_string(2 * GST_SECOND), "flush:2"};
  CHECK(rig.order == expected);
  expect_blocks(rig, 10, 10);
  lock.unlock();
  /* Not retried, and the breaker (threshold 1) did not open on it. */
  CHECK(emu->counters().batch_failed == 1 && emu->counters().batch_ok == 1);
  CHECK(rig.stat_u64("chunks-rejected") == 1 && rig.stat_u64("retries") == 0);
}

/* A wrong key is a configuration error: ERROR, never the key in it, and
 * the audio reported dropped. */
static void test_unauthorized_401_is_error() {
  dgemu::Options options;
  options.api_key = "the-right-key";
  auto emu = start_emulator(options);
  const char *wrong_key = "wrong-key-0123456789abcdef";
  Rig rig(emu->http_url(), 16000, 1,
          [&](GstElement *sink) { g_object_set(sink, "api-key", wrong_key, nullptr); });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1);
  CHECK(rig.wait_for([&] { return !rig.errors.empty() && !rig.dropped.empty(); }));
  {
    auto lock = rig.lock();
    const GstErrorInfo &e = rig.errors[0];
    CHECK(e.domain == GST_RESOURCE_ERROR && e.code == GST_RESOURCE_ERROR_NOT_AUTHORIZED);
    CHECK(e.http_status == 401);
    CHECK(e.text.find(wrong_key) == std::string::npos);
    CHECK(e.debug.find(wrong_key) == std::string::npos);
    CHECK(rig.dropped[0].start == 0 && rig.dropped[0].duration == GST_SECOND &&
          rig.dropped[0].reason == "server-error");
    CHECK(rig.transcripts.empty());
  }
  CHECK(rig.push_blocks(10, 1, {}, 1600) == GST_FLOW_ERROR);
  CHECK(emu->counters().batch_failed == 1, "no retry after 401");
}

/* EOS during an outage waits drain-timeout (fake time), then reports the
 * untranscribed audio exactly and completes. */
static void test_eos_drain_timeout() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":503,"retry_after":5}])");
  GstClock *clock = gst_test_clock_new();
  GstTestClock *tc = GST_TEST_CLOCK(clock);
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "drain-timeout", 2000u, "min-chunk", 1000u, "max-chunk", 1000u,
                 "failure-threshold", 100u, "max-in-flight", 1u, nullptr);
  });
  CHECK(rig.push_blocks(0, 25, {}, 1600) == GST_FLOW_OK);
  gboolean eos_ok = FALSE;
  std::thread eos([&] { eos_ok = rig.eos(); });
  /* The retry (5 s) and the drain deadline (2 s) are both pending. */
  gst_test_clock_wait_for_multiple_pending_ids(tc, 2, nullptr);
  {
    auto lock = rig.lock();
    CHECK(rig.order.empty() || rig.order.back() != "drained", "EOS did not wait");
  }
  CHECK(gst_test_clock_crank(tc));
  CHECK(gst_clock_get_time(clock) == 2 * GST_SECOND);
  eos.join();
  CHECK(eos_ok);
  auto lock = rig.lock();
  CHECK(rig.order.back() == "drained");
  CHECK(rig.upstream.back().ack.position == 2500 * GST_MSECOND);
  uint64_t expected_start = 0;
  for (const auto &d : rig.dropped) {
    /* The real cause: the service kept failing, in its own words. */
    CHECK(d.reason == "server-error", "reason %s", d.reason.c_str());
    CHECK(d.detail.find("503") != std::string::npos, "detail %s", d.detail.c_str());
    CHECK(d.start == expected_start);
    expected_start += d.duration;
  }
  CHECK(expected_start == 2500 * GST_MSECOND, "dropped up to %" GST_TIME_FORMAT,
        GST_TIME_ARGS(expected_start));
  CHECK(rig.transcripts.empty());
  gst_object_unref(clock);
}

/* overflow=block: a source faster than real time waits for room instead of
 * losing audio (flow control), and goes on once the backlog moves. */
static void test_block_mode_waits_for_room() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":503,"retry_after":1}])");
  GstClock *clock = gst_test_clock_new();
  GstTestClock *tc = GST_TEST_CLOCK(clock);
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "overflow", 2 /* block */, "max-buffer", 2000u, "min-chunk", 1000u,
                 "max-chunk", 1000u, "failure-threshold", 100u, "max-in-flight", 1u, nullptr);
  });
  std::atomic<bool> pushed{false};
  GstFlowReturn ret = GST_FLOW_ERROR;
  std::thread source([&] {
    ret = rig.push_blocks(0, 50, {}, 1600);
    pushed = true;
  });
  /* The retry is pending and the source is held once more than max-buffer
   * is held (a chunk cut may pass it by up to one chunk). */
  next_wakeup(tc);
  CHECK(rig.wait_for([&] { return rig.stat_seconds("audio-backlog") >= 3.0; }, 10),
        "backlog %f pushed %d ret %d", rig.stat_seconds("audio-backlog"), (int)pushed, (int)ret);
  CHECK(!pushed, "push went through a full buffer");
  CHECK(rig.stat_seconds("audio-backlog") <= 3.0 + 1e-9);
  emu->clear_faults();
  while (!pushed) {
    if (gst_test_clock_peek_next_pending_id(tc, nullptr))
      gst_test_clock_crank(tc);
    rig.wait_for([] { return false; }, 0.01);
  }
  source.join();
  CHECK(ret == GST_FLOW_OK);
  rig.flush(3);
  for (int i = 0; i < 500; i++) {
    if (rig.wait_for([&] { return !rig.order.empty() && rig.order.back() == "flush:3"; }, 0.01))
      break;
    if (gst_test_clock_peek_next_pending_id(tc, nullptr))
      gst_test_clock_crank(tc);
  }
  auto lock = rig.lock();
  CHECK(rig.dropped.empty(), "block mode dropped audio");
  expect_blocks(rig, 0, 50);
  lock.unlock();
  gst_object_unref(clock);
}

/* FLUSH_START discards what the sink holds and says so, exactly. */
static void test_flush_start_reports_discarded() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_error","status":503,"retry_after":1}])");
  GstClock *clock = gst_test_clock_new();
  Rig rig(emu->http_url(), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "min-chunk", 1000u, "max-chunk", 1000u, "failure-threshold", 100u, nullptr);
  });
  CHECK(rig.push_blocks(0, 25, {}, 1600) == GST_FLOW_OK);
  gst_test_clock_wait_for_next_pending_id(GST_TEST_CLOCK(clock), nullptr);
  CHECK(gst_harness_push_event(rig.harness(), gst_event_new_flush_start()));
  CHECK(gst_harness_push_event(rig.harness(), gst_event_new_flush_stop(TRUE)));
  auto lock = rig.lock();
  uint64_t end = 0;
  for (const auto &d : rig.dropped) {
    CHECK(d.reason == "flush" && d.start == end);
    end += d.duration;
  }
  CHECK(end == 2500 * GST_MSECOND, "dropped up to %" GST_TIME_FORMAT, GST_TIME_ARGS(end));
  CHECK(rig.transcripts.empty());
  lock.unlock();
  CHECK(rig.stat_seconds("audio-backlog") == 0.0);
  gst_object_unref(clock);
}

/* A listener on 127.0.0.1 whose accept queue is full: the kernel drops
 * every further SYN unanswered, as a blackholed path does, without leaving
 * loopback. Returns the port; the descriptors stay open in `fds`. */
static int full_listener(std::vector<int> *fds) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  CHECK(listen(listener, 0) == 0); /* room for one queued connection */
  socklen_t len = sizeof addr;
  CHECK(getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  int filler = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(filler, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  fds->push_back(listener);
  fds->push_back(filler);
  return ntohs(addr.sin_port);
}

/* A new connection whose SYN goes unanswered fails after TCP's handshake
 * deadline (3 s), not connect-timeout (10 s here): a dead path found about
 * as fast as the live sink finds one, with a WARNING that says why. */
static void test_unanswered_handshake_fails_fast() {
  std::vector<int> fds;
  int port = full_listener(&fds);
  Rig rig("http://127.0.0.1:" + std::to_string(port), 16000, 1, [&](GstElement *sink) {
    g_object_set(sink, "min-chunk", 1000u, "max-chunk", 1000u, "connect-timeout", 10000u, nullptr);
  });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1);
  CHECK(rig.wait_for([&] { return !rig.warnings.empty(); }, 9),
        "no WARNING before connect-timeout");
  {
    auto lock = rig.lock();
    const GstErrorInfo &w = rig.warnings[0];
    CHECK(w.text.find("no answer to TCP's handshake in 3000 ms") != std::string::npos ||
              w.debug.find("no answer to TCP's handshake in 3000 ms") != std::string::npos,
          "warning: %s / %s", w.text.c_str(), w.debug.c_str());
    CHECK(rig.dropped.empty(), "audio waits for the retry, none dropped");
  }
  gst_element_set_state(rig.sink(), GST_STATE_NULL);
  for (int fd : fds)
    close(fd);
}

/* After a dead path the sink probes the host once a second; when it answers
 * the chunk goes again at once, not after its backoff (which never expires
 * here: the timer clock stands still). */
static void test_path_check_retries_when_the_path_returns() {
  std::vector<int> fds;
  int port = full_listener(&fds);
  GstClock *clock = gst_test_clock_new();
  Rig rig("http://127.0.0.1:" + std::to_string(port), 16000, 1, [&](GstElement *sink) {
    use_timer_clock(sink, clock);
    g_object_set(sink, "min-chunk", 1000u, "max-chunk", 1000u, "failure-threshold", 100u, nullptr);
  });
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1);
  CHECK(rig.wait_for([&] { return !rig.warnings.empty(); }, 9));
  /* The network comes back: a Deepgram answers on the same port. */
  for (int fd : fds)
    close(fd);
  dgemu::Options options;
  options.port = port;
  auto emu = start_emulator(options);
  CHECK(rig.wait_for([&] { return !rig.transcripts.empty(); }, 10),
        "no retry after the path came back");
  auto lock = rig.lock();
  expect_blocks(rig, 0, 10);
  CHECK(gst_clock_get_time(clock) == 0, "the backoff did not pass");
  lock.unlock();
  gst_element_set_state(rig.sink(), GST_STATE_NULL);
  gst_object_unref(clock);
}

int main(int argc, char **argv) {
  return run_tests(
      argc, argv,
      {
          {"/dgbatchsink-faults/retry-after-honoured", test_retry_after_honoured},
          {"/dgbatchsink-faults/stale-success-is-not-recovery", test_stale_success_is_not_recovery},
          {"/dgbatchsink-faults/backlog-drains-after-outage", test_backlog_drains_after_outage},
          {"/dgbatchsink-faults/max-buffer-overflow-reported", test_max_buffer_overflow_reported},
          {"/dgbatchsink-faults/corrupt-audio-400", test_corrupt_audio_400},
          {"/dgbatchsink-faults/unauthorized-401-is-error", test_unauthorized_401_is_error},
          {"/dgbatchsink-faults/eos-drain-timeout", test_eos_drain_timeout},
          {"/dgbatchsink-faults/block-mode-waits-for-room", test_block_mode_waits_for_room},
          {"/dgbatchsink-faults/flush-start-reports-discarded", test_flush_start_reports_discarded},
          {"/dgbatchsink-faults/unanswered-handshake-fails-fast",
           test_unanswered_handshake_fails_fast},
          {"/dgbatchsink-faults/path-check-retries-when-the-path-returns",
           test_path_check_retries_when_the_path_returns},
      });
}
