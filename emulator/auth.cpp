/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth.h"

#include <glib.h>

#include <vector>

namespace dgemu {

namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string lower(const std::string &s) {
  std::string out = s;
  for (auto &c : out)
    c = static_cast<char>(g_ascii_tolower(c));
  return out;
}

} // namespace

bool parse_authorization(const char *header, Credentials *out) {
  if (!header)
    return false;
  std::string h = trim(header);
  size_t sp = h.find_first_of(" \t");
  if (sp == std::string::npos)
    return false;
  std::string scheme = lower(h.substr(0, sp));
  std::string key = trim(h.substr(sp + 1));
  if ((scheme != "token" && scheme != "bearer") || key.empty())
    return false;
  out->scheme = scheme;
  out->key = key;
  out->from_subprotocol = false;
  return true;
}

bool parse_ws_protocols(const char *header, Credentials *out) {
  if (!header)
    return false;
  std::vector<std::string> items;
  gchar **parts = g_strsplit(header, ",", -1);
  for (gchar **p = parts; *p; p++) {
    std::string t = trim(*p);
    if (!t.empty())
      items.push_back(t);
  }
  g_strfreev(parts);
  for (size_t i = 0; i + 1 < items.size(); i++) {
    std::string scheme = lower(items[i]);
    if (scheme == "token" || scheme == "bearer") {
      out->scheme = scheme;
      out->key = items[i + 1];
      out->from_subprotocol = true;
      return true;
    }
  }
  return false;
}

bool find_credentials(const char *authorization, const char *ws_protocols, Credentials *out) {
  if (parse_authorization(authorization, out))
    return true;
  return parse_ws_protocols(ws_protocols, out);
}

bool credentials_valid(const Credentials &creds, const std::string &api_key) {
  if (creds.key.empty())
    return false;
  return api_key.empty() || creds.key == api_key;
}

} // namespace dgemu
