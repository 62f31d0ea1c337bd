/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The chaos soak's own logic: the schedule is deterministic, covers every
 * fault variant, and the emulator accepts it; the accounting puts every
 * block in the right class (a soak whose checker cannot fail proves nothing). */
#include <glib.h>

#include <algorithm>
#include <set>

#include "chaos_schedule.h"
#include "chaos_tally.h"
#include "faults.h"

namespace {

void test_schedule_deterministic() {
  auto a = chaos::make_schedule({42, 20, 0.3});
  auto b = chaos::make_schedule({42, 20, 0.3});
  auto c = chaos::make_schedule({43, 20, 0.3});
  std::string ja = chaos::schedule_json(a), jb = chaos::schedule_json(b),
              jc = chaos::schedule_json(c);
  g_assert_true(ja == jb);
  g_assert_true(ja != jc);
}

/* Live faults a pipeline reconnects into (refusals, faults on new
 * connections): they must not act after the horizon, when pipelines recover. */
bool live_fault(const dgemu::Fault &f) {
  return f.type != dgemu::FaultType::BatchError && f.type != dgemu::FaultType::BatchDelay;
}

/* A short horizon still deals the whole family deck once; every fault
 * parses, every live fault's last effect comes within the horizon, the
 * finale ends at it, and seeds between them deal every variant. */
void test_schedule_covers_deck() {
  std::set<std::string> labels;
  for (uint64_t seed = 1; seed <= 50; seed++) {
    const double horizon = 15;
    auto schedule = chaos::make_schedule({seed, horizon, 1.0});
    g_assert_cmpuint(schedule.size(), >=, chaos::family_deck_size() + 1);
    std::set<std::string> families;
    int finales = 0;
    for (const auto &f : schedule) {
      labels.insert(f.label);
      families.insert(f.family);
      std::vector<dgemu::Fault> parsed;
      std::string error;
      if (!dgemu::parse_faults_json("[" + f.json + "]", &parsed, &error))
        g_error("seed %llu: %s: %s", (unsigned long long)seed, f.json.c_str(), error.c_str());
      const dgemu::Fault &p = parsed[0];
      g_assert_cmpstr(dgemu::fault_type_name(p.type), ==, f.family.c_str());
      g_assert_cmpfloat(f.at, >=, 0);
      double reach = std::max(0.0, p.duration) + std::max(0.0, p.effect.after_s);
      g_assert_cmpfloat(f.at + reach, <=, horizon + 1e-9);
      if (live_fault(p) && p.type != dgemu::FaultType::Outage && p.duration < 0)
        g_assert_true(p.target == dgemu::Target::Open); /* acts at once, or never */
      if (f.label == "outage (finale)") {
        finales++;
        g_assert_true(p.api != dgemu::ApiScope::Batch);
        g_assert_cmpfloat(f.at + p.duration, >=, horizon - 0.01);
      }
    }
    g_assert_cmpint(finales, ==, 1);
    for (const char *family : {"refuse", "close", "drop", "stall", "delay", "malformed",
                               "batch_error", "batch_delay", "outage"})
      g_assert_true(families.count(family));
  }
  g_assert_cmpuint(labels.size(), ==, chaos::deck_size() + 1);
}

/* The default gap spaces faults out: about one a second, not one per 0.3 s. */
void test_schedule_density() {
  auto schedule = chaos::make_schedule({5, 175, 1.0});
  g_assert_cmpuint(schedule.size(), >=, 160);
  g_assert_cmpuint(schedule.size(), <=, 180);
}

void test_schedule_file_format() {
  auto schedule = chaos::make_schedule({7, 10, 0.5});
  std::vector<dgemu::Fault> parsed;
  std::string error;
  g_assert_true(dgemu::parse_faults_json(chaos::schedule_json(schedule), &parsed, &error));
  g_assert_cmpuint(parsed.size(), ==, schedule.size());
  g_assert_cmpfloat_with_epsilon(parsed.back().at, schedule.back().at, 0.001);
}

constexpr uint64_t kBlock = 100000000; /* 100 ms */

chaos::Word word(uint32_t block, uint64_t offset_ns = 0) {
  char w[16];
  g_snprintf(w, sizeof w, "b%06u", block);
  return {w, block * kBlock + offset_ns};
}

void test_tally_classes() {
  std::vector<chaos::Word> words;
  for (uint32_t b : {0u, 1u, 2u, 8u, 9u})
    words.push_back(word(b));
  words.push_back(word(4));
  words.push_back(word(4));           /* duplicated */
  words.push_back(word(5, 5000000));  /* 5 ms late: mistimed */
  words.push_back(word(7, 20000000)); /* late, but inside a reported drop */
  words.push_back({"hello", 0});      /* stray */
  words.push_back(word(12));          /* never sent: stray */
  /* 3 lost; 6 missing inside the drop [600 ms, 800 ms) */
  std::vector<chaos::Range> drops = {{6 * kBlock, 2 * kBlock}};
  auto t = chaos::tally_blocks(words, 10, kBlock, drops, 1000000);
  g_assert_cmpuint(t.sent, ==, 10);
  g_assert_cmpuint(t.once, ==, 5);
  g_assert_cmpuint(t.lost, ==, 1);
  g_assert_cmpuint(t.lost_blocks[0], ==, 3);
  g_assert_cmpuint(t.duplicated, ==, 1);
  g_assert_cmpuint(t.mistimed, ==, 1);
  g_assert_cmpuint(t.dropped, ==, 2);
  g_assert_cmpuint(t.stray, ==, 2);
  g_assert_cmpuint(t.once + t.lost + t.duplicated + t.mistimed + t.dropped, ==, t.sent);
  g_assert_false(t.clean());
  std::string described = t.describe();
  g_assert_cmpstr(described.c_str(), ==,
                  "lost 1 [3], duplicated 1 [4], mistimed 1 [5], stray words 2");
}

void test_tally_clean_and_drop_edges() {
  std::vector<chaos::Word> words;
  for (uint32_t b = 0; b < 10; b++)
    if (b != 5)
      words.push_back(word(b, 999999)); /* within the 1 ms tolerance */
  /* A drop that touches block 5 by one nanosecond excuses it; one that ends
   * exactly where block 5 starts does not. */
  auto t = chaos::tally_blocks(words, 10, kBlock, {{5 * kBlock + kBlock - 1, 1}}, 1000000);
  g_assert_true(t.clean());
  g_assert_cmpuint(t.dropped, ==, 1);
  t = chaos::tally_blocks(words, 10, kBlock, {{4 * kBlock, kBlock}}, 1000000);
  g_assert_false(t.clean());
  g_assert_cmpuint(t.lost, ==, 1);
}

void test_captions() {
  auto c = chaos::tally_captions({"b000000", "b000001", "b000003", "b000002", "b000002", "x"}, 5,
                                 kBlock, {{4 * kBlock, kBlock}});
  g_assert_cmpuint(c.words, ==, 6);
  g_assert_cmpuint(c.missing, ==, 0); /* 4 is inside the drop */
  g_assert_cmpuint(c.duplicated, ==, 1);
  g_assert_cmpuint(c.out_of_order, ==, 2);
  g_assert_cmpuint(c.stray, ==, 1);
  c = chaos::tally_captions({"b000000", "b000002"}, 3, kBlock, {});
  g_assert_cmpuint(c.missing, ==, 1);
  g_assert_false(c.clean());
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/chaos/schedule/deterministic", test_schedule_deterministic);
  g_test_add_func("/chaos/schedule/covers-deck", test_schedule_covers_deck);
  g_test_add_func("/chaos/schedule/density", test_schedule_density);
  g_test_add_func("/chaos/schedule/file-format", test_schedule_file_format);
  g_test_add_func("/chaos/tally/classes", test_tally_classes);
  g_test_add_func("/chaos/tally/clean-and-drop-edges", test_tally_clean_and_drop_edges);
  g_test_add_func("/chaos/tally/captions", test_captions);
  return g_test_run();
}
