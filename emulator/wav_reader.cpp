/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "wav_reader.h"

#include <cstring>
#include <limits>

namespace dgemu {

namespace {

uint16_t rd16(const uint8_t *p) {
  return uint16_t(p[0] | (p[1] << 8));
}
uint32_t rd32(const uint8_t *p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

/* A float sample (nominally -1..1) to S16. Clamped in float first: converting
 * an out-of-range float (or NaN, or inf) to an integer is undefined. */
int16_t float_to_s16(float f) {
  float v = f * 32768.0f;
  if (!(v > -32768.0f)) /* also NaN */
    return v < 0 ? -32768 : 0;
  if (v >= 32767.0f)
    return 32767;
  return static_cast<int16_t>(v);
}

int16_t ulaw_to_s16(uint8_t u) {
  u = static_cast<uint8_t>(~u);
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<int16_t>((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

int16_t alaw_to_s16(uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0f) << 4;
  int seg = (a & 0x70) >> 4;
  switch (seg) {
  case 0:
    t += 8;
    break;
  case 1:
    t += 0x108;
    break;
  default:
    t += 0x108;
    t <<= seg - 1;
  }
  return static_cast<int16_t>((a & 0x80) ? t : -t);
}

const uint8_t kPcmGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                  0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};

} // namespace

bool looks_like_wav(const uint8_t *data, size_t len) {
  return len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WAVE", 4) == 0;
}

int parse_wav_header(const uint8_t *data, size_t len, WavHeader *out, std::string *error) {
  if (len < 12)
    return len >= 4 && memcmp(data, "RIFF", 4) != 0 ? (*error = "not a RIFF file", 1) : -1;
  if (!looks_like_wav(data, len)) {
    *error = "not a RIFF/WAVE file";
    return 1;
  }
  size_t pos = 12;
  bool have_fmt = false;
  WavHeader h;
  while (true) {
    if (pos + 8 > len)
      return -1;
    const uint8_t *ck = data + pos;
    uint32_t size = rd32(ck + 4);
    if (memcmp(ck, "fmt ", 4) == 0) {
      if (size < 16) {
        *error = "fmt chunk too short";
        return 1;
      }
      if (pos + 8 + size > len)
        return -1;
      const uint8_t *f = ck + 8;
      int tag = rd16(f);
      h.channels = rd16(f + 2);
      h.sample_rate = static_cast<int>(rd32(f + 4));
      h.bits = rd16(f + 14);
      if (tag == 0xFFFE) {
        if (size < 40) {
          *error = "WAVE_FORMAT_EXTENSIBLE fmt chunk too short";
          return 1;
        }
        tag = rd16(f + 24);
        if (memcmp(f + 26, kPcmGuidTail, 14) != 0) {
          *error = "unsupported WAVE_FORMAT_EXTENSIBLE subformat";
          return 1;
        }
      }
      if (!(tag == 1 && (h.bits == 8 || h.bits == 16 || h.bits == 24 || h.bits == 32)) &&
          !(tag == 3 && h.bits == 32)) {
        *error = "unsupported WAV sample format";
        return 1;
      }
      if (h.channels < 1 || h.channels > 64 || h.sample_rate < 1000 || h.sample_rate > 384000) {
        *error = "invalid WAV channel count or sample rate";
        return 1;
      }
      h.format = tag;
      have_fmt = true;
    } else if (memcmp(ck, "data", 4) == 0) {
      if (!have_fmt) {
        *error = "data chunk before fmt chunk";
        return 1;
      }
      h.data_offset = pos + 8;
      h.data_size = (size == 0 || size == 0xFFFFFFFFu) ? std::numeric_limits<size_t>::max()
                                                       : static_cast<size_t>(size);
      *out = h;
      return 0;
    }
    /* In size_t: 8 + size + 1 in 32 bits wraps to 0 for size 0xFFFFFFF7, and the
     * loop would read the same chunk for ever. */
    pos += 8 + static_cast<size_t>(size) + (size & 1);
    if (size == 0xFFFFFFFFu || pos > (size_t(1) << 40)) {
      *error = "corrupt RIFF chunk size";
      return 1;
    }
  }
}

size_t convert_wav_samples(const WavHeader &h, const uint8_t *data, size_t len,
                           std::vector<int16_t> *out) {
  size_t bps = static_cast<size_t>(h.bits / 8);
  size_t frame = bps * static_cast<size_t>(h.channels);
  size_t n = (len / frame) * frame;
  out->reserve(out->size() + n / bps);
  for (size_t i = 0; i < n; i += bps) {
    const uint8_t *p = data + i;
    int16_t s = 0;
    if (h.format == 3) {
      float f;
      uint32_t bits = rd32(p);
      memcpy(&f, &bits, 4);
      s = float_to_s16(f);
    } else if (h.bits == 8) {
      s = static_cast<int16_t>((int(p[0]) - 128) * 256); /* << of a negative is UB */
    } else if (h.bits == 16) {
      s = static_cast<int16_t>(rd16(p));
    } else if (h.bits == 24) {
      s = static_cast<int16_t>(p[1] | (p[2] << 8));
    } else {
      s = static_cast<int16_t>(p[2] | (p[3] << 8));
    }
    out->push_back(s);
  }
  return n;
}

bool decode_wav(const uint8_t *data, size_t len, PcmAudio *out, std::string *error) {
  WavHeader h;
  int r = parse_wav_header(data, len, &h, error);
  if (r < 0) {
    *error = "truncated WAV header";
    return false;
  }
  if (r > 0)
    return false;
  size_t avail = len - h.data_offset;
  size_t size = h.data_size < avail ? h.data_size : avail;
  out->sample_rate = h.sample_rate;
  out->channels = h.channels;
  out->samples.clear();
  convert_wav_samples(h, data + h.data_offset, size, &out->samples);
  return true;
}

bool raw_encoding_supported(const std::string &encoding) {
  return encoding == "linear16" || encoding == "mulaw" || encoding == "alaw";
}

size_t raw_frame_bytes(const std::string &encoding, int channels) {
  if (encoding == "linear16")
    return 2 * static_cast<size_t>(channels);
  if (encoding == "mulaw" || encoding == "alaw")
    return static_cast<size_t>(channels);
  return 0;
}

bool decode_raw(const std::string &encoding, int sample_rate, int channels, const uint8_t *data,
                size_t len, PcmAudio *out, std::string *error) {
  if (!raw_encoding_supported(encoding)) {
    *error = "unsupported encoding '" + encoding + "'";
    return false;
  }
  if (sample_rate <= 0 || channels <= 0) {
    *error = "sample_rate is required with encoding";
    return false;
  }
  out->sample_rate = sample_rate;
  out->channels = channels;
  out->samples.clear();
  size_t frame = raw_frame_bytes(encoding, channels);
  size_t n = (len / frame) * frame;
  if (encoding == "linear16") {
    out->samples.resize(n / 2);
    for (size_t i = 0; i < n / 2; i++)
      out->samples[i] = static_cast<int16_t>(rd16(data + 2 * i));
  } else {
    out->samples.resize(n);
    for (size_t i = 0; i < n; i++)
      out->samples[i] = encoding == "mulaw" ? ulaw_to_s16(data[i]) : alaw_to_s16(data[i]);
  }
  return true;
}

} // namespace dgemu
