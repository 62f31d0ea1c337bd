/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator.h"

#include "auth.h"
#include "batch_handler.h"
#include "compressed_audio.h"
#include "control_endpoint.h"
#include "idle_connection_reaper.h"
#include "json_out.h"
#include "listen_options.h"
#include "live_session.h"
#include "option_rules.h"
#include "server_context.h"
#include "wav_reader.h"

#include <libsoup/soup.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace dgemu {

namespace {
/* soup_server_listen() leaves GSocket's listen backlog of 10: a thousand
 * clients connecting at once (a failover storm, bench-live-streams) then
 * lose SYNs and wait seconds for TCP to retry, which Deepgram's servers
 * never make them do. The socket is made here with the system's maximum. */
bool listen_on(SoupServer *server, GSocketAddress *addr, SoupServerListenOptions options,
               GError **error) {
  GSocket *socket =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (!socket)
    return false;
  g_socket_set_listen_backlog(socket, SOMAXCONN);
  bool ok = g_socket_bind(socket, addr, TRUE, error) && g_socket_listen(socket, error) &&
            soup_server_listen_socket(server, socket, options, error);
  g_object_unref(socket);
  return ok;
}
} // namespace

namespace {

const char kRequestIdKey[] = "dgemu-request-id";
const char kPendingLiveKey[] = "dgemu-pending-live";

struct PendingLive {
  ListenOptions opts;
  std::vector<ConnEffect> effects;
  GSocket *socket = nullptr;
  ~PendingLive() {
    if (socket)
      g_object_unref(socket);
  }
};

const char kIgnoredHeader[] = "dg-emulator-ignored";

std::string request_id_of(SoupServerMessage *msg) {
  const char *id = static_cast<const char *>(g_object_get_data(G_OBJECT(msg), kRequestIdKey));
  return id ? id : new_request_id();
}

} // namespace

struct Emulator::Impl : public ControlTarget {
  Options opts;
  CounterStore counters;
  FaultController faults;
  ServerContext sctx;

  std::mutex api_mutex; /* serializes start/stop */
  std::thread thread;
  GMainContext *ctx = nullptr;
  GMainLoop *loop = nullptr;
  SoupServer *server = nullptr;
  GSource *tick_source = nullptr;
  std::unique_ptr<BatchService> batch;
  std::unique_ptr<IdleConnectionReaper> reaper; /* works around libsoup 3.2 keeping them */
  std::vector<std::unique_ptr<LiveSession>> sessions;
  std::atomic<int> port{0};
  std::atomic<bool> is_running{false};
  GTlsCertificate *tls_cert = nullptr; /* set while running with TLS */
  /* Gauges the ticks keep (server thread). */
  gint64 last_tick_us = 0;
  gint64 window_start_us = 0;
  gint64 tick_late_us = 0; /* the most a tick was late in this window */
  double last_rtf = 0;

  explicit Impl(Options o) : opts(std::move(o)), faults(opts.clock) {
    sctx.counters = &counters;
    sctx.faults = &faults;
  }

  /* ---- thread plumbing ---- */

  void run_sync(const std::function<void()> &fn) {
    if (!ctx || !is_running || g_main_context_is_owner(ctx)) {
      fn();
      return;
    }
    struct Call {
      const std::function<void()> *fn;
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
    } call;
    call.fn = &fn;
    g_main_context_invoke_full(
        ctx, G_PRIORITY_DEFAULT,
        [](gpointer d) -> gboolean {
          Call *c = static_cast<Call *>(d);
          (*c->fn)();
          std::lock_guard<std::mutex> lock(c->m);
          c->done = true;
          c->cv.notify_all();
          return G_SOURCE_REMOVE;
        },
        &call, nullptr);
    std::unique_lock<std::mutex> lock(call.m);
    call.cv.wait(lock, [&] { return call.done; });
  }

  bool start(std::string *error) {
    std::lock_guard<std::mutex> lock(api_mutex);
    if (is_running)
      return true;
    std::string err;
    if (opts.engine_instance) {
      sctx.engine = opts.engine_instance;
    } else {
      std::unique_ptr<Engine> e = make_engine(opts.engine, &err);
      if (!e) {
        if (error)
          *error = "engine '" + opts.engine + "': " + (err.empty() ? "unavailable" : err);
        return false;
      }
      sctx.engine = std::shared_ptr<Engine>(std::move(e));
    }
    std::vector<Fault> timeline = opts.faults;
    if (!opts.faults_file.empty() && !load_faults_file(opts.faults_file, &timeline, &err)) {
      if (error)
        *error = err;
      return false;
    }
    if (opts.tls_cert_file.empty() != opts.tls_key_file.empty()) {
      if (error)
        *error = "TLS needs both a certificate and a key file";
      return false;
    }
    if (!opts.tls_cert_file.empty()) {
      GError *gerr = nullptr;
      tls_cert = g_tls_certificate_new_from_files(opts.tls_cert_file.c_str(),
                                                  opts.tls_key_file.c_str(), &gerr);
      if (!tls_cert) {
        if (error)
          *error = "TLS certificate " + opts.tls_cert_file + " / key " + opts.tls_key_file + ": " +
                   (gerr ? gerr->message : "cannot load");
        g_clear_error(&gerr);
        return false;
      }
    }
    sctx.api_key = opts.api_key;
    sctx.idle_timeout_s = opts.idle_timeout_s;
    sctx.lag_warning_s = opts.lag_warning_s > 0 ? opts.lag_warning_s : 2.0;
    sctx.batch_concurrency = opts.batch_concurrency;
    faults.clear();
    faults.reset_clock();
    faults.add(timeline, false);
    counters.reset();

    ctx = g_main_context_new();
    sctx.main_context = ctx;
    if (sctx.engine->may_lag())
      sctx.pool = std::make_shared<RecognitionPool>(opts.recognition_threads);
    last_tick_us = window_start_us = tick_late_us = 0;
    last_rtf = 0;
    std::promise<std::string> ready;
    std::future<std::string> ready_f = ready.get_future();
    thread = std::thread([this, &ready] { run(&ready); });
    std::string start_error = ready_f.get();
    if (!start_error.empty()) {
      thread.join();
      sctx.pool.reset();
      g_main_context_unref(ctx);
      ctx = nullptr;
      g_clear_object(&tls_cert);
      if (error)
        *error = start_error;
      return false;
    }
    is_running = true;
    return true;
  }

  void run(std::promise<std::string> *ready) {
    g_main_context_push_thread_default(ctx);
    server = soup_server_new("server-header", "dg-emulator ", nullptr);
    if (tls_cert)
      soup_server_set_tls_certificate(server, tls_cert);
    soup_server_add_handler(server, nullptr, default_cb, this, nullptr);
    soup_server_add_handler(server, "/v1/listen", listen_cb, this, nullptr);
    char *protocols[] = {const_cast<char *>("token"), const_cast<char *>("bearer"), nullptr};
    soup_server_add_websocket_handler(server, "/v1/listen", nullptr, protocols, websocket_cb, this,
                                      nullptr);
    soup_server_add_handler(server, "/_emulator", control_cb, this, nullptr);
    g_signal_connect(server, "request-started", G_CALLBACK(request_started_cb), this);

    GInetAddress *loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(loopback, static_cast<guint16>(opts.port));
    GError *gerr = nullptr;
    auto listen_opts =
        static_cast<SoupServerListenOptions>(tls_cert ? SOUP_SERVER_LISTEN_HTTPS : 0);
    bool ok = listen_on(server, addr, listen_opts, &gerr);
    g_object_unref(addr);
    g_object_unref(loopback);
    if (!ok) {
      std::string msg = std::string("cannot listen on 127.0.0.1:") + std::to_string(opts.port) +
                        ": " + (gerr ? gerr->message : "?");
      g_clear_error(&gerr);
      g_object_unref(server);
      server = nullptr;
      g_main_context_pop_thread_default(ctx);
      ready->set_value(msg);
      return;
    }
    /* The port from the listening socket (soup_server_get_uris() leaks an
     * address in libsoup 3.2). */
    GSList *listeners = soup_server_get_listeners(server);
    port = 0;
    if (listeners) {
      GSocketAddress *local = g_socket_get_local_address(G_SOCKET(listeners->data), nullptr);
      if (local) {
        port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
        g_object_unref(local);
      }
    }
    g_slist_free(listeners);

    batch = std::make_unique<BatchService>(&sctx, ctx);
    reaper = std::make_unique<IdleConnectionReaper>(server, ctx);
    loop = g_main_loop_new(ctx, FALSE);
    guint interval = static_cast<guint>(std::max(1.0, opts.tick_interval_s * 1000));
    tick_source = g_timeout_source_new(interval);
    g_source_set_callback(tick_source, tick_cb, this, nullptr);
    g_source_attach(tick_source, ctx);
    ready->set_value("");

    g_main_loop_run(loop);

    /* Stopping: stop() already closed connections; free the rest here. */
    g_source_destroy(tick_source);
    g_source_unref(tick_source);
    tick_source = nullptr;
    sessions.clear();
    sctx.pool.reset(); /* after the sessions: no recognizer is left to wake them */
    reaper.reset();
    batch->drain();
    soup_server_disconnect(server);
    while (g_main_context_iteration(ctx, FALSE)) {
    }
    batch.reset();
    g_object_unref(server);
    server = nullptr;
    while (g_main_context_iteration(ctx, FALSE)) {
    }
    g_main_loop_unref(loop);
    loop = nullptr;
    g_main_context_pop_thread_default(ctx);
  }

  void stop() {
    std::lock_guard<std::mutex> lock(api_mutex);
    if (!is_running)
      return;
    /* Close live connections with a frame and give them a moment. */
    run_sync([this] {
      for (auto &s : sessions)
        s->shutdown();
    });
    for (int i = 0; i < 30; i++) {
      bool all_closed = true;
      run_sync([&] {
        for (auto &s : sessions)
          all_closed = all_closed && s->finished();
      });
      if (all_closed)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    run_sync([this] {
      soup_server_disconnect(server);
      g_main_loop_quit(loop);
    });
    thread.join();
    is_running = false;
    g_main_context_unref(ctx);
    ctx = nullptr;
    g_clear_object(&tls_cert);
    port = 0;
  }

  /* ---- faults ---- */

  void apply_due_faults() {
    for (const Fault &f : faults.poll()) {
      if (f.is_conn_fault()) {
        for (auto &s : sessions)
          if (!s->finished())
            s->attach(f.effect);
      } else if (f.type == FaultType::Outage) {
        for (auto &s : sessions) {
          if (s->finished())
            continue;
          counters.fault_fired("outage");
          if (f.outage_close)
            s->close_now(f.effect.code, close_reason_text(f.effect.reason));
          else
            s->drop_connection();
        }
      }
    }
  }

  static gboolean tick_cb(gpointer data) {
    Impl *self = static_cast<Impl *>(data);
    self->apply_due_faults();
    for (auto &s : self->sessions)
      s->tick();
    self->update_gauges();
    auto &v = self->sessions;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [](const std::unique_ptr<LiveSession> &s) { return s->finished(); }),
            v.end());
    return G_SOURCE_CONTINUE;
  }

  /* The counters that say how things are now: recognition lag, real-time
   * factor, the server thread's own delay (its timer firing late). */
  void update_gauges() {
    gint64 now = g_get_monotonic_time();
    gint64 interval_us = static_cast<gint64>(std::max(1.0, opts.tick_interval_s * 1000)) * 1000;
    if (last_tick_us)
      tick_late_us = std::max(tick_late_us, now - last_tick_us - interval_us);
    last_tick_us = now;
    double lag = 0;
    long long lagging = 0;
    for (auto &s : sessions) {
      if (s->finished())
        continue;
      lag = std::max(lag, s->lag_seconds());
      lagging += s->lagging() ? 1 : 0;
    }
    bool window_done = now - window_start_us >= 1000000;
    if (window_done) {
      double rtf = sctx.meter.take_rtf();
      /* Nothing recognized for a second: still slow when something waits. */
      last_rtf = rtf >= 0 ? rtf : (lag > 0 ? last_rtf : 0);
    }
    long long lag_ms = std::llround(lag * 1000);
    counters.update([&](Counters &c) {
      c.recognition_lag_max_ms = lag_ms;
      c.recognition_lag_peak_ms = std::max(c.recognition_lag_peak_ms, lag_ms);
      c.lagging_connections = lagging;
      if (window_done) {
        c.recognition_rtf = last_rtf;
        c.server_tick_late_ms = tick_late_us / 1000;
      }
    });
    if (window_done) {
      window_start_us = now;
      tick_late_us = 0;
    }
  }

  /* ControlTarget (server thread) */
  Counters control_counters() override { return counters.get(); }
  void control_reset(bool c, bool f) override {
    if (c)
      counters.reset();
    if (f)
      faults.clear();
  }
  std::vector<int> control_inject(std::vector<Fault> list, bool relative) override {
    std::vector<int> ids = faults.add(std::move(list), relative);
    apply_due_faults();
    return ids;
  }
  void control_advance(double seconds) override {
    faults.advance(seconds);
    apply_due_faults();
    for (auto &s : sessions)
      s->tick();
  }
  FaultController &control_faults() override { return faults; }
  std::string control_engine() override { return sctx.engine_name(); }

  /* ---- handlers ---- */

  static void request_started_cb(SoupServer *, SoupServerMessage *msg, gpointer) {
    std::string id = new_request_id();
    g_object_set_data_full(G_OBJECT(msg), kRequestIdKey, g_strdup(id.c_str()), g_free);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "dg-request-id",
                                 id.c_str());
  }

  static void default_cb(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                         gpointer) {
    respond_error(msg, 404, "NOT_FOUND", std::string("no such endpoint: ") + path,
                  request_id_of(msg));
  }

  static void control_cb(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
                         gpointer data) {
    handle_control(msg, path, static_cast<Impl *>(data), request_id_of(msg));
  }

  static void listen_cb(SoupServer *, SoupServerMessage *msg, const char *, GHashTable *,
                        gpointer data) {
    Impl *self = static_cast<Impl *>(data);
    const char *method = soup_server_message_get_method(msg);
    if (g_strcmp0(method, "GET") == 0)
      self->handle_live_handshake(msg);
    else if (g_strcmp0(method, "POST") == 0)
      self->handle_batch(msg);
    else
      respond_error(msg, 405, "METHOD_NOT_ALLOWED", "use GET (WebSocket) or POST",
                    request_id_of(msg));
  }

  bool authorized(SoupServerMessage *msg, bool allow_subprotocol) {
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    Credentials creds;
    bool found = find_credentials(
        soup_message_headers_get_one(h, "Authorization"),
        allow_subprotocol ? soup_message_headers_get_one(h, "Sec-WebSocket-Protocol") : nullptr,
        &creds);
    return found && credentials_valid(creds, sctx.api_key);
  }

  /* Deepgram's checks of the options, then what the emulator does not
   * emulate: refused, or (lenient) logged and named in a response header. */
  QueryVerdict check_query(SoupServerMessage *msg, const ListenOptions &lo, ListenApi api) {
    QueryVerdict verdict = check_listen_query(lo.raw, api, opts.lenient);
    if (verdict.ok && !verdict.ignored.empty()) {
      std::string list = join_ignored(verdict.ignored);
      g_message("dg-emulator: %s request %s: accepted but not emulated: %s",
                api == ListenApi::Live ? "live" : "pre-recorded", request_id_of(msg).c_str(),
                list.c_str());
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), kIgnoredHeader,
                                   list.c_str());
    }
    return verdict;
  }

  void handle_live_handshake(SoupServerMessage *msg) {
    std::string rid = request_id_of(msg);
    auto refuse = [&](int status, const std::string &code, const std::string &text,
                      double retry_after = -1, ErrorBody body = ErrorBody::Legacy) {
      respond_error(msg, status, code, text, rid, retry_after, body);
      counters.update([](Counters &c) { c.live_refused++; });
    };
    if (!authorized(msg, true)) {
      refuse(401, "INVALID_AUTH", "Invalid credentials.");
      return;
    }
    ListenOptions lo;
    std::string err;
    if (!parse_listen_options(g_uri_get_query(soup_server_message_get_uri(msg)), &lo, &err)) {
      refuse(400, "Bad Request", err);
      return;
    }
    QueryVerdict verdict = check_query(msg, lo, ListenApi::Live);
    if (!verdict.ok) {
      refuse(400, verdict.err_code, verdict.err_msg);
      return;
    }
    if (!lo.encoding.empty() && !encoding_supported(lo.encoding)) {
      refuse(400, "Bad Request", unsupported_encoding_message(lo.encoding));
      return;
    }
    if (!lo.encoding.empty() && lo.sample_rate <= 0) {
      refuse(400, "Bad Request", "sample_rate is required when encoding is set");
      return;
    }
    char *protocols[] = {const_cast<char *>("token"), const_cast<char *>("bearer"), nullptr};
    GError *gerr = nullptr;
    if (!soup_websocket_server_check_handshake(msg, nullptr, protocols, nullptr, &gerr)) {
      std::string why = gerr ? gerr->message : "not a WebSocket handshake";
      g_clear_error(&gerr);
      refuse(400, "Bad Request", "expected a WebSocket upgrade: " + why);
      return;
    }
    apply_due_faults();
    std::vector<ConnEffect> effects;
    FaultController::Refusal r = faults.check_live_handshake(&effects);
    if (r.status) {
      counters.fault_fired(fault_type_name(r.type));
      refuse(r.status, r.err_code, r.err_msg, r.retry_after, r.body);
      return;
    }
    auto *pending = new PendingLive();
    pending->opts = lo;
    pending->effects = effects;
    GSocket *sock = soup_server_message_get_socket(msg);
    /* libsoup reads the peer's address when it hands the upgraded socket
     * over and warns when the client has already reset it: read it now. */
    soup_server_message_get_remote_address(msg);
    pending->socket = sock ? G_SOCKET(g_object_ref(sock)) : nullptr;
    g_object_set_data_full(G_OBJECT(msg), kPendingLiveKey, pending,
                           [](gpointer p) { delete static_cast<PendingLive *>(p); });
    /* Status stays unset: libsoup completes the upgrade and calls websocket_cb. */
  }

  static void websocket_cb(SoupServer *, SoupServerMessage *msg, const char *,
                           SoupWebsocketConnection *conn, gpointer data) {
    Impl *self = static_cast<Impl *>(data);
    auto *pending = static_cast<PendingLive *>(g_object_get_data(G_OBJECT(msg), kPendingLiveKey));
    if (!pending) {
      soup_websocket_connection_close(conn, 1011, "dg-emulator: handshake state lost");
      return;
    }
    self->counters.update([](Counters &c) {
      c.live_accepted++;
      c.live_open++;
    });
    self->sessions.push_back(std::make_unique<LiveSession>(
        &self->sctx, conn, pending->socket, pending->opts, request_id_of(msg), pending->effects));
  }

  void handle_batch(SoupServerMessage *msg) {
    std::string rid = request_id_of(msg);
    auto fail = [&](int status, const std::string &code, const std::string &text) {
      respond_error(msg, status, code, text, rid);
      counters.update([](Counters &c) { c.batch_failed++; });
    };
    if (!authorized(msg, false)) {
      fail(401, "INVALID_AUTH", "Invalid credentials.");
      return;
    }
    ListenOptions lo;
    std::string err;
    if (!parse_listen_options(g_uri_get_query(soup_server_message_get_uri(msg)), &lo, &err)) {
      fail(400, "Bad Request", err);
      return;
    }
    QueryVerdict verdict = check_query(msg, lo, ListenApi::Batch);
    if (!verdict.ok) {
      fail(400, verdict.err_code, verdict.err_msg);
      return;
    }
    apply_due_faults();
    batch->handle(msg, lo, rid);
  }
};

Emulator::Emulator(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Emulator::~Emulator() {
  stop();
}

bool Emulator::start(std::string *error) {
  return impl_->start(error);
}
void Emulator::stop() {
  impl_->stop();
}
bool Emulator::running() const {
  return impl_->is_running;
}
int Emulator::port() const {
  return impl_->port;
}

bool Emulator::tls() const {
  return !impl_->opts.tls_cert_file.empty();
}
std::string Emulator::http_url() const {
  return (tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port);
}
std::string Emulator::ws_url() const {
  return (tls() ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(impl_->port);
}

Counters Emulator::counters() const {
  return impl_->counters.get();
}
void Emulator::reset_counters() {
  impl_->counters.reset();
}
FaultController &Emulator::faults() {
  return impl_->faults;
}

std::vector<int> Emulator::inject(std::vector<Fault> faults, bool relative_to_now) {
  std::vector<int> ids;
  impl_->run_sync([&] { ids = impl_->control_inject(std::move(faults), relative_to_now); });
  return ids;
}

std::vector<int> Emulator::inject_json(const std::string &json, std::string *error) {
  std::vector<Fault> parsed;
  std::string err;
  if (!parse_faults_json(json, &parsed, &err)) {
    if (error)
      *error = err;
    return {};
  }
  return inject(std::move(parsed), true);
}

void Emulator::advance_clock(double seconds) {
  impl_->run_sync([&] { impl_->control_advance(seconds); });
}

void Emulator::clear_faults() {
  impl_->faults.clear();
}

void Emulator::sync() {
  impl_->run_sync([] {});
}

} // namespace dgemu
