/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <random>

#include "caption_merger.h"

using dgf::Branch;
using dgf::Caption;
using dgf::CaptionGap;
using dgf::CaptionMerger;
using dgf::CaptionOutput;

static const uint64_t MS = 1000000;

static Caption cap(uint64_t start_ms, uint64_t dur_ms, const char *text, Branch b = Branch::Stream,
                   const char *session = "s1") {
  return Caption{start_ms * MS, dur_ms * MS, text, b, session};
}

/* Output is one unbroken timeline: each piece starts where the last ended. */
static void assert_contiguous(const std::vector<CaptionOutput> &out, uint64_t *cursor) {
  for (const auto &o : out) {
    uint64_t start = std::visit([](const auto &x) { return x.start; }, o);
    uint64_t duration = std::visit([](const auto &x) { return x.duration; }, o);
    if (*cursor != UINT64_MAX)
      g_assert_cmpuint(start, ==, *cursor);
    *cursor = start + duration;
  }
}

static std::vector<std::string> texts(const std::vector<CaptionOutput> &out) {
  std::vector<std::string> t;
  for (const auto &o : out)
    if (auto *c = std::get_if<Caption>(&o))
      t.push_back(c->text);
  return t;
}

static void test_released_after_ack_with_leading_gap() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 3000 * MS);
  m.add_final(cap(500, 500, "hello"));
  g_assert_cmpuint(m.take().size(), ==, 0); /* stream still owes from 0 */
  m.acked(Branch::Stream, 1000 * MS);
  auto out = m.take();
  g_assert_cmpuint(out.size(), ==, 2);
  auto &gap = std::get<CaptionGap>(out[0]);
  g_assert_cmpuint(gap.start, ==, 0);
  g_assert_cmpuint(gap.duration, ==, 500 * MS);
  auto &c = std::get<Caption>(out[1]);
  g_assert_cmpuint(c.start, ==, 500 * MS);
  g_assert_cmpuint(c.duration, ==, 500 * MS);
  g_assert_cmpstr(c.text.c_str(), ==, "hello");
}

/* caption_ready() says exactly when take() would release a caption (the
 * failover wakes its text pad for nothing else): checked on a copy at every
 * step of a run with both branches, a held cut and same-start captions. */
static void test_caption_ready_matches_take() {
  CaptionMerger m;
  auto check = [&m](const char *step) {
    CaptionMerger copy = m;
    std::vector<std::string> released = texts(copy.take());
    if (m.caption_ready() != !released.empty())
      g_error("after %s: caption_ready() %d, take() released %zu", step, m.caption_ready(),
              released.size());
  };
  check("nothing");
  m.routed(Branch::Stream, 0, 3000 * MS);
  m.add_final(cap(500, 500, "hello"));
  check("a final, still owed");
  g_assert_false(m.caption_ready());
  m.acked(Branch::Stream, 700 * MS);
  check("an ack inside it (something may still start there)");
  m.acked(Branch::Stream, 1000 * MS);
  check("an ack past it");
  g_assert_true(m.caption_ready());
  m.take();
  check("taken");
  m.add_final(cap(1200, 300, "one"));
  m.add_final(cap(1200, 300, "two"));
  check("two at one start, owed");
  m.routed(Branch::Batch, 3000 * MS, 1000 * MS);
  m.add_final(cap(3100, 400, "batch", Branch::Batch));
  m.acked(Branch::Stream, 3000 * MS);
  check("stream acked, batch owes after the stream's captions");
  g_assert_true(m.caption_ready());
  m.take();
  check("taken again");
  g_assert_false(m.caption_ready());
  m.acked(Branch::Batch, 4000 * MS);
  check("batch acked");
  g_assert_true(m.caption_ready());
}

static void test_late_batch_results_keep_order() {
  CaptionMerger m;
  m.routed(Branch::Batch, 0, 5000 * MS);          /* degraded */
  m.routed(Branch::Stream, 5000 * MS, 5000 * MS); /* recovered at the cut, 5 s */
  m.add_final(cap(6000, 1000, "stream-1"));
  m.acked(Branch::Stream, 7000 * MS);
  g_assert_cmpuint(m.take().size(), ==, 0); /* batch may still say something earlier */
  m.add_final(cap(3000, 1000, "batch-2", Branch::Batch, "b1"));
  m.add_final(cap(1000, 1000, "batch-1", Branch::Batch, "b1"));
  m.acked(Branch::Batch, 5000 * MS);
  auto out = m.take();
  auto t = texts(out);
  g_assert_cmpuint(t.size(), ==, 3);
  g_assert_cmpstr(t[0].c_str(), ==, "batch-1");
  g_assert_cmpstr(t[1].c_str(), ==, "batch-2");
  g_assert_cmpstr(t[2].c_str(), ==, "stream-1");
  uint64_t cursor = UINT64_MAX;
  assert_contiguous(out, &cursor);
  g_assert_cmpuint(cursor, ==, 7000 * MS);
}

static void test_overlap_clipped() {
  CaptionMerger m;
  m.routed(Branch::Batch, 0, 4000 * MS);
  m.add_final(cap(1000, 2000, "first", Branch::Batch));
  m.add_final(cap(2000, 2000, "second", Branch::Batch));
  m.acked(Branch::Batch, 4000 * MS);
  auto out = m.take();
  const Caption *first = nullptr, *second = nullptr;
  for (const auto &o : out)
    if (auto *c = std::get_if<Caption>(&o))
      (c->text == "first" ? first : second) = c;
  g_assert_nonnull(first);
  g_assert_nonnull(second);
  g_assert_cmpuint(first->start + first->duration, ==, second->start);
  g_assert_cmpuint(second->duration, ==, 2000 * MS);
}

static void test_held_until_its_end_is_known() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 5000 * MS);
  m.add_final(cap(0, 2000, "long"));
  m.acked(Branch::Stream, 1000 * MS); /* watermark inside the caption */
  g_assert_cmpuint(texts(m.take()).size(), ==, 0);
  m.add_final(cap(1500, 500, "next"));
  m.acked(Branch::Stream, 2000 * MS);
  auto out = m.take();
  g_assert_cmpuint(out.size(), ==, 2);
  auto &a = std::get<Caption>(out[0]);
  g_assert_cmpuint(a.duration, ==, 1500 * MS); /* clipped where "next" starts */
  auto &b = std::get<Caption>(out[1]);
  g_assert_cmpuint(b.start, ==, 1500 * MS);
}

static void test_gap_over_silence() {
  CaptionMerger m;
  m.routed(Branch::Stream, 10000 * MS, 3000 * MS);
  m.acked(Branch::Stream, 12000 * MS);
  auto out = m.take();
  g_assert_cmpuint(out.size(), ==, 1);
  auto &g = std::get<CaptionGap>(out[0]);
  g_assert_cmpuint(g.start, ==, 10000 * MS); /* from the first audio, not from 0 */
  g_assert_cmpuint(g.duration, ==, 2000 * MS);
  m.acked(Branch::Stream, 13000 * MS);
  out = m.take();
  g_assert_cmpuint(out.size(), ==, 1);
  g_assert_cmpuint(std::get<CaptionGap>(out[0]).start, ==, 12000 * MS);
  g_assert_cmpuint(m.take().size(), ==, 0); /* nothing new, nothing out */
}

static void test_gap_stops_at_a_held_caption() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 5000 * MS);
  m.add_final(cap(2000, 2000, "held"));
  m.acked(Branch::Stream, 3000 * MS);
  auto out = m.take();
  g_assert_cmpuint(out.size(), ==, 1);
  g_assert_cmpuint(std::get<CaptionGap>(out[0]).duration, ==, 2000 * MS);
}

static void test_duplicates_dropped() {
  CaptionMerger m;
  m.routed(Branch::Batch, 0, 2000 * MS);
  g_assert_true(m.add_final(cap(100, 500, "same", Branch::Batch, "b")));
  g_assert_false(m.add_final(cap(100, 500, "same", Branch::Batch, "b")));
  g_assert_true(m.add_final(cap(100, 500, "same", Branch::Batch, "other-session")));
  g_assert_cmpuint(m.stats().duplicates, ==, 1);
}

static void test_late_caption_moved_not_lost() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 3000 * MS);
  m.acked(Branch::Stream, 2000 * MS);
  m.take(); /* gap to 2 s */
  m.add_final(cap(1000, 1500, "late"));
  m.acked(Branch::Stream, 3000 * MS);
  auto out = m.take();
  auto &c = std::get<Caption>(out[0]);
  g_assert_cmpuint(c.start, ==, 2000 * MS);
  /* Until its own end or for half its duration, whichever is later: a
   * caption later than its own end must not become a zero-length cue nobody
   * sees, and a run of late ones still catches up with the audio. */
  g_assert_cmpuint(c.duration, ==, 750 * MS);
  g_assert_cmpuint(c.audio_start(), ==, 1000 * MS);
  g_assert_cmpuint(m.stats().late, ==, 1);
}

static void test_abandon_frees_watermark() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 2000 * MS);
  m.routed(Branch::Batch, 2000 * MS, 1000 * MS);
  g_assert_cmpuint(m.watermark(), ==, 0);
  m.abandon(Branch::Stream); /* its audio is re-routed to batch by the owner */
  g_assert_cmpuint(m.watermark(), ==, 2000 * MS);
  m.acked(Branch::Batch, 3000 * MS);
  g_assert_cmpuint(m.watermark(), ==, 3000 * MS); /* the live edge */
}

static void test_finish_releases_everything() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 4000 * MS);
  m.add_final(cap(500, 2000, "a"));
  m.add_final(cap(1000, 500, "b"));
  auto out = m.finish();
  auto t = texts(out);
  g_assert_cmpuint(t.size(), ==, 2);
  uint64_t cursor = UINT64_MAX;
  assert_contiguous(out, &cursor);
  g_assert_cmpuint(cursor, ==, 4000 * MS); /* ends with a gap to the live edge */
}

static void test_empty_text_ignored() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 1000 * MS);
  m.add_final(cap(0, 500, ""));
  g_assert_false(m.has_pending());
}

/* Random captions and acks from both branches: whatever comes out is in
 * order, gapless and overlap-free, and every caption comes out once. */
static void test_random_invariants() {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; round++) {
    CaptionMerger m;
    uint64_t cursor = UINT64_MAX;
    size_t added = 0, seen = 0;
    uint64_t t = 0;
    Branch b = Branch::Stream;
    for (int step = 0; step < 40; step++) {
      uint64_t len = (100 + rng() % 900) * MS;
      if (rng() % 5 == 0)
        b = b == Branch::Stream ? Branch::Batch : Branch::Stream;
      m.routed(b, t, len);
      uint64_t cstart = t + (rng() % 50) * MS;
      m.add_final(Caption{cstart, len, "w" + std::to_string(added), b, "s"});
      added++;
      t += len;
      if (rng() % 2)
        m.acked(b, t);
      auto out = m.take();
      assert_contiguous(out, &cursor);
      seen += texts(out).size();
    }
    auto out = m.finish();
    assert_contiguous(out, &cursor);
    seen += texts(out).size();
    g_assert_cmpuint(seen, ==, added);
  }
}

/* A live pipeline's clock moves the output on while the stream still owes:
 * captions before the clock go out now, a gap covers the rest, and a caption
 * arriving for owed audio afterwards is still shown, late, after the gap. */
static void test_clock_forces_output_over_owed_audio() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 10000 * MS);
  m.add_final(cap(1000, 2000, "early"));
  g_assert_cmpuint(m.take().size(), ==, 0); /* owed from 0: nothing is releasable */
  auto out = m.take(4000 * MS);
  g_assert_cmpuint(texts(out).size(), ==, 1);
  uint64_t cursor = UINT64_MAX;
  assert_contiguous(out, &cursor);
  g_assert_cmpuint(cursor, ==, 4000 * MS); /* the gap reaches the clock */
  m.add_final(cap(3500, 1000, "late"));
  out = m.take(5000 * MS);
  g_assert_cmpuint(texts(out).size(), ==, 1);
  auto &late = std::get<Caption>(out[0]);
  g_assert_cmpuint(late.start, ==, 4000 * MS); /* moved after what was output */
  g_assert_cmpuint(m.stats().late, ==, 1);
}

/* Acks a few us short of where the audio was routed still settle it. */
static void test_jitter_sliver_is_not_owed() {
  CaptionMerger m;
  m.routed(Branch::Batch, 0, 1000 * MS);
  m.routed(Branch::Batch, 1000 * MS + 2267, 1000 * MS); /* a jittered next buffer */
  g_assert_cmpuint(m.owed(Branch::Batch).size(), ==, 1);
  m.acked(Branch::Batch, 2000 * MS);
  g_assert_cmpuint(m.owed(Branch::Batch).size(), ==, 0);
  m.add_final(cap(100, 500, "x", Branch::Batch, "b"));
  g_assert_cmpuint(texts(m.take()).size(), ==, 1);
}

/* Two captions from one instant (two channels, two speakers) are one cue,
 * never a zero-length one. */
static void test_same_start_is_one_cue() {
  CaptionMerger m;
  m.routed(Branch::Stream, 0, 3000 * MS);
  m.add_final(cap(500, 1000, "left"));
  m.add_final(cap(500, 1200, "right"));
  m.acked(Branch::Stream, 3000 * MS);
  auto out = m.take();
  auto t = texts(out);
  g_assert_cmpuint(t.size(), ==, 1);
  g_assert_cmpstr(t[0].c_str(), ==, "left\nright");
  for (const auto &o : out)
    if (auto *c = std::get_if<Caption>(&o))
      g_assert_cmpuint(c->duration, ==, 1200 * MS);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/merger/clock-forces-output", test_clock_forces_output_over_owed_audio);
  g_test_add_func("/merger/jitter-sliver", test_jitter_sliver_is_not_owed);
  g_test_add_func("/merger/same-start", test_same_start_is_one_cue);
  g_test_add_func("/merger/released-after-ack", test_released_after_ack_with_leading_gap);
  g_test_add_func("/merger/caption-ready-matches-take", test_caption_ready_matches_take);
  g_test_add_func("/merger/late-batch-order", test_late_batch_results_keep_order);
  g_test_add_func("/merger/overlap-clipped", test_overlap_clipped);
  g_test_add_func("/merger/held-until-end-known", test_held_until_its_end_is_known);
  g_test_add_func("/merger/gap-over-silence", test_gap_over_silence);
  g_test_add_func("/merger/gap-stops-at-held", test_gap_stops_at_a_held_caption);
  g_test_add_func("/merger/duplicates", test_duplicates_dropped);
  g_test_add_func("/merger/late-caption-moved", test_late_caption_moved_not_lost);
  g_test_add_func("/merger/abandon", test_abandon_frees_watermark);
  g_test_add_func("/merger/finish", test_finish_releases_everything);
  g_test_add_func("/merger/empty-text", test_empty_text_ignored);
  g_test_add_func("/merger/random-invariants", test_random_invariants);
  return g_test_run();
}
