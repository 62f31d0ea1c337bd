/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "session_id.h"

#include <chrono>
#include <random>

namespace dgf {
namespace {

uint64_t system_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_uuid(const uint8_t bytes[16]) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(hex[bytes[i] >> 4]);
    out.push_back(hex[bytes[i] & 0xf]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

} // namespace

SessionIdGenerator::SessionIdGenerator()
    : now_(system_unix_ms),
      random_([engine = std::mt19937_64(std::random_device{}())]() mutable { return engine(); }) {}

SessionIdGenerator::SessionIdGenerator(UnixMillis now, Random64 random)
    : now_(std::move(now)), random_(std::move(random)) {}

std::string SessionIdGenerator::next() {
  uint64_t ms;
  uint32_t counter;
  uint64_t rand_b;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ms = now_();
    if (ms <= last_ms_) {
      /* Same millisecond, or the clock stepped back: stay monotonic. */
      ms = last_ms_;
      if (++counter_ > 0xfff) {
        ms = ++last_ms_;
        counter_ = 0;
      }
    } else {
      last_ms_ = ms;
      counter_ = 0;
    }
    counter = counter_;
    rand_b = random_();
  }

  uint8_t b[16];
  for (int i = 0; i < 6; i++)
    b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | ((counter >> 8) & 0x0f));
  b[7] = static_cast<uint8_t>(counter & 0xff);
  for (int i = 0; i < 8; i++)
    b[8 + i] = static_cast<uint8_t>(rand_b >> (56 - 8 * i));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f)); /* RFC 9562 variant */
  return format_uuid(b);
}

std::string new_session_id() {
  static SessionIdGenerator generator;
  return generator.next();
}

bool is_session_id(std::string_view id) {
  if (id.size() != 36)
    return false;
  for (size_t i = 0; i < id.size(); i++) {
    bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash != (id[i] == '-'))
      return false;
    if (!dash && hex_value(id[i]) < 0)
      return false;
  }
  if (id[14] != '7')
    return false;
  int variant = hex_value(id[19]);
  return variant >= 8 && variant <= 0xb;
}

uint64_t session_id_unix_ms(std::string_view id) {
  if (!is_session_id(id))
    return 0;
  uint64_t ms = 0;
  for (size_t i = 0; i < 13; i++) {
    if (id[i] == '-')
      continue;
    ms = (ms << 4) | static_cast<uint64_t>(hex_value(id[i]));
  }
  return ms;
}

} // namespace dgf
