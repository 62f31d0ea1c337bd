/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-sequence-audio: writes sequence test audio (docs/sequence-audio.md) as
 * raw S16LE or WAV, for the emulator's "sequence" engine. */
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sequence_audio.h"

namespace {

struct Options {
  int rate = 16000;
  int channels = 1;
  unsigned long first = 0;
  unsigned long blocks = 100;
  int block_ms = dgemu::kSequenceDefaultBlockMs;
  std::string pattern = "s";
  std::string format; /* "wav" or "raw"; empty: from the file name */
  std::string output = "-";
};

void usage(FILE *to) {
  std::fprintf(to, "Usage: dg-sequence-audio [OPTION]... -o FILE\n"
                   "Write sequence test audio: numbered blocks the emulator's sequence engine\n"
                   "transcribes as one word each (b000000, b000001, ...).\n\n"
                   "  -r, --rate HZ         sample rate, 8000-48000 (default 16000)\n"
                   "  -c, --channels N      channels, 1-8 (default 1)\n"
                   "  -n, --blocks N        number of blocks (default 100)\n"
                   "  -f, --first N         number of the first block (default 0)\n"
                   "  -b, --block-ms MS     block length (default 100); rate*MS must be a\n"
                   "                        multiple of 1000\n"
                   "  -p, --pattern P       repeating speech/silence pattern: 's' speech, '.' or\n"
                   "                        '_' silence, e.g. 'ssssssss..' (default 's')\n"
                   "  -F, --format FMT      wav or raw (S16LE); default from the file name\n"
                   "  -o, --output FILE     output file, '-' for stdout (default '-')\n"
                   "  -h, --help            show this help\n");
}

bool parse_number(const char *text, unsigned long max, unsigned long *out) {
  char *end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max)
    return false;
  *out = v;
  return true;
}

bool parse_args(int argc, char **argv, Options *o) {
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "dg-sequence-audio: missing value or unknown option '%s'\n", argv[i]);
      return false;
    }
    const char *value = argv[++i];
    unsigned long n = 0;
    bool ok = true;
    if (arg == "-r" || arg == "--rate")
      ok = parse_number(value, 48000, &n) && (o->rate = static_cast<int>(n), true);
    else if (arg == "-c" || arg == "--channels")
      ok = parse_number(value, 8, &n) && n >= 1 && (o->channels = static_cast<int>(n), true);
    else if (arg == "-n" || arg == "--blocks")
      ok = parse_number(value, 0xffffffffUL, &o->blocks);
    else if (arg == "-f" || arg == "--first")
      ok = parse_number(value, 0xffffffffUL, &o->first);
    else if (arg == "-b" || arg == "--block-ms")
      ok = parse_number(value, 60000, &n) && (o->block_ms = static_cast<int>(n), true);
    else if (arg == "-p" || arg == "--pattern")
      ok = static_cast<bool>(dgemu::sequence_pattern(o->pattern = value));
    else if (arg == "-F" || arg == "--format")
      ok = (o->format = value) == "wav" || o->format == "raw";
    else if (arg == "-o" || arg == "--output")
      o->output = value;
    else {
      std::fprintf(stderr, "dg-sequence-audio: unknown option '%s'\n", argv[i - 1]);
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "dg-sequence-audio: bad value '%s' for %s\n", value, arg.c_str());
      return false;
    }
  }
  if (dgemu::sequence_block_samples(o->rate, o->block_ms) == 0) {
    std::fprintf(stderr,
                 "dg-sequence-audio: rate %d with %d ms blocks is unsupported (rate 8000-48000, "
                 "rate*block_ms a multiple of 1000, at least 96 samples a block)\n",
                 o->rate, o->block_ms);
    return false;
  }
  if (o->first + o->blocks > 0x100000000UL) {
    std::fprintf(stderr, "dg-sequence-audio: block numbers must fit 32 bits\n");
    return false;
  }
  if (o->format.empty()) {
    const std::string &f = o->output;
    bool wav = f.size() >= 4 && strcasecmp(f.c_str() + f.size() - 4, ".wav") == 0;
    o->format = wav ? "wav" : "raw";
  }
  return true;
}

void put_le(std::vector<unsigned char> *out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    out->push_back(static_cast<unsigned char>(v >> (8 * i)));
}

/* A canonical 44-byte PCM WAV header. */
std::vector<unsigned char> wav_header(int rate, int channels, uint64_t data_bytes) {
  std::vector<unsigned char> h;
  auto tag = [&](const char *t) { h.insert(h.end(), t, t + 4); };
  tag("RIFF");
  put_le(&h, static_cast<uint32_t>(36 + data_bytes), 4);
  tag("WAVE");
  tag("fmt ");
  put_le(&h, 16, 4);
  put_le(&h, 1, 2); /* PCM */
  put_le(&h, static_cast<uint32_t>(channels), 2);
  put_le(&h, static_cast<uint32_t>(rate), 4);
  put_le(&h, static_cast<uint32_t>(rate * channels * 2), 4);
  put_le(&h, static_cast<uint32_t>(channels * 2), 2);
  put_le(&h, 16, 2);
  tag("data");
  put_le(&h, static_cast<uint32_t>(data_bytes), 4);
  return h;
}

bool write_all(FILE *f, const void *data, size_t bytes) {
  return std::fwrite(data, 1, bytes, f) == bytes;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (!parse_args(argc, argv, &o)) {
    usage(stderr);
    return 2;
  }
  uint64_t frames = dgemu::sequence_block_samples(o.rate, o.block_ms) * o.blocks;
  uint64_t data_bytes = frames * o.channels * 2;
  if (o.format == "wav" && data_bytes > 0xffffffffULL - 36) {
    std::fprintf(stderr, "dg-sequence-audio: too long for a WAV file; use --format raw\n");
    return 2;
  }
  bool to_stdout = o.output == "-";
  FILE *f = to_stdout ? stdout : std::fopen(o.output.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "dg-sequence-audio: cannot open %s: %s\n", o.output.c_str(),
                 std::strerror(errno));
    return 1;
  }
  bool ok = true;
  if (o.format == "wav") {
    std::vector<unsigned char> header = wav_header(o.rate, o.channels, data_bytes);
    ok = write_all(f, header.data(), header.size());
  }
  dgemu::BlockKindFn kind = dgemu::sequence_pattern(o.pattern);
  /* Write in slices of blocks so long files need little memory. */
  const uint32_t slice = 100;
  for (unsigned long done = 0; ok && done < o.blocks; done += slice) {
    auto count = static_cast<uint32_t>(std::min<unsigned long>(slice, o.blocks - done));
    std::vector<int16_t> audio = dgemu::sequence_blocks(
        o.rate, o.channels, static_cast<uint32_t>(o.first + done), count, kind, o.block_ms);
    std::vector<unsigned char> bytes;
    bytes.reserve(audio.size() * 2);
    for (int16_t s : audio)
      put_le(&bytes, static_cast<uint16_t>(s), 2);
    ok = write_all(f, bytes.data(), bytes.size());
  }
  if (!to_stdout)
    ok = std::fclose(f) == 0 && ok;
  else
    ok = std::fflush(f) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "dg-sequence-audio: write to %s failed: %s\n", o.output.c_str(),
                 std::strerror(errno));
    return 1;
  }
  return 0;
}
