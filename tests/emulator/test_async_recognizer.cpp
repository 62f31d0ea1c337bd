/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AsyncRecognizer and RecognitionPool with a test double of an engine whose
 * feed() waits at a gate the test opens: feed() never waits for it, finish()
 * waits for everything queued, the steps replay what the engine said in
 * order, lag and the real-time factor are measured. */
#include <glib.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "async_recognizer.h"

using dgemu::AsyncRecognizer;
using dgemu::EngineWord;
using dgemu::RecognitionPool;

namespace {

constexpr int kRate = 16000;
constexpr size_t kChunk = 1600; /* 0.1 s */

/* What the test and the pool threads share; every field under mutex. */
struct World {
  std::mutex mutex;
  std::condition_variable cv;
  bool gate_open = true;
  int inside = 0;    /* feed() calls waiting at the gate or running */
  int wakes = 0;     /* wake() calls */
  double clock = 0;  /* fake seconds: feed() costs twice its audio */
  std::string order; /* names of the recognizers in the order they were fed */
  int destroyed = 0;

  template <typename P> bool wait_for(P pred) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), pred);
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex);
    gate_open = true;
    cv.notify_all();
  }
};

/* One word per feed(), final at once; an interim guess; "end" at finish(),
 * "pauseN" at an endpoint after N feeds. */
class FakeRecognizer : public dgemu::Recognizer {
public:
  FakeRecognizer(World *w, char name) : w_(w), name_(name) {}
  ~FakeRecognizer() override {
    std::lock_guard<std::mutex> lock(w_->mutex);
    w_->destroyed++;
    w_->cv.notify_all();
  }
  void feed(const int16_t *, size_t count) override {
    std::unique_lock<std::mutex> lock(w_->mutex);
    w_->inside++;
    w_->order += name_;
    w_->cv.notify_all();
    w_->cv.wait(lock, [this] { return w_->gate_open; });
    w_->inside--;
    double secs = static_cast<double>(count) / kRate;
    w_->clock += 2 * secs;
    EngineWord word;
    word.word = "w" + std::to_string(feeds_++);
    word.start = fed_;
    fed_ += secs;
    word.end = fed_;
    final_.push_back(word);
  }
  std::vector<EngineWord> take_final() override {
    std::vector<EngineWord> out;
    out.swap(final_);
    return out;
  }
  double final_until() const override { return fed_; }
  std::vector<EngineWord> interim() override {
    EngineWord guess;
    guess.word = "guess" + std::to_string(feeds_);
    return {guess};
  }
  void finish() override {
    EngineWord end;
    end.word = "end";
    final_.push_back(end);
  }
  void endpoint() override {
    EngineWord pause;
    pause.word = "pause" + std::to_string(feeds_);
    final_.push_back(pause);
  }
  double fed_seconds() const override { return fed_; }

private:
  World *w_;
  char name_;
  int feeds_ = 0;
  double fed_ = 0;
  std::vector<EngineWord> final_;
};

std::unique_ptr<AsyncRecognizer> make(World *w, std::shared_ptr<RecognitionPool> pool,
                                      dgemu::RecognitionMeter *meter = nullptr, char name = 'a') {
  return std::make_unique<AsyncRecognizer>(
      std::make_unique<FakeRecognizer>(w, name), kRate, std::move(pool),
      [w] {
        std::lock_guard<std::mutex> lock(w->mutex);
        w->wakes++;
        w->cv.notify_all();
      },
      meter,
      [w] {
        std::lock_guard<std::mutex> lock(w->mutex);
        return w->clock;
      });
}

void feed_chunks(AsyncRecognizer *r, int n) {
  std::vector<int16_t> silence(kChunk, 0);
  for (int i = 0; i < n; i++)
    r->feed(silence.data(), silence.size());
}

/* The engine is stuck in its first feed(): ten more return at once, count as
 * lag, and replay in order once it goes on. */
void test_feed_does_not_wait() {
  World w;
  w.gate_open = false;
  auto pool = std::make_shared<RecognitionPool>(2);
  auto r = make(&w, pool);
  feed_chunks(r.get(), 10);
  g_assert_true(w.wait_for([&] { return w.inside == 1; }));
  g_assert_cmpfloat(r->lag_seconds(), ==, 1.0);
  AsyncRecognizer::Step step;
  g_assert_false(r->step(&step));
  g_assert_cmpuint(r->take_final().size(), ==, 0);

  w.open();
  std::vector<std::string> words;
  for (int replayed = 0; replayed < 10;) {
    g_assert_true(w.wait_for([&] { return w.wakes > 0; }));
    {
      std::lock_guard<std::mutex> lock(w.mutex);
      w.wakes = 0; /* step() answers this wake */
    }
    while (r->step(&step)) {
      g_assert_cmpuint(step.samples, ==, kChunk);
      g_assert_false(step.finished);
      replayed++;
      for (auto &word : r->take_final())
        words.push_back(word.word);
      /* The view is the engine's right after that feed(). */
      g_assert_cmpfloat(std::abs(r->final_until() - replayed * 0.1), <, 1e-9);
    }
  }
  g_assert_cmpuint(words.size(), ==, 10);
  for (size_t i = 0; i < words.size(); i++) {
    std::string expected = "w" + std::to_string(i);
    g_assert_cmpstr(words[i].c_str(), ==, expected.c_str());
  }
  std::string guess = r->interim().at(0).word;
  g_assert_cmpstr(guess.c_str(), ==, "guess10");
  g_assert_cmpfloat(r->lag_seconds(), ==, 0.0);
}

/* An endpoint is heard in its place among the audio: its own step, with no
 * samples, holds what the pause made final. */
void test_endpoint_in_order() {
  World w;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto r = make(&w, pool);
  feed_chunks(r.get(), 2);
  r->endpoint();
  feed_chunks(r.get(), 1);
  r->finish();
  AsyncRecognizer::Step step;
  std::string seen;
  while (r->step(&step)) {
    seen += "[" + std::to_string(step.samples) + (step.finished ? " end]" : "]");
    for (auto &word : r->take_final())
      seen += " " + word.word;
    seen += ";";
  }
  g_assert_cmpstr(seen.c_str(), ==, "[1600] w0;[1600] w1;[0] pause2;[1600] w2;[0 end] end;");
  g_assert_cmpfloat(r->lag_seconds(), ==, 0.0);
}

/* finish() returns once everything queued before it is recognized, the end
 * included: every step is ready, the last one finished. */
void test_finish_drains() {
  World w;
  w.gate_open = false;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto r = make(&w, pool);
  feed_chunks(r.get(), 5);
  std::thread opener([&] {
    w.wait_for([&] { return w.inside == 1; });
    w.open();
  });
  r->finish();
  opener.join();
  AsyncRecognizer::Step step;
  int feeds = 0;
  bool finished = false;
  while (r->step(&step)) {
    g_assert_false(finished); /* the end comes last */
    if (step.finished)
      finished = true;
    else
      feeds++;
  }
  g_assert_cmpint(feeds, ==, 5);
  g_assert_true(finished);
  auto words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 6);
  g_assert_cmpstr(words.back().word.c_str(), ==, "end");
  g_assert_cmpfloat(std::abs(r->final_until() - r->fed_seconds()), <, 1e-9);
  g_assert_cmpfloat(r->lag_seconds(), ==, 0.0);
}

/* request_finish() does not wait; once its step is replayed, finish() has
 * nothing left to wait for and the engine ended once. */
void test_request_finish() {
  World w;
  w.gate_open = false;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto r = make(&w, pool);
  feed_chunks(r.get(), 2);
  g_assert_true(w.wait_for([&] { return w.inside == 1; }));
  r->request_finish();
  r->request_finish(); /* once */
  g_assert_false(r->finish_replayed());
  w.open();
  AsyncRecognizer::Step step;
  int steps = 0;
  while (!r->finish_replayed()) {
    g_assert_true(w.wait_for([&] { return w.wakes > 0; }));
    {
      std::lock_guard<std::mutex> lock(w.mutex);
      w.wakes = 0;
    }
    while (r->step(&step))
      steps++;
  }
  g_assert_cmpint(steps, ==, 3);
  r->finish();
  g_assert_false(r->step(&step));
  auto words = r->take_final();
  g_assert_cmpuint(words.size(), ==, 3);
  g_assert_cmpstr(words.back().word.c_str(), ==, "end");
  feed_chunks(r.get(), 1); /* audio after the end: it may end again */
  g_assert_false(r->finish_replayed());
}

/* Making the engine's recognizer can take long: it happens on the pool
 * thread, at the first feed(). */
void test_made_on_the_pool_thread() {
  World w;
  auto pool = std::make_shared<RecognitionPool>(1);
  std::thread::id made_on;
  AsyncRecognizer r(
      [&] {
        std::lock_guard<std::mutex> lock(w.mutex);
        made_on = std::this_thread::get_id();
        return std::unique_ptr<dgemu::Recognizer>(new FakeRecognizer(&w, 'a'));
      },
      kRate, pool, [] {});
  feed_chunks(&r, 1);
  r.finish();
  std::lock_guard<std::mutex> lock(w.mutex);
  g_assert_true(made_on != std::thread::id());
  g_assert_true(made_on != std::this_thread::get_id());
}

/* An engine that takes 2 s per second of audio: rtf() and the meter say 2. */
void test_rtf() {
  World w;
  dgemu::RecognitionMeter meter;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto r = make(&w, pool, &meter);
  feed_chunks(r.get(), 20);
  r->finish();
  g_assert_cmpfloat(std::abs(r->rtf() - 2.0), <, 1e-9);
  g_assert_cmpfloat(std::abs(meter.take_rtf() - 2.0), <, 1e-9);
  g_assert_cmpfloat(meter.take_rtf(), ==, -1.0); /* nothing since */
}

/* Destroying it while the engine is busy does not wait; no wake follows; the
 * engine goes once its feed() is over. */
void test_destroy_while_busy() {
  World w;
  w.gate_open = false;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto r = make(&w, pool);
  feed_chunks(r.get(), 3);
  g_assert_true(w.wait_for([&] { return w.inside == 1; }));
  r.reset();
  w.open();
  g_assert_true(w.wait_for([&] { return w.destroyed == 1; }));
  pool.reset(); /* joins */
  std::lock_guard<std::mutex> lock(w.mutex);
  g_assert_cmpint(w.wakes, ==, 0);
  g_assert_cmpstr(w.order.c_str(), ==, "a"); /* the rest was dropped */
}

/* One thread, two connections: they take turns, a long backlog does not make
 * the other wait for all of it. */
void test_pool_takes_turns() {
  World w;
  w.gate_open = false;
  auto pool = std::make_shared<RecognitionPool>(1);
  auto a = make(&w, pool, nullptr, 'a');
  auto b = make(&w, pool, nullptr, 'b');
  feed_chunks(a.get(), 4);
  g_assert_true(w.wait_for([&] { return w.inside == 1; }));
  feed_chunks(b.get(), 2);
  w.open();
  a->finish();
  b->finish();
  std::lock_guard<std::mutex> lock(w.mutex);
  g_assert_cmpstr(w.order.c_str(), ==, "ababaa");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/async-recognizer/feed-does-not-wait", test_feed_does_not_wait);
  g_test_add_func("/async-recognizer/finish-drains", test_finish_drains);
  g_test_add_func("/async-recognizer/request-finish", test_request_finish);
  g_test_add_func("/async-recognizer/endpoint-in-order", test_endpoint_in_order);
  g_test_add_func("/async-recognizer/made-on-the-pool-thread", test_made_on_the_pool_thread);
  g_test_add_func("/async-recognizer/rtf", test_rtf);
  g_test_add_func("/async-recognizer/destroy-while-busy", test_destroy_while_busy);
  g_test_add_func("/async-recognizer/pool-takes-turns", test_pool_takes_turns);
  return g_test_run();
}
