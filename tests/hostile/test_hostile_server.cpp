/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile server: 100 MB frames, endless interim results, wrong-typed JSON,
 * a 100 MB pre-recorded body. Memory stays bounded (peak RSS, VmHWM, measured
 * with the emulator in a child process) and each posts a clear warning. */
#include <gst/gst.h>

#include "hostile_support.h"

namespace {

constexpr const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";
constexpr long kHundredMiB = 100L << 20;

std::string live_sink(const char *props) {
  return std::string("appsrc name=src format=time caps=") + kCaps +
         " ! dgstreamsink name=sink url=@WS@/v1/listen api-key=k finalize-timeout=3000 " + props;
}

std::string batch_sink(const char *props) {
  return std::string("appsrc name=src format=time caps=") + kCaps +
         " ! dgbatchsink name=sink url=@HTTP@/v1/listen api-key=k retry-backoff-min=10 "
         "retry-backoff-max=50 "
         "drain-timeout=20000 " +
         props;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

void report_peak(const char *what, long before, long after, long bound_kib) {
  g_test_message("%s: VmHWM %ld -> %ld KiB (+%ld KiB, bound %ld KiB)", what, before, after,
                 after - before, bound_kib);
  /* Under ASan (tools/run-asan.sh) freed blocks stay resident in its
   * quarantine (256 MiB) and every block has redzones, so VmHWM measures ASan,
   * not us: the bound is checked by the ordinary build only. */
  if (!kAsan)
    g_assert_cmpint(after - before, <, bound_kib);
}

/* Every new connection gets one 100 MiB text frame after its first audio. */
void test_live_huge_frame() {
  hostile::ChildEmulator emu(
      R"([{"type":"huge_frame","bytes":104857600,"target":"all","after_bytes":3200}])");
  long before = hostile::peak_rss_kib();
  hostile::Pipeline p(live_sink("reconnect=false"), emu.ws_url(), emu.http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, 30, 0);
  p.log->run_to_end(30 * GST_SECOND);
  long after = hostile::peak_rss_kib();
  g_test_message("%s", p.all_messages().c_str());
  g_assert_true(p.any_message_contains("larger than 1048576 bytes"));
  /* Nothing of the frame is buffered: libsoup refuses it at the header. */
  report_peak("100 MiB live frame", before, after, 16 * 1024);
  (void)kHundredMiB;
}

/* Interims every ms and never a final: the sink warns, treats it as a stall,
 * and keeps no interim (memory flat). */
void test_live_interim_flood() {
  dgemu::Options opts;
  opts.tick_interval_s = 0.005;
  auto emu = dgtest::start_emulator(opts);
  std::string err;
  g_assert_cmpuint(
      emu->inject_json(R"({"type":"interim_flood","ms":1,"target":"all"})", &err).size(), ==, 1);
  long before = hostile::peak_rss_kib();
  /* linear16: no encoder on the streaming thread to slow the flood's
   * victim under ASan; the flood is the subject, not the encoding. */
  hostile::Pipeline p(
      live_sink("reconnect=false interim-results=true stall-timeout=1500 encoding=linear16"),
      emu->ws_url(), emu->http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, 50, 0, /*eos=*/false);
  g_assert_cmpint(gst_element_set_state(p.pipeline, GST_STATE_PLAYING), !=,
                  GST_STATE_CHANGE_FAILURE);
  bool warned = p.wait_for_message("interim results but no final", 20000);
  long after = hostile::peak_rss_kib();
  size_t interims = p.log->interims().size();
  g_test_message("%zu interims; %s", interims, p.all_messages().c_str());
  g_assert_true(warned);
  g_assert_true(p.any_message_contains("no final for 1500 ms"));
  g_assert_cmpuint(p.log->finals().size(), ==, 0);
  g_assert_cmpuint(interims, >, 100);
  report_peak("interim flood", before, after, 16 * 1024);
}

/* Valid JSON with wrong-typed fields: a warning, no crash, no result made up. */
void test_live_wrong_types() {
  auto emu = dgtest::start_emulator();
  std::string err;
  g_assert_cmpuint(
      emu->inject_json(R"({"type":"wrong_types","frames":"all","target":"all"})", &err).size(), ==,
      1);
  hostile::Pipeline p(live_sink("reconnect=false"), emu->ws_url(), emu->http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, 30, 0);
  p.log->run_to_end(30 * GST_SECOND);
  g_test_message("%s", p.all_messages().c_str());
  g_assert_true(p.any_message_contains("Deepgram sent a message that is not valid"));
  g_assert_cmpuint(p.log->finals().size(), ==, 0);
  g_assert_cmpuint(emu->counters().fired("wrong_types"), >=, 1);
}

/* A 100 MiB pre-recorded response: refused unread (Content-Length over the
 * 64 MiB cap), the chunk reported rejected. */
void test_batch_huge_body() {
  hostile::ChildEmulator emu(R"([{"type":"batch_huge","bytes":104857600}])");
  long before = hostile::peak_rss_kib();
  hostile::Pipeline p(batch_sink(""), emu.ws_url(), emu.http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, 20, 0);
  p.log->run_to_end(60 * GST_SECOND);
  long after = hostile::peak_rss_kib();
  g_test_message("%s", p.all_messages().c_str());
  g_assert_true(p.any_message_contains("response body larger than"));
  report_peak("100 MiB batch body", before, after, 16 * 1024);
}

void test_batch_wrong_types() {
  auto emu = dgtest::start_emulator();
  std::string err;
  g_assert_cmpuint(emu->inject_json(R"({"type":"batch_wrong_types"})", &err).size(), ==, 1);
  hostile::Pipeline p(batch_sink(""), emu->ws_url(), emu->http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, 20, 0);
  p.log->run_to_end(60 * GST_SECOND);
  g_test_message("%s", p.all_messages().c_str());
  g_assert_true(p.any_message_contains("unreadable response"));
  g_assert_cmpuint(p.log->finals().size(), ==, 0);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/hostile/server/live-huge-frame", test_live_huge_frame);
  g_test_add_func("/hostile/server/live-interim-flood", test_live_interim_flood);
  g_test_add_func("/hostile/server/live-wrong-types", test_live_wrong_types);
  g_test_add_func("/hostile/server/batch-huge-body", test_batch_huge_body);
  g_test_add_func("/hostile/server/batch-wrong-types", test_batch_wrong_types);
  return g_test_run();
}
