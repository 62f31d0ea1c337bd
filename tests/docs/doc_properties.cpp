/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "doc_properties.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

namespace dgdocs {

namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool contains(const std::string &s, const std::string &what) {
  return s.find(what) != std::string::npos;
}

/* Cells of a table row; a '|' inside `code` or escaped as \| does not split. */
std::vector<std::string> split_row(const std::string &line) {
  std::vector<std::string> cells;
  std::string cell;
  bool code = false;
  std::string s = trim(line);
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == '|') {
      cell += '|';
      i++;
    } else if (c == '`') {
      code = !code;
      cell += c;
    } else if (c == '|' && !code) {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(trim(cell));
  /* A row starts and ends with '|': drop the empty cells outside them. */
  if (!cells.empty() && cells.front().empty())
    cells.erase(cells.begin());
  if (!cells.empty() && cells.back().empty() && s.size() > 1 && s.back() == '|')
    cells.pop_back();
  return cells;
}

bool is_separator(const std::vector<std::string> &cells) {
  for (const auto &c : cells)
    if (c.find_first_not_of("-: ") != std::string::npos || c.empty())
      return false;
  return !cells.empty();
}

bool is_time_unit(const std::string &u) {
  return u == "ns" || u == "us" || u == "ms" || u == "s" || u == "min" || u == "h";
}

double unit_factor_ns(const std::string &u) {
  if (u == "ns")
    return 1;
  if (u == "us")
    return 1e3;
  if (u == "ms")
    return 1e6;
  if (u == "s")
    return 1e9;
  if (u == "min")
    return 60e9;
  if (u == "h")
    return 3600e9;
  return 0;
}

std::string strip_markup(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '`'), s.end());
  return trim(s);
}

/* "uint ms" -> (uint, ms); "GstStructure, read-only, notify" -> (GstStructure, ""). */
void parse_type(const std::string &cell, DocProperty &p) {
  std::string t = strip_markup(cell);
  p.read_only = contains(t, "read-only");
  p.write_only = contains(t, "write-only");
  std::istringstream in(t);
  std::string word;
  in >> word;
  while (!word.empty() && word.back() == ',')
    word.pop_back();
  p.type = word;
  std::string second;
  if (in >> second) {
    while (!second.empty() && second.back() == ',')
      second.pop_back();
    if (is_time_unit(second))
      p.unit = second;
  }
}

std::vector<std::string> split_defaults(const std::string &text, size_t n) {
  if (n < 2)
    return {text};
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find(" / ", start);
    parts.push_back(trim(text.substr(start, slash == std::string::npos ? slash : slash - start)));
    if (slash == std::string::npos)
      break;
    start = slash + 3;
  }
  if (parts.size() != n)
    return std::vector<std::string>(n, text);
  return parts;
}

/* Names in the first cell: "`a`", or "`a-min` / `-max`" (the second shares a's stem). */
std::vector<std::string> row_names(const std::string &cell) {
  static const std::regex name_re("`([a-z0-9][a-z0-9-]*|-[a-z0-9-]+)`");
  std::vector<std::string> names;
  for (std::sregex_iterator it(cell.begin(), cell.end(), name_re), end; it != end; ++it) {
    std::string n = (*it)[1];
    if (n[0] == '-' && !names.empty()) {
      const std::string &first = names.front();
      size_t dash = first.rfind('-');
      n = (dash == std::string::npos ? first : first.substr(0, dash)) + n;
    }
    if (n[0] != '-')
      names.push_back(n);
  }
  return names;
}

} // namespace

std::vector<DocProperty> parse_property_tables(const std::string &markdown) {
  std::vector<std::string> lines;
  {
    std::istringstream in(markdown);
    std::string l;
    while (std::getline(in, l))
      lines.push_back(l);
  }
  std::vector<DocProperty> out;
  for (size_t i = 0; i + 1 < lines.size(); i++) {
    if (trim(lines[i]).rfind('|', 0) != 0)
      continue;
    auto header = split_row(lines[i]);
    if (header.empty() || lower(strip_markup(header[0])) != "property" ||
        !is_separator(split_row(lines[i + 1])))
      continue;
    int type_col = -1, default_col = -1, unit_col = -1;
    for (size_t c = 0; c < header.size(); c++) {
      std::string h = lower(header[c]);
      if (contains(h, "type") && type_col < 0)
        type_col = int(c);
      if (contains(h, "default") && default_col < 0)
        default_col = int(c);
      if (h == "unit")
        unit_col = int(c);
    }
    size_t r = i + 2;
    for (; r < lines.size() && trim(lines[r]).rfind('|', 0) == 0; r++) {
      auto cells = split_row(lines[r]);
      auto names = row_names(cells.empty() ? "" : cells[0]);
      if (names.empty())
        continue;
      DocProperty base;
      base.line = int(r + 1);
      std::string default_cell;
      if (type_col >= 0 && type_col < int(cells.size())) {
        if (type_col == default_col) {
          /* "type, default": the default is what follows the first ", ". */
          const std::string &cell = cells[type_col];
          size_t comma = cell.find(", ");
          parse_type(comma == std::string::npos ? cell : cell.substr(0, comma), base);
          default_cell = comma == std::string::npos ? "" : cell.substr(comma + 2);
          base.read_only = contains(cell, "read-only");
          base.write_only = contains(cell, "write-only");
          if (base.read_only || base.write_only)
            default_cell = "";
        } else {
          parse_type(cells[type_col], base);
        }
      }
      if (default_col >= 0 && default_col != type_col && default_col < int(cells.size()))
        default_cell = cells[default_col];
      if (unit_col >= 0 && unit_col < int(cells.size())) {
        std::string u = strip_markup(cells[unit_col]);
        if (is_time_unit(u))
          base.unit = u;
      }
      auto defaults = split_defaults(default_cell, names.size());
      for (size_t n = 0; n < names.size(); n++) {
        DocProperty p = base;
        p.name = names[n];
        p.default_text = strip_markup(defaults[n]);
        out.push_back(p);
      }
    }
    i = r - 1;
  }
  return out;
}

namespace {

bool means_empty(const std::string &d) {
  std::string l = lower(d);
  return l.empty() || l == "\"\"" || l == "–" || l == "-" || l == "none" || l == "null" ||
         l.rfind("empty", 0) == 0;
}

/* "5 s", "300 ms", "-40", "30000 (30 s)": the leading number and its unit, if any. */
bool parse_number(const std::string &text, double &value, std::string &unit) {
  const char *s = text.c_str();
  char *end = nullptr;
  value = std::strtod(s, &end);
  if (end == s)
    return false;
  std::string rest = trim(std::string(end));
  std::istringstream in(rest);
  std::string word;
  in >> word;
  unit = is_time_unit(word) ? word : "";
  return true;
}

bool kind_matches(const std::string &doc_type, Kind kind) {
  static const std::map<std::string, Kind> kinds = {
      {"bool", Kind::Bool},         {"boolean", Kind::Bool},    {"gboolean", Kind::Bool},
      {"int", Kind::Int},           {"gint", Kind::Int},        {"uint", Kind::UInt},
      {"guint", Kind::UInt},        {"uint64", Kind::UInt64},   {"guint64", Kind::UInt64},
      {"double", Kind::Double},     {"gdouble", Kind::Double},  {"string", Kind::String},
      {"gchararray", Kind::String}, {"enum", Kind::Enum},       {"gststructure", Kind::Boxed},
      {"structure", Kind::Boxed},   {"gstclock", Kind::Object}, {"object", Kind::Object}};
  auto it = kinds.find(lower(doc_type));
  return it != kinds.end() && it->second == kind;
}

bool numeric(Kind k) {
  return k == Kind::Int || k == Kind::UInt || k == Kind::UInt64 || k == Kind::Double;
}

std::string check_default(const DocProperty &d, const CodeProperty &c) {
  const std::string &doc = d.default_text;
  auto mismatch = [&](const std::string &why = "") {
    return "default: docs say '" + doc + "', code has '" +
           (c.default_is_null ? std::string("NULL") : c.default_text) + "'" + why;
  };
  switch (c.kind) {
  case Kind::Boxed:
    return "";
  case Kind::Object:
    return means_empty(doc) ? "" : mismatch(" (an object property defaults to NULL)");
  case Kind::String:
    if (c.default_is_null || c.default_text.empty())
      return means_empty(doc) ? "" : mismatch();
    return doc == c.default_text ? "" : mismatch();
  case Kind::Bool:
  case Kind::Enum:
    return lower(doc) == lower(c.default_text) ? "" : mismatch();
  default:
    break;
  }
  double doc_value = 0, code_value = std::strtod(c.default_text.c_str(), nullptr);
  std::string doc_unit;
  if (!parse_number(doc, doc_value, doc_unit))
    return mismatch(" (not a number)");
  if (!doc_unit.empty()) {
    if (!is_time_unit(d.unit))
      return mismatch(" (the default has a unit, the property none: state it in the type)");
    doc_value = doc_value * unit_factor_ns(doc_unit) / unit_factor_ns(d.unit);
  }
  double tolerance = 1e-9 * std::max(1.0, std::fabs(code_value));
  return std::fabs(doc_value - code_value) <= tolerance ? "" : mismatch();
}

bool names_time(const std::string &name) {
  static const std::regex time_re("timeout|interval|window|backoff|latency|time|-ms$|chunk|"
                                  "pause$|max-buffer");
  return std::regex_search(name, time_re);
}

} // namespace

std::vector<std::string> check_blurbs(const std::string &element,
                                      const std::vector<CodeProperty> &code,
                                      const std::vector<DocProperty> &docs) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> doc_units;
  for (const auto &d : docs)
    doc_units[d.name] = d.unit;
  std::map<std::string, std::string> seen; /* blurb -> property */
  static const std::map<std::string, std::regex> unit_words = {
      {"ns", std::regex("\\b(ns|nanoseconds?)\\b", std::regex::icase)},
      {"us", std::regex("\\b(us|microseconds?)\\b", std::regex::icase)},
      {"ms", std::regex("\\b(ms|milliseconds?)\\b", std::regex::icase)},
      {"s", std::regex("\\bseconds?\\b", std::regex::icase)},
      {"min", std::regex("\\bminutes?\\b", std::regex::icase)},
      {"h", std::regex("\\bhours?\\b", std::regex::icase)}};
  static const std::regex any_unit("\\b(ns|nanoseconds?|ms|milliseconds?|seconds?|minutes?)\\b",
                                   std::regex::icase);
  for (const auto &c : code) {
    std::string where = element + ": `" + c.name + "` blurb";
    std::string b = trim(c.blurb);
    if (b.size() < 10) {
      problems.push_back(where + " is empty or too short: '" + b + "'");
      continue;
    }
    if (lower(b) == lower(trim(c.nick)))
      problems.push_back(where + " only repeats the nick");
    auto [it, fresh] = seen.emplace(lower(b), c.name);
    if (!fresh)
      problems.push_back(where + " is the same as `" + it->second + "`'s (copy-paste?)");
    if (!numeric(c.kind))
      continue;
    std::string unit = doc_units.count(c.name) ? doc_units[c.name] : "";
    if (is_time_unit(unit)) {
      if (!std::regex_search(b, unit_words.at(unit)))
        problems.push_back(where + " does not state its unit (" + unit + "): '" + b + "'");
    } else if (names_time(c.name) && !std::regex_search(b, any_unit)) {
      problems.push_back(where + " is a time without a unit: '" + b + "'");
    }
  }
  return problems;
}

std::vector<std::string> compare_properties(const std::string &element,
                                            const std::vector<DocProperty> &docs,
                                            const std::vector<CodeProperty> &code) {
  std::vector<std::string> problems;
  std::string doc_file = "docs/" + element + ".md";
  std::map<std::string, const DocProperty *> by_name;
  for (const auto &d : docs) {
    auto [it, fresh] = by_name.emplace(d.name, &d);
    if (!fresh)
      problems.push_back(doc_file + ":" + std::to_string(d.line) + ": `" + d.name +
                         "` documented twice (also line " + std::to_string(it->second->line) + ")");
  }
  std::map<std::string, const CodeProperty *> in_code;
  for (const auto &c : code)
    in_code[c.name] = &c;

  for (const auto &c : code) {
    auto it = by_name.find(c.name);
    if (it == by_name.end()) {
      problems.push_back(element + ": property `" + c.name + "` is not documented in " + doc_file);
      continue;
    }
    const DocProperty &d = *it->second;
    std::string where = doc_file + ":" + std::to_string(d.line) + ": `" + c.name + "` ";
    /* Types without a kind of their own (GstFraction) go by their GType name. */
    bool other_named = c.kind == Kind::Other && lower(d.type) == lower(c.type_name);
    if (!kind_matches(d.type, c.kind) && !other_named)
      problems.push_back(where + "type: docs say '" + d.type + "', code has " + c.type_name);
    if (!c.writable && !d.read_only)
      problems.push_back(where + "is read-only in the code; say so in the docs");
    if (c.writable && d.read_only)
      problems.push_back(where + "is documented read-only but is writable");
    if (!c.readable && !d.write_only)
      problems.push_back(where + "is write-only in the code; say so in the docs");
    bool check_it = c.readable && !(d.read_only && d.default_text.empty());
    if (check_it) {
      std::string why = check_default(d, c);
      if (!why.empty())
        problems.push_back(where + why);
    }
  }
  for (const auto &d : docs)
    if (!in_code.count(d.name))
      problems.push_back(doc_file + ":" + std::to_string(d.line) + ": documents `" + d.name +
                         "`, which " + element + " does not have");
  auto blurbs = check_blurbs(element, code, docs);
  problems.insert(problems.end(), blurbs.begin(), blurbs.end());
  return problems;
}

} // namespace dgdocs
