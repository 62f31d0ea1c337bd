/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <set>
#include <string>

#include "session_id.h"

using dgf::SessionIdGenerator;

static void test_format_and_version() {
  std::string id = dgf::new_session_id();
  g_assert_cmpuint(id.size(), ==, 36);
  g_assert_true(dgf::is_session_id(id));
  g_assert_cmpint(id[14], ==, '7');
}

static void test_embeds_time() {
  SessionIdGenerator gen([] { return uint64_t{0x0123456789ab}; }, [] { return uint64_t{0}; });
  std::string id = gen.next();
  std::string prefix = id.substr(0, 13);
  g_assert_cmpstr(prefix.c_str(), ==, "01234567-89ab");
  g_assert_cmpuint(dgf::session_id_unix_ms(id), ==, 0x0123456789abull);
}

static void test_monotonic_within_one_millisecond() {
  /* 5000 ids in one frozen millisecond: the counter overflows 12 bits and
   * must roll into the next millisecond rather than wrap. */
  uint64_t random = 0xffffffffffffffffull;
  SessionIdGenerator gen([] { return uint64_t{1000}; }, [&] { return random--; });
  std::string previous;
  for (int i = 0; i < 5000; i++) {
    std::string id = gen.next();
    g_assert_true(dgf::is_session_id(id));
    if (!previous.empty())
      g_assert_cmpstr(previous.c_str(), <, id.c_str());
    previous = id;
  }
}

static void test_clock_step_back_stays_monotonic() {
  uint64_t now = 5000;
  SessionIdGenerator gen([&] { return now; }, [] { return uint64_t{42}; });
  std::string a = gen.next();
  now = 4000; /* NTP stepped the clock back */
  std::string b = gen.next();
  g_assert_cmpstr(a.c_str(), <, b.c_str());
}

static void test_unique_across_default_generator() {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; i++)
    g_assert_true(seen.insert(dgf::new_session_id()).second);
}

static void test_rejects_non_v7() {
  g_assert_false(dgf::is_session_id(""));
  g_assert_false(dgf::is_session_id("not-a-uuid"));
  /* a v4 uuid */
  g_assert_false(dgf::is_session_id("550e8400-e29b-41d4-a716-446655440000"));
  /* wrong variant */
  g_assert_false(dgf::is_session_id("01890a5d-ac96-774b-0cce-b302099a8057"));
  /* uppercase is not canonical */
  g_assert_false(dgf::is_session_id("01890A5D-AC96-774B-BCCE-B302099A8057"));
  g_assert_true(dgf::is_session_id("01890a5d-ac96-774b-bcce-b302099a8057"));
  g_assert_cmpuint(dgf::session_id_unix_ms("garbage"), ==, 0);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/session-id/format", test_format_and_version);
  g_test_add_func("/session-id/embeds-time", test_embeds_time);
  g_test_add_func("/session-id/monotonic-same-ms", test_monotonic_within_one_millisecond);
  g_test_add_func("/session-id/clock-step-back", test_clock_step_back_stays_monotonic);
  g_test_add_func("/session-id/unique", test_unique_across_default_generator);
  g_test_add_func("/session-id/rejects-non-v7", test_rejects_non_v7);
  return g_test_run();
}
