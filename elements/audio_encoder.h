/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw S16LE in, one containerized stream out: FLAC (flacenc) or Ogg Opus
 * (opusenc ! oggmux), with GStreamer's own encoders, driven synchronously
 * from the caller's thread.
 *
 * One AudioEncoder is one stream: its first bytes are the container's
 * headers (fLaC / OggS), push() returns what the encoder let out so far, and
 * finish() drains it (EOS to the encoder: the last partial FLAC block or
 * Opus frame and the final Ogg page), so no tail is lost. A new stream (a new
 * WebSocket connection, the next pre-recorded chunk) takes a new encoder.
 *
 * The decoded audio has exactly the samples pushed (FLAC bit-exact; Opus
 * with its pre-skip and end trim in the Ogg granule positions), so times
 * counted in PCM stay exact on the server's side.
 *
 * Not thread-safe: one thread drives an encoder (the sinks' network thread).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audio_encoding.h"

namespace dgf {

class AudioEncoder {
public:
  /* A stream for `encoding` (Flac or Opus) of interleaved S16LE at `rate`
   * and `channels`; `bitrate` as the property (0: the default). nullptr with
   * *error set when it cannot be built: an element missing (naming the
   * Debian package) or a format the encoder refuses. */
  static std::unique_ptr<AudioEncoder> create(AudioEncoding encoding, uint32_t rate,
                                              uint32_t channels, uint32_t bitrate,
                                              std::string *error);

  /* Empty when `encoding` can be used here; otherwise what is missing and
   * the Debian package that has it. Cheap: checks the registry. */
  static std::string check_available(AudioEncoding encoding);

  /* What goes on the wire for a requested encoding: itself, or for Auto
   * flac (linear16 when flacenc is missing; `note` says so). `can_step_down`:
   * Auto resolved to flac and opus is installed, so a live sink may step
   * down to opus on a slow link. */
  static AudioEncoding resolve(AudioEncoding requested, bool *can_step_down, std::string *note);

  virtual ~AudioEncoder() = default;

  /* Encodes `bytes` of whole frames; appends the encoded bytes that came out
   * to `out`. False (with error()) when the encoder failed; the stream is
   * unusable then. */
  virtual bool push(const uint8_t *pcm, size_t bytes, std::vector<uint8_t> &out) = 0;

  /* EOS: appends everything still inside. Nothing may be pushed after. */
  virtual bool finish(std::vector<uint8_t> &out) = 0;

  virtual const std::string &error() const = 0;

  /* How much of the pushed audio (ns from the stream's start) the bytes out
   * so far carry: the encoder holds the rest (up to a FLAC block or an Ogg
   * page) until more audio or finish(). */
  virtual uint64_t audio_out() const = 0;
};

} // namespace dgf
