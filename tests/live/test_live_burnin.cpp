/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live burn-in: captions drawn into a live video feed, as a broadcaster's
 * receiver does it. The sender muxes H.264 video (a black live
 * videotestsrc, 320x240 at 25 fps) and AAC (LibriVox, 48 kHz stereo) into
 * MPEG-TS over UDP on loopback; the receiver:
 *
 *   udpsrc ! tsdemux name=d
 *     d. ! queue ! h264parse ! decoder ! videoconvert
 *        ! queue max-size-time=<latency + 1 s> max-size-buffers=0 max-size-bytes=0
 *        ! textoverlay name=o ! videoconvert ! GRAY8 ! fakesink sync=true qos=true
 *     d. ! queue ! aacparse ! avdec_aac ! audioconvert ! audioresample
 *        ! dgtranscribebin (default properties) ! o.text_sink
 *
 * against dg-emulator's pocketsphinx engine. Required: the receiver reaches
 * PLAYING at once (within 2 s of set_state, the sender already sending),
 * runs to EOS (the sender's EOS, then the test's EOS into the receiver once
 * the audio is in), the video sink receives >= 90 % of the frames sent,
 * captions are drawn (text buffers reach o.text_sink and frames carry white
 * text on the black picture), captions stamped at their speech (first word
 * within 2.5 s), set_state(NULL) returns within 2 s, no ERROR.
 * Printed: time to PLAYING, frames sent / received / rendered / with text,
 * text buffers, caption delays, stt/degraded and stt/audio-dropped.
 */
#include <gst/gst.h>

#include <atomic>
#include <cmath>

#include "live_feed.h"

namespace {

using namespace livefeed;

constexpr double kSentSeconds = 29;
constexpr double kMaxPlayingSeconds = 2.0;
constexpr double kMaxStopSeconds = 2.0;
constexpr double kMinFrameShare = 0.90;
constexpr int kWidth = 320, kHeight = 240;

struct Counts {
  std::atomic<unsigned> frames{0}, rendered{0}, with_text{0}, text_buffers{0}, text_empty{0};
  std::atomic<unsigned> text_gaps{0};
  /* Monotonic µs of the first video frame at the sink, and of the first
   * buffer / GAP event on o.text_sink (0: none): what PLAYING waited for. */
  std::atomic<gint64> first_frame{0}, first_text{0}, first_gap{0};
};

void first(std::atomic<gint64> &at) {
  gint64 none = 0;
  at.compare_exchange_strong(none, g_get_monotonic_time());
}

/* Frames at the video sink; GRAY8 on a black picture (luma 16 after the codec):
 * 20 pixels over 100 are text (textoverlay draws small anti-aliased glyphs at 320x240). */
GstPadProbeReturn on_frame(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *counts = static_cast<Counts *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  counts->frames++;
  first(counts->first_frame);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    size_t bright = 0;
    for (size_t i = 0; i < map.size && i < static_cast<size_t>(kWidth * kHeight); i++)
      bright += map.data[i] > 100;
    gst_buffer_unmap(buf, &map);
    if (bright >= 20)
      counts->with_text++;
  }
  return GST_PAD_PROBE_OK;
}

void on_handoff(GstElement *, GstBuffer *, GstPad *, gpointer data) {
  static_cast<Counts *>(data)->rendered++;
}

GstPadProbeReturn on_text(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *counts = static_cast<Counts *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_GAP) {
      counts->text_gaps++;
      first(counts->first_gap);
    }
    return GST_PAD_PROBE_OK;
  }
  first(counts->first_text);
  if (gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info)) > 0)
    counts->text_buffers++;
  else
    counts->text_empty++;
  return GST_PAD_PROBE_OK;
}

void probe(GstElement *pipeline, const char *element, const char *pad, GstPadProbeType type,
           GstPadProbeCallback cb, gpointer data) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), element);
  GstPad *p = gst_element_get_static_pad(e, pad);
  gst_pad_add_probe(p, type, cb, data, nullptr);
  gst_object_unref(p);
  gst_object_unref(e);
}

void test_burnin() {
  std::vector<librivox::Utterance> clips = librivox::utterances();
  if (clips.empty()) {
    g_test_skip("pocketsphinx-testdata (LibriVox clips) is not installed");
    return;
  }
  std::string absent = missing_for(Transport::ts_aac, true);
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
  Program program = make_program(clips, kSentSeconds);
  Codecs c = codecs();
  Link link(Transport::ts_aac);
  std::string video = "d. ! video/x-h264 ! queue ! h264parse ! " + c.h264_dec +
                      " ! videoconvert ! queue name=vq max-size-buffers=0 max-size-bytes=0 ! "
                      "textoverlay name=o ! videoconvert ! video/x-raw,format=GRAY8 ! "
                      "fakesink name=vsink sync=true qos=true signal-handoffs=true";
  Receiver rx(receiver_head(link, c) + "dgtranscribebin name=dg ! o.text_sink  " + video, *emu,
              link);
  const guint latency = rx.latency_ms();
  GstElement *vq = gst_bin_get_by_name(GST_BIN(rx.pipeline()), "vq");
  g_object_set(vq, "max-size-time", static_cast<guint64>(latency + 1000) * GST_MSECOND, nullptr);
  gst_object_unref(vq);
  Counts counts;
  probe(rx.pipeline(), "vsink", "sink", GST_PAD_PROBE_TYPE_BUFFER, on_frame, &counts);
  probe(
      rx.pipeline(), "o", "text_sink",
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_text, &counts);
  GstElement *vsink = gst_bin_get_by_name(GST_BIN(rx.pipeline()), "vsink");
  g_signal_connect(vsink, "handoff", G_CALLBACK(on_handoff), &counts);
  gst_object_unref(vsink);

  Sender tx(sender_description(link, c, true, program.seconds()), program);
  const unsigned sent_frames = static_cast<unsigned>(std::lround(program.seconds() * kVideoFps));
  g_test_message("burn-in: %.1f s of AAC + H.264 (%s -> %s), %u frames, over MPEG-TS/UDP port %d; "
                 "video queue %u ms",
                 program.seconds(), c.h264_enc.c_str(), c.h264_dec.c_str(), sent_frames,
                 link.port(), latency + 1000);

  Requirements req;
  tx.play();
  gint64 t0 = g_get_monotonic_time();
  req.expect(rx.play() != GST_STATE_CHANGE_FAILURE, "the receiver starts");
  bool playing = rx.watch().wait_playing(30 * GST_SECOND);
  double to_playing = playing ? (rx.watch().playing_at() - t0) / 1e6 : -1;
  bool sent = tx.wait_eos(static_cast<GstClockTime>((program.seconds() + 60) * GST_SECOND));
  bool ended = rx.finish(program.sent_seconds(), 10 * GST_SECOND, 180 * GST_SECOND);
  Report r = analyse(program, rx, "burn-in ts-aac+h264", false);
  double stop_seconds = rx.stop();

  std::vector<std::string> lines;
  char line[512];
  g_snprintf(line, sizeof line,
             "receiver PLAYING %.2f s after set_state (-1: not within 30 s); EOS %s; "
             "set_state(NULL) %.2f s",
             to_playing, ended ? "yes" : "NO", stop_seconds);
  lines.push_back(line);
  auto since = [t0](gint64 at) { return at ? (at - t0) / 1e6 : -1.0; };
  g_snprintf(line, sizeof line,
             "after set_state(PLAYING): first text buffer on o.text_sink %.2f s, first GAP there "
             "%.2f s (%u GAPs in all), first frame at the video sink %.2f s (-1: never)",
             since(counts.first_text), since(counts.first_gap), counts.text_gaps.load(),
             since(counts.first_frame));
  lines.push_back(line);
  g_snprintf(line, sizeof line,
             "frames: sent %u, at the video sink %u (%.1f %%), rendered %u, showing text %u; "
             "text buffers on o.text_sink %u (+%u empty)",
             sent_frames, counts.frames.load(), 100.0 * counts.frames / sent_frames,
             counts.rendered.load(), counts.with_text.load(), counts.text_buffers.load(),
             counts.text_empty.load());
  lines.push_back(line);
  for (const auto &l : describe(r, true))
    lines.push_back(l);
  lines.pop_back(); /* no live-result line: not a gap run */
  for (const auto &e : tx.watch().errors())
    lines.push_back("sender ERROR: " + e);
  for (const auto &w : rx.watch().warnings())
    lines.push_back("receiver WARNING: " + w);

  req.expect(sent, "the sender runs to EOS");
  /* The pipeline is set to PLAYING at once (the bin answers NO_PREROLL); the
   * video sink commits with its first frame, which textoverlay passes once
   * the captions for it are settled: after the latency, when a live sink
   * would render that frame anyway. */
  double latency_s = GST_CLOCK_TIME_IS_VALID(r.latency_query)
                         ? static_cast<double>(r.latency_query) / GST_SECOND
                         : 0.0;
  g_snprintf(line, sizeof line,
             "the receiver reaches PLAYING within the latency + %.1f s (%.2f s; LATENCY %.2f s)",
             kMaxPlayingSeconds, to_playing, latency_s);
  req.expect(playing && to_playing <= latency_s + kMaxPlayingSeconds, line);
  req.expect(ended, "the receiver runs to EOS");
  req.expect(r.errors.empty(), "no ERROR on the receiver's bus");
  req.expect(r.mistimed.empty(), "captions stamped at their speech (first word within 2.5 s; " +
                                     std::to_string(r.mistimed.size()) + " are not)");
  g_snprintf(line, sizeof line, "the video sink receives >= %.0f %% of the frames (%u of %u)",
             kMinFrameShare * 100, counts.frames.load(), sent_frames);
  req.expect(counts.frames >= kMinFrameShare * sent_frames, line);
  req.expect(counts.text_buffers > 0, "text buffers reach textoverlay's text_sink");
  req.expect(counts.with_text > 0, "frames show caption text");
  g_snprintf(line, sizeof line, "set_state(NULL) returns within %.1f s (%.2f s)", kMaxStopSeconds,
             stop_seconds);
  req.expect(stop_seconds <= kMaxStopSeconds, line);
  conclude(lines, req);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  quiet_network_debug();
  g_test_add_func("/live/burn-in/ts-aac-h264", test_burnin);
  return g_test_run();
}
