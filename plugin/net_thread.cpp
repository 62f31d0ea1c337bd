#include "net_thread.h"

#include <condition_variable>
#include <mutex>

namespace dgf {
namespace {

struct Call {
  std::function<void()> fn;
};

gboolean run_call(gpointer data) {
  static_cast<Call *>(data)->fn();
  return G_SOURCE_REMOVE;
}
void free_call(gpointer data) {
  delete static_cast<Call *>(data);
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

std::mutex registry_mutex;
std::weak_ptr<NetThread> registry_instance;

} // namespace

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

NetThread::NetThread() {
  context_ = g_main_context_new();
  loop_ = g_main_loop_new(context_, FALSE);
  /* The thread holds its own refs: it may outlive this object when the last
   * user lets go from a callback on the thread itself. */
  thread_ = g_thread_new("dgf-network", thread_main, g_main_loop_ref(loop_));
}

gpointer NetThread::thread_main(gpointer data) {
  GMainLoop *loop = static_cast<GMainLoop *>(data);
  GMainContext *context = g_main_loop_get_context(loop);
  g_main_context_push_thread_default(context);
  g_main_loop_run(loop);
  /* Let sources added by the last users finish their cleanup callbacks. */
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
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

bool NetThread::is_current() const {
  return g_main_context_is_owner(context_);
}

void NetThread::invoke(std::function<void()> fn) {
  GSource *source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(source, run_call, new Call{std::move(fn)}, free_call);
  g_source_attach(source, context_);
  g_source_unref(source);
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

void NetThread::remove_source(guint id) {
  if (id == 0)
    return;
  GSource *source = g_main_context_find_source_by_id(context_, id);
  if (source)
    g_source_destroy(source);
}

} // namespace dgf
