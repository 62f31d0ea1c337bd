/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The network events of a rehearsal: tools/netns.sh run from inside the
 * namespace it created (DG_NETNS, DG_NETNS_TOOL in the environment), so tc and
 * nft act on that namespace's loopback only.
 *
 *   NetControl net;                 // available() false outside a namespace
 *   net.blackhole(emu.port());      // TCP to and from the port silently dropped
 *   net.restore();                  // every drop rule removed
 */
#pragma once

#include <string>

namespace nettest {

class NetControl {
public:
  NetControl();
  /* Inside a namespace made by tools/netns.sh run, with the tool found. */
  bool available() const { return !tool_.empty() && !ns_.empty(); }
  const std::string &ns() const { return ns_; }
  /* Why not available, for the skip message. */
  std::string why_not() const;

  /* Each false with *error set when the tool failed. */
  bool shape(const std::string &rate, std::string *error);
  bool blackhole(int port, std::string *error);
  bool loss(int percent, int port, std::string *error);
  bool restore(std::string *error);

private:
  bool tool(const std::string &a, const std::string &b, const std::string &c, std::string *error);
  std::string tool_, ns_;
};

} // namespace nettest
