/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CEA-608 byte stream against the standard's tables (CEA-608-E, the
 * control code and character tables): parity, commands and PACs per channel,
 * character mapping, row width, and when captions go on and off screen. */
#include <glib.h>

#include <string>
#include <vector>

#include "cea608_encoder.h"

using namespace dgf;

static const uint64_t MS = 1000000;

static std::string hex(Cea608Pair p) {
  char buf[8];
  g_snprintf(buf, sizeof buf, "%02x%02x", p.b1, p.b2);
  return buf;
}

/* The std::string must outlive the assertion, which keeps a char pointer. */
static void assert_str(const std::string &actual, const char *expected) {
  g_assert_cmpstr(actual.c_str(), ==, expected);
}

static void test_parity() {
  for (unsigned b = 0; b < 128; b++) {
    uint8_t p = cea608_parity(static_cast<uint8_t>(b));
    g_assert_true(cea608_parity_ok(p));
    g_assert_cmpuint(p & 0x7F, ==, b);
  }
  g_assert_cmphex(cea608_parity(0x00), ==, 0x80); /* the padding byte */
  g_assert_cmphex(cea608_parity('A'), ==, 0xC1);
  g_assert_cmphex(cea608_parity(' '), ==, 0x20);
  g_assert_false(cea608_parity_ok(0x00));
}

/* Table 51 of CEA-608-E (miscellaneous control codes), as broadcast with
 * parity, for each data channel. */
static void test_commands_per_channel() {
  struct Row {
    Cea608Command command;
    const char *cc1, *cc2, *cc3, *cc4;
  } rows[] = {
      {Cea608Command::RCL, "9420", "1c20", "1520", "9d20"},
      {Cea608Command::RU2, "9425", "1c25", "1525", "9d25"},
      {Cea608Command::RU3, "9426", "1c26", "1526", "9d26"},
      {Cea608Command::RU4, "94a7", "1ca7", "15a7", "9da7"},
      {Cea608Command::EDM, "942c", "1c2c", "152c", "9d2c"},
      {Cea608Command::CR, "94ad", "1cad", "15ad", "9dad"},
      {Cea608Command::ENM, "94ae", "1cae", "15ae", "9dae"},
      {Cea608Command::EOC, "942f", "1c2f", "152f", "9d2f"},
  };
  for (const auto &r : rows) {
    assert_str(hex(cea608_command(Cea608Channel::CC1, r.command)), r.cc1);
    assert_str(hex(cea608_command(Cea608Channel::CC2, r.command)), r.cc2);
    assert_str(hex(cea608_command(Cea608Channel::CC3, r.command)), r.cc3);
    assert_str(hex(cea608_command(Cea608Channel::CC4, r.command)), r.cc4);
  }
  g_assert_false(cea608_field2(Cea608Channel::CC1));
  g_assert_false(cea608_field2(Cea608Channel::CC2));
  g_assert_true(cea608_field2(Cea608Channel::CC3));
  g_assert_true(cea608_field2(Cea608Channel::CC4));
}

/* Table 53 (preamble address codes): white, indent per row; tab offsets. */
static void test_pac_and_tab_offsets() {
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 1, 0)), "91d0");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 2, 0)), "9170");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 5, 0)), "15d0");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 11, 0)), "10d0");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 12, 4)), "1352");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 14, 8)), "9454");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 15, 0)), "9470");
  assert_str(hex(cea608_pac(Cea608Channel::CC1, 15, 28)), "94fe");
  assert_str(hex(cea608_pac(Cea608Channel::CC2, 15, 0)), "1c70");
  assert_str(hex(cea608_pac(Cea608Channel::CC3, 15, 0)), "9470");
  assert_str(hex(cea608_tab_offset(Cea608Channel::CC1, 1)), "97a1");
  assert_str(hex(cea608_tab_offset(Cea608Channel::CC1, 2)), "97a2");
  assert_str(hex(cea608_tab_offset(Cea608Channel::CC1, 3)), "9723");
  assert_str(hex(cea608_tab_offset(Cea608Channel::CC2, 1)), "1fa1");
}

static Cea608Char only(const std::vector<Cea608Char> &chars) {
  g_assert_cmpuint(chars.size(), ==, 1);
  return chars[0];
}

static void test_character_mapping() {
  using K = Cea608Char::Kind;
  /* The basic set's swapped codes. */
  const char *swapped[] = {"á", "é", "í", "ó", "ú", "ç", "÷", "Ñ", "ñ"};
  const uint8_t codes[] = {0x2A, 0x5C, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E};
  for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
    const auto &c = only(cea608_chars(swapped[i]));
    g_assert_true(c.kind == K::Basic);
    g_assert_cmphex(c.code, ==, codes[i]);
  }
  /* ASCII whose basic code means something else goes extended. */
  struct Ext {
    const char *text;
    uint8_t set, code;
  } ext[] = {{"*", 0x12, 0x28},  {"Ü", 0x12, 0x24}, {"«", 0x12, 0x3E}, {"{", 0x13, 0x29},
             {"\\", 0x13, 0x2B}, {"~", 0x13, 0x2F}, {"ß", 0x13, 0x34}, {"Ø", 0x13, 0x3A}};
  for (const auto &e : ext) {
    const auto &c = only(cea608_chars(e.text));
    g_assert_true(c.kind == K::Extended);
    g_assert_cmphex(c.set, ==, e.set);
    g_assert_cmphex(c.code, ==, e.code);
  }
  const auto &note = only(cea608_chars("♪"));
  g_assert_true(note.kind == K::Special);
  g_assert_cmphex(note.code, ==, 0x37);
  g_assert_cmphex(only(cea608_chars("è")).code, ==, 0x3A);
  /* Outside the repertoire: base letters, ASCII forms, '?'. */
  const auto &l = only(cea608_chars("ł"));
  g_assert_true(l.replaced);
  g_assert_cmpuint(l.code, ==, 'l');
  g_assert_cmpuint(cea608_chars("…").size(), ==, 3);
  g_assert_cmpuint(only(cea608_chars("中")).code, ==, '?');
  g_assert_cmpuint(only(cea608_chars("\xff")).code, ==, '?');
  /* Every character maps back to the code point it stands for. */
  const char *round[] = {"a", "Z", "é", "Ü", "♪", "{", "ø"};
  const uint32_t cps[] = {'a', 'Z', 0xE9, 0xDC, 0x266A, '{', 0xF8};
  for (size_t i = 0; i < G_N_ELEMENTS(cps); i++)
    g_assert_cmphex(cea608_char_codepoint(only(cea608_chars(round[i]))), ==, cps[i]);
}

static std::string row_text(const std::vector<Cea608Char> &row) {
  std::string s;
  for (const auto &c : row)
    s += static_cast<char>(c.kind == Cea608Char::Kind::Basic ? c.code : c.fallback);
  return s;
}

static void test_rows_fit_32_columns() {
  auto rows = cea608_rows("the quick brown fox jumps over the lazy dog and keeps running\nshort");
  g_assert_cmpuint(rows.size(), ==, 3);
  assert_str(row_text(rows[0]), "the quick brown fox jumps over");
  assert_str(row_text(rows[1]), "the lazy dog and keeps running");
  assert_str(row_text(rows[2]), "short");
  auto cut = cea608_rows(std::string(40, 'x'));
  g_assert_cmpuint(cut.size(), ==, 2);
  g_assert_cmpuint(cut[0].size(), ==, 32);
  /* An extended character takes one column. */
  auto wide = cea608_rows(std::string(31, 'x') + "Ü");
  g_assert_cmpuint(wide.size(), ==, 1);
  for (const auto &r : cea608_rows("a  b\n\n  \nc"))
    g_assert_cmpuint(r.size(), <=, kCea608Columns);
  g_assert_cmpuint(cea608_rows("a  b\n\n  \nc").size(), ==, 2);
}

/* Frames until `pair` appears, from the encoder's current frame; -1 if not
 * within `limit`. The frames passed are appended to `seen`. */
static long frames_until(Cea608Encoder &enc, Cea608Pair pair, std::vector<Cea608Pair> &seen,
                         long limit = 1000) {
  for (long i = 0; i < limit; i++) {
    uint64_t index = enc.frame();
    Cea608Pair p = enc.next();
    seen.push_back(p);
    if (p == pair)
      return static_cast<long>(index);
  }
  return -1;
}

static void test_pop_on_stream() {
  Cea608Encoder enc({Cea608Mode::PopOn, Cea608Channel::CC1, 30, 1});
  enc.push({"HELLO", 2000 * MS, 1000 * MS});
  std::vector<Cea608Pair> seen;
  /* Loading starts at once: RCL RCL ENM ENM PAC PAC TO TO "HE" "LL" "O". */
  const char *expected[] = {"9420", "9420", "94ae", "94ae", "9476", "9476",
                            "97a1", "97a1", "c845", "4c4c", "4f80"};
  for (const char *e : expected)
    assert_str(hex(enc.next()), e);
  /* Then padding until EOC, twice, at 2 s (frame 60) and EDM at 3 s. */
  const Cea608Pair eoc = cea608_command(Cea608Channel::CC1, Cea608Command::EOC);
  const Cea608Pair edm = cea608_command(Cea608Channel::CC1, Cea608Command::EDM);
  g_assert_cmpint(frames_until(enc, eoc, seen), ==, 60);
  g_assert_true(enc.next() == eoc);
  g_assert_false(enc.idle());
  g_assert_cmpint(frames_until(enc, edm, seen), ==, 90);
  g_assert_true(enc.next() == edm);
  g_assert_true(enc.idle());
  for (const auto &p : seen)
    if (!(p == eoc) && !(p == edm))
      g_assert_true(p.padding());
  g_assert_true(enc.next().padding());
  g_assert_cmpuint(enc.late_captions(), ==, 0);
}

/* Back-to-back captions flip without an erase between them; the second is
 * loaded while the first shows. */
static void test_pop_on_back_to_back() {
  Cea608Encoder enc({Cea608Mode::PopOn, Cea608Channel::CC1, 30000, 1001});
  enc.push({"one", 1000 * MS, 1000 * MS});
  enc.push({"two", 2000 * MS, 500 * MS});
  const Cea608Pair eoc = cea608_command(Cea608Channel::CC1, Cea608Command::EOC);
  const Cea608Pair edm = cea608_command(Cea608Channel::CC1, Cea608Command::EDM);
  std::vector<Cea608Pair> seen;
  long first = frames_until(enc, eoc, seen);
  enc.next();
  long second = frames_until(enc, eoc, seen);
  enc.next();
  long erase = frames_until(enc, edm, seen);
  /* Nearest frames at 29.97 fps. */
  g_assert_cmpint(first, ==, 30);
  g_assert_cmpint(second, ==, 60);
  g_assert_cmpint(erase, ==, 75);
  long edms = 0;
  for (const auto &p : seen)
    edms += p == edm;
  g_assert_cmpint(edms, ==, 1);
}

/* A caption that cannot be built before its start shows late, counted. */
static void test_pop_on_late() {
  Cea608Encoder enc({Cea608Mode::PopOn, Cea608Channel::CC1, 30, 1});
  enc.push({std::string(32, 'a') + "\n" + std::string(32, 'b'), 100 * MS, 3000 * MS});
  const Cea608Pair eoc = cea608_command(Cea608Channel::CC1, Cea608Command::EOC);
  std::vector<Cea608Pair> seen;
  /* 4 + 2 x (2 + 16) frames of loading. */
  g_assert_cmpint(frames_until(enc, eoc, seen), ==, 40);
  g_assert_cmpuint(enc.late_captions(), ==, 1);
}

/* A short caption before a long one flips on a little early so the long one
 * has more time to be built: the shortfall is split between them, the first
 * at most max_early early; without the need it waits for its start. */
static void test_pop_on_early_for_the_next() {
  const Cea608Pair eoc = cea608_command(Cea608Channel::CC1, Cea608Command::EOC);
  const std::string full = std::string(32, 'a') + "\n" + std::string(32, 'b'); /* 40 frames */
  for (uint64_t gap_ms : {500, 1200, 2000}) {
    Cea608Encoder enc({Cea608Mode::PopOn, Cea608Channel::CC1, 30, 1, 300 * MS});
    enc.push({"short", 2000 * MS, gap_ms * MS});
    enc.push({full, (2000 + gap_ms) * MS, 2000 * MS});
    std::vector<Cea608Pair> seen;
    long first = frames_until(enc, eoc, seen);
    enc.next();
    long second = frames_until(enc, eoc, seen);
    if (gap_ms == 500) {
      g_assert_cmpint(first, ==, 60 - 9); /* 300 ms early, the most */
      g_assert_cmpint(second, ==, 60 - 9 + 2 + 40);
    } else if (gap_ms == 1200) {
      /* 233 ms short: each off by about half, the first early, the second late. */
      g_assert_cmpint(first, ==, 57);
      g_assert_cmpint(second, ==, 99);
    } else {
      g_assert_cmpint(first, ==, 60);
      g_assert_cmpint(second, ==, 120);
    }
  }
}

static void test_roll_up_stream() {
  Cea608Encoder enc({Cea608Mode::RollUp2, Cea608Channel::CC1, 30, 1});
  enc.push({"AB", 1000 * MS, 1000 * MS});
  enc.push({"CD", 2000 * MS, 1000 * MS});
  std::vector<Cea608Pair> seen;
  /* RU2 RU2 PAC PAC, timed so "AB" lands on frame 30. */
  const Cea608Pair ru2 = cea608_command(Cea608Channel::CC1, Cea608Command::RU2);
  g_assert_cmpint(frames_until(enc, ru2, seen), ==, 26);
  g_assert_true(enc.next() == ru2);
  assert_str(hex(enc.next()), "9470");
  assert_str(hex(enc.next()), "9470");
  g_assert_cmpuint(enc.frame(), ==, 30);
  assert_str(hex(enc.next()), "c1c2");
  /* The next caption scrolls the first up: CR CR PAC PAC, "CD" on frame 60. */
  seen.clear();
  const Cea608Pair cr = cea608_command(Cea608Channel::CC1, Cea608Command::CR);
  g_assert_cmpint(frames_until(enc, cr, seen), ==, 56);
  g_assert_true(enc.next() == cr);
  assert_str(hex(enc.next()), "9470");
  assert_str(hex(enc.next()), "9470");
  assert_str(hex(enc.next()), "43c4");
  /* Erased at its end; no RU again, nothing but padding after. */
  const Cea608Pair edm = cea608_command(Cea608Channel::CC1, Cea608Command::EDM);
  g_assert_cmpint(frames_until(enc, edm, seen), ==, 90);
  g_assert_true(enc.next() == edm);
  g_assert_true(enc.idle());
  for (const auto &p : seen)
    g_assert_false(p == ru2);
}

/* A special character is a doubled code; an extended one follows its basic
 * fallback (which it replaces on screen) and is doubled too; on CC2 both
 * codes carry the channel bit. */
static void test_special_and_extended_in_stream() {
  struct Case {
    Cea608Channel channel;
    const char *text;
    std::vector<const char *> after_pac; /* pairs after the PAC (and tab offset) */
  } cases[] = {
      {Cea608Channel::CC1, "a\u266A", {"6180", "9137", "9137"}},
      {Cea608Channel::CC1, "\u00DC", {"d580", "92a4", "92a4"}},
      {Cea608Channel::CC2, "\u00DC", {"d580", "1aa4", "1aa4"}},
  };
  for (const auto &c : cases) {
    Cea608Encoder enc({Cea608Mode::PopOn, c.channel, 30, 1});
    enc.push({c.text, 2000 * MS, 1000 * MS});
    /* RCL RCL ENM ENM PAC PAC TO TO, then the text. */
    for (int i = 0; i < 8; i++)
      enc.next();
    for (const char *e : c.after_pac)
      assert_str(hex(enc.next()), e);
    g_assert_true(enc.next().padding());
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cea608/parity", test_parity);
  g_test_add_func("/cea608/commands-per-channel", test_commands_per_channel);
  g_test_add_func("/cea608/pac-and-tab-offsets", test_pac_and_tab_offsets);
  g_test_add_func("/cea608/character-mapping", test_character_mapping);
  g_test_add_func("/cea608/rows-fit-32-columns", test_rows_fit_32_columns);
  g_test_add_func("/cea608/pop-on-stream", test_pop_on_stream);
  g_test_add_func("/cea608/pop-on-back-to-back", test_pop_on_back_to_back);
  g_test_add_func("/cea608/pop-on-late", test_pop_on_late);
  g_test_add_func("/cea608/pop-on-early-for-the-next", test_pop_on_early_for_the_next);
  g_test_add_func("/cea608/roll-up-stream", test_roll_up_stream);
  g_test_add_func("/cea608/special-and-extended-in-stream", test_special_and_extended_in_stream);
  return g_test_run();
}
