/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "resilience_properties.h"

namespace dgf {
namespace {

enum BreakerOffset : guint { NAME, FAILURE_THRESHOLD, RESET_TIMEOUT, RESET_TIMEOUT_MAX, PROBE };
enum BackoffOffset : guint { BACKOFF_MIN, BACKOFF_MAX };

constexpr guint kMaxDurationMs = 86400000; /* a day */

GParamFlags flags_with(guint mutability, bool copy_blurb) {
  const guint strings = copy_blurb ? (G_PARAM_STATIC_NAME | G_PARAM_STATIC_NICK)
                                   : static_cast<guint>(G_PARAM_STATIC_STRINGS);
  return static_cast<GParamFlags>(G_PARAM_READWRITE | strings | mutability);
}

/* Installs a uint property whose blurb is built per element (GLib copies it). */
void install_uint(GObjectClass *klass, guint id, const char *name, const char *nick, gchar *blurb,
                  guint min, guint max, guint def, guint mutability) {
  g_object_class_install_property(
      klass, id, g_param_spec_uint(name, nick, blurb, min, max, def, flags_with(mutability, true)));
  g_free(blurb);
}

} // namespace

BreakerSettings BreakerProperties::settings() const {
  BreakerSettings b;
  b.failure_threshold = static_cast<int>(failure_threshold);
  b.open_base = std::chrono::milliseconds{reset_timeout_ms};
  b.open_cap = std::chrono::milliseconds{reset_timeout_max_ms};
  b.probe_timeout = std::chrono::milliseconds{probe_timeout_ms};
  return b;
}

void breaker_properties_install(GObjectClass *klass, guint first_id, const char *guards,
                                const char *note, const BreakerProperties &defaults,
                                guint mutability) {
  gchar *blurb = g_strdup_printf(
      "Circuit breaker guarding %s. Empty: the pipeline's breaker for that API, shared by "
      "its elements through a GstContext (dgf.breakers); a name: the breaker of that name, "
      "shared by every pipeline in the process that names it. The element that creates a "
      "breaker sets its settings%s%s",
      guards, note ? "; " : "", note ? note : "");
  g_object_class_install_property(klass, first_id + NAME,
                                  g_param_spec_string("breaker", "Breaker", blurb,
                                                      defaults.name.c_str(),
                                                      flags_with(mutability, true)));
  g_free(blurb);
  install_uint(klass, first_id + FAILURE_THRESHOLD, "failure-threshold", "Failure threshold",
               g_strdup_printf("Consecutive failures of %s that open the breaker", guards), 1, 1000,
               defaults.failure_threshold, mutability);
  install_uint(klass, first_id + RESET_TIMEOUT, "reset-timeout", "Reset timeout",
               g_strdup("How long the breaker stays open after its first trip, in ms; doubles "
                        "per re-trip (full jitter)"),
               10, kMaxDurationMs, defaults.reset_timeout_ms, mutability);
  install_uint(klass, first_id + RESET_TIMEOUT_MAX, "reset-timeout-max", "Reset timeout max",
               g_strdup("Cap of the breaker's open time, in ms"), 10, kMaxDurationMs,
               defaults.reset_timeout_max_ms, mutability);
  install_uint(klass, first_id + PROBE, "probe-timeout", "Probe timeout",
               g_strdup("How long a half-open probe (the one attempt let through after the "
                        "open time) may take before the breaker opens again, in ms"),
               10, kMaxDurationMs, defaults.probe_timeout_ms, mutability);
}

bool breaker_properties_set(BreakerProperties &props, guint first_id, guint prop_id,
                            const GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kBreakerPropCount)
    return false;
  switch (prop_id - first_id) {
  case NAME:
    props.name = g_value_get_string(value) ? g_value_get_string(value) : "";
    break;
  case FAILURE_THRESHOLD:
    props.failure_threshold = g_value_get_uint(value);
    break;
  case RESET_TIMEOUT:
    props.reset_timeout_ms = g_value_get_uint(value);
    break;
  case RESET_TIMEOUT_MAX:
    props.reset_timeout_max_ms = g_value_get_uint(value);
    break;
  default:
    props.probe_timeout_ms = g_value_get_uint(value);
    break;
  }
  return true;
}

bool breaker_properties_get(const BreakerProperties &props, guint first_id, guint prop_id,
                            GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kBreakerPropCount)
    return false;
  switch (prop_id - first_id) {
  case NAME:
    g_value_set_string(value, props.name.c_str());
    break;
  case FAILURE_THRESHOLD:
    g_value_set_uint(value, props.failure_threshold);
    break;
  case RESET_TIMEOUT:
    g_value_set_uint(value, props.reset_timeout_ms);
    break;
  case RESET_TIMEOUT_MAX:
    g_value_set_uint(value, props.reset_timeout_max_ms);
    break;
  default:
    g_value_set_uint(value, props.probe_timeout_ms);
    break;
  }
  return true;
}

void retry_backoff_properties_install(GObjectClass *klass, guint first_id, const char *attempt,
                                      const RetryBackoffProperties &defaults, guint mutability) {
  install_uint(klass, first_id + BACKOFF_MIN, "retry-backoff-min", "Retry backoff min",
               g_strdup_printf("Ceiling of the delay before the first %s, in ms; doubles per "
                               "consecutive failure (full jitter)",
                               attempt),
               1, 3600000, defaults.min_ms, mutability);
  install_uint(klass, first_id + BACKOFF_MAX, "retry-backoff-max", "Retry backoff max",
               g_strdup_printf("Cap of the delay ceiling before a %s, in ms", attempt), 1, 3600000,
               defaults.max_ms, mutability);
}

bool retry_backoff_properties_set(RetryBackoffProperties &props, guint first_id, guint prop_id,
                                  const GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kRetryBackoffPropCount)
    return false;
  (prop_id == first_id + BACKOFF_MIN ? props.min_ms : props.max_ms) = g_value_get_uint(value);
  return true;
}

bool retry_backoff_properties_get(const RetryBackoffProperties &props, guint first_id,
                                  guint prop_id, GValue *value) {
  if (prop_id < first_id || prop_id >= first_id + kRetryBackoffPropCount)
    return false;
  g_value_set_uint(value, prop_id == first_id + BACKOFF_MIN ? props.min_ms : props.max_ms);
  return true;
}

} // namespace dgf
