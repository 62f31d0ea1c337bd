/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "net_thread.h"

using dgf::NetThread;

static void test_shared_instance() {
  auto a = NetThread::acquire();
  auto b = NetThread::acquire();
  g_assert_true(a.get() == b.get());
  g_assert_false(a->is_current());
}

static void test_private_and_per_element() {
  auto shared = NetThread::acquire();
  auto own = NetThread::create_private();
  g_assert_true(own.get() != shared.get());
  g_setenv("DGF_NET_THREAD", "per-element", TRUE);
  auto a = NetThread::for_element();
  auto b = NetThread::for_element();
  g_assert_true(a.get() != b.get());
  g_unsetenv("DGF_NET_THREAD");
  g_assert_true(NetThread::for_element().get() == shared.get());
  bool ran = false;
  own->invoke_sync([&] { ran = own->is_current(); });
  g_assert_true(ran);
}

static void test_invoke_sync_runs_on_thread_in_order() {
  auto t = NetThread::acquire();
  std::vector<int> order;
  for (int i = 0; i < 100; i++)
    t->invoke([&order, i] { order.push_back(i); });
  bool on_thread = false;
  t->invoke_sync([&] { on_thread = t->is_current(); });
  g_assert_true(on_thread);
  g_assert_cmpuint(order.size(), ==, 100);
  for (int i = 0; i < 100; i++)
    g_assert_cmpint(order[i], ==, i);
}

static void test_invoke_sync_from_thread_runs_inline() {
  auto t = NetThread::acquire();
  int depth = 0;
  t->invoke_sync([&] { t->invoke_sync([&] { depth = 2; }); });
  g_assert_cmpint(depth, ==, 2);
}

static void test_timeout_repeats_until_false_and_can_be_removed() {
  auto t = NetThread::acquire();
  std::mutex m;
  std::condition_variable cv;
  int fired = 0;
  t->add_timeout(0, [&] {
    std::lock_guard<std::mutex> lock(m);
    cv.notify_one();
    return ++fired < 3;
  });
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return fired == 3; });
  lock.unlock();

  std::atomic<int> never{0};
  guint id = t->add_timeout(60000, [&] { return ++never > 0; });
  t->remove_source(id);
  t->remove_source(0);
  t->invoke_sync([] {});
  g_assert_cmpint(never.load(), ==, 0);
}

static void test_restart_after_last_release() {
  NetThread *first;
  {
    auto t = NetThread::acquire();
    first = t.get();
    t->invoke_sync([] {});
  }
  auto again = NetThread::acquire();
  bool ran = false;
  again->invoke_sync([&] { ran = true; });
  g_assert_true(ran);
  (void)first;
}

static void test_last_release_on_the_thread_itself() {
  /* A user dropping the last reference from a network callback must neither
   * deadlock (joining itself) nor touch freed memory. */
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  {
    auto t = NetThread::acquire();
    auto *holder = new std::shared_ptr<NetThread>(t);
    t->invoke([holder, &m, &cv, &done] {
      delete holder; /* may be the last ref once the outer scope has let go */
      std::lock_guard<std::mutex> lock(m);
      done = true;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/net-thread/shared", test_shared_instance);
  g_test_add_func("/net-thread/private", test_private_and_per_element);
  g_test_add_func("/net-thread/invoke-order", test_invoke_sync_runs_on_thread_in_order);
  g_test_add_func("/net-thread/sync-inline", test_invoke_sync_from_thread_runs_inline);
  g_test_add_func("/net-thread/timeout", test_timeout_repeats_until_false_and_can_be_removed);
  g_test_add_func("/net-thread/restart", test_restart_after_last_release);
  g_test_add_func("/net-thread/release-on-thread", test_last_release_on_the_thread_itself);
  return g_test_run();
}
