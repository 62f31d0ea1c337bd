/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: Deepgram authentication.
 *
 * Deepgram accepts `Authorization: Token KEY` (API keys) and
 * `Authorization: Bearer JWT` (temporary tokens), the scheme in any case, and
 * from browsers the WebSocket subprotocols `token, KEY` (or `bearer, JWT`).
 * The emulator compares the presented key or token with its configured key;
 * with no configured key it accepts any non-empty one. A request without
 * credentials is always refused, as Deepgram refuses it.
 */
#pragma once

#include <string>

namespace dgemu {

struct Credentials {
  std::string scheme; /* "token" or "bearer", lowercase; empty when none */
  std::string key;
  bool from_subprotocol = false;
};

/* Parses an Authorization header value. False when absent or malformed. */
bool parse_authorization(const char *header, Credentials *out);

/* Parses a Sec-WebSocket-Protocol value such as "token, KEY". */
bool parse_ws_protocols(const char *header, Credentials *out);

/* Picks the credentials of a request: the Authorization header first, then
 * the subprotocols. False when neither carries any. */
bool find_credentials(const char *authorization, const char *ws_protocols, Credentials *out);

/* True when creds are acceptable for api_key (empty = any non-empty key). */
bool credentials_valid(const Credentials &creds, const std::string &api_key);

} // namespace dgemu
