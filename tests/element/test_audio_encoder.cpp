/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* elements/audio_encoder: PCM through flacenc / opusenc ! oggmux and back
 * through GStreamer's decoders (flacparse ! flacdec, oggdemux ! opusdec).
 * FLAC comes back bit-exact; Opus comes back with the same number of
 * samples give or take one 20 ms frame, its tail included (the last frame
 * is louder than the rest, so a lost tail shows). */
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "audio_encoder.h"

using namespace dgf;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (G_UNLIKELY(!(cond))) {                                                                     \
      gchar *why_ = g_strdup_printf(" " __VA_ARGS__);                                              \
      g_error("%s:%d: check failed: %s:%s", __FILE__, __LINE__, #cond, why_);                      \
    }                                                                                              \
  } while (0)

namespace {

/* A tone with a chirp, loud in its last 40 ms. */
std::vector<int16_t> make_pcm(uint32_t rate, uint32_t channels, double seconds) {
  size_t frames = static_cast<size_t>(seconds * rate);
  std::vector<int16_t> pcm(frames * channels);
  for (size_t i = 0; i < frames; i++) {
    double t = static_cast<double>(i) / rate;
    bool tail = i + rate / 25 >= frames;
    double amp = tail ? 20000 : 6000;
    for (uint32_t c = 0; c < channels; c++)
      pcm[i * channels + c] = static_cast<int16_t>(
          amp * std::sin(2 * M_PI * (300 + 200 * c + 150 * t) * t) + (i * 7919 % 13) - 6);
  }
  return pcm;
}

/* Encodes in pieces of `piece` frames (as buffers arrive), then finish(). */
std::vector<uint8_t> encode(AudioEncoding encoding, uint32_t rate, uint32_t channels,
                            const std::vector<int16_t> &pcm, size_t piece, uint32_t bitrate = 0) {
  std::string error;
  auto enc = AudioEncoder::create(encoding, rate, channels, bitrate, &error);
  CHECK(enc != nullptr, "%s", error.c_str());
  std::vector<uint8_t> out;
  const auto *bytes = reinterpret_cast<const uint8_t *>(pcm.data());
  size_t total = pcm.size() * 2, step = piece * channels * 2;
  for (size_t at = 0; at < total; at += step)
    CHECK(enc->push(bytes + at, std::min(step, total - at), out), "%s", enc->error().c_str());
  CHECK(enc->finish(out), "%s", enc->error().c_str());
  return out;
}

void on_handoff(GstElement *, GstBuffer *buf, GstPad *, gpointer data) {
  auto *out = static_cast<std::vector<int16_t> *>(data);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_READ);
  size_t n = map.size / 2;
  size_t at = out->size();
  out->resize(at + n);
  std::memcpy(out->data() + at, map.data, n * 2);
  gst_buffer_unmap(buf, &map);
}

/* Decodes `encoded` with `decoder` (a gst-launch fragment) to S16LE at
 * `rate`. */
std::vector<int16_t> decode(const std::vector<uint8_t> &encoded, const char *decoder, uint32_t rate,
                            uint32_t channels) {
  gchar *path = g_build_filename(g_get_tmp_dir(), "dgf-test-audio-encoder.bin", nullptr);
  CHECK(g_file_set_contents(path, reinterpret_cast<const gchar *>(encoded.data()),
                            static_cast<gssize>(encoded.size()), nullptr));
  gchar *launch = g_strdup_printf("filesrc location=%s ! %s ! audioconvert ! audioresample ! "
                                  "audio/x-raw,format=S16LE,rate=%u,channels=%u ! "
                                  "fakesink name=out signal-handoffs=true sync=false",
                                  path, decoder, rate, channels);
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(launch, &err);
  CHECK(pipeline, "%s", err ? err->message : "?");
  g_free(launch);
  std::vector<int16_t> out;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &out);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  CHECK(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "the decoder failed");
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  g_unlink(path);
  g_free(path);
  return out;
}

double rms(const int16_t *p, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += static_cast<double>(p[i]) * p[i];
  return n ? std::sqrt(sum / n) : 0;
}

void check_flac(uint32_t rate, uint32_t channels, size_t piece) {
  auto pcm = make_pcm(rate, channels, 2.345);
  auto flac = encode(AudioEncoding::Flac, rate, channels, pcm, piece);
  CHECK(flac.size() > 4 && std::memcmp(flac.data(), "fLaC", 4) == 0, "not a FLAC stream");
  CHECK(flac.size() < pcm.size() * 2, "FLAC bigger than the PCM");
  auto back = decode(flac, "flacparse ! flacdec", rate, channels);
  CHECK(back.size() == pcm.size(), "%zu samples in, %zu out", pcm.size(), back.size());
  CHECK(back == pcm, "FLAC is not bit-exact");
}

void check_opus(uint32_t rate, uint32_t bitrate, size_t piece) {
  auto pcm = make_pcm(rate, 1, 3.01);
  auto ogg = encode(AudioEncoding::Opus, rate, 1, pcm, piece, bitrate);
  CHECK(ogg.size() > 4 && std::memcmp(ogg.data(), "OggS", 4) == 0, "not an Ogg stream");
  double seconds = 3.01;
  double kbps = ogg.size() * 8 / seconds / 1000;
  g_test_message("opus %u Hz at %u bit/s: %.1f kbit/s on the wire", rate, bitrate, kbps);
  CHECK(kbps < (bitrate ? bitrate : 32000) / 1000.0 * 1.5 + 4, "%.1f kbit/s", kbps);
  auto back = decode(ogg, "oggdemux ! opusdec", rate, 1);
  long diff = static_cast<long>(back.size()) - static_cast<long>(pcm.size());
  g_test_message("opus %u Hz: %zu samples in, %zu out", rate, pcm.size(), back.size());
  CHECK(std::labs(diff) <= static_cast<long>(rate / 50), "%zu samples in, %zu out", pcm.size(),
        back.size());
  /* The tail made it: the last 30 ms are as loud as the 40 ms sent loud. */
  size_t tail = rate * 3 / 100;
  CHECK(back.size() > tail);
  double loud = rms(back.data() + back.size() - tail, tail);
  double body = rms(back.data() + back.size() / 2, tail);
  CHECK(loud > 2 * body, "the tail is lost (rms %.0f, body %.0f)", loud, body);
}

} // namespace

static void test_flac_16k_mono() {
  check_flac(16000, 1, 160);
}

static void test_flac_odd_pieces_stereo() {
  check_flac(44100, 2, 1237);
}

static void test_opus_16k() {
  check_opus(16000, 16000, 320);
  check_opus(16000, 0, 1000);
}

/* 44.1 kHz is resampled to 48 kHz inside: the duration stays. */
static void test_opus_44k() {
  check_opus(44100, 32000, 441);
}

static void test_available() {
  CHECK(AudioEncoder::check_available(AudioEncoding::Flac).empty());
  CHECK(AudioEncoder::check_available(AudioEncoding::Opus).empty());
  std::string error;
  CHECK(!AudioEncoder::create(AudioEncoding::Linear16, 16000, 1, 0, &error));
  CHECK(!error.empty());
}

/* A stream closed before any audio (a connection that got none): nothing
 * out, no complaint from the encoder; nor after a few frames. */
static void test_short_streams_drain_quietly() {
  for (AudioEncoding e : {AudioEncoding::Flac, AudioEncoding::Opus}) {
    std::string error;
    auto enc = AudioEncoder::create(e, 16000, 1, 0, &error);
    CHECK(enc, "%s", error.c_str());
    std::vector<uint8_t> out;
    CHECK(enc->finish(out), "%s", enc->error().c_str());
    CHECK(out.empty(), "%zu bytes from no audio", out.size());
  }
  /* Up to one FLAC block (1152 frames) in: flacenc would warn about its
   * events' order at the drain; the stream is padded and says nothing. */
  for (AudioEncoding e : {AudioEncoding::Flac, AudioEncoding::Opus}) {
    for (size_t frames : {1, 1100, 1152, 1153}) {
      std::string error;
      auto enc = AudioEncoder::create(e, 16000, 1, 0, &error);
      std::vector<int16_t> pcm(frames, 100);
      std::vector<uint8_t> out;
      CHECK(enc->push(reinterpret_cast<const uint8_t *>(pcm.data()), frames * 2, out));
      CHECK(enc->finish(out), "%s", enc->error().c_str());
      CHECK(!out.empty());
    }
  }
}

/* audio_out(): the audio the bytes out so far carry, to the sample: FLAC
 * lets a block out once the next audio arrives; finish() lets out the rest. */
static void test_audio_out_counts_what_left() {
  std::string error;
  auto enc = AudioEncoder::create(AudioEncoding::Flac, 16000, 1, 0, &error);
  CHECK(enc, "%s", error.c_str());
  std::vector<int16_t> pcm(1600, 300); /* 100 ms */
  std::vector<uint8_t> out;
  CHECK(enc->push(reinterpret_cast<const uint8_t *>(pcm.data()), pcm.size() * 2, out));
  CHECK(enc->audio_out() == 72 * GST_MSECOND, "%" G_GUINT64_FORMAT, enc->audio_out());
  CHECK(enc->finish(out));
  CHECK(enc->audio_out() == 100 * GST_MSECOND, "%" G_GUINT64_FORMAT, enc->audio_out());
}

static size_t open_fds() {
  size_t n = 0;
  if (GDir *dir = g_dir_open("/proc/self/fd", 0, nullptr)) {
    while (g_dir_read_name(dir))
      n++;
    g_dir_close(dir);
  }
  return n;
}

/* One encoder per connection or chunk, thousands in a long run: each must
 * give back its bus (and the bus's socket pair), drained or not. */
static void test_encoders_leave_nothing_behind() {
  size_t before = open_fds();
  for (int i = 0; i < 40; i++) {
    AudioEncoding e = i % 2 ? AudioEncoding::Opus : AudioEncoding::Flac;
    std::string error;
    auto enc = AudioEncoder::create(e, 16000, 1, 0, &error);
    CHECK(enc, "%s", error.c_str());
    std::vector<int16_t> pcm(3200, 300);
    std::vector<uint8_t> out;
    CHECK(enc->push(reinterpret_cast<const uint8_t *>(pcm.data()), pcm.size() * 2, out));
    if (i % 4 < 2)
      CHECK(enc->finish(out), "%s", enc->error().c_str());
  }
  size_t after = open_fds();
  CHECK(after <= before, "%zu descriptors before 40 encoders, %zu after", before, after);
}

int main(int argc, char **argv) {
  g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/audio-encoder/flac-16k-mono", test_flac_16k_mono);
  g_test_add_func("/audio-encoder/flac-44k-stereo-odd-pieces", test_flac_odd_pieces_stereo);
  g_test_add_func("/audio-encoder/opus-16k", test_opus_16k);
  g_test_add_func("/audio-encoder/opus-44k", test_opus_44k);
  g_test_add_func("/audio-encoder/available", test_available);
  g_test_add_func("/audio-encoder/audio-out", test_audio_out_counts_what_left);
  g_test_add_func("/audio-encoder/short-streams-drain-quietly", test_short_streams_drain_quietly);
  g_test_add_func("/audio-encoder/encoders-leave-nothing-behind",
                  test_encoders_leave_nothing_behind);
  return g_test_run();
}
