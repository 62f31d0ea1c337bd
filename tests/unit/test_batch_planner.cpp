/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink's planner on fake time: cuts and the in-flight limit, results
 * in order, retries through the breaker, permanent failures, bad bodies,
 * max-buffer, flush marks, the EOS drain and max-outage. */
#include <glib.h>

#include <cstring>
#include <string>
#include <vector>

#include "batch_planner.h"

#include "action_queries.h"

using namespace dgf;

static const uint64_t MS = 1000000;
static const uint64_t S = 1000 * MS;
static const int kRate = 16000;

static UploadReport answered(const std::string &text = "hello") {
  UploadReport r;
  r.verdict = UploadVerdict::Transcribed;
  r.status = 200;
  PrerecordedResponse body;
  Transcript t;
  t.text = text;
  body.channels.push_back(t);
  r.response = body;
  return r;
}

static UploadReport failed(unsigned status, UploadVerdict verdict = UploadVerdict::Retry) {
  UploadReport r;
  r.verdict = verdict;
  r.status = status;
  r.error = "HTTP " + std::to_string(status);
  r.described = r.error;
  return r;
}

/* The planner on fake time, mono 16 kHz, with a breaker that grants. */
struct Rig {
  BatchPlanner p;
  uint64_t now = 1000 * S;
  uint64_t pts = 0;
  int sessions = 0;

  static BatchSettings defaults() {
    BatchSettings s;
    s.chunker.min_chunk = 1 * S;
    s.chunker.max_chunk = 1 * S; /* steady speech is cut at exactly 1 s */
    s.max_in_flight = 2;
    s.backoff = BackoffPolicy{std::chrono::milliseconds{1000}, std::chrono::milliseconds{8000}};
    return s;
  }
  explicit Rig(BatchSettings s = defaults())
      : p(
            s, [] { return 0.5; }, [this] { return "s" + std::to_string(++sessions); }) {
    BatchActions ignored;
    p.set_format(kRate, 1, ignored);
  }

  /* `duration` of speech (a loud square wave) or of silence, from pts. */
  BatchActions audio(uint64_t duration, bool loud = true, bool block = false,
                     BatchPush *result = nullptr) {
    size_t frames = duration * kRate / S;
    std::vector<int16_t> samples(frames);
    for (size_t i = 0; i < frames; i++)
      samples[i] = loud ? ((i / 8) % 2 ? 8000 : -8000) : 0;
    BatchActions out;
    BatchPush r = p.push(pts, samples.data(), frames, block, out);
    if (result)
      *result = r;
    pts += duration;
    return out;
  }
  /* One poll/permit round trip per upload it may start; the ids started. */
  std::vector<uint64_t> pump(BatchActions *log = nullptr) {
    std::vector<uint64_t> started;
    for (;;) {
      BatchActions a = p.poll(now);
      if (log)
        log->insert(log->end(), a.begin(), a.end());
      auto ask = all<batch::AcquirePermit>(a);
      if (ask.empty())
        return started;
      BatchActions b = p.on_permit(ask[0].id, true, 0, now);
      auto s = all<batch::StartUpload>(b);
      g_assert_cmpuint(s.size(), ==, 1);
      started.push_back(s[0].id);
    }
  }
};

/* Alone with live input, an answer that took longer than its chunk's audio
 * (and over 10 s) means captions fall behind: one TooSlow per stretch, again
 * only after an answer in under half its audio. Never for a file, never
 * under a supervisor (the failover judges lateness for the bin). */
static void test_answers_slower_than_the_audio_warn_once() {
  BatchSettings s = Rig::defaults();
  s.chunker.min_chunk = 12 * S;
  s.chunker.max_chunk = 12 * S;
  s.max_in_flight = 1;
  for (int mode = 0; mode < 3; mode++) { /* alone and live; a file; supervised */
    Rig r(s);
    r.p.set_live(mode != 1);
    if (mode == 2)
      r.p.set_supervised(true);
    BatchActions log;
    auto chunk = [&](uint64_t took) {
      r.audio(12 * S);
      auto started = r.pump(&log);
      g_assert_cmpuint(started.size(), ==, 1);
      r.now += took;
      auto a = r.p.on_upload_done(started[0], answered(), r.now);
      log.insert(log.end(), a.begin(), a.end());
    };
    chunk(3 * S);
    chunk(13 * S); /* slower than its 12 s */
    chunk(20 * S); /* the same stretch */
    chunk(5 * S);  /* caught up */
    chunk(14 * S);
    auto slow = all<batch::Warn>(log);
    g_assert_cmpuint(slow.size(), ==, mode == 0 ? 2 : 0);
    if (mode == 0)
      g_assert_nonnull(strstr(slow[0].message.c_str(), "a 12.0 s chunk took 13.0 s"));
  }
}

/* The request still out is what captions wait for: once it has taken longer
 * than its audio (and over 10 s) the TooSlow comes then, not with its answer,
 * and the answer makes no second one. */
static void test_too_slow_warns_while_the_request_is_out() {
  BatchSettings s = Rig::defaults();
  s.chunker.min_chunk = 12 * S;
  s.chunker.max_chunk = 12 * S;
  s.max_in_flight = 1;
  Rig r(s);
  r.p.set_live(true);
  BatchActions log;
  r.audio(12 * S);
  auto started = r.pump(&log);
  g_assert_cmpuint(started.size(), ==, 1);
  r.now += 11 * S;
  r.pump(&log);
  g_assert_cmpuint(all<batch::Warn>(log).size(), ==, 0); /* 11 s of its 12: on pace */
  r.now += 2 * S;
  r.audio(1 * S); /* live audio keeps coming: each push polls */
  r.pump(&log);
  auto slow = all<batch::Warn>(log);
  g_assert_cmpuint(slow.size(), ==, 1);
  g_assert_nonnull(strstr(slow[0].message.c_str(), "a 12.0 s chunk has taken 13.0 s so far"));
  r.now += 7 * S;
  auto a = r.p.on_upload_done(started[0], answered(), r.now);
  log.insert(log.end(), a.begin(), a.end());
  r.pump(&log);
  g_assert_cmpuint(all<batch::Warn>(log).size(), ==, 1);
}

static void test_cuts_and_in_flight_limit() {
  BatchSettings s = Rig::defaults();
  s.chunker.max_chunk = 10 * S;
  Rig r(s);
  /* Speech, a pause, speech, a pause, speech, a pause: three chunks. */
  BatchActions a;
  for (int i = 0; i < 3; i++) {
    r.audio(1200 * MS);
    auto cut = r.audio(500 * MS, false);
    a.insert(a.end(), cut.begin(), cut.end());
  }
  g_assert_cmpuint(r.p.stats().backlog, >=, 3 * 1200 * MS);
  BatchActions log;
  auto started = r.pump(&log);
  g_assert_cmpuint(started.size(), ==, 2); /* max-in-flight */
  g_assert_cmpuint(started[0], ==, 1);
  g_assert_cmpuint(started[1], ==, 2);
  g_assert_cmpuint(r.p.stats().in_flight, ==, 2);
  g_assert_cmpuint(r.p.stats().requests, ==, 2);
  /* Every cut fell inside a pause, after at least min-chunk. */
  auto logs = all<batch::Log>(a);
  g_assert_cmpuint(logs.size(), ==, 3);
  for (auto &l : logs)
    g_assert_nonnull(strstr(l.text.c_str(), "(pause)"));

  auto done = r.p.on_upload_done(1, answered(), r.now);
  g_assert_cmpuint(all<batch::ReportBreaker>(done).size(), ==, 1);
  g_assert_true(first<batch::ReportBreaker>(done).outcome == BreakerOutcome::Success);
  started = r.pump(&log);
  g_assert_cmpuint(started.size(), ==, 1);
  g_assert_cmpuint(started[0], ==, 3);
  auto results = all<batch::Transcribed>(log);
  g_assert_cmpuint(results.size(), ==, 1);
  g_assert_cmpuint(results[0].start, ==, 0);
  g_assert_cmpuint(results[0].end, >=, 1200 * MS);
  g_assert_cmpuint(results[0].end, <=, 1700 * MS);
  g_assert_cmpstr(results[0].session_id.c_str(), ==, "s1");
}

static void test_results_leave_in_order() {
  BatchSettings s = Rig::defaults();
  s.max_in_flight = 3;
  Rig r(s);
  r.audio(3 * S); /* three 1 s chunks */
  r.p.flush_mark(7);
  g_assert_cmpuint(r.pump().size(), ==, 3);
  BatchActions a = r.p.on_upload_done(3, answered("three"), r.now);
  auto more = r.p.on_upload_done(2, answered("two"), r.now);
  a.insert(a.end(), more.begin(), more.end());
  more = r.p.poll(r.now);
  a.insert(a.end(), more.begin(), more.end());
  g_assert_cmpuint(count<batch::Transcribed>(a), ==, 0); /* chunk 1 holds them back */
  g_assert_cmpuint(count<batch::Ack>(a), ==, 0);

  a = r.p.on_upload_done(1, answered("one"), r.now);
  more = r.p.poll(r.now);
  a.insert(a.end(), more.begin(), more.end());
  std::vector<std::string> order;
  for (auto &x : a) {
    if (auto *t = std::get_if<batch::Transcribed>(&x))
      order.push_back(t->response->channels[0].text + "@" + std::to_string(t->start / MS));
    else if (auto *k = std::get_if<batch::Ack>(&x))
      order.push_back("ack" + std::to_string(k->flush_id) + "@" + std::to_string(k->position / MS));
  }
  std::vector<std::string> want = {"one@0",      "ack0@1000", "two@1000", "ack0@2000",
                                   "three@2000", "ack0@3000", "ack7@3000"};
  g_assert_cmpuint(order.size(), ==, want.size());
  for (size_t i = 0; i < want.size(); i++)
    g_assert_cmpstr(order[i].c_str(), ==, want[i].c_str());
  g_assert_cmpuint(r.p.stats().chunks_transcribed, ==, 3);
  g_assert_cmpuint(r.p.stats().uploaded, ==, 3 * S);
}

static void test_flush_mark_waits_for_what_precedes_it() {
  Rig r;
  r.audio(1 * S);
  r.audio(300 * MS);
  auto a = r.p.flush_mark(4); /* cuts the 300 ms */
  g_assert_cmpuint(count<batch::Ack>(a), ==, 0);
  g_assert_cmpuint(r.pump().size(), ==, 2);
  a = r.p.on_upload_done(2, answered(), r.now);
  auto more = r.p.poll(r.now);
  g_assert_cmpuint(count<batch::Ack>(more), ==, 0);
  r.p.on_upload_done(1, answered(), r.now);
  a = r.p.poll(r.now);
  auto acks = all<batch::Ack>(a);
  g_assert_cmpuint(acks.size(), ==, 3);
  g_assert_cmpuint(acks[2].flush_id, ==, 4);
  g_assert_cmpuint(acks[2].position, ==, 1300 * MS);
}

/* stt/retry-now (the path is back): the backoff's hold is skipped, a
 * server's Retry-After is not. */
/* The service answers again: a request sent during the outage (stuck in a
 * connect or an upload into the blackhole) is cancelled and sent again at
 * once, since the oldest chunk holds every result behind it; one sent before
 * the outage is left alone. A request from the outage that fails after the
 * recovery is no new outage: no unhealthy report, no backoff, no breaker
 * failure, sent again now. */
static void test_outage_requests_go_again_on_recovery() {
  BatchSettings settings = Rig::defaults();
  settings.max_in_flight = 3;
  Rig r(settings);
  r.audio(1 * S);
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 2); /* chunks 1 and 2, before the outage */
  r.now += 100 * MS;
  auto a = r.p.on_upload_done(1, failed(503), r.now); /* the outage starts */
  g_assert_false(first<batch::Health>(a).healthy);
  r.now += 1 * S;
  r.p.on_retry_timer();
  r.audio(1 * S);
  auto started = r.pump(); /* chunk 1 again, and 3: sent during the outage */
  g_assert_cmpuint(started.size(), ==, 2);
  g_assert_cmpuint(started[1], ==, 3);
  r.now += 100 * MS;
  a = r.p.on_upload_done(1, answered(), r.now); /* back */
  g_assert_true(first<batch::Health>(a).healthy);
  auto cancel = all<batch::CancelUpload>(a);
  g_assert_cmpuint(cancel.size(), ==, 1); /* 3; not 2, sent before the outage */
  g_assert_cmpuint(cancel[0].id, ==, 3);
  r.p.on_upload_done(3, failed(0, UploadVerdict::Cancelled), r.now);
  started = r.pump();
  g_assert_cmpuint(started.size(), ==, 1); /* at once */
  g_assert_cmpuint(started[0], ==, 3);
  /* Chunk 2, sent before the service came back, fails after: stale. */
  r.now += 100 * MS;
  a = r.p.on_upload_done(2, failed(0), r.now);
  g_assert_cmpuint(count<batch::Health>(a), ==, 0);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Cancelled);
  started = r.pump();
  g_assert_cmpuint(started.size(), ==, 1); /* no backoff */
  g_assert_cmpuint(started[0], ==, 2);
}

static void test_retry_now_skips_backoff_not_retry_after() {
  Rig r;
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 1);
  r.p.on_upload_done(1, failed(503), r.now);
  g_assert_cmpuint(count<batch::AcquirePermit>(r.p.poll(r.now)), ==, 0);
  r.now += 100 * MS;
  g_assert_true(r.p.retry_now(r.now));
  g_assert_cmpuint(r.pump().size(), ==, 1); /* sent at once, not at +500 ms */
  g_assert_false(r.p.retry_now(r.now));     /* nothing held now */

  UploadReport busy = failed(503);
  busy.retry_after = std::chrono::milliseconds{5000};
  r.p.on_upload_done(1, busy, r.now);
  g_assert_false(r.p.retry_now(r.now));
  g_assert_cmpuint(count<batch::AcquirePermit>(r.p.poll(r.now)), ==, 0);
  r.now += 5 * S;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);
}

/* 429 is Deepgram's concurrency cap: the service works. The chunk waits a
 * short jittered backoff (capped at 4 s) or Retry-After and goes again; no
 * breaker failure, no unhealthy report, one WARNING a minute. */
static void test_throttled_is_no_outage() {
  Rig r;
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 1);
  UploadReport busy = failed(429, UploadVerdict::Throttled);
  auto a = r.p.on_upload_done(1, busy, r.now);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Cancelled);
  g_assert_cmpuint(count<batch::Health>(a), ==, 0);
  g_assert_cmpuint(count<batch::Warn>(a), ==, 1);
  a = r.p.poll(r.now);
  g_assert_cmpuint(count<batch::AcquirePermit>(a), ==, 0);
  g_assert_cmpuint(first<batch::ArmRetryTimer>(a).at, ==, r.now + 500 * MS); /* jitter 0.5 */
  uint64_t last_delay = 0;
  for (int i = 0; i < 6; i++) { /* the ceiling doubles to its 4 s cap */
    r.now += 4 * S;
    r.p.on_retry_timer();
    g_assert_cmpuint(r.pump().size(), ==, 1);
    a = r.p.on_upload_done(1, busy, r.now);
    g_assert_cmpuint(count<batch::Warn>(a), ==, 0); /* once a minute */
    last_delay = first<batch::ArmRetryTimer>(r.p.poll(r.now)).at - r.now;
  }
  g_assert_cmpuint(last_delay, ==, 2 * S);
  /* Retry-After still holds. */
  r.now += 4 * S;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);
  busy.retry_after = std::chrono::milliseconds{7000};
  r.p.on_upload_done(1, busy, r.now);
  g_assert_cmpuint(first<batch::ArmRetryTimer>(r.p.poll(r.now)).at, ==, r.now + 7 * S);
  r.now += 7 * S;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);
  a = r.p.on_upload_done(1, answered(), r.now);
  g_assert_cmpuint(count<batch::Health>(a), ==, 0);
  g_assert_cmpuint(r.p.stats().throttled, ==, 8);
  g_assert_cmpuint(r.p.stats().failures, ==, 0);
  /* A minute on, throttling is said again. */
  r.now += 61 * S;
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 1);
  g_assert_cmpuint(count<batch::Warn>(r.p.on_upload_done(2, busy, r.now)), ==, 1);
}

static void test_retry_backoff_retry_after_and_breaker() {
  Rig r;
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 1);

  /* 503: a failure for the breaker, unhealthy once, retried after backoff. */
  auto a = r.p.on_upload_done(1, failed(503), r.now);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Failure);
  g_assert_true(first<batch::ReportBreaker>(a).source == FailureSource::Service); /* answered */
  auto health = all<batch::Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_false(health[0].healthy);
  g_assert_cmpint(health[0].code, ==, 503);
  a = r.p.poll(r.now);
  g_assert_cmpuint(count<batch::AcquirePermit>(a), ==, 0);
  auto timers = all<batch::ArmRetryTimer>(a);
  g_assert_cmpuint(timers.size(), ==, 1);
  g_assert_cmpuint(timers[0].at, ==, r.now + 500 * MS); /* 1 s ceiling, jitter 0.5 */
  g_assert_cmpuint(count<batch::ArmRetryTimer>(r.p.poll(r.now)), ==, 0); /* already armed */

  r.now += 500 * MS;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);

  /* 503 with Retry-After 5 s: above the backoff (2 s ceiling -> 1 s). */
  UploadReport busy = failed(503);
  busy.retry_after = std::chrono::milliseconds{5000};
  a = r.p.on_upload_done(1, busy, r.now);
  g_assert_cmpuint(count<batch::Health>(a), ==, 0); /* already unhealthy */
  a = r.p.poll(r.now);
  g_assert_cmpuint(first<batch::ArmRetryTimer>(a).at, ==, r.now + 5 * S);
  r.now += 4999 * MS;
  r.p.on_retry_timer();
  g_assert_cmpuint(count<batch::AcquirePermit>(r.p.poll(r.now)), ==, 0);
  r.now += 1 * MS;
  r.p.on_retry_timer();

  /* The breaker refuses: try again when it says. */
  a = r.p.poll(r.now);
  auto ask = all<batch::AcquirePermit>(a);
  g_assert_cmpuint(ask.size(), ==, 1);
  a = r.p.on_permit(ask[0].id, false, 2 * S, r.now);
  g_assert_cmpuint(count<batch::StartUpload>(a), ==, 0);
  g_assert_cmpuint(first<batch::ArmRetryTimer>(a).at, ==, r.now + 2 * S);
  r.now += 2 * S;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);

  a = r.p.on_upload_done(1, answered(), r.now);
  health = all<batch::Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_true(health[0].healthy);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Success);
  BatchStats st = r.p.stats();
  g_assert_cmpuint(st.requests, ==, 3);
  g_assert_cmpuint(st.retries, ==, 2);
  g_assert_cmpuint(st.failures, ==, 2);
  g_assert_cmpuint(count<batch::Transcribed>(r.p.poll(r.now)), ==, 1);
}

/* A request sent before the latest failure succeeds: that proves the audio
 * got through, not that the service is back. */
static void test_old_success_is_not_recovery() {
  Rig r;
  r.audio(2 * S);
  g_assert_cmpuint(r.pump().size(), ==, 2);
  auto a = r.p.on_upload_done(2, failed(503), r.now);
  g_assert_false(first<batch::Health>(a).healthy);
  a = r.p.on_upload_done(1, answered(), r.now);
  g_assert_cmpuint(count<batch::Health>(a), ==, 0);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Success);
  a = r.p.poll(r.now); /* still held back by the backoff */
  g_assert_cmpuint(count<batch::AcquirePermit>(a), ==, 0);
  g_assert_cmpuint(first<batch::ArmRetryTimer>(a).at, ==, r.now + 500 * MS);
  r.now += 500 * MS;
  r.p.on_retry_timer();
  g_assert_cmpuint(r.pump().size(), ==, 1);
  a = r.p.on_upload_done(2, answered(), r.now);
  g_assert_true(first<batch::Health>(a).healthy);
}

static void test_permanent_failure_alone_is_fatal() {
  Rig r;
  r.audio(2 * S);
  g_assert_cmpuint(r.pump().size(), ==, 2);
  UploadReport refused = failed(401, UploadVerdict::Fatal);
  refused.hint = "check the API key";
  auto a = r.p.on_upload_done(1, refused, r.now);
  auto fatal = all<batch::Fatal>(a);
  g_assert_cmpuint(fatal.size(), ==, 1);
  g_assert_cmpuint(fatal[0].fatal.status, ==, 401);
  g_assert_cmpstr(fatal[0].fatal.hint.c_str(), ==, "check the API key");
  auto cancel = all<batch::CancelUpload>(a);
  g_assert_cmpuint(cancel.size(), ==, 1); /* the other upload */
  g_assert_cmpuint(cancel[0].id, ==, 2);
  g_assert_false(first<batch::Health>(a).retryable);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Cancelled);
  g_assert_true(r.p.fatal());

  BatchPush result;
  a = r.audio(100 * MS, true, false, &result);
  g_assert_true(result == BatchPush::Error);
  g_assert_true(r.p.begin_drain(10 * S, r.now, a) == BatchPush::Error);
}

static void test_permanent_failure_supervised_drops() {
  Rig r;
  r.p.set_supervised(true);
  r.audio(1 * S);
  r.pump();
  auto a = r.p.on_upload_done(1, failed(402, UploadVerdict::Fatal), r.now);
  g_assert_cmpuint(count<batch::Fatal>(a), ==, 1); /* the shell makes it a WARNING */
  a = r.p.poll(r.now);
  auto dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].start, ==, 0);
  g_assert_cmpuint(dropped[0].duration, ==, 1 * S);
  g_assert_cmpstr(dropped[0].reason.c_str(), ==, "server-error");

  BatchPush result;
  a = r.audio(100 * MS, true, false, &result);
  g_assert_true(result == BatchPush::Ok);
  dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].start, ==, 1 * S);
  g_assert_cmpuint(dropped[0].duration, ==, 100 * MS);
  g_assert_cmpuint(count<batch::AcquirePermit>(r.p.poll(r.now)), ==, 0);
  g_assert_true(r.p.begin_drain(10 * S, r.now, a) == BatchPush::Ok);
  auto acks = all<batch::Ack>(r.p.poll(r.now));
  g_assert_cmpuint(acks.size(), ==, 1);
  g_assert_true(acks[0].drained);
}

static void test_unreadable_2xx_rejected_after_max() {
  BatchSettings s = Rig::defaults();
  s.max_bad_responses = 3;
  Rig r(s);
  r.audio(1 * S);
  UploadReport garbage = failed(200, UploadVerdict::Transcribed); /* no parsed body */
  for (int attempt = 1; attempt <= 3; attempt++) {
    g_assert_cmpuint(r.pump().size(), ==, 1);
    auto a = r.p.on_upload_done(1, garbage, r.now);
    g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Failure);
    a = r.p.poll(r.now);
    if (attempt < 3) {
      g_assert_cmpuint(count<batch::Rejected>(a), ==, 0);
      r.now += 10 * S;
      r.p.on_retry_timer();
      continue;
    }
    auto rejected = all<batch::Rejected>(a);
    g_assert_cmpuint(rejected.size(), ==, 1);
    g_assert_cmpuint(rejected[0].rejection.status, ==, 200);
    g_assert_cmpuint(rejected[0].rejection.duration, ==, 1 * S);
    auto dropped = all<batch::Dropped>(a);
    g_assert_cmpuint(dropped.size(), ==, 1);
    g_assert_cmpstr(dropped[0].reason.c_str(), ==, "rejected");
    g_assert_cmpuint(first<batch::Ack>(a).position, ==, 1 * S);
  }
  g_assert_cmpuint(r.p.stats().chunks_rejected, ==, 1);
  g_assert_cmpuint(r.p.stats().failures, ==, 2);
}

static void test_overflow_drops_oldest_with_exact_ranges() {
  BatchSettings s = Rig::defaults();
  s.max_buffer = 2 * S;
  Rig r(s);
  /* Chunk 1 joins two stretches over a gap: [0, 0.4 s) and [1 s, 1.6 s). */
  r.audio(400 * MS);
  r.pts = 1 * S;
  r.audio(600 * MS);
  r.p.flush_mark(1);
  g_assert_cmpuint(r.pump().size(), ==, 1);  /* chunk 1 in flight */
  r.p.on_upload_done(1, failed(503), r.now); /* down: nothing leaves */
  r.pump();
  r.audio(1 * S); /* chunk 3: [1.6, 2.6) */
  g_assert_cmpuint(r.p.stats().backlog, ==, 2 * S);
  auto a = r.audio(1 * S); /* chunk 4: past max-buffer */
  auto dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 2);
  g_assert_cmpuint(dropped[0].start, ==, 0);
  g_assert_cmpuint(dropped[0].duration, ==, 400 * MS);
  g_assert_cmpuint(dropped[1].start, ==, 1 * S);
  g_assert_cmpuint(dropped[1].duration, ==, 600 * MS);
  g_assert_cmpstr(dropped[0].reason.c_str(), ==, "max-buffer");
  g_assert_cmpuint(count<batch::CancelUpload>(a), ==, 0); /* it was not in flight */
  g_assert_cmpuint(r.p.stats().backlog, ==, 2 * S);
  g_assert_cmpuint(r.p.stats().dropped, ==, 1 * S);
}

static void test_overflow_cancels_in_flight() {
  BatchSettings s = Rig::defaults();
  s.max_buffer = 1 * S;
  Rig r(s);
  r.audio(1 * S);
  g_assert_cmpuint(r.pump().size(), ==, 1);
  auto a = r.audio(1 * S);
  g_assert_cmpuint(first<batch::Dropped>(a).start, ==, 0);
  auto cancel = all<batch::CancelUpload>(a);
  g_assert_cmpuint(cancel.size(), ==, 1);
  g_assert_cmpuint(cancel[0].id, ==, 1);
  a = r.p.on_upload_done(1, failed(0, UploadVerdict::Cancelled), r.now);
  g_assert_true(first<batch::ReportBreaker>(a).outcome == BreakerOutcome::Cancelled);
  g_assert_cmpuint(count<batch::Transcribed>(r.p.poll(r.now)), ==, 0);
}

static void test_overflow_blocks() {
  BatchSettings s = Rig::defaults();
  s.max_buffer = 2 * S;
  Rig r(s);
  BatchPush result;
  for (int i = 0; i < 3; i++) {
    auto a = r.audio(1 * S, true, true, &result);
    g_assert_true(result == BatchPush::Ok);
    g_assert_cmpuint(count<batch::Dropped>(a), ==, 0);
  }
  g_assert_false(r.p.has_room()); /* the pusher waits */
  auto a = r.audio(1 * S, true, true, &result);
  g_assert_true(result == BatchPush::Interrupted); /* woken without room */
  g_assert_cmpuint(r.p.stats().dropped, ==, 0);
  g_assert_cmpuint(r.pump().size(), ==, 2);
  r.p.on_upload_done(1, answered(), r.now);
  a = r.p.poll(r.now);
  g_assert_cmpuint(count<batch::Wake>(a), ==, 1);
  g_assert_true(r.p.has_room());
}

static void test_drain_counts_from_last_transcribed() {
  Rig r;
  r.p.set_live(false);
  r.audio(2 * S);
  r.pump();
  BatchActions a;
  g_assert_true(r.p.begin_drain(10 * S, r.now, a) == BatchPush::Ok);
  uint64_t eos = r.now;
  g_assert_cmpuint(first<batch::ArmDrainTimer>(a).at, ==, eos + 10 * S);
  r.now = eos + 8 * S;
  a = r.p.on_upload_done(1, answered(), r.now);
  g_assert_cmpuint(first<batch::ArmDrainTimer>(a).at, ==, eos + 18 * S);
  g_assert_false(r.p.drain_expired());
  r.now = eos + 18 * S;
  r.p.on_drain_timer();
  g_assert_true(r.p.drain_expired());
  a = r.p.expire_drain();
  g_assert_cmpuint(all<batch::Transcribed>(a).size(), ==, 1);
  auto dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].start, ==, 1 * S);
  g_assert_cmpstr(dropped[0].reason.c_str(), ==, "drain-timeout");
  g_assert_cmpuint(first<batch::CancelUpload>(a).id, ==, 2);
  auto acks = all<batch::Ack>(a);
  g_assert_cmpuint(acks.size(), ==, 3);
  g_assert_true(acks[2].drained);
  g_assert_cmpuint(acks[2].position, ==, 2 * S);
}

static void test_drain_live_failing_short_grace() {
  Rig r; /* live */
  r.audio(1 * S);
  r.pump();
  BatchActions a;
  r.p.begin_drain(10 * S, r.now, a);
  a = r.p.on_upload_done(1, failed(0), r.now); /* no answer */
  g_assert_cmpuint(first<batch::ArmDrainTimer>(a).at, ==, r.now + 3 * S);
  r.p.on_drain_timer();
  a = r.p.expire_drain();
  auto dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpstr(dropped[0].reason.c_str(), ==, "connect-failed");
  g_assert_cmpstr(dropped[0].detail.c_str(), ==, "HTTP 0 until drain-timeout");
}

static void test_max_outage_non_live() {
  Rig r;
  r.p.set_live(false);
  r.audio(1 * S);
  r.pump();
  uint64_t first = r.now;
  r.p.on_upload_done(1, failed(503), r.now);
  for (uint64_t t = first; t < first + 120 * S; t += 10 * S) {
    r.now = t;
    r.p.on_retry_timer();
    auto started = r.pump();
    for (uint64_t id : started)
      g_assert_cmpuint(count<batch::Fatal>(r.p.on_upload_done(id, failed(503), r.now)), ==, 0);
  }
  r.now = first + 120 * S - 1;
  g_assert_cmpuint(count<batch::Fatal>(r.p.poll(r.now)), ==, 0);
  r.now = first + 120 * S;
  auto a = r.p.poll(r.now);
  auto fatal = all<batch::Fatal>(a);
  g_assert_cmpuint(fatal.size(), ==, 1);
  g_assert_nonnull(strstr(fatal[0].fatal.reason.c_str(), "120 s (max-outage): HTTP 503"));
  g_assert_cmpuint(count<batch::AcquirePermit>(a), ==, 0);
}

static void test_max_outage_never_live_or_supervised() {
  for (bool supervised : {false, true}) {
    Rig r;
    r.p.set_live(supervised ? false : true);
    r.p.set_supervised(supervised);
    r.audio(1 * S);
    r.pump();
    r.p.on_upload_done(1, failed(503), r.now);
    r.now += 1000 * S;
    g_assert_cmpuint(count<batch::Fatal>(r.p.poll(r.now)), ==, 0);
    g_assert_false(r.p.fatal());
  }
}

static void test_flushing_discards_and_holds() {
  Rig r;
  r.audio(1 * S);
  r.audio(200 * MS);
  r.pump();
  auto a = r.p.set_flushing(true, "flush");
  auto dropped = all<batch::Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 2); /* the chunk and the pending 200 ms */
  g_assert_cmpuint(dropped[1].start, ==, 1 * S);
  g_assert_cmpuint(dropped[1].duration, ==, 200 * MS);
  g_assert_cmpuint(first<batch::CancelUpload>(a).id, ==, 1);
  BatchPush result;
  r.audio(100 * MS, true, false, &result);
  g_assert_true(result == BatchPush::Flushing);
  r.p.set_flushing(false, "flush");
  r.audio(100 * MS, true, false, &result);
  g_assert_true(result == BatchPush::Ok);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/batch/throttled-is-no-outage", test_throttled_is_no_outage);
  g_test_add_func("/batch/outage-requests-go-again-on-recovery",
                  test_outage_requests_go_again_on_recovery);
  g_test_add_func("/batch/too-slow-warns-once", test_answers_slower_than_the_audio_warn_once);
  g_test_add_func("/batch/too-slow-warns-while-the-request-is-out",
                  test_too_slow_warns_while_the_request_is_out);
  g_test_add_func("/batch/cuts-and-in-flight-limit", test_cuts_and_in_flight_limit);
  g_test_add_func("/batch/results-in-order", test_results_leave_in_order);
  g_test_add_func("/batch/flush-mark-after-preceding", test_flush_mark_waits_for_what_precedes_it);
  g_test_add_func("/batch/retry-backoff-retry-after-breaker",
                  test_retry_backoff_retry_after_and_breaker);
  g_test_add_func("/batch/retry-now", test_retry_now_skips_backoff_not_retry_after);
  g_test_add_func("/batch/old-success-is-not-recovery", test_old_success_is_not_recovery);
  g_test_add_func("/batch/permanent-alone-fatal", test_permanent_failure_alone_is_fatal);
  g_test_add_func("/batch/permanent-supervised-drops", test_permanent_failure_supervised_drops);
  g_test_add_func("/batch/unreadable-2xx-rejected", test_unreadable_2xx_rejected_after_max);
  g_test_add_func("/batch/overflow-drops-oldest", test_overflow_drops_oldest_with_exact_ranges);
  g_test_add_func("/batch/overflow-cancels-in-flight", test_overflow_cancels_in_flight);
  g_test_add_func("/batch/overflow-blocks", test_overflow_blocks);
  g_test_add_func("/batch/drain-from-last-transcribed", test_drain_counts_from_last_transcribed);
  g_test_add_func("/batch/drain-live-failing-grace", test_drain_live_failing_short_grace);
  g_test_add_func("/batch/max-outage-non-live", test_max_outage_non_live);
  g_test_add_func("/batch/max-outage-never-live-supervised",
                  test_max_outage_never_live_or_supervised);
  g_test_add_func("/batch/flushing", test_flushing_discards_and_holds);
  return g_test_run();
}
