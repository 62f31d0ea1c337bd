/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cea608_charset.h"

#include <cstring>

namespace dgf {
namespace {

using Kind = Cea608Char::Kind;

/* The nine basic codes that are not their ASCII character. */
struct BasicSwap {
  uint32_t cp;
  uint8_t code;
};
constexpr BasicSwap kBasicSwaps[] = {
    {0xE1, 0x2A}, {0xE9, 0x5C}, {0xED, 0x5E}, {0xF3, 0x5F}, {0xFA, 0x60},
    {0xE7, 0x7B}, {0xF7, 0x7C}, {0xD1, 0x7D}, {0xF1, 0x7E}, {0x2588, 0x7F},
};

/* Special characters, second byte 0x30 + index (first byte 0x11); 0x39 is
 * the transparent space, never produced. */
constexpr uint32_t kSpecial[16] = {0xAE, 0xB0, 0xBD, 0xBF, 0x2122, 0xA2, 0xA3, 0x266A,
                                   0xE0, 0,    0xE8, 0xE2, 0xEA,   0xEE, 0xF4, 0xFB};

/* Extended characters, second byte 0x20 + index, with the basic fallback a
 * decoder without them shows. */
struct Extended {
  uint32_t cp;
  char fallback;
};
constexpr Extended kExtended12[32] = {
    {0xC1, 'A'},    {0xC9, 'E'},   {0xD3, 'O'},   {0xDA, 'U'},    {0xDC, 'U'},   {0xFC, 'u'},
    {0x2018, '\''}, {0xA1, '!'},   {'*', '\''},   {0x2019, '\''}, {0x2014, '-'}, {0xA9, 'c'},
    {0x2120, ' '},  {0x2022, '.'}, {0x201C, '"'}, {0x201D, '"'},  {0xC0, 'A'},   {0xC2, 'A'},
    {0xC7, 'C'},    {0xC8, 'E'},   {0xCA, 'E'},   {0xCB, 'E'},    {0xEB, 'e'},   {0xCE, 'I'},
    {0xCF, 'I'},    {0xEF, 'i'},   {0xD4, 'O'},   {0xD9, 'U'},    {0xF9, 'u'},   {0xDB, 'U'},
    {0xAB, '"'},    {0xBB, '"'}};
constexpr Extended kExtended13[32] = {
    {0xC3, 'A'},   {0xE3, 'a'},  {0xCD, 'I'}, {0xCC, 'I'}, {0xEC, 'i'},   {0xD2, 'O'},
    {0xF2, 'o'},   {0xD5, 'O'},  {0xF5, 'o'}, {'{', '('},  {'}', ')'},    {'\\', '/'},
    {'^', ' '},    {'_', '-'},   {'|', 'l'},  {'~', '-'},  {0xC4, 'A'},   {0xE4, 'a'},
    {0xD6, 'O'},   {0xF6, 'o'},  {0xDF, 's'}, {0xA5, 'Y'}, {0xA4, ' '},   {0xA6, 'l'},
    {0xC5, 'A'},   {0xE5, 'a'},  {0xD8, 'O'}, {0xF8, 'o'}, {0x250C, '+'}, {0x2510, '+'},
    {0x2514, '+'}, {0x2518, '+'}};

/* Latin Extended-A (U+0100..U+017F) to base letters. */
constexpr const char kLatinExtA[] =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiJjJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOo"
    "RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
static_assert(sizeof(kLatinExtA) - 1 == 0x80, "one base letter per Latin Extended-A letter");

/* Stand-ins outside both tables, as ASCII (possibly several columns). */
struct Stand {
  uint32_t cp;
  const char *ascii;
};
constexpr Stand kStandIns[] = {
    {0xA0, " "},     {0xC6, "AE"},  {0xE6, "ae"},   {0xD0, "D"},     {0xF0, "d"},   {0xD7, "x"},
    {0xDD, "Y"},     {0xFD, "y"},   {0xDE, "Th"},   {0xFE, "th"},    {0xFF, "y"},   {0xB7, "."},
    {0xB1, "+/-"},   {0xB2, "2"},   {0xB3, "3"},    {0xB9, "1"},     {0xB4, "'"},   {0xBA, "o"},
    {0xAA, "a"},     {0xBC, "1/4"}, {0xBE, "3/4"},  {0x2010, "-"},   {0x2011, "-"}, {0x2013, "-"},
    {0x2015, "-"},   {0x201A, ","}, {0x201E, "\""}, {0x2026, "..."}, {0x2032, "'"}, {0x2033, "\""},
    {0x20AC, "EUR"}, {0x266B, ""},  {0x2039, "<"},  {0x203A, ">"},   {0x02BC, "'"}};

Cea608Char basic(uint8_t code, bool replaced = false) {
  Cea608Char c;
  c.kind = Kind::Basic;
  c.code = code;
  c.replaced = replaced;
  return c;
}

/* Decodes one code point at `at`, advancing it; invalid bytes give
 * 0xFFFFFFFF and advance by one. */
uint32_t next_codepoint(const std::string &s, size_t &at) {
  auto b = static_cast<uint8_t>(s[at]);
  int extra = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : -1;
  if (extra < 0 || at + extra >= s.size()) {
    at++;
    return 0xFFFFFFFFu;
  }
  uint32_t cp = extra == 0 ? b : b & (0x3F >> extra);
  for (int i = 1; i <= extra; i++) {
    auto c = static_cast<uint8_t>(s[at + i]);
    if ((c & 0xC0) != 0x80) {
      at++;
      return 0xFFFFFFFFu;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  at += extra + 1;
  return cp;
}

void append(std::vector<Cea608Char> &out, uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) {
    out.push_back(basic(' '));
    return;
  }
  for (const auto &s : kBasicSwaps)
    if (s.cp == cp) {
      out.push_back(basic(s.code));
      return;
    }
  for (uint8_t i = 0; i < 16; i++)
    if (kSpecial[i] == cp && cp != 0) {
      Cea608Char c;
      c.kind = Kind::Special;
      c.set = 0x11;
      c.code = 0x30 + i;
      out.push_back(c);
      return;
    }
  for (uint8_t set = 0x12; set <= 0x13; set++) {
    const Extended *table = set == 0x12 ? kExtended12 : kExtended13;
    for (uint8_t i = 0; i < 32; i++)
      if (table[i].cp == cp) {
        Cea608Char c;
        c.kind = Kind::Extended;
        c.set = set;
        c.code = 0x20 + i;
        c.fallback = static_cast<uint8_t>(table[i].fallback);
        out.push_back(c);
        return;
      }
  }
  if (cp < 0x7F) {
    out.push_back(basic(static_cast<uint8_t>(cp)));
    return;
  }
  if (cp >= 0x100 && cp < 0x180) {
    out.push_back(basic(static_cast<uint8_t>(kLatinExtA[cp - 0x100]), true));
    return;
  }
  for (const auto &s : kStandIns)
    if (s.cp == cp) {
      for (const char *p = s.ascii; *p; p++)
        append(out, static_cast<uint8_t>(*p));
      for (size_t i = out.size() - strlen(s.ascii); i < out.size(); i++)
        out[i].replaced = true;
      return;
    }
  out.push_back(basic('?', true));
}

} // namespace

std::vector<Cea608Char> cea608_chars(const std::string &utf8) {
  std::vector<Cea608Char> out;
  for (size_t at = 0; at < utf8.size();)
    append(out, next_codepoint(utf8, at));
  return out;
}

uint32_t cea608_char_codepoint(const Cea608Char &c) {
  switch (c.kind) {
  case Kind::Special:
    return c.code == 0x39 ? 0x20 : kSpecial[(c.code - 0x30) & 0xF];
  case Kind::Extended:
    return (c.set == 0x12 ? kExtended12 : kExtended13)[(c.code - 0x20) & 0x1F].cp;
  case Kind::Basic:
    break;
  }
  for (const auto &s : kBasicSwaps)
    if (s.code == c.code)
      return s.cp;
  return c.code;
}

} // namespace dgf
