/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "recognition_pool.h"

#include <glib.h>

#include <algorithm>

namespace dgemu {

RecognitionPool::RecognitionPool(unsigned threads) {
  if (threads == 0)
    threads = std::max(1u, g_get_num_processors());
  for (unsigned i = 0; i < threads; i++)
    threads_.emplace_back([this] { work(); });
}

RecognitionPool::~RecognitionPool() {
  std::deque<std::shared_ptr<Task>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto &t : threads_)
    t.join();
  /* dropped goes here, outside the lock: a task's destructor may be long. */
}

void RecognitionPool::schedule(std::shared_ptr<Task> task, bool urgent) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return;
    if (urgent)
      queue_.push_front(std::move(task));
    else
      queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void RecognitionPool::work() {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_)
        return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    if (task->run_once())
      schedule(std::move(task));
    /* Otherwise the last reference may go here, off the lock. */
  }
}

} // namespace dgemu
