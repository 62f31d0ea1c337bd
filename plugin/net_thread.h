/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network thread: one GMainContext on one thread, shared by every sink
 * in the process (a registry like the breaker's: created on first use, gone
 * when the last user lets go).
 *
 * All libsoup objects of a sink live on this context, so streaming threads
 * never block on the network: they hand work over with invoke(). One thread
 * for all sinks scales better than one per element (see docs/performance.md).
 * Calls handed over while the thread is busy run together in one wakeup (one
 * source, one queue), so the cost of a main-loop iteration over every sink's
 * sources is paid once per batch rather than once per buffer.
 */
#pragma once

#include <glib.h>

#include <functional>
#include <memory>

namespace dgf {

class NetThread {
public:
  /* The process-wide thread, started on first use. */
  static std::shared_ptr<NetThread> acquire();
  /* A thread of the caller's own. Only for measuring the shared thread
   * against one per element (DGF_NET_THREAD=per-element, see bench/). */
  static std::shared_ptr<NetThread> create_private();
  /* acquire(), or create_private() when DGF_NET_THREAD=per-element. */
  static std::shared_ptr<NetThread> for_element();

  ~NetThread();
  NetThread(const NetThread &) = delete;
  NetThread &operator=(const NetThread &) = delete;

  GMainContext *context() const { return context_; }
  bool is_current() const;

  /* Runs fn on the network thread soon, after the calls invoked before it.
   * Safe from any thread. */
  void invoke(std::function<void()> fn);

  /* Runs fn on the network thread and waits for it; runs inline when called
   * on the network thread. Never call while holding a lock fn needs. */
  void invoke_sync(const std::function<void()> &fn);

  /* A timeout on the network thread; returns the GSource id for
   * remove_source(). fn returns true to repeat. */
  guint add_timeout(unsigned interval_ms, std::function<bool()> fn);
  /* A periodic timeout that fires on multiples of interval_ms of the
   * monotonic clock, so every sink's timer of one period fires in the same
   * main-loop iteration (one wakeup for all, not one each). The first call
   * comes within one interval. For housekeeping ticks, not for deadlines. */
  guint add_aligned_timeout(unsigned interval_ms, std::function<bool()> fn);
  void remove_source(guint id);

private:
  NetThread();
  static gpointer thread_main(gpointer loop);

  GMainContext *context_ = nullptr;
  GMainLoop *loop_ = nullptr;
  GSource *calls_ = nullptr; /* the invoke() queue, see net_thread.cpp */
  struct Tickers;            /* add_aligned_timeout()'s shared sources */
  std::unique_ptr<Tickers> tickers_;
  GThread *thread_ = nullptr;
};

} // namespace dgf
