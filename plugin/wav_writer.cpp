/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "wav_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dgf {
namespace {

constexpr uint64_t kRiffSizeMax = 0xffffffffu;
constexpr uint64_t kHeaderBytesInRiffSize = kWavHeaderBytes - 8; /* after "RIFF" + size */

/* RIFF is little-endian whatever the host is. */
void put_u32(uint8_t *p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

void put_u16(uint8_t *p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void put_tag(uint8_t *p, const char tag[5]) {
  std::memcpy(p, tag, 4);
}

} // namespace

uint64_t wav_max_data_bytes(uint32_t channels) noexcept {
  uint32_t frame = wav_frame_bytes(channels);
  if (frame == 0)
    return 0;
  uint64_t max = kRiffSizeMax - kHeaderBytesInRiffSize;
  return max - max % frame;
}

Expected<WavHeader, WavError> wav_header(uint32_t rate, uint32_t channels,
                                         uint64_t data_bytes) noexcept {
  try {
    if (rate == 0)
      return WavError{"sample rate must be at least 1 Hz"};
    uint32_t frame = wav_frame_bytes(channels);
    if (frame == 0)
      return WavError{"channel count must be 1.." + std::to_string(0x7fff) + ", got " +
                      std::to_string(channels)};
    uint64_t byte_rate = uint64_t{rate} * frame;
    if (byte_rate > kRiffSizeMax)
      return WavError{"byte rate " + std::to_string(byte_rate) + " does not fit 32 bits"};
    if (data_bytes % frame != 0)
      return WavError{std::to_string(data_bytes) + " bytes is not a whole number of " +
                      std::to_string(frame) + "-byte frames"};
    if (data_bytes > wav_max_data_bytes(channels))
      return WavError{std::to_string(data_bytes) + " bytes is over the 32-bit RIFF limit of " +
                      std::to_string(wav_max_data_bytes(channels))};

    WavHeader h{};
    uint8_t *p = h.data();
    put_tag(p + 0, "RIFF");
    put_u32(p + 4, static_cast<uint32_t>(kHeaderBytesInRiffSize + data_bytes));
    put_tag(p + 8, "WAVE");
    put_tag(p + 12, "fmt ");
    put_u32(p + 16, 16); /* fmt chunk size for plain PCM */
    put_u16(p + 20, 1);  /* WAVE_FORMAT_PCM */
    put_u16(p + 22, static_cast<uint16_t>(channels));
    put_u32(p + 24, rate);
    put_u32(p + 28, static_cast<uint32_t>(byte_rate));
    put_u16(p + 32, static_cast<uint16_t>(frame)); /* block align */
    put_u16(p + 34, 16);                           /* bits per sample */
    put_tag(p + 36, "data");
    put_u32(p + 40, static_cast<uint32_t>(data_bytes));
    return h;
  } catch (...) {
    return WavError{"out of memory"};
  }
}

Expected<std::vector<uint8_t>, WavError> build_wav(uint32_t rate, uint32_t channels,
                                                   const uint8_t *pcm, size_t bytes) noexcept {
  if (bytes > 0 && pcm == nullptr)
    return WavError{"no audio data"};
  auto header = wav_header(rate, channels, bytes);
  if (!header)
    return header.error();
  try {
    std::vector<uint8_t> out;
    out.reserve(kWavHeaderBytes + bytes);
    out.insert(out.end(), header->begin(), header->end());
    if (bytes > 0)
      out.insert(out.end(), pcm, pcm + bytes);
    return out;
  } catch (...) {
    return WavError{"out of memory"};
  }
}

std::optional<WavError> write_wav_file(const std::string &path, uint32_t rate, uint32_t channels,
                                       const uint8_t *pcm, size_t bytes) noexcept {
  try {
    if (bytes > 0 && pcm == nullptr)
      return WavError{"no audio data"};
    auto header = wav_header(rate, channels, bytes);
    if (!header)
      return header.error();
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
      return WavError{path + ": " + std::strerror(errno)};
    bool ok = std::fwrite(header->data(), 1, kWavHeaderBytes, f) == kWavHeaderBytes &&
              (bytes == 0 || std::fwrite(pcm, 1, bytes, f) == bytes);
    int saved_errno = errno;
    /* fclose flushes: a full disk can show up only here. */
    if (std::fclose(f) != 0 && ok) {
      ok = false;
      saved_errno = errno;
    }
    if (!ok)
      return WavError{path + ": write failed: " + std::strerror(saved_errno)};
    return std::nullopt;
  } catch (...) {
    return WavError{"out of memory"};
  }
}

} // namespace dgf
