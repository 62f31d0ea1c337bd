/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator pre-recorded API: WAV, raw, multichannel, utterances, errors. */
#include <glib.h>

#include <cmath>
#include <memory>
#include <thread>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"
#include "wav_reader.h"

namespace {

const int kRate = 16000;
const emutest::Headers kAuth = {{"Authorization", "Token k"}};

std::unique_ptr<dgemu::Emulator> start_emu() {
  auto emu = std::make_unique<dgemu::Emulator>();
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

std::string raw_bytes(const std::vector<int16_t> &s) {
  std::string out;
  for (int16_t v : s) {
    out += static_cast<char>(static_cast<uint16_t>(v) & 0xff);
    out += static_cast<char>(static_cast<uint16_t>(v) >> 8);
  }
  return out;
}

bool near(double a, double b, double eps = 2e-6) {
  return std::fabs(a - b) <= eps;
}

JsonArray *channels_of(JsonObject *resp) {
  return json_object_get_array_member(json_object_get_object_member(resp, "results"), "channels");
}

JsonObject *alt_of(JsonObject *resp, guint ch) {
  JsonObject *c = json_array_get_object_element(channels_of(resp), ch);
  return json_array_get_object_element(json_object_get_array_member(c, "alternatives"), 0);
}

void check_words(JsonObject *alt, uint32_t first, uint32_t count) {
  auto ws = emutest::words_of(alt);
  g_assert_cmpuint(ws.size(), ==, count);
  for (uint32_t i = 0; i < count; i++) {
    char name[16];
    snprintf(name, sizeof name, "b%06u", first + i);
    EMU_ASSERT_STREQ(ws[i].word, name);
    g_assert_true(near(ws[i].start,
                       static_cast<double>(dgemu::sequence_header_span(kRate, i).begin) / kRate));
  }
}

void test_wav() {
  auto emu = start_emu();
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 20);
  auto r = emutest::http("POST", emu->http_url() + "/v1/listen?model=nova-3&punctuate=true", kAuth,
                         emutest::make_wav(audio, kRate, 1), "audio/wav");
  if (r.status != 200 || !r.obj())
    g_test_message("status %d body %s", r.status, r.body.c_str());
  g_assert_cmpint(r.status, ==, 200);
  g_assert_nonnull(r.obj());
  JsonObject *md = json_object_get_object_member(r.obj(), "metadata");
  EMU_ASSERT_STREQ(emutest::str(md, "request_id"), r.header("dg-request-id"));
  g_assert_true(near(emutest::num(md, "duration"), 2.0));
  g_assert_cmpint(json_object_get_int_member(md, "channels"), ==, 1);
  JsonArray *models = json_object_get_array_member(md, "models");
  g_assert_cmpuint(json_array_get_length(models), ==, 1);
  std::string uuid = json_array_get_string_element(models, 0);
  JsonObject *mi = json_object_get_object_member(md, "model_info");
  g_assert_true(json_object_has_member(mi, uuid.c_str()));
  JsonObject *info = json_object_get_object_member(mi, uuid.c_str());
  for (const char *m : {"name", "version", "arch"})
    g_assert_true(json_object_has_member(info, m));
  for (const char *m : {"transaction_key", "sha256", "created"})
    g_assert_true(json_object_has_member(md, m));
  g_assert_cmpuint(json_array_get_length(channels_of(r.obj())), ==, 1);
  JsonObject *alt = alt_of(r.obj(), 0);
  check_words(alt, 0, 20);
  g_assert_true(g_str_has_prefix(emutest::str(alt, "transcript").c_str(), "b000000 b000001"));
  JsonObject *w0 = json_array_get_object_element(json_object_get_array_member(alt, "words"), 0);
  g_assert_true(json_object_has_member(w0, "punctuated_word"));
  g_assert_false(json_object_has_member(r.obj(), "utterances"));
  g_assert_false(
      json_object_has_member(json_object_get_object_member(r.obj(), "results"), "utterances"));
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.batch_ok, ==, 1);
  g_assert_true(near(k.audio_seconds_batch, 2.0));
}

void test_raw() {
  auto emu = start_emu();
  auto audio = dgemu::sequence_blocks(kRate, 1, 7, 10);
  auto r = emutest::http("POST", emu->http_url() + "/v1/listen?encoding=linear16&sample_rate=16000",
                         kAuth, raw_bytes(audio), "audio/l16");
  g_assert_cmpint(r.status, ==, 200);
  check_words(alt_of(r.obj(), 0), 7, 10);
  /* Raw without sample_rate. */
  auto bad = emutest::http("POST", emu->http_url() + "/v1/listen?encoding=linear16", kAuth,
                           raw_bytes(audio), "application/octet-stream");
  g_assert_cmpint(bad.status, ==, 400);
}

void test_multichannel_and_utterances() {
  auto emu = start_emu();
  auto a = dgemu::sequence_blocks(kRate, 1, 0, 10);
  auto b = dgemu::sequence_blocks(kRate, 1, 50, 10);
  std::vector<int16_t> st(a.size() * 2);
  for (size_t i = 0; i < a.size(); i++) {
    st[2 * i] = a[i];
    st[2 * i + 1] = b[i];
  }
  auto r = emutest::http("POST", emu->http_url() + "/v1/listen?multichannel=true&utterances=true",
                         kAuth, emutest::make_wav(st, kRate, 2), "audio/wav");
  g_assert_cmpint(r.status, ==, 200);
  g_assert_cmpuint(json_array_get_length(channels_of(r.obj())), ==, 2);
  check_words(alt_of(r.obj(), 0), 0, 10);
  check_words(alt_of(r.obj(), 1), 50, 10);
  JsonArray *utts =
      json_object_get_array_member(json_object_get_object_member(r.obj(), "results"), "utterances");
  g_assert_nonnull(utts);
  g_assert_cmpuint(json_array_get_length(utts), ==, 2);
  for (guint i = 0; i < 2; i++) {
    JsonObject *u = json_array_get_object_element(utts, i);
    for (const char *m : {"start", "end", "confidence", "channel", "transcript", "words", "id"})
      g_assert_true(json_object_has_member(u, m));
  }
}

void test_corrupt() {
  auto emu = start_emu();
  const char *bodies[] = {"RIFF\x10\0\0\0WAVEjunkjunk", "definitely not audio", "RIFF"};
  for (const char *body : bodies) {
    auto r = emutest::http("POST", emu->http_url() + "/v1/listen", kAuth, body, "audio/wav");
    g_assert_cmpint(r.status, ==, 400);
    g_assert_nonnull(r.obj());
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_code"), "Bad Request");
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_msg"),
                     "failed to process audio: corrupt or unsupported data");
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "request_id"), r.header("dg-request-id"));
  }
  /* A JSON body asks for a URL fetch, which the emulator refuses. */
  auto url = emutest::http("POST", emu->http_url() + "/v1/listen", kAuth,
                           R"({"url":"https://dpgr.am/spacewalk.wav"})", "application/json");
  g_assert_cmpint(url.status, ==, 400);
  g_assert_cmpint(emu->counters().batch_failed, ==, 4);
}

/* --batch-concurrency: Deepgram's cap answers 429 to a request over it, and
 * the counters show the load. */
void test_concurrency_cap() {
  dgemu::Options o;
  o.batch_concurrency = 1;
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  std::string wav = emutest::make_wav(dgemu::sequence_blocks(kRate, 1, 0, 5), kRate, 1);
  std::string url = emu->http_url() + "/v1/listen";
  std::string ids;
  emu->inject_json(R"({"type":"batch_delay","ms":1000,"count":1})", &ids);
  int first_status = 0;
  std::thread first(
      [&] { first_status = emutest::http("POST", url, kAuth, wav, "audio/wav").status; });
  while (emu->counters().batch_in_flight < 1) /* the delayed one is taken */
    g_usleep(2000);
  auto over = emutest::http("POST", url, kAuth, wav, "audio/wav");
  g_assert_cmpint(over.status, ==, 429);
  g_assert_nonnull(over.obj());
  EMU_ASSERT_STREQ(emutest::str(over.obj(), "err_code"), "TOO_MANY_REQUESTS");
  EMU_ASSERT_STREQ(emutest::str(over.obj(), "request_id"), over.header("dg-request-id"));
  first.join(); /* its delay over, the first is transcribed */
  g_assert_cmpint(first_status, ==, 200);
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.batch_throttled, ==, 1);
  g_assert_cmpint(k.batch_in_flight_peak, ==, 1);
  g_assert_cmpint(k.batch_in_flight, ==, 0);
}

void test_wav_reader() {
  /* 8-bit, float and extensible WAVs decode; truncated ones do not. */
  dgemu::PcmAudio pcm;
  std::string err;
  std::string wav = emutest::make_wav({1000, -1000, 2000, -2000}, 8000, 2);
  g_assert_true(
      dgemu::decode_wav(reinterpret_cast<const uint8_t *>(wav.data()), wav.size(), &pcm, &err));
  g_assert_cmpint(pcm.channels, ==, 2);
  g_assert_cmpint(pcm.sample_rate, ==, 8000);
  g_assert_cmpuint(pcm.frames(), ==, 2);
  g_assert_cmpint(pcm.samples[3], ==, -2000);
  /* Streamed WAV: data size 0xFFFFFFFF means "to the end". */
  std::string streamed = wav;
  for (int i = 0; i < 4; i++)
    streamed[40 + i] = '\xff';
  g_assert_true(dgemu::decode_wav(reinterpret_cast<const uint8_t *>(streamed.data()),
                                  streamed.size(), &pcm, &err));
  g_assert_cmpuint(pcm.frames(), ==, 2);
  g_assert_false(dgemu::decode_wav(reinterpret_cast<const uint8_t *>(wav.data()), 30, &pcm, &err));
  std::string bad_fmt = wav;
  bad_fmt[20] = 2; /* ADPCM */
  g_assert_false(dgemu::decode_wav(reinterpret_cast<const uint8_t *>(bad_fmt.data()),
                                   bad_fmt.size(), &pcm, &err));
  /* mulaw raw */
  const uint8_t mu[] = {0xff, 0x7f, 0x00, 0x80};
  g_assert_true(dgemu::decode_raw("mulaw", 8000, 1, mu, sizeof mu, &pcm, &err));
  g_assert_cmpint(pcm.samples[0], ==, 0);
  g_assert_cmpint(pcm.samples[2], <, -30000);
  g_assert_cmpint(pcm.samples[3], >, 30000);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/batch/wav", test_wav);
  g_test_add_func("/server/batch/raw", test_raw);
  g_test_add_func("/server/batch/multichannel-utterances", test_multichannel_and_utterances);
  g_test_add_func("/server/batch/corrupt", test_corrupt);
  g_test_add_func("/server/batch/wav-reader", test_wav_reader);
  g_test_add_func("/server/batch/concurrency-cap", test_concurrency_cap);
  return g_test_run();
}
