/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator's Ogg Opus and FLAC decoders (compressed_audio.h) on the
 * output of GStreamer's own encoders: FLAC is lossless to the sample, Opus
 * keeps time (pre-skip removed, end trimmed), both decode the same in pieces
 * of any size, and corrupt or foreign data is an error, not a crash. */
#include <glib.h>

#include <cmath>
#include <string>

#include "compressed_audio.h"
#include "gst_encode.h"
#include "sequence_audio.h"

using dgemu::AudioContainer;

namespace {

const uint8_t *u8(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

/* Decodes `data` pushed in pieces of `piece` bytes (0: all at once). */
struct Decoded {
  bool ok = false;
  std::string error;
  int rate = 0, channels = 0;
  std::vector<int16_t> samples;
  size_t before_finish = 0; /* samples out before finish() */
};

Decoded decode(const std::string &data, size_t piece) {
  Decoded d;
  auto dec = dgemu::make_compressed_decoder(dgemu::sniff_container(u8(data), data.size()));
  g_assert_nonnull(dec.get());
  d.ok = true;
  size_t step = piece ? piece : data.size();
  for (size_t pos = 0; pos < data.size() && d.ok; pos += step)
    d.ok = dec->push(u8(data) + pos, std::min(step, data.size() - pos), &d.samples);
  d.before_finish = d.samples.size();
  if (d.ok)
    d.ok = dec->finish(&d.samples);
  d.error = dec->error();
  d.rate = dec->sample_rate();
  d.channels = dec->channels();
  return d;
}

/* Silence with a 440 Hz tone from `onset` s for 0.3 s. */
std::vector<int16_t> tone_burst(int rate, int channels, double seconds, double onset) {
  std::vector<int16_t> out(static_cast<size_t>(seconds * rate) * channels, 0);
  for (size_t i = static_cast<size_t>(onset * rate); i < static_cast<size_t>((onset + 0.3) * rate);
       i++)
    for (int c = 0; c < channels; c++)
      out[i * channels + c] =
          static_cast<int16_t>(12000 * std::sin(2 * G_PI * 440 * static_cast<double>(i) / rate));
  return out;
}

/* First frame where channel 0 exceeds a quarter of the burst's amplitude. */
double onset_of(const std::vector<int16_t> &s, int rate, int channels) {
  for (size_t i = 0; i < s.size() / channels; i++)
    if (std::abs(s[i * channels]) > 3000)
      return static_cast<double>(i) / rate;
  return -1;
}

void test_sniff() {
  const uint8_t riff[] = "RIFF....WAVE", ogg[] = "OggS\0\x02", flac[] = "fLaC\0",
                junk[] = "ID3\x04";
  g_assert_true(dgemu::sniff_container(riff, 12) == AudioContainer::wav);
  g_assert_true(dgemu::sniff_container(ogg, 6) == AudioContainer::ogg);
  g_assert_true(dgemu::sniff_container(flac, 5) == AudioContainer::flac);
  g_assert_true(dgemu::sniff_container(junk, 4) == AudioContainer::unknown);
  g_assert_true(dgemu::sniff_container(flac, 3) == AudioContainer::unknown);
  g_assert_null(dgemu::make_compressed_decoder(AudioContainer::wav).get());
  g_assert_null(dgemu::make_compressed_decoder(AudioContainer::unknown).get());
}

void test_flac_lossless() {
  auto pcm = dgemu::sequence_blocks(16000, 1, 0, 30);
  std::string flac = emutest::gst_encode(pcm, 16000, 1, "flacenc");
  g_assert_true(dgemu::sniff_container(u8(flac), flac.size()) == AudioContainer::flac);
  for (size_t piece : {size_t(0), size_t(1000), size_t(7)}) {
    Decoded d = decode(flac, piece);
    if (!d.ok)
      g_error("piece %zu: %s", piece, d.error.c_str());
    g_assert_cmpint(d.rate, ==, 16000);
    g_assert_cmpint(d.channels, ==, 1);
    g_assert_true(d.samples == pcm);
    /* Every whole frame comes out as soon as it has arrived. */
    g_assert_cmpuint(d.before_finish, ==, pcm.size());
  }
  dgemu::PcmAudio whole;
  std::string err;
  g_assert_true(
      dgemu::decode_compressed(AudioContainer::flac, u8(flac), flac.size(), &whole, &err));
  g_assert_true(whole.samples == pcm);
  g_assert_cmpfloat(std::fabs(whole.seconds() - 3.0), <, 1e-9);
}

void test_flac_stereo_24bit() {
  auto pcm = dgemu::sequence_blocks(44100, 2, 5, 10);
  g_assert_cmpuint(pcm.size(), >, 0);
  std::string flac = emutest::gst_encode(pcm, 44100, 2, "audio/x-raw,format=S24_32LE ! flacenc");
  Decoded d = decode(flac, 1000);
  g_assert_true(d.ok);
  g_assert_cmpint(d.rate, ==, 44100);
  g_assert_cmpint(d.channels, ==, 2);
  g_assert_true(d.samples == pcm);
}

void test_opus_time(int rate, int channels) {
  auto pcm = tone_burst(rate, channels, 1.0, 0.5);
  std::string ogg = emutest::gst_encode(pcm, rate, channels, "opusenc ! oggmux");
  g_assert_true(dgemu::sniff_container(u8(ogg), ogg.size()) == AudioContainer::ogg);
  Decoded whole = decode(ogg, 0);
  if (!whole.ok)
    g_error("%s", whole.error.c_str());
  g_assert_cmpint(whole.rate, ==, 48000);
  g_assert_cmpint(whole.channels, ==, channels);
  /* End trimmed to the input's length; pre-skip removed, so the burst
   * starts where it did (the encoder's 6.5 ms of lookahead would show). */
  g_assert_cmpuint(whole.samples.size(), ==, 48000u * channels);
  double onset = onset_of(whole.samples, 48000, channels);
  g_test_message("%d Hz x %d: onset at %.5f s", rate, channels, onset);
  g_assert_cmpfloat(std::fabs(onset - 0.5), <, 0.002);
  for (size_t piece : {size_t(1000), size_t(13)}) {
    Decoded d = decode(ogg, piece);
    g_assert_true(d.ok);
    g_assert_true(d.samples == whole.samples);
  }
}

void test_opus_mono16k() {
  test_opus_time(16000, 1);
}
void test_opus_stereo48k() {
  test_opus_time(48000, 2);
}

void expect_error(const std::string &data, const char *needle) {
  for (size_t piece : {size_t(0), size_t(1000)}) {
    Decoded d = decode(data, piece);
    g_assert_false(d.ok);
    g_test_message("error: %s", d.error.c_str());
    if (d.error.find(needle) == std::string::npos)
      g_error("'%s' not in '%s'", needle, d.error.c_str());
  }
  dgemu::PcmAudio pcm;
  std::string err;
  g_assert_false(dgemu::decode_compressed(dgemu::sniff_container(u8(data), data.size()), u8(data),
                                          data.size(), &pcm, &err));
  g_assert_false(err.empty());
}

void test_corrupt() {
  auto pcm = dgemu::sequence_blocks(16000, 1, 0, 20);
  std::string flac = emutest::gst_encode(pcm, 16000, 1, "flacenc");
  std::string ogg =
      emutest::gst_encode(tone_burst(16000, 1, 2.0, 0.5), 16000, 1, "opusenc ! oggmux");
  std::string bad = flac;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5A);
  expect_error(bad, "FLAC");
  bad = ogg;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5A);
  expect_error(bad, "Ogg");
  /* Garbage after a good start. */
  std::string junk(4000, '\x55');
  expect_error(flac.substr(0, flac.size() / 2) + junk, "FLAC");
  expect_error(ogg.substr(0, ogg.size() / 2) + junk, "Ogg");
  expect_error("fLaC" + junk, "STREAMINFO");
  expect_error("OggS" + junk, "Ogg");
  /* Ogg, but not Opus. */
  expect_error(emutest::gst_encode(tone_burst(16000, 1, 1.0, 0.2), 16000, 1, "vorbisenc ! oggmux"),
               "Vorbis");
}

void test_truncated() {
  auto pcm = dgemu::sequence_blocks(16000, 1, 0, 30);
  std::string flac = emutest::gst_encode(pcm, 16000, 1, "flacenc");
  Decoded d = decode(flac.substr(0, flac.size() / 2), 1000);
  g_assert_true(d.ok);
  g_assert_cmpuint(d.samples.size(), >, 0);
  g_assert_cmpuint(d.samples.size(), <, pcm.size());
  g_assert_true(std::equal(d.samples.begin(), d.samples.end(), pcm.begin()));
  std::string ogg =
      emutest::gst_encode(tone_burst(16000, 1, 2.0, 0.5), 16000, 1, "opusenc ! oggmux");
  d = decode(ogg.substr(0, ogg.size() / 2), 1000);
  g_assert_true(d.ok);
  g_assert_cmpuint(d.samples.size(), >, 0);
  g_assert_cmpuint(d.samples.size(), <, 96000u);
  /* A cut header is no audio, not an error; for a whole body, no audio is. */
  d = decode(flac.substr(0, 20), 0);
  g_assert_true(d.ok);
  g_assert_cmpuint(d.samples.size(), ==, 0);
  dgemu::PcmAudio out;
  std::string err;
  g_assert_false(dgemu::decode_compressed(AudioContainer::flac, u8(flac), 20, &out, &err));
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/compressed/sniff", test_sniff);
  g_test_add_func("/compressed/flac-lossless", test_flac_lossless);
  g_test_add_func("/compressed/flac-stereo-24bit", test_flac_stereo_24bit);
  g_test_add_func("/compressed/opus-mono-16k", test_opus_mono16k);
  g_test_add_func("/compressed/opus-stereo-48k", test_opus_stereo48k);
  g_test_add_func("/compressed/corrupt", test_corrupt);
  g_test_add_func("/compressed/truncated", test_truncated);
  return g_test_run();
}
