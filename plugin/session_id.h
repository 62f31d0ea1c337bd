/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Session ids: UUIDv7 (RFC 9562), so ids sort by creation time.
 *
 * Every STT session (a live connection, a batch chunk) gets one. Within one
 * millisecond a 12-bit counter keeps ids strictly increasing, which is what a
 * caption consumer needs to order sessions without a clock of its own.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace dgf {

class SessionIdGenerator {
public:
  using UnixMillis = std::function<uint64_t()>;
  using Random64 = std::function<uint64_t()>;

  /* Defaults: the system clock and a per-generator seeded PRNG. */
  SessionIdGenerator();
  SessionIdGenerator(UnixMillis now, Random64 random);

  std::string next();

private:
  UnixMillis now_;
  Random64 random_;
  std::mutex mutex_;
  uint64_t last_ms_ = 0;
  uint32_t counter_ = 0; /* 12 bits: rand_a */
};

/* A fresh id from the process-wide generator. Thread-safe. */
std::string new_session_id();

/* True for a canonical lowercase UUIDv7 string. */
bool is_session_id(std::string_view id);

/* The Unix milliseconds embedded in a UUIDv7, or 0 if `id` is not one. */
uint64_t session_id_unix_ms(std::string_view id);

} // namespace dgf
