/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "chaos_tally.h"

#include <cstdio>
#include <map>

namespace chaos {

namespace {

/* b000123 -> 123; false for anything else. */
bool block_of(const std::string &word, uint32_t *block) {
  unsigned b = 0;
  char tail = 0;
  if (word.size() < 2 || word[0] != 'b' || std::sscanf(word.c_str(), "b%u%c", &b, &tail) != 1)
    return false;
  *block = b;
  return true;
}

bool in_drops(uint32_t block, uint64_t block_ns, const std::vector<Range> &drops) {
  uint64_t begin = block * block_ns, end = begin + block_ns;
  for (const Range &r : drops)
    if (r.start < end && begin < r.start + r.duration)
      return true;
  return false;
}

} // namespace

std::string Tally::describe() const {
  std::string s;
  auto list = [&](const char *what, const std::vector<uint32_t> &v) {
    if (v.empty())
      return;
    s += std::string(s.empty() ? "" : ", ") + what + " " + std::to_string(v.size()) + " [";
    for (size_t i = 0; i < v.size() && i < 10; i++)
      s += (i ? " " : "") + std::to_string(v[i]);
    s += v.size() > 10 ? " ...]" : "]";
  };
  list("lost", lost_blocks);
  list("duplicated", duplicated_blocks);
  list("mistimed", mistimed_blocks);
  if (stray)
    s += std::string(s.empty() ? "" : ", ") + "stray words " + std::to_string(stray);
  return s;
}

Tally tally_blocks(const std::vector<Word> &words, uint32_t sent, uint64_t block_ns,
                   const std::vector<Range> &drops, uint64_t tolerance_ns) {
  Tally t;
  t.sent = sent;
  std::map<uint32_t, std::vector<uint64_t>> seen;
  for (const Word &w : words) {
    uint32_t b = 0;
    if (!block_of(w.text, &b) || b >= sent) {
      t.stray++;
      continue;
    }
    seen[b].push_back(w.start);
  }
  for (uint32_t b = 0; b < sent; b++) {
    auto it = seen.find(b);
    bool excused = in_drops(b, block_ns, drops);
    if (it != seen.end() && it->second.size() > 1) {
      t.duplicated++;
      t.duplicated_blocks.push_back(b);
      continue;
    }
    if (it == seen.end()) {
      if (excused) {
        t.dropped++;
      } else {
        t.lost++;
        t.lost_blocks.push_back(b);
      }
      continue;
    }
    uint64_t want = b * block_ns, got = it->second[0];
    if ((got > want ? got - want : want - got) <= tolerance_ns) {
      t.once++;
    } else if (excused) {
      t.dropped++;
    } else {
      t.mistimed++;
      t.mistimed_blocks.push_back(b);
    }
  }
  return t;
}

CaptionTally tally_captions(const std::vector<std::string> &words, uint32_t sent, uint64_t block_ns,
                            const std::vector<Range> &drops) {
  CaptionTally t;
  std::map<uint32_t, int> count;
  bool any = false;
  uint32_t last = 0;
  for (const std::string &w : words) {
    t.words++;
    uint32_t b = 0;
    if (!block_of(w, &b) || b >= sent) {
      t.stray++;
      continue;
    }
    if (any && b <= last)
      t.out_of_order++;
    any = true;
    last = b;
    count[b]++;
  }
  for (uint32_t b = 0; b < sent; b++) {
    int n = count.count(b) ? count[b] : 0;
    if (n > 1)
      t.duplicated++;
    else if (n == 0 && !in_drops(b, block_ns, drops))
      t.missing++;
  }
  return t;
}

} // namespace chaos
