/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <glib/gstdio.h>

#include <cstring>
#include <string>
#include <vector>

#include "wav_writer.h"

using namespace dgf;

/* Deterministic S16LE samples that include both extremes and odd bytes, so a
 * byte-order or off-by-one mistake changes the comparison. */
static std::vector<uint8_t> test_pcm(size_t frames, uint32_t channels) {
  std::vector<uint8_t> pcm(frames * channels * 2);
  uint32_t state = 12345;
  for (size_t i = 0; i < pcm.size() / 2; i++) {
    state = state * 1103515245u + 12345u;
    int16_t v = static_cast<int16_t>(state >> 16);
    if (i == 0)
      v = INT16_MIN;
    if (i == 1)
      v = INT16_MAX;
    pcm[2 * i] = static_cast<uint8_t>(v & 0xff);
    pcm[2 * i + 1] = static_cast<uint8_t>((static_cast<uint16_t>(v) >> 8) & 0xff);
  }
  return pcm;
}

static uint32_t read_u32(const uint8_t *p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
static uint16_t read_u16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

static void test_header_layout() {
  auto h = wav_header(16000, 2, 64000);
  g_assert_true(h.ok());
  const uint8_t *p = h->data();
  g_assert_cmpint(memcmp(p, "RIFF", 4), ==, 0);
  g_assert_cmpuint(read_u32(p + 4), ==, 36 + 64000);
  g_assert_cmpint(memcmp(p + 8, "WAVEfmt ", 8), ==, 0);
  g_assert_cmpuint(read_u32(p + 16), ==, 16);
  g_assert_cmpuint(read_u16(p + 20), ==, 1);
  g_assert_cmpuint(read_u16(p + 22), ==, 2);
  g_assert_cmpuint(read_u32(p + 24), ==, 16000);
  g_assert_cmpuint(read_u32(p + 28), ==, 64000);
  g_assert_cmpuint(read_u16(p + 32), ==, 4);
  g_assert_cmpuint(read_u16(p + 34), ==, 16);
  g_assert_cmpint(memcmp(p + 36, "data", 4), ==, 0);
  g_assert_cmpuint(read_u32(p + 40), ==, 64000);
}

static void assert_rejected(uint32_t rate, uint32_t channels, uint64_t bytes, const char *why) {
  auto h = wav_header(rate, channels, bytes);
  g_assert_false(h.ok());
  if (h.error().message.find(why) == std::string::npos)
    g_error("\"%s\" does not mention \"%s\"", h.error().message.c_str(), why);
}

static void test_rejects_bad_args() {
  assert_rejected(0, 1, 0, "sample rate");
  assert_rejected(16000, 0, 0, "channel count");
  assert_rejected(16000, 40000, 0, "channel count");
  assert_rejected(16000, 2, 6, "not a whole number of 4-byte frames");
  assert_rejected(8000, 1, 3, "not a whole number of 2-byte frames");
  assert_rejected(0xffffffffu, 8, 0, "byte rate");
  uint64_t max = wav_max_data_bytes(2);
  g_assert_cmpuint(max % 4, ==, 0);
  g_assert_cmpuint(max + 36, <=, 0xffffffffull);
  g_assert_true(wav_header(16000, 2, max).ok());
  assert_rejected(16000, 2, max + 4, "32-bit RIFF limit");
  assert_rejected(16000, 1, uint64_t{1} << 40, "32-bit RIFF limit");
  g_assert_cmpuint(wav_max_data_bytes(0), ==, 0);

  uint8_t sample[2] = {1, 2};
  g_assert_false(build_wav(8000, 1, nullptr, 2).ok());
  g_assert_false(build_wav(8000, 1, sample, 1).ok());
  g_assert_true(write_wav_file("/nonexistent-dir/x.wav", 8000, 1, sample, 2).has_value());
}

static void test_build_wav_is_header_plus_audio() {
  std::vector<uint8_t> pcm = test_pcm(10, 3);
  auto wav = build_wav(22050, 3, pcm.data(), pcm.size());
  g_assert_true(wav.ok());
  g_assert_cmpuint(wav->size(), ==, kWavHeaderBytes + pcm.size());
  auto h = wav_header(22050, 3, pcm.size());
  g_assert_cmpint(memcmp(wav->data(), h->data(), kWavHeaderBytes), ==, 0);
  g_assert_cmpint(memcmp(wav->data() + kWavHeaderBytes, pcm.data(), pcm.size()), ==, 0);
}

/* Runs argv, returns stdout; fails the test on a non-zero exit. */
static std::string run(std::vector<const char *> argv) {
  argv.push_back(nullptr);
  gchar *out = nullptr;
  gchar *err = nullptr;
  gint status = 0;
  GError *error = nullptr;
  g_spawn_sync(nullptr, const_cast<gchar **>(argv.data()), nullptr, G_SPAWN_SEARCH_PATH, nullptr,
               nullptr, &out, &err, &status, &error);
  g_assert_no_error(error);
  if (!g_spawn_check_wait_status(status, nullptr))
    g_error("%s failed: %s", argv[0], err);
  std::string s(out);
  g_free(out);
  g_free(err);
  while (!s.empty() && g_ascii_isspace(s.back()))
    s.pop_back();
  return s;
}

static void assert_soxi(const char *flag, const std::string &wav, const std::string &expected) {
  std::string got = run({"soxi", flag, wav.c_str()});
  if (got != expected)
    g_error("soxi %s %s: got \"%s\", want \"%s\"", flag, wav.c_str(), got.c_str(),
            expected.c_str());
}

struct Case {
  uint32_t rate;
  uint32_t channels;
  size_t frames;
};

static void check_with_sox(const char *dir, const Case &c) {
  std::vector<uint8_t> pcm = test_pcm(c.frames, c.channels);
  std::string base =
      std::string(dir) + "/" + std::to_string(c.rate) + "-" + std::to_string(c.channels);
  std::string wav = base + ".wav";
  std::string raw = base + ".raw";
  auto err = write_wav_file(wav, c.rate, c.channels, pcm.data(), pcm.size());
  if (err)
    g_error("%s", err->message.c_str());

  assert_soxi("-r", wav, std::to_string(c.rate));
  assert_soxi("-c", wav, std::to_string(c.channels));
  assert_soxi("-s", wav, std::to_string(c.frames));
  assert_soxi("-b", wav, "16");
  assert_soxi("-e", wav, "Signed Integer PCM");

  if (c.frames == 0)
    return; /* sox writes no raw file worth comparing for empty input */
  run({"sox", "-V1", wav.c_str(), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L",
       raw.c_str()});
  gchar *back = nullptr;
  gsize back_len = 0;
  GError *error = nullptr;
  g_file_get_contents(raw.c_str(), &back, &back_len, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(back_len, ==, pcm.size());
  g_assert_cmpint(memcmp(back, pcm.data(), pcm.size()), ==, 0);
  g_free(back);
  g_unlink(raw.c_str());
  g_unlink(wav.c_str());
}

static void test_sox_reads_back() {
  gchar *soxi = g_find_program_in_path("soxi");
  gchar *sox = g_find_program_in_path("sox");
  bool missing = !soxi || !sox;
  g_free(soxi);
  g_free(sox);
  if (missing) {
    g_test_skip("soxi/sox not installed (apt-get install sox): cannot read WAVs back");
    return;
  }
  GError *error = nullptr;
  gchar *dir = g_dir_make_tmp("dgf-wav-XXXXXX", &error);
  g_assert_no_error(error);
  const Case cases[] = {
      {8000, 1, 8000},  /* 1 s telephone mono */
      {16000, 2, 4001}, /* odd frame count, stereo */
      {48000, 8, 4800}, /* 8 channels: canonical header, no extensible */
      {44100, 1, 1},    /* a single frame */
      {16000, 1, 0},    /* empty: header only */
  };
  for (const Case &c : cases)
    check_with_sox(dir, c);
  g_rmdir(dir);
  g_free(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/wav-writer/header-layout", test_header_layout);
  g_test_add_func("/wav-writer/rejects-bad-args", test_rejects_bad_args);
  g_test_add_func("/wav-writer/build-wav", test_build_wav_is_header_plus_audio);
  g_test_add_func("/wav-writer/sox-reads-back", test_sox_reads_back);
  return g_test_run();
}
