/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's network thread, its connection: connecting through the
 * shared breaker, what Deepgram's handshake and close say, failure,
 * reconnecting with backoff and replaying what was never acknowledged, and
 * giving up after max-outage. The audio itself is in dg_stream_net.cpp. */
#include <config.h>

#include "gstdgstreamsink_private.h"

#include <chrono>

#include "backoff.h"
#include "failure.h"
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

static void net_schedule_reconnect(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  DgStreamSinkPrivate *priv = self->priv;
  if (net.retry_source || net.supervised || !priv->active.reconnect || !net.running)
    return;
  BackoffPolicy policy{std::chrono::milliseconds{priv->active.retry_backoff.min_ms},
                       std::chrono::milliseconds{priv->active.retry_backoff.max_ms}};
  auto delay = backoff_delay(policy, net.attempt, default_unit_random());
  if (auto deadline = net.breaker->next_deadline()) {
    auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    if (until > delay)
      delay = until; /* no point asking before the breaker can say yes */
  }
  net.attempt++;
  GST_INFO_OBJECT(self, "reconnecting in %lld ms (attempt %u)", (long long)delay.count(),
                  net.attempt);
  net.retry_source = priv->net_thread->add_timeout(static_cast<unsigned>(delay.count()), [self] {
    self->priv->net.retry_source = 0;
    if (self->priv->net.phase == Phase::Down)
      net_start_connect(self);
    return false;
  });
}

/* The connection is gone (or never came): account for its audio, tell
 * upstream, and reconnect unless a supervisor owns that. */
void net_fail(GstDgStreamSink *self, const std::string &reason, int code, bool retryable) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  GST_WARNING_OBJECT(self, "live connection failed: %s", reason.c_str());
  net.conn.reset();
  net.close_sent = false;
  if (net.permit_pending) {
    net.breaker->report(net.permit,
                        retryable ? BreakerOutcome::Failure : BreakerOutcome::Cancelled);
    net.permit_pending = false;
  }
  update_stats(self, [&](Stats &s) {
    s.failures++;
    s.last_error = reason;
  });
  net_set_phase(self, retryable ? Phase::Down : Phase::Fatal);
  push_upstream(self, Health{false, reason, code, retryable, net.session_id});
  if (!net.down_since_us)
    net.down_since_us = now_us();
  net.outage_reason = reason;
  net.outage_cause = !retryable                                    ? "server-error"
                     : reason.rfind("cannot connect", 0) == 0      ? "connect-failed"
                     : reason.rfind("HTTP", 0) == 0 || code >= 400 ? "server-error"
                                                                   : "disconnected";
  if (retryable && !net.supervised && !net.outage_warned) {
    /* Alone, nobody else tells the user; a supervisor warns for its pipeline. */
    net.outage_warned = true;
    GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ,
                        ("Deepgram's live API failed: %s", reason.c_str()),
                        ("reconnecting with backoff; audio is kept up to replay-window and "
                         "replayed (max-outage bounds the wait)"));
  }

  if (net.supervised) {
    /* The supervisor holds every un-acked buffer and replays it elsewhere
     * (a supervised sink keeps no ledger). */
    net.unsent.clear();
    net.unsent_duration = 0;
  } else if (net.ledger) {
    /* Replay what the dead connection never acknowledged, before newer audio. */
    auto takeover = net.ledger->take_all();
    for (const auto &r : takeover.lost)
      net_report_dropped(self, r.start, r.duration(), "replay-window",
                         "the connection failed holding more unacknowledged audio than "
                         "replay-window");
    for (auto it = takeover.replay.rbegin(); it != takeover.replay.rend(); ++it) {
      net.unsent_duration += it->duration;
      update_stats(self, [&](Stats &s) { s.audio_replayed += it->duration; });
      net.unsent.push_front(Pending{it->start, it->duration, std::move(it->payload)});
    }
  }
  if (!retryable) {
    {
      std::lock_guard<std::mutex> lock(priv->state_lock);
      priv->fatal = true;
      priv->fatal_flow = net.supervised ? GST_FLOW_OK : GST_FLOW_ERROR;
    }
    net_drop_held(self, reason); /* an ERROR is on the bus; nothing lost silently */
    net_finish_drain(self, false);
    priv->state_cv.notify_all();
    return;
  }
  if (!priv->active.reconnect && !net.supervised) {
    for (const auto &p : net.unsent)
      net_report_dropped(self, p.pts, p.duration, "disconnected",
                         "the connection failed and reconnect is off");
    net.unsent.clear();
    net.unsent_duration = 0;
    net_finish_drain(self, false);
    return;
  }
  net_schedule_reconnect(self);
}

/* Standalone: an outage longer than max-outage ends with an ERROR. */
void net_give_up_if_due(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  gint limit = priv->active.common.max_outage_ms;
  if (limit < 0)
    limit = net.live_input ? 0 : kNonLiveMaxOutageMs;
  if (net.supervised || limit == 0 || !net.down_since_us || net.phase == Phase::Fatal ||
      now_us() - net.down_since_us < static_cast<int64_t>(limit) * 1000)
    return;
  std::string last;
  {
    std::lock_guard<std::mutex> lock(priv->state_lock);
    last = priv->stats.last_error;
    priv->fatal = true;
  }
  GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                    ("Deepgram's live API could not be used for %d s (max-outage): %s",
                     limit / 1000, last.c_str()),
                    ("set max-outage to wait longer (0: forever)"));
  net_set_phase(self, Phase::Fatal);
  if (net.retry_source) {
    priv->net_thread->remove_source(net.retry_source);
    net.retry_source = 0;
  }
  net_drop_held(self, "gave up after max-outage: " + last);
  net_finish_drain(self, false);
  priv->state_cv.notify_all();
}

static void net_on_open(GstDgStreamSink *self, const std::string &request_id) {
  Net &net = self->priv->net;
  net.request_id = request_id;
  net.down_since_us = 0;
  net.outage_warned = false;
  net.outage_reason.clear();
  if (net.permit_pending) {
    net.breaker->report(net.permit, BreakerOutcome::Success);
    net.permit_pending = false;
  }
  net.attempt = 0;
  net.watchdog.reset(now_ns());
  net_note_progress(self);
  net.tolerated_seen.clear(); /* each connection logs its oddities once */
  net.reported_breaker_open = false;
  net_set_phase(self, Phase::Open);
  update_stats(
      self, [](Stats &s) { s.connections++; }, true);
  GST_INFO_OBJECT(self, "connected, session %s, request %s", net.session_id.c_str(),
                  request_id.c_str());
  push_upstream(self, Health{true, "connected", 0, true, net.session_id});
  net_send_pending(self);
}

static void net_on_handshake_failed(GstDgStreamSink *self, const LiveHandshakeFailure &f) {
  if (!f.tls_problem.empty()) {
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised, f.tls_problem, f.reason, 0, "");
    net_fail(self, "cannot connect: " + f.tls_problem, 0, false);
    return;
  }
  /* dg-error carries Deepgram's words for a refused upgrade. */
  FailureVerdict v = classify_http(f.status, "", f.reason);
  std::string reason = f.status ? describe_failure(v, "", f.reason) : "cannot connect: " + f.reason;
  if (v.kind != FailureKind::Transient) {
    std::string request = f.request_id.empty() ? "" : " (request " + f.request_id + ")";
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised,
                    "Deepgram refused the live connection: " + reason, v.hint + request, f.status,
                    f.request_id);
    net_fail(self, reason, static_cast<int>(f.status), false);
    return;
  }
  net_fail(self, reason, static_cast<int>(f.status), true);
}

static void net_on_closed(GstDgStreamSink *self, const LiveClose &c) {
  Net &net = self->priv->net;
  /* Deepgram counts the audio it got; Metadata says how much. */
  bool heard_all =
      net.metadata_duration < 0 || net.metadata_duration + 0.05 >= net.time_map.sent_seconds();
  if (net.close_sent && c.code == SOUP_WEBSOCKET_CLOSE_NORMAL && heard_all) {
    /* The close that answers CloseStream: all results are in. */
    net_ack(self, net.time_map.end_pts());
    net.conn.reset();
    net.close_sent = false;
    net_set_phase(self, Phase::Idle);
    net_finish_drain(self, true);
    return;
  }
  std::string reason = "closed " + std::to_string(c.code);
  if (!c.reason.empty())
    reason += " " + c.reason;
  if (!c.error.empty())
    reason += " (" + c.error + ")";
  if (c.too_big) {
    GST_ELEMENT_WARNING(self, STREAM, DECODE,
                        ("Deepgram sent a message larger than %u bytes: connection closed (1009)",
                         static_cast<unsigned>(LiveConnection::kMaxIncomingFrame)),
                        ("%s", reason.c_str()));
  }
  if (classify_close(c.code, c.reason).kind == FailureKind::Permanent) {
    GstCaps *as_caps = gst_audio_info_to_caps(&net.info);
    gchar *caps = as_caps ? gst_caps_to_string(as_caps) : g_strdup("unknown caps");
    dg_post_refusal(GST_ELEMENT(self), self->priv->net.supervised,
                    "Deepgram could not decode the audio (close " + std::to_string(c.code) + " " +
                        c.reason + ")",
                    std::string("caps sent as linear16: ") + caps, 0, net.request_id,
                    GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
    g_free(caps);
    if (as_caps)
      gst_caps_unref(as_caps);
    net_fail(self, reason, c.code, false);
    return;
  }
  net_fail(self, reason, c.code, true);
}

void net_start_connect(GstDgStreamSink *self) {
  DgStreamSinkPrivate *priv = self->priv;
  Net &net = priv->net;
  if (!net.running || !net.have_caps || net.conn || net.phase == Phase::Fatal)
    return;
  if (net.retry_source) {
    priv->net_thread->remove_source(net.retry_source);
    net.retry_source = 0;
  }
  if (!net.breaker)
    net.breaker = net_take_breaker(self);
  net.permit = net.breaker->try_acquire();
  if (!net.permit) {
    /* Spare the service: no connection while the shared breaker is open. */
    update_stats(self, [&](Stats &s) { s.last_error = "breaker open"; });
    net_set_phase(self, Phase::Down);
    if (net.supervised) {
      /* The supervisor replays this audio elsewhere; sending it later too
       * would transcribe it twice. */
      net.unsent.clear();
      net.unsent_duration = 0;
    }
    if (!net.reported_breaker_open) {
      net.reported_breaker_open = true;
      GST_WARNING_OBJECT(self, "breaker '%s' is open: not connecting", net.breaker->name().c_str());
      push_upstream(self, Health{false, "breaker open", 0, true, net.session_id});
    }
    net_schedule_reconnect(self);
    return;
  }
  net.permit_pending = true;
  net.session_id = new_session_id();
  net.time_map.reset(GST_AUDIO_INFO_RATE(&net.info));
  net.metadata_duration = -1;
  net.acked_pts = 0;
  net.close_sent = false;
  SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, net.request.full_url.c_str());
  if (!msg) {
    net_fail(self, "invalid URL", 0, false);
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
                  net.session_id.c_str());
  net_set_phase(self, Phase::Connecting);
  net.conn =
      std::make_unique<LiveConnection>(net.session, msg, priv->active.connect_ms, std::move(cb));
  g_object_unref(msg);
}

} // namespace dgf::streamsink
