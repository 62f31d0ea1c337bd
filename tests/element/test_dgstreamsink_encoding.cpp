/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's encoding property against dg-emulator: with encoding=flac
 * the sequence engine (which needs lossless audio) hears every block exactly
 * once at its own time, as with linear16, also across a 1011 close with
 * replay on a fresh FLAC stream; the wire carries less than the PCM (so it
 * really was FLAC); a missing encoder is a clear error at start. */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstring>

#include "dg_test_support.h"
#include "stream_sink_harness.h"

using dgtest::BusLog;
using namespace streamtest;

namespace {

constexpr guint64 kPcmBytesPerBlock = 3200; /* 100 ms at 16 kHz mono S16 */

/* The same blocks at the same times as linear16 gives; the wire held the
 * FLAC stream (far less than the PCM), on one connection. */
void test_flac_exactly_as_linear16() {
  auto emu = dgtest::start_emulator();
  Run raw(*emu, "encoding=linear16");
  stream_blocks(raw, 120);
  assert_perfect(dgtest::check_blocks(raw.log->finals(), 0, 120, 0));
  g_assert_cmpuint(raw.stat("bytes-sent"), ==, 120 * kPcmBytesPerBlock);

  Run flac(*emu, "encoding=flac");
  stream_blocks(flac, 120);
  auto finals = flac.log->finals();
  assert_perfect(dgtest::check_blocks(finals, 0, 120, 0));
  g_assert_cmpuint(flac.log->dropped().size(), ==, 0);
  g_assert_cmpuint(flac.stat("failures"), ==, 0);
  g_assert_cmpuint(flac.stat("connections"), ==, 1);
  guint64 wire = flac.stat("bytes-sent");
  g_test_message("flac: %" G_GUINT64_FORMAT " bytes for %" G_GUINT64_FORMAT " of PCM", wire,
                 120 * kPcmBytesPerBlock);
  g_assert_cmpuint(wire, >, 0);
  g_assert_cmpuint(wire, <, 120 * kPcmBytesPerBlock * 8 / 10);
  /* Word for word and time for time what linear16 gave. */
  auto raw_finals = raw.log->finals();
  std::vector<std::pair<std::string, uint64_t>> a, b;
  for (const auto &t : raw_finals)
    for (const auto &w : t.words)
      a.emplace_back(w.word, w.start);
  for (const auto &t : finals)
    for (const auto &w : t.words)
      b.emplace_back(w.word, w.start);
  g_assert_cmpuint(a.size(), ==, b.size());
  for (size_t i = 0; i < a.size(); i++) {
    g_assert_cmpstr(a[i].first.c_str(), ==, b[i].first.c_str());
    g_assert_cmpuint(a[i].second, ==, b[i].second);
  }
}

/* The default, encoding=auto, sends FLAC (and says so in stats) while the
 * link keeps up: a loopback link never makes it step down. */
void test_auto_is_flac_on_a_fast_link() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "");
  stream_blocks(run, 60);
  assert_perfect(dgtest::check_blocks(run.log->finals(), 0, 60, 0));
  GstStructure *s = run.stats();
  std::string encoding = gst_structure_get_string(s, "encoding");
  gst_structure_free(s);
  g_assert_cmpstr(encoding.c_str(), ==, "flac");
  g_assert_cmpuint(run.stat("bytes-sent"), <, 60 * kPcmBytesPerBlock * 8 / 10);
  g_assert_cmpuint(run.stat("connections"), ==, 1);
  g_assert_cmpuint(run.log->warnings().size(), ==, 0);
}

/* A 1011 close mid-stream: the replay goes out on the new connection's own
 * FLAC stream; nothing lost, nothing twice. */
void test_flac_reconnect_replays_exactly() {
  auto emu = dgtest::start_emulator();
  dgtest::inject(
      *emu,
      R"({"type":"close","code":1011,"reason":"NET-0000","after_bytes":20000,"target":"new","count":1})");
  /* A one-second window keeps the file from being sent whole (and drained
   * by CloseStream) before the close: the replay and the rest of the file go
   * on the second connection, mid-stream. */
  Run run(*emu, "encoding=flac replay-window=1000");
  stream_blocks(run, 100);
  assert_perfect(dgtest::check_blocks(run.log->finals(), 0, 100, 0));
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
  g_assert_cmpuint(run.stat("failures"), >=, 1);
  g_test_message("replayed %" G_GUINT64_FORMAT " ns on %lld connections",
                 run.stat("audio-replayed"), emu->counters().live_accepted);
  g_assert_cmpuint(run.stat("audio-replayed"), >, 0);
  g_assert_cmpint(emu->counters().fired("close"), ==, 1);
  g_assert_cmpint(emu->counters().live_accepted, >=, 2);
}

/* Opus on the sequence engine: it is lossy, so no exact words; the sink
 * still drains the encoder at EOS (the server hears all the audio) and the
 * wire carries about the bitrate. */
void test_opus_wire_and_drain() {
  auto emu = dgtest::start_emulator();
  Run run(*emu, "encoding=opus bitrate=24000");
  stream_blocks(run, 50);
  guint64 wire = run.stat("bytes-sent");
  double kbps = wire * 8 / 5.0 / 1000;
  g_test_message("opus 24 kbit/s: %.1f kbit/s on the wire", kbps);
  g_assert_cmpfloat(kbps, >, 12);
  g_assert_cmpfloat(kbps, <, 40);
  g_assert_cmpuint(run.log->dropped().size(), ==, 0);
  g_assert_cmpfloat(std::abs(emu->counters().audio_seconds_live - 5.0), <, 0.03);
}

/* flacenc gone from the registry: an ERROR at start naming the package. */
void test_missing_encoder_is_a_clear_error() {
  auto emu = dgtest::start_emulator();
  GstRegistry *registry = gst_registry_get();
  GstPluginFeature *flacenc = gst_registry_lookup_feature(registry, "flacenc");
  g_assert_nonnull(flacenc);
  gst_registry_remove_feature(registry, flacenc);
  {
    Run run(*emu, "encoding=flac");
    g_assert_cmpint(gst_element_set_state(run.pipeline, GST_STATE_PAUSED), ==,
                    GST_STATE_CHANGE_FAILURE);
    g_assert_false(run.log->run_to_end(5 * GST_SECOND));
    auto errors = run.log->errors();
    g_assert_cmpuint(errors.size(), >=, 1);
    g_assert_nonnull(strstr(errors[0].c_str(), "flacenc"));
    g_assert_nonnull(strstr(errors[0].c_str(), "gstreamer1.0-plugins-good"));
    gst_element_set_state(run.pipeline, GST_STATE_NULL);
  }
  gst_registry_add_feature(registry, flacenc);
  g_assert_cmpint(emu->counters().live_accepted, ==, 0);
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/dgstreamsink-encoding/flac-exactly-as-linear16", test_flac_exactly_as_linear16);
  g_test_add_func("/dgstreamsink-encoding/auto-is-flac", test_auto_is_flac_on_a_fast_link);
  g_test_add_func("/dgstreamsink-encoding/flac-reconnect-replays-exactly",
                  test_flac_reconnect_replays_exactly);
  g_test_add_func("/dgstreamsink-encoding/opus-wire-and-drain", test_opus_wire_and_drain);
  g_test_add_func("/dgstreamsink-encoding/missing-encoder", test_missing_encoder_is_a_clear_error);
  return g_test_run();
}
