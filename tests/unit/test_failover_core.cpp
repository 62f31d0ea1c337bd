/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The failover state machine on fake time: every transition, messages
 * exactly once, replay exactness across cuts, drops, modes. */
#include <glib.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "failover_core.h"

#include "action_queries.h"

using namespace dgf;

static const uint64_t MS = 1000000;
static const uint64_t S = 1000 * MS;

/* A payload that knows which audio it is: [start, start + duration). */
struct Span : AudioPayload {
  uint64_t start, duration;
  Span(uint64_t s, uint64_t d) : start(s), duration(d) {}
  PayloadRef trimmed(uint64_t skip) const override {
    return std::make_shared<Span>(start + skip, duration - skip);
  }
};

static const Span &span(const act::PushAudio &p) {
  return static_cast<const Span &>(*p.payload);
}

/* The core, fake time, 100 ms buffers, and a log of every action. */
struct Rig {
  FailoverCore core;
  uint64_t now = 1000 * S;
  uint64_t pts = 0;
  FailoverActions log;
  std::string session = "s1";
  BreakerView breaker;

  explicit Rig(FailoverSettings settings = {}) : core(settings, [] { return 0.5; }) {}

  FailoverActions keep(FailoverActions a) {
    log.insert(log.end(), a.begin(), a.end());
    return a;
  }
  FailoverActions buffer(uint64_t duration = 100 * MS,
                         uint64_t quiet_before = FailoverCore::kQuietUnknown) {
    auto a =
        core.on_buffer(pts, duration, std::make_shared<Span>(pts, duration), now, quiet_before);
    pts += duration;
    now += duration;
    return keep(a);
  }
  FailoverActions buffers(int n) {
    FailoverActions all_actions;
    for (int i = 0; i < n; i++) {
      auto a = buffer();
      all_actions.insert(all_actions.end(), a.begin(), a.end());
    }
    return all_actions;
  }
  FailoverActions healthy(const std::string &sid) {
    session = sid;
    return keep(core.on_health(Branch::Stream, SinkHealth{true, "connected", 0, true, sid}, now));
  }
  FailoverActions unhealthy(const std::string &reason = "closed 1011", int code = 1011) {
    return keep(
        core.on_health(Branch::Stream, SinkHealth{false, reason, code, true, session}, now));
  }
  FailoverActions ack(uint64_t position, Branch b = Branch::Stream, uint32_t flush_id = 0) {
    return keep(core.on_ack(
        b, AckReport{position, b == Branch::Stream ? session : "batch", flush_id, false}, now));
  }
  FailoverActions final_text(Branch b, uint64_t start, uint64_t duration, const std::string &text,
                             const std::string &sid) {
    return keep(core.on_transcript(b, TranscriptReport{start, duration, text, true, sid, {}}, now));
  }
  FailoverActions due() { return keep(core.on_recovery_due(breaker, now)); }
  /* Degraded -> reconnect -> healthy sid -> cut at the next buffer. */
  FailoverActions recover_to(const std::string &sid) {
    auto a = due();
    g_assert_cmpuint(count<act::SendReconnect>(a), ==, 1);
    healthy(sid);
    g_assert_true(core.state() == FailoverState::Recovering);
    return buffer();
  }
};

/* The stream sink restarting by itself (encoding=auto stepping down on a
 * slow link): no failover and no message; the audio is held from the report
 * on, the reconnect goes out from the streaming thread after everything
 * pushed before it, and the new session gets every un-acked piece again,
 * in order, before live audio. Nothing goes to batch. */
static void test_restart_replays_to_the_new_session() {
  Rig r;
  r.healthy("s1");
  r.buffers(10); /* [0, 1 s) to stream */
  r.ack(350 * MS);
  SinkHealth restarting{false, "the link is too slow for flac: stepping down to opus", 0, true,
                        "s1"};
  restarting.restarting = true;
  auto a = r.keep(r.core.on_health(Branch::Stream, restarting, r.now));
  g_assert_cmpuint(a.size(), ==, 0);
  g_assert_true(r.core.state() == FailoverState::Streaming);
  a = r.buffers(3); /* [1 s, 1.3 s): held */
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 1);
  g_assert_cmpint(index_of<act::SendReconnect>(a), ==, 0);
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 0);
  r.healthy("s1"); /* the old session's late word changes nothing */
  g_assert_cmpuint(count<act::PushAudio>(r.buffer()), ==, 0); /* [1.3, 1.4) held too */
  a = r.healthy("s2");
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 0); /* not on the sink's thread */
  g_assert_true(r.core.has_pending());
  a = r.buffer(); /* [1.4, 1.5): the replay from 350 ms, then this one, all to stream */
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 12);
  uint64_t at = 350 * MS;
  for (size_t i = 0; i < pushes.size(); i++) {
    g_assert_true(pushes[i].branch == Branch::Stream);
    g_assert_cmpuint(pushes[i].start, ==, at);
    g_assert_true(pushes[i].replay == (i + 1 < pushes.size()));
    g_assert_true(pushes[i].discont == (i == 0));
    at += pushes[i].duration;
  }
  g_assert_cmpuint(at, ==, 1500 * MS);
  g_assert_cmpuint(count<act::PostDegraded>(r.log), ==, 0);
  g_assert_cmpuint(count<act::Warn>(r.log), ==, 0);
  auto st = r.core.stats(r.now);
  g_assert_cmpuint(st.stream_restarts, ==, 1);
  g_assert_cmpuint(st.stream_replayed, ==, 1050 * MS);
  g_assert_cmpuint(st.batch_audio, ==, 0);
  g_assert_cmpuint(st.ledger_held, ==, 1150 * MS);
  r.ack(1500 * MS); /* the new session acknowledges it all */
  g_assert_cmpuint(r.core.stats(r.now).ledger_held, ==, 0);
}

/* A restart that fails (the new session never comes) is an outage like any
 * other: everything held, and a replay not yet pushed, goes to batch. */
static void test_restart_that_fails_degrades_with_everything() {
  Rig r;
  r.healthy("s1");
  r.buffers(10);
  SinkHealth restarting{false, "stepping down", 0, true, "s1"};
  restarting.restarting = true;
  r.keep(r.core.on_health(Branch::Stream, restarting, r.now));
  r.buffers(5); /* [1, 1.5 s) held */
  auto a = r.unhealthy("cannot connect: timed out", 0);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  a = r.buffer();
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 16);
  uint64_t at = 0;
  for (auto &p : pushes) {
    g_assert_true(p.branch == Branch::Batch);
    g_assert_cmpuint(p.start, ==, at);
    at += p.duration;
  }
  /* At EOS while restarting: batch takes it, with no stt/degraded. */
  Rig e;
  e.healthy("s1");
  e.buffers(5);
  e.keep(e.core.on_health(Branch::Stream, restarting, e.now));
  e.buffers(2);
  a = e.keep(e.core.on_eos(e.now));
  pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 7);
  g_assert_true(pushes[0].branch == Branch::Batch);
  g_assert_cmpuint(count<act::PostDegraded>(e.log), ==, 0);
}

static void test_streaming_routes_to_stream() {
  Rig r;
  r.healthy("s1");
  auto a = r.buffers(5);
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 5);
  for (auto &p : pushes)
    g_assert_true(p.branch == Branch::Stream);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 0);
  g_assert_true(r.core.state() == FailoverState::Streaming);
  g_assert_cmpuint(r.core.stats(r.now).ledger_held, ==, 500 * MS);
  r.ack(300 * MS);
  g_assert_cmpuint(r.core.stats(r.now).ledger_held, ==, 200 * MS);
}

static void test_unhealthy_degrades_and_replays_before_live() {
  Rig r;
  r.healthy("s1");
  r.buffers(10);          /* [0, 1 s) to stream */
  r.ack(350 * MS);        /* inside the 4th buffer */
  auto a = r.unhealthy(); /* on the sink's thread: no pushes here */
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 0);
  auto deg = all<act::PostDegraded>(a);
  g_assert_cmpuint(deg.size(), ==, 1);
  g_assert_cmpstr(deg[0].reason.c_str(), ==, "closed 1011");
  g_assert_cmpint(deg[0].code, ==, 1011);
  g_assert_cmpstr(deg[0].breaker_state.c_str(), ==, "closed");
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 1);
  g_assert_true(r.core.state() == FailoverState::Degraded);
  g_assert_true(r.core.has_pending());

  a = r.buffer(); /* [1 s, 1.1 s): replay first, then live, all to batch */
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 8);
  g_assert_true(pushes[0].replay);
  g_assert_cmpuint(pushes[0].start, ==, 350 * MS); /* acked part trimmed off */
  g_assert_cmpuint(span(pushes[0]).start, ==, 350 * MS);
  g_assert_cmpuint(pushes[0].duration, ==, 50 * MS);
  g_assert_cmpuint(pushes[1].start, ==, 400 * MS);
  g_assert_true(pushes[6].replay);
  g_assert_false(pushes[7].replay);
  g_assert_cmpuint(pushes[7].start, ==, 1000 * MS);
  for (auto &p : pushes)
    g_assert_true(p.branch == Branch::Batch);
  auto st = r.core.stats(r.now);
  g_assert_cmpuint(st.replayed, ==, 650 * MS);
  g_assert_cmpuint(st.degraded, ==, 1);
  /* Another failure report while degraded changes nothing. */
  g_assert_cmpuint(count<act::PostDegraded>(r.unhealthy("stall", 0)), ==, 0);
}

static void test_push_failure_replays_at_once() {
  Rig r;
  r.healthy("s1");
  r.buffers(3);
  auto a = r.keep(r.core.on_stream_push_failed("not-linked", r.now));
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 3); /* including the buffer whose push failed */
  g_assert_cmpuint(pushes[2].start, ==, 200 * MS);
  g_assert_true(all<act::PostDegraded>(a)[0].reason == std::string("push failed: not-linked"));
}

static void test_start_with_breaker_open_never_streams() {
  Rig r;
  r.breaker = BreakerView{BreakerState::Open, 20 * S};
  r.keep(r.core.on_breaker(r.breaker, r.now));
  auto a = r.buffers(3);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  g_assert_true(all<act::PostDegraded>(a)[0].reason == std::string("breaker open"));
  g_assert_true(all<act::PostDegraded>(a)[0].breaker_state == std::string("open"));
  for (auto &p : all<act::PushAudio>(a))
    g_assert_true(p.branch == Branch::Batch);
  auto sched = all<act::ScheduleRecovery>(a);
  g_assert_cmpuint(sched.size(), ==, 1);
  g_assert_cmpuint(sched[0].at, >=, 1000 * S + 20 * S); /* not before the breaker allows */
  /* Due while still open: no reconnect, just later. */
  a = r.due();
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 0);
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 1);
}

static void test_breaker_opening_keeps_healthy_stream() {
  Rig r;
  r.healthy("s1");
  r.buffers(2);
  auto a = r.keep(r.core.on_breaker(BreakerView{BreakerState::Open, 10 * S}, r.now));
  g_assert_cmpuint(a.size(), ==, 0);
  a = r.buffers(2);
  for (auto &p : all<act::PushAudio>(a))
    g_assert_true(p.branch == Branch::Stream);
}

static void test_full_recovery_cycle() {
  Rig r;
  r.healthy("s1");
  r.buffers(5);
  r.ack(500 * MS);
  r.unhealthy();
  r.buffers(10); /* [0.5, 1.5 s) to batch */
  auto a = r.due();
  auto rc = all<act::SendReconnect>(a);
  g_assert_cmpuint(rc.size(), ==, 1);
  g_assert_cmpuint(rc[0].attempt, ==, 1);
  a = r.healthy("s2");
  g_assert_cmpuint(count<act::CancelRecovery>(a), ==, 1);
  g_assert_true(r.core.state() == FailoverState::Recovering);
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 0); /* a handshake is not a recovery */

  uint64_t cut = r.pts;
  a = r.buffer();
  g_assert_cmpuint(a.size(), ==, 2);
  auto flush = std::get<act::SendFlush>(a[0]); /* flush before the first stream buffer */
  g_assert_cmpuint(flush.flush_id, !=, 0);
  auto &push = std::get<act::PushAudio>(a[1]);
  g_assert_true(push.branch == Branch::Stream);
  g_assert_cmpuint(push.start, ==, cut);
  g_assert_true(push.discont);

  r.buffers(3);
  a = r.ack(cut); /* covers nothing after the cut */
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 0);
  r.ack(cut, Branch::Batch, flush.flush_id);
  a = r.ack(cut + 200 * MS);
  auto rec = all<act::PostRecovered>(a);
  g_assert_cmpuint(rec.size(), ==, 1);
  g_assert_cmpuint(rec[0].batch_audio, ==, 1000 * MS);
  g_assert_cmpuint(rec[0].replayed, ==, 0);
  g_assert_cmpuint(rec[0].degraded_duration, >, 0);
  g_assert_true(r.core.state() == FailoverState::Streaming);
  a = r.ack(cut + 300 * MS);
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 0);
  g_assert_cmpuint(r.core.stats(r.now).recovered, ==, 1);
}

/* Recovered while the source was paused (no buffers, no GAP): the pause is
 * the cut, at the first buffer after it, though that buffer is speech. */
static void test_cut_at_the_end_of_a_source_pause() {
  FailoverSettings settings;
  settings.cut_pause = 200 * MS;
  Rig r(settings);
  r.healthy("s1");
  r.buffers(2);
  r.unhealthy();
  r.buffers(2);
  r.due();
  r.healthy("s2");
  g_assert_true(r.core.awaiting_cut());
  auto a = r.buffer(100 * MS, 0); /* no pause yet: batch */
  g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Batch);
  r.pts += 10 * S; /* the source pauses 10 s */
  uint64_t cut = r.pts;
  a = r.buffer(100 * MS, 0);
  g_assert_cmpuint(count<act::SendFlush>(a), ==, 1);
  g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Stream);
  g_assert_cmpuint(all<act::PushAudio>(a).at(0).start, ==, cut);
  g_assert_false(r.core.awaiting_cut());
}

/* The flushes that cut back to the stream (not the catch-up on recovering). */
static size_t recovered_flushes(const FailoverActions &a) {
  size_t n = 0;
  for (const act::SendFlush &f : all<act::SendFlush>(a))
    n += f.reason == "recovered";
  return n;
}

/* The cut waits for quiet_before >= cut_pause; speech meanwhile goes to batch;
 * cut_max_wait of audio without a pause forces it. Counted apart. */
static FailoverSettings cut_settings() {
  FailoverSettings settings;
  settings.cut_pause = 200 * MS;
  settings.cut_max_wait = 1000 * MS;
  return settings;
}

/* Streaming on s1, an outage of `outage_buffers` to batch, recovering on s2. */
static void fail_and_recover(Rig &r, size_t outage_buffers) {
  r.healthy("s1");
  r.buffers(2);
  r.unhealthy();
  r.buffers(outage_buffers);
  r.due();
  r.healthy("s2");
}

static void test_cut_waits_for_pause_or_max_wait() {
  Rig r(cut_settings());
  fail_and_recover(r, 2);
  g_assert_true(r.core.awaiting_cut());
  for (uint64_t quiet : {0ull, 100ull, 190ull}) {
    auto a = r.buffer(100 * MS, quiet * MS);
    g_assert_cmpuint(recovered_flushes(a), ==, 0);
    g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Batch);
  }
  uint64_t cut = r.pts;
  auto a = r.buffer(100 * MS, 200 * MS);
  g_assert_cmpuint(recovered_flushes(a), ==, 1);
  g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Stream);
  g_assert_cmpuint(all<act::PushAudio>(a).at(0).start, ==, cut);
  g_assert_false(r.core.awaiting_cut());
  g_assert_cmpuint(r.core.stats(r.now).cuts_at_pause, ==, 1);

  /* Fail again, recover, and never pause: the cut comes cut_max_wait after
   * the first buffer that waited. */
  r.unhealthy();
  r.due();
  r.healthy("s3");
  uint64_t first_waiting = r.pts;
  for (int i = 0; i < 10; i++) {
    a = r.buffer(100 * MS, 0);
    g_assert_cmpuint(recovered_flushes(a), ==, 0);
  }
  g_assert_cmpuint(r.pts, ==, first_waiting + 1000 * MS);
  a = r.buffer(100 * MS, 0);
  g_assert_cmpuint(recovered_flushes(a), ==, 1);
  g_assert_cmpuint(all<act::PushAudio>(a).at(0).start, ==, first_waiting + 1000 * MS);
  g_assert_cmpuint(r.core.stats(r.now).cuts_forced, ==, 1);
}

/* Recovering: the batch uploads the outage's backlog at the first buffer,
 * without waiting for the cut, and the cut still flushes what came since. */
static void test_catch_up_flush_on_recovering() {
  Rig r(cut_settings());
  fail_and_recover(r, 20);
  auto a = r.buffer(100 * MS, 0);
  g_assert_cmpuint(count<act::SendFlush>(a), ==, 1);
  std::string reason = all<act::SendFlush>(a).at(0).reason; /* a named copy: ASan */
  g_assert_cmpstr(reason.c_str(), ==, "catch-up");
  /* The flush comes before this buffer, which still goes to batch. */
  g_assert_cmpuint(index_of<act::SendFlush>(a), <, index_of<act::PushAudio>(a));
  g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Batch);
  g_assert_cmpuint(r.core.stats(r.now).catch_ups, ==, 1);
  /* Once per recovery. */
  a = r.buffer(100 * MS, 0);
  g_assert_cmpuint(count<act::SendFlush>(a), ==, 0);
  /* The cut flushes the audio batch got since the catch-up. */
  a = r.buffer(100 * MS, 300 * MS);
  g_assert_cmpuint(recovered_flushes(a), ==, 1);
  g_assert_true(all<act::PushAudio>(a).at(0).branch == Branch::Stream);
}

static void test_recovery_declared_by_final_transcript() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  r.buffer();
  r.recover_to("s2");
  /* A stale final of the dead session does not count. */
  auto a = r.final_text(Branch::Stream, 0, 100 * MS, "old", "s1");
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 0);
  a = r.final_text(Branch::Stream, 200 * MS, 50 * MS, "new", "s2");
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 1);
}

static void test_interim_is_not_recovery() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  r.buffer();
  r.recover_to("s2");
  auto a = r.keep(r.core.on_transcript(
      Branch::Stream, TranscriptReport{200 * MS, 50 * MS, "maybe", false, "s2", {}}, r.now));
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 0);
  g_assert_true(r.core.state() == FailoverState::Recovering);
}

/* stt/path-restored: the attempt moves from the backoff's time to now
 * (jittered, under a second); not degraded, it changes nothing. */
static void test_path_restored_recovers_now() {
  FailoverSettings settings;
  settings.recovery_backoff =
      BackoffPolicy{std::chrono::milliseconds{20000}, std::chrono::milliseconds{60000}};
  Rig r(settings);
  g_assert_cmpuint(r.keep(r.core.on_path_restored(r.now)).size(), ==, 0);
  r.healthy("s1");
  r.buffer();
  auto a = r.unhealthy("dead path: the network acknowledged nothing for 5000 ms", 0);
  auto sched = all<act::ScheduleRecovery>(a);
  g_assert_cmpuint(sched.size(), ==, 1);
  g_assert_cmpuint(sched[0].at, >, r.now + 1 * S);
  a = r.keep(r.core.on_path_restored(r.now));
  sched = all<act::ScheduleRecovery>(a);
  g_assert_cmpuint(sched.size(), ==, 1);
  g_assert_cmpuint(sched[0].at, <=, r.now + 1 * S);
  a = r.due();
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 1);
}

static void test_breaker_gates_attempts() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  r.breaker = BreakerView{BreakerState::Open, 5 * S};
  r.keep(r.core.on_breaker(r.breaker, r.now));
  auto a = r.due();
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 0);
  g_assert_cmpuint(all<act::ScheduleRecovery>(a)[0].at, >=, r.now + 5 * S);
  /* Half-open: try soon; the sink's connect takes the probe. */
  r.breaker = BreakerView{BreakerState::HalfOpen, 0};
  a = r.keep(r.core.on_breaker(r.breaker, r.now));
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 1);
  g_assert_cmpuint(all<act::ScheduleRecovery>(a)[0].at, <=, r.now + 1 * S);
  a = r.due();
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 1);
}

/* Another pipeline's probe closed the shared breaker: this one, refused
 * while it was half-open and now waiting its own backoff (up to 30 s), asks
 * again within reconnect-spread instead. */
static void test_breaker_closing_brings_everyone_back_soon() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  for (int i = 0; i < 5; i++) { /* attempts refused: the backoff grows */
    r.due();
    r.unhealthy();
  }
  r.breaker = BreakerView{BreakerState::HalfOpen, 0};
  r.keep(r.core.on_breaker(r.breaker, r.now));
  r.breaker = BreakerView{BreakerState::Closed, 0};
  auto a = r.keep(r.core.on_breaker(r.breaker, r.now));
  auto sched = all<act::ScheduleRecovery>(a);
  g_assert_cmpuint(sched.size(), ==, 1);
  /* The rig's random source is 0.5: half of the 5 s spread. */
  g_assert_cmpuint(sched[0].at, ==, r.now + 2500 * MS);
  /* Streaming pipelines are left alone. */
  Rig healthy;
  healthy.healthy("s1");
  healthy.buffer();
  healthy.keep(healthy.core.on_breaker(BreakerView{BreakerState::HalfOpen, 0}, healthy.now));
  a = healthy.keep(healthy.core.on_breaker(BreakerView{BreakerState::Closed, 0}, healthy.now));
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 0);
}

static void test_no_wedge_when_sink_never_answers() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  uint64_t last_delay = 0;
  for (uint32_t i = 1; i <= 6; i++) {
    auto a = r.due();
    auto rc = all<act::SendReconnect>(a);
    g_assert_cmpuint(rc.size(), ==, 1);
    g_assert_cmpuint(rc[0].attempt, ==, i);
    uint64_t delay = all<act::ScheduleRecovery>(a)[0].at - r.now;
    g_assert_cmpuint(delay, >=, last_delay); /* backoff grows to the cap */
    g_assert_cmpuint(delay, <=, 30 * S);
    last_delay = delay;
    r.now += delay;
  }
  g_assert_cmpuint(r.core.stats(r.now).recovery_attempts, ==, 6);
}

static void test_failure_while_recovering_replays_from_cut() {
  Rig r;
  r.healthy("s1");
  r.buffers(2);
  r.unhealthy();
  r.buffers(2);
  r.recover_to("s2"); /* cut at 400 ms */
  r.buffers(4);       /* [0.4, 0.9 s) to stream */
  r.ack(600 * MS);    /* covers the cut: recovered */
  g_assert_true(r.core.state() == FailoverState::Streaming);
  g_assert_cmpuint(count<act::PostRecovered>(r.log), ==, 1);

  /* Second outage, this time during the next recovery. */
  r.unhealthy();
  r.buffers(2);
  uint64_t cut = r.pts;
  r.recover_to("s3");
  r.buffers(3);
  r.ack(cut); /* nothing after the cut yet */
  auto a = r.unhealthy("closed 1006", 1006);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 0); /* same outage */
  g_assert_true(r.core.state() == FailoverState::Degraded);
  a = r.buffer();
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 5);
  g_assert_cmpuint(pushes[0].start, ==, cut);
  g_assert_true(pushes[0].replay);
  g_assert_true(pushes[0].branch == Branch::Batch);
  g_assert_cmpuint(count<act::PostDegraded>(r.log), ==, 2);

  r.recover_to("s4");
  r.ack(r.pts);
  g_assert_cmpuint(count<act::PostRecovered>(r.log), ==, 2);
}

/* Several outages in a row: messages alternate, never repeat. */
static void test_flapping_messages_alternate() {
  Rig r;
  r.healthy("s1");
  std::vector<int> seq; /* 1 = degraded, 2 = recovered */
  for (int i = 0; i < 5; i++) {
    r.buffers(3);
    r.ack(r.pts - 100 * MS);
    r.unhealthy();
    r.unhealthy("stall", 0); /* the same outage reported twice */
    r.buffers(2);
    if (i == 2) {
      /* One attempt fails mid-recovery. */
      r.recover_to("f" + std::to_string(i));
      r.unhealthy();
      r.buffer();
    }
    r.recover_to("s" + std::to_string(i + 2));
    r.buffer();
    r.ack(r.pts);
  }
  for (const auto &a : r.log) {
    if (std::holds_alternative<act::PostDegraded>(a))
      seq.push_back(1);
    if (std::holds_alternative<act::PostRecovered>(a))
      seq.push_back(2);
  }
  g_assert_cmpuint(seq.size(), ==, 10);
  for (size_t i = 0; i < seq.size(); i++)
    g_assert_cmpint(seq[i], ==, i % 2 == 0 ? 1 : 2);
  auto st = r.core.stats(r.now);
  g_assert_cmpuint(st.degraded, ==, 5);
  g_assert_cmpuint(st.recovered, ==, 5);
}

/* Replay exactness: whatever the interleaving, every nanosecond of audio is
 * transcribed exactly once: by batch (live or replayed) or by a stream
 * session that acknowledged it before dying. */
static void test_replay_exactness_across_cuts() {
  Rig r;
  r.healthy("s1");
  std::map<uint64_t, uint64_t> covered; /* start -> end */
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> stream_sent;
  std::map<std::string, uint64_t> stream_acked;
  auto run = [&](FailoverActions a) {
    for (auto &p : all<act::PushAudio>(a)) {
      g_assert_cmpuint(span(p).start, ==, p.start); /* payload and time agree */
      g_assert_cmpuint(span(p).duration, ==, p.duration);
      if (p.branch == Branch::Batch)
        covered[p.start] = p.start + p.duration;
      else
        stream_sent[r.session].push_back({p.start, p.start + p.duration});
    }
  };
  auto ack = [&](uint64_t pos) {
    stream_acked[r.session] = std::max(stream_acked[r.session], pos);
    run(r.ack(pos));
  };
  int n = 0;
  for (int round = 0; round < 4; round++) {
    run(r.buffers(7));
    ack(r.pts - 250 * MS); /* lands inside a buffer */
    run(r.buffers(3));
    run(r.unhealthy());
    run(r.buffers(4));
    run(r.due());
    run(r.healthy("r" + std::to_string(n++)));
    run(r.buffers(2));
    if (round % 2) {
      ack(r.pts - 150 * MS);
      run(r.unhealthy()); /* fail while recovering */
      run(r.buffers(2));
      run(r.due());
      run(r.healthy("r" + std::to_string(n++)));
      run(r.buffers(1));
    }
    ack(r.pts);
  }
  run(r.buffers(3));
  ack(r.pts);
  /* Stream audio counts only up to its session's last ack. */
  for (auto &[sid, ranges] : stream_sent) {
    uint64_t acked = stream_acked[sid];
    for (auto [s, e] : ranges)
      if (s < acked)
        covered[s] = std::min(e, acked);
  }
  uint64_t cursor = 0;
  for (auto [s, e] : covered) {
    g_assert_cmpuint(s, ==, cursor); /* no hole, no overlap */
    cursor = e;
  }
  g_assert_cmpuint(cursor, ==, r.pts);
  g_assert_cmpuint(count<act::PostDropped>(r.log), ==, 0);
}

static void test_overflow_drops_reported() {
  FailoverSettings settings;
  settings.replay_window = 300 * MS;
  Rig r(settings);
  r.healthy("s1");
  r.buffers(10);
  r.ack(100 * MS);
  auto a = r.unhealthy();
  auto drops = all<act::PostDropped>(a);
  g_assert_cmpuint(drops.size(), ==, 1);
  g_assert_cmpuint(drops[0].start, ==, 100 * MS);
  g_assert_cmpuint(drops[0].duration, ==, 600 * MS);
  g_assert_cmpstr(drops[0].reason.c_str(), ==, "replay-window");
  a = r.buffer();
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 4);
  g_assert_cmpuint(pushes[0].start, ==, 700 * MS);
  auto st = r.core.stats(r.now);
  g_assert_cmpuint(st.dropped, ==, 600 * MS);
  g_assert_cmpuint(st.drops, ==, 1);
}

static void test_mode_force_batch() {
  Rig r;
  r.keep(r.core.set_mode(FailoverMode::ForceBatch, r.now));
  auto a = r.buffers(3);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  g_assert_true(all<act::PostDegraded>(a)[0].reason == std::string("mode force-batch"));
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 0);
  for (auto &p : all<act::PushAudio>(a))
    g_assert_true(p.branch == Branch::Batch);
  /* A healthy stream does not pull us back while forced. */
  r.healthy("s1");
  g_assert_true(r.core.state() == FailoverState::Degraded);
  a = r.keep(r.core.set_mode(FailoverMode::Auto, r.now));
  auto sched = all<act::ScheduleRecovery>(a);
  g_assert_cmpuint(sched.size(), ==, 1);
  g_assert_cmpuint(sched[0].at, ==, r.now);
  r.recover_to("s2");
  r.ack(r.pts);
  g_assert_cmpuint(count<act::PostRecovered>(r.log), ==, 1);
}

static void test_mode_force_batch_while_streaming_replays() {
  Rig r;
  r.healthy("s1");
  r.buffers(4);
  r.ack(200 * MS);
  auto a = r.keep(r.core.set_mode(FailoverMode::ForceBatch, r.now));
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 0);
  a = r.buffer();
  auto pushes = all<act::PushAudio>(a);
  g_assert_cmpuint(pushes.size(), ==, 3);
  g_assert_cmpuint(pushes[0].start, ==, 200 * MS);
  g_assert_true(pushes[0].replay);
  /* The abandoned session's late results would duplicate the replay. */
  r.final_text(Branch::Stream, 200 * MS, 100 * MS, "dup", "s1");
  g_assert_cmpuint(r.core.stats(r.now).ignored_stream, ==, 1);
  a = r.due();
  g_assert_cmpuint(count<act::SendReconnect>(a), ==, 0);
}

static void test_mode_force_stream_drops_when_down() {
  Rig r;
  r.keep(r.core.set_mode(FailoverMode::ForceStream, r.now));
  r.healthy("s1");
  r.buffers(2);
  r.ack(100 * MS);
  auto a = r.unhealthy();
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
  auto drops = all<act::PostDropped>(a);
  g_assert_cmpuint(drops.size(), ==, 1); /* the un-acked audio: no batch in this mode */
  g_assert_cmpuint(drops[0].start, ==, 100 * MS);
  a = r.buffers(25); /* 2.5 s down: reported in runs of 1 s, nothing pushed */
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 0);
  g_assert_cmpuint(count<act::PostDropped>(a), ==, 2);
  r.due();
  r.healthy("s2");
  a = r.buffer();
  auto rest = all<act::PostDropped>(a); /* the open run ends at the cut */
  g_assert_cmpuint(rest.size(), ==, 1);
  g_assert_cmpuint(rest[0].start + rest[0].duration, ==, r.pts - 100 * MS);
  g_assert_cmpuint(count<act::SendFlush>(a), ==, 0); /* batch never got audio */
  g_assert_true(all<act::PushAudio>(a)[0].branch == Branch::Stream);
  auto st = r.core.stats(r.now);
  g_assert_cmpuint(st.dropped, ==, 100 * MS + 2500 * MS);
}

static void test_stale_session_results_ignored() {
  Rig r;
  r.healthy("s1");
  r.buffers(3);
  r.unhealthy();
  r.buffer();
  /* Late ack and final from the dead session: ignored, the replay covers them. */
  r.ack(300 * MS);
  r.final_text(Branch::Stream, 0, 100 * MS, "late", "s1");
  g_assert_cmpuint(r.core.stats(r.now).ignored_stream, ==, 1);
  r.keep(r.core.on_ack(Branch::Batch, AckReport{400 * MS, "b", 0, false}, r.now));
  auto text = r.core.take_text();
  for (auto &o : text)
    g_assert_true(std::holds_alternative<CaptionGap>(o));
}

static void test_captions_ordered_across_cut() {
  Rig r;
  r.healthy("s1");
  r.buffers(2);
  r.final_text(Branch::Stream, 0, 150 * MS, "one", "s1");
  r.ack(150 * MS);
  r.unhealthy();
  r.buffers(3);       /* replay [150, 200) + live [200, 500) to batch */
  r.recover_to("s2"); /* cut at 500 */
  r.buffers(2);
  r.final_text(Branch::Stream, 500 * MS, 200 * MS, "four", "s2");
  r.ack(700 * MS);
  std::vector<std::string> seen;
  auto collect = [&] {
    for (auto &o : r.core.take_text())
      if (auto *c = std::get_if<Caption>(&o))
        seen.push_back(c->text);
  };
  collect();
  g_assert_cmpuint(seen.size(), ==, 1); /* "four" waits for batch */
  r.final_text(Branch::Batch, 300 * MS, 100 * MS, "three", "b2");
  r.final_text(Branch::Batch, 150 * MS, 100 * MS, "two", "b1");
  r.ack(500 * MS, Branch::Batch);
  collect();
  g_assert_cmpuint(seen.size(), ==, 4);
  g_assert_cmpstr(seen[0].c_str(), ==, "one");
  g_assert_cmpstr(seen[1].c_str(), ==, "two");
  g_assert_cmpstr(seen[2].c_str(), ==, "three");
  g_assert_cmpstr(seen[3].c_str(), ==, "four");
}

static void test_eos_stops_recovery_and_drains() {
  Rig r;
  r.healthy("s1");
  r.buffers(3);
  r.unhealthy(); /* replay pending, no buffer follows */
  auto a = r.keep(r.core.on_eos(r.now));
  g_assert_cmpuint(count<act::CancelRecovery>(a), ==, 1);
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 3); /* replayed before batch's EOS */
  a = r.due();
  g_assert_cmpuint(a.size(), ==, 0);
  r.keep(r.core.on_ack(Branch::Stream, AckReport{300 * MS, "s1", 0, true}, r.now));
  r.keep(r.core.on_ack(Branch::Batch, AckReport{300 * MS, "b", 0, true}, r.now));
  g_assert_true(r.core.stream_drained());
  g_assert_true(r.core.batch_drained());
}

static void test_stream_fails_during_eos_drain() {
  Rig r;
  r.healthy("s1");
  r.buffers(4);
  r.ack(100 * MS);
  r.keep(r.core.on_eos(r.now));
  r.unhealthy(); /* the last results never come */
  auto a = r.keep(r.core.take_pending(r.now));
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 3);
  g_assert_cmpuint(count<act::ScheduleRecovery>(r.log), ==, 0);
}

static void test_drain_timeout_hands_audio_to_batch() {
  Rig r;
  r.healthy("s1");
  r.buffers(2);
  r.keep(r.core.on_eos(r.now));
  auto a = r.keep(r.core.on_stream_drain_timeout(r.now));
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 2);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 1);
}

/* Batch never drained: what it owed (acked parts excepted) is reported, since
 * the text pad ends without those captions. */
static void test_batch_drain_timeout_reports_owed() {
  Rig r;
  r.healthy("s1");
  r.unhealthy();
  r.buffers(10); /* [0, 1 s) to batch */
  r.ack(400 * MS, Branch::Batch);
  r.keep(r.core.on_eos(r.now));
  auto a = r.keep(r.core.on_batch_drain_timeout(r.now));
  auto drops = all<act::PostDropped>(a);
  g_assert_cmpuint(drops.size(), ==, 1);
  g_assert_cmpuint(drops[0].start, ==, 400 * MS);
  g_assert_cmpuint(drops[0].duration, ==, 600 * MS);
  g_assert_cmpuint(r.core.stats(r.now).dropped, ==, 600 * MS);
  g_assert_cmpuint(count<act::PostDropped>(r.core.on_batch_drain_timeout(r.now)), ==, 0);
}

static void test_reset_keeps_open_outage() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  r.buffer();
  r.core.reset(); /* flushing seek */
  r.pts = 10 * S;
  auto a = r.buffer();
  g_assert_true(r.core.state() == FailoverState::Degraded);
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 1);
  g_assert_cmpuint(count<act::PostDegraded>(a), ==, 0);
  r.recover_to("s2");
  r.ack(r.pts);
  g_assert_cmpuint(count<act::PostRecovered>(r.log), ==, 1);
}

static void test_duplicate_healthy_during_recovering() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.unhealthy();
  r.recover_to("s2");
  auto a = r.healthy("s2"); /* the answer to a second Reconnect */
  g_assert_cmpuint(a.size(), ==, 0);
  g_assert_true(r.core.state() == FailoverState::Recovering);
}

static void test_flush_only_when_batch_has_audio() {
  Rig r;
  r.healthy("s1");
  r.buffer();
  r.ack(100 * MS);
  r.unhealthy(); /* nothing to replay, and no buffer before the stream heals */
  r.due();
  r.healthy("s2");
  auto a = r.buffer();
  g_assert_cmpuint(count<act::SendFlush>(a), ==, 0);
  g_assert_true(all<act::PushAudio>(a)[0].branch == Branch::Stream);
}

/* A file in mode auto: batch is the primary branch from the first buffer,
 * with no stt/degraded; its outage is one degraded/recovered period; the
 * stream branch gets nothing and its reports change nothing. */
static void test_non_live_input_goes_to_batch() {
  Rig r;
  auto a = r.keep(r.core.set_input_live(false, r.now));
  a = r.buffers(10);
  g_assert_true(r.core.state() == FailoverState::Batch);
  for (const auto &p : all<act::PushAudio>(a))
    g_assert_true(p.branch == Branch::Batch);
  g_assert_cmpuint(count<act::PostDegraded>(r.log), ==, 0);
  g_assert_cmpuint(count<act::ScheduleRecovery>(r.log), ==, 0);
  r.unhealthy(); /* a stream report: ignored */
  g_assert_true(r.core.state() == FailoverState::Batch);
  SinkHealth down{false, "HTTP 503", 503, true, "b"};
  a = r.keep(r.core.on_health(Branch::Batch, down, r.now));
  auto d = all<act::PostDegraded>(a);
  g_assert_cmpuint(d.size(), ==, 1);
  g_assert_cmpint(d[0].code, ==, 503);
  g_assert_nonnull(strstr(d[0].reason.c_str(), "pre-recorded"));
  g_assert_true(r.core.state() == FailoverState::Degraded);
  a = r.keep(r.core.on_health(Branch::Batch, down, r.now)); /* still down: nothing new */
  g_assert_cmpuint(a.size(), ==, 0);
  a = r.buffers(5);
  for (const auto &p : all<act::PushAudio>(a))
    g_assert_true(p.branch == Branch::Batch);
  g_assert_cmpuint(count<act::SendReconnect>(r.log), ==, 0);
  a = r.keep(r.core.on_health(Branch::Batch, SinkHealth{true, "ok", 200, true, "b"}, r.now));
  g_assert_cmpuint(count<act::PostRecovered>(a), ==, 1);
  g_assert_true(r.core.state() == FailoverState::Batch);
  g_assert_cmpuint(r.core.stats(r.now).degraded, ==, 1);
  g_assert_cmpuint(r.core.stats(r.now).recovered, ==, 1);
}

/* Mode stream-first keeps a file on the stream; the ledger is never
 * overrun: has_room says wait once replay-window is full, until an ack. */
static void test_non_live_stream_first_waits_for_room() {
  FailoverSettings settings;
  settings.replay_window = 1 * S;
  Rig r(settings);
  r.keep(r.core.set_mode(FailoverMode::StreamFirst, r.now));
  r.keep(r.core.set_input_live(false, r.now));
  r.healthy("s1");
  for (int i = 0; i < 10; i++) {
    g_assert_true(r.core.has_room(100 * MS));
    r.buffer();
  }
  g_assert_false(r.core.has_room(100 * MS)); /* 1 s held: wait */
  r.ack(300 * MS);
  g_assert_true(r.core.has_room(100 * MS));
  g_assert_cmpuint(count<act::PostDropped>(r.log), ==, 0);
  g_assert_true(r.core.state() == FailoverState::Streaming);
  /* Degraded, a file does not wait: batch holds it back itself. */
  r.unhealthy();
  g_assert_true(r.core.has_room(100 * MS));
}

/* Live demuxers stamp buffers a few us off the sample count, while the batch
 * acks at frame-count positions: the two ends still meet, so after recovery
 * the captions are released at once instead of waiting for EOS (the frozen
 * captions of a TS/AAC feed), and nothing is owed or reported as a sliver. */
static void test_jittered_timestamps_never_leave_slivers_owed() {
  Rig r;
  r.healthy("s1");
  const uint64_t frame = 23219955; /* 1024 samples at 44.1 kHz */
  auto jittered = [&](int n) {
    for (int i = 0; i < n; i++) {
      int64_t jitter = (i % 3 == 0) ? 2267 : (i % 3 == 1) ? -1133 : 0;
      uint64_t pts = r.pts + jitter;
      r.keep(r.core.on_buffer(pts, frame, std::make_shared<Span>(pts, frame), r.now));
      r.pts += frame;
      r.now += frame;
    }
  };
  jittered(40);
  r.ack(r.pts - 2 * frame);
  r.unhealthy(); /* ~2 frames replayed to batch */
  jittered(40);
  r.recover_to("s2");
  uint64_t cut = r.pts - 100 * MS;
  jittered(40);
  /* The batch finished everything before the cut, by its own count: a few
   * us short of the pts-based end. */
  r.ack(cut - 2267, Branch::Batch, 1);
  g_assert_cmpuint(r.core.stats(r.now).recovered, ==, 0);
  r.final_text(Branch::Stream, cut + 10 * MS, 500 * MS, "after the cut", "s2");
  r.ack(cut + 600 * MS);
  r.final_text(Branch::Batch, cut - 900 * MS, 400 * MS, "before the cut", "batch");
  auto out = r.core.take_text();
  std::vector<std::string> texts;
  for (const auto &o : out)
    if (auto *c = std::get_if<Caption>(&o))
      texts.push_back(c->text);
  g_assert_cmpuint(texts.size(), ==, 2); /* both out now, not at EOS */
  g_assert_cmpstr(texts[0].c_str(), ==, "before the cut");
  g_assert_cmpuint(count<act::PostDropped>(r.log), ==, 0);
}

/* A permanent refusal of the live API (402: no credit): degraded with the
 * reason and a WARNING, never retried; the pre-recorded API carries on. */
static void test_permanent_stream_failure_is_not_retried() {
  Rig r;
  r.healthy("s1");
  r.buffers(5);
  auto a = r.keep(r.core.on_health(
      Branch::Stream,
      SinkHealth{false, "HTTP 402 Payment Required: ASR_PAYMENT_REQUIRED", 402, false, "s1"},
      r.now));
  auto d = all<act::PostDegraded>(a);
  g_assert_cmpuint(d.size(), ==, 1);
  g_assert_cmpint(d[0].code, ==, 402);
  g_assert_cmpuint(count<act::Warn>(a), ==, 1);
  g_assert_cmpuint(count<act::ScheduleRecovery>(a), ==, 0);
  g_assert_cmpuint(count<act::Fatal>(a), ==, 0);
  r.buffers(5);
  g_assert_cmpuint(count<act::SendReconnect>(r.due()), ==, 0);
  /* The pre-recorded API refuses too: nothing can transcribe, an ERROR. */
  a = r.keep(r.core.on_health(
      Branch::Batch, SinkHealth{false, "HTTP 402 Payment Required", 402, false, "b"}, r.now));
  g_assert_cmpuint(count<act::Fatal>(a), ==, 1);
  g_assert_true(r.core.fatal());
  a = r.buffer();
  g_assert_cmpuint(count<act::PushAudio>(a), ==, 0);
}

/* Failed attempts to get back: each one a stt/recovery-failed, the first one
 * a WARNING, then at most one WARNING per warn_interval; going back from
 * recovering to degraded is one of them. */
static void test_failed_recoveries_are_reported() {
  FailoverSettings settings;
  settings.warn_interval = 60 * S;
  Rig r(settings);
  r.healthy("s1");
  r.buffers(2);
  r.unhealthy();
  size_t warns_before = count<act::Warn>(r.log); /* the degraded WARNING */
  for (int i = 0; i < 3; i++) {
    r.due();
    auto a = r.unhealthy("cannot connect: Connection refused", 0);
    auto f = all<act::PostRecoveryFailed>(a);
    g_assert_cmpuint(f.size(), ==, 1);
    g_assert_cmpuint(f[0].attempt, ==, static_cast<uint32_t>(i + 1));
    g_assert_nonnull(strstr(f[0].reason.c_str(), "refused"));
    r.now += 10 * S;
  }
  g_assert_cmpuint(count<act::Warn>(r.log) - warns_before, ==, 1);
  g_assert_cmpuint(count<act::PostDegraded>(r.log), ==, 1);
  r.now += 60 * S;
  r.recover_to("s3");
  auto a = r.unhealthy("closed 1011", 1011); /* recovering -> degraded */
  g_assert_cmpuint(count<act::PostRecoveryFailed>(a), ==, 1);
  g_assert_cmpuint(count<act::Warn>(a), ==, 1);
  FailoverStats stats = r.core.stats(r.now);
  g_assert_cmpuint(stats.recoveries_failed, ==, 4);
  g_assert_cmpstr(stats.last_retry_reason.c_str(), ==, "closed 1011");
}

/* Both APIs down: one WARNING naming both, and after max_outage an ERROR;
 * a branch coming back first disarms it. */
static void test_both_down_warns_then_gives_up() {
  FailoverSettings settings;
  settings.max_outage = 120 * S;
  Rig r(settings);
  r.healthy("s1");
  r.buffers(2);
  r.unhealthy("cannot connect: Connection refused", 0);
  auto a = r.keep(
      r.core.on_health(Branch::Batch, SinkHealth{false, "cannot connect", 0, true, "b"}, r.now));
  auto w = all<act::Warn>(a);
  g_assert_cmpuint(w.size(), ==, 1);
  g_assert_nonnull(strstr(w[0].message.c_str(), "Neither"));
  auto g = all<act::ScheduleGiveUp>(a);
  g_assert_cmpuint(g.size(), ==, 1);
  g_assert_cmpuint(g[0].at, ==, r.now + 120 * S);
  /* The batch API answers again: no give-up. */
  a = r.keep(r.core.on_health(Branch::Batch, SinkHealth{true, "ok", 200, true, "b"}, r.now));
  g_assert_cmpuint(count<act::CancelGiveUp>(a), ==, 1);
  g_assert_cmpuint(count<act::Fatal>(r.keep(r.core.on_give_up_due(r.now + 200 * S))), ==, 0);
  /* Down again, for good this time. */
  a = r.keep(r.core.on_health(Branch::Batch, SinkHealth{false, "HTTP 503", 503, true, "b"}, r.now));
  uint64_t at = all<act::ScheduleGiveUp>(a).at(0).at;
  g_assert_cmpuint(count<act::Fatal>(r.keep(r.core.on_give_up_due(at - S))), ==, 0);
  auto f = all<act::Fatal>(r.keep(r.core.on_give_up_due(at)));
  g_assert_cmpuint(f.size(), ==, 1);
  g_assert_nonnull(strstr(f[0].detail.c_str(), "HTTP 503"));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/failover/streaming", test_streaming_routes_to_stream);
  g_test_add_func("/failover/non-live-batch", test_non_live_input_goes_to_batch);
  g_test_add_func("/failover/non-live-room", test_non_live_stream_first_waits_for_room);
  g_test_add_func("/failover/jitter", test_jittered_timestamps_never_leave_slivers_owed);
  g_test_add_func("/failover/permanent-stream", test_permanent_stream_failure_is_not_retried);
  g_test_add_func("/failover/failed-recoveries", test_failed_recoveries_are_reported);
  g_test_add_func("/failover/both-down", test_both_down_warns_then_gives_up);
  g_test_add_func("/failover/unhealthy-degrades", test_unhealthy_degrades_and_replays_before_live);
  g_test_add_func("/failover/push-failure", test_push_failure_replays_at_once);
  g_test_add_func("/failover/start-breaker-open", test_start_with_breaker_open_never_streams);
  g_test_add_func("/failover/breaker-open-keeps-stream", test_breaker_opening_keeps_healthy_stream);
  g_test_add_func("/failover/recovery-cycle", test_full_recovery_cycle);
  g_test_add_func("/failover/cut-waits-for-pause", test_cut_waits_for_pause_or_max_wait);
  g_test_add_func("/failover/catch-up-flush-on-recovering", test_catch_up_flush_on_recovering);
  g_test_add_func("/failover/restart-replays-to-the-new-session",
                  test_restart_replays_to_the_new_session);
  g_test_add_func("/failover/restart-that-fails-degrades-with-everything",
                  test_restart_that_fails_degrades_with_everything);
  g_test_add_func("/failover/cut-at-the-end-of-a-source-pause",
                  test_cut_at_the_end_of_a_source_pause);
  g_test_add_func("/failover/recovery-by-final", test_recovery_declared_by_final_transcript);
  g_test_add_func("/failover/interim-not-recovery", test_interim_is_not_recovery);
  g_test_add_func("/failover/breaker-gates-attempts", test_breaker_gates_attempts);
  g_test_add_func("/failover/breaker-closing-brings-everyone-back-soon",
                  test_breaker_closing_brings_everyone_back_soon);
  g_test_add_func("/failover/path-restored-recovers-now", test_path_restored_recovers_now);
  g_test_add_func("/failover/no-wedge", test_no_wedge_when_sink_never_answers);
  g_test_add_func("/failover/fail-while-recovering",
                  test_failure_while_recovering_replays_from_cut);
  g_test_add_func("/failover/flapping", test_flapping_messages_alternate);
  g_test_add_func("/failover/replay-exactness", test_replay_exactness_across_cuts);
  g_test_add_func("/failover/overflow-drops", test_overflow_drops_reported);
  g_test_add_func("/failover/mode-force-batch", test_mode_force_batch);
  g_test_add_func("/failover/mode-force-batch-replays",
                  test_mode_force_batch_while_streaming_replays);
  g_test_add_func("/failover/mode-force-stream", test_mode_force_stream_drops_when_down);
  g_test_add_func("/failover/stale-session", test_stale_session_results_ignored);
  g_test_add_func("/failover/captions-across-cut", test_captions_ordered_across_cut);
  g_test_add_func("/failover/eos", test_eos_stops_recovery_and_drains);
  g_test_add_func("/failover/eos-stream-fails", test_stream_fails_during_eos_drain);
  g_test_add_func("/failover/eos-drain-timeout", test_drain_timeout_hands_audio_to_batch);
  g_test_add_func("/failover/batch-drain-timeout", test_batch_drain_timeout_reports_owed);
  g_test_add_func("/failover/reset-keeps-outage", test_reset_keeps_open_outage);
  g_test_add_func("/failover/duplicate-healthy", test_duplicate_healthy_during_recovering);
  g_test_add_func("/failover/flush-only-with-audio", test_flush_only_when_batch_has_audio);
  return g_test_run();
}
