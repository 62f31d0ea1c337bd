/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: which /v1/listen query options Deepgram takes, which of them
 * the emulator acts on, and the refusals Deepgram answers with (400).
 *
 * Every option Deepgram documents for an API is in the table, with its value
 * type and whether the emulator emulates it. An option it does not emulate
 * (redact, tag, paragraphs, ...) is refused, naming the option, unless the
 * emulator runs lenient: then it is accepted, ignored and reported back, so a
 * test never believes a feature worked when nothing happened. Options
 * Deepgram does not document at all are ignored, as Deepgram ignores them.
 *
 * Option names and types: the official JavaScript SDK, @deepgram/sdk 5.13.0,
 * dist/cjs/api/resources/listen/resources/v1/client/Client.d.ts (live) and
 * .../media/client/requests/MediaTranscribeRequestOctetStream.d.ts
 * (pre-recorded). Also on live: filler_words and no_delay, which that SDK
 * version does not type (Deepgram's feature pages list them for streaming).
 * Pure logic, no GLib or libsoup: unit-tested directly.
 */
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dgemu {

enum class ListenApi { Live, Batch };

enum class OptionValue {
  Bool,        /* true or false */
  Integer,     /* decimal digits */
  Number,      /* a decimal number */
  Endpointing, /* milliseconds or true/false */
  Text,        /* anything */
};

enum class OptionSupport {
  Emulated,    /* the emulator acts on it */
  NoEffect,    /* accepted; it would only bias recognition (keyterm, ...) */
  NotEmulated, /* refused unless lenient */
};

struct OptionRule {
  const char *name;
  bool live;
  bool batch;
  OptionValue value;
  OptionSupport support;
};

/* The rule for `name` on `api`, or nullptr when Deepgram documents no such
 * option for that API. */
const OptionRule *find_option_rule(const std::string &name, ListenApi api);

/* Every rule, for the docs check. */
const std::vector<OptionRule> &option_rules();

struct QueryVerdict {
  bool ok = true;
  std::string err_code; /* when refused */
  std::string err_msg;
  /* Options accepted only because the emulator runs lenient, in request
   * order, each once ("redact", "language=fr", ...). */
  std::vector<std::string> ignored;
};

/* Checks a request's parameters as Deepgram would: value types, model and
 * language, per-model rules (keywords vs keyterm); then what the emulator
 * does not emulate. */
QueryVerdict check_listen_query(const std::vector<std::pair<std::string, std::string>> &params,
                                ListenApi api, bool lenient);

/* The dg-emulator-ignored header value: the ignored options, comma-joined. */
std::string join_ignored(const std::vector<std::string> &ignored);

} // namespace dgemu
