/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: the threads that recognize live audio (async_recognizer.h).
 *
 * A few threads (one per core by default) shared by every live connection,
 * so 100 connections do not make 100 threads. A task does one unit of work
 * per turn and goes to the back of the queue when it has more: connections
 * take turns, none starves the others.
 */
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dgemu {

class RecognitionPool {
public:
  class Task {
  public:
    virtual ~Task() = default;
    /* One unit of work on a pool thread; true: more to do, queue me again. */
    virtual bool run_once() = 0;
  };

  /* threads == 0: one per processor. */
  explicit RecognitionPool(unsigned threads = 0);
  /* Tasks still queued are dropped; units running finish first. */
  ~RecognitionPool();
  RecognitionPool(const RecognitionPool &) = delete;
  RecognitionPool &operator=(const RecognitionPool &) = delete;

  /* Queues a task that is not queued yet (the task keeps track); urgent
   * ones go first (someone waits for them). */
  void schedule(std::shared_ptr<Task> task, bool urgent = false);
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

private:
  void work();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace dgemu
