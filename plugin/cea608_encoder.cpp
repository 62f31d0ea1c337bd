/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cea608_encoder.h"

#include <algorithm>

namespace dgf {
namespace {

/* The first byte of a code, per channel: data channel 2 sets bit 3; field 2
 * moves the miscellaneous commands from 0x14 to 0x15. */
uint8_t channel_byte(Cea608Channel channel, uint8_t cc1_byte) {
  bool second = channel == Cea608Channel::CC2 || channel == Cea608Channel::CC4;
  return static_cast<uint8_t>(cc1_byte | (second ? 0x08 : 0x00));
}

/* PAC first byte and second-byte block (0x40 or 0x60) of rows 1..15. */
struct PacRow {
  uint8_t b1;
  uint8_t block;
};
constexpr PacRow kPacRows[kCea608Rows] = {{0x11, 0x40}, {0x11, 0x60}, {0x12, 0x40}, {0x12, 0x60},
                                          {0x15, 0x40}, {0x15, 0x60}, {0x16, 0x40}, {0x16, 0x60},
                                          {0x17, 0x40}, {0x17, 0x60}, {0x10, 0x40}, {0x13, 0x40},
                                          {0x13, 0x60}, {0x14, 0x40}, {0x14, 0x60}};

Cea608Pair pair(uint8_t b1, uint8_t b2) {
  return Cea608Pair{cea608_parity(b1), cea608_parity(b2)};
}

/* Splits `line` into words (runs without spaces). */
std::vector<std::vector<Cea608Char>> words_of(const std::vector<Cea608Char> &line) {
  std::vector<std::vector<Cea608Char>> words(1);
  for (const auto &c : line) {
    if (c.kind == Cea608Char::Kind::Basic && c.code == ' ') {
      if (!words.back().empty())
        words.emplace_back();
    } else {
      words.back().push_back(c);
    }
  }
  if (words.back().empty())
    words.pop_back();
  return words;
}

} // namespace

uint8_t cea608_parity(uint8_t b) {
  b &= 0x7F;
  unsigned ones = 0;
  for (uint8_t v = b; v; v >>= 1)
    ones += v & 1;
  return static_cast<uint8_t>(ones % 2 == 0 ? b | 0x80 : b);
}

bool cea608_parity_ok(uint8_t b) {
  unsigned ones = 0;
  for (uint8_t v = b; v; v >>= 1)
    ones += v & 1;
  return ones % 2 == 1;
}

bool cea608_field2(Cea608Channel channel) {
  return channel == Cea608Channel::CC3 || channel == Cea608Channel::CC4;
}

Cea608Pair cea608_command(Cea608Channel channel, Cea608Command command) {
  uint8_t b1 = cea608_field2(channel) ? 0x15 : 0x14;
  return pair(channel_byte(channel, b1), static_cast<uint8_t>(command));
}

Cea608Pair cea608_pac(Cea608Channel channel, unsigned row, unsigned indent) {
  row = std::clamp(row, 1u, kCea608Rows);
  indent = std::min(indent, kCea608Columns - 4) / 4;
  const PacRow &r = kPacRows[row - 1];
  return pair(channel_byte(channel, r.b1), static_cast<uint8_t>(r.block | 0x10 | (indent << 1)));
}

Cea608Pair cea608_tab_offset(Cea608Channel channel, unsigned columns) {
  return pair(channel_byte(channel, 0x17),
              static_cast<uint8_t>(0x20 + std::clamp(columns, 1u, 3u)));
}

std::vector<std::vector<Cea608Char>> cea608_rows(const std::string &text, unsigned columns) {
  std::vector<std::vector<Cea608Char>> rows;
  size_t from = 0;
  while (from <= text.size()) {
    size_t nl = text.find('\n', from);
    if (nl == std::string::npos)
      nl = text.size();
    std::vector<Cea608Char> row;
    for (auto &word : words_of(cea608_chars(text.substr(from, nl - from)))) {
      size_t need = row.empty() ? word.size() : row.size() + 1 + word.size();
      if (need > columns && !row.empty()) {
        rows.push_back(std::move(row));
        row.clear();
      }
      if (!row.empty())
        row.push_back(Cea608Char{});
      for (auto &c : word) {
        if (row.size() == columns) { /* a word longer than a row */
          rows.push_back(std::move(row));
          row.clear();
        }
        row.push_back(c);
      }
    }
    if (!row.empty())
      rows.push_back(std::move(row));
    from = nl + 1;
  }
  return rows;
}

Cea608Encoder::Cea608Encoder(const Cea608Settings &settings) : settings_(settings) {
  if (settings_.fps_n == 0 || settings_.fps_d == 0) {
    settings_.fps_n = 30;
    settings_.fps_d = 1;
  }
}

uint64_t CcFrameGrid::time(uint64_t index) const {
  const uint64_t ns = 1000000000ull * fps_d;
  return index / fps_n * ns + index % fps_n * ns / fps_n;
}

uint64_t CcFrameGrid::at(uint64_t t) const {
  const uint64_t ns = 1000000000ull * fps_d;
  uint64_t index = t / ns * fps_n + (t % ns) * fps_n / ns;
  while (time(index) < t)
    index++;
  return index;
}

uint64_t Cea608Encoder::frame_time(uint64_t index) const {
  return CcFrameGrid{settings_.fps_n, settings_.fps_d}.time(index);
}

uint64_t Cea608Encoder::frame_at(uint64_t time) const {
  return CcFrameGrid{settings_.fps_n, settings_.fps_d}.at(time);
}

void Cea608Encoder::start_at(uint64_t index) {
  Cea608Settings settings = settings_;
  *this = Cea608Encoder(settings);
  frame_ = index;
}

void Cea608Encoder::push(const Cea608Caption &caption) {
  Pending cue;
  cue.rows = cea608_rows(caption.text);
  if (cue.rows.empty())
    return;
  if (settings_.mode == Cea608Mode::PopOn && cue.rows.size() > kCea608Rows)
    cue.rows.erase(cue.rows.begin(), cue.rows.end() - kCea608Rows);
  cue.start = caption.start;
  cue.end = caption.start + caption.duration;
  queue_.push_back(std::move(cue));
}

bool Cea608Encoder::idle() const {
  return queue_.empty() && sending_.empty() && !has_repeat_ && !on_screen_;
}

/* To the nearest frame. */
bool Cea608Encoder::due(uint64_t now, uint64_t at) const {
  return now + frame_duration() / 2 >= at;
}

void Cea608Encoder::add_command(Cea608Command command) {
  sending_.push_back(Unit{cea608_command(settings_.channel, command), true});
}

/* Basic characters two to a pair; special and extended ones as doubled codes,
 * an extended one after its fallback, which it replaces on screen. */
void Cea608Encoder::add_text(const std::vector<Cea608Char> &row) {
  std::vector<uint8_t> basic;
  auto flush = [&] {
    for (size_t i = 0; i < basic.size(); i += 2)
      sending_.push_back(Unit{pair(basic[i], i + 1 < basic.size() ? basic[i + 1] : 0), false});
    basic.clear();
  };
  for (const auto &c : row) {
    switch (c.kind) {
    case Cea608Char::Kind::Basic:
      basic.push_back(c.code);
      break;
    case Cea608Char::Kind::Special:
      flush();
      sending_.push_back(Unit{pair(channel_byte(settings_.channel, c.set), c.code), true});
      break;
    case Cea608Char::Kind::Extended:
      basic.push_back(c.fallback);
      flush();
      sending_.push_back(Unit{pair(channel_byte(settings_.channel, c.set), c.code), true});
      break;
    }
  }
  flush();
}

/* RCL, ENM, then each row centred: PAC to the indent below the centre column,
 * a tab offset for the rest. Rows sit at the bottom of the screen. */
void Cea608Encoder::load_pop_on(const Pending &cue) {
  add_command(Cea608Command::RCL);
  add_command(Cea608Command::ENM);
  unsigned row = kCea608Rows - static_cast<unsigned>(cue.rows.size()) + 1;
  for (const auto &r : cue.rows) {
    unsigned column = (kCea608Columns - static_cast<unsigned>(r.size())) / 2;
    sending_.push_back(Unit{cea608_pac(settings_.channel, row++, column / 4 * 4), true});
    if (column % 4)
      sending_.push_back(Unit{cea608_tab_offset(settings_.channel, column % 4), true});
    add_text(r);
  }
}

size_t Cea608Encoder::pop_on_load_frames(const Pending &cue) {
  std::deque<Unit> kept;
  kept.swap(sending_);
  load_pop_on(cue);
  size_t frames = 0;
  for (const auto &u : sending_)
    frames += u.doubled ? 2 : 1;
  sending_.swap(kept);
  return frames;
}

/* The loaded caption may go on screen now, early, when waiting for its start
 * would leave the next one too little time to be built by its own: the delay
 * is split between the two (each off by half), the first at most max_early
 * early. */
bool Cea608Encoder::flip_early(uint64_t now) {
  if (queue_.size() < 2 || now + settings_.max_early < queue_[0].start)
    return false;
  /* The EOC pair, the load, the next EOC's first frame, after the start. */
  const uint64_t next_on =
      queue_[0].start + (2 + pop_on_load_frames(queue_[1]) + 1) * frame_duration();
  if (next_on <= queue_[1].start)
    return false;
  const uint64_t early = std::min(settings_.max_early, (next_on - queue_[1].start) / 2);
  return now + frame_duration() / 2 + early >= queue_[0].start;
}

/* Frames of codes before the cue's first character. */
size_t Cea608Encoder::roll_up_lead(const Pending &) const {
  return 2 * (1 + (roll_up_set_ ? 0 : 1) + (base_row_used_ ? 1 : 0));
}

void Cea608Encoder::send_roll_up(const Pending &cue) {
  if (!roll_up_set_) {
    Cea608Command ru = settings_.mode == Cea608Mode::RollUp2   ? Cea608Command::RU2
                       : settings_.mode == Cea608Mode::RollUp3 ? Cea608Command::RU3
                                                               : Cea608Command::RU4;
    add_command(ru);
    roll_up_set_ = true;
  }
  for (const auto &r : cue.rows) {
    if (base_row_used_)
      add_command(Cea608Command::CR);
    sending_.push_back(Unit{cea608_pac(settings_.channel, kCea608Rows, 0), true});
    add_text(r);
    base_row_used_ = true;
  }
}

Cea608Pair Cea608Encoder::doubled(Cea608Pair p) {
  has_repeat_ = true;
  repeat_ = p;
  return p;
}

Cea608Pair Cea608Encoder::take_unit() {
  Unit u = sending_.front();
  sending_.pop_front();
  if (sending_.empty() && settings_.mode == Cea608Mode::PopOn)
    loaded_ = true;
  return u.doubled ? doubled(u.pair) : u.pair;
}

Cea608Pair Cea608Encoder::next() {
  const uint64_t now = frame_time(frame_++);
  if (has_repeat_) {
    has_repeat_ = false;
    return repeat_;
  }
  const bool pop_on = settings_.mode == Cea608Mode::PopOn;
  if (pop_on && loaded_ && (due(now, queue_.front().start) || flip_early(now))) {
    if (now > queue_.front().start + frame_duration())
      late_++;
    on_screen_ = true;
    erase_at_ = queue_.front().end;
    queue_.pop_front();
    loaded_ = false;
    return doubled(cea608_command(settings_.channel, Cea608Command::EOC));
  }
  /* The end of what shows, unless the next caption replaces it by then or
   * is on its way onto the screen (roll-up). */
  bool replaced = !queue_.empty() && queue_.front().start <= erase_at_;
  if (on_screen_ && due(now, erase_at_) && !replaced && (pop_on || sending_.empty())) {
    on_screen_ = false;
    base_row_used_ = false;
    return doubled(cea608_command(settings_.channel, Cea608Command::EDM));
  }
  if (!sending_.empty())
    return take_unit();
  if (queue_.empty())
    return Cea608Pair{};
  const Pending &front = queue_.front();
  if (pop_on && !loaded_) {
    load_pop_on(front);
    return take_unit();
  }
  const uint64_t lead = roll_up_lead(front) * frame_duration();
  if (!pop_on && due(now + lead, front.start)) {
    send_roll_up(front);
    on_screen_ = true;
    erase_at_ = front.end;
    queue_.pop_front();
    return take_unit();
  }
  return Cea608Pair{};
}

} // namespace dgf
