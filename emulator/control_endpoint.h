/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: the control endpoint under /_emulator/ (same port, no auth:
 * the emulator listens on loopback only).
 *
 *   GET    /_emulator/health          {"status":"ok","engine":..,"now":..}
 *   GET    /_emulator/counters        the counters (see counters.h)
 *   GET    /_emulator/faults          {"now":..,"faults":[...]} scheduled and active faults
 *   POST   /_emulator/faults          body: a fault, an array, or {"faults":[...]};
 *                                     `at` counts from now (?from=start: from emulator start)
 *                                     -> {"ids":[..],"now":..}
 *   DELETE /_emulator/faults          removes every fault
 *   DELETE /_emulator/faults/ID       removes one fault
 *   POST   /_emulator/clock           {"advance":S} moves the fault clock S seconds on
 *                                     (fires due faults before answering) -> {"now":..}
 *   GET    /_emulator/clock           {"now":..}
 *   POST   /_emulator/reset           clears faults and counters
 *                                     (body {"faults":false} or {"counters":false} keeps one)
 */
#pragma once

#include "counters.h"
#include "faults.h"

#include <libsoup/soup.h>

#include <string>
#include <vector>

namespace dgemu {

class ControlTarget {
public:
  virtual ~ControlTarget() = default;
  virtual Counters control_counters() = 0;
  virtual void control_reset(bool counters, bool faults) = 0;
  virtual std::vector<int> control_inject(std::vector<Fault> faults, bool relative_to_now) = 0;
  virtual void control_advance(double seconds) = 0;
  virtual FaultController &control_faults() = 0;
  virtual std::string control_engine() = 0;
};

/* Serves one request whose path starts with /_emulator. */
void handle_control(SoupServerMessage *msg, const std::string &path, ControlTarget *target,
                    const std::string &request_id);

} // namespace dgemu
