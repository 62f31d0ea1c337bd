/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What each `encoding` costs and keeps: the LibriVox clips (pocketsphinx-
 * testdata, as the accuracy tests use them) through
 *
 *   appsrc ! dgstreamsink encoding=... bitrate=...   (and dgbatchsink)
 *
 * against an in-process dg-emulator (pocketsphinx engine), once per
 * encoding. Prints a markdown table: the live wire's kbit/s (dgstreamsink's
 * bytes-sent over the audio's duration), the encoder's CPU per real-time
 * stream (the same audio through elements/audio_encoder alone, in 20 ms
 * buffers as a live source sends them, thread CPU time over audio time) and
 * the word error rate of the final transcripts against the references,
 * live and batch. The live engine's result also depends on how the audio
 * arrives (the source's buffers, FLAC blocks, Ogg pages), so the batch
 * column, where each chunk is decoded whole, shows the codec's effect alone.
 *
 *   bench-encodings [--clips N] [--buffer-ms 100] [--show-text]
 *                   [--configs linear16,flac,opus16,opus24,opus32]
 *
 * Exits 77 (skipped) without the clips. docs/performance.md keeps the figures.
 */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "audio_encoder.h"
#include "emulator.h"
#include "librivox.h"
#include "stt_protocol.h"

namespace {

struct Config {
  const char *name;
  dgf::AudioEncoding encoding;
  unsigned bitrate;
};

const Config kConfigs[] = {
    {"linear16", dgf::AudioEncoding::Linear16, 0}, {"flac", dgf::AudioEncoding::Flac, 0},
    {"opus16", dgf::AudioEncoding::Opus, 16000},   {"opus24", dgf::AudioEncoding::Opus, 24000},
    {"opus32", dgf::AudioEncoding::Opus, 32000},
};

constexpr size_t kRate = 16000;
constexpr size_t kBufferFrames = kRate / 50; /* 20 ms */

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The encoder alone: CPU seconds for the audio, as 20 ms buffers. */
double encoder_cpu(const Config &c, const std::vector<int16_t> &audio) {
  if (c.encoding == dgf::AudioEncoding::Linear16)
    return 0;
  std::string error;
  auto enc = dgf::AudioEncoder::create(c.encoding, kRate, 1, c.bitrate, &error);
  if (!enc)
    g_error("%s", error.c_str());
  std::vector<uint8_t> out;
  double t0 = thread_cpu_seconds();
  for (size_t at = 0; at < audio.size(); at += kBufferFrames) {
    size_t n = std::min(kBufferFrames, audio.size() - at);
    out.clear();
    enc->push(reinterpret_cast<const uint8_t *>(audio.data() + at), n * 2, out);
  }
  enc->finish(out);
  return thread_cpu_seconds() - t0;
}

struct Outcome {
  double kbps = 0, wer = 1;
  std::string text;
};

/* `batch`: dgbatchsink (each chunk one file, decoded whole: the codec's
 * effect alone); else dgstreamsink (the live engine also hears how the
 * audio arrives, in FLAC blocks, Ogg pages or the source's buffers). */
Outcome transcribe(const Config &c, const librivox::Session &session, size_t buffer_frames,
                   bool batch) {
  dgemu::Options options;
  options.engine = "pocketsphinx";
  dgemu::Emulator emu(options);
  std::string error;
  if (!emu.start(&error))
    g_error("emulator: %s", error.c_str());
  gchar *desc = g_strdup_printf(
      "appsrc name=src format=time caps=audio/x-raw,format=S16LE,layout=interleaved,rate=%zu,"
      "channels=1 ! %s name=sink url=%s/v1/listen api-key=bench encoding=%s "
      "bitrate=%u breaker=bench-encodings-%s-%s %s",
      kRate, batch ? "dgbatchsink" : "dgstreamsink",
      (batch ? emu.http_url() : emu.ws_url()).c_str(), dgf::encoding_name(c.encoding), c.bitrate,
      c.name, batch ? "batch" : "live", batch ? "" : "finalize-timeout=120000");
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!pipeline)
    g_error("%s", err ? err->message : "?");
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  /* Buffers as a live source's, pushed as fast as the sink takes them. */
  for (size_t at = 0; at < session.audio.size(); at += buffer_frames) {
    size_t n = std::min(buffer_frames, session.audio.size() - at);
    GstBuffer *buf = gst_buffer_new_memdup(session.audio.data() + at, n * 2);
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(at, GST_SECOND, kRate);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(n, GST_SECOND, kRate);
    gst_app_src_push_buffer(GST_APP_SRC(src), buf);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  GstBus *bus = gst_element_get_bus(pipeline);
  std::vector<std::string> words;
  Outcome o;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop(bus, 600 * GST_SECOND);
    if (!msg)
      g_error("%s: no EOS in 10 min", c.name);
    if (auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(msg)) {
      if (t->is_final) {
        for (const auto &w : t->words)
          for (std::string &n : librivox::normalised_words(w.word))
            words.push_back(std::move(n));
        o.text += t->text + " ";
      }
    }
    GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error(msg, &e, nullptr);
      g_error("%s: %s", c.name, e ? e->message : "?");
    }
    gst_message_unref(msg);
    if (type == GST_MESSAGE_EOS)
      break;
  }
  GstStructure *stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  guint64 bytes = 0;
  gst_structure_get_uint64(stats, "bytes-sent", &bytes);
  gst_structure_free(stats);
  o.kbps = bytes * 8.0 / (static_cast<double>(session.audio.size()) / kRate) / 1000;
  o.wer = librivox::word_error_rate(session.reference, words);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return o;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int clips = 0, buffer_ms = 100;
  gboolean show_text = FALSE;
  gchar *configs = nullptr;
  GOptionEntry entries[] = {
      {"clips", 0, 0, G_OPTION_ARG_INT, &clips, "Use the first N clips (0: all)", "N"},
      {"buffer-ms", 0, 0, G_OPTION_ARG_INT, &buffer_ms, "Audio per buffer, ms (default 100)", "MS"},
      {"show-text", 0, 0, G_OPTION_ARG_NONE, &show_text, "Print each transcript to stderr",
       nullptr},
      {"configs", 0, 0, G_OPTION_ARG_STRING, &configs,
       "Comma-separated: linear16,flac,opus16,opus24,opus32 (default: all)", "LIST"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  GOptionContext *ctx = g_option_context_new("- what each encoding costs and keeps");
  g_option_context_add_main_entries(ctx, entries, nullptr);
  GError *error = nullptr;
  if (!g_option_context_parse(ctx, &argc, &argv, &error))
    g_error("%s", error->message);
  g_option_context_free(ctx);

  std::vector<librivox::Utterance> utterances = librivox::utterances();
  if (utterances.empty()) {
    g_printerr("pocketsphinx-testdata is not installed: skipped\n");
    return 77;
  }
  if (clips > 0 && static_cast<size_t>(clips) < utterances.size())
    utterances.resize(static_cast<size_t>(clips));
  librivox::Session session = librivox::session(utterances);
  double seconds = static_cast<double>(session.audio.size()) / kRate;

  std::printf("%zu clips, %.1f s of speech, %zu reference words, 16 kHz mono, %d ms buffers\n\n",
              utterances.size(), seconds, session.reference.size(), buffer_ms);
  std::printf(
      "| encoding | bitrate | live wire kbit/s | vs linear16 | encoder CPU per stream | WER live "
      "| WER batch |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Config &c : kConfigs) {
    if (configs && !strstr((std::string(",") + configs + ",").c_str(),
                           (std::string(",") + c.name + ",").c_str()))
      continue;
    double cpu = encoder_cpu(c, session.audio);
    size_t frames = kRate * static_cast<size_t>(std::max(buffer_ms, 1)) / 1000;
    Outcome o = transcribe(c, session, frames, false);
    Outcome b = transcribe(c, session, frames, true);
    std::printf("| %s | %s | %.1f | %.1f%% | %.2f%% of a core | %.3f | %.3f |\n",
                dgf::encoding_name(c.encoding),
                c.bitrate ? (std::to_string(c.bitrate / 1000) + " kbit/s").c_str() : "–", o.kbps,
                o.kbps / 256 * 100, cpu / seconds * 100, o.wer, b.wer);
    std::fflush(stdout);
    if (show_text)
      std::fprintf(stderr, "%s live: %s\n%s batch: %s\n", c.name, o.text.c_str(), c.name,
                   b.text.c_str());
  }
  g_free(configs);
  return 0;
}
