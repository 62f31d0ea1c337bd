/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CEA-608 encoder: timed captions to one field byte pair per video frame.
 *
 * CEA-608 sends two bytes per frame (per field), each with odd parity. Text
 * goes as character pairs; control codes (commands, preamble address codes,
 * tab offsets) and special/extended characters go as two-byte codes sent
 * twice, on consecutive frames, so a decoder that loses one still acts (and
 * ignores the repeat). Idle frames carry 0x80 0x80 (two parity-valid nulls).
 *
 * Two styles:
 * - pop-on: a caption is built off screen (RCL, ENM, then PAC + text per row,
 *   rows bottom-aligned and centred) while the previous one shows, then
 *   flipped on screen by EOC at the caption's start, to the nearest frame
 *   (sooner, up to max_early, when the next caption needs the time to be
 *   built).
 *   Building takes about a frame per two characters (a full 2 x 32 caption
 *   about 1.4 s at 30 fps), so the caller must hand captions over that far
 *   ahead of the frames (the element's lookahead).
 * - roll-up (2, 3 or 4 rows): each row is sent on the base row (row 15)
 *   after a CR that scrolls the earlier rows up; text shows as it arrives,
 *   starting so the first character lands at the caption's start.
 * In both a caption's end erases the screen (EDM) unless the next caption
 * replaces it by then. Rows are at most 32 columns, broken between words.
 *
 * Channels: CC1 and CC2 are field 1's two data channels, CC3 and CC4 field
 * 2's; the channel changes the first byte of every code (0x14 misc commands
 * on CC1, 0x1C on CC2, 0x15 on CC3, 0x1D on CC4). Which field the pairs
 * belong in is the caller's business (cea608_field2()).
 *
 * Times are nanoseconds from the start of frame 0. Plain C++, no GStreamer
 * types.
 */
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "cea608_charset.h"

namespace dgf {

enum class Cea608Mode { PopOn, RollUp2, RollUp3, RollUp4 };
enum class Cea608Channel { CC1, CC2, CC3, CC4 };

/* One frame's two bytes, parity included. */
struct Cea608Pair {
  uint8_t b1 = 0x80;
  uint8_t b2 = 0x80;
  bool operator==(const Cea608Pair &o) const { return b1 == o.b1 && b2 == o.b2; }
  bool padding() const { return b1 == 0x80 && b2 == 0x80; }
};

/* Miscellaneous control codes: the second byte, without parity. */
enum class Cea608Command : uint8_t {
  RCL = 0x20, /* resume caption loading (pop-on) */
  BS = 0x21,  /* backspace */
  RU2 = 0x25, /* roll-up, 2 rows */
  RU3 = 0x26,
  RU4 = 0x27,
  EDM = 0x2C, /* erase displayed memory */
  CR = 0x2D,  /* carriage return (roll-up: scroll) */
  ENM = 0x2E, /* erase non-displayed memory */
  EOC = 0x2F, /* end of caption: swap memories (pop-on) */
};

/* The video frame grid: frame n starts at n x fps_d / fps_n seconds, in ns
 * from frame 0, exactly (no drift over hours). Shared by the 608 and 708
 * encoders so both count the same frames. */
struct CcFrameGrid {
  uint32_t fps_n = 30, fps_d = 1;
  uint64_t time(uint64_t index) const;
  /* The first frame starting at or after `time`. */
  uint64_t at(uint64_t time) const;
};

constexpr unsigned kCea608Columns = 32;
constexpr unsigned kCea608Rows = 15;

/* `b` (7 bits) with bit 7 set so the byte has odd parity. */
uint8_t cea608_parity(uint8_t b);
/* True when the byte has odd parity. */
bool cea608_parity_ok(uint8_t b);
bool cea608_field2(Cea608Channel channel);

Cea608Pair cea608_command(Cea608Channel channel, Cea608Command command);
/* Preamble address code: white text on `row` (1..15) from column `indent`
 * (0, 4, ..., 28). */
Cea608Pair cea608_pac(Cea608Channel channel, unsigned row, unsigned indent);
/* Tab offset by 1..3 columns. */
Cea608Pair cea608_tab_offset(Cea608Channel channel, unsigned columns);

/* The text as rows of at most `columns` 608 characters: each '\n'-separated
 * line broken between words (a word longer than a row is cut). Empty rows
 * are dropped. */
std::vector<std::vector<Cea608Char>> cea608_rows(const std::string &text,
                                                 unsigned columns = kCea608Columns);

struct Cea608Settings {
  Cea608Mode mode = Cea608Mode::PopOn;
  Cea608Channel channel = Cea608Channel::CC1;
  uint32_t fps_n = 30; /* frame rate, frames per fps_d seconds */
  uint32_t fps_d = 1;
  /* Pop-on: a caption may flip on up to this much (ns) before its start when
   * otherwise the next one could not be built by its own start (a short
   * caption before a long one: building 2 x 32 columns takes 1.35 s); the
   * shortfall is split, half early for the one, half late for the next. */
  uint64_t max_early = 300000000ull;
};

struct Cea608Caption {
  std::string text; /* UTF-8, rows separated by '\n' */
  uint64_t start = 0;
  uint64_t duration = 0;
};

class Cea608Encoder {
public:
  explicit Cea608Encoder(const Cea608Settings &settings);

  /* Queues a caption; captions come in order of start. */
  void push(const Cea608Caption &caption);
  /* The pair for the next frame; frames are numbered from start_at()'s. */
  Cea608Pair next();
  /* Nothing queued, nothing being sent, nothing left on screen. */
  bool idle() const;
  /* The next frame's index and start time. */
  uint64_t frame() const { return frame_; }
  uint64_t frame_time(uint64_t index) const;
  /* The first frame starting at or after `time`. */
  uint64_t frame_at(uint64_t time) const;
  uint64_t frame_duration() const { return frame_time(1); }
  /* Forgets everything (a flush) and continues from frame `index`. The
   * screen is assumed blank: the caller sends what it already sent. */
  void start_at(uint64_t index);
  /* Captions that could not be loaded before their start (pop-on), so showed
   * late, so far. */
  uint64_t late_captions() const { return late_; }

private:
  struct Unit {
    Cea608Pair pair;
    bool doubled = false;
  };
  struct Pending {
    std::vector<std::vector<Cea608Char>> rows;
    uint64_t start = 0;
    uint64_t end = 0;
  };

  bool due(uint64_t now, uint64_t at) const;
  void add_command(Cea608Command command);
  void add_text(const std::vector<Cea608Char> &row);
  void load_pop_on(const Pending &cue);
  size_t pop_on_load_frames(const Pending &cue);
  bool flip_early(uint64_t now);
  size_t roll_up_lead(const Pending &cue) const;
  void send_roll_up(const Pending &cue);
  Cea608Pair take_unit();
  Cea608Pair doubled(Cea608Pair pair);

  Cea608Settings settings_;
  uint64_t frame_ = 0;
  std::deque<Pending> queue_; /* not yet started */
  std::deque<Unit> sending_;  /* the units being sent */
  bool has_repeat_ = false;   /* the next frame repeats `repeat_` */
  Cea608Pair repeat_;
  bool loaded_ = false;    /* pop-on: queue_.front() is built off screen */
  bool on_screen_ = false; /* something shows and erase_at_ applies */
  uint64_t erase_at_ = 0;
  bool roll_up_set_ = false;   /* roll-up: RU sent */
  bool base_row_used_ = false; /* roll-up: the base row holds text (a CR first) */
  uint64_t late_ = 0;
};

} // namespace dgf
