/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "compressed_audio.h"

#include <FLAC/stream_decoder.h>
#include <ogg/ogg.h>
#include <opus/opus_multistream.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dgemu {

namespace {

constexpr int kOpusRate = 48000;
constexpr int kOpusMaxFrame = 5760;             /* 120 ms at 48 kHz */
constexpr size_t kFlacMaxMetadata = 16 << 20;   /* album art included */
constexpr size_t kFlacMaxFrameBytes = 4u << 20; /* > 65535 samples x 8 ch x 32 bit */

int16_t clamp16(long v) {
  return static_cast<int16_t>(std::min(32767L, std::max(-32768L, v)));
}

/* ---- Ogg Opus (RFC 7845) ---- */

class OggOpusDecoder : public CompressedDecoder {
public:
  OggOpusDecoder() { ogg_sync_init(&sync_); }
  ~OggOpusDecoder() override {
    reset_link();
    ogg_sync_clear(&sync_);
  }

  bool push(const uint8_t *data, size_t len, std::vector<int16_t> *out) override {
    if (!error_.empty())
      return false;
    if (len > 0) {
      char *b = ogg_sync_buffer(&sync_, static_cast<long>(len));
      if (!b)
        return fail("Ogg: out of memory");
      memcpy(b, data, len);
      ogg_sync_wrote(&sync_, static_cast<long>(len));
    }
    for (;;) {
      ogg_page og;
      int r = ogg_sync_pageout(&sync_, &og);
      if (r == 0)
        return pending_page_plausible()
                   ? true
                   : fail("Ogg: bytes that are not a valid page (corrupt data or lost sync)");
      if (r < 0)
        return fail("Ogg: bytes that are not a valid page (corrupt data or lost sync)");
      if (!page(og, out))
        return false;
    }
  }

  bool finish(std::vector<int16_t> *out) override {
    if (!push(nullptr, 0, out))
      return false;
    /* Bytes short of a whole page are a cut stream: dropped. */
    if (!linked_ && !other_codec_.empty())
      return fail("Ogg stream holds " + other_codec_ + ", not Opus");
    return true;
  }

private:
  /* libogg waits for a whole page before it checks one; a page header that
   * cannot be valid (version, flags) is refused at once, so a corrupt stream
   * is not mistaken for a slow one. */
  bool pending_page_plausible() const {
    long left = sync_.fill - sync_.returned;
    const unsigned char *p = sync_.data + sync_.returned;
    if (left < 6)
      return true;
    return memcmp(p, "OggS", 4) == 0 && p[4] == 0 && (p[5] & ~0x07) == 0;
  }

  static std::string codec_of(const ogg_page &og) {
    auto starts = [&](const char *magic, size_t n) {
      return static_cast<size_t>(og.body_len) >= n && memcmp(og.body, magic, n) == 0;
    };
    if (starts("OpusHead", 8))
      return "Opus";
    if (starts("\x01vorbis", 7))
      return "Vorbis";
    if (starts("\x7F"
               "FLAC",
               5))
      return "FLAC";
    if (starts("Speex   ", 8))
      return "Speex";
    return "an unknown codec";
  }

  void reset_link() {
    if (linked_)
      ogg_stream_clear(&stream_);
    linked_ = false;
    if (dec_)
      opus_multistream_decoder_destroy(dec_);
    dec_ = nullptr;
    tags_seen_ = false;
    decoded_ = 0;
    preskip_left_ = 0;
  }

  bool page(ogg_page &og, std::vector<int16_t> *out) {
    int serial = ogg_page_serialno(&og);
    if (ogg_page_bos(&og)) {
      bool opus = codec_of(og) == "Opus";
      if (linked_ && !data_seen_)
        return true; /* grouped with our stream (e.g. a skeleton): ignored */
      if (!linked_ && !data_seen_ && !opus) {
        other_codec_ = codec_of(og);
        return true;
      }
      if (!opus)
        return fail("chained Ogg stream holds " + codec_of(og) + ", not Opus");
      /* Our first stream, or the next link of a chain. */
      reset_link();
      ogg_stream_init(&stream_, serial);
      linked_ = true;
      serial_ = serial;
    } else {
      data_seen_ = true;
      if (!linked_)
        return fail("Ogg stream holds " +
                    (other_codec_.empty() ? "no codec header" : other_codec_) + ", not Opus");
      if (serial != serial_)
        return true; /* another logical stream */
    }
    if (ogg_stream_pagein(&stream_, &og) != 0)
      return fail("Ogg: page does not belong to the stream");
    for (;;) {
      ogg_packet op;
      int r = ogg_stream_packetout(&stream_, &op);
      if (r == 0)
        return true;
      if (r < 0)
        return fail("Ogg: pages missing from the stream");
      if (!packet(op, out))
        return false;
    }
  }

  bool head(const ogg_packet &op) {
    const uint8_t *p = op.packet;
    long n = op.bytes;
    if (n < 19 || memcmp(p, "OpusHead", 8) != 0)
      return fail("Opus: bad OpusHead");
    if ((p[8] >> 4) != 0)
      return fail("Opus: unsupported OpusHead version");
    int channels = p[9];
    preskip_left_ = p[10] | (p[11] << 8);
    int16_t gain_q8 = static_cast<int16_t>(p[16] | (p[17] << 8));
    gain_ = static_cast<float>(std::pow(10.0, gain_q8 / (20.0 * 256.0)));
    int family = p[18];
    int streams = 1, coupled = channels - 1;
    unsigned char mapping[255] = {0, 1};
    if (family == 0) {
      if (channels < 1 || channels > 2)
        return fail("Opus: channel mapping family 0 with " + std::to_string(channels) +
                    " channels");
    } else if (family == 1) {
      if (channels < 1 || channels > 8 || n < 21 + channels)
        return fail("Opus: bad channel mapping table");
      streams = p[19];
      coupled = p[20];
      if (streams < 1 || coupled > streams || streams + coupled > 255)
        return fail("Opus: bad stream counts");
      memcpy(mapping, p + 21, static_cast<size_t>(channels));
    } else {
      return fail("Opus: unsupported channel mapping family " + std::to_string(family));
    }
    if (channels_ && channels != channels_)
      return fail("Opus: chained stream changes the channel count");
    int err = 0;
    dec_ = opus_multistream_decoder_create(kOpusRate, channels, streams, coupled, mapping, &err);
    if (!dec_ || err != OPUS_OK)
      return fail(std::string("Opus: ") + opus_strerror(err));
    channels_ = channels;
    rate_ = kOpusRate;
    pcm_.assign(static_cast<size_t>(kOpusMaxFrame) * static_cast<size_t>(channels), 0.0f);
    return true;
  }

  bool packet(const ogg_packet &op, std::vector<int16_t> *out) {
    if (!dec_)
      return head(op);
    if (!tags_seen_) {
      if (op.bytes < 8 || memcmp(op.packet, "OpusTags", 8) != 0)
        return fail("Opus: OpusTags missing");
      tags_seen_ = true;
      return true;
    }
    int n = opus_multistream_decode_float(dec_, op.packet, static_cast<opus_int32>(op.bytes),
                                          pcm_.data(), kOpusMaxFrame, 0);
    if (n < 0)
      return fail(std::string("Opus: ") + opus_strerror(n));
    long long before = decoded_;
    decoded_ += n;
    int begin = std::min(n, preskip_left_);
    preskip_left_ -= begin;
    int end = n;
    /* The last page's granule position is where the audio ends. */
    if (op.e_o_s && op.granulepos >= 0)
      end = static_cast<int>(
          std::max<long long>(begin, std::min<long long>(n, op.granulepos - before)));
    if (out)
      for (size_t i = static_cast<size_t>(begin) * channels_;
           i < static_cast<size_t>(end) * channels_; i++)
        out->push_back(clamp16(std::lrint(pcm_[i] * gain_ * 32768.0f)));
    return true;
  }

  ogg_sync_state sync_;
  ogg_stream_state stream_;
  bool linked_ = false;    /* stream_ follows an Opus stream */
  bool data_seen_ = false; /* a page that is not a BOS page has come */
  int serial_ = 0;
  std::string other_codec_;
  OpusMSDecoder *dec_ = nullptr;
  bool tags_seen_ = false;
  int preskip_left_ = 0;
  long long decoded_ = 0; /* samples of this link decoded, pre-skip included */
  float gain_ = 1.0f;
  std::vector<float> pcm_;
};

/* ---- FLAC ----
 *
 * libFLAC pulls bytes through a read callback and cannot wait for more, so a
 * frame is decoded only once it has arrived whole: the read callback aborts
 * when it runs out of bytes, and the decoder is flushed and rewound to the
 * frame's start (FLAC frames are independent; libFLAC emits a frame only
 * after its CRC checks). Metadata is handed over only once complete. Any
 * error libFLAC reports (lost sync, bad header, CRC mismatch) is fatal:
 * libFLAC itself would skip to the next frame and lose audio silently. */

class FlacDecoder : public CompressedDecoder {
public:
  ~FlacDecoder() override {
    if (dec_)
      FLAC__stream_decoder_delete(dec_);
  }

  bool push(const uint8_t *data, size_t len, std::vector<int16_t> *out) override {
    if (!error_.empty())
      return false;
    buf_.insert(buf_.end(), data, data + len);
    out_ = out;
    bool ok = run();
    out_ = nullptr;
    return ok;
  }

  bool finish(std::vector<int16_t> *out) override {
    if (!error_.empty())
      return false;
    finishing_ = true;
    return push(nullptr, 0, out);
  }

private:
  uint64_t end() const { return base_ + buf_.size(); }

  /* -1: more bytes needed, 0: all metadata is here (ends at *size), 1: bad. */
  int metadata_size(size_t *size) {
    if (buf_.size() < 4)
      return -1;
    if (memcmp(buf_.data(), "fLaC", 4) != 0) {
      fail("FLAC: no fLaC marker");
      return 1;
    }
    size_t pos = 4;
    for (int block = 0;; block++) {
      if (buf_.size() < pos + 4)
        return -1;
      int type = buf_[pos] & 0x7F;
      bool last = buf_[pos] & 0x80;
      size_t blen = (size_t(buf_[pos + 1]) << 16) | (size_t(buf_[pos + 2]) << 8) | buf_[pos + 3];
      if (block == 0 && (type != 0 || blen != 34)) {
        fail("FLAC: STREAMINFO missing");
        return 1;
      }
      if (type == 127) {
        fail("FLAC: invalid metadata block");
        return 1;
      }
      pos += 4 + blen;
      if (pos > kFlacMaxMetadata) {
        fail("FLAC: metadata too large");
        return 1;
      }
      if (last)
        break;
    }
    if (buf_.size() < pos)
      return -1;
    *size = pos;
    return 0;
  }

  bool start_decoder() {
    dec_ = FLAC__stream_decoder_new();
    if (!dec_)
      return fail("FLAC: out of memory");
    if (FLAC__stream_decoder_init_stream(dec_, read_cb, nullptr, tell_cb, nullptr, nullptr,
                                         write_cb, metadata_cb, error_cb,
                                         this) != FLAC__STREAM_DECODER_INIT_STATUS_OK)
      return fail("FLAC: decoder init failed");
    if (!FLAC__stream_decoder_process_until_end_of_metadata(dec_) || !error_.empty())
      return fail(error_.empty() ? "FLAC: bad metadata" : error_);
    if (!rate_)
      return fail("FLAC: STREAMINFO missing");
    return true;
  }

  bool run() {
    if (!dec_) {
      size_t size = 0;
      int r = metadata_size(&size);
      if (r > 0)
        return false;
      if (r < 0)
        return true; /* wait (at the end: a cut stream, no audio) */
      if (!start_decoder())
        return false;
    }
    for (;;) {
      uint64_t pos0 = 0;
      if (!FLAC__stream_decoder_get_decode_position(dec_, &pos0))
        return fail("FLAC: decoder lost its position");
      if (pos0 >= end() && !finishing_)
        return true;
      bool ok = FLAC__stream_decoder_process_single(dec_);
      if (!error_.empty())
        return false;
      FLAC__StreamDecoderState state = FLAC__stream_decoder_get_state(dec_);
      if (state == FLAC__STREAM_DECODER_ABORTED) {
        /* Out of bytes inside a frame: rewind to its start, wait. */
        if (end() - pos0 > kFlacMaxFrameBytes)
          return fail("FLAC: frame larger than any valid frame");
        if (!FLAC__stream_decoder_flush(dec_))
          return fail("FLAC: out of memory");
        cursor_ = pos0;
        return true;
      }
      if (state == FLAC__STREAM_DECODER_END_OF_STREAM)
        return true; /* finishing: a cut frame at the end is dropped */
      if (!ok)
        return fail(std::string("FLAC: ") + FLAC__StreamDecoderStateString[state]);
      uint64_t pos = 0;
      if (!FLAC__stream_decoder_get_decode_position(dec_, &pos))
        return fail("FLAC: decoder lost its position");
      if (pos <= pos0)
        return true; /* no progress: nothing more to decode now */
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(pos - base_));
      base_ = pos;
    }
  }

  static FLAC__StreamDecoderReadStatus read_cb(const FLAC__StreamDecoder *, FLAC__byte buffer[],
                                               size_t *bytes, void *data) {
    auto *self = static_cast<FlacDecoder *>(data);
    if (!self->error_.empty()) {
      *bytes = 0;
      return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    }
    size_t avail = static_cast<size_t>(self->end() - self->cursor_);
    if (avail == 0) {
      *bytes = 0;
      return self->finishing_ ? FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM
                              : FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    }
    size_t n = std::min(avail, *bytes);
    memcpy(buffer, self->buf_.data() + (self->cursor_ - self->base_), n);
    self->cursor_ += n;
    *bytes = n;
    return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
  }

  static FLAC__StreamDecoderTellStatus tell_cb(const FLAC__StreamDecoder *, FLAC__uint64 *offset,
                                               void *data) {
    *offset = static_cast<FlacDecoder *>(data)->cursor_;
    return FLAC__STREAM_DECODER_TELL_STATUS_OK;
  }

  static FLAC__StreamDecoderWriteStatus write_cb(const FLAC__StreamDecoder *,
                                                 const FLAC__Frame *frame,
                                                 const FLAC__int32 *const buffer[], void *data) {
    auto *self = static_cast<FlacDecoder *>(data);
    if (!self->error_.empty())
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    const FLAC__FrameHeader &h = frame->header;
    if (static_cast<int>(h.channels) != self->channels_ ||
        static_cast<int>(h.sample_rate) != self->rate_) {
      self->fail("FLAC: a frame changes the rate or channel count");
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    int shift = static_cast<int>(h.bits_per_sample) - 16;
    if (self->out_) {
      self->out_->reserve(self->out_->size() + h.blocksize * h.channels);
      for (unsigned i = 0; i < h.blocksize; i++)
        for (unsigned c = 0; c < h.channels; c++) {
          long v = buffer[c][i];
          self->out_->push_back(clamp16(shift >= 0 ? v >> shift : v * (1L << -shift)));
        }
    }
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
  }

  static void metadata_cb(const FLAC__StreamDecoder *, const FLAC__StreamMetadata *md, void *data) {
    auto *self = static_cast<FlacDecoder *>(data);
    if (md->type != FLAC__METADATA_TYPE_STREAMINFO)
      return;
    const auto &si = md->data.stream_info;
    if (si.sample_rate < 1000 || si.sample_rate > 384000) {
      self->fail("FLAC: unsupported sample rate " + std::to_string(si.sample_rate));
      return;
    }
    self->rate_ = static_cast<int>(si.sample_rate);
    self->channels_ = static_cast<int>(si.channels); /* libFLAC allows 1 to 8 */
  }

  static void error_cb(const FLAC__StreamDecoder *, FLAC__StreamDecoderErrorStatus status,
                       void *data) {
    static_cast<FlacDecoder *>(data)->fail(std::string("FLAC: ") +
                                           FLAC__StreamDecoderErrorStatusString[status]);
  }

  FLAC__StreamDecoder *dec_ = nullptr;
  std::vector<uint8_t> buf_; /* stream bytes from offset base_ on */
  uint64_t base_ = 0;
  uint64_t cursor_ = 0; /* next stream offset to hand to libFLAC */
  bool finishing_ = false;
  std::vector<int16_t> *out_ = nullptr;
};

} // namespace

AudioContainer sniff_container(const uint8_t *data, size_t len) {
  if (len < 4)
    return AudioContainer::unknown;
  if (memcmp(data, "RIFF", 4) == 0)
    return AudioContainer::wav;
  if (memcmp(data, "OggS", 4) == 0)
    return AudioContainer::ogg;
  if (memcmp(data, "fLaC", 4) == 0)
    return AudioContainer::flac;
  return AudioContainer::unknown;
}

AudioContainer container_for_encoding(const std::string &encoding) {
  if (encoding == "flac")
    return AudioContainer::flac;
  if (encoding == "opus" || encoding == "ogg-opus")
    return AudioContainer::ogg;
  return AudioContainer::unknown;
}

bool encoding_supported(const std::string &encoding) {
  return raw_encoding_supported(encoding) ||
         container_for_encoding(encoding) != AudioContainer::unknown;
}

std::string unsupported_encoding_message(const std::string &encoding) {
  return "dg-emulator decodes linear16, mulaw, alaw, flac, opus and ogg-opus only, not '" +
         encoding + "'";
}

const char *container_name(AudioContainer c) {
  switch (c) {
  case AudioContainer::wav:
    return "wav";
  case AudioContainer::ogg:
    return "ogg";
  case AudioContainer::flac:
    return "flac";
  default:
    return "unknown";
  }
}

std::unique_ptr<CompressedDecoder> make_compressed_decoder(AudioContainer c) {
  if (c == AudioContainer::ogg)
    return std::make_unique<OggOpusDecoder>();
  if (c == AudioContainer::flac)
    return std::make_unique<FlacDecoder>();
  return nullptr;
}

bool decode_compressed(AudioContainer c, const uint8_t *data, size_t len, PcmAudio *out,
                       std::string *error) {
  auto dec = make_compressed_decoder(c);
  if (!dec) {
    *error = "not an Ogg or FLAC stream";
    return false;
  }
  out->samples.clear();
  if (!dec->push(data, len, &out->samples) || !dec->finish(&out->samples)) {
    *error = dec->error();
    return false;
  }
  out->sample_rate = dec->sample_rate();
  out->channels = dec->channels();
  if (out->frames() == 0) {
    *error = "no audio in the stream";
    return false;
  }
  return true;
}

} // namespace dgemu
