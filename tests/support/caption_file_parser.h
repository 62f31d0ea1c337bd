/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsers for the caption files the tests produce (webvttenc, srtenc), so a
 * test checks cues, lines and times as a player would read them rather than
 * grepping the file. Strict about what they accept: a malformed file is an
 * error with its line number. Plain C++. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgtest {

struct CaptionFileCue {
  uint64_t start = 0; /* ns */
  uint64_t end = 0;   /* ns */
  std::vector<std::string> lines;
};

struct CaptionFile {
  std::vector<CaptionFileCue> cues;
  std::string error; /* empty when the file parsed */
  bool ok() const { return error.empty(); }
};

/* WebVTT: the WEBVTT header, then blocks separated by blank lines; a cue is
 * an optional identifier line, "[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt [settings]"
 * and its text lines. NOTE, STYLE and REGION blocks are skipped. */
CaptionFile parse_webvtt(const std::string &content);

/* SubRip: blocks of a sequence number, "hh:mm:ss,ttt --> hh:mm:ss,ttt" and
 * text lines; numbers must count up from 1. */
CaptionFile parse_srt(const std::string &content);

/* The whole file, or "" when it cannot be read. */
std::string read_text_file(const std::string &path);

} // namespace dgtest
