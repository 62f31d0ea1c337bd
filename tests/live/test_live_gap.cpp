/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A live feed that pauses for 10 s, as broadcasters' feeds do, over each
 * transport a broadcaster uses: MPEG-TS over UDP with AAC (48 kHz stereo)
 * and with MP2, RTP L16 (16 kHz mono) through rtpjitterbuffer, and MPEG-TS
 * over SRT (caller to listener). One sender and one receiver pipeline in this
 * process, on loopback sockets:
 *
 *   sender:   appsrc (LibriVox, 16 kHz mono) ! clocksync ! [drops 20..30 s] ! encode ! mux/pay
 *             ! udpsink / srtsink
 *   receiver: udpsrc / srtsrc ! tsdemux / rtpjitterbuffer ! decode ! audioconvert !
 *             audioresample ! dgtranscribebin (default properties) ! fakesink
 *
 * against dg-emulator's pocketsphinx engine. The program is > 60 s of speech
 * sent (the clips with 1 s pauses, repeated); the 10 s the sender drops hold
 * no speech, so the reference is exact. Required, per run:
 *   - no stt/degraded and no stt/audio-dropped at any time (EOS included):
 *     a paused feed is not an outage;
 *   - the gap captioned exactly once: captions in order, none overlapping
 *     another, no caption (or run of four words) repeated within 15 s, none
 *     stamped inside the gap;
 *   - captions stamped at their speech: each caption's first word, aligned
 *     to the reference, was said within 2.5 s of the caption's PTS (word
 *     times estimated by sharing each clip's time out by letters);
 *   - captions flowing again after the gap: the first caption after it
 *     leaves the bin's src pad within the bin's `latency` of its PTS
 *     (running time on arrival minus running time of the PTS);
 *   - the receiver runs to EOS without an ERROR;
 *   - WER against the reference <= 0.6 (pocketsphinx is no Deepgram).
 * Printed as TAP comments: WER, captions, p50/p95/max caption delay, the
 * bin's latency, the speech-to-caption delay, every stt/degraded and
 * stt/audio-dropped, the gap as the receiver saw it, each repeat or mistimed
 * caption compared with the sink's final transcripts on the bus (who said it
 * twice, who stamped it), and a "live-result" line for
 * tools/run-live-stress.sh.
 */
#include <gst/gst.h>

#include "live_feed.h"

namespace {

using namespace livefeed;

constexpr double kSentSeconds = 60;
constexpr double kGapStart = 20;
constexpr double kGapLength = 10;
constexpr double kMaxWer = 0.6;

void test_gap(gconstpointer data) {
  const auto transport = static_cast<Transport>(GPOINTER_TO_INT(data));
  std::vector<librivox::Utterance> clips = librivox::utterances();
  if (clips.empty()) {
    g_test_skip("pocketsphinx-testdata (LibriVox clips) is not installed");
    return;
  }
  std::string absent = missing_for(transport);
  if (!absent.empty()) {
    g_test_skip(("missing GStreamer elements: " + absent).c_str());
    return;
  }
  std::string error;
  auto emu = start_emulator("pocketsphinx", &error);
  if (!emu) {
    g_test_skip(("no pocketsphinx engine in dg-emulator: " + error).c_str());
    return;
  }
  Program program = make_program(clips, kSentSeconds, kGapStart, kGapLength);
  Codecs c = codecs();
  Link link(transport);
  Receiver rx(receiver_head(link, c) + "dgtranscribebin name=dg ! fakesink name=captions", *emu,
              link);
  Sender tx(sender_description(link, c), program);
  g_test_message("%s: %.1f s program (%.1f s sent, %zu clips), the sender drops %.1f..%.1f s; "
                 "port %d",
                 name(transport), program.seconds(), program.sent_seconds(), program.clips.size(),
                 program.gap_start, program.gap_start + program.gap_length, link.port());

  Requirements req;
  gint64 t0 = g_get_monotonic_time();
  req.expect(rx.play() != GST_STATE_CHANGE_FAILURE, "the receiver starts");
  tx.play();
  bool sent = tx.wait_eos(static_cast<GstClockTime>((program.seconds() + 60) * GST_SECOND));
  bool ended = rx.finish(program.sent_seconds(), 10 * GST_SECOND, 180 * GST_SECOND);
  Report r = analyse(program, rx, name(transport), true);
  double stop_seconds = rx.stop();
  gint64 playing = rx.watch().playing_at();

  std::vector<std::string> lines = describe(r, true);
  char extra[256];
  g_snprintf(extra, sizeof extra,
             "receiver PLAYING %.2f s after set_state (0: never), set_state(NULL) %.2f s; sender "
             "dropped %" G_GUINT64_FORMAT " buffers",
             playing ? (playing - t0) / 1e6 : 0.0, stop_seconds, tx.dropped_buffers());
  lines.insert(lines.begin(), extra);
  for (const auto &e : tx.watch().errors())
    lines.push_back("sender ERROR: " + e);

  req.expect(sent, "the sender runs to EOS");
  req.expect(tx.dropped_buffers() > 0, "the sender dropped the gap");
  req.expect(ended, "the receiver runs to EOS");
  req.expect(r.errors.empty(), "no ERROR on the receiver's bus");
  req.expect(r.mistimed.empty(), "captions stamped at their speech (first word within 2.5 s; " +
                                     std::to_string(r.mistimed.size()) + " are not)");
  req.expect(r.gap_arrival_hole >= kGapLength - 2,
             "the receiver saw the gap (an arrival hole of ~10 s at the bin)");
  req.expect(r.degraded == 0, "no stt/degraded (got " + std::to_string(r.degraded) + ")");
  req.expect(r.dropped == 0, "no stt/audio-dropped (got " + std::to_string(r.dropped) + ")");
  req.expect(r.captions > 0, "captions on the bin's src pad");
  req.expect(r.overlaps.empty(),
             "captions in order, none overlapping (" + std::to_string(r.overlaps.size()) + ")");
  req.expect(r.duplicates.empty(),
             "no caption text duplicated (" + std::to_string(r.duplicates.size()) + ")");
  req.expect(r.in_gap.empty(),
             "no caption stamped inside the gap (" + std::to_string(r.in_gap.size()) + ")");
  req.expect(r.untimed.empty(), "every caption has PTS and duration");
  req.expect(r.first_after_gap_delay >= 0, "a caption after the gap");
  char what[160];
  g_snprintf(what, sizeof what,
             "the first caption after the gap within the bin's latency (%.2f s <= %.2f s)",
             r.first_after_gap_delay, r.latency_ms / 1000.0);
  req.expect(r.first_after_gap_delay >= 0 && r.first_after_gap_delay * 1000.0 <= r.latency_ms,
             what);
  g_snprintf(what, sizeof what, "WER %.3f <= %.2f", r.wer, kMaxWer);
  req.expect(r.wer <= kMaxWer, what);

  lines.back() = describe(r, req.ok()).back(); /* the live-result line with pass= */
  conclude(lines, req);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  quiet_network_debug();
  for (Transport t : {Transport::ts_aac, Transport::ts_mp2, Transport::rtp_l16, Transport::srt})
    g_test_add_data_func((std::string("/live/gap/") + name(t)).c_str(),
                         GINT_TO_POINTER(static_cast<int>(t)), test_gap);
  return g_test_run();
}
