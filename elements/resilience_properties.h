/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The resilience properties, declared once for every element that has them
 * (sttfailover, dgstreamsink, dgbatchsink; dgtranscribebin proxies them):
 *
 *   breaker, failure-threshold, reset-timeout, reset-timeout-max,
 *   probe-timeout                       the circuit breaker guarding an API
 *   retry-backoff-min, retry-backoff-max the delay before the next attempt
 *
 * Every duration is guint milliseconds, as everywhere in the plugin. Each
 * element installs a group under property ids it reserves (first_id and the
 * ids after it, kBreakerPropCount / kRetryBackoffPropCount of them).
 */
#pragma once

#include <gst/gst.h>

#include <string>

#include "breaker.h"

namespace dgf {

constexpr guint kBreakerPropCount = 5;
constexpr guint kRetryBackoffPropCount = 2;

struct BreakerProperties {
  std::string name; /* empty: the pipeline's breaker (breaker_context.h) */
  guint failure_threshold = 3;
  guint reset_timeout_ms = 30000;
  guint reset_timeout_max_ms = 300000;
  guint probe_timeout_ms = 30000;

  BreakerSettings settings() const;
};

/* The live API's breaker gates the way back to streaming captions; while it
 * is open nothing is lost (the pre-recorded API transcribes), so it probes
 * sooner than the pre-recorded API's: streaming resumes within about
 * reset-timeout-max of the service's return, at one probe per open time
 * per breaker (docs/breaker.md, "Open times"; the failover storm in
 * docs/performance.md measured it). */
inline BreakerProperties live_api_breaker_defaults() {
  BreakerProperties p;
  p.reset_timeout_ms = 5000;
  p.reset_timeout_max_ms = 10000;
  return p;
}

struct RetryBackoffProperties {
  guint min_ms = 500;
  guint max_ms = 30000;
};

/* `guards` names what the breaker protects, e.g. "the live API"; `note`
 * (or nullptr) ends the breaker property's blurb; `mutability` gives when
 * they may change (GST_PARAM_MUTABLE_*). */
void breaker_properties_install(GObjectClass *klass, guint first_id, const char *guards,
                                const char *note, const BreakerProperties &defaults,
                                guint mutability);
/* True when prop_id is one of the group's (and it was set / read). */
bool breaker_properties_set(BreakerProperties &props, guint first_id, guint prop_id,
                            const GValue *value);
bool breaker_properties_get(const BreakerProperties &props, guint first_id, guint prop_id,
                            GValue *value);

/* `attempt` names what is retried, e.g. "reconnect", "recovery attempt". */
void retry_backoff_properties_install(GObjectClass *klass, guint first_id, const char *attempt,
                                      const RetryBackoffProperties &defaults, guint mutability);
bool retry_backoff_properties_set(RetryBackoffProperties &props, guint first_id, guint prop_id,
                                  const GValue *value);
bool retry_backoff_properties_get(const RetryBackoffProperties &props, guint first_id,
                                  guint prop_id, GValue *value);

} // namespace dgf
