/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Preloaded into the ThreadSanitizer tests by tools/run-tsan.sh.
 *
 * Debian's GLib is not built with TSan, and on Linux its GMutex and GCond
 * are futexes, not pthread calls that TSan intercepts. So TSan never sees
 * GStreamer's locks (object locks, appsrc/appsink/queue handoffs) and calls
 * every buffer or message handed from one thread to another under them a
 * data race, in our code that reads it. These wrappers call the real GLib
 * function and tell TSan what it did (lock = acquire, unlock = release),
 * which is the happens-before the futex provides.
 *
 * They catch calls from other libraries and from our code (through the PLT).
 * GLib's calls to its own mutexes (GMainContext, GAsyncQueue) bypass them, so
 * GAsyncQueue's, GThreadPool's and g_main_context_invoke's hand-overs are
 * annotated below; tools/tsan.supp covers what that leaves.
 *
 * Built without -fsanitize (it only calls the TSan annotation interface,
 * which the test executables export). tools/run-tsan.sh also sets
 * G_SLICE=always-malloc, so that TSan sees memory GLib reuses as freed and
 * allocated again, and ignore_noninstrumented_modules=1, so that it ignores
 * the accesses of uninstrumented libraries it cannot order.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

/* Weak: in a process without TSan (a shell, a helper) they are null and
 * the wrappers only forward. */
void __tsan_acquire(void *addr) __attribute__((weak));
void __tsan_release(void *addr) __attribute__((weak));
#define ACQUIRE(addr)                                                                              \
  do {                                                                                             \
    if (__tsan_acquire)                                                                            \
      __tsan_acquire(addr);                                                                        \
  } while (0)
#define RELEASE(addr)                                                                              \
  do {                                                                                             \
    if (__tsan_release)                                                                            \
      __tsan_release(addr);                                                                        \
  } while (0)

/* The next definition of `name` after this library: GLib's. */
#define REAL(name)                                                                                 \
  static __typeof__(&name) real_##name;                                                            \
  if (!real_##name)                                                                                \
  real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

void g_mutex_lock(GMutex *mutex) {
  REAL(g_mutex_lock);
  real_g_mutex_lock(mutex);
  ACQUIRE(mutex);
}

gboolean g_mutex_trylock(GMutex *mutex) {
  REAL(g_mutex_trylock);
  gboolean locked = real_g_mutex_trylock(mutex);
  if (locked)
    ACQUIRE(mutex);
  return locked;
}

void g_mutex_unlock(GMutex *mutex) {
  REAL(g_mutex_unlock);
  RELEASE(mutex);
  real_g_mutex_unlock(mutex);
}

void g_cond_wait(GCond *cond, GMutex *mutex) {
  REAL(g_cond_wait);
  RELEASE(mutex);
  real_g_cond_wait(cond, mutex);
  ACQUIRE(mutex);
}

gboolean g_cond_wait_until(GCond *cond, GMutex *mutex, gint64 end_time) {
  REAL(g_cond_wait_until);
  RELEASE(mutex);
  gboolean signalled = real_g_cond_wait_until(cond, mutex, end_time);
  ACQUIRE(mutex);
  return signalled;
}

/* GThreadPool hands each item over through a GAsyncQueue, whose lock is
 * internal to GLib: pushing releases the item, and the worker acquires it
 * before it runs (through a trampoline around the pool's function). */
typedef struct {
  GFunc func;
  gpointer user_data;
} PoolFunc;

static void pool_trampoline(gpointer data, gpointer user_data) {
  PoolFunc *pool_func = user_data;
  ACQUIRE(data);
  pool_func->func(data, pool_func->user_data);
}

GThreadPool *g_thread_pool_new(GFunc func, gpointer user_data, gint max_threads, gboolean exclusive,
                               GError **error) {
  REAL(g_thread_pool_new);
  PoolFunc *pool_func = g_new(PoolFunc, 1); /* lives as long as the process: test pools are few */
  pool_func->func = func;
  pool_func->user_data = user_data;
  return real_g_thread_pool_new(pool_trampoline, pool_func, max_threads, exclusive, error);
}

gboolean g_thread_pool_push(GThreadPool *pool, gpointer data, GError **error) {
  REAL(g_thread_pool_push);
  RELEASE(data);
  return real_g_thread_pool_push(pool, data, error);
}

/* GAsyncQueue (GstHarness hands every buffer and event through one): its
 * lock is internal to GLib, so pushing releases the item and popping it
 * acquires it. */
void g_async_queue_push(GAsyncQueue *queue, gpointer data) {
  REAL(g_async_queue_push);
  RELEASE(data);
  real_g_async_queue_push(queue, data);
}

gpointer g_async_queue_pop(GAsyncQueue *queue) {
  REAL(g_async_queue_pop);
  gpointer data = real_g_async_queue_pop(queue);
  if (data)
    ACQUIRE(data);
  return data;
}

gpointer g_async_queue_try_pop(GAsyncQueue *queue) {
  REAL(g_async_queue_try_pop);
  gpointer data = real_g_async_queue_try_pop(queue);
  if (data)
    ACQUIRE(data);
  return data;
}

gpointer g_async_queue_timeout_pop(GAsyncQueue *queue, guint64 timeout) {
  REAL(g_async_queue_timeout_pop);
  gpointer data = real_g_async_queue_timeout_pop(queue, timeout);
  if (data)
    ACQUIRE(data);
  return data;
}

/* g_main_context_invoke(): the function runs on the context's thread after
 * a hand-over under GMainContext's internal lock (the emulator's pre-recorded
 * workers hand finished jobs back this way). Invoking releases the data, the
 * trampoline acquires it before calling the function. */
typedef struct {
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} InvokeFunc;

static gboolean invoke_trampoline(gpointer user_data) {
  InvokeFunc *f = user_data;
  ACQUIRE(f);
  return f->func(f->data);
}

static void invoke_free(gpointer user_data) {
  InvokeFunc *f = user_data;
  if (f->notify)
    f->notify(f->data);
  g_free(f);
}

void g_main_context_invoke_full(GMainContext *context, gint priority, GSourceFunc function,
                                gpointer data, GDestroyNotify notify) {
  REAL(g_main_context_invoke_full);
  InvokeFunc *f = g_new(InvokeFunc, 1);
  f->func = function;
  f->data = data;
  f->notify = notify;
  RELEASE(f);
  real_g_main_context_invoke_full(context, priority, invoke_trampoline, f, invoke_free);
}

void g_main_context_invoke(GMainContext *context, GSourceFunc function, gpointer data) {
  g_main_context_invoke_full(context, G_PRIORITY_DEFAULT, function, data, NULL);
}
