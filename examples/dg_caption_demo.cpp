/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-caption-demo: an application embedding the failover pipeline.
 *
 * Transcribes an audio file through sttfailover (live Deepgram, with the
 * pre-recorded API as the fallback), prints each caption as it arrives with
 * its times and branch, reacts to stt/degraded and stt/recovered (a status
 * line with the failover's `state` and what its `stats` say so far), follows
 * the `state` property through notify::state, writes WebVTT and SRT files,
 * and ends with a summary read from `stats`.
 *
 *   dg-caption-demo [--live-url URL] [--batch-url URL] [--vtt FILE] [--srt FILE]
 *                   [--fast] FILE.wav
 *
 * Without URLs it talks to Deepgram itself (DEEPGRAM_API_KEY must be set).
 * --fast feeds the audio as fast as it can instead of in real time.
 */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Options {
  std::string live_url = "wss://api.deepgram.com/v1/listen";
  std::string batch_url = "https://api.deepgram.com/v1/listen";
  std::string vtt = "captions.vtt";
  std::string srt = "captions.srt";
  bool realtime = true;
  std::string input;
};

struct Demo {
  GstElement *pipeline = nullptr;
  GstElement *failover = nullptr;
  GMainLoop *loop = nullptr;
  guint64 words = 0;
  guint64 captions = 0;
  guint64 dropped_ns = 0;
  guint drops = 0;
  int exit_code = 0;
};

std::string clock_text(GstClockTime t) {
  if (!GST_CLOCK_TIME_IS_VALID(t))
    return "--:--:--.-";
  char buf[32];
  guint64 ds = t / (100 * GST_MSECOND);
  snprintf(buf, sizeof buf, "%02u:%02u:%02u.%u", unsigned(ds / 36000), unsigned(ds / 600 % 60),
           unsigned(ds / 10 % 60), unsigned(ds % 10));
  return buf;
}

guint count_words(const char *text, gsize size) {
  guint n = 0;
  bool in_word = false;
  for (gsize i = 0; i < size; i++) {
    bool space = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
    if (!space && !in_word)
      n++;
    in_word = !space;
  }
  return n;
}

/* One caption from the failover's text pad. */
GstFlowReturn on_caption(GstAppSink *sink, gpointer data) {
  auto *demo = static_cast<Demo *>(data);
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer(sample);
  const char *branch = "?";
  if (GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "DgfTranscriptMeta")) {
    const char *b = gst_structure_get_string(gst_custom_meta_get_structure(meta), "branch");
    branch = b ? b : branch;
  }
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    GstClockTime pts = GST_BUFFER_PTS(buf), dur = GST_BUFFER_DURATION(buf);
    /* A two-line caption prints on one line, its lines joined by " / ". */
    std::string text(reinterpret_cast<const char *>(map.data), map.size);
    for (size_t at; (at = text.find('\n')) != std::string::npos;)
      text.replace(at, 1, " / ");
    printf("[%s -> %s] %-6s %s\n", clock_text(pts).c_str(),
           clock_text(GST_CLOCK_TIME_IS_VALID(dur) ? pts + dur : GST_CLOCK_TIME_NONE).c_str(),
           branch, text.c_str());
    fflush(stdout);
    demo->words += count_words(reinterpret_cast<const char *>(map.data), map.size);
    demo->captions++;
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

double seconds(const GstStructure *s, const char *field) {
  guint64 ns = 0;
  gst_structure_get_uint64(s, field, &ns);
  return ns / 1e9;
}

/* The failover's `state` property as its nick: streaming, degraded or recovering. */
std::string failover_state(GstElement *failover) {
  gint value = 0;
  g_object_get(failover, "state", &value, nullptr);
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(failover), "state");
  GEnumValue *v = g_enum_get_value(G_PARAM_SPEC_ENUM(pspec)->enum_class, value);
  return v ? v->value_nick : "?";
}

/* notify::state comes from whichever thread changed it; printf is enough here. */
void on_state_notify(GObject *failover, GParamSpec *, gpointer) {
  printf("--- state: %s\n", failover_state(GST_ELEMENT(failover)).c_str());
  fflush(stdout);
}

/* What the failover has done so far, from its `stats`, for the status lines. */
std::string stats_line(GstElement *failover) {
  GstStructure *stats = nullptr;
  g_object_get(failover, "stats", &stats, nullptr);
  char buf[160];
  snprintf(buf, sizeof buf, "%.1f s live, %.1f s pre-recorded, %.1f s replayed, %.1f s degraded",
           seconds(stats, "audio-streamed"), seconds(stats, "audio-batched"),
           seconds(stats, "audio-replayed"), seconds(stats, "time-degraded"));
  gst_structure_free(stats);
  return buf;
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data) {
  auto *demo = static_cast<Demo *>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (gst_structure_has_name(s, "stt/degraded")) {
      int code = 0;
      gst_structure_get_int(s, "code", &code);
      printf("*** DEGRADED: %s%s%s - captions continue from the pre-recorded API\n",
             gst_structure_get_string(s, "reason"), code ? ", code " : "",
             code ? std::to_string(code).c_str() : "");
      printf("    state %s; so far %s\n", failover_state(demo->failover).c_str(),
             stats_line(demo->failover).c_str());
    } else if (gst_structure_has_name(s, "stt/recovered")) {
      printf("*** RECOVERED: live again after %.1f s degraded (%.1f s of audio via batch, "
             "%.1f s replayed)\n",
             seconds(s, "degraded-duration"), seconds(s, "batch-audio"), seconds(s, "replayed"));
      printf("    state %s; so far %s\n", failover_state(demo->failover).c_str(),
             stats_line(demo->failover).c_str());
    } else if (gst_structure_has_name(s, "stt/breaker")) {
      printf("*** breaker '%s': %s -> %s\n", gst_structure_get_string(s, "name"),
             gst_structure_get_string(s, "previous-state"), gst_structure_get_string(s, "state"));
    } else if (gst_structure_has_name(s, "stt/audio-dropped")) {
      demo->drops++;
      demo->dropped_ns += static_cast<guint64>(seconds(s, "duration") * 1e9);
      printf("*** DROPPED %.2f s at %s: %s\n", seconds(s, "duration"),
             clock_text(static_cast<GstClockTime>(seconds(s, "start") * 1e9)).c_str(),
             gst_structure_get_string(s, "reason"));
    }
    fflush(stdout);
    break;
  }
  case GST_MESSAGE_WARNING: {
    GError *err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    fprintf(stderr, "warning: %s\n", err->message);
    g_error_free(err);
    break;
  }
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    fprintf(stderr, "error: %s (%s)\n", err->message, debug ? debug : "");
    g_error_free(err);
    g_free(debug);
    demo->exit_code = 1;
    g_main_loop_quit(demo->loop);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(demo->loop);
    break;
  default:
    break;
  }
  return TRUE;
}

void print_summary(Demo &demo) {
  GstStructure *stats = nullptr;
  g_object_get(demo.failover, "stats", &stats, nullptr);
  double stream = seconds(stats, "audio-streamed"), batch = seconds(stats, "audio-batched");
  double replayed = seconds(stats, "audio-replayed"); /* sent to both: counted once */
  guint64 degraded = 0, recovered = 0;
  gst_structure_get_uint64(stats, "degraded", &degraded);
  gst_structure_get_uint64(stats, "recovered", &recovered);
  printf("\nSummary\n");
  printf("  audio:        %.1f s (%.1f s live, %.1f s pre-recorded)\n", stream + batch - replayed,
         stream - replayed, batch);
  printf("  degraded:     %.1f s over %" G_GUINT64_FORMAT " outage(s), %" G_GUINT64_FORMAT
         " recovery(ies)\n",
         seconds(stats, "time-degraded"), degraded, recovered);
  printf("  replayed:     %.1f s of un-acknowledged live audio re-sent to batch\n", replayed);
  printf("  final state:  %s\n", failover_state(demo.failover).c_str());
  printf("  captions:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " words)\n", demo.captions,
         demo.words);
  if (demo.drops == 0)
    printf("  drops:        none\n");
  else
    printf("  drops:        %u, %.2f s of audio (see the DROPPED lines)\n", demo.drops,
           demo.dropped_ns / 1e9);
  gst_structure_free(stats);
}

bool parse_args(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    std::string *target = a == "--live-url"    ? &o.live_url
                          : a == "--batch-url" ? &o.batch_url
                          : a == "--vtt"       ? &o.vtt
                          : a == "--srt"       ? &o.srt
                                               : nullptr;
    if (target && i + 1 < argc)
      *target = argv[++i];
    else if (a == "--fast")
      o.realtime = false;
    else if (!a.empty() && a[0] != '-' && o.input.empty())
      o.input = a;
    else
      return false;
  }
  return !o.input.empty();
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  if (!parse_args(argc, argv, o)) {
    fprintf(stderr,
            "usage: %s [--live-url URL] [--batch-url URL] [--vtt FILE] [--srt FILE] "
            "[--fast] FILE.wav\n",
            argv[0]);
    return 2;
  }
  gchar *location = g_strescape(o.input.c_str(), nullptr);
  std::string desc = std::string("filesrc location=\"") + location +
                     "\" ! decodebin ! audioconvert ! audioresample ! "
                     "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1 ! " +
                     (o.realtime ? "identity sync=true ! " : "") +
                     /* Probe for recovery every few seconds rather than the 30 s default, so a
                      * short outage ends visibly within a short clip. Played in real time the
                      * file stands in for a live feed: stream-first keeps it on the live API
                      * (mode auto would send a file, which is not live, to the batch API). */
                     "sttfailover name=f reset-timeout=2000 reset-timeout-max=8000 " +
                     (o.realtime ? "mode=stream-first " : "") +
                     "f.stream ! queue ! dgstreamsink url=" + o.live_url +
                     " "
                     "f.batch ! queue ! dgbatchsink url=" +
                     o.batch_url +
                     " min-chunk=2000 "
                     "max-chunk=10000 "
                     "f.text ! tee name=t "
                     "t. ! queue ! appsink name=captions sync=false emit-signals=false "
                     "t. ! queue ! webvttenc ! filesink location=\"" +
                     o.vtt +
                     "\" "
                     "t. ! queue ! srtenc ! filesink location=\"" +
                     o.srt + "\"";
  g_free(location);

  Demo demo;
  GError *err = nullptr;
  demo.pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err) {
    fprintf(stderr, "cannot build the pipeline: %s\n", err->message);
    return 1;
  }
  demo.failover = gst_bin_get_by_name(GST_BIN(demo.pipeline), "f");
  g_signal_connect(demo.failover, "notify::state", G_CALLBACK(on_state_notify), nullptr);
  GstElement *captions = gst_bin_get_by_name(GST_BIN(demo.pipeline), "captions");
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_caption;
  gst_app_sink_set_callbacks(GST_APP_SINK(captions), &callbacks, &demo, nullptr);
  gst_object_unref(captions);

  demo.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(demo.pipeline);
  gst_bus_add_watch(bus, on_bus, &demo);
  gst_object_unref(bus);

  printf("Transcribing %s (live: %s, fallback: %s)\n\n", o.input.c_str(), o.live_url.c_str(),
         o.batch_url.c_str());
  gst_element_set_state(demo.pipeline, GST_STATE_PLAYING);
  g_main_loop_run(demo.loop);
  print_summary(demo); /* before NULL, which resets the stats */
  gst_element_set_state(demo.pipeline, GST_STATE_NULL);

  printf("  captions written to %s and %s\n", o.vtt.c_str(), o.srt.c_str());
  gst_object_unref(demo.failover);
  gst_object_unref(demo.pipeline);
  g_main_loop_unref(demo.loop);
  return demo.exit_code;
}
