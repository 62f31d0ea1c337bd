/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Property tables in docs/<element>.md against what the element class reports.
 *
 * Plain C++ (no GStreamer types) so the parser and the rules are unit-tested on their own
 * (test_doc_properties_rules.cpp); test_docs_match_code.cpp feeds them the real param specs.
 *
 * A property table is a Markdown table whose header's first cell is "property". Its columns are
 * found by header name: "type", "default" (or one "type, default" column: the default is what
 * follows the type word and its unit), an optional "unit", and the last column is the meaning.
 * A row may name two properties, "`retry-backoff-min` / `-max`", with defaults "500 / 30000".
 */
#pragma once

#include <string>
#include <vector>

namespace dgdocs {

struct DocProperty {
  std::string name;
  std::string type;         /* first word of the type cell: uint, bool, string, GstStructure... */
  std::string unit;         /* ms, ns, s... from the type cell or the unit column; may be empty */
  std::string default_text; /* as written, backticks and quotes removed */
  bool read_only = false;   /* "read-only" in the type or default cell */
  bool write_only = false;
  int line = 0; /* 1-based line in the file */
};

enum class Kind { Bool, Int, UInt, UInt64, Double, String, Enum, Boxed, Object, Other };

struct CodeProperty {
  std::string name;
  Kind kind = Kind::Other;
  std::string type_name;    /* the GType's name, for messages */
  std::string default_text; /* canonical: true/false, decimal number, enum nick, string */
  bool default_is_null = false;
  std::string nick;
  std::string blurb;
  bool readable = true;
  bool writable = true;
};

std::vector<DocProperty> parse_property_tables(const std::string &markdown);

/* Every problem found, one line each; empty when docs and code agree. */
std::vector<std::string> compare_properties(const std::string &element,
                                            const std::vector<DocProperty> &docs,
                                            const std::vector<CodeProperty> &code);

/* The blurb rules alone (non-empty, not the nick, no two alike, units for times). */
std::vector<std::string> check_blurbs(const std::string &element,
                                      const std::vector<CodeProperty> &code,
                                      const std::vector<DocProperty> &docs);

} // namespace dgdocs
