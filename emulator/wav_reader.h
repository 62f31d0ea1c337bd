/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: audio body decoding (its own RIFF reader: the emulator shares
 * no WAV code with the plugin).
 *
 * WAV: RIFF/WAVE with a fmt chunk of PCM (8, 16, 24, 32 bit integer), IEEE
 * float (32 bit) or WAVE_FORMAT_EXTENSIBLE of those; a data size of 0 or
 * 0xFFFFFFFF (streamed WAV) means "to the end of the body". Raw: linear16
 * (S16LE), mulaw and alaw with the rate and channel count from the query.
 * Everything becomes interleaved S16.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dgemu {

struct PcmAudio {
  int sample_rate = 0;
  int channels = 0;
  std::vector<int16_t> samples; /* interleaved */

  size_t frames() const { return channels ? samples.size() / channels : 0; }
  double seconds() const { return sample_rate ? double(frames()) / sample_rate : 0.0; }
};

/* True when data starts like a RIFF/WAVE file. */
bool looks_like_wav(const uint8_t *data, size_t len);

/* Header facts of a WAV file; data_offset is where samples start. */
struct WavHeader {
  int format = 0; /* 1 PCM, 3 float */
  int channels = 0;
  int sample_rate = 0;
  int bits = 0;
  size_t data_offset = 0;
  size_t data_size = 0; /* SIZE_MAX when unknown (streamed) */
};

/* Parses the header. Returns 0 on success, -1 when more bytes are needed
 * (len too short to tell), 1 when corrupt or unsupported (*error set). */
int parse_wav_header(const uint8_t *data, size_t len, WavHeader *out, std::string *error);

/* Converts sample bytes of a parsed header's format to S16, appending to out.
 * Returns the number of bytes consumed (whole frames only). */
size_t convert_wav_samples(const WavHeader &h, const uint8_t *data, size_t len,
                           std::vector<int16_t> *out);

/* Decodes a whole WAV body. */
bool decode_wav(const uint8_t *data, size_t len, PcmAudio *out, std::string *error);

/* Decodes raw audio of the given Deepgram encoding. */
bool decode_raw(const std::string &encoding, int sample_rate, int channels, const uint8_t *data,
                size_t len, PcmAudio *out, std::string *error);

/* Raw encodings the emulator can decode. */
bool raw_encoding_supported(const std::string &encoding);

/* Bytes per interleaved frame of a raw encoding (0 when unsupported). */
size_t raw_frame_bytes(const std::string &encoding, int channels);

} // namespace dgemu
