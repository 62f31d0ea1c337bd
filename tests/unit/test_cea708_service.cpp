/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CEA-708 service 1 beside the 608 captions, against CEA-708-E: the
 * DefineWindow parameters, the G0/G1 characters, DTVCC packet and service
 * block headers, cc_data triplet types, the per-frame budget, and when a
 * caption's window is toggled on and hidden. */
#include <glib.h>

#include <string>
#include <vector>

#include "cea708_service.h"

using namespace dgf;

static const uint64_t MS = 1000000;

static std::vector<uint8_t> flat(const Cea708Atoms &atoms) {
  std::vector<uint8_t> out;
  for (const auto &a : atoms)
    out.insert(out.end(), a.begin(), a.end());
  return out;
}

/* Window 1, one row "HI" centred: DF1 with 6 parameters (hidden, priority 0;
 * relative, 90 % down; 50 % across; anchor 7 = bottom centre, 1 row; 32
 * columns; styles 1/1), CLW 0b10, SPL row 0 column 15, then the text. */
static void test_build_window() {
  auto rows = cea608_rows("HI");
  std::vector<uint8_t> got = flat(cea708_build_window(1, rows));
  std::vector<uint8_t> want{0x99, 0x00, 0xDA, 50, 0x70, 31,  0x09,
                            0x88, 0x02, 0x92, 0,  15,   'H', 'I'};
  g_assert_cmpuint(got.size(), ==, want.size());
  for (size_t i = 0; i < want.size(); i++)
    g_assert_cmphex(got[i], ==, want[i]);
  /* Two rows: the row count in the anchor byte, a pen location per row. */
  got = flat(cea708_build_window(0, cea608_rows("ONE\nTWO")));
  g_assert_cmphex(got[0], ==, 0x98);
  g_assert_cmphex(got[4], ==, 0x71);
  g_assert_cmphex(got[9], ==, 0x92);
  g_assert_cmpuint(got[10], ==, 0);
  g_assert_cmphex(got[15], ==, 0x92);
  g_assert_cmpuint(got[16], ==, 1);
}

/* G0 is ASCII with 0x7F the music note, G1 is Latin-1; the rest as the 608
 * text has it (a stand-in such as EUR, else '?'), so both services agree. */
static void test_characters() {
  auto chars = cea608_chars("a~\xE2\x99\xAA\xC3\xBC\xC2\xAB\xE2\x82\xAC");
  std::vector<uint8_t> got;
  for (auto &c : chars)
    got.push_back(cea708_char(c));
  std::vector<uint8_t> want{'a', '~', 0x7F, 0xFC, 0xAB, 'E', 'U', 'R'};
  g_assert_cmpuint(got.size(), ==, want.size());
  for (size_t i = 0; i < want.size(); i++)
    g_assert_cmphex(got[i], ==, want[i]);
}

/* Packet header: sequence (2 bits) and size in byte pairs (6 bits); a
 * service block header: service 1 (3 bits) and its size (5 bits, <= 31);
 * whole byte pairs; a long caption splits into blocks and packets. */
static void test_packets() {
  unsigned seq = 3;
  auto packets = cea708_packets({{0x8B, 0x01}}, &seq);
  g_assert_cmpuint(packets.size(), ==, 1);
  std::vector<uint8_t> want{0xC2, 0x22, 0x8B, 0x01}; /* seq 3, 2 pairs; service 1, 2 bytes */
  g_assert_cmpuint(packets[0].size(), ==, want.size());
  for (size_t i = 0; i < want.size(); i++)
    g_assert_cmphex(packets[0][i], ==, want[i]);
  g_assert_cmpuint(seq, ==, 0); /* wraps */

  Cea708Atoms many;
  for (int i = 0; i < 200; i++)
    many.push_back({'x'});
  packets = cea708_packets(many, &seq);
  size_t text = 0;
  for (size_t p = 0; p < packets.size(); p++) {
    const auto &pk = packets[p];
    g_assert_cmpuint(pk.size() % 2, ==, 0);
    g_assert_cmpuint(pk.size(), <=, 128);
    g_assert_cmpuint(pk[0] >> 6, ==, p % 4);
    g_assert_cmpuint((pk[0] & 0x3F) * 2u, ==, pk.size());
    for (size_t at = 1; at < pk.size() && pk[at] != 0;) {
      unsigned service = pk[at] >> 5, size = pk[at] & 0x1F;
      g_assert_cmpuint(service, ==, 1);
      g_assert_cmpuint(size, <=, 31);
      text += size;
      at += 1 + size;
    }
  }
  g_assert_cmpuint(text, ==, 200);
}

/* What a decoder does, frame by frame: the triplets reassembled into DTVCC
 * packets (type 3 starts one), each acted on in the frame it completes,
 * its service blocks walked command by command ("TGW:3", "HDW:1",
 * "text:HI"). Checks the triplets' form and the per-frame budget too. */
struct Event {
  int frame;
  std::string what;
};

static std::vector<Event> decode(Cea708Service &s, int frames, unsigned budget) {
  std::vector<Event> out;
  std::vector<uint8_t> packet;
  for (int f = 0; f < frames; f++) {
    auto triplets = s.next();
    g_assert_cmpuint(triplets.size(), <=, budget);
    for (const CcTriplet &t : triplets) {
      g_assert_cmphex(t[0] & 0xF8, ==, 0xF8); /* marker bits */
      g_assert_true(t[0] & 0x04);             /* valid */
      unsigned type = t[0] & 3;
      g_assert_true(type == 2 || type == 3);
      if (type == 3)
        packet.clear();
      else
        g_assert_false(packet.empty()); /* data only inside a packet */
      packet.push_back(t[1]);
      packet.push_back(t[2]);
      if (packet.size() != (packet[0] & 0x3Fu) * 2)
        continue;
      std::string text;
      for (size_t at = 1; at < packet.size() && packet[at] != 0;) {
        size_t size = packet[at] & 0x1F, end = at + 1 + size;
        g_assert_cmpuint(packet[at] >> 5, ==, 1);
        for (size_t i = at + 1; i < end;) {
          uint8_t c = packet[i];
          if (c >= 0x98 && c <= 0x9F) {
            out.push_back({f, "DF" + std::to_string(c - 0x98)});
            i += 7;
          } else if (c == 0x88 || c == 0x8A || c == 0x8B) {
            out.push_back({f, std::string(c == 0x88   ? "CLW:"
                                          : c == 0x8A ? "HDW:"
                                                      : "TGW:") +
                                  std::to_string(packet[i + 1])});
            i += 2;
          } else if (c == 0x92) {
            i += 3;
          } else {
            text += static_cast<char>(c);
            i += 1;
          }
        }
        at = end;
      }
      if (!text.empty())
        out.push_back({f, "text:" + text});
      packet.clear();
    }
  }
  return out;
}

static std::string joined(const std::vector<Event> &events) {
  std::string s;
  for (const auto &e : events)
    s += (s.empty() ? "" : " ") + e.what;
  return s;
}

static int frame_of(const std::vector<Event> &events, const std::string &what, int nth = 0) {
  for (const auto &e : events)
    if (e.what == what && nth-- == 0)
      return e.frame;
  return -1;
}

/* One caption: built hidden ahead of its start, toggled on at its first
 * frame, hidden at its end's; then idle. */
static void test_timing() {
  Cea708Service s(30, 1, 4);
  s.push({"HELLO", 1000 * MS, 1000 * MS});
  auto events = decode(s, 90, 4);
  g_assert_true(s.idle());
  std::string seen = joined(events); /* outlives the assertion's pointer */
  g_assert_cmpstr(seen.c_str(), ==, "DF0 CLW:1 text:HELLO TGW:1 HDW:1");
  g_assert_cmpint(frame_of(events, "text:HELLO"), <, 30);
  g_assert_cmpint(frame_of(events, "TGW:1"), ==, 30);
  g_assert_cmpint(frame_of(events, "HDW:1"), ==, 60);
}

/* The next caption starts before this one ends: no hide, its toggle flips
 * both windows; a gap between them: a hide, then a toggle of the new
 * window alone. A window is rebuilt only after the toggle that hid it. */
static void test_replace_and_gap() {
  Cea708Service s(30, 1, 8);
  s.push({"ONE", 1000 * MS, 1000 * MS});
  s.push({"TWO", 2000 * MS, 500 * MS});
  s.push({"THREE", 3000 * MS, 500 * MS});
  auto events = decode(s, 150, 8);
  std::string seen = joined(events);
  g_assert_cmpstr(seen.c_str(), ==,
                  "DF0 CLW:1 text:ONE TGW:1 DF1 CLW:2 text:TWO TGW:3 HDW:2 DF0 CLW:1 text:THREE "
                  "TGW:1 HDW:1");
  g_assert_cmpint(frame_of(events, "TGW:3"), ==, 60);
  g_assert_cmpint(frame_of(events, "HDW:2"), ==, 75);
  g_assert_cmpint(frame_of(events, "TGW:1", 1), ==, 90);
  g_assert_cmpint(frame_of(events, "DF0", 1), >=, 60); /* window 0 shown until frame 60 */
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/cea708/build-window", test_build_window);
  g_test_add_func("/cea708/characters", test_characters);
  g_test_add_func("/cea708/packets", test_packets);
  g_test_add_func("/cea708/timing", test_timing);
  g_test_add_func("/cea708/replace-and-gap", test_replace_and_gap);
  return g_test_run();
}
