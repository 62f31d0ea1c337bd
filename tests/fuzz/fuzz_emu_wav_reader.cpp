/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: dg-emulator's audio body decoding (emulator/wav_reader.h),
 * as POST /v1/listen bodies and live binary frames reach it.
 *
 * The first byte picks a raw encoding and a split point; the rest is the
 * body. Invariants: a parsed header lies inside the body and describes a
 * format the reader supports; decode_wav yields whole frames, never more
 * samples than the body holds; feeding the data in two pieces (as the live
 * session does, keeping the partial frame) converts to the same samples as
 * one piece; decode_raw yields exactly one sample per whole-frame sample.
 */
#include "fuzz_common.h"
#include "wav_reader.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  fuzz::FuzzInput in(data, size);
  uint8_t mode = in.u8();
  uint8_t split = in.u8();
  const uint8_t *body = in.data();
  size_t len = in.remaining();

  dgemu::WavHeader h;
  std::string error;
  int r = dgemu::parse_wav_header(body, len, &h, &error);
  FUZZ_CHECK(r == -1 || r == 0 || r == 1);
  if (r == 1)
    FUZZ_CHECK(!error.empty());
  if (len >= 12)
    FUZZ_CHECK(dgemu::looks_like_wav(body, len) || r == 1);
  if (r == 0) {
    FUZZ_CHECK(dgemu::looks_like_wav(body, len));
    FUZZ_CHECK(h.data_offset >= 20 && h.data_offset <= len);
    FUZZ_CHECK(h.format == 1 || h.format == 3);
    FUZZ_CHECK(h.bits == 8 || h.bits == 16 || h.bits == 24 || h.bits == 32);
    FUZZ_CHECK(h.format == 1 || h.bits == 32);
    FUZZ_CHECK(h.channels >= 1 && h.channels <= 64);
    FUZZ_CHECK(h.sample_rate >= 1000 && h.sample_rate <= 384000);

    dgemu::PcmAudio audio;
    FUZZ_CHECK(dgemu::decode_wav(body, len, &audio, &error));
    FUZZ_CHECK(audio.channels == h.channels && audio.sample_rate == h.sample_rate);
    size_t bps = static_cast<size_t>(h.bits / 8);
    size_t avail = len - h.data_offset;
    size_t data = h.data_size < avail ? h.data_size : avail;
    FUZZ_CHECK(audio.samples.size() % static_cast<size_t>(h.channels) == 0);
    FUZZ_CHECK(audio.samples.size() == data / (bps * h.channels) * h.channels);

    /* Streamed in two pieces, carrying the partial frame over. */
    const uint8_t *samples = body + h.data_offset;
    size_t cut = data ? split % (data + 1) : 0;
    std::vector<int16_t> streamed;
    std::vector<uint8_t> carry(samples, samples + cut);
    size_t used = dgemu::convert_wav_samples(h, carry.data(), carry.size(), &streamed);
    FUZZ_CHECK(used <= carry.size() && used % (bps * h.channels) == 0);
    carry.erase(carry.begin(), carry.begin() + static_cast<long>(used));
    carry.insert(carry.end(), samples + cut, samples + data);
    dgemu::convert_wav_samples(h, carry.data(), carry.size(), &streamed);
    FUZZ_CHECK(streamed == audio.samples);
  } else {
    dgemu::PcmAudio audio;
    FUZZ_CHECK(!dgemu::decode_wav(body, len, &audio, &error));
    FUZZ_CHECK(!error.empty());
  }

  /* Raw audio with the query's encoding, rate and channels. */
  static const char *const encodings[] = {"linear16", "mulaw", "alaw", "opus", ""};
  std::string encoding = encodings[mode % 5];
  int channels = 1 + (mode >> 3) % 8;
  int rate = mode & 0x80 ? 8000 : 16000;
  dgemu::PcmAudio raw;
  bool ok = dgemu::decode_raw(encoding, rate, channels, body, len, &raw, &error);
  FUZZ_CHECK(ok == dgemu::raw_encoding_supported(encoding));
  if (ok) {
    size_t frame = dgemu::raw_frame_bytes(encoding, channels);
    FUZZ_CHECK(raw.samples.size() == len / frame * channels);
    FUZZ_CHECK(raw.frames() * frame <= len);
  }
  return 0;
}
