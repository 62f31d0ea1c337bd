/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the plugin's WAV writer (plugin/wav_writer.h).
 *
 * Input: rate (u32), channels (u32), a declared data size (u64), a mode byte,
 * then PCM bytes. Small values are steered into range by the mode byte so the
 * success paths are reached as often as the refusals.
 *
 * Invariants: wav_header() succeeds exactly when the documented conditions
 * hold; a header it makes has consistent RIFF fields (RIFF size = 36 + data
 * size, byte rate = rate * block align, ...); build_wav() is header + a copy
 * of the PCM; write_wav_file() writes the same bytes; and the emulator's own
 * RIFF reader (independent code) reads back the rate, channels and samples.
 */
#include "fuzz_common.h"
#include "wav_reader.h"
#include "wav_writer.h"

#include <unistd.h>

#include <vector>

namespace {

uint32_t rd16(const uint8_t *p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8;
}
uint32_t rd32(const uint8_t *p) {
  return rd16(p) | rd16(p + 2) << 16;
}

/* Every field of a header made for (rate, channels, data_bytes). */
void check_header(const dgf::WavHeader &h, uint32_t rate, uint32_t channels, uint64_t data_bytes) {
  const uint8_t *p = h.data();
  FUZZ_CHECK(std::memcmp(p, "RIFF", 4) == 0);
  FUZZ_CHECK(rd32(p + 4) == 36 + data_bytes); /* no 32-bit wrap: 36 + data fits */
  FUZZ_CHECK(std::memcmp(p + 8, "WAVEfmt ", 8) == 0);
  FUZZ_CHECK(rd32(p + 16) == 16);
  FUZZ_CHECK(rd16(p + 20) == 1);
  FUZZ_CHECK(rd16(p + 22) == channels);
  FUZZ_CHECK(rd32(p + 24) == rate);
  FUZZ_CHECK(rd16(p + 32) == channels * 2);                            /* block align */
  FUZZ_CHECK(uint64_t{rd32(p + 28)} == uint64_t{rate} * channels * 2); /* byte rate */
  FUZZ_CHECK(rd16(p + 34) == 16);
  FUZZ_CHECK(std::memcmp(p + 36, "data", 4) == 0);
  FUZZ_CHECK(rd32(p + 40) == data_bytes);
  FUZZ_CHECK(rd32(p + 4) == rd32(p + 40) + dgf::kWavHeaderBytes - 8);
}

/* What wav_header() documents, computed independently. */
bool header_should_succeed(uint32_t rate, uint32_t channels, uint64_t data_bytes) {
  if (rate == 0 || channels == 0 || channels > 0x7fff)
    return false;
  uint64_t frame = uint64_t{channels} * 2;
  if (uint64_t{rate} * frame > 0xffffffffu)
    return false;
  if (data_bytes % frame != 0)
    return false;
  return data_bytes <= 0xffffffffu - 36; /* not data_bytes + 36: that can wrap */
}

std::string temp_path() {
  static std::string path = std::string(g_get_tmp_dir()) + "/dgf-fuzz-wav-" +
                            std::to_string(static_cast<long>(getpid())) + ".wav";
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  fuzz::FuzzInput in(data, size);
  uint32_t rate = in.u32();
  uint32_t channels = in.u32();
  uint64_t declared = in.u64();
  uint8_t mode = in.u8();
  if (mode & 1)
    rate = 1000 + rate % 384000; /* rates the emulator accepts too */
  if (mode & 2)
    channels = 1 + channels % 8;
  else if (mode & 4)
    channels = 1 + channels % 0x8000; /* 1..32768: crosses the 16-bit limit */

  /* Limits of one WAV. */
  uint64_t max = dgf::wav_max_data_bytes(channels);
  uint32_t frame = dgf::wav_frame_bytes(channels);
  if (frame == 0) {
    FUZZ_CHECK(max == 0);
  } else {
    FUZZ_CHECK(frame == channels * 2);
    FUZZ_CHECK(max % frame == 0);
    FUZZ_CHECK(max + 36 <= 0xffffffffu);
    FUZZ_CHECK(max + frame + 36 > 0xffffffffu); /* the largest whole-frame size */
  }

  /* The header for a declared size, extreme values included. */
  if (mode & 8 && frame)
    declared = mode & 16 ? max - (declared % 4) * frame : declared % (max + 2 * frame);
  auto h = dgf::wav_header(rate, channels, declared);
  FUZZ_CHECK(h.ok() == header_should_succeed(rate, channels, declared));
  if (h.ok())
    check_header(*h, rate, channels, declared);
  else
    FUZZ_CHECK(!h.error().message.empty());

  /* A whole file from the remaining bytes as PCM. */
  size_t pcm_len = in.remaining();
  if (frame && mode & 32)
    pcm_len -= pcm_len % frame; /* whole frames, so it can succeed */
  const uint8_t *pcm = in.data();
  auto wav = dgf::build_wav(rate, channels, pcm, pcm_len);
  FUZZ_CHECK(wav.ok() == header_should_succeed(rate, channels, pcm_len));
  if (!wav.ok())
    return 0;
  const std::vector<uint8_t> &bytes = *wav;
  FUZZ_CHECK(bytes.size() == dgf::kWavHeaderBytes + pcm_len);
  auto header = dgf::wav_header(rate, channels, pcm_len);
  FUZZ_CHECK(header.ok());
  FUZZ_CHECK(std::memcmp(bytes.data(), header->data(), dgf::kWavHeaderBytes) == 0);
  FUZZ_CHECK(pcm_len == 0 || std::memcmp(bytes.data() + dgf::kWavHeaderBytes, pcm, pcm_len) == 0);

  /* The file writer writes exactly those bytes. */
  if (mode & 64) {
    std::string path = temp_path();
    FUZZ_CHECK(!dgf::write_wav_file(path, rate, channels, pcm, pcm_len).has_value());
    gchar *contents = nullptr;
    gsize len = 0;
    FUZZ_CHECK(g_file_get_contents(path.c_str(), &contents, &len, nullptr));
    FUZZ_CHECK(len == bytes.size() && std::memcmp(contents, bytes.data(), len) == 0);
    g_free(contents);
    unlink(path.c_str());
  }

  /* The emulator's independent reader agrees, within the formats it takes. */
  if (rate >= 1000 && rate <= 384000 && channels <= 64) {
    dgemu::PcmAudio audio;
    std::string error;
    FUZZ_CHECK(dgemu::decode_wav(bytes.data(), bytes.size(), &audio, &error));
    FUZZ_CHECK(audio.sample_rate == static_cast<int>(rate));
    FUZZ_CHECK(audio.channels == static_cast<int>(channels));
    FUZZ_CHECK(audio.samples.size() == pcm_len / 2);
    for (size_t i = 0; i < audio.samples.size(); i++)
      FUZZ_CHECK(static_cast<uint16_t>(audio.samples[i]) == rd16(pcm + 2 * i));
  }
  return 0;
}
