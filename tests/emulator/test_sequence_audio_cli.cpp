/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-sequence-audio writes exactly the blocks asked for, as WAV or raw. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "sequence_audio.h"

using namespace dgemu;

namespace {

/* Runs the tool; returns its exit status. */
int run_tool(std::vector<std::string> args) {
  const char *tool = g_getenv("DG_SEQUENCE_AUDIO");
  g_assert_nonnull(tool);
  args.insert(args.begin(), tool);
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gint wait_status = 0;
  GError *error = nullptr;
  g_assert_true(g_spawn_sync(
      nullptr, argv.data(), nullptr,
      static_cast<GSpawnFlags>(G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL), nullptr,
      nullptr, nullptr, nullptr, &wait_status, &error));
  g_assert_no_error(error);
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

struct TempDir {
  std::string path;
  TempDir() {
    gchar *p = g_dir_make_tmp("dg-sequence-audio-XXXXXX", nullptr);
    g_assert_nonnull(p);
    path = p;
    g_free(p);
  }
  ~TempDir() {
    GDir *dir = g_dir_open(path.c_str(), 0, nullptr);
    while (const char *name = dir ? g_dir_read_name(dir) : nullptr)
      g_unlink((path + "/" + name).c_str());
    if (dir)
      g_dir_close(dir);
    g_rmdir(path.c_str());
  }
  std::string file(const char *name) const { return path + "/" + name; }
};

std::string read_file(const std::string &path) {
  gchar *data = nullptr;
  gsize size = 0;
  g_assert_true(g_file_get_contents(path.c_str(), &data, &size, nullptr));
  std::string bytes(data, size);
  g_free(data);
  return bytes;
}

uint32_t le(const std::string &b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    v = v << 8 | static_cast<uint8_t>(b[at + i]);
  return v;
}

std::string as_bytes(const std::vector<int16_t> &samples) {
  std::string bytes;
  for (int16_t s : samples) {
    bytes.push_back(static_cast<char>(static_cast<uint16_t>(s) & 0xff));
    bytes.push_back(static_cast<char>(static_cast<uint16_t>(s) >> 8));
  }
  return bytes;
}

} // namespace

static void test_wav_output() {
  TempDir dir;
  std::string path = dir.file("seq.wav");
  g_assert_cmpint(run_tool({"--rate", "8000", "--channels", "2", "--blocks", "30", "--first", "5",
                            "--pattern", "ss.", "-o", path}),
                  ==, 0);
  std::string wav = read_file(path);
  std::vector<int16_t> expected = sequence_blocks(8000, 2, 5, 30, sequence_pattern("ss."));
  g_assert_cmpuint(wav.size(), ==, 44 + expected.size() * 2);
  g_assert_true(wav.compare(0, 4, "RIFF") == 0 && wav.compare(8, 8, "WAVEfmt ") == 0);
  g_assert_cmpuint(le(wav, 4, 4), ==, wav.size() - 8);
  g_assert_cmpuint(le(wav, 20, 2), ==, 1);    /* PCM */
  g_assert_cmpuint(le(wav, 22, 2), ==, 2);    /* channels */
  g_assert_cmpuint(le(wav, 24, 4), ==, 8000); /* rate */
  g_assert_cmpuint(le(wav, 28, 4), ==, 8000 * 2 * 2);
  g_assert_cmpuint(le(wav, 32, 2), ==, 4);
  g_assert_cmpuint(le(wav, 34, 2), ==, 16);
  g_assert_true(wav.compare(36, 4, "data") == 0);
  g_assert_cmpuint(le(wav, 40, 4), ==, expected.size() * 2);
  g_assert_true(wav.compare(44, std::string::npos, as_bytes(expected)) == 0);
}

static void test_raw_output_and_block_ms() {
  TempDir dir;
  std::string path = dir.file("seq.pcm");
  g_assert_cmpint(run_tool({"-r", "48000", "-n", "250", "-b", "20", "-o", path}), ==, 0);
  std::string raw = read_file(path);
  /* 250 blocks, more than one write slice, all speech. */
  g_assert_true(raw == as_bytes(sequence_blocks(48000, 1, 0, 250, {}, 20)));
}

static void test_bad_arguments() {
  TempDir dir;
  std::string path = dir.file("x.wav");
  g_assert_cmpint(run_tool({"--rate", "44100", "--block-ms", "7", "-o", path}), ==, 2);
  g_assert_cmpint(run_tool({"--channels", "9", "-o", path}), ==, 2);
  g_assert_cmpint(run_tool({"--pattern", "sx", "-o", path}), ==, 2);
  g_assert_cmpint(run_tool({"--first", "4294967295", "--blocks", "2", "-o", path}), ==, 2);
  g_assert_cmpint(run_tool({"--bogus"}), ==, 2);
  g_assert_false(g_file_test(path.c_str(), G_FILE_TEST_EXISTS));
  g_assert_cmpint(run_tool({"-o", dir.file("missing/dir.wav")}), ==, 1);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/sequence-audio-cli/wav", test_wav_output);
  g_test_add_func("/sequence-audio-cli/raw-block-ms", test_raw_output_and_block_ms);
  g_test_add_func("/sequence-audio-cli/bad-arguments", test_bad_arguments);
  return g_test_run();
}
