/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the libFuzzer targets in tests/fuzz/ and their replay builds.
 *
 * FUZZ_CHECK is an assertion that holds with NDEBUG too: a broken invariant
 * prints what broke and aborts, which libFuzzer records as a crash and the
 * replay test as a failure. FuzzInput takes typed values off the front of the
 * fuzzer's bytes; running out yields zeros and empty strings, never an error,
 * so every input is a valid one.
 */
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);            \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fuzz {

/* GLib warnings and criticals are bugs too (a g_return_if_fail hit, a bad
 * GType cast): make them abort. Call at the top of every target. */
inline void init_once() {
  static bool done = [] {
    g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING));
    return true;
  }();
  (void)done;
}

inline bool valid_utf8(const std::string &s) {
  return g_utf8_validate_len(s.data(), s.size(), nullptr);
}

class FuzzInput {
public:
  FuzzInput(const uint8_t *data, size_t size) : p_(data), n_(size) {}

  size_t remaining() const { return n_; }

  uint8_t u8() {
    if (n_ == 0)
      return 0;
    n_--;
    return *p_++;
  }
  bool flag() { return u8() & 1; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
      v |= uint32_t{u8()} << (8 * i);
    return v;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    return lo | (uint64_t{u32()} << 32);
  }
  /* Bytes up to (not including) the next `sep`, or to the end. */
  std::string field(char sep) {
    const void *hit = n_ ? std::memchr(p_, sep, n_) : nullptr;
    size_t len = hit ? static_cast<size_t>(static_cast<const uint8_t *>(hit) - p_) : n_;
    std::string out(reinterpret_cast<const char *>(p_), len);
    size_t used = hit ? len + 1 : len;
    p_ += used;
    n_ -= used;
    return out;
  }
  /* Everything left. */
  std::string rest_all() {
    std::string out(reinterpret_cast<const char *>(p_), n_);
    p_ += n_;
    n_ = 0;
    return out;
  }
  const uint8_t *data() const { return p_; }

private:
  const uint8_t *p_;
  size_t n_;
};

} // namespace fuzz
