/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "caption_splitter.h"

#include <algorithm>
#include <limits>
#include <sstream>

namespace dgf {
namespace {

constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
constexpr const char *kTurnMark = "- "; /* a speaker's turn in a two-speaker cue */
constexpr size_t kTurnMarkChars = 2;

/* "end.", "end?\"", "end!)" */
bool ends_sentence(const std::string &word) {
  size_t n = word.size();
  while (n > 0 &&
         (word[n - 1] == '"' || word[n - 1] == '\'' || word[n - 1] == ')' || word[n - 1] == ']'))
    n--;
  return n > 0 && (word[n - 1] == '.' || word[n - 1] == '?' || word[n - 1] == '!');
}

/* The text's words, timed in proportion to their length over the span. */
std::vector<CaptionWord> words_from_text(const std::string &text, uint64_t start,
                                         uint64_t duration) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string w; in >> w;)
    parts.push_back(w);
  size_t total = 0;
  for (const auto &p : parts)
    total += utf8_length(p);
  std::vector<CaptionWord> out;
  size_t at = 0;
  for (const auto &p : parts) {
    size_t len = utf8_length(p);
    CaptionWord w;
    w.text = p;
    w.start = start + static_cast<uint64_t>(static_cast<double>(duration) * at / total);
    w.end = start + static_cast<uint64_t>(static_cast<double>(duration) * (at + len) / total);
    at += len;
    out.push_back(std::move(w));
  }
  return out;
}

/* Word indexes of one cue; `speaker_break` marks words that start a new line
 * because the speaker changed. */
struct CueWords {
  std::vector<size_t> words;
  std::vector<bool> speaker_break;
  bool two_speakers = false;
  bool soft_start = false; /* begun only because the previous cue was full */
};

std::vector<CueWords> group_into_cues(const std::vector<CaptionWord> &words,
                                      const CaptionSplitSettings &s, size_t budget) {
  std::vector<CueWords> cues;
  CueWords cur;
  unsigned lines = 0;
  size_t line_chars = 0, cue_chars = 0;
  int line_speaker = -1;
  uint64_t cue_start = 0;
  const unsigned max_lines = std::max(1u, s.max_lines);
  for (size_t i = 0; i < words.size(); i++) {
    const CaptionWord &w = words[i];
    size_t len = utf8_length(w.text);
    bool close = false, hard = false, new_line = false, speaker_change = false;
    if (!cur.words.empty()) {
      const CaptionWord &prev = words[i - 1];
      if (s.max_duration > 0 && w.end > cue_start && w.end - cue_start > s.max_duration)
        hard = true;
      if (s.pause > 0 && w.start >= prev.end && w.start - prev.end >= s.pause)
        hard = true;
      if (budget != kNoLimit && ends_sentence(prev.text) && cue_chars * 2 >= budget)
        hard = true;
      if (s.speaker_lines && w.speaker != line_speaker)
        new_line = speaker_change = true;
      else if (budget != kNoLimit && line_chars + 1 + len > budget)
        new_line = true;
      if (new_line && lines == max_lines)
        close = true;
      hard = hard || (close && speaker_change);
      close = close || hard;
    }
    if (close) {
      cues.push_back(std::move(cur));
      cur = CueWords{};
      cur.soft_start = !hard;
    }
    if (cur.words.empty()) {
      lines = 1;
      line_chars = cue_chars = len;
      line_speaker = w.speaker;
      cue_start = w.start;
      speaker_change = false;
    } else if (new_line) {
      lines++;
      line_chars = len;
      cue_chars += 1 + len;
      line_speaker = w.speaker;
    } else {
      line_chars += 1 + len;
      cue_chars += 1 + len;
    }
    cur.words.push_back(i);
    cur.speaker_break.push_back(speaker_change);
    cur.two_speakers = cur.two_speakers || speaker_change;
  }
  if (!cur.words.empty())
    cues.push_back(std::move(cur));
  return cues;
}

/* Greedy fill at width `width`: the lines' word counts. */
std::vector<size_t> fill(const std::vector<size_t> &lengths, size_t width) {
  std::vector<size_t> counts;
  size_t chars = 0;
  for (size_t len : lengths) {
    if (counts.empty() || chars + 1 + len > width) {
      counts.push_back(1);
      chars = len;
    } else {
      counts.back()++;
      chars += 1 + len;
    }
  }
  return counts;
}

size_t chars_of(const std::vector<CaptionWord> &words, const std::vector<size_t> &cue) {
  size_t n = cue.empty() ? 0 : cue.size() - 1;
  for (size_t i : cue)
    n += utf8_length(words[i].text);
  return n;
}

bool fits(const std::vector<CaptionWord> &words, const std::vector<size_t> &cue, size_t budget,
          unsigned max_lines) {
  std::vector<size_t> lengths;
  for (size_t i : cue)
    lengths.push_back(utf8_length(words[i].text));
  return fill(lengths, budget).size() <= max_lines;
}

/* A full cue followed by a stub ("8 words" + "2 words") reads badly: move
 * words from the end of each full cue to the cue it overflowed into while
 * that makes the pair more even, still fits and keeps within max_duration.
 * A sentence end stays where it is. */
void even_out(std::vector<CueWords> &cues, const std::vector<CaptionWord> &words,
              const CaptionSplitSettings &s, size_t budget) {
  if (budget == kNoLimit)
    return;
  const unsigned max_lines = std::max(1u, s.max_lines);
  for (size_t k = cues.size(); k-- > 1;) {
    CueWords &a = cues[k - 1];
    CueWords &b = cues[k];
    if (!b.soft_start || a.two_speakers || b.two_speakers)
      continue;
    while (a.words.size() > 1) {
      size_t moved = a.words.back();
      if (ends_sentence(words[moved].text))
        break;
      std::vector<size_t> shorter(a.words.begin(), a.words.end() - 1);
      std::vector<size_t> longer{moved};
      longer.insert(longer.end(), b.words.begin(), b.words.end());
      size_t before = std::max(chars_of(words, a.words), chars_of(words, b.words));
      size_t after = std::max(chars_of(words, shorter), chars_of(words, longer));
      const CaptionWord &last = words[longer.back()];
      if (after >= before || !fits(words, longer, budget, max_lines) ||
          (s.max_duration > 0 && last.end > words[moved].start &&
           last.end - words[moved].start > s.max_duration))
        break;
      a.words = std::move(shorter);
      a.speaker_break.pop_back();
      b.words = std::move(longer);
      b.speaker_break.insert(b.speaker_break.begin(), false);
    }
  }
}

/* As few lines as the budget allows (the cue was grouped to fit), each as
 * narrow as possible, so lines come out about even instead of one full line
 * and a stub. A word wider than a line sits alone; it is never broken. */
std::vector<std::string> balanced_lines(const std::vector<std::string> &texts, size_t budget) {
  std::vector<size_t> lengths;
  size_t total = 0, widest = 0;
  for (const auto &t : texts) {
    lengths.push_back(utf8_length(t));
    total += lengths.back() + 1;
    widest = std::max(widest, lengths.back());
  }
  std::vector<size_t> counts;
  if (budget == kNoLimit) {
    counts = {texts.size()};
  } else {
    counts = fill(lengths, budget);
    const size_t needed = counts.size();
    /* No layout in `needed` lines is narrower than this. */
    size_t width = std::min(budget, std::max(widest, (total - needed) / needed));
    for (; width < budget; width++) {
      std::vector<size_t> narrower = fill(lengths, width);
      if (narrower.size() <= needed) {
        counts = std::move(narrower);
        break;
      }
    }
  }
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t n : counts) {
    std::string line;
    for (size_t k = 0; k < n; k++, at++) {
      if (k > 0)
        line += ' ';
      line += texts[at];
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

/* Lines as grouped: a new line at each speaker change or when full; each
 * turn marked when two speakers share the cue. */
std::vector<std::string> speaker_lines(const std::vector<CaptionWord> &words, const CueWords &cue,
                                       size_t budget) {
  std::vector<std::string> lines;
  size_t chars = 0;
  for (size_t k = 0; k < cue.words.size(); k++) {
    const std::string &t = words[cue.words[k]].text;
    size_t len = utf8_length(t);
    bool turn = k == 0 || cue.speaker_break[k];
    if (lines.empty() || turn || (budget != kNoLimit && chars + 1 + len > budget)) {
      lines.emplace_back(turn && cue.two_speakers ? kTurnMark : "");
      lines.back() += t;
      chars = len;
    } else {
      lines.back() += ' ';
      lines.back() += t;
      chars += 1 + len;
    }
  }
  return lines;
}

} // namespace

size_t utf8_length(const std::string &s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::string CaptionCue::text() const {
  std::string out;
  for (size_t i = 0; i < lines.size(); i++) {
    if (i > 0)
      out += '\n';
    out += lines[i];
  }
  return out;
}

std::vector<CaptionCue> split_caption(const std::vector<CaptionWord> &given, uint64_t start,
                                      uint64_t duration, const std::string &text,
                                      const CaptionSplitSettings &s) {
  if (!s.enabled()) {
    if (text.empty())
      return {};
    return {CaptionCue{start, duration, {text}}};
  }
  std::vector<CaptionWord> words;
  for (const CaptionWord &w : given.empty() ? words_from_text(text, start, duration) : given) {
    if (w.text.find_first_not_of(" \t\n") == std::string::npos)
      continue;
    words.push_back(w);
    words.back().end = std::max(w.end, w.start);
  }
  if (words.empty())
    return {};

  size_t budget = kNoLimit;
  if (s.max_line_chars > 0) {
    budget = s.max_line_chars;
    if (s.speaker_lines) /* room for a turn mark on any line */
      budget = budget > kTurnMarkChars ? budget - kTurnMarkChars : 1;
  }
  std::vector<CueWords> grouped = group_into_cues(words, s, budget);
  even_out(grouped, words, s, budget);

  const uint64_t transcript_end = start + duration;
  std::vector<CaptionCue> cues;
  uint64_t previous_end = 0;
  for (size_t k = 0; k < grouped.size(); k++) {
    const CueWords &g = grouped[k];
    const CaptionWord &first = words[g.words.front()];
    const CaptionWord &last = words[g.words.back()];
    uint64_t cue_start = std::max(first.start, previous_end);
    uint64_t words_end = std::max(last.end, cue_start);
    /* Stay up a little after the last word, but never into the next cue and
     * never past the transcript (whose end the merger may already wait for). */
    uint64_t boundary = k + 1 < grouped.size()
                            ? std::max(words[grouped[k + 1].words.front()].start, words_end)
                            : std::max(transcript_end, words_end);
    uint64_t end = std::min(boundary, words_end + s.linger);
    if (s.max_duration > 0)
      end = std::min(end, cue_start + s.max_duration);
    CaptionCue cue;
    cue.start = cue_start;
    cue.duration = end - cue_start;
    if (s.speaker_lines && g.two_speakers) {
      cue.lines = speaker_lines(words, g, budget);
    } else {
      std::vector<std::string> texts;
      for (size_t i : g.words)
        texts.push_back(words[i].text);
      cue.lines = balanced_lines(texts, budget);
    }
    previous_end = end;
    cues.push_back(std::move(cue));
  }
  return cues;
}

} // namespace dgf
