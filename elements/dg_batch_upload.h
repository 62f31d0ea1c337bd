/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One pre-recorded upload: a chunk as one audio file, POSTed with libsoup 3.
 *
 * Runs on the network thread only (the session's thread). linear16: the WAV
 * header is written into the chunk's headroom and the request body is a
 * GBytes over the chunk's own storage, so an attempt (and every retry)
 * copies no audio. flac / opus: the chunk's PCM is encoded into one complete
 * FLAC or Ogg Opus file per attempt (audio/flac, audio/ogg); the chunk itself
 * stays PCM, so its time map is untouched.
 */
#pragma once

#include <libsoup/soup.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch_planner.h" /* UploadVerdict */
#include "dg_common.h"

namespace dgf {

struct UploadResult {
  UploadVerdict verdict = UploadVerdict::Retry;
  unsigned status = 0;    /* HTTP status; 0 for a transport error */
  std::string body;       /* response body (capped by the JSON parser's limit) */
  std::string error;      /* "HTTP 402 Payment Required: ASR_PAYMENT_REQUIRED: ...", or the
                             transport error */
  std::string hint;       /* what the user can do about it (permanent failures) */
  std::string request_id; /* dg-request-id */
  /* Retry-After (seconds or an HTTP date), when sent. */
  std::optional<std::chrono::milliseconds> retry_after;
  /* The network answered nothing (a connect deadline, TCP_USER_TIMEOUT or
   * keepalive): the path itself is dead, not the service. */
  bool path_dead = false;
};

/* What to do with an answer: failure.h's reading of the status and
 * Deepgram's error body (err_code, err_msg). */
UploadVerdict classify_http_status(unsigned status, const std::string &err_code = {},
                                   const std::string &err_msg = {});

/* Retry-After as a delay: delta-seconds or an HTTP date (relative to
 * `now_unix_s`); nullopt when absent or unreadable. Capped at one hour. */
std::optional<std::chrono::milliseconds> parse_retry_after(const char *value, int64_t now_unix_s);

using UploadDone = std::function<void(UploadResult)>;

/* TCP's handshake on a new connection: a SYN and its first retransmit
 * unanswered is a dead path (start_upload). */
constexpr unsigned kTcpHandshakeMs = 3000;

/* linear16: writes the WAV header at the front of `storage` (which holds
 * kWavHeaderBytes of headroom, then the audio); flac / opus: encodes the
 * audio after the headroom (`bitrate` as the property). Then starts the POST.
 * A new connection must be up within `connect_timeout_ms` (0: no limit), its
 * TCP handshake within kTcpHandshakeMs (when shorter), else `cancellable`
 * (this attempt's own) is cancelled and the result is a retryable "connect
 * timeout" failure.
 * `done` runs on the network thread exactly once, also when cancelled.
 * Returns the body's size (0 when `done` already ran with a failure). */
size_t start_upload(SoupSession *session, const DgRequest &request, bool tls_verify,
                    std::shared_ptr<std::vector<uint8_t>> storage, uint32_t rate, uint32_t channels,
                    AudioEncoding encoding, uint32_t bitrate, unsigned connect_timeout_ms,
                    GCancellable *cancellable, UploadDone done);

} // namespace dgf
