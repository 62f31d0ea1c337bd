/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a sink says about whether it can transcribe now.
 *
 * One struct for every hop: the live session and the batch planner produce
 * it, the stt/health event carries it (stt::Health adds only its name), and
 * the failover core consumes it. Header-only, no GStreamer types.
 */
#pragma once

#include <string>

namespace dgf {

struct SinkHealth {
  bool healthy = true;
  std::string reason; /* e.g. "connected", "close 1011 NET-0000", "stall" */
  int code = 0;       /* close code or HTTP status, 0 when none applies */
  bool retryable = true;
  std::string session_id;
  /* Unhealthy only while the sink reconnects at once by itself (encoding=auto
   * stepping down): the supervisor holds the stream's audio back and replays
   * what was never acknowledged to the new session instead of failing over. */
  bool restarting = false;
};

} // namespace dgf
