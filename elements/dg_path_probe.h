/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reachability check of Deepgram's host: a bare TCP connect, closed at
 * once. After a dead path (a connection that timed out with nothing
 * answered) both sinks run one a second, at most one per breaker, and retry
 * at once when it answers instead of waiting out their backoff.
 */
#pragma once

#include <gio/gio.h>

#include <functional>
#include <string>

#include "deepgram_query.h"

namespace dgf {

/* How often a sink probes while its path is down (as LiveSession's). */
constexpr unsigned kPathProbeIntervalMs = 1000;

/* `error` is empty when the host answered. */
using PathProbeDone = std::function<void(const std::string &error)>;

/* Starts a probe of the service's host and port (as the request parsed them)
 * on the thread-default main context, giving up after `timeout_s`. Returns
 * the probe's cancellable (the caller's ref; cancel it to drop the probe:
 * `done` never runs then). */
GCancellable *dg_probe_path(const ServiceUrl &url, unsigned timeout_s, PathProbeDone done);

} // namespace dgf
