/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "counters.h"

#include "json_out.h"

#include <cmath>

namespace dgemu {

void counters_to_json(JsonBuilder *b, const Counters &c) {
  auto num = [&](const char *name, long long v) {
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
  };
  json_builder_begin_object(b);
  num("live_accepted", c.live_accepted);
  num("live_refused", c.live_refused);
  num("live_open", c.live_open);
  num("live_closed", c.live_closed);
  num("live_messages_sent", c.live_messages_sent);
  num("batch_ok", c.batch_ok);
  num("batch_failed", c.batch_failed);
  num("batch_in_flight", c.batch_in_flight);
  num("batch_in_flight_peak", c.batch_in_flight_peak);
  num("batch_throttled", c.batch_throttled);
  json_builder_set_member_name(b, "audio_seconds_live");
  json_builder_add_double_value(b, round_us(c.audio_seconds_live));
  json_builder_set_member_name(b, "audio_seconds_batch");
  json_builder_add_double_value(b, round_us(c.audio_seconds_batch));
  num("recognition_lag_max_ms", c.recognition_lag_max_ms);
  num("recognition_lag_peak_ms", c.recognition_lag_peak_ms);
  num("lagging_connections", c.lagging_connections);
  num("lagging_connections_total", c.lagging_connections_total);
  json_builder_set_member_name(b, "recognition_rtf");
  json_builder_add_double_value(b, std::round(c.recognition_rtf * 1000) / 1000);
  num("server_tick_late_ms", c.server_tick_late_ms);
  json_builder_set_member_name(b, "faults_fired");
  json_builder_begin_object(b);
  for (const auto &kv : c.faults_fired)
    num(kv.first.c_str(), kv.second);
  json_builder_end_object(b);
  json_builder_end_object(b);
}

} // namespace dgemu
