/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <random>
#include <sstream>

#include "caption_splitter.h"

using dgf::CaptionCue;
using dgf::CaptionSplitSettings;
using dgf::CaptionWord;
using dgf::split_caption;

static const uint64_t MS = 1000000;

/* Words of `text`, one every `step_ms`, each lasting `len_ms`, from `at_ms`. */
static std::vector<CaptionWord> timed(const std::string &text, uint64_t at_ms,
                                      uint64_t step_ms = 300, uint64_t len_ms = 250) {
  std::vector<CaptionWord> out;
  std::istringstream in(text);
  for (std::string w; in >> w; at_ms += step_ms)
    out.push_back(CaptionWord{w, at_ms * MS, (at_ms + len_ms) * MS, -1});
  return out;
}

/* text() is a temporary: keep it alive while the assertion looks at it. */
static void assert_text(const CaptionCue &cue, const char *expected) {
  std::string text = cue.text();
  g_assert_cmpstr(text.c_str(), ==, expected);
}

static std::vector<std::string> words_of(const std::vector<CaptionCue> &cues) {
  std::vector<std::string> out;
  for (const auto &c : cues) {
    std::istringstream in(c.text());
    for (std::string w; in >> w;)
      if (w != "-")
        out.push_back(w);
  }
  return out;
}

static std::vector<std::string> words_of(const std::vector<CaptionWord> &words) {
  std::vector<std::string> out;
  for (const auto &w : words)
    out.push_back(w.text);
  return out;
}

/* The guarantees every output keeps, whatever the input. */
static void assert_cues(const std::vector<CaptionCue> &cues, const CaptionSplitSettings &s,
                        uint64_t transcript_end) {
  uint64_t end = 0;
  for (const auto &c : cues) {
    g_assert_cmpuint(c.start, >=, end);
    end = c.start + c.duration;
    g_assert_cmpuint(end, <=, transcript_end); /* every test's words end within it */
    if (s.max_duration > 0)
      g_assert_cmpuint(c.duration, <=, s.max_duration);
    g_assert_cmpuint(c.lines.size(), >=, 1);
    g_assert_cmpuint(c.lines.size(), <=, std::max(1u, s.max_lines));
    for (const auto &line : c.lines) {
      g_assert_true(line.find('\n') == std::string::npos);
      bool single_word = line.find(' ', line.rfind("- ", 0) == 0 ? 2 : 0) == std::string::npos;
      if (s.max_line_chars > 0 && !single_word)
        g_assert_cmpuint(dgf::utf8_length(line), <=, s.max_line_chars);
    }
  }
}

static void test_disabled_passes_whole() {
  CaptionSplitSettings s;
  s.max_line_chars = 0;
  s.max_duration = 0;
  auto cues = split_caption(timed("one two three", 0), 100 * MS, 900 * MS, "One two three.", s);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].start, ==, 100 * MS);
  g_assert_cmpuint(cues[0].duration, ==, 900 * MS);
  assert_text(cues[0], "One two three.");
  g_assert_cmpuint(split_caption({}, 0, 0, "", s).size(), ==, 0);
}

static void test_short_transcript_is_one_line() {
  CaptionSplitSettings s;
  auto words = timed("hello there", 1000);
  auto cues = split_caption(words, 1000 * MS, 1000 * MS, "hello there", s);
  g_assert_cmpuint(cues.size(), ==, 1);
  assert_text(cues[0], "hello there");
  g_assert_cmpuint(cues[0].start, ==, 1000 * MS);
  /* Up to the transcript's end: 2000 ms, not just the last word's 1550. */
  g_assert_cmpuint(cues[0].duration, ==, 1000 * MS);
}

static void test_long_transcript_in_two_line_cues() {
  CaptionSplitSettings s;
  s.max_duration = 0; /* characters only */
  std::string text = "when the going gets tough the tough get going and the rest of us "
                     "watch from the sidelines wondering what all the fuss is about today";
  auto words = timed(text, 0, 200, 180);
  auto cues = split_caption(words, 0, 6000 * MS, text, s);
  assert_cues(cues, s, 6000 * MS);
  g_assert_cmpuint(cues.size(), ==, 2);
  g_assert_cmpuint(cues[0].lines.size(), ==, 2);
  g_assert_true(words_of(cues) == words_of(words));
  /* Back to back while the talk goes on: each ends where the next starts. */
  g_assert_cmpuint(cues[0].start + cues[0].duration, ==, cues[1].start);
}

static void test_lines_are_balanced() {
  CaptionSplitSettings s;
  s.max_duration = 0;
  std::string text = "the quick brown fox jumps over the lazy dog"; /* 43 characters */
  auto cues = split_caption(timed(text, 0), 0, 3000 * MS, text, s);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].lines.size(), ==, 2);
  /* Not "the quick brown fox jumps over the lazy" + "dog". */
  g_assert_cmpstr(cues[0].lines[0].c_str(), ==, "the quick brown fox");
  g_assert_cmpstr(cues[0].lines[1].c_str(), ==, "jumps over the lazy dog");
}

static void test_narrow_lines_for_cea608() {
  CaptionSplitSettings s;
  s.max_line_chars = 32;
  s.max_duration = 0;
  std::string text = "captions for broadcast television are thirty two characters wide at most "
                     "so the splitter has to work a little harder";
  auto words = timed(text, 0);
  auto cues = split_caption(words, 0, 7000 * MS, text, s);
  assert_cues(cues, s, 7000 * MS);
  g_assert_true(words_of(cues) == words_of(words));
  for (const auto &c : cues)
    for (const auto &l : c.lines)
      g_assert_cmpuint(l.size(), <=, 32);
}

static void test_no_stub_after_a_full_cue() {
  CaptionSplitSettings s;
  s.max_line_chars = 32;
  std::string text = "w000000 w000001 w000002 w000003 w000004 w000005 w000006 w000007 w000008 "
                     "w000009"; /* 8 fit in a cue of two 32-character lines */
  auto words = timed(text, 0, 100, 100);
  auto cues = split_caption(words, 0, 1000 * MS, text, s);
  assert_cues(cues, s, 1000 * MS);
  g_assert_cmpuint(cues.size(), ==, 2);
  assert_text(cues[0], "w000000 w000001 w000002\nw000003 w000004");
  assert_text(cues[1], "w000005 w000006 w000007\nw000008 w000009");
  g_assert_cmpuint(cues[1].start, ==, 500 * MS);
}

static void test_duration_limit() {
  CaptionSplitSettings s;
  s.max_line_chars = 0; /* time only */
  s.max_duration = 2000 * MS;
  auto words = timed("a b c d e f g h i j k l", 0, 500, 400); /* 6 s of words */
  auto cues = split_caption(words, 0, 6000 * MS, "", s);
  assert_cues(cues, s, 6000 * MS);
  g_assert_cmpuint(cues.size(), ==, 3);
  for (const auto &c : cues)
    g_assert_cmpuint(c.lines.size(), ==, 1);
  assert_text(cues[0], "a b c d");
}

static void test_word_longer_than_duration_is_cut_short() {
  CaptionSplitSettings s;
  s.max_duration = 1000 * MS;
  std::vector<CaptionWord> words{{"looooong", 0, 3000 * MS, -1}};
  auto cues = split_caption(words, 0, 3000 * MS, "looooong", s);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].duration, ==, 1000 * MS);
}

static void test_pause_ends_a_cue() {
  CaptionSplitSettings s;
  auto words = timed("before the pause", 0);
  auto after = timed("after it", 3000);
  words.insert(words.end(), after.begin(), after.end());
  auto cues = split_caption(words, 0, 4000 * MS, "", s);
  g_assert_cmpuint(cues.size(), ==, 2);
  assert_text(cues[0], "before the pause");
  /* The first lingers one second after its last word (850 ms), not into the pause. */
  g_assert_cmpuint(cues[0].start + cues[0].duration, ==, 1850 * MS);
  g_assert_cmpuint(cues[1].start, ==, 3000 * MS);
}

static void test_sentence_end_ends_a_cue() {
  CaptionSplitSettings s;
  s.max_duration = 0;
  std::string text = "That was the first sentence of it. And here comes a second one.";
  auto cues = split_caption(timed(text, 0), 0, 5000 * MS, text, s);
  g_assert_cmpuint(cues.size(), ==, 2);
  assert_text(cues[0], "That was the first sentence of it.");
  /* A short interjection joins what follows instead of flashing alone. */
  text = "Yes. I think so too, and I said it before.";
  cues = split_caption(timed(text, 0), 0, 5000 * MS, text, s);
  g_assert_cmpuint(cues.size(), ==, 1);
}

static void test_long_word_alone_never_broken() {
  CaptionSplitSettings s;
  s.max_line_chars = 10;
  s.max_duration = 0;
  std::string text = "a supercalifragilistic word";
  auto cues = split_caption(timed(text, 0), 0, 2000 * MS, text, s);
  assert_cues(cues, s, 2000 * MS);
  std::vector<std::string> lines;
  for (const auto &c : cues)
    lines.insert(lines.end(), c.lines.begin(), c.lines.end());
  g_assert_cmpuint(lines.size(), ==, 3);
  g_assert_cmpstr(lines[1].c_str(), ==, "supercalifragilistic");
}

static void test_utf8_counts_characters() {
  g_assert_cmpuint(dgf::utf8_length("café"), ==, 4);
  g_assert_cmpuint(dgf::utf8_length("日本語"), ==, 3);
  CaptionSplitSettings s;
  s.max_line_chars = 12;
  s.max_duration = 0;
  std::string text = "éééééé éééééé"; /* 13 characters, 25 bytes */
  auto cues = split_caption(timed(text, 0), 0, 1000 * MS, text, s);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].lines.size(), ==, 2);
  s.max_line_chars = 13;
  cues = split_caption(timed(text, 0), 0, 1000 * MS, text, s);
  g_assert_cmpuint(cues[0].lines.size(), ==, 1);
}

static void test_no_words_timed_from_text() {
  CaptionSplitSettings s;
  s.max_line_chars = 10;
  s.max_lines = 1;
  s.max_duration = 0;
  /* 4 words of 4 characters over 1.6 s: 400 ms each. */
  auto cues = split_caption({}, 1000 * MS, 1600 * MS, "aaaa bbbb cccc dddd", s);
  g_assert_cmpuint(cues.size(), ==, 2);
  assert_text(cues[0], "aaaa bbbb");
  g_assert_cmpuint(cues[0].start, ==, 1000 * MS);
  g_assert_cmpuint(cues[1].start, ==, 1800 * MS);
  g_assert_cmpuint(cues[1].start + cues[1].duration, ==, 2600 * MS);
}

static std::vector<CaptionWord> with_speakers(const std::string &text,
                                              const std::vector<int> &speakers) {
  auto words = timed(text, 0);
  for (size_t i = 0; i < words.size(); i++)
    words[i].speaker = speakers[i];
  return words;
}

static void test_speaker_lines() {
  CaptionSplitSettings s;
  s.speaker_lines = true;
  auto words = with_speakers("how are you fine thanks", {0, 0, 0, 1, 1});
  auto cues = split_caption(words, 0, 2000 * MS, "", s);
  g_assert_cmpuint(cues.size(), ==, 1);
  g_assert_cmpuint(cues[0].lines.size(), ==, 2);
  g_assert_cmpstr(cues[0].lines[0].c_str(), ==, "- how are you");
  g_assert_cmpstr(cues[0].lines[1].c_str(), ==, "- fine thanks");

  /* A third turn starts a new cue; one speaker alone gets no mark. */
  words = with_speakers("yes no maybe", {0, 1, 0});
  cues = split_caption(words, 0, 1000 * MS, "", s);
  g_assert_cmpuint(cues.size(), ==, 2);
  assert_text(cues[0], "- yes\n- no");
  assert_text(cues[1], "maybe");

  /* Without speaker lines the labels change nothing. */
  s.speaker_lines = false;
  cues =
      split_caption(with_speakers("how are you fine thanks", {0, 0, 0, 1, 1}), 0, 2000 * MS, "", s);
  assert_text(cues[0], "how are you fine thanks");
}

static void test_speaker_lines_keep_the_limit() {
  CaptionSplitSettings s;
  s.speaker_lines = true;
  s.max_line_chars = 16;
  s.max_duration = 0;
  auto words = with_speakers("aaaaaa bbbbbb cccccc dddddd", {0, 0, 1, 1});
  auto cues = split_caption(words, 0, 2000 * MS, "", s);
  assert_cues(cues, s, 2000 * MS);
  g_assert_true(words_of(cues) == words_of(words));
  assert_text(cues[0], "- aaaaaa bbbbbb\n- cccccc dddddd");
}

/* Random transcripts and settings: the guarantees hold and no word is lost. */
static void test_random_inputs() {
  std::mt19937 rng(12345);
  const char *vocab[] = {"a",         "to",   "the",      "word", "speech",
                         "caption",   "end.", "why?",     "é",    "supercalifragilistic",
                         "broadcast", "and,", "GStreamer"};
  for (int round = 0; round < 2000; round++) {
    CaptionSplitSettings s;
    s.max_line_chars = std::uniform_int_distribution<unsigned>(0, 50)(rng);
    s.max_lines = std::uniform_int_distribution<unsigned>(1, 3)(rng);
    s.max_duration = std::uniform_int_distribution<uint64_t>(0, 6000)(rng) * MS;
    s.pause = std::uniform_int_distribution<uint64_t>(0, 2000)(rng) * MS;
    s.linger = std::uniform_int_distribution<uint64_t>(0, 1500)(rng) * MS;
    s.speaker_lines = rng() % 2;
    std::vector<CaptionWord> words;
    uint64_t t = std::uniform_int_distribution<uint64_t>(0, 100000)(rng) * MS;
    uint64_t start = t;
    int n = std::uniform_int_distribution<int>(0, 60)(rng);
    for (int i = 0; i < n; i++) {
      t += std::uniform_int_distribution<uint64_t>(0, 800)(rng) * MS;
      uint64_t len = std::uniform_int_distribution<uint64_t>(0, 900)(rng) * MS;
      words.push_back(
          CaptionWord{vocab[rng() % G_N_ELEMENTS(vocab)], t, t + len, static_cast<int>(rng() % 3)});
      t += len;
    }
    uint64_t duration = t - start + std::uniform_int_distribution<uint64_t>(0, 500)(rng) * MS;
    auto cues = split_caption(words, start, duration, "", s);
    if (!s.enabled())
      continue;
    assert_cues(cues, s, start + duration);
    g_assert_true(words_of(cues) == words_of(words));
    if (!cues.empty())
      g_assert_cmpuint(cues.front().start, ==, words.front().start);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/caption-splitter/disabled-passes-whole", test_disabled_passes_whole);
  g_test_add_func("/caption-splitter/short-transcript-one-line", test_short_transcript_is_one_line);
  g_test_add_func("/caption-splitter/long-transcript-two-line-cues",
                  test_long_transcript_in_two_line_cues);
  g_test_add_func("/caption-splitter/lines-balanced", test_lines_are_balanced);
  g_test_add_func("/caption-splitter/narrow-lines-cea608", test_narrow_lines_for_cea608);
  g_test_add_func("/caption-splitter/no-stub-after-full-cue", test_no_stub_after_a_full_cue);
  g_test_add_func("/caption-splitter/duration-limit", test_duration_limit);
  g_test_add_func("/caption-splitter/word-longer-than-duration",
                  test_word_longer_than_duration_is_cut_short);
  g_test_add_func("/caption-splitter/pause-ends-cue", test_pause_ends_a_cue);
  g_test_add_func("/caption-splitter/sentence-end-ends-cue", test_sentence_end_ends_a_cue);
  g_test_add_func("/caption-splitter/long-word-alone", test_long_word_alone_never_broken);
  g_test_add_func("/caption-splitter/utf8-characters", test_utf8_counts_characters);
  g_test_add_func("/caption-splitter/no-words-timed-from-text", test_no_words_timed_from_text);
  g_test_add_func("/caption-splitter/speaker-lines", test_speaker_lines);
  g_test_add_func("/caption-splitter/speaker-lines-keep-limit", test_speaker_lines_keep_the_limit);
  g_test_add_func("/caption-splitter/random-inputs", test_random_inputs);
  return g_test_run();
}
