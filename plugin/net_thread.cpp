/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net_thread.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

namespace dgf {
namespace {

/* The invoke() queue: one GSource whose dispatch runs every call queued so
 * far. invoke() wakes it only when the queue was empty, so a burst of calls
 * (every sink's buffer of one period) costs one wakeup and one iteration of
 * the main loop, not one each. The queue lives in the source, so it outlives
 * the NetThread object when the last user lets go on the thread itself. */
struct CallQueue {
  GSource source;
  std::mutex *mutex;
  std::vector<std::function<void()>> *calls;
};

gboolean dispatch_calls(GSource *source, GSourceFunc, gpointer) {
  auto *queue = reinterpret_cast<CallQueue *>(source);
  /* Re-armed by an invoke() that finds the queue empty after the swap below. */
  g_source_set_ready_time(source, -1);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(*queue->mutex);
    batch.swap(*queue->calls);
  }
  for (auto &fn : batch)
    fn();
  return G_SOURCE_CONTINUE;
}

void finalize_calls(GSource *source) {
  auto *queue = reinterpret_cast<CallQueue *>(source);
  delete queue->calls;
  delete queue->mutex;
}

GSourceFuncs call_queue_funcs = {nullptr,        nullptr, dispatch_calls,
                                 finalize_calls, nullptr, nullptr};

GSource *new_call_queue() {
  GSource *source = g_source_new(&call_queue_funcs, sizeof(CallQueue));
  auto *queue = reinterpret_cast<CallQueue *>(source);
  queue->mutex = new std::mutex();
  queue->calls = new std::vector<std::function<void()>>();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_name(source, "dgf-network calls");
  return source;
}

struct Timer {
  std::function<bool()> fn;
};
gboolean run_timer(gpointer data) {
  return static_cast<Timer *>(data)->fn() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}
void free_timer(gpointer data) {
  delete static_cast<Timer *>(data);
}

/* Aligned timeouts of one interval share one GSource that fires on
 * multiples of the interval of the monotonic clock and calls them all: one
 * source in the main loop's list instead of one per sink (every iteration
 * walks that list), and one wakeup per period. The callbacks live in a
 * shared state, so a source dispatched after the NetThread is gone (the last
 * user let go on the thread itself) is still safe. */
struct TickerState {
  std::mutex mutex;
  std::map<guint, std::shared_ptr<std::function<bool()>>> entries;
};

struct TickerSource {
  GSource source;
  gint64 interval_us;
  std::shared_ptr<TickerState> *state;
};

gint64 next_multiple(gint64 now_us, gint64 interval_us) {
  return (now_us / interval_us + 1) * interval_us;
}

gboolean dispatch_ticker(GSource *source, GSourceFunc, gpointer) {
  auto *ticker = reinterpret_cast<TickerSource *>(source);
  g_source_set_ready_time(source, next_multiple(g_source_get_time(source), ticker->interval_us));
  TickerState &state = **ticker->state;
  std::vector<std::pair<guint, std::shared_ptr<std::function<bool()>>>> snapshot;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    snapshot.assign(state.entries.begin(), state.entries.end());
  }
  for (auto &[id, fn] : snapshot) {
    {
      /* A callback may have removed a later one. */
      std::lock_guard<std::mutex> lock(state.mutex);
      if (!state.entries.count(id))
        continue;
    }
    if (!(*fn)()) {
      std::lock_guard<std::mutex> lock(state.mutex);
      state.entries.erase(id);
    }
  }
  return G_SOURCE_CONTINUE;
}

void finalize_ticker(GSource *source) {
  delete reinterpret_cast<TickerSource *>(source)->state;
}

GSourceFuncs ticker_funcs = {nullptr, nullptr, dispatch_ticker, finalize_ticker, nullptr, nullptr};

/* Ids of aligned timeouts have the high bit set: GLib's source ids count up
 * from 1 and never get there. */
constexpr guint kTickerIdBit = 0x80000000u;

std::mutex registry_mutex;
std::weak_ptr<NetThread> registry_instance;

} // namespace

struct NetThread::Tickers {
  std::mutex mutex;
  std::map<unsigned, std::shared_ptr<TickerState>> by_interval; /* interval ms -> state */
  std::map<guint, std::shared_ptr<TickerState>> by_id;
  guint next_id = kTickerIdBit;
};

std::shared_ptr<NetThread> NetThread::acquire() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  std::shared_ptr<NetThread> thread = registry_instance.lock();
  if (!thread) {
    thread.reset(new NetThread());
    registry_instance = thread;
  }
  return thread;
}

std::shared_ptr<NetThread> NetThread::create_private() {
  return std::shared_ptr<NetThread>(new NetThread());
}

std::shared_ptr<NetThread> NetThread::for_element() {
  const char *mode = g_getenv("DGF_NET_THREAD");
  return mode && g_str_equal(mode, "per-element") ? create_private() : acquire();
}

NetThread::NetThread() : tickers_(std::make_unique<Tickers>()) {
  context_ = g_main_context_new();
  loop_ = g_main_loop_new(context_, FALSE);
  calls_ = new_call_queue();
  g_source_attach(calls_, context_);
  /* The thread holds its own refs: it may outlive this object when the last
   * user lets go from a callback on the thread itself. */
  thread_ = g_thread_new("dgf-network", thread_main, g_main_loop_ref(loop_));
}

gpointer NetThread::thread_main(gpointer data) {
  GMainLoop *loop = static_cast<GMainLoop *>(data);
  GMainContext *context = g_main_loop_get_context(loop);
  g_main_context_push_thread_default(context);
  g_main_loop_run(loop);
  /* Let calls and sources added by the last users finish their cleanup. */
  while (g_main_context_iteration(context, FALSE)) {
  }
  g_main_context_pop_thread_default(context);
  g_main_loop_unref(loop);
  return nullptr;
}

NetThread::~NetThread() {
  /* Quit from inside the loop: a quit issued before g_main_loop_run() starts
   * would be lost and the join would hang. */
  GMainLoop *loop = loop_;
  invoke([loop] { g_main_loop_quit(loop); });
  if (is_current())
    g_thread_unref(thread_); /* cannot join itself: the loop ends after this callback */
  else
    g_thread_join(thread_);
  /* The queue source stays attached (the context may still be iterating it
   * when is_current()); it goes with the context. */
  g_source_unref(calls_);
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

bool NetThread::is_current() const {
  return g_main_context_is_owner(context_);
}

void NetThread::invoke(std::function<void()> fn) {
  auto *queue = reinterpret_cast<CallQueue *>(calls_);
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(*queue->mutex);
    was_empty = queue->calls->empty();
    queue->calls->push_back(std::move(fn));
  }
  /* Wakes the context when called from another thread. */
  if (was_empty)
    g_source_set_ready_time(calls_, 0);
}

void NetThread::invoke_sync(const std::function<void()> &fn) {
  if (is_current()) {
    fn();
    return;
  }
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  invoke([&] {
    fn();
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
    done_cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mutex);
  done_cv.wait(lock, [&] { return done; });
}

guint NetThread::add_timeout(unsigned interval_ms, std::function<bool()> fn) {
  GSource *source = g_timeout_source_new(interval_ms);
  g_source_set_callback(source, run_timer, new Timer{std::move(fn)}, free_timer);
  guint id = g_source_attach(source, context_);
  g_source_unref(source);
  return id;
}

guint NetThread::add_aligned_timeout(unsigned interval_ms, std::function<bool()> fn) {
  interval_ms = std::max(1u, interval_ms);
  std::lock_guard<std::mutex> lock(tickers_->mutex);
  std::shared_ptr<TickerState> &state = tickers_->by_interval[interval_ms];
  if (!state) {
    state = std::make_shared<TickerState>();
    GSource *source = g_source_new(&ticker_funcs, sizeof(TickerSource));
    auto *ticker = reinterpret_cast<TickerSource *>(source);
    ticker->interval_us = static_cast<gint64>(interval_ms) * 1000;
    ticker->state = new std::shared_ptr<TickerState>(state);
    g_source_set_ready_time(source, next_multiple(g_get_monotonic_time(), ticker->interval_us));
    g_source_set_name(source, "dgf-network ticker");
    g_source_attach(source, context_);
    g_source_unref(source); /* the context keeps it until the context goes */
  }
  guint id = tickers_->next_id++;
  {
    std::lock_guard<std::mutex> state_lock(state->mutex);
    state->entries[id] = std::make_shared<std::function<bool()>>(std::move(fn));
  }
  tickers_->by_id[id] = state;
  return id;
}

void NetThread::remove_source(guint id) {
  if (id == 0)
    return;
  if (id & kTickerIdBit) {
    std::lock_guard<std::mutex> lock(tickers_->mutex);
    auto it = tickers_->by_id.find(id);
    if (it == tickers_->by_id.end())
      return;
    {
      std::lock_guard<std::mutex> state_lock(it->second->mutex);
      it->second->entries.erase(id);
    }
    tickers_->by_id.erase(it);
    return;
  }
  GSource *source = g_main_context_find_source_by_id(context_, id);
  if (source)
    g_source_destroy(source);
}

} // namespace dgf
