/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator live API with an engine slower than real time: a test double
 * of the sequence engine whose first recognizer waits at a gate the test
 * opens. The counters and the log say the connection is behind; meanwhile
 * the server answers, another connection gets its results, and Finalize
 * waits for recognition without holding up anything else. */
#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "emu_test_client.h"
#include "emulator.h"
#include "sequence_audio.h"
#include "sequence_engine.h"

using emutest::Frame;
using emutest::WsClient;

namespace {

const int kRate = 16000;
const emutest::Headers kAuth = {{"Authorization", "Token test-key"}};

struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void let_go() { set(true); }
  void set(bool to) {
    std::lock_guard<std::mutex> lock(mutex);
    open = to;
    cv.notify_all();
  }
  void pass() {
    std::unique_lock<std::mutex> lock(mutex);
    waiting++;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
    waiting--;
  }
  bool wait_waiting(int n) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return waiting == n; });
  }
};

/* Its feed() and finish() wait while the gate is closed. */
class GatedRecognizer : public dgemu::SequenceRecognizer {
public:
  GatedRecognizer(int rate, std::shared_ptr<Gate> gate)
      : SequenceRecognizer(rate), gate_(std::move(gate)) {}
  void feed(const int16_t *samples, size_t count) override {
    gate_->pass();
    SequenceRecognizer::feed(samples, count);
  }
  void finish() override {
    gate_->pass();
    SequenceRecognizer::finish();
  }

private:
  std::shared_ptr<Gate> gate_;
};

/* The sequence engine, but its first recognizer is gated; it runs on the
 * recognition threads as an engine that may lag does. */
class GatedEngine : public dgemu::Engine {
public:
  explicit GatedEngine(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  std::string name() const override { return "gated-sequence"; }
  std::unique_ptr<dgemu::Recognizer> create(int rate) override {
    if (created_++ == 0)
      return std::make_unique<GatedRecognizer>(rate, gate_);
    return std::make_unique<dgemu::SequenceRecognizer>(rate);
  }
  bool may_lag() const override { return true; }

private:
  std::shared_ptr<Gate> gate_;
  int created_ = 0; /* create() runs under the server's engine lock */
};

/* The gate opens whatever happens, so the emulator can stop. */
struct OpenAtExit {
  std::shared_ptr<Gate> gate;
  ~OpenAtExit() { gate->let_go(); }
};

void send_blocks(WsClient &c, uint32_t first, uint32_t count) {
  std::vector<int16_t> audio = dgemu::sequence_blocks(kRate, 1, first, count);
  for (size_t pos = 0; pos < audio.size(); pos += 1600)
    c.send_audio(audio.data() + pos, std::min<size_t>(1600, audio.size() - pos));
}

std::vector<std::string> final_words(const WsClient &c) {
  std::vector<std::string> words;
  for (const Frame *f : c.finals())
    for (const auto &w : emutest::words_of(emutest::alternative(f->obj())))
      words.push_back(w.word);
  return words;
}

std::string block_word(uint32_t n) {
  char buf[16];
  snprintf(buf, sizeof buf, "b%06u", n);
  return buf;
}

/* An emulator whose engine is the gated sequence engine, on two recognition
 * threads. */
std::unique_ptr<dgemu::Emulator> start_gated(std::shared_ptr<Gate> gate, double lag_warning_s) {
  dgemu::Options o;
  o.engine_instance = std::make_shared<GatedEngine>(std::move(gate));
  o.recognition_threads = 2;
  if (lag_warning_s > 0)
    o.lag_warning_s = lag_warning_s;
  auto emu = std::make_unique<dgemu::Emulator>(o);
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

void test_lag_is_reported_and_blocks_nothing() {
  auto gate = std::make_shared<Gate>();
  OpenAtExit opener{gate};
  auto started = start_gated(gate, 1.0);
  dgemu::Emulator &emu = *started;
  const std::string url = emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000";

  WsClient a;
  g_assert_true(a.connect(url, kAuth));
  send_blocks(a, 0, 30); /* 3 s, faster than real time */
  a.send_text(R"({"type":"Finalize"})");
  a.send_text(R"({"type":"KeepAlive"})");
  /* Recognition is stuck in the first 0.1 s: all 3 s are behind. */
  g_assert_true(a.wait(
      [&] {
        dgemu::Counters c = emu.counters();
        return c.recognition_lag_max_ms == 3000 && c.lagging_connections == 1;
      },
      10));
  dgemu::Counters c = emu.counters();
  g_assert_cmpint(c.lagging_connections_total, ==, 1);
  g_assert_cmpint(c.recognition_lag_peak_ms, ==, 3000);

  /* The server thread is free: the control endpoint answers... */
  auto r = emutest::http("GET", emu.http_url() + "/_emulator/counters");
  g_assert_cmpint(r.status, ==, 200);
  g_assert_cmpint(static_cast<long>(emutest::num(r.obj(), "recognition_lag_max_ms")), ==, 3000);
  g_assert_cmpint(static_cast<long>(emutest::num(r.obj(), "lagging_connections")), ==, 1);

  /* ...and another connection is transcribed on the other recognition
   * thread, Finalize and CloseStream included. Half a second of audio: sent
   * at once, it never counts as lagging (1 s), however slow the machine
   * (ASan). */
  WsClient b;
  g_assert_true(b.connect(url, kAuth));
  send_blocks(b, 100, 5);
  b.send_text(R"({"type":"CloseStream"})");
  g_assert_true(b.wait_closed(10));
  g_assert_cmpint(b.close_code(), ==, 1000);
  std::vector<std::string> bw = final_words(b);
  g_assert_cmpuint(bw.size(), ==, 5);
  for (uint32_t i = 0; i < 5; i++)
    EMU_ASSERT_STREQ(bw[i], block_word(100 + i));
  g_assert_true(a.finals().empty());
  g_assert_false(a.closed());

  /* Recognition goes on: Finalize answers with every word, in order, the
   * finals tiling the 3 s; the counters say it caught up. */
  gate->let_go();
  g_assert_true(a.wait(
      [&] {
        auto f = a.finals();
        return !f.empty() && json_object_get_boolean_member(f.back()->obj(), "from_finalize");
      },
      10));
  std::vector<std::string> aw = final_words(a);
  g_assert_cmpuint(aw.size(), ==, 30);
  for (uint32_t i = 0; i < 30; i++)
    EMU_ASSERT_STREQ(aw[i], block_word(i));
  double cursor = 0;
  for (const Frame *f : a.finals()) {
    g_assert_cmpfloat(std::fabs(emutest::num(f->obj(), "start") - cursor), <, 2e-6);
    cursor = emutest::num(f->obj(), "start") + emutest::num(f->obj(), "duration");
  }
  g_assert_cmpfloat(std::fabs(cursor - 3.0), <, 2e-6);
  g_assert_true(a.wait(
      [&] {
        dgemu::Counters now = emu.counters();
        return now.recognition_lag_max_ms == 0 && now.lagging_connections == 0;
      },
      10));
  g_assert_cmpint(emu.counters().lagging_connections_total, ==, 1);
  a.send_text(R"({"type":"CloseStream"})");
  g_assert_true(a.wait_closed(10));
  g_assert_cmpint(a.close_code(), ==, 1000);
}

/* Finalize while the engine takes its time to finish (no lag): the server
 * thread does not wait for it. */
void test_finalize_waits_for_nobody() {
  auto gate = std::make_shared<Gate>();
  gate->open = true;
  OpenAtExit opener{gate};
  auto started = start_gated(gate, 0);
  dgemu::Emulator &emu = *started;
  const std::string url = emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000";
  WsClient a;
  g_assert_true(a.connect(url, kAuth));
  send_blocks(a, 0, 10);
  g_assert_true(a.wait([&] { return a.finals().size() == 1; }));
  gate->set(false);
  a.send_text(R"({"type":"Finalize"})");
  g_assert_true(gate->wait_waiting(1)); /* the engine is in finish() */

  auto r = emutest::http("GET", emu.http_url() + "/_emulator/counters");
  g_assert_cmpint(r.status, ==, 200);
  WsClient b;
  g_assert_true(b.connect(url, kAuth));
  send_blocks(b, 100, 10);
  b.send_text(R"({"type":"CloseStream"})");
  g_assert_true(b.wait_closed(10));
  g_assert_cmpuint(final_words(b).size(), ==, 10);
  g_assert_cmpuint(a.finals().size(), ==, 1);

  gate->let_go();
  g_assert_true(a.wait([&] { return a.finals().size() == 2; }));
  g_assert_true(json_object_get_boolean_member(a.finals().back()->obj(), "from_finalize"));
  g_assert_cmpuint(final_words(a).size(), ==, 10);
}

/* What a connection sees, without ids and clocks: one line per message. */
std::vector<std::string> transcript_of(const WsClient &c) {
  std::vector<std::string> lines;
  for (const Frame &f : c.frames()) {
    JsonObject *o = f.obj();
    std::string line = f.type();
    if (f.type() == "Results") {
      char buf[160];
      snprintf(buf, sizeof buf, " final=%d speech_final=%d from_finalize=%d %.6f+%.6f ",
               json_object_get_boolean_member(o, "is_final"),
               json_object_get_boolean_member(o, "speech_final"),
               json_object_get_boolean_member_with_default(o, "from_finalize", FALSE),
               emutest::num(o, "start"), emutest::num(o, "duration"));
      line += buf + emutest::str(emutest::alternative(o), "transcript");
    } else if (f.type() == "UtteranceEnd") {
      line += " " + std::to_string(emutest::num(o, "last_word_end"));
    } else if (f.type() == "SpeechStarted") {
      line += " " + std::to_string(emutest::num(o, "timestamp"));
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> run_session(std::shared_ptr<dgemu::Engine> engine) {
  dgemu::Options o;
  o.engine_instance = std::move(engine);
  dgemu::Emulator emu(o);
  std::string err;
  if (!emu.start(&err))
    g_error("emulator start: %s", err.c_str());
  WsClient c;
  g_assert_true(c.connect(emu.ws_url() +
                              "/v1/listen?encoding=linear16&sample_rate=16000&interim_results=true&"
                              "vad_events=true&utterance_end_ms=1000&endpointing=300",
                          kAuth));
  /* Words, pauses (no block headers at all) for endpoints and UtteranceEnd. */
  std::vector<int16_t> audio;
  uint32_t block = 0;
  for (uint32_t words : {20u, 10u, 5u, 12u}) {
    std::vector<int16_t> part = dgemu::sequence_blocks(kRate, 1, block, words);
    audio.insert(audio.end(), part.begin(), part.end());
    audio.insert(audio.end(), static_cast<size_t>(kRate) * 3 / 2, 0);
    block += words;
  }
  bool finalized = false;
  for (size_t pos = 0; pos < audio.size(); pos += 320) {
    if (!finalized && pos >= audio.size() / 2) {
      c.send_text(R"({"type":"Finalize"})");
      finalized = true;
    }
    c.send_audio(audio.data() + pos, std::min<size_t>(320, audio.size() - pos));
  }
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed(20));
  g_assert_cmpint(c.close_code(), ==, 1000);
  return transcript_of(c);
}

/* SpeechStarted goes out as the audio arrives, whatever recognition is
 * doing: moved out of the sequence (in their own order) to compare the rest. */
std::vector<std::string> take_speech_started(std::vector<std::string> *lines) {
  std::vector<std::string> started, rest;
  for (auto &l : *lines)
    (l.rfind("SpeechStarted", 0) == 0 ? started : rest).push_back(std::move(l));
  *lines = std::move(rest);
  return started;
}

/* On recognition threads the messages are those of the engine on the server
 * thread, message for message (only later): the endpoints' speech_final and
 * UtteranceEnd at the same samples, whatever the lag. */
void test_same_messages_as_on_the_server_thread() {
  auto gate = std::make_shared<Gate>();
  gate->open = true;
  std::vector<std::string> threaded = run_session(std::make_shared<GatedEngine>(gate));
  std::vector<std::string> inline_ = run_session(std::make_shared<dgemu::SequenceEngine>());
  for (const auto &l : threaded)
    g_test_message("%s", l.c_str());
  std::vector<std::string> threaded_started = take_speech_started(&threaded);
  std::vector<std::string> inline_started = take_speech_started(&inline_);
  g_assert_cmpuint(threaded_started.size(), >=, 4);
  g_assert_true(threaded_started == inline_started);
  auto count = [&](const char *prefix) {
    return std::count_if(threaded.begin(), threaded.end(),
                         [&](const std::string &l) { return l.find(prefix) != std::string::npos; });
  };
  g_assert_cmpint(count("speech_final=1"), >=, 3);
  g_assert_cmpint(count("UtteranceEnd"), >=, 3);
  g_assert_cmpuint(threaded.size(), >, 10);
  g_assert_cmpuint(threaded.size(), ==, inline_.size());
  for (size_t i = 0; i < threaded.size(); i++)
    EMU_ASSERT_STREQ(threaded[i], inline_[i]);
}

/* The sequence engine runs on the server thread: never behind. */
void test_sequence_never_lags() {
  dgemu::Emulator emu;
  std::string err;
  if (!emu.start(&err))
    g_error("emulator start: %s", err.c_str());
  WsClient a;
  g_assert_true(a.connect(emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000", kAuth));
  send_blocks(a, 0, 20);
  a.send_text(R"({"type":"CloseStream"})");
  g_assert_true(a.wait_closed(10));
  g_assert_cmpuint(final_words(a).size(), ==, 20);
  dgemu::Counters c = emu.counters();
  g_assert_cmpint(c.recognition_lag_peak_ms, ==, 0);
  g_assert_cmpint(c.lagging_connections_total, ==, 0);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/lag/reported-and-blocks-nothing",
                  test_lag_is_reported_and_blocks_nothing);
  g_test_add_func("/server/lag/finalize-waits-for-nobody", test_finalize_waits_for_nobody);
  g_test_add_func("/server/lag/sequence-never-lags", test_sequence_never_lags);
  g_test_add_func("/server/lag/same-messages-as-on-the-server-thread",
                  test_same_messages_as_on_the_server_thread);
  return g_test_run();
}
