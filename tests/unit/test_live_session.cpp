/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's live session on fake time: sending, acks, reconnect and
 * replay, permanent failures, stalls and pauses, lost audio, the EOS drain
 * and max-outage, asserted on the actions it returns. */
#include <glib.h>

#include <cstring>

#include "live_session.h"

#include "action_queries.h"

using namespace dgf;
using namespace dgf::live;

static const uint64_t MS = 1000000;
static const uint64_t S = 1000 * MS;

/* A payload that knows which audio it is: [start, start + duration), 16 kHz. */
struct Span : LivePayload {
  uint64_t start, duration;
  Span(uint64_t s, uint64_t d) : start(s), duration(d) {}
  uint64_t frames() const override { return duration * 16000 / S; }
  LivePayloadRef trimmed(uint64_t skip) const override {
    return std::make_shared<Span>(start + skip, duration - skip);
  }
};

static void append(LiveActions &to, const LiveActions &from) {
  to.insert(to.end(), from.begin(), from.end());
}

static LiveSessionSettings test_settings() {
  LiveSessionSettings s;
  s.replay_window = 5 * S;
  s.retry_backoff = BackoffPolicy{std::chrono::milliseconds{1000}, std::chrono::milliseconds{8000}};
  s.watchdog.stall = 2 * S;
  s.watchdog.keepalive = 3 * S;
  s.watchdog.idle_finalize = 1 * S;
  s.finalize_timeout = 10 * S;
  return s;
}

/* The session, fake time and 100 ms buffers; jitter draws 0.5 (half the ceiling). */
struct Rig {
  LiveSession s;
  uint64_t now = 1000 * S;
  uint64_t pts = 0;

  explicit Rig(LiveSessionSettings settings = test_settings(), bool live = true)
      : s(settings, [] { return 0.5; }) {
    s.start(settings);
    s.set_input_live(live);
    s.on_caps(16000, false, now);
  }
  LiveActions audio(int n = 1, uint64_t duration = 100 * MS) {
    LiveActions out;
    for (int i = 0; i < n; i++) {
      append(out, s.on_audio(pts, duration, std::make_shared<Span>(pts, duration), now));
      pts += duration;
      now += duration;
    }
    return out;
  }
  LiveActions open(const std::string &sid = "sid-1") {
    LiveActions out = s.on_connecting(sid, now);
    append(out, s.on_open("req-" + sid, now));
    return out;
  }
  LiveActions final_result(double start, double duration, const std::string &text = "word") {
    dgf::Transcript t;
    t.text = text;
    t.start = start;
    t.duration = duration;
    t.is_final = true;
    return s.on_message(LiveMessage{t}, now);
  }
  /* Ticks every 100 ms for `span`. */
  LiveActions ticks(uint64_t span) {
    LiveActions out;
    for (uint64_t end = now + span; now < end;) {
      now += 100 * MS;
      append(out, s.on_tick(now));
    }
    return out;
  }
};

static void test_connect_open_send() {
  Rig r;
  LiveActions a = r.audio();
  g_assert_cmpuint(count<Connect>(a), ==, 1); /* the first audio connects */
  g_assert_cmpuint(count<SendAudio>(a), ==, 0);
  g_assert_cmpuint(r.s.held(), ==, 100 * MS);
  g_assert_cmpuint(count<Connect>(r.audio()), ==, 0); /* one connection at a time */
  a = r.s.on_connecting("sid-1", r.now);
  g_assert_true(r.s.phase() == LivePhase::Connecting);
  a = r.s.on_open("req-1", r.now);
  auto breaker = all<ReportBreaker>(a);
  g_assert_cmpuint(breaker.size(), ==, 1);
  g_assert_true(breaker[0].outcome == BreakerOutcome::Success);
  auto health = all<Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_true(health[0].healthy);
  g_assert_cmpstr(health[0].session_id.c_str(), ==, "sid-1");
  auto sends = all<SendAudio>(a);
  g_assert_cmpuint(sends.size(), ==, 2); /* what waited, in order */
  g_assert_cmpuint(sends[0].start, ==, 0);
  g_assert_cmpuint(sends[1].start, ==, 100 * MS);
  g_assert_cmpint(index_of<Health>(a), <, index_of<SendAudio>(a));
  g_assert_cmpuint(count<SendAudio>(r.audio()), ==, 1); /* open: sent at once */
  g_assert_cmpuint(r.s.stats().audio_sent, ==, 300 * MS);
  g_assert_cmpuint(r.s.stats().connections, ==, 1);
  g_assert_cmpstr(r.s.stats().state.c_str(), ==, "open");
  g_assert_cmpuint(r.s.held(), ==, 300 * MS); /* un-acked */
}

static void test_results_ack_and_transcripts() {
  Rig r;
  r.audio();
  r.open();
  r.audio(4); /* connection seconds 0..0.5 = pipeline 0..0.5 */
  r.pts = 2 * S;
  r.audio(5); /* a gap: connection 0.5..1.0 = pipeline 2.0..2.5 */
  LiveActions a = r.final_result(0.4, 0.2, "hello");
  auto t = all<live::Transcript>(a);
  g_assert_cmpuint(t.size(), ==, 1);
  g_assert_cmpstr(t[0].t.text.c_str(), ==, "hello");
  g_assert_cmpstr(t[0].t.request_id.c_str(), ==, "req-sid-1");
  g_assert_cmpuint(t[0].start, ==, 400 * MS);
  g_assert_cmpuint(t[0].start + t[0].duration, ==, 2100 * MS); /* across the gap */
  auto acks = all<Ack>(a);
  g_assert_cmpuint(acks.size(), ==, 1);
  g_assert_cmpuint(acks[0].position, ==, 2100 * MS);
  g_assert_false(acks[0].drained);
  g_assert_cmpuint(r.s.held(), ==, 400 * MS); /* 2.1..2.5 s */
  g_assert_cmpuint(count<Progress>(a), ==, 1);

  dgf::Transcript interim;
  interim.is_final = false;
  a = r.s.on_message(LiveMessage{interim}, r.now); /* empty interim: not posted, no ack */
  g_assert_cmpuint(count<live::Transcript>(a), ==, 0);
  g_assert_cmpuint(count<Ack>(a), ==, 0);
  interim.text = "wor";
  a = r.s.on_message(LiveMessage{interim}, r.now);
  g_assert_cmpuint(count<live::Transcript>(a), ==, 1);
  g_assert_cmpuint(count<Ack>(a), ==, 0);
  g_assert_cmpuint(r.s.stats().results, ==, 3);
  g_assert_cmpuint(r.s.stats().finals, ==, 1);
}

static void test_close_1011_retries_and_replays() {
  Rig r;
  r.audio();
  r.open();
  r.audio(4);
  r.final_result(0.0, 0.2); /* 0..200 ms acked */
  LiveActions a = r.s.on_closed(1011, "NET-0000", "", r.now);
  auto health = all<Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_false(health[0].healthy);
  g_assert_true(health[0].retryable);
  g_assert_cmpint(health[0].code, ==, 1011);
  g_assert_cmpstr(health[0].reason.c_str(), ==, "closed 1011 NET-0000");
  g_assert_cmpuint(count<Disconnect>(a), ==, 1);
  g_assert_true(all<ReportBreaker>(a).empty()); /* the open already reported success */
  g_assert_cmpuint(count<Warn>(a), ==, 1);
  g_assert_cmpuint(count<Dropped>(a), ==, 0);
  g_assert_cmpuint(count<Fatal>(a), ==, 0);
  auto retry = all<ScheduleRetry>(a);
  g_assert_cmpuint(retry.size(), ==, 1);
  g_assert_cmpuint(retry[0].at, ==, r.now + 500 * MS); /* 0.5 x 1 s */
  g_assert_true(r.s.phase() == LivePhase::Down);
  g_assert_cmpuint(r.s.held(), ==, 300 * MS); /* un-acked, waiting to be replayed */

  r.audio(); /* new audio waits behind the replay */
  r.now = retry[0].at;
  a = r.s.on_retry_due(r.now);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  a = r.s.on_connecting("sid-2", r.now);
  a = r.s.on_handshake_failed(503, "busy", "", "", r.now); /* still down: attempt 2 */
  retry = all<ScheduleRetry>(a);
  g_assert_cmpuint(retry.size(), ==, 1);
  g_assert_cmpuint(retry[0].at, ==, r.now + 1000 * MS);
  g_assert_true(all<ReportBreaker>(a)[0].outcome == BreakerOutcome::Failure);
  /* The service answered: its failure, not the network's. */
  g_assert_true(all<ReportBreaker>(a)[0].source == FailureSource::Service);
  g_assert_cmpuint(count<Warn>(a), ==, 0); /* one WARNING per outage */

  r.now = retry[0].at;
  g_assert_cmpuint(count<Connect>(r.s.on_retry_due(r.now)), ==, 1);
  a = r.open("sid-3");
  auto sends = all<SendAudio>(a);
  g_assert_cmpuint(sends.size(), ==, 4);
  g_assert_cmpuint(sends[0].start, ==, 200 * MS); /* the un-acked replayed first */
  g_assert_cmpuint(sends[2].start, ==, 400 * MS);
  g_assert_cmpuint(sends[3].start, ==, 500 * MS); /* then the new audio */
  g_assert_cmpuint(r.s.stats().audio_replayed, ==, 300 * MS);
  g_assert_cmpuint(r.s.stats().failures, ==, 2);
  g_assert_cmpuint(r.s.stats().connections, ==, 2);      /* made */
  g_assert_cmpuint(r.s.stats().connect_attempts, ==, 3); /* one of them refused */
  /* The new connection's clock starts at 0 at the replayed audio. */
  auto acks = all<Ack>(r.final_result(0.0, 0.1));
  g_assert_cmpuint(acks[0].position, ==, 300 * MS);
  g_assert_cmpstr(acks[0].session_id.c_str(), ==, "sid-3");
}

static void check_permanent(unsigned status) {
  Rig r;
  r.audio(3);
  r.s.on_connecting("sid-1", r.now);
  LiveActions a = r.s.on_handshake_failed(status, "refused", "req-9", "", r.now);
  auto refusal = all<Refusal>(a);
  g_assert_cmpuint(refusal.size(), ==, 1);
  g_assert_cmpuint(refusal[0].status, ==, status);
  g_assert_cmpstr(refusal[0].request_id.c_str(), ==, "req-9");
  g_assert_false(refusal[0].supervised);
  auto fatal = all<Fatal>(a);
  g_assert_cmpuint(fatal.size(), ==, 1);
  g_assert_false(fatal[0].flow_ok);
  g_assert_true(all<ReportBreaker>(a)[0].outcome == BreakerOutcome::Cancelled);
  g_assert_false(all<Health>(a)[0].retryable);
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 0);
  g_assert_cmpuint(count<Warn>(a), ==, 0); /* the refusal is the ERROR */
  auto dropped = all<Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1); /* nothing lost silently */
  g_assert_cmpuint(dropped[0].report.duration, ==, 300 * MS);
  g_assert_cmpstr(dropped[0].report.reason.c_str(), ==, "server-error");
  g_assert_true(r.s.phase() == LivePhase::Fatal);
  /* No retry loop: audio, ticks and reconnect requests do nothing. */
  g_assert_cmpuint(r.audio(5).size(), ==, 0);
  LiveActions later = r.ticks(120 * S);
  g_assert_cmpuint(count<Connect>(later), ==, 0);
  g_assert_cmpuint(count<Fatal>(later), ==, 0);
  g_assert_cmpuint(count<Connect>(r.s.on_reconnect_request(r.now)), ==, 0);
}

static void test_permanent_failure_is_fatal() {
  check_permanent(401);
  check_permanent(402);
}

static void test_stall_when_owed_and_silent() {
  Rig r;
  r.audio();
  r.open();
  r.audio(9); /* 1 s in real time, nothing answered */
  LiveActions a = r.ticks(1900 * MS);
  g_assert_cmpuint(count<Health>(a), ==, 0);           /* owed for less than stall */
  g_assert_cmpuint(all<SendControl>(a).size(), ==, 1); /* a Finalize at the pause */
  a = r.ticks(500 * MS);
  auto health = all<Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_false(health[0].healthy);
  g_assert_true(g_str_has_prefix(health[0].reason.c_str(), "stall: "));
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 1);
  g_assert_true(r.s.phase() == LivePhase::Down);
  g_assert_cmpuint(r.s.held(), ==, 1 * S); /* kept for the replay */
}

/* A slow link delivers in bursts: while nothing new arrives the server,
 * having answered all it got, is rightly silent. Audio still queued for the
 * network is owed by no one, so that silence is no stall (no replay-from-
 * start loop); the lag is a WARNING, once per stretch. */
static void test_slow_link_is_no_stall_but_a_warning() {
  Rig r;
  r.audio();
  r.open();
  TransportReport report;
  report.needed_bps = 262000;
  LiveActions a;
  for (int i = 0; i < 60; i++) {
    append(a, r.audio());
    bool flowing = i < 30; /* then 3 s in which the link delivers nothing new */
    if (flowing)
      report.delivered = r.pts / 2;
    report.backlog = r.pts - report.delivered;
    report.achieved_bps = i >= 20 ? 131000 : 0; /* once a rate window has passed */
    append(a, r.s.on_transport(report, r.now));
    if (flowing && (i % 5 == 0 || i == 29)) /* the server answers all it received */
      append(a, r.final_result(0, static_cast<double>(report.delivered) / 1e9));
    append(a, r.s.on_tick(r.now));
  }
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  g_assert_true(r.s.phase() == LivePhase::Open);
  auto warns = all<Warn>(a);
  g_assert_cmpuint(warns.size(), ==, 1);
  g_assert_true(warns[0].kind == WarnKind::SlowLink);
  g_assert_nonnull(strstr(warns[0].message.c_str(), "carries 131 kbit/s"));
  g_assert_nonnull(strstr(warns[0].message.c_str(), "needs 262 kbit/s"));
  g_assert_cmpuint(r.s.stats().send_backlog, ==, report.backlog);
  g_assert_cmpuint(r.s.stats().send_rate, ==, 131000);
}

/* Feeds 6 s of audio over a link that carries half of it, answering what
 * arrives: the backlog passes slow_link_backlog (3 s) within the run. */
static LiveActions run_slow_link(Rig &r) {
  TransportReport report;
  report.needed_bps = 124000;
  LiveActions a;
  uint64_t start = r.pts;
  for (int i = 0; i < 60 && r.s.phase() == LivePhase::Open; i++) {
    append(a, r.audio());
    report.delivered = (r.pts - start) / 4; /* a quarter: the backlog grows 75 ms per 100 */
    report.backlog = r.pts - start - report.delivered;
    report.achieved_bps = i >= 20 ? 31000 : 0;
    append(a, r.s.on_transport(report, r.now));
    if (i % 5 == 4 && r.s.phase() == LivePhase::Open) /* the server answers what arrived */
      append(a, r.final_result(0, static_cast<double>(report.delivered) / 1e9));
    append(a, r.s.on_tick(r.now));
  }
  return a;
}

/* encoding=auto: a link too slow for FLAC ends the connection once and the
 * rest goes as Opus on a new one at once (no backoff: the service is fine),
 * replaying what was never acknowledged. Opus too slow is only a WARNING. */
static void test_slow_link_steps_down_to_opus_once() {
  LiveSessionSettings settings = test_settings();
  settings.encoding = AudioEncoding::Flac;
  settings.step_down = true;
  settings.replay_window = 60 * S;
  Rig r(settings);
  g_assert_cmpstr(r.s.stats().encoding.c_str(), ==, "flac");
  r.audio();
  r.open();
  LiveActions a = run_slow_link(r);
  g_assert_true(r.s.encoding() == AudioEncoding::Opus);
  g_assert_cmpstr(r.s.stats().encoding.c_str(), ==, "opus");
  auto warns = all<Warn>(a);
  g_assert_cmpuint(warns.size(), ==, 1);
  g_assert_true(warns[0].kind == WarnKind::SlowLink);
  g_assert_nonnull(strstr(warns[0].message.c_str(), "too slow for live captions in flac"));
  g_assert_nonnull(strstr(warns[0].message.c_str(), "reconnecting with opus"));
  g_assert_cmpuint(count<Disconnect>(a), ==, 1);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  g_assert_cmpint(index_of<CancelRetry>(a), >, index_of<ScheduleRetry>(a)); /* no backoff */
  g_assert_cmpint(index_of<Connect>(a), >, index_of<CancelRetry>(a));
  g_assert_cmpuint(r.s.held(), >, 3 * S); /* the backlog, and all else unanswered, replays */
  a = r.open("sid-2");
  g_assert_cmpuint(count<SendAudio>(a), >=, 1); /* the replay, on the Opus connection */
  a = run_slow_link(r);
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  warns = all<Warn>(a);
  g_assert_cmpuint(warns.size(), ==, 1);
  g_assert_nonnull(strstr(warns[0].message.c_str(), "too slow for live captions: "));
  g_assert_true(r.s.encoding() == AudioEncoding::Opus);
}

/* Under a supervisor the step down is a failure the supervisor sees (it
 * replays elsewhere and reconnects on its recovery), never a reconnect of
 * the session's own; without step_down a slow link only warns. */
static void test_slow_link_step_down_supervised_and_off() {
  LiveSessionSettings settings = test_settings();
  settings.encoding = AudioEncoding::Flac;
  settings.step_down = true;
  Rig r(settings);
  r.s.start(settings, true);
  r.s.on_caps(16000, false, r.now);
  r.audio();
  r.open();
  LiveActions a = run_slow_link(r);
  auto health = all<Health>(a);
  g_assert_cmpuint(health.size(), >=, 1);
  g_assert_false(health.back().healthy);
  g_assert_nonnull(strstr(health.back().reason.c_str(), "stepping down to opus"));
  g_assert_true(health.back().restarting);
  g_assert_cmpuint(count<Connect>(a), ==, 0); /* the supervisor's stt/reconnect comes first */
  a = r.s.on_reconnect_request(r.now);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  g_assert_true(r.s.encoding() == AudioEncoding::Opus);

  settings.step_down = false;
  Rig off(settings);
  off.audio();
  off.open();
  a = run_slow_link(off);
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  g_assert_cmpuint(count<Warn>(a), ==, 1);
  g_assert_true(off.s.encoding() == AudioEncoding::Flac);
}

/* Bytes waiting with no ACK at all for send-timeout: the path is dead; the
 * session fails now (replaying what was not acknowledged) instead of waiting
 * for TCP or a stall. A blackhole is not "slow": no slow-link WARNING. */
static void test_dead_path_fails_after_send_timeout() {
  LiveSessionSettings settings = test_settings();
  settings.send_timeout = 5 * S;
  settings.watchdog.stall = 30 * S;
  settings.replay_window = 60 * S;
  Rig r(settings);
  r.audio();
  r.open();
  TransportReport report;
  report.needed_bps = 262000;
  LiveActions a;
  for (int i = 0; i < 49; i++) {
    append(a, r.audio());
    report.backlog = r.pts;
    report.unanswered = (i + 1) * 100 * MS;
    report.achieved_bps = 200000; /* what was in flight when it died */
    append(a, r.s.on_transport(report, r.now));
  }
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  append(a, r.audio());
  report.unanswered = 5 * S;
  append(a, r.s.on_transport(report, r.now));
  auto health = all<Health>(a);
  g_assert_cmpuint(health.size(), ==, 1);
  g_assert_true(g_str_has_prefix(health[0].reason.c_str(), "dead path: "));
  g_assert_cmpuint(count<Warn>(a), ==, 1); /* the outage only, never a slow link */
  g_assert_true(first<Warn>(a).kind == WarnKind::Outage);
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 1);
  g_assert_cmpstr(r.s.stats().transport_error.c_str(), ==,
                  "the network acknowledged nothing for 5000 ms");
  g_assert_cmpuint(r.s.held(), ==, r.pts); /* all of it kept for the replay */
}

/* Paused (no audio waits, only a KeepAlive): nothing queues behind it, so
 * 3 s without an ACK is a dead path, not send-timeout's 5 s; with audio
 * waiting 3 s is not. */
static void test_idle_dead_path_fails_sooner() {
  LiveSessionSettings settings = test_settings();
  settings.send_timeout = 5 * S;
  settings.watchdog.stall = 30 * S;
  Rig r(settings);
  r.audio();
  r.open();
  TransportReport report;
  report.delivered = r.pts;
  report.backlog = 100 * MS; /* audio waits */
  report.unanswered = 3 * S;
  LiveActions a = r.s.on_transport(report, r.now);
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  report.backlog = 0; /* only the KeepAlive waits */
  report.unanswered = 2900 * MS;
  a = r.s.on_transport(report, r.now);
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  report.unanswered = 3 * S;
  a = r.s.on_transport(report, r.now);
  g_assert_cmpuint(count<Disconnect>(a), ==, 1);
  g_assert_cmpstr(r.s.stats().transport_error.c_str(), ==,
                  "the network acknowledged nothing for 3000 ms");
}

/* Down for the network's sake: the path is checked once a second, and its
 * return reconnects now instead of at the backoff's time. A failure of the
 * service (a stall, an HTTP status) is not the network's: no checks. */
static void test_path_return_reconnects_now() {
  Rig r;
  r.audio();
  r.open();
  r.audio(5);
  TransportReport report;
  report.unanswered = 5 * S;
  LiveActions a = r.s.on_transport(report, r.now);
  g_assert_true(r.s.phase() == LivePhase::Down);
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 1);
  /* A connection in use: no permit to report, the breaker hears of the path. */
  g_assert_cmpuint(count<PathLost>(a), ==, 1);
  g_assert_cmpuint(count<ReportBreaker>(a), ==, 0);
  a = r.ticks(3 * S);
  g_assert_cmpuint(count<CheckPath>(a), ==, 3);
  g_assert_cmpuint(count<Connect>(a), ==, 0); /* the backoff's retry is later */
  a = r.s.on_path_restored(r.now);
  g_assert_cmpuint(count<CancelRetry>(a), ==, 1);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  g_assert_cmpuint(count<Connect>(r.s.on_path_restored(r.now)), ==, 0); /* once */
  r.open("sid-2");
  g_assert_cmpuint(count<CheckPath>(r.ticks(3 * S)), ==, 0);

  Rig stalled;
  stalled.audio();
  stalled.open();
  stalled.audio(9);
  a = stalled.ticks(5 * S);
  g_assert_true(stalled.s.phase() == LivePhase::Down);
  g_assert_cmpuint(count<CheckPath>(a), ==, 0);
  g_assert_cmpuint(count<PathLost>(a), ==, 0);
  g_assert_cmpuint(count<Connect>(stalled.s.on_path_restored(stalled.now)), ==, 0);
}

/* Deepgram closes a connection that never got audio after ~10 s (NET-0001),
 * KeepAlives or not: connected during a pause is not a failure. The next
 * audio connects again; nothing is reported unhealthy. */
static void test_idle_close_without_audio_is_no_failure() {
  Rig r;
  r.s.set_supervised();
  LiveActions a = r.s.on_reconnect_request(r.now);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  r.open();
  a = r.s.on_closed(1011,
                    "NET-0001 Deepgram did not receive audio data or a text message within the "
                    "timeout window",
                    "", r.now);
  g_assert_cmpuint(count<Health>(a), ==, 0);
  g_assert_cmpuint(count<Disconnect>(a), ==, 1);
  g_assert_true(r.s.phase() == LivePhase::Idle);
  g_assert_cmpuint(r.s.stats().failures, ==, 0);
  g_assert_cmpuint(count<Connect>(r.audio()), ==, 1);
  /* With audio sent, the same close is a failure. */
  r.open("sid-2");
  r.audio(3);
  a = r.s.on_closed(1011, "NET-0001", "", r.now);
  g_assert_cmpuint(count<Health>(a), ==, 1);
}

static void test_pause_is_no_stall() {
  Rig r;
  r.audio();
  r.open();
  r.audio(9);
  r.final_result(0.0, 1.0);        /* all answered */
  LiveActions a = r.ticks(30 * S); /* the source pauses for 30 s */
  g_assert_cmpuint(count<Health>(a), ==, 0);
  g_assert_cmpuint(count<Disconnect>(a), ==, 0);
  g_assert_cmpuint(count<SendControl>(a), ==, 10); /* KeepAlives only */
  g_assert_true(r.s.phase() == LivePhase::Open);
}

static void test_finalize_at_idle() {
  Rig r;
  r.audio();
  r.open();
  r.audio(4);                                     /* the last sent 100 ms ago */
  LiveActions a = r.ticks(800 * MS);              /* 900 ms without audio */
  g_assert_cmpuint(count<SendControl>(a), ==, 0); /* not paused for long enough */
  a = r.ticks(200 * MS);
  auto sent = all<SendControl>(a);
  g_assert_cmpuint(sent.size(), ==, 1);
  g_assert_true(sent[0].what == Control::Finalize);
  g_assert_cmpuint(count<SendControl>(r.ticks(500 * MS)), ==, 0); /* once per pause */
  /* The answer to the Finalize: nothing owed, no stall however long it lasts. */
  a = r.final_result(0.0, 0.5);
  g_assert_cmpuint(all<Ack>(a)[0].position, ==, 500 * MS);
  g_assert_cmpuint(count<Health>(r.ticks(20 * S)), ==, 0);
  /* A GAP asks for one only when audio is unanswered. */
  g_assert_cmpuint(count<SendControl>(r.s.on_gap(r.now)), ==, 0);
  r.audio();
  g_assert_true(all<SendControl>(r.s.on_gap(r.now))[0].what == Control::Finalize);
}

static void test_finalize_unanswered_stalls() {
  Rig r;
  r.audio();
  r.open();
  r.audio(4);
  r.final_result(0.0, 0.5);
  r.audio(); /* unanswered: Finalize at the pause, then silence */
  LiveActions a = r.ticks(4 * S);
  g_assert_cmpuint(count<SendControl>(a), ==, 1);
  g_assert_cmpuint(count<Health>(a), ==, 1);
  g_assert_true(r.s.phase() == LivePhase::Down);
}

static void test_keepalive() {
  Rig r;
  r.audio();
  r.open();
  r.final_result(0.0, 0.1);
  LiveActions a = r.ticks(2900 * MS);
  g_assert_cmpuint(count<SendControl>(a), ==, 0);
  a = r.ticks(200 * MS);
  auto sent = all<SendControl>(a);
  g_assert_cmpuint(sent.size(), ==, 1);
  g_assert_true(sent[0].what == Control::KeepAlive);
  g_assert_cmpuint(r.s.stats().keepalives, ==, 1);
  g_assert_cmpuint(count<SendControl>(r.ticks(2800 * MS)), ==, 0); /* every 3 s */
  g_assert_cmpuint(count<SendControl>(r.ticks(200 * MS)), ==, 1);
  r.audio(); /* audio counts as sending */
  g_assert_cmpuint(count<SendControl>(r.ticks(800 * MS)), ==, 0);
}

static void test_live_overflow_drops_once_per_stretch() {
  LiveSessionSettings settings = test_settings();
  settings.replay_window = 500 * MS;
  Rig r(settings, true);
  r.audio();
  r.s.on_connect_refused("live", r.now); /* the breaker is open: no connection */
  LiveActions a = r.audio(19);
  g_assert_cmpuint(count<Dropped>(a), ==, 0); /* one run, reported when it ends */
  g_assert_cmpuint(r.s.held(), ==, 500 * MS);
  g_assert_cmpuint(r.s.stats().audio_dropped, ==, 1500 * MS);
  a = r.ticks(1 * S);
  auto dropped = all<Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].report.start, ==, 0);
  g_assert_cmpuint(dropped[0].report.duration, ==, 1500 * MS);
  g_assert_cmpuint(dropped[0].report.buffers, ==, 15);
  g_assert_cmpstr(dropped[0].report.reason.c_str(), ==, "disconnected");
  g_assert_true(g_str_has_suffix(dropped[0].report.detail.c_str(),
                                 "live input cannot wait longer than replay-window"));
  g_assert_cmpuint(count<Dropped>(r.ticks(5 * S)), ==, 0); /* reported once */
}

static void test_non_live_backpressure() {
  LiveSessionSettings settings = test_settings();
  settings.replay_window = 500 * MS;
  Rig r(settings, false);
  g_assert_true(r.s.has_room(100 * MS));
  r.audio();
  r.s.on_connect_refused("live", r.now);
  r.audio(4);
  g_assert_false(r.s.has_room(100 * MS)); /* render waits here */
  LiveActions a = r.audio(2);             /* a replay may overfill: kept */
  a = r.ticks(2 * S);
  g_assert_cmpuint(count<Dropped>(a), ==, 0);
  g_assert_cmpuint(r.s.stats().audio_dropped, ==, 0);
  g_assert_cmpuint(r.s.held(), ==, 700 * MS);
  g_assert_true(LiveSession::room_for(0, 2 * S, 500 * MS)); /* one big buffer always passes */
}

/* A buffer that passed render's wait just before the window filled (an ack
 * or a replay landing in between) overfills the ledger; input that is not
 * live keeps it, and a failure replays all of it, reporting nothing lost. */
static void test_non_live_overfill_is_replayed() {
  LiveSessionSettings settings = test_settings();
  settings.replay_window = 500 * MS;
  Rig r(settings, false);
  r.audio();
  r.open();
  r.audio(6); /* 700 ms un-acked, over the window */
  g_assert_cmpuint(r.s.held(), ==, 700 * MS);
  LiveActions a = r.s.on_send_failed(r.now);
  a = r.ticks(2 * S); /* a drop would be reported by now */
  g_assert_cmpuint(count<Dropped>(a), ==, 0);
  g_assert_cmpuint(r.s.stats().audio_dropped, ==, 0);
  g_assert_cmpuint(count<Connect>(r.s.on_retry_due(r.now)), ==, 1);
  auto sends = all<SendAudio>(r.open("sid-2"));
  g_assert_cmpuint(sends.size(), ==, 7);
  g_assert_cmpuint(sends[0].start, ==, 0);
  g_assert_cmpuint(sends[6].start, ==, 600 * MS);
}

static void test_eos_close_stream_once_all_sent() {
  Rig r;
  r.audio(3); /* waits: not connected yet */
  LiveActions a = r.s.on_eos(r.now);
  g_assert_cmpuint(count<SendControl>(a), ==, 0);
  g_assert_cmpuint(count<DrainFinished>(a), ==, 0);
  g_assert_true(r.s.draining());
  a = r.open();
  g_assert_cmpuint(count<SendAudio>(a), ==, 3);
  auto sent = all<SendControl>(a);
  g_assert_cmpuint(sent.size(), ==, 1);
  g_assert_true(sent[0].what == Control::CloseStream);
  g_assert_cmpint(index_of<SendControl>(a), ==, static_cast<ptrdiff_t>(a.size()) - 1);
  r.final_result(0.0, 0.3);
  for (const auto &c : all<SendControl>(r.ticks(5 * S)))
    g_assert_true(c.what != Control::CloseStream); /* once */
  a = r.s.on_closed(1000, "", "", r.now);
  auto acks = all<Ack>(a);
  g_assert_cmpuint(acks.size(), ==, 2);
  g_assert_true(acks[1].drained);
  g_assert_cmpuint(acks[1].position, ==, 300 * MS);
  auto done = all<DrainFinished>(a);
  g_assert_cmpuint(done.size(), ==, 1);
  g_assert_true(done[0].complete);
  g_assert_cmpuint(count<Dropped>(a), ==, 0);
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 0);
  g_assert_true(r.s.phase() == LivePhase::Idle);
}

static void test_finalize_timeout_counts_from_progress() {
  Rig r;
  r.audio();
  r.open();
  r.audio(9);
  uint64_t eos = r.now;
  r.s.on_eos(eos);
  r.now = eos + 8 * S;
  r.final_result(0.0, 0.4); /* progress: the clock starts again */
  g_assert_cmpuint(r.s.on_drain_timeout(eos + 10 * S).size(), ==, 0);
  g_assert_cmpuint(r.s.on_drain_timeout(eos + 18 * S - 1).size(), ==, 0);
  LiveActions a = r.s.on_drain_timeout(eos + 18 * S);
  auto dropped = all<Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].report.start, ==, 400 * MS);
  g_assert_cmpuint(dropped[0].report.duration, ==, 600 * MS);
  g_assert_cmpstr(dropped[0].report.reason.c_str(), ==, "finalize-timeout");
  auto acks = all<Ack>(a);
  g_assert_cmpuint(acks.size(), ==, 1);
  g_assert_true(acks[0].drained);
  g_assert_cmpuint(acks[0].position, ==, 1 * S);
  g_assert_false(all<DrainFinished>(a)[0].complete);
  g_assert_false(r.s.draining());
  g_assert_cmpuint(r.s.on_drain_timeout(eos + 30 * S).size(), ==, 0); /* once */
}

static void test_max_outage_gives_up() {
  LiveSessionSettings settings = test_settings();
  settings.max_outage_ms = 5000;
  Rig r(settings);
  r.audio();
  r.open();
  r.audio(2);
  uint64_t down = r.now;
  r.s.on_closed(1011, "NET-0001", "", down);
  LiveActions a;
  while (r.now + 100 * MS < down + 5 * S) {
    r.now += 100 * MS;
    append(a, r.s.on_tick(r.now));
  }
  g_assert_cmpuint(count<Fatal>(a), ==, 0);
  r.now = down + 5 * S;
  a = r.s.on_tick(r.now);
  auto fatal = all<Fatal>(a);
  g_assert_cmpuint(fatal.size(), ==, 1);
  g_assert_cmpstr(fatal[0].message.c_str(), ==,
                  "Deepgram's live API could not be used for 5 s (max-outage): closed 1011 "
                  "NET-0001");
  g_assert_cmpuint(count<CancelRetry>(a), ==, 1);
  auto dropped = all<Dropped>(a);
  g_assert_cmpuint(dropped.size(), ==, 1);
  g_assert_cmpuint(dropped[0].report.duration, ==, 300 * MS);
  /* Any close code counts as the server's doing (code >= 400). */
  g_assert_cmpstr(dropped[0].report.reason.c_str(), ==, "server-error");
  g_assert_true(g_str_has_prefix(dropped[0].report.detail.c_str(), "gave up after max-outage"));
  g_assert_true(r.s.phase() == LivePhase::Fatal);
  g_assert_cmpuint(count<Fatal>(r.ticks(10 * S)), ==, 0); /* once */

  /* Live input by default (-1) never gives up; input that is not live does. */
  Rig forever;
  forever.audio();
  forever.open();
  forever.s.on_closed(1011, "", "", forever.now);
  g_assert_cmpuint(count<Fatal>(forever.ticks(200 * S)), ==, 0);
  Rig file(test_settings(), false);
  file.audio();
  file.open();
  file.s.on_closed(1011, "", "", file.now);
  g_assert_cmpuint(count<Fatal>(file.ticks(kNonLiveMaxOutageMs * MS + 100 * MS)), ==, 1);
}

static void test_supervised_keeps_nothing() {
  Rig r;
  r.s.set_supervised();
  r.audio();
  r.open();
  r.audio(4);
  LiveActions a = r.s.on_closed(1011, "", "", r.now);
  g_assert_cmpuint(count<ScheduleRetry>(a), ==, 0); /* the supervisor recovers */
  g_assert_cmpuint(count<Warn>(a), ==, 0);          /* and warns */
  g_assert_cmpuint(r.s.held(), ==, 0);
  LiveActions a3 = r.audio(3); /* down: not kept, not sent (debug logs only) */
  g_assert_cmpuint(a3.size(), ==, count<Log>(a3));
  g_assert_cmpuint(r.s.held(), ==, 0);
  a = r.s.on_reconnect_request(r.now);
  g_assert_cmpuint(count<Connect>(a), ==, 1);
  /* Down for the network's sake: the supervisor hears of its return. */
  r.s.on_connecting("sid-2", r.now);
  r.s.on_open("req-2", r.now);
  TransportReport report;
  report.unanswered = 5 * S;
  r.s.on_transport(report, r.now);
  g_assert_cmpuint(count<CheckPath>(r.ticks(1 * S)), ==, 1);
  a = r.s.on_path_restored(r.now);
  g_assert_cmpuint(count<Connect>(a), ==, 0);
  g_assert_cmpuint(count<PathRestored>(a), ==, 1);
  std::string restored = first<PathRestored>(a).session_id; /* a named copy: ASan */
  g_assert_cmpstr(restored.c_str(), ==, "sid-2");
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/live-session/connect-open-send", test_connect_open_send);
  g_test_add_func("/live-session/results-ack-and-transcripts", test_results_ack_and_transcripts);
  g_test_add_func("/live-session/close-1011-retries-and-replays",
                  test_close_1011_retries_and_replays);
  g_test_add_func("/live-session/permanent-failure-is-fatal", test_permanent_failure_is_fatal);
  g_test_add_func("/live-session/stall-when-owed-and-silent", test_stall_when_owed_and_silent);
  g_test_add_func("/live-session/pause-is-no-stall", test_pause_is_no_stall);
  g_test_add_func("/live-session/slow-link-is-no-stall-but-a-warning",
                  test_slow_link_is_no_stall_but_a_warning);
  g_test_add_func("/live-session/slow-link-steps-down-to-opus-once",
                  test_slow_link_steps_down_to_opus_once);
  g_test_add_func("/live-session/slow-link-step-down-supervised-and-off",
                  test_slow_link_step_down_supervised_and_off);
  g_test_add_func("/live-session/dead-path-fails-after-send-timeout",
                  test_dead_path_fails_after_send_timeout);
  g_test_add_func("/live-session/idle-dead-path-fails-sooner", test_idle_dead_path_fails_sooner);
  g_test_add_func("/live-session/path-return-reconnects-now", test_path_return_reconnects_now);
  g_test_add_func("/live-session/idle-close-without-audio-is-no-failure",
                  test_idle_close_without_audio_is_no_failure);
  g_test_add_func("/live-session/finalize-at-idle", test_finalize_at_idle);
  g_test_add_func("/live-session/finalize-unanswered-stalls", test_finalize_unanswered_stalls);
  g_test_add_func("/live-session/keepalive", test_keepalive);
  g_test_add_func("/live-session/live-overflow-drops-once-per-stretch",
                  test_live_overflow_drops_once_per_stretch);
  g_test_add_func("/live-session/non-live-backpressure", test_non_live_backpressure);
  g_test_add_func("/live-session/non-live-overfill-is-replayed",
                  test_non_live_overfill_is_replayed);
  g_test_add_func("/live-session/eos-close-stream-once-all-sent",
                  test_eos_close_stream_once_all_sent);
  g_test_add_func("/live-session/finalize-timeout-counts-from-progress",
                  test_finalize_timeout_counts_from_progress);
  g_test_add_func("/live-session/max-outage-gives-up", test_max_outage_gives_up);
  g_test_add_func("/live-session/supervised-keeps-nothing", test_supervised_keeps_nothing);
  return g_test_run();
}
