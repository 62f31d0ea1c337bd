/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cea708_service.h"

#include <algorithm>

namespace dgf {

namespace {

constexpr unsigned kServiceNumber = 1;
constexpr size_t kMaxBlock = 31;          /* service block data bytes */
constexpr size_t kMaxPacketPayload = 127; /* DTVCC packet bytes after its header */
constexpr unsigned kColumns = 32;

uint8_t bit(unsigned window) {
  return static_cast<uint8_t>(1u << window);
}

} // namespace

uint8_t cea708_char(const Cea608Char &c) {
  uint32_t cp = cea608_char_codepoint(c);
  if (cp >= 0x20 && cp <= 0x7E)
    return static_cast<uint8_t>(cp); /* G0 */
  if (cp == 0x266A)
    return 0x7F; /* G0's music note */
  if (cp >= 0xA0 && cp <= 0xFF)
    return static_cast<uint8_t>(cp); /* G1: Latin-1 */
  return '?';
}

Cea708Atoms cea708_build_window(unsigned window, const std::vector<std::vector<Cea608Char>> &rows) {
  Cea708Atoms atoms;
  const unsigned n = static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(rows.size(), 4)));
  /* Hidden, priority 0; relative position 90 % down, 50 % across, anchored
   * at its bottom centre; n rows of 32 columns; window and pen style 1. */
  atoms.push_back({static_cast<uint8_t>(static_cast<uint8_t>(Cea708Command::DF0) + window), 0x00,
                   static_cast<uint8_t>(0x80 | 90), 50, static_cast<uint8_t>((7 << 4) | (n - 1)),
                   kColumns - 1, 0x09});
  atoms.push_back({static_cast<uint8_t>(Cea708Command::CLW), bit(window)});
  const size_t first = rows.size() > n ? rows.size() - n : 0;
  for (size_t r = first; r < rows.size(); r++) {
    const auto &row = rows[r];
    unsigned column = (kColumns - std::min<unsigned>(kColumns, row.size())) / 2;
    atoms.push_back({static_cast<uint8_t>(Cea708Command::SPL), static_cast<uint8_t>(r - first),
                     static_cast<uint8_t>(column)});
    for (const Cea608Char &c : row)
      atoms.push_back({cea708_char(c)});
  }
  return atoms;
}

std::vector<std::vector<uint8_t>> cea708_packets(const Cea708Atoms &atoms, unsigned *sequence) {
  /* Atoms into blocks of at most 31 bytes, blocks into packets. */
  std::vector<std::vector<uint8_t>> blocks(1);
  for (const auto &atom : atoms) {
    if (blocks.back().size() + atom.size() > kMaxBlock)
      blocks.emplace_back();
    blocks.back().insert(blocks.back().end(), atom.begin(), atom.end());
  }
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> payload;
  auto close = [&] {
    if (payload.empty())
      return;
    if ((1 + payload.size()) % 2)
      payload.push_back(0x00); /* a null block header pads to whole pairs */
    const size_t pairs = (1 + payload.size()) / 2;
    std::vector<uint8_t> packet{static_cast<uint8_t>((*sequence & 3) << 6 | (pairs & 0x3F))};
    *sequence = (*sequence + 1) & 3;
    packet.insert(packet.end(), payload.begin(), payload.end());
    packets.push_back(std::move(packet));
    payload.clear();
  };
  for (const auto &block : blocks) {
    if (block.empty())
      continue;
    if (payload.size() + 1 + block.size() > kMaxPacketPayload)
      close();
    payload.push_back(static_cast<uint8_t>(kServiceNumber << 5 | block.size()));
    payload.insert(payload.end(), block.begin(), block.end());
  }
  close();
  return packets;
}

Cea708Service::Cea708Service(uint32_t fps_n, uint32_t fps_d, unsigned triplets_per_frame)
    : grid_{fps_n ? fps_n : 30, fps_d ? fps_d : 1}, per_frame_(std::max(1u, triplets_per_frame)) {}

void Cea708Service::queue(Kind kind, uint64_t not_before, const Cea708Atoms &atoms, uint64_t end) {
  for (auto &bytes : cea708_packets(atoms, &sequence_))
    packets_.push_back(Packet{kind, not_before, end, std::move(bytes)});
}

void Cea708Service::push(const Cea608Caption &caption) {
  auto rows = cea608_rows(caption.text);
  if (rows.empty())
    return;
  /* The last caption's hide goes when this one replaces it by its end:
   * this one's toggle then hides it. */
  bool replaces = false;
  for (auto it = packets_.rbegin(); it != packets_.rend(); ++it)
    if (it->kind == Kind::Hide) {
      if (caption.start <= it->end) {
        packets_.erase(std::next(it).base());
        replaces = true;
      }
      break;
    }
  const unsigned window = 1 - window_;
  window_ = window;
  Cea708Atoms build = cea708_build_window(window, rows);
  size_t bytes = 0;
  for (const auto &atom : build)
    bytes += atom.size();
  const uint64_t lead = (bytes + 8) / (2 * per_frame_) + 1; /* headers included, roughly */
  const uint64_t show = grid_.at(caption.start);
  /* Not before the last show: that hides this window, which may still show. */
  queue(Kind::Build, std::max(show > lead ? show - lead : 0, last_show_), build);
  /* ToggleWindows, 708's pop-on flip: the built window shows and the one
   * showing hides, in one command (cc708overlay 1.22 also shows a window
   * only on a toggle or ETX, not on DisplayWindows). */
  queue(Kind::Show, show,
        {{static_cast<uint8_t>(Cea708Command::TGW),
          static_cast<uint8_t>(bit(window) | (replaces ? bit(1 - window) : 0))}});
  const uint64_t end = caption.start + caption.duration;
  queue(Kind::Hide, grid_.at(end), {{static_cast<uint8_t>(Cea708Command::HDW), bit(window)}}, end);
  last_show_ = show;
}

std::vector<CcTriplet> Cea708Service::next() {
  const uint64_t frame = frame_++;
  std::vector<CcTriplet> out;
  while (out.size() < per_frame_) {
    if (sending_.empty()) {
      /* The earliest due packet; among equals the first queued. */
      auto pick = packets_.end();
      for (auto it = packets_.begin(); it != packets_.end(); ++it)
        if (it->not_before <= frame &&
            (pick == packets_.end() || it->not_before < pick->not_before))
          pick = it;
      if (pick == packets_.end())
        break;
      sending_.assign(pick->bytes.begin(), pick->bytes.end());
      packets_.erase(pick);
      packet_started_ = false;
    }
    const uint8_t type = packet_started_ ? 2 : 3; /* packet data : packet start */
    packet_started_ = true;
    uint8_t b1 = sending_.front();
    sending_.pop_front();
    uint8_t b2 = sending_.front();
    sending_.pop_front();
    out.push_back({static_cast<uint8_t>(0xF8 | 0x04 | type), b1, b2});
  }
  return out;
}

void Cea708Service::start_at(uint64_t index) {
  *this = Cea708Service(grid_.fps_n, grid_.fps_d, per_frame_);
  frame_ = index;
}

} // namespace dgf
