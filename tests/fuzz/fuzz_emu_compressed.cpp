/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: dg-emulator's Ogg Opus and FLAC decoders
 * (emulator/compressed_audio.h), as live binary frames and pre-recorded
 * bodies reach them.
 *
 * The first byte picks the decoder (bit 0: FLAC, else Ogg Opus), the second
 * a split point; the rest is the stream. Invariants: a decoder fails exactly
 * when it says why; it hands out whole frames of its channel count at a rate
 * it supports; fed in two pieces it gives the same verdict and the same
 * samples as fed in one (a page or frame is decoded once it is whole, never
 * twice, never in part); decode_compressed agrees with push + finish.
 */
#include "compressed_audio.h"
#include "fuzz_common.h"

#include <vector>

namespace {

struct Run {
  bool ok = false;
  std::string error;
  int rate = 0, channels = 0;
  std::vector<int16_t> samples;
};

Run run(dgemu::AudioContainer c, const uint8_t *data, size_t len, size_t cut) {
  Run r;
  auto dec = dgemu::make_compressed_decoder(c);
  FUZZ_CHECK(dec != nullptr);
  r.ok = dec->push(data, cut, &r.samples) && dec->push(data + cut, len - cut, &r.samples) &&
         dec->finish(&r.samples);
  r.error = dec->error();
  r.rate = dec->sample_rate();
  r.channels = dec->channels();
  FUZZ_CHECK(r.ok == r.error.empty());
  if (r.channels == 0)
    FUZZ_CHECK(r.samples.empty());
  else
    FUZZ_CHECK(r.samples.size() % static_cast<size_t>(r.channels) == 0);
  FUZZ_CHECK(r.channels >= 0 && r.channels <= 8);
  if (c == dgemu::AudioContainer::ogg)
    FUZZ_CHECK(r.rate == 0 || r.rate == 48000);
  else
    FUZZ_CHECK(r.rate == 0 || (r.rate >= 1000 && r.rate <= 384000));
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  fuzz::FuzzInput in(data, size);
  uint8_t mode = in.u8();
  uint8_t split = in.u8();
  const uint8_t *body = in.data();
  size_t len = in.remaining();
  auto c = mode & 1 ? dgemu::AudioContainer::flac : dgemu::AudioContainer::ogg;

  Run whole = run(c, body, len, len);
  Run halves = run(c, body, len, len ? (split * len) / 255 : 0);
  FUZZ_CHECK(whole.ok == halves.ok);
  FUZZ_CHECK(whole.samples == halves.samples);

  dgemu::PcmAudio pcm;
  std::string error;
  bool ok = dgemu::decode_compressed(c, body, len, &pcm, &error);
  FUZZ_CHECK(ok == (whole.ok && !whole.samples.empty()));
  FUZZ_CHECK(ok == error.empty());
  if (ok)
    FUZZ_CHECK(pcm.samples == whole.samples && pcm.sample_rate == whole.rate &&
               pcm.channels == whole.channels);
  return 0;
}
