/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A value or an error, for the plain C++ core (C++17 has no std::expected).
 *
 * Parsers and builders that read untrusted input return one of these instead
 * of throwing, so nothing escapes into GStreamer's C call stack. Check ok()
 * before value(): value() on an error (or error() on a value) aborts via
 * std::get's bad_variant_access, which is a caller bug, never an input error.
 */
#pragma once

#include <utility>
#include <variant>

namespace dgf {

template <typename T, typename E> class Expected {
public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Expected(E error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T &operator*() & { return std::get<0>(v_); }
  const T &operator*() const & { return std::get<0>(v_); }
  T *operator->() { return &std::get<0>(v_); }
  const T *operator->() const { return &std::get<0>(v_); }

  const E &error() const & { return std::get<1>(v_); }

private:
  std::variant<T, E> v_;
};

} // namespace dgf
