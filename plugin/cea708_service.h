/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CEA-708 caption service 1 for the same captions as the 608 encoder: DTVCC
 * packets as cc_data triplets, a few per video frame, so a 708 decoder
 * (GStreamer's cc708overlay renders only 708) shows what 608 shows.
 *
 * Each caption is built in one of two windows, alternating, while hidden
 * (DefineWindow, ClearWindows, each row centred by SetPenLocation), then
 * shown at its start by ToggleWindows, which hides the other window in the
 * same command when it still shows, and hidden at its end unless the next
 * caption replaces it by then. Rows
 * are the 608 encoder's (cea608_rows: 32 columns, broken between words), so
 * both services show the same lines; characters are G0 (ASCII, 0x7F the
 * music note) or G1 (Latin-1), anything else '?'.
 *
 * A DTVCC packet (header: 2-bit sequence number, 6-bit size in byte pairs)
 * holds service blocks of at most 31 bytes (header: 3-bit service number,
 * 5-bit size); its bytes go two per triplet, the first triplet cc_type 3
 * (packet start), the rest cc_type 2. A packet may span frames; packets go
 * one after the other in the order they are due, a caption's show never
 * before its build is sent. Times are ns from frame 0. Plain C++.
 */
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "cea608_encoder.h"

namespace dgf {

/* One cc_data triplet: marker bits, cc_valid, cc_type; two bytes. */
using CcTriplet = std::array<uint8_t, 3>;

/* DTVCC commands (CEA-708 C0/C1) used here. */
enum class Cea708Command : uint8_t {
  CW0 = 0x80, /* set current window 0 (to 7: + n) */
  CLW = 0x88, /* clear windows (bitmap) */
  SPL = 0x92, /* set pen location: row, column */
  HDW = 0x8A, /* hide windows (bitmap) */
  TGW = 0x8B, /* toggle windows (bitmap): shown ones hide, hidden ones show */
  DF0 = 0x98, /* define window 0 (to 7: + n), 6 parameter bytes */
};

/* Service-1 data as whole commands (a command with its parameters, or one
 * character): a command never spans service blocks. */
using Cea708Atoms = std::vector<std::vector<uint8_t>>;

/* What builds `rows` in `window` (0 or 1), hidden: define it (bottom centre,
 * the rows' count, 32 columns), clear it, and each row centred. */
Cea708Atoms cea708_build_window(unsigned window, const std::vector<std::vector<Cea608Char>> &rows);
/* The G0/G1 byte that shows the character, '?' when 708's Latin set has none. */
uint8_t cea708_char(const Cea608Char &c);
/* DTVCC packets (sequence numbers from *sequence, advanced) carrying the
 * atoms in service-1 blocks, each packet a whole number of byte pairs. */
std::vector<std::vector<uint8_t>> cea708_packets(const Cea708Atoms &atoms, unsigned *sequence);

class Cea708Service {
public:
  /* `triplets_per_frame`: DTVCC triplets a frame may carry (the frame
   * rate's cc_count less the two 608 triplets). */
  Cea708Service(uint32_t fps_n, uint32_t fps_d, unsigned triplets_per_frame);

  /* Captions in order of start, as given to Cea608Encoder::push(). */
  void push(const Cea608Caption &caption);
  /* The DTVCC triplets for the next frame (none when nothing is due). */
  std::vector<CcTriplet> next();
  bool idle() const { return packets_.empty() && sending_.empty(); }
  /* Forgets everything (a flush) and continues from frame `index`. */
  void start_at(uint64_t index);

private:
  enum class Kind { Build, Show, Hide };
  struct Packet {
    Kind kind = Kind::Build;
    uint64_t not_before = 0; /* frame */
    uint64_t end = 0;        /* Hide: the caption's end, ns */
    std::vector<uint8_t> bytes;
  };
  void queue(Kind kind, uint64_t not_before, const Cea708Atoms &atoms, uint64_t end = 0);

  CcFrameGrid grid_;
  unsigned per_frame_;
  uint64_t frame_ = 0;
  unsigned sequence_ = 0;
  unsigned window_ = 1;         /* the window of the last caption */
  uint64_t last_show_ = 0;      /* frame: the last caption's show */
  std::deque<Packet> packets_;  /* queued; sent by earliest not_before, then order */
  std::deque<uint8_t> sending_; /* the packet being sent */
  bool packet_started_ = false; /* sending_'s first pair went out */
};

} // namespace dgf
