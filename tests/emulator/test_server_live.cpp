/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator live API: Results shape and timing, interim, Finalize,
 * CloseStream, KeepAlive, idle close, multichannel, containers, VAD events. */
#include <glib.h>

#include <cmath>
#include <memory>
#include <set>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"

using emutest::Frame;
using emutest::WsClient;

namespace {

const int kRate = 16000;

std::unique_ptr<dgemu::Emulator> start_emu(double idle_timeout = 10.0) {
  dgemu::Options o;
  o.idle_timeout_s = idle_timeout;
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

std::string listen_url(dgemu::Emulator &emu, const std::string &query) {
  return emu.ws_url() + "/v1/listen?" + query;
}

const emutest::Headers kAuth = {{"Authorization", "Token test-key"}};

/* Sends audio in 20 ms frames. */
void send_chunked(WsClient &c, const std::vector<int16_t> &audio, int channels = 1) {
  size_t step = 320 * static_cast<size_t>(channels);
  for (size_t pos = 0; pos < audio.size(); pos += step)
    c.send_audio(audio.data() + pos, std::min(step, audio.size() - pos));
}

bool near(double a, double b, double eps = 2e-6) {
  return std::fabs(a - b) <= eps;
}

/* Checks that the final Results of channel `ch` tile [0, end) and carry the
 * blocks first..first+count-1 exactly once at their times. */
void check_finals(const WsClient &c, int ch, int channels, uint32_t first, uint32_t count,
                  double end) {
  double cursor = 0;
  std::vector<emutest::Word> words;
  for (const Frame *f : c.finals()) {
    JsonObject *o = f->obj();
    JsonArray *idx = json_object_get_array_member(o, "channel_index");
    g_assert_cmpint(json_array_get_length(idx), ==, 2);
    g_assert_cmpint(json_array_get_int_element(idx, 1), ==, channels);
    if (json_array_get_int_element(idx, 0) != ch)
      continue;
    double start = emutest::num(o, "start"), duration = emutest::num(o, "duration");
    g_assert_true(near(start, cursor));
    g_assert_cmpfloat(duration, >=, 0);
    cursor = start + duration;
    for (auto &w : emutest::words_of(emutest::alternative(o))) {
      g_assert_cmpfloat(w.start, >=, start - 1e-6);
      words.push_back(w);
    }
  }
  g_assert_true(near(cursor, end));
  g_assert_cmpuint(words.size(), ==, count);
  for (uint32_t i = 0; i < count; i++) {
    char name[16];
    snprintf(name, sizeof name, "b%06u", first + i);
    EMU_ASSERT_STREQ(words[i].word, name);
    dgemu::HeaderSpan span = dgemu::sequence_header_span(kRate, i);
    g_assert_true(near(words[i].start, static_cast<double>(span.begin) / kRate));
    g_assert_cmpfloat(words[i].end, <=, (i + 1) * 0.1 + 1e-6);
    g_assert_cmpfloat(words[i].end, >, words[i].start);
  }
}

void test_happy_path() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(
      c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000&model=nova-3"), kAuth));
  std::string rid = c.response_header("dg-request-id");
  g_assert_cmpuint(rid.size(), ==, 36);
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 30);
  send_chunked(c, audio);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);
  check_finals(c, 0, 1, 0, 30, 3.0);
  /* No interim results unless asked. */
  for (const auto &f : c.frames())
    if (f.type() == "Results")
      g_assert_true(json_object_get_boolean_member(f.obj(), "is_final"));
  /* Shape of one Results. */
  JsonObject *r = c.finals().front()->obj();
  for (const char *m : {"type", "channel_index", "duration", "start", "is_final", "speech_final",
                        "from_finalize", "channel", "metadata"})
    g_assert_true(json_object_has_member(r, m));
  JsonObject *md = json_object_get_object_member(r, "metadata");
  EMU_ASSERT_STREQ(emutest::str(md, "request_id"), rid);
  g_assert_true(json_object_has_member(md, "model_uuid"));
  JsonObject *mi = json_object_get_object_member(md, "model_info");
  for (const char *m : {"name", "version", "arch"})
    g_assert_true(json_object_has_member(mi, m));
  JsonObject *alt = emutest::alternative(r);
  g_assert_true(json_object_has_member(alt, "transcript"));
  g_assert_true(json_object_has_member(alt, "confidence"));
  /* Without punctuate there is no punctuated_word, without diarize no speaker. */
  JsonObject *w0 = json_array_get_object_element(json_object_get_array_member(alt, "words"), 0);
  g_assert_false(json_object_has_member(w0, "punctuated_word"));
  g_assert_false(json_object_has_member(w0, "speaker"));
  /* Metadata is the last frame, before the close. */
  const Frame &last = c.frames().back();
  EMU_ASSERT_STREQ(last.type(), "Metadata");
  EMU_ASSERT_STREQ(emutest::str(last.obj(), "request_id"), rid);
  g_assert_true(near(emutest::num(last.obj(), "duration"), 3.0));
  g_assert_cmpint(json_object_get_int_member(last.obj(), "channels"), ==, 1);
  g_assert_cmpuint(emutest::str(last.obj(), "sha256").size(), ==, 64);
  emu->sync();
  dgemu::Counters k = emu->counters();
  g_assert_cmpint(k.live_accepted, ==, 1);
  g_assert_true(near(k.audio_seconds_live, 3.0));
  c.wait([&] { return emu->counters().live_open == 0; }, 2);
  g_assert_cmpint(emu->counters().live_open, ==, 0);
}

void test_punctuate_diarize() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(
      listen_url(*emu, "encoding=linear16&sample_rate=16000&punctuate=true&diarize=true"), kAuth));
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 12);
  send_chunked(c, audio);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  JsonObject *alt = emutest::alternative(c.finals().front()->obj());
  JsonObject *w0 = json_array_get_object_element(json_object_get_array_member(alt, "words"), 0);
  g_assert_true(json_object_has_member(w0, "punctuated_word"));
  g_assert_cmpint(json_object_get_int_member(w0, "speaker"), ==, 0);
}

void test_interim() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(
      listen_url(*emu, "encoding=linear16&sample_rate=16000&interim_results=true"), kAuth));
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 25);
  send_chunked(c, audio);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  check_finals(c, 0, 1, 0, 25, 2.5);
  int interims = 0;
  double final_end = 0;
  for (const auto &f : c.frames()) {
    if (f.type() != "Results")
      continue;
    JsonObject *o = f.obj();
    if (json_object_get_boolean_member(o, "is_final")) {
      final_end = emutest::num(o, "start") + emutest::num(o, "duration");
      continue;
    }
    interims++;
    /* An interim covers the audio after the last final. */
    g_assert_true(near(emutest::num(o, "start"), final_end));
    g_assert_cmpfloat(emutest::num(o, "duration"), >, 0);
    g_assert_false(json_object_get_boolean_member(o, "speech_final"));
  }
  g_assert_cmpint(interims, >=, 2);
}

void test_finalize_and_keepalive() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000"), kAuth));
  /* KeepAlive: no reply. */
  c.send_text(R"({"type":"KeepAlive"})");
  c.pump(0.1);
  g_assert_cmpuint(c.frames().size(), ==, 0);

  auto first = dgemu::sequence_blocks(kRate, 1, 0, 5);
  send_chunked(c, first);
  c.send_text(R"({"type":"Finalize"})");
  auto from_finalize = [&] {
    std::vector<const Frame *> out;
    for (const Frame *f : c.finals())
      if (json_object_get_boolean_member(f->obj(), "from_finalize"))
        out.push_back(f);
    return out;
  };
  g_assert_true(c.wait([&] { return from_finalize().size() == 1; }));
  JsonObject *r = from_finalize()[0]->obj();
  g_assert_true(near(emutest::num(r, "start") + emutest::num(r, "duration"), 0.5));
  /* Everything before is acknowledged: all 5 words are in the finals so far. */
  size_t words = 0;
  for (const Frame *f : c.finals())
    words += emutest::words_of(emutest::alternative(f->obj())).size();
  g_assert_cmpuint(words, ==, 5);

  /* The stream goes on after Finalize; times stay connection-relative. */
  auto second = dgemu::sequence_blocks(kRate, 1, 5, 5);
  send_chunked(c, second);
  c.send_text(R"({"type":"Finalize"})");
  g_assert_true(c.wait([&] { return from_finalize().size() == 2; }));
  r = from_finalize()[1]->obj();
  g_assert_true(near(emutest::num(r, "start") + emutest::num(r, "duration"), 1.0));
  auto ws = emutest::words_of(emutest::alternative(r));
  g_assert_cmpuint(ws.size(), >=, 1);
  EMU_ASSERT_STREQ(ws.back().word, "b000009");
  g_assert_true(
      near(ws.back().start,
           0.5 + static_cast<double>(dgemu::sequence_header_span(kRate, 4).begin) / kRate));

  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
  /* The finals of the whole connection tile [0, 1.0) with blocks 0..9. */
  std::set<std::string> seen;
  for (const Frame *f : c.finals())
    for (auto &w : emutest::words_of(emutest::alternative(f->obj())))
      g_assert_true(seen.insert(w.word).second);
  g_assert_cmpuint(seen.size(), ==, 10);
}

void test_empty_frame_closes() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000"), kAuth));
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 3);
  send_chunked(c, audio);
  c.send_bytes("", 0);
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
  check_finals(c, 0, 1, 0, 3, 0.3);
}

void test_idle_close() {
  auto emu = start_emu(0.3);
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000"), kAuth));
  g_assert_true(c.wait_closed(3));
  g_assert_cmpint(c.close_code(), ==, 1011);
  g_assert_nonnull(strstr(c.close_reason().c_str(), "net0001"));
  g_assert_nonnull(strstr(c.close_reason().c_str(), "did not receive audio data"));
  g_assert_cmpuint(c.frames().size(), ==, 1);
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
}

void test_keepalive_without_audio_does_not_prevent_idle() {
  auto emu = start_emu(0.3);
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000"), kAuth));
  gint64 t0 = g_get_monotonic_time();
  while (!c.closed() && g_get_monotonic_time() - t0 < 1500000) {
    c.send_text(R"({"type":"KeepAlive"})");
    c.pump(0.05);
  }
  g_assert_true(c.closed());
  g_assert_cmpint(c.close_code(), ==, 1011);
}

void test_keepalive_after_audio_prevents_idle() {
  auto emu = start_emu(0.3);
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000"), kAuth));
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 1);
  c.send_audio(audio.data(), audio.size());
  for (int i = 0; i < 12; i++) {
    c.send_text(R"({"type":"KeepAlive"})");
    c.pump(0.05);
  }
  g_assert_false(c.closed());
  /* Silence from the client now: the idle close follows. */
  g_assert_true(c.wait_closed(3));
  g_assert_cmpint(c.close_code(), ==, 1011);
}

std::vector<int16_t> interleave(const std::vector<int16_t> &a, const std::vector<int16_t> &b) {
  std::vector<int16_t> out(a.size() * 2);
  for (size_t i = 0; i < a.size(); i++) {
    out[2 * i] = a[i];
    out[2 * i + 1] = b[i];
  }
  return out;
}

void test_multichannel() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(
      listen_url(*emu, "encoding=linear16&sample_rate=16000&channels=2&multichannel=true"), kAuth));
  auto left = dgemu::sequence_blocks(kRate, 1, 0, 12);
  auto right = dgemu::sequence_blocks(kRate, 1, 100, 12);
  send_chunked(c, interleave(left, right), 2);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  check_finals(c, 0, 2, 0, 12, 1.2);
  check_finals(c, 1, 2, 100, 12, 1.2);
  g_assert_cmpint(json_object_get_int_member(c.frames().back().obj(), "channels"), ==, 2);
}

void test_stereo_without_multichannel_is_downmixed() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(
      c.connect(listen_url(*emu, "encoding=linear16&sample_rate=16000&channels=2"), kAuth));
  auto mono = dgemu::sequence_blocks(kRate, 1, 0, 12);
  send_chunked(c, interleave(mono, mono), 2);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  check_finals(c, 0, 1, 0, 12, 1.2);
}

void test_wav_stream_without_encoding() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, ""), kAuth));
  std::string wav = emutest::make_wav(dgemu::sequence_blocks(kRate, 1, 0, 10), kRate, 1);
  /* Cut inside the header on purpose. */
  c.send_bytes(wav.data(), 20);
  c.send_bytes(wav.data() + 20, wav.size() - 20);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);
  check_finals(c, 0, 1, 0, 10, 1.0);
}

void test_undecodable_audio_closes_1008() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(listen_url(*emu, ""), kAuth));
  std::vector<int16_t> noise(3200, 1234);
  c.send_audio(noise.data(), noise.size());
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1008);
  g_assert_nonnull(strstr(c.close_reason().c_str(), "data0000"));
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
}

void test_vad_and_utterance_end() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(
      listen_url(*emu, "encoding=linear16&sample_rate=16000&interim_results=true&vad_events=true"
                       "&utterance_end_ms=300"),
      kAuth));
  /* 5 blocks, 1 s of digital silence (no block headers: no words), 5 blocks. */
  auto audio = dgemu::sequence_blocks(kRate, 1, 0, 5);
  audio.resize(audio.size() + kRate, 0);
  auto more = dgemu::sequence_blocks(kRate, 1, 5, 5);
  audio.insert(audio.end(), more.begin(), more.end());
  send_chunked(c, audio);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  if (g_test_verbose())
    for (const auto &f : c.frames())
      g_test_message("%s", f.text.substr(0, 200).c_str());
  auto started = c.of_type("SpeechStarted");
  auto ends = c.of_type("UtteranceEnd");
  g_assert_cmpuint(started.size(), ==, 2);
  g_assert_cmpuint(ends.size(), >=, 1);
  g_assert_true(near(emutest::num(started[0]->obj(), "timestamp"),
                     static_cast<double>(dgemu::sequence_header_span(kRate, 0).begin) / kRate));
  g_assert_true(
      near(emutest::num(started[1]->obj(), "timestamp"),
           1.5 + static_cast<double>(dgemu::sequence_header_span(kRate, 0).begin) / kRate));
  JsonObject *ue = ends[0]->obj();
  g_assert_true(near(emutest::num(ue, "last_word_end"), 0.5, 1e-3));
  JsonArray *ch = json_object_get_array_member(ue, "channel");
  g_assert_cmpint(json_array_get_int_element(ch, 0), ==, 0);
  g_assert_cmpint(json_array_get_int_element(ch, 1), ==, 1);
  /* The final holding b000004 comes before the UtteranceEnd. */
  bool seen_last_word = false;
  for (const auto &f : c.frames()) {
    if (&f == ends[0])
      break;
    if (f.type() == "Results" && json_object_get_boolean_member(f.obj(), "is_final"))
      for (auto &w : emutest::words_of(emutest::alternative(f.obj())))
        seen_last_word = seen_last_word || w.word == "b000004";
  }
  g_assert_true(seen_last_word);
}

void test_bad_options_refused() {
  auto emu = start_emu();
  {
    WsClient c;
    g_assert_false(c.connect(listen_url(*emu, "encoding=linear16"), kAuth));
    g_assert_cmpint(c.status(), ==, 400);
  }
  {
    WsClient c;
    /* Containerized opus/flac are decoded (test_server_compressed.cpp); speex is not. */
    g_assert_false(c.connect(listen_url(*emu, "encoding=speex&sample_rate=16000"), kAuth));
    g_assert_cmpint(c.status(), ==, 400);
  }
  {
    /* Options that are not Deepgram's are ignored (Deepgram's own that the
     * emulator does not act on, like tag, are refused: test_server_options). */
    WsClient c;
    g_assert_true(c.connect(
        listen_url(*emu, "encoding=linear16&sample_rate=8000&keyterm=a&keyterm=b&foo=bar"), kAuth));
  }
}

void test_start_stop_repeatedly() {
  dgemu::Emulator emu;
  for (int i = 0; i < 3; i++) {
    std::string err;
    g_assert_true(emu.start(&err));
    g_assert_true(emu.start(&err)); /* no-op */
    g_assert_cmpint(emu.port(), >, 0);
    WsClient c;
    g_assert_true(
        c.connect(emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000", kAuth));
    emu.stop();
    emu.stop(); /* no-op */
    g_assert_true(c.wait_closed());
    g_assert_false(emu.running());
  }
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/live/happy-path", test_happy_path);
  g_test_add_func("/server/live/punctuate-diarize", test_punctuate_diarize);
  g_test_add_func("/server/live/interim", test_interim);
  g_test_add_func("/server/live/finalize-keepalive", test_finalize_and_keepalive);
  g_test_add_func("/server/live/empty-frame-closes", test_empty_frame_closes);
  g_test_add_func("/server/live/idle-close", test_idle_close);
  g_test_add_func("/server/live/keepalive-without-audio",
                  test_keepalive_without_audio_does_not_prevent_idle);
  g_test_add_func("/server/live/keepalive-after-audio", test_keepalive_after_audio_prevents_idle);
  g_test_add_func("/server/live/multichannel", test_multichannel);
  g_test_add_func("/server/live/stereo-downmix", test_stereo_without_multichannel_is_downmixed);
  g_test_add_func("/server/live/wav-stream", test_wav_stream_without_encoding);
  g_test_add_func("/server/live/undecodable-1008", test_undecodable_audio_closes_1008);
  g_test_add_func("/server/live/vad-utterance-end", test_vad_and_utterance_end);
  g_test_add_func("/server/live/bad-options", test_bad_options_refused);
  g_test_add_func("/server/live/start-stop", test_start_stop_repeatedly);
  return g_test_run();
}
