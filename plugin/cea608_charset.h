/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CEA-608 characters: UTF-8 text to what a 608 decoder can show.
 *
 * The 608 set is ASCII with nine code points swapped for accented letters
 * (0x2A is á, 0x5C é, 0x5E í, 0x5F ó, 0x60 ú, 0x7B ç, 0x7C ÷, 0x7D Ñ, 0x7E ñ),
 * plus 16 "special" characters (♪, ½, è, ...) and 64 "extended" ones (Á, ü,
 * «, {, ...) sent as two-byte codes. An extended character replaces the
 * character before it on screen, so a basic fallback goes first: a decoder
 * without the extended set shows the fallback (A for Á). Anything else is
 * replaced: a Latin letter by its base letter (ł by l), typographic quotes and
 * dashes by their ASCII forms, the rest by '?'. Plain C++, no GStreamer types.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgf {

/* One on-screen column of 608 text. */
struct Cea608Char {
  enum class Kind { Basic, Special, Extended };
  Kind kind = Kind::Basic;
  uint8_t code = ' ';     /* Basic: the 7-bit code; Special/Extended: the second byte */
  uint8_t set = 0;        /* Extended: 0x12 (Spanish, French, misc) or 0x13 (Portuguese,
                             German, misc); Special: 0x11 */
  uint8_t fallback = ' '; /* Extended: the basic character sent first */
  bool replaced = false;  /* not in the 608 repertoire: a stand-in */
};

/* The UTF-8 text as 608 characters, one per column. Control characters
 * (tab, newline) become spaces; invalid UTF-8 bytes become '?'. */
std::vector<Cea608Char> cea608_chars(const std::string &utf8);

/* The code point of one 608 character, as a decoder shows it. */
uint32_t cea608_char_codepoint(const Cea608Char &c);

} // namespace dgf
