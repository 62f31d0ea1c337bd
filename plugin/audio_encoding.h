/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How the sinks put audio on the wire (the `encoding` property), in
 * Deepgram's names: raw linear16, or a containerized stream (FLAC, Ogg Opus)
 * that says its own rate and channels, so the request carries neither
 * `encoding` nor `sample_rate`. Plain C++: the element glue maps it to a
 * GEnum and elements/audio_encoder.h does the encoding. */
#pragma once

#include <cstdint>

namespace dgf {

enum class AudioEncoding : int {
  Linear16 = 0, /* raw S16LE (a WAV file for pre-recorded uploads) */
  Flac = 1,     /* native FLAC stream, lossless */
  Opus = 2,     /* Opus in Ogg, lossy, at `bitrate` */
  /* Not on the wire: the elements resolve it at start to Flac (Linear16
   * without flacenc), and the live sink steps down once to Opus when the
   * link cannot carry FLAC in real time. */
  Auto = 3,
};

/* The `bitrate` property (bit/s, opusenc's unit): 0 picks kDefaultOpusBitrate;
 * otherwise opusenc's range. FLAC and linear16 ignore it. */
constexpr uint32_t kDefaultOpusBitrate = 32000;
constexpr uint32_t kMinOpusBitrate = 4000;
constexpr uint32_t kMaxOpusBitrate = 650000;

inline uint32_t effective_opus_bitrate(uint32_t bitrate) {
  return bitrate == 0 ? kDefaultOpusBitrate : bitrate;
}

/* Deepgram's name, also the GEnum nick. */
inline const char *encoding_name(AudioEncoding e) {
  switch (e) {
  case AudioEncoding::Flac:
    return "flac";
  case AudioEncoding::Opus:
    return "opus";
  case AudioEncoding::Auto:
    return "auto";
  case AudioEncoding::Linear16:
    break;
  }
  return "linear16";
}

/* Content-Type of a pre-recorded upload. */
inline const char *encoding_content_type(AudioEncoding e) {
  switch (e) {
  case AudioEncoding::Flac:
    return "audio/flac";
  case AudioEncoding::Opus:
    return "audio/ogg";
  case AudioEncoding::Auto: /* resolved before any upload */
  case AudioEncoding::Linear16:
    break;
  }
  return "audio/wav";
}

/* Raw PCM on the wire: the live request must say encoding and sample_rate. */
inline bool encoding_is_raw(AudioEncoding e) {
  return e == AudioEncoding::Linear16;
}

} // namespace dgf
