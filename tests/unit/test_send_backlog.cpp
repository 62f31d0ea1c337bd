/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SendBacklog: which audio the network delivered, the backlog and the
 * rates, from frames handed to the socket and the kernel's acked count. */
#include <glib.h>

#include "send_backlog.h"

using namespace dgf;

static const uint64_t MS = 1000000;
static const uint64_t S = 1000 * MS;
/* 100 ms of 16 kHz mono linear16 in one binary frame. */
static const uint64_t kPcm = 3200;
static const uint64_t kFrame = SendBacklog::client_frame_bytes(kPcm);

static void test_frame_bytes() {
  g_assert_cmpuint(SendBacklog::client_frame_bytes(20), ==, 26);
  g_assert_cmpuint(SendBacklog::client_frame_bytes(125), ==, 131);
  g_assert_cmpuint(SendBacklog::client_frame_bytes(126), ==, 134);
  g_assert_cmpuint(SendBacklog::client_frame_bytes(65535), ==, 65543);
  g_assert_cmpuint(SendBacklog::client_frame_bytes(65536), ==, 65550);
}

static void test_handshake_bytes_are_not_audio() {
  SendBacklog b;
  b.reset(700, 0); /* the upgrade request, acked before open */
  b.on_sent(kFrame, 100 * MS, 0);
  b.on_acked(700, 10 * MS);
  g_assert_cmpuint(b.delivered_audio(), ==, 0);
  g_assert_cmpuint(b.backlog_audio(), ==, 100 * MS);
  g_assert_cmpuint(b.backlog_bytes(), ==, kFrame);
  b.on_acked(700 + kFrame, 20 * MS);
  g_assert_cmpuint(b.delivered_audio(), ==, 100 * MS);
  g_assert_cmpuint(b.backlog_audio(), ==, 0);
}

static void test_part_of_a_frame_delivers_its_share() {
  SendBacklog b;
  b.reset(0, 0);
  b.on_sent(kFrame, 100 * MS, 0);
  b.on_sent(kFrame, 100 * MS, 0);
  b.on_acked(kFrame + kFrame / 2, 1 * MS);
  /* Half the second frame's bytes: about half its audio. */
  g_assert_cmpuint(b.delivered_audio(), >=, 145 * MS);
  g_assert_cmpuint(b.delivered_audio(), <=, 150 * MS);
}

static void test_control_frames_carry_no_audio() {
  SendBacklog b;
  b.reset(0, 0);
  b.on_sent(kFrame, 100 * MS, 0);
  b.on_sent(SendBacklog::client_frame_bytes(20), 0, 0); /* KeepAlive */
  b.on_acked(kFrame + 26, 1 * MS);
  g_assert_cmpuint(b.delivered_audio(), ==, 100 * MS);
  g_assert_cmpuint(b.backlog_bytes(), ==, 0);
  /* Needed: audio frames' wire bytes per second of audio only. */
  g_assert_cmpfloat_with_epsilon(b.needed_rate(), kFrame * 10.0, 1e-6);
}

static void test_acks_never_go_backwards_or_past_what_was_sent() {
  SendBacklog b;
  b.reset(0, 0);
  b.on_sent(kFrame, 100 * MS, 0);
  b.on_acked(kFrame + 500, 1 * MS); /* a pong we did not count */
  g_assert_cmpuint(b.backlog_bytes(), ==, 0);
  b.on_acked(10, 2 * MS);
  g_assert_cmpuint(b.delivered_audio(), ==, 100 * MS);
}

/* Real time at 100 ms frames over a link that carries half of it: the
 * backlog grows by ~0.5 s a second and the rate is half the need. */
static void test_half_rate_link() {
  SendBacklog b;
  b.reset(0, 0);
  double link = kFrame * 10.0 / 2; /* bytes per second */
  uint64_t acked = 0;
  for (uint64_t t = 0; t <= 10 * S; t += 100 * MS) {
    b.on_sent(kFrame, 100 * MS, t);
    acked = static_cast<uint64_t>(link * static_cast<double>(t) / 1e9);
    b.on_acked(acked, t);
  }
  g_assert_cmpuint(b.backlog_audio(), >=, 4900 * MS);
  g_assert_cmpuint(b.backlog_audio(), <=, 5200 * MS);
  g_assert_cmpfloat(b.achieved_rate(), >, link * 0.95);
  g_assert_cmpfloat(b.achieved_rate(), <, link * 1.05);
  g_assert_cmpfloat(b.needed_rate(), >, b.achieved_rate() * 1.9);
}

/* A link that keeps up is never reported as a rate limit. */
static void test_fast_link_reports_no_limit() {
  SendBacklog b;
  b.reset(0, 0);
  uint64_t sent = 0;
  for (uint64_t t = 0; t <= 10 * S; t += 100 * MS) {
    b.on_sent(kFrame, 100 * MS, t);
    sent += kFrame;
    b.on_acked(sent, t + 1 * MS);
  }
  g_assert_cmpuint(b.backlog_audio(), ==, 0);
  g_assert_cmpfloat(b.achieved_rate(), ==, 0);
}

/* A blackhole: nothing acked, the backlog is all that was sent since. */
static void test_blackhole_backlog_grows() {
  SendBacklog b;
  b.reset(0, 0);
  uint64_t sent = 0;
  for (uint64_t t = 0; t < 2 * S; t += 100 * MS) {
    b.on_sent(kFrame, 100 * MS, t);
    sent += kFrame;
    b.on_acked(sent, t + 1 * MS);
  }
  for (uint64_t t = 2 * S; t < 5 * S; t += 100 * MS) {
    b.on_sent(kFrame, 100 * MS, t);
    b.on_acked(sent, t);
  }
  g_assert_cmpuint(b.delivered_audio(), ==, 2 * S);
  g_assert_cmpuint(b.backlog_audio(), ==, 3 * S);
  g_assert_cmpfloat(b.achieved_rate(), ==, 0); /* no window has passed busy with acks */
}

/* Bytes waiting and no acknowledgement: timed from when they started to
 * wait or the last progress; any acknowledgement restarts the clock, and
 * nothing waiting is never "unanswered". */
static void test_unanswered_bytes_are_timed() {
  SendBacklog b;
  b.reset(0, 0);
  g_assert_cmpuint(b.unanswered_for(10 * S), ==, 0); /* nothing waits */
  b.on_sent(kFrame, 100 * MS, 10 * S);
  b.on_acked(0, 13 * S);
  g_assert_cmpuint(b.unanswered_for(15 * S), ==, 5 * S);
  b.on_acked(100, 15 * S); /* a partial ack: the network answers */
  g_assert_cmpuint(b.unanswered_for(15 * S), ==, 0);
  g_assert_cmpuint(b.unanswered_for(16 * S), ==, 1 * S);
  b.on_acked(kFrame, 17 * S);
  g_assert_cmpuint(b.unanswered_for(30 * S), ==, 0);
  /* Idle for long, then a KeepAlive: its clock starts when it is sent. */
  b.on_sent(26, 0, 40 * S);
  g_assert_cmpuint(b.unanswered_for(41 * S), ==, 1 * S);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/send-backlog/frame-bytes", test_frame_bytes);
  g_test_add_func("/send-backlog/handshake-bytes-are-not-audio",
                  test_handshake_bytes_are_not_audio);
  g_test_add_func("/send-backlog/part-of-a-frame", test_part_of_a_frame_delivers_its_share);
  g_test_add_func("/send-backlog/control-frames", test_control_frames_carry_no_audio);
  g_test_add_func("/send-backlog/acks-monotonic-and-bounded",
                  test_acks_never_go_backwards_or_past_what_was_sent);
  g_test_add_func("/send-backlog/half-rate-link", test_half_rate_link);
  g_test_add_func("/send-backlog/fast-link", test_fast_link_reports_no_limit);
  g_test_add_func("/send-backlog/blackhole", test_blackhole_backlog_grows);
  g_test_add_func("/send-backlog/unanswered-bytes", test_unanswered_bytes_are_timed);
  return g_test_run();
}
