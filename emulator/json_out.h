/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: JSON output.
 *
 * Messages are built with json-glib's JsonBuilder and written by to_json(),
 * which prints numbers the way Deepgram does (17.0, 1.66) instead of
 * json-glib's 17-digit form (0.10000000000000001). Times are rounded to
 * microseconds before they are written.
 */
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace dgemu {

/* Compact JSON text for node (object members in insertion order). */
std::string to_json(JsonNode *node);

/* Finishes the builder's root and writes it; the builder is unreffed. */
std::string finish_json(JsonBuilder *builder);

/* Seconds rounded to whole microseconds. */
double round_us(double seconds);

/* Seconds for a sample count, rounded to microseconds. */
double samples_to_seconds(long long samples, int rate);

/* {"err_code":..,"err_msg":..,"request_id":..}; without request_id when it
 * is empty (Deepgram's 404 PROJECT_NOT_FOUND body has none). */
std::string error_json(const std::string &err_code, const std::string &err_msg,
                       const std::string &request_id);

/* Deepgram's newer error shape: {"category":..,"message":..,"details":..,"request_id":..}. */
std::string modern_error_json(const std::string &category, const std::string &message,
                              const std::string &details, const std::string &request_id);

/* json-glib's parser recurses once per nesting level, so a request body or
 * text frame of a million '[' would overflow the stack: parse nothing nested
 * deeper than this. */
constexpr int kMaxJsonNesting = 64;

/* True when `data` nests objects/arrays deeper than `limit` (brackets inside
 * strings do not count), or uses comments or single-quoted strings (json-glib
 * extensions that could hide brackets from the count). */
bool json_too_deep(const char *data, size_t len, int limit = kMaxJsonNesting);

/* Parses text into a node; nullptr with *error set when it is not JSON (or
 * json_too_deep). */
JsonNode *parse_json(const char *data, size_t len, std::string *error);

/* Member access helpers for parsed objects. */
bool json_has(JsonObject *obj, const char *name);

} // namespace dgemu
