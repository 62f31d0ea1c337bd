/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drop_warnings.h"

namespace dgf {

std::optional<uint32_t> DropWarnings::warn(const std::string &reason, uint64_t now) {
  auto it = by_reason_.find(reason);
  if (it == by_reason_.end()) {
    by_reason_.emplace(reason, Seen{now, 0});
    return 0u;
  }
  Seen &seen = it->second;
  if (now - seen.warned_at < quiet_period_) {
    seen.silent++;
    return std::nullopt;
  }
  uint32_t stands_for = seen.silent;
  seen = Seen{now, 0};
  return stands_for;
}

} // namespace dgf
