/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "caption_file_parser.h"

#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

namespace dgtest {
namespace {

constexpr uint64_t kMs = 1000000;

std::vector<std::string> split_lines(const std::string &content) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(content);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

/* Digits at `at`, exactly `count` of them (or at least `count` when `more`). */
std::optional<uint64_t> digits(const std::string &s, size_t &at, size_t count, bool more = false) {
  size_t begin = at;
  uint64_t v = 0;
  while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])) &&
         (more || at - begin < count))
    v = v * 10 + static_cast<uint64_t>(s[at++] - '0');
  if (at - begin < count)
    return std::nullopt;
  return v;
}

bool expect(const std::string &s, size_t &at, char c) {
  if (at >= s.size() || s[at] != c)
    return false;
  at++;
  return true;
}

/* [hh:]mm:ss<frac>ttt (WebVTT: hours optional, '.') or hh:mm:ss,ttt (SRT). */
std::optional<uint64_t> timestamp(const std::string &s, size_t &at, char frac, bool hours_needed) {
  auto first = digits(s, at, 2, true);
  if (!first || !expect(s, at, ':'))
    return std::nullopt;
  auto second = digits(s, at, 2);
  if (!second)
    return std::nullopt;
  uint64_t h = 0, m, sec;
  if (at < s.size() && s[at] == ':') {
    at++;
    auto third = digits(s, at, 2);
    if (!third)
      return std::nullopt;
    h = *first;
    m = *second;
    sec = *third;
  } else {
    if (hours_needed)
      return std::nullopt;
    m = *first;
    sec = *second;
  }
  if (!expect(s, at, frac))
    return std::nullopt;
  auto ms = digits(s, at, 3);
  if (!ms || m > 59 || sec > 59)
    return std::nullopt;
  return ((h * 60 + m) * 60 + sec) * 1000 * kMs + *ms * kMs;
}

/* "start --> end" with anything (cue settings) after the end. */
bool timing_line(const std::string &line, char frac, bool hours_needed, CaptionFileCue &cue) {
  size_t at = 0;
  auto start = timestamp(line, at, frac, hours_needed);
  if (!start || line.compare(at, 5, " --> ") != 0)
    return false;
  at += 5;
  auto end = timestamp(line, at, frac, hours_needed);
  if (!end || (at < line.size() && line[at] != ' ' && line[at] != '\t'))
    return false;
  cue.start = *start;
  cue.end = *end;
  return true;
}

std::string at_line(size_t index, const std::string &what) {
  return "line " + std::to_string(index + 1) + ": " + what;
}

} // namespace

CaptionFile parse_webvtt(const std::string &content) {
  CaptionFile out;
  std::vector<std::string> lines = split_lines(content);
  std::string first = lines.empty() ? "" : lines[0];
  if (first.rfind("\xEF\xBB\xBF", 0) == 0)
    first = first.substr(3);
  if (first.rfind("WEBVTT", 0) != 0 || (first.size() > 6 && first[6] != ' ' && first[6] != '\t')) {
    out.error = at_line(0, "no WEBVTT header");
    return out;
  }
  size_t i = 1;
  while (i < lines.size() && !lines[i].empty())
    i++; /* header lines */
  while (i < lines.size()) {
    if (lines[i].empty()) {
      i++;
      continue;
    }
    size_t block = i;
    if (lines[i].rfind("NOTE", 0) == 0 || lines[i] == "STYLE" || lines[i] == "REGION") {
      while (i < lines.size() && !lines[i].empty())
        i++;
      continue;
    }
    CaptionFileCue cue;
    if (lines[i].find("-->") == std::string::npos)
      i++; /* cue identifier */
    if (i >= lines.size() || !timing_line(lines[i], '.', false, cue)) {
      out.error = at_line(i < lines.size() ? i : block, "bad cue timing");
      return out;
    }
    for (i++; i < lines.size() && !lines[i].empty(); i++) {
      if (lines[i].find("-->") != std::string::npos) {
        out.error = at_line(i, "\"-->\" in cue text");
        return out;
      }
      cue.lines.push_back(lines[i]);
    }
    out.cues.push_back(std::move(cue));
  }
  return out;
}

CaptionFile parse_srt(const std::string &content) {
  CaptionFile out;
  std::vector<std::string> lines = split_lines(content);
  size_t i = 0;
  uint64_t expected = 1;
  if (!lines.empty() && lines[0].rfind("\xEF\xBB\xBF", 0) == 0)
    lines[0] = lines[0].substr(3);
  while (i < lines.size()) {
    if (lines[i].empty()) {
      i++;
      continue;
    }
    size_t at = 0;
    auto number = digits(lines[i], at, 1, true);
    if (!number || at != lines[i].size() || *number != expected) {
      out.error = at_line(i, "expected cue number " + std::to_string(expected));
      return out;
    }
    expected++;
    i++;
    CaptionFileCue cue;
    if (i >= lines.size() || !timing_line(lines[i], ',', true, cue)) {
      out.error = at_line(i, "bad cue timing");
      return out;
    }
    for (i++; i < lines.size() && !lines[i].empty(); i++)
      cue.lines.push_back(lines[i]);
    out.cues.push_back(std::move(cue));
  }
  return out;
}

std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace dgtest
