/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WAV (RIFF/WAVE) for interleaved S16LE PCM at any rate and channel count.
 *
 * The batch sink uploads each chunk as audio/wav. A chunk can hold ten minutes
 * of audio and may be retried many times, so the header is built on its own:
 * send wav_header() and then the audio buffer the sink already holds, with no
 * copy of the samples per attempt. build_wav() and write_wav_file() are the
 * copying conveniences for small payloads, tools and tests.
 *
 * The header is the canonical 44-byte PCM one (format tag 1, no
 * WAVE_FORMAT_EXTENSIBLE), which Deepgram, sox and GStreamer's wavparse read
 * for any channel count.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "expected.h"

namespace dgf {

constexpr size_t kWavHeaderBytes = 44;
using WavHeader = std::array<uint8_t, kWavHeaderBytes>;

struct WavError {
  std::string message;
};

/* Bytes per interleaved S16 frame (all channels), 0 for an invalid count. */
constexpr uint32_t wav_frame_bytes(uint32_t channels) {
  return channels >= 1 && channels <= 0x7fff ? channels * 2 : 0;
}

/* The most audio one WAV can describe: the RIFF size is 32 bits and counts
 * 36 header bytes; rounded down to whole frames. 0 for invalid channels. */
uint64_t wav_max_data_bytes(uint32_t channels) noexcept;

/* The header for `data_bytes` of audio. Errors: rate or channels 0, channels
 * over 32767 (block align is 16 bits), a byte rate over 32 bits, data_bytes not
 * whole frames, or data_bytes over wav_max_data_bytes(). */
Expected<WavHeader, WavError> wav_header(uint32_t rate, uint32_t channels,
                                         uint64_t data_bytes) noexcept;

/* Header and a copy of `pcm` in one buffer. */
Expected<std::vector<uint8_t>, WavError> build_wav(uint32_t rate, uint32_t channels,
                                                   const uint8_t *pcm, size_t bytes) noexcept;

/* Writes header then `pcm` to `path` (created or truncated). nullopt on
 * success. */
std::optional<WavError> write_wav_file(const std::string &path, uint32_t rate, uint32_t channels,
                                       const uint8_t *pcm, size_t bytes) noexcept;

} // namespace dgf
