/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Transient or permanent, decided once: what an answer from Deepgram means.
 *
 * A transient failure (the network, 429, 5xx, an unexpected close) is an
 * outage: retried with backoff through the circuit breaker. A permanent one
 * (a refused key, no credit, a wrong URL, options Deepgram rejects, audio it
 * cannot decode) will fail the same way on every retry: it is reported at
 * once, with Deepgram's own words and what to do, and never retried in a
 * loop. Audio Deepgram cannot decode on the pre-recorded API is a third case:
 * that chunk is refused, the rest goes on.
 *
 * Plain C++; docs/troubleshooting.md has the table.
 */
#pragma once

#include <string>

namespace dgf {

enum class FailureKind { Transient, Permanent, RejectAudio };

struct FailureVerdict {
  FailureKind kind = FailureKind::Transient;
  std::string what; /* "HTTP 402 Payment Required", "close 1008" */
  std::string hint; /* what the user can do; empty for transient failures */
};

/* An HTTP status from a handshake or a request, with Deepgram's error body
 * (err_code, err_msg; either may be empty). 0: no answer (network). */
FailureVerdict classify_http(unsigned status, const std::string &err_code,
                             const std::string &err_msg);

/* A WebSocket close the client did not ask for. */
FailureVerdict classify_close(int code, const std::string &reason);

/* "HTTP 402 Payment Required: ASR_PAYMENT_REQUIRED: Project does not have enough credits" */
std::string describe_failure(const FailureVerdict &verdict, const std::string &err_code,
                             const std::string &err_msg);

} // namespace dgf
