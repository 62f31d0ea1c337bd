/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: containerized compressed audio, decoded incrementally.
 *
 * Deepgram takes containerized audio without an `encoding` (it reads the
 * container), so the emulator recognises the container from the first bytes
 * of a stream or body: "RIFF" WAV (wav_reader.h), "OggS" Ogg Opus, "fLaC"
 * native FLAC. This file decodes the last two.
 *
 * Decoders: libogg + libopus and libFLAC's stream decoder, called directly
 * rather than through a GStreamer pipeline inside the emulator: bytes in,
 * samples out on the caller's thread, deterministic, no threads or bus to
 * drain, and exact control of Opus pre-skip and end trimming.
 *
 * A decoder takes bytes in pieces of any size (half a page, several frames)
 * and hands out interleaved S16 samples as soon as a whole Ogg page or FLAC
 * frame has arrived. Opus decodes at 48 kHz with the pre-skip removed and
 * the last page's end trimming applied, so sample n of the output is the
 * encoder's input at n / 48000 s. FLAC keeps its own rate; 8- and 24/32-bit
 * samples are scaled to 16 bits. Errors are values: push()/finish() return
 * false and error() says why; a decoder that failed stays failed.
 */
#pragma once

#include "wav_reader.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dgemu {

enum class AudioContainer { unknown, wav, ogg, flac };

/* Needs 4 bytes; fewer give unknown. */
AudioContainer sniff_container(const uint8_t *data, size_t len);

/* The container a Deepgram `encoding` names for containerized audio:
 * "flac" -> flac, "opus" and "ogg-opus" -> ogg (Ogg Opus), else unknown. */
AudioContainer container_for_encoding(const std::string &encoding);

/* Every `encoding` the emulator decodes, raw or containerized, and the
 * refusal text for one it does not. */
bool encoding_supported(const std::string &encoding);
std::string unsupported_encoding_message(const std::string &encoding);

/* "wav", "ogg", "flac" or "unknown". */
const char *container_name(AudioContainer c);

class CompressedDecoder {
public:
  virtual ~CompressedDecoder() = default;

  /* Takes the next bytes of the stream; appends the samples they complete
   * (interleaved S16) to *out. False once the stream is corrupt or
   * unsupported. */
  virtual bool push(const uint8_t *data, size_t len, std::vector<int16_t> *out) = 0;

  /* End of the stream: decodes what is left. A stream cut inside a page or
   * frame is not an error (that piece is dropped); corrupt data is. */
  virtual bool finish(std::vector<int16_t> *out) = 0;

  /* 0 until the stream's headers have been read. */
  int sample_rate() const { return rate_; }
  int channels() const { return channels_; }
  const std::string &error() const { return error_; }

protected:
  bool fail(const std::string &why) {
    if (error_.empty())
      error_ = why;
    return false;
  }
  int rate_ = 0;
  int channels_ = 0;
  std::string error_;
};

/* A decoder for an ogg (Opus) or flac stream; nullptr for other containers. */
std::unique_ptr<CompressedDecoder> make_compressed_decoder(AudioContainer c);

/* Decodes a whole Ogg Opus or FLAC body. False with *error set when the data
 * is corrupt or unsupported or holds no audio. */
bool decode_compressed(AudioContainer c, const uint8_t *data, size_t len, PcmAudio *out,
                       std::string *error);

} // namespace dgemu
