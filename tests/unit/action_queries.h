/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Queries on the action vectors the pure cores return (FailoverActions,
 * LiveActions, BatchActions: each a std::vector of a std::variant), so a
 * test asserts on what a core decided without walking variants by hand. */
#pragma once

#include <glib.h>

#include <cstddef>
#include <variant>
#include <vector>

/* Every action of type T, in order. */
template <typename T, typename Actions> static std::vector<T> all(const Actions &actions) {
  std::vector<T> out;
  for (const auto &a : actions)
    if (auto *x = std::get_if<T>(&a))
      out.push_back(*x);
  return out;
}

template <typename T, typename Actions> static size_t count(const Actions &actions) {
  return all<T>(actions).size();
}

/* The first action of type T; there must be one. */
template <typename T, typename Actions> static T first(const Actions &actions) {
  auto found = all<T>(actions);
  g_assert_cmpuint(found.size(), >=, 1);
  return found[0];
}

/* Where the first action of type T is, or -1. */
template <typename T, typename Actions> static ptrdiff_t index_of(const Actions &actions) {
  for (size_t i = 0; i < actions.size(); i++)
    if (std::holds_alternative<T>(actions[i]))
      return static_cast<ptrdiff_t>(i);
  return -1;
}
