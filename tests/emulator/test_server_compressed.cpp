/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator with containerized compressed audio made by GStreamer's own
 * encoders: live FLAC and Ogg Opus streams (without an encoding, and with
 * encoding=flac/opus/ogg-opus) fed in odd-sized frames, pre-recorded FLAC and
 * Ogg Opus bodies, and corrupt streams (1008 DATA-0000, 400).
 *
 * Sequence audio survives FLAC (lossless) to the sample, so its words and
 * times must equal the PCM run's exactly. It does not survive Opus (lossy:
 * its sample-exact block headers are gone), so Opus is checked for time
 * (Metadata duration, finals tiling the decoded audio) with the sequence
 * engine, and for words and word times against the PCM run with the
 * pocketsphinx engine on real speech (skipped where that engine or
 * pocketsphinx-testdata is missing). */
#include <glib.h>

#include <cmath>
#include <memory>

#include "emu_test_client.h"
#include "emulator.h"
#include "gst_encode.h"
#include "sequence_audio.h"
#include "wav_reader.h"

using emutest::WsClient;

namespace {

const int kRate = 16000;
const emutest::Headers kAuth = {{"Authorization", "Token k"}};
const char kSpeechWav[] =
    "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav";

std::unique_ptr<dgemu::Emulator> start_emu(const std::string &engine = "sequence") {
  dgemu::Options o;
  o.engine = engine;
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err)) {
    if (engine == "sequence")
      g_error("emulator start: %s", err.c_str());
    g_test_skip(("engine unavailable: " + err).c_str());
    return nullptr;
  }
  return emu;
}

/* The LibriVox clip as its WAV file, its PCM and that PCM as Ogg Opus at
 * 48 kbit/s, with a pocketsphinx emulator; false (the test skipped) when
 * pocketsphinx or its test data is missing. */
struct Speech {
  std::string wav;
  dgemu::PcmAudio pcm;
  std::string ogg;
  std::unique_ptr<dgemu::Emulator> emu;
};

bool load_speech(Speech *out) {
  if (!g_file_test(kSpeechWav, G_FILE_TEST_EXISTS)) {
    g_test_skip("pocketsphinx-testdata is not installed");
    return false;
  }
  out->emu = start_emu("pocketsphinx");
  if (!out->emu)
    return false;
  gchar *data = nullptr;
  gsize len = 0;
  g_assert_true(g_file_get_contents(kSpeechWav, &data, &len, nullptr));
  out->wav.assign(data, len);
  g_free(data);
  std::string err;
  g_assert_true(dgemu::decode_wav(reinterpret_cast<const uint8_t *>(out->wav.data()),
                                  out->wav.size(), &out->pcm, &err));
  out->ogg = emutest::gst_encode(out->pcm.samples, out->pcm.sample_rate, 1,
                                 "opusenc bitrate=48000 ! oggmux");
  return true;
}

std::string pcm_bytes(const std::vector<int16_t> &pcm) {
  return std::string(reinterpret_cast<const char *>(pcm.data()), pcm.size() * sizeof(int16_t));
}

struct LiveRun {
  int close_code = 0;
  std::string close_reason;
  std::vector<emutest::Word> words;
  double tiled = 0;         /* end of the last final; finals checked to tile */
  double md_duration = -1;  /* Metadata duration */
  std::string last_type;    /* type of the last frame */
  double audio_seconds = 0; /* counters.audio_seconds_live after the run */
};

/* Streams `bytes` in frames of `piece` bytes, then CloseStream. */
LiveRun run_live(dgemu::Emulator &emu, const std::string &query, const std::string &bytes,
                 size_t piece, double timeout_s = 10) {
  emu.reset_counters();
  WsClient c;
  g_assert_true(c.connect(emu.ws_url() + "/v1/listen?" + query, kAuth));
  for (size_t pos = 0; pos < bytes.size(); pos += piece)
    c.send_bytes(bytes.data() + pos, std::min(piece, bytes.size() - pos));
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed(timeout_s));
  LiveRun r;
  r.close_code = c.close_code();
  r.close_reason = c.close_reason();
  r.last_type = c.frames().empty() ? "" : c.frames().back().type();
  for (const auto *f : c.finals()) {
    JsonObject *o = f->obj();
    g_assert_cmpfloat(std::fabs(emutest::num(o, "start") - r.tiled), <, 2e-6);
    r.tiled = emutest::num(o, "start") + emutest::num(o, "duration");
    for (auto &w : emutest::words_of(emutest::alternative(o)))
      r.words.push_back(w);
  }
  for (const auto *f : c.of_type("Metadata"))
    r.md_duration = emutest::num(f->obj(), "duration");
  emu.sync();
  r.audio_seconds = emu.counters().audio_seconds_live;
  return r;
}

void expect_same_words(const std::vector<emutest::Word> &a, const std::vector<emutest::Word> &b,
                       double tolerance) {
  g_assert_cmpuint(a.size(), ==, b.size());
  for (size_t i = 0; i < a.size(); i++) {
    EMU_ASSERT_STREQ(a[i].word, b[i].word);
    g_assert_cmpfloat(std::fabs(a[i].start - b[i].start), <=, tolerance);
    g_assert_cmpfloat(std::fabs(a[i].end - b[i].end), <=, tolerance);
  }
}

/* Live FLAC, without an encoding and with encoding=flac, in 1000-byte frames
 * (a frame holds part of a FLAC frame, or the end of one and the start of the
 * next): the words and times of the PCM run, exactly. */
void test_live_flac() {
  auto emu = start_emu();
  auto pcm = dgemu::sequence_blocks(kRate, 1, 0, 30);
  std::string flac = emutest::gst_encode(pcm, kRate, 1, "flacenc");
  LiveRun ref = run_live(*emu, "encoding=linear16&sample_rate=16000", pcm_bytes(pcm), 640);
  g_assert_cmpint(ref.close_code, ==, 1000);
  g_assert_cmpuint(ref.words.size(), ==, 30);
  for (const char *query : {"", "encoding=flac&sample_rate=16000"}) {
    for (size_t piece : {size_t(1000), size_t(333)}) {
      LiveRun r = run_live(*emu, query, flac, piece);
      g_test_message("flac '%s' in %zu-byte frames: %zu words, %.6f s", query, piece,
                     r.words.size(), r.md_duration);
      g_assert_cmpint(r.close_code, ==, 1000);
      expect_same_words(r.words, ref.words, 0);
      g_assert_cmpfloat(std::fabs(r.tiled - 3.0), <, 2e-6);
      g_assert_cmpfloat(std::fabs(r.md_duration - 3.0), <, 2e-6);
      g_assert_cmpfloat(std::fabs(r.audio_seconds - 3.0), <, 1e-9);
    }
  }
}

/* A fault's after_audio_ms counts decoded audio, so it fires at the same
 * instant of the audio with linear16 and with FLAC (whose bytes are ~45 %
 * of PCM's): the connection closes within one FLAC block of 1.5 s. */
void test_fault_after_audio_ms() {
  auto emu = start_emu();
  auto pcm = dgemu::sequence_blocks(kRate, 1, 0, 30);
  std::string flac = emutest::gst_encode(pcm, kRate, 1, "flacenc");
  struct Case {
    const char *query;
    std::string bytes;
    double block_s;
  };
  for (const Case &c : {Case{"encoding=linear16&sample_rate=16000", pcm_bytes(pcm), 0.02},
                        Case{"encoding=flac&sample_rate=16000", flac, 4608.0 / kRate}}) {
    std::string err;
    g_assert_false(emu->inject_json(R"({"type":"close","target":"new","count":1,"code":1011,)"
                                    R"("reason":"NET-0000","after_audio_ms":1500})",
                                    &err)
                       .empty());
    LiveRun r = run_live(*emu, c.query, c.bytes, 640);
    g_test_message("%s: closed %d after %.3f s of audio", c.query, r.close_code, r.md_duration);
    g_assert_cmpint(r.close_code, ==, 1011);
    g_assert_cmpfloat(r.md_duration, >=, 1.5);
    g_assert_cmpfloat(r.md_duration, <=, 1.5 + c.block_s + 1e-6);
    g_assert_cmpint(emu->counters().fired("close"), ==, 1);
  }
}

/* Live Ogg Opus: decoded audio is the input's length (pre-skip removed, end
 * trimmed), finals tile it, and the counters count it. */
void test_live_opus_time() {
  auto emu = start_emu();
  std::vector<int16_t> pcm = dgemu::sequence_blocks(kRate, 1, 0, 20);
  std::string ogg = emutest::gst_encode(pcm, kRate, 1, "opusenc ! oggmux");
  for (const char *query : {"", "encoding=opus&sample_rate=48000",
                            "encoding=ogg-opus&sample_rate=16000&multichannel=true"}) {
    LiveRun r = run_live(*emu, query, ogg, 1000);
    g_test_message("opus '%s': %zu words, %.6f s", query, r.words.size(), r.md_duration);
    g_assert_cmpint(r.close_code, ==, 1000);
    g_assert_cmpfloat(std::fabs(r.md_duration - 2.0), <, 2e-6);
    g_assert_cmpfloat(std::fabs(r.tiled - 2.0), <, 2e-6);
    g_assert_cmpfloat(std::fabs(r.audio_seconds - 2.0), <, 1e-9);
  }
}

/* Real speech through Opus with pocketsphinx: the PCM run's words at the
 * PCM run's times (within one 20 ms Opus frame). Without endpointing: an
 * endpoint cuts the recognizer's utterance where the voice-activity detector
 * hears a pause, and Opus may move that by a frame, which is the detector's
 * business, not the codec's. */
void test_live_opus_speech() {
  Speech sp;
  if (!load_speech(&sp))
    return;
  auto &emu = sp.emu;
  const dgemu::PcmAudio &pcm = sp.pcm;
  const std::string &ogg = sp.ogg;
  LiveRun ref = run_live(*emu, "encoding=linear16&sample_rate=16000&endpointing=false",
                         pcm_bytes(pcm.samples), 3200, 60);
  LiveRun r = run_live(*emu, "endpointing=false", ogg, 1000, 60);
  auto text = [](const LiveRun &run) {
    std::string s;
    for (const auto &w : run.words)
      s += w.word + "@" + std::to_string(w.start) + " ";
    return s;
  };
  g_test_message("pcm:  %s", text(ref).c_str());
  g_test_message("opus: %s", text(r).c_str());
  g_assert_cmpint(r.close_code, ==, 1000);
  g_assert_cmpuint(ref.words.size(), >=, 4);
  g_assert_cmpfloat(std::fabs(r.md_duration - pcm.seconds()), <, 0.02);
  expect_same_words(r.words, ref.words, 0.02 + 1e-6);
}

/* Undecodable bytes after a recognised container: Metadata, then 1008
 * DATA-0000; never a crash or a hang. */
void test_live_corrupt() {
  auto emu = start_emu();
  auto pcm = dgemu::sequence_blocks(kRate, 1, 0, 20);
  std::string flac = emutest::gst_encode(pcm, kRate, 1, "flacenc");
  std::string ogg = emutest::gst_encode(pcm, kRate, 1, "opusenc ! oggmux");
  std::string junk(4000, '\x55');
  std::vector<std::pair<std::string, std::string>> cases;
  for (const std::string *s : {&flac, &ogg}) {
    std::string flipped = *s;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5A);
    cases.emplace_back("", flipped);
    cases.emplace_back("", s->substr(0, s->size() / 2) + junk);
  }
  cases.emplace_back("", "fLaC" + junk);
  cases.emplace_back("", "OggS" + junk);
  /* An encoding naming the other container. */
  cases.emplace_back("encoding=flac&sample_rate=16000", ogg);
  cases.emplace_back("encoding=opus&sample_rate=16000", flac);
  for (const auto &c : cases) {
    LiveRun r = run_live(*emu, c.first, c.second, 1000);
    g_assert_cmpint(r.close_code, ==, 1008);
    g_assert_nonnull(strstr(r.close_reason.c_str(), "data0000"));
    EMU_ASSERT_STREQ(r.last_type, "Metadata");
  }
}

/* encoding=opus/ogg-opus/flac with a sample_rate are accepted; other
 * encodings the emulator cannot decode are refused before the upgrade. */
void test_encodings() {
  auto emu = start_emu();
  for (const char *q : {"encoding=opus&sample_rate=48000", "encoding=ogg-opus&sample_rate=16000",
                        "encoding=flac&sample_rate=44100"}) {
    WsClient c;
    g_assert_true(c.connect(emu->ws_url() + "/v1/listen?" + q, kAuth));
  }
  for (const char *enc : {"speex", "amr-nb", "g729", "linear32"}) {
    WsClient c;
    g_assert_false(
        c.connect(emu->ws_url() + "/v1/listen?sample_rate=16000&encoding=" + enc, kAuth));
    g_assert_cmpint(c.status(), ==, 400);
    g_assert_nonnull(strstr(c.response_header("dg-error").c_str(), "flac, opus and ogg-opus"));
  }
  WsClient c;
  g_assert_false(c.connect(emu->ws_url() + "/v1/listen?encoding=opus", kAuth));
  g_assert_cmpint(c.status(), ==, 400);
}

emutest::HttpResult post(dgemu::Emulator &emu, const std::string &query, const std::string &body,
                         const std::string &content_type) {
  return emutest::http("POST", emu.http_url() + "/v1/listen?" + query, kAuth, body, content_type);
}

JsonObject *batch_alternative(const emutest::HttpResult &r) {
  JsonObject *results = json_object_get_object_member(r.obj(), "results");
  JsonObject *ch =
      json_array_get_object_element(json_object_get_array_member(results, "channels"), 0);
  return json_array_get_object_element(json_object_get_array_member(ch, "alternatives"), 0);
}

double batch_duration(const emutest::HttpResult &r) {
  return emutest::num(json_object_get_object_member(r.obj(), "metadata"), "duration");
}

void test_batch() {
  auto emu = start_emu();
  auto pcm = dgemu::sequence_blocks(kRate, 1, 0, 30);
  auto wav = post(*emu, "", emutest::make_wav(pcm, kRate, 1), "audio/wav");
  g_assert_cmpint(wav.status, ==, 200);
  std::string flac = emutest::gst_encode(pcm, kRate, 1, "flacenc");
  for (const char *ct : {"audio/flac", "audio/x-flac", "application/octet-stream"}) {
    emu->reset_counters();
    auto r = post(*emu, "", flac, ct);
    g_assert_cmpint(r.status, ==, 200);
    expect_same_words(emutest::words_of(batch_alternative(r)),
                      emutest::words_of(batch_alternative(wav)), 0);
    g_assert_cmpfloat(std::fabs(batch_duration(r) - 3.0), <, 2e-6);
    g_assert_cmpfloat(std::fabs(emu->counters().audio_seconds_batch - 3.0), <, 1e-9);
  }
  std::string ogg = emutest::gst_encode(pcm, kRate, 1, "opusenc ! oggmux");
  for (const char *ct : {"audio/ogg", "audio/opus"}) {
    emu->reset_counters();
    auto r = post(*emu, "encoding=ogg-opus&sample_rate=16000", ogg, ct);
    g_assert_cmpint(r.status, ==, 200);
    g_assert_cmpfloat(std::fabs(batch_duration(r) - 3.0), <, 2e-6);
    g_assert_cmpfloat(std::fabs(emu->counters().audio_seconds_batch - 3.0), <, 1e-9);
  }
}

/* A pre-recorded Ogg Opus body of real speech, with pocketsphinx: the WAV
 * body's words at its times (within 20 ms). */
void test_batch_opus_speech() {
  Speech sp;
  if (!load_speech(&sp))
    return;
  auto &emu = sp.emu;
  const dgemu::PcmAudio &pcm = sp.pcm;
  const std::string &wav = sp.wav, &ogg = sp.ogg;
  auto ref = post(*emu, "", wav, "audio/wav");
  auto r = post(*emu, "", ogg, "audio/ogg");
  g_assert_cmpint(ref.status, ==, 200);
  g_assert_cmpint(r.status, ==, 200);
  auto ref_words = emutest::words_of(batch_alternative(ref));
  g_test_message("wav:  %s", emutest::str(batch_alternative(ref), "transcript").c_str());
  g_test_message("opus: %s", emutest::str(batch_alternative(r), "transcript").c_str());
  g_assert_cmpuint(ref_words.size(), >=, 4);
  expect_same_words(emutest::words_of(batch_alternative(r)), ref_words, 0.02 + 1e-6);
  g_assert_cmpfloat(std::fabs(batch_duration(r) - pcm.seconds()), <, 0.02);
}

void test_batch_corrupt() {
  auto emu = start_emu();
  auto pcm = dgemu::sequence_blocks(kRate, 1, 0, 20);
  std::string flac = emutest::gst_encode(pcm, kRate, 1, "flacenc");
  std::string ogg = emutest::gst_encode(pcm, kRate, 1, "opusenc ! oggmux");
  std::string bad_flac = flac, bad_ogg = ogg;
  bad_flac[flac.size() / 2] = static_cast<char>(bad_flac[flac.size() / 2] ^ 0x5A);
  bad_ogg[ogg.size() / 2] = static_cast<char>(bad_ogg[ogg.size() / 2] ^ 0x5A);
  std::string junk(4000, '\x55');
  struct Case {
    std::string query, body, type;
  };
  for (const Case &c :
       {Case{"", bad_flac, "audio/flac"}, Case{"", bad_ogg, "audio/ogg"},
        Case{"", "OggS" + junk, "audio/opus"}, Case{"", junk, "audio/x-flac"},
        Case{"", junk, "audio/ogg"}, Case{"encoding=flac&sample_rate=16000", junk, ""},
        Case{"", flac.substr(0, 30), "audio/flac"}}) {
    auto r = post(*emu, c.query, c.body, c.type);
    g_assert_cmpint(r.status, ==, 400);
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_code"), "Bad Request");
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_msg"),
                     "failed to process audio: corrupt or unsupported data");
    g_assert_cmpuint(emutest::str(r.obj(), "request_id").size(), ==, 36);
    EMU_ASSERT_STREQ(r.header("dg-error"), "failed to process audio: corrupt or unsupported data");
  }
  auto r = post(*emu, "encoding=speex&sample_rate=16000", junk, "");
  g_assert_cmpint(r.status, ==, 400);
  g_assert_nonnull(strstr(emutest::str(r.obj(), "err_msg").c_str(), "flac, opus and ogg-opus"));
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/compressed/live-flac", test_live_flac);
  g_test_add_func("/server/compressed/fault-after-audio-ms", test_fault_after_audio_ms);
  g_test_add_func("/server/compressed/live-opus-time", test_live_opus_time);
  g_test_add_func("/server/compressed/live-opus-speech", test_live_opus_speech);
  g_test_add_func("/server/compressed/live-corrupt", test_live_corrupt);
  g_test_add_func("/server/compressed/encodings", test_encodings);
  g_test_add_func("/server/compressed/batch", test_batch);
  g_test_add_func("/server/compressed/batch-opus-speech", test_batch_opus_speech);
  g_test_add_func("/server/compressed/batch-corrupt", test_batch_corrupt);
  return g_test_run();
}
