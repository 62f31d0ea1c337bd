/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Caption delay of a live feed through dgtranscribebin.
 *
 *   sender:   appsrc (LibriVox, 16 kHz mono) ! clocksync ! audioconvert ! audioresample
 *             ! 48 kHz stereo ! AAC ! mpegtsmux ! udpsink 127.0.0.1
 *   receiver: udpsrc ! tsdemux ! aacparse ! avdec_aac ! audioconvert ! audioresample
 *             ! dgtranscribebin (default properties) ! fakesink
 *
 * in one process over loopback, against an in-process dg-emulator with the
 * pocketsphinx engine (real recognition, real time). Caption delay: the
 * running time at which a caption leaves the bin's src pad minus the running
 * time of its PTS. Printed (markdown): p50/p95/p99/max caption delay, the
 * LATENCY query answered on the bin's src pad (upstream + `latency`), the
 * bin's `latency` property, how many captions exceeded each, the WER, and the
 * stt/degraded and stt/audio-dropped counts; then the speech-to-caption delay
 * (arrival minus when the caption's first word was said, estimated), which
 * still counts a caption the bin re-stamped later than its speech; then the
 * caption delay split in two: the service's part (the caption's audio to the
 * final Results holding its first word, as the branch's sink posted it,
 * stt/transcript) and the bin's (that final to the caption leaving the src
 * pad: merging, splitting, the text pad's task and queue). Figures only:
 * nothing asserted.
 * The sender's and receiver's code is tests/live/live_feed.{h,cpp}.
 *
 *   bench-live-caption-delay [--seconds 60] [--transport ts-aac|ts-mp2|rtp-l16|srt]
 *                            [--latency MS] [--mode force-batch]
 */
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "live_feed.h"
#include "stt_protocol.h"

using namespace livefeed;

namespace {

struct Split {
  std::vector<double> service, bin; /* seconds */
  size_t unmatched = 0;             /* captions whose first word is in no final */
};

/* Each caption against the final that held its first word: when that final
 * reached the bus (running time) splits the caption's delay in two. Only
 * captions of `branch`. */
Split split_delays(const Receiver &rx, const char *branch) {
  /* The Watch stamps messages with the monotonic clock; the pipeline's clock
   * is read against it once to turn that into running time. */
  GstClock *clock = gst_element_get_clock(rx.pipeline());
  GstClockTime base = gst_element_get_base_time(rx.pipeline());
  gint64 mono_us = g_get_monotonic_time();
  GstClockTimeDiff offset =
      clock ? GST_CLOCK_DIFF(static_cast<GstClockTime>(mono_us) * 1000, gst_clock_get_time(clock))
            : 0;
  if (clock)
    gst_object_unref(clock);
  std::map<uint64_t, GstClockTime> final_at; /* a word's start -> its final's arrival (rt) */
  for (GstStructure *s : rx.watch().structures("stt/transcript")) {
    auto t = dgf::stt::from_structure<dgf::stt::TimedTranscript>(s);
    gint64 us = 0;
    if (t && t->is_final && t->branch == branch && gst_structure_get_int64(s, kArrivalField, &us))
      for (const auto &w : t->words)
        final_at.emplace(w.start, static_cast<GstClockTime>(us * 1000 + offset) - base);
    gst_structure_free(s);
  }
  Split out;
  for (const auto &cap : rx.captions()) {
    if (cap.branch != branch || !GST_CLOCK_TIME_IS_VALID(cap.pts_rt) ||
        !GST_CLOCK_TIME_IS_VALID(cap.arrival_rt))
      continue;
    /* The first word's own time (a moved caption's PTS is not), within a
     * millisecond: it went through the caption's meta. */
    GstClockTime first =
        GST_CLOCK_TIME_IS_VALID(cap.first_word_start) ? cap.first_word_start : cap.pts;
    auto it = final_at.lower_bound(first > GST_MSECOND ? first - GST_MSECOND : 0);
    if (it == final_at.end() || it->first > first + GST_MSECOND) {
      out.unmatched++;
      continue;
    }
    GstClockTime result_rt = it->second;
    /* The service's part from the word's audio: pts_rt minus how far the
     * caption was moved. */
    GstClockTime moved = cap.pts > first ? cap.pts - first : 0;
    GstClockTime audio_rt = cap.pts_rt > moved ? cap.pts_rt - moved : 0;
    out.service.push_back(GST_CLOCK_DIFF(audio_rt, result_rt) / 1e9);
    out.bin.push_back(GST_CLOCK_DIFF(result_rt, cap.arrival_rt) / 1e9);
  }
  return out;
}

double quantile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, std::floor(p * v.size())))];
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  double seconds = 60;
  gint latency_ms = -1;
  gchar *mode = nullptr;
  gchar *transport_name = nullptr;
  GOptionEntry entries[] = {
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
       "Audio to send, in seconds (LibriVox clips and 1 s pauses; default 60)", "S"},
      {"transport", 't', 0, G_OPTION_ARG_STRING, &transport_name,
       "ts-aac (default), ts-mp2, rtp-l16 or srt", "NAME"},
      {"latency", 'l', 0, G_OPTION_ARG_INT, &latency_ms,
       "The bin's latency property in ms (default: its default); a large one shows the delays "
       "no caption was forced out by",
       "MS"},
      {"mode", 'm', 0, G_OPTION_ARG_STRING, &mode,
       "The bin's mode, e.g. force-batch: the whole feed degraded, to count the pre-recorded "
       "requests it makes",
       "MODE"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *context = g_option_context_new("- caption delay of a live feed");
  g_option_context_add_main_entries(context, entries, nullptr);
  GError *error = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "%s\n", error->message);
    return 2;
  }
  g_option_context_free(context);
  Transport transport = Transport::ts_aac;
  if (transport_name && !parse_transport(transport_name, &transport)) {
    fprintf(stderr, "--transport: ts-aac, ts-mp2, rtp-l16 or srt\n");
    return 2;
  }
  g_free(transport_name);

  std::vector<librivox::Utterance> clips = librivox::utterances();
  if (clips.empty()) {
    printf("skipped: pocketsphinx-testdata (LibriVox clips) is not installed\n");
    return 77;
  }
  std::string absent = missing_for(transport);
  if (!absent.empty()) {
    printf("skipped: missing GStreamer elements: %s\n", absent.c_str());
    return 77;
  }
  std::string why;
  auto emu = start_emulator("pocketsphinx", &why);
  if (!emu) {
    printf("skipped: no pocketsphinx engine in dg-emulator: %s\n", why.c_str());
    return 77;
  }

  Program program = make_program(clips, seconds);
  Codecs c = codecs();
  Link link(transport);
  std::string bin = "dgtranscribebin name=dg";
  if (latency_ms >= 0)
    bin += " latency=" + std::to_string(latency_ms);
  if (mode)
    bin += std::string(" mode=") + mode;
  Receiver rx(receiver_head(link, c) + bin + " ! fakesink name=captions", *emu, link);
  Sender tx(sender_description(link, c), program);
  fprintf(stderr, "live caption delay: %.1f s of audio over %s on 127.0.0.1:%d, in real time\n",
          program.sent_seconds(), name(transport), link.port());
  rx.play();
  tx.play();
  bool sent = tx.wait_eos(static_cast<GstClockTime>((program.seconds() + 60) * GST_SECOND));
  bool ended = rx.finish(program.sent_seconds(), 10 * GST_SECOND, 180 * GST_SECOND);
  Report r = analyse(program, rx, name(transport), false);
  rx.stop();

  size_t over_query = 0;
  for (const auto &cap : rx.captions())
    if (GST_CLOCK_TIME_IS_VALID(r.latency_query) && !std::isnan(cap.delay()) &&
        cap.delay() > static_cast<double>(r.latency_query) / GST_SECOND)
      over_query++;
  auto ms = [](double s) { return std::lround(s * 1000); };
  printf("\n## Live caption delay (%s, %.1f s of LibriVox audio, pocketsphinx engine)\n\n",
         name(transport), program.sent_seconds());
  printf("| captions | p50 | p95 | p99 | max | LATENCY query (src) | over it | `latency` property "
         "| over it | WER | stt/degraded | stt/audio-dropped |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  char query[32] = "unanswered";
  if (GST_CLOCK_TIME_IS_VALID(r.latency_query))
    g_snprintf(query, sizeof query, "%ld ms",
               std::lround(static_cast<double>(r.latency_query) / GST_MSECOND));
  printf(
      "| %zu | %ld ms | %ld ms | %ld ms | %ld ms | %s | %zu | %u ms | %zu | %.3f | %zu | %zu |\n",
      r.captions, ms(r.delay_p50), ms(r.delay_p95), ms(r.delay_p99), ms(r.delay_max), query,
      over_query, r.latency_ms, r.over_latency, r.wer, r.degraded, r.dropped);
  printf("\nCaption delay = running time when the caption leaves dgtranscribebin's src pad minus "
         "the running time of its PTS. Audio reached the bin p50 %ld ms after its PTS (max %ld "
         "ms).\n",
         ms(r.audio_late_p50), ms(r.audio_late_max));
  printf("Speech to caption (the caption leaves the bin minus when its first word was said, "
         "estimated from the clip): p50 %ld ms, max %ld ms; %zu captions stamped more than 2.5 s "
         "from their speech.\n",
         ms(r.speech_delay_p50), ms(r.speech_delay_max), r.mistimed.size());
  const char *branch = mode && g_str_equal(mode, "force-batch") ? "batch" : "stream";
  Split split = split_delays(rx, branch);
  printf("\n| part of the delay (%s branch) | captions | p50 | p95 | p99 | max |\n"
         "|---|---|---|---|---|---|\n",
         branch);
  auto row = [&](const char *what, const std::vector<double> &v) {
    printf("| %s | %zu | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", what, v.size(),
           quantile(v, 0.5) * 1e3, quantile(v, 0.95) * 1e3, quantile(v, 0.99) * 1e3,
           (v.empty() ? 0 : *std::max_element(v.begin(), v.end())) * 1e3);
  };
  row("the service: caption's audio -> the final holding its first word", split.service);
  row("the bin: that final -> the caption leaves the src pad", split.bin);
  if (split.unmatched)
    printf("(%zu captions of that branch matched no final by their first word)\n", split.unmatched);
  if (!sent || !ended)
    printf("\nNote: the %s did not reach EOS; the figures cover what arrived.\n",
           sent ? "receiver" : "sender");
  auto counters = emu->counters();
  long long requests = counters.batch_ok + counters.batch_failed;
  printf("Pre-recorded API: %lld requests for %.1f s of audio, %.1f per minute of degraded audio "
         "(min-chunk 5 s: at most %.0f per minute plus one per outage).\n",
         requests, program.sent_seconds(),
         requests > 0 ? requests * 60.0 / program.sent_seconds() : 0.0, 60.0 / 5.0);
  for (const auto &e : r.errors)
    printf("receiver ERROR: %s\n", e.c_str());
  g_free(mode);
  return 0;
}
