/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <cstring>

#include "drop_coalescer.h"
#include "drop_warnings.h"
#include "failure.h"

using namespace dgf;

static const uint64_t MS = 1000000;

/* Deepgram's documented error answers (docs/troubleshooting.md has the table). */
static void test_http_classification() {
  struct Case {
    unsigned status;
    const char *code, *message;
    FailureKind kind;
  } cases[] = {
      {401, "INVALID_AUTH", "Invalid credentials.", FailureKind::Permanent},
      {402, "ASR_PAYMENT_REQUIRED", "Project does not have enough credits", FailureKind::Permanent},
      {403, "INSUFFICIENT_PERMISSIONS", "", FailureKind::Permanent},
      {404, "", "", FailureKind::Permanent},
      {400, "Bad Request", "Invalid query parameter: model=bogus", FailureKind::Permanent},
      {400, "Bad Request", "failed to process audio: corrupt or unsupported data",
       FailureKind::RejectAudio},
      {413, "", "", FailureKind::RejectAudio},
      {408, "", "", FailureKind::Transient},
      {429, "TOO_MANY_REQUESTS", "", FailureKind::Transient},
      {499, "", "", FailureKind::Transient},
      {500, "", "", FailureKind::Transient},
      {503, "", "", FailureKind::Transient},
      {0, "", "", FailureKind::Transient},
  };
  for (const Case &c : cases) {
    FailureVerdict v = classify_http(c.status, c.code, c.message);
    g_assert_true(v.kind == c.kind);
    if (v.kind != FailureKind::Transient)
      g_assert_false(v.hint.empty());
  }
  FailureVerdict v =
      classify_http(402, "ASR_PAYMENT_REQUIRED", "Project does not have enough credits");
  std::string text =
      describe_failure(v, "ASR_PAYMENT_REQUIRED", "Project does not have enough credits");
  g_assert_cmpstr(text.c_str(), ==,
                  "HTTP 402 Payment Required: ASR_PAYMENT_REQUIRED: Project does not have enough "
                  "credits");
  g_assert_nonnull(strstr(v.hint.c_str(), "credit"));
}

static void test_close_classification() {
  g_assert_true(classify_close(1008, "DATA-0000").kind == FailureKind::Permanent);
  g_assert_true(classify_close(1011, "NET-0000").kind == FailureKind::Transient);
  g_assert_true(classify_close(1006, "").kind == FailureKind::Transient);
  g_assert_true(classify_close(1000, "").kind == FailureKind::Transient);
}

/* 97 buffers of 128 ms lost while the service is down: one report, with the
 * count; a change of reason or a jump starts another. */
static void test_drops_coalesce() {
  DropCoalescer c;
  std::optional<DropReport> done;
  uint64_t t = 1000 * MS;
  for (int i = 0; i < 50; i++, t += 128 * MS)
    g_assert_false(c.add(t + (i % 2) * 3000, 128 * MS, "connect-failed").has_value());
  done = c.add(t, 128 * MS, "finalize-timeout");
  g_assert_true(done.has_value());
  g_assert_cmpuint(done->start, ==, 1000 * MS);
  g_assert_cmpuint(done->buffers, ==, 50);
  g_assert_cmpuint(done->duration, >=, 50 * 128 * MS - MS);
  g_assert_cmpstr(done->reason.c_str(), ==, "connect-failed");
  done = c.add(t + 5000 * MS, 128 * MS, "finalize-timeout"); /* a jump */
  g_assert_true(done.has_value());
  g_assert_cmpuint(done->buffers, ==, 1);
  done = c.flush();
  g_assert_true(done.has_value());
  g_assert_false(c.flush().has_value());
}

static void test_long_runs_report_as_they_go() {
  DropCoalescer c(1000 * MS);
  int reports = 0;
  for (uint64_t t = 0; t < 5000 * MS; t += 100 * MS)
    if (c.add(t, 100 * MS, "reconnect-backlog"))
      reports++;
  g_assert_cmpint(reports, ==, 4);
}

/* A report a second for two minutes (force-stream during an outage): the
 * first is a WARNING, then one every 30 s that stands for the ones between;
 * another reason warns at once. */
static void test_drop_warnings_are_rate_limited() {
  DropWarnings w(30000 * MS);
  int warned = 0;
  uint32_t covered = 0;
  for (uint64_t t = 0; t < 120000 * MS; t += 1000 * MS)
    if (auto n = w.warn("force-stream", t)) {
      warned++;
      covered += *n + 1;
    }
  g_assert_cmpint(warned, ==, 4);    /* 0 s, 30 s, 60 s, 90 s */
  g_assert_cmpuint(covered, ==, 91); /* up to the last warning, none lost */
  auto other = w.warn("replay-window", 120000 * MS);
  g_assert_true(other.has_value());
  g_assert_cmpuint(*other, ==, 0);
  g_assert_false(w.warn("force-stream", 119500 * MS).has_value());
  w.reset();
  g_assert_true(w.warn("force-stream", 120001 * MS).has_value());
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/failure/http", test_http_classification);
  g_test_add_func("/failure/close", test_close_classification);
  g_test_add_func("/drops/coalesce", test_drops_coalesce);
  g_test_add_func("/drops/long-runs", test_long_runs_report_as_they_go);
  g_test_add_func("/drops/warnings", test_drop_warnings_are_rate_limited);
  return g_test_run();
}
