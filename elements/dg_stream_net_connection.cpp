/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's network thread, its connection: the shared breaker's
 * permit, the WebSocket to Deepgram and its callbacks (fed to the live
 * session), and the reconnect timer the session asks for. What a
 * handshake or a close means is decided in plugin/live_session*.cpp. */
#include <config.h>

#include "gstdgstreamsink_private.h"

#include <chrono>

#include "dg_path_probe.h"
#include "session_id.h"

namespace dgf::streamsink {

using namespace dgf::stt;

/* The breaker, taken at the first connection: by then an sttfailover
 * upstream has made the live one (at its NULL->READY, which comes after this
 * sink's start), so its settings win. */
static std::shared_ptr<Breaker> net_take_breaker(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  const std::string &name = priv->active.breaker.name;
  std::shared_ptr<Breaker> breaker = priv->breakers.find(name, kLiveBreakerKey);
  if (breaker)
    return breaker;
  std::string conflict;
  breaker = priv->breakers.get(name, kLiveBreakerKey, priv->active.breaker.settings(), &conflict);
  if (!conflict.empty())
    GST_WARNING_OBJECT(self, "%s", conflict.c_str());
  return breaker;
}

void net_cancel_retry(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (net.retry_source)
    self->priv->net_thread->remove_source(net.retry_source);
  net.retry_source = 0;
}

void net_schedule_retry(GstDgStreamSink *self, const live::ScheduleRetry &retry) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  net_cancel_retry(self);
  uint64_t now = now_ns();
  auto delay = std::chrono::milliseconds{
      retry.at > now ? static_cast<int64_t>((retry.at - now + GST_MSECOND - 1) / GST_MSECOND) : 0};
  if (auto deadline = net.breaker ? net.breaker->next_deadline() : std::nullopt) {
    auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    if (until > delay)
      delay = until; /* no point asking before the breaker can say yes */
  }
  GST_INFO_OBJECT(self, "reconnecting in %lld ms (attempt %u)", (long long)delay.count(),
                  retry.attempt);
  net.retry_source = priv->net_thread->add_timeout(static_cast<unsigned>(delay.count()), [self] {
    self->priv->net.retry_source = 0;
    net_run(self, self->priv->net.core.on_retry_due(now_ns()));
    return false;
  });
}

/* The path check answered (network thread; a cancelled one never does). */
static void net_on_path_checked(GstDgStreamSink *self, const std::string &error) {
  Net &net = self->priv->net;
  g_clear_object(&net.path_check);
  if (!error.empty()) {
    GST_DEBUG_OBJECT(self, "path check: %s", error.c_str());
    return;
  }
  GST_INFO_OBJECT(self, "path check: Deepgram's host is reachable again");
  if (net.breaker && net.breaker->note_path_restored())
    GST_INFO_OBJECT(self, "breaker '%s' half-open early: the network is back",
                    net.breaker->name().c_str());
  else if (net.breaker)
    GST_INFO_OBJECT(self, "breaker '%s' is %s", net.breaker->name().c_str(),
                    breaker_state_name(net.breaker->snapshot().state));
  net_run(self, net.core.on_path_restored(now_ns()));
}

void net_cancel_path_check(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (net.path_check)
    g_cancellable_cancel(net.path_check);
  g_clear_object(&net.path_check);
}

void net_check_path(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (net.path_check)
    return; /* the last one is still out */
  static_assert(LiveSession::kPathCheckInterval == kPathProbeIntervalMs * GST_MSECOND);
  auto interval = std::chrono::milliseconds{kPathProbeIntervalMs};
  if (net.breaker && !net.breaker->claim_path_check(interval))
    return; /* another user of the breaker checks this time */
  /* Teardown cancels the check before the sink can go away. */
  net.path_check = dg_probe_path(
      net.request.url, 1, [self](const std::string &error) { net_on_path_checked(self, error); });
}

static void net_on_handshake_failed(GstDgStreamSink *self, const LiveHandshakeFailure &f) {
  net_run(self, self->priv->net.core.on_handshake_failed(f.status, f.reason, f.request_id,
                                                         f.tls_problem, now_ns()));
}

static void net_on_closed(GstDgStreamSink *self, const LiveClose &c) {
  if (c.too_big) {
    GST_ELEMENT_WARNING(self, STREAM, DECODE,
                        ("Deepgram sent a message larger than %u bytes: connection closed (1009)",
                         static_cast<unsigned>(LiveConnection::kMaxIncomingFrame)),
                        ("%s", LiveSession::close_reason(c.code, c.reason, c.error).c_str()));
  }
  net_run(self, self->priv->net.core.on_closed(c.code, c.reason, c.error, now_ns()));
}

/* Carries out a Connect: a permit from the breaker, then the handshake. */
void net_connect(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.breaker)
    net.breaker = net_take_breaker(self);
  net.permit = net.breaker->try_acquire();
  if (!net.permit) {
    net_run(self, net.core.on_connect_refused(net.breaker->name(), now_ns()));
    return;
  }
  net_run(self, net.core.on_connecting(new_session_id(), now_ns()));
  SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, net.request.full_url.c_str());
  if (!msg) {
    net_run(self, net.core.on_failure("invalid URL", 0, false, now_ns()));
    return;
  }
  dg_prepare_message(msg, net.request, priv->active.common.tls_verify);
  LiveConnectionCallbacks cb;
  cb.on_open = [self](const std::string &id) { net_on_open(self, id); };
  cb.on_handshake_failed = [self](const LiveHandshakeFailure &f) {
    net_on_handshake_failed(self, f);
  };
  cb.on_text = [self](const char *text, size_t len) { net_on_text(self, text, len); };
  cb.on_closed = [self](const LiveClose &c) { net_on_closed(self, c); };
  GST_INFO_OBJECT(self, "connecting to %s (session %s)", net.request.full_url.c_str(),
                  net.core.session_id().c_str());
  net.conn =
      std::make_unique<LiveConnection>(net.session, msg, priv->active.connect_ms, std::move(cb));
  g_object_unref(msg);
}

} // namespace dgf::streamsink
