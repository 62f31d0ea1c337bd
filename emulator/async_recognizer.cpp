/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "async_recognizer.h"

#include <glib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace dgemu {

namespace {
/* rtf() averages over about this much audio. */
constexpr double kRtfWindowSeconds = 5.0;

double monotonic_seconds() {
  return static_cast<double>(g_get_monotonic_time()) / 1e6;
}
} // namespace

struct AsyncRecognizer::Input {
  std::vector<int16_t> samples;
  bool finish = false;
  bool endpoint = false;
};

struct AsyncRecognizer::Shared : public RecognitionPool::Task {
  using Input = AsyncRecognizer::Input;
  struct Done {
    size_t samples = 0;
    bool finished = false;
    std::vector<EngineWord> finals;
    double final_until = 0;
    std::vector<EngineWord> interim;
  };

  /* Only the pool thread running this task touches inner (the mutex hands it
   * over); it goes with the last reference, which may be a pool thread's. */
  std::unique_ptr<Recognizer> inner;
  Factory make_inner; /* until inner is made */
  int rate = 16000;
  RecognitionMeter *meter = nullptr;
  Clock clock;

  std::mutex mutex;
  std::condition_variable idle; /* scheduled went false */
  std::deque<Input> inputs;
  std::deque<Done> done;
  bool scheduled = false; /* queued in the pool or running */
  bool cancelled = false; /* the owner is gone */
  bool wake_pending = false;
  std::function<void()> wake;
  double rtf = 0;

  bool run_once() override {
    Input in;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (cancelled || inputs.empty()) {
        scheduled = false;
        idle.notify_all();
        return false;
      }
      in = std::move(inputs.front());
      inputs.pop_front();
    }
    if (make_inner) {
      inner = make_inner();
      make_inner = nullptr;
    }
    double t0 = clock();
    Done d;
    d.finished = in.finish;
    if (!in.finish)
      d.samples = in.samples.size();
    if (inner) {
      if (in.finish)
        inner->finish();
      else if (in.endpoint)
        inner->endpoint();
      else
        inner->feed(in.samples.data(), in.samples.size());
      d.finals = inner->take_final();
      d.final_until = inner->final_until();
      d.interim = inner->interim();
    }
    double busy = clock() - t0;
    double audio = static_cast<double>(d.samples) / rate;

    std::lock_guard<std::mutex> lock(mutex);
    if (meter)
      meter->add(busy, audio);
    if (audio > 0) {
      double weight = std::min(1.0, audio / kRtfWindowSeconds);
      rtf = rtf <= 0 ? busy / audio : rtf + (busy / audio - rtf) * weight;
    }
    bool more = !cancelled && !inputs.empty();
    if (!cancelled) {
      done.push_back(std::move(d));
      /* Called under the lock: the destructor (which takes it) then knows no
       * wake follows it. */
      if (!wake_pending && wake) {
        wake_pending = true;
        wake();
      }
    }
    if (!more) {
      scheduled = false;
      idle.notify_all();
    }
    return more;
  }
};

AsyncRecognizer::AsyncRecognizer(Factory make_inner, int sample_rate,
                                 std::shared_ptr<RecognitionPool> pool, std::function<void()> wake,
                                 RecognitionMeter *meter, Clock clock)
    : shared_(std::make_shared<Shared>()), pool_(std::move(pool)),
      rate_(sample_rate > 0 ? sample_rate : 16000) {
  shared_->make_inner = std::move(make_inner);
  shared_->rate = rate_;
  shared_->meter = meter;
  shared_->clock = clock ? std::move(clock) : Clock(monotonic_seconds);
  shared_->wake = std::move(wake);
}

AsyncRecognizer::AsyncRecognizer(std::unique_ptr<Recognizer> inner, int sample_rate,
                                 std::shared_ptr<RecognitionPool> pool, std::function<void()> wake,
                                 RecognitionMeter *meter, Clock clock)
    : AsyncRecognizer(Factory(), sample_rate, std::move(pool), std::move(wake), meter,
                      std::move(clock)) {
  shared_->inner = std::move(inner);
}

AsyncRecognizer::~AsyncRecognizer() {
  /* No wait: a unit running goes on, then the pool thread lets go. */
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->cancelled = true;
  shared_->inputs.clear();
  shared_->wake = nullptr;
}

void AsyncRecognizer::feed(const int16_t *samples, size_t count) {
  fed_ += count;
  finish_requested_ = finish_replayed_ = false;
  Input in;
  in.samples.assign(samples, samples + count);
  queue(std::move(in), false);
}

void AsyncRecognizer::endpoint() {
  Input in;
  in.endpoint = true;
  queue(std::move(in), false);
}

void AsyncRecognizer::queue(Input in, bool urgent) {
  bool schedule = false;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->inputs.push_back(std::move(in));
    schedule = !shared_->scheduled;
    shared_->scheduled = true;
  }
  if (schedule)
    pool_->schedule(shared_, urgent);
}

void AsyncRecognizer::finish() {
  request_finish();
  std::unique_lock<std::mutex> lock(shared_->mutex);
  shared_->idle.wait(lock, [this] { return !shared_->scheduled; });
}

void AsyncRecognizer::request_finish() {
  if (finish_requested_)
    return;
  finish_requested_ = true;
  Input in;
  in.finish = true;
  /* Urgent: the owner waits for it (when it is queued already, it has
   * steps ahead of the end anyway and takes its turn). */
  queue(std::move(in), true);
}

std::vector<EngineWord> AsyncRecognizer::take_final() {
  std::vector<EngineWord> words;
  words.swap(final_);
  return words;
}

bool AsyncRecognizer::step(Step *out) {
  Shared::Done d;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (shared_->done.empty()) {
      shared_->wake_pending = false;
      return false;
    }
    d = std::move(shared_->done.front());
    shared_->done.pop_front();
  }
  final_.insert(final_.end(), std::make_move_iterator(d.finals.begin()),
                std::make_move_iterator(d.finals.end()));
  final_until_ = d.final_until;
  interim_ = std::move(d.interim);
  replayed_ += d.samples;
  if (d.finished)
    finish_replayed_ = true;
  out->samples = d.samples;
  out->finished = d.finished;
  return true;
}

double AsyncRecognizer::rtf() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->rtf;
}

} // namespace dgemu
