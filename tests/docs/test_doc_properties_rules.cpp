/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The docs-vs-code rules on hand-made tables and properties: each rule must catch its mistake,
 * so the docs test cannot pass by parsing nothing. */
#include <glib.h>

#include <string>
#include <vector>

#include "doc_properties.h"

using dgdocs::CodeProperty;
using dgdocs::Kind;

namespace {

CodeProperty prop(const char *name, Kind kind, const char *def, const char *blurb,
                  bool readable = true, bool writable = true) {
  CodeProperty c;
  c.name = name;
  c.kind = kind;
  c.type_name = "T";
  c.default_text = def;
  c.default_is_null = (kind == Kind::Object || kind == Kind::Boxed);
  c.nick = name;
  c.blurb = blurb;
  c.readable = readable;
  c.writable = writable;
  return c;
}

/* The three table shapes of docs/: "type, default"; type | default; type | unit | default. */
const char *kDoc = R"(# elem

| property | type, default | meaning |
|---|---|---|
| `url` | string, `wss://x/v1/listen` | endpoint |
| `api-key` | string, write-only | key |
| `language` | string, empty (the service's default) | tag |
| `punctuate` | bool, true | |
| `endpointing` | int ms, -1 | |
| `backoff-min` / `-max` | uint ms, 500 / 30000 | full jitter |
| `stats` | GstStructure, read-only, notify | see below |

Not a property table:

| field | type | meaning |
|---|---|---|
| `requests` | guint64 | |

| property | type | unit | default | meaning |
|---|---|---|---|---|
| `min-chunk` | guint64 | ns | 5 s | shortest chunk |
| `pause-threshold` | double | dBFS | -40 | quiet level |
| `clock` | GstClock | – | NULL | timers |

| property | type | default | when | meaning |
|---|---|---|---|---|
| `mode` | enum | `auto` | any time | override |
| `state` | enum, read-only | `streaming` | | notifies |
)";

std::vector<CodeProperty> matching_code() {
  return {
      prop("url", Kind::String, "wss://x/v1/listen", "Endpoint of the live API"),
      prop("api-key", Kind::String, "", "The API key, never logged", false, true),
      prop("language", Kind::String, "", "BCP-47 language tag"),
      prop("punctuate", Kind::Bool, "true", "Add punctuation to words"),
      prop("endpointing", Kind::Int, "-1", "Silence in ms that ends an utterance"),
      prop("backoff-min", Kind::UInt, "500", "First delay ceiling in ms"),
      prop("backoff-max", Kind::UInt, "30000", "Cap of the delay, in milliseconds"),
      prop("stats", Kind::Boxed, "", "Counters of the connection", true, false),
      prop("min-chunk", Kind::UInt64, "5000000000", "Shortest chunk, in nanoseconds"),
      prop("pause-threshold", Kind::Double, "-40", "Quiet level in dBFS"),
      prop("clock", Kind::Object, "", "Clock for the timers, or NULL"),
      prop("mode", Kind::Enum, "auto", "Routing override while playing"),
      prop("state", Kind::Enum, "streaming", "Routing state, notified", true, false),
  };
}

std::vector<std::string> problems_with(std::vector<CodeProperty> code,
                                       const std::string &doc = kDoc) {
  auto problems =
      dgdocs::compare_properties("elem", dgdocs::parse_property_tables(doc), std::move(code));
  for (const auto &p : problems)
    g_test_message("%s", p.c_str());
  return problems;
}

bool mentions(const std::vector<std::string> &problems, const char *what) {
  for (const auto &p : problems)
    if (p.find(what) != std::string::npos)
      return true;
  return false;
}

void test_parses_every_table_shape() {
  auto docs = dgdocs::parse_property_tables(kDoc);
  g_assert_cmpuint(docs.size(), ==, 13);
  g_assert_cmpstr(docs[5].name.c_str(), ==, "backoff-min");
  g_assert_cmpstr(docs[5].default_text.c_str(), ==, "500");
  g_assert_cmpstr(docs[6].name.c_str(), ==, "backoff-max");
  g_assert_cmpstr(docs[6].default_text.c_str(), ==, "30000");
  g_assert_cmpstr(docs[6].unit.c_str(), ==, "ms");
  g_assert_cmpstr(docs[8].name.c_str(), ==, "min-chunk");
  g_assert_cmpstr(docs[8].unit.c_str(), ==, "ns");
  g_assert_true(docs[1].write_only);
  g_assert_true(docs[12].read_only);
  g_assert_cmpstr(docs[12].default_text.c_str(), ==, "streaming");
}

void test_matching_docs_pass() {
  g_assert_cmpuint(problems_with(matching_code()).size(), ==, 0);
}

void test_undocumented_property_fails() {
  auto code = matching_code();
  code.push_back(prop("new-thing", Kind::Bool, "false", "Something added later"));
  g_assert_true(mentions(problems_with(code), "`new-thing` is not documented"));
}

void test_documented_but_missing_fails() {
  auto code = matching_code();
  code.erase(code.begin() + 6); /* backoff-max, from the two-property row */
  g_assert_true(mentions(problems_with(code), "documents `backoff-max`"));
}

void test_wrong_defaults_fail() {
  auto code = matching_code();
  code[0].default_text = "wss://y/v1/listen";
  code[3].default_text = "false";
  code[6].default_text = "60000";
  code[8].default_text = "4000000000"; /* 5 s documented */
  code[11].default_text = "force-batch";
  auto problems = problems_with(code);
  for (const char *name : {"`url`", "`punctuate`", "`backoff-max`", "`min-chunk`", "`mode`"}) {
    bool found = false;
    for (const auto &p : problems)
      found =
          found || (p.find(name) != std::string::npos && p.find("default") != std::string::npos);
    g_assert_true(found);
  }
}

void test_wrong_type_and_access_fail() {
  auto code = matching_code();
  code[4].kind = Kind::UInt; /* documented int */
  code[12].writable = true;  /* documented read-only */
  code[1].readable = true;   /* stays documented write-only: fine */
  code[9].readable = false;  /* write-only, not said */
  auto problems = problems_with(code);
  g_assert_true(mentions(problems, "`endpointing` type"));
  g_assert_true(mentions(problems, "`state` is documented read-only"));
  g_assert_true(mentions(problems, "`pause-threshold` is write-only"));
}

void test_copy_paste_blurbs_fail() {
  auto code = matching_code();
  code[6].blurb = code[5].blurb;
  g_assert_true(mentions(problems_with(code), "`backoff-max` blurb is the same as `backoff-min`"));
}

void test_empty_blurb_and_nick_blurb_fail() {
  auto code = matching_code();
  code[3].blurb = "";
  code[2].blurb = code[2].nick = "Language tag";
  auto problems = problems_with(code);
  g_assert_true(mentions(problems, "`punctuate` blurb is empty"));
  g_assert_true(mentions(problems, "`language` blurb only repeats the nick"));
}

void test_time_blurbs_need_their_unit() {
  auto code = matching_code();
  code[5].blurb = "First delay ceiling; doubles per attempt"; /* docs: ms */
  code[8].blurb = "Shortest chunk, in milliseconds";          /* docs: ns */
  auto problems = problems_with(code);
  g_assert_true(mentions(problems, "`backoff-min` blurb does not state its unit (ms)"));
  g_assert_true(mentions(problems, "`min-chunk` blurb does not state its unit (ns)"));
}

void test_duplicate_rows_fail() {
  std::string doc = std::string(kDoc) + "\n| property | type | default | meaning |\n|---|---|---|"
                                        "---|\n| `url` | string | `wss://x/v1/listen` | again |\n";
  g_assert_true(mentions(problems_with(matching_code(), doc), "`url` documented twice"));
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/doc-rules/parses-every-table-shape", test_parses_every_table_shape);
  g_test_add_func("/doc-rules/matching-docs-pass", test_matching_docs_pass);
  g_test_add_func("/doc-rules/undocumented-property-fails", test_undocumented_property_fails);
  g_test_add_func("/doc-rules/documented-but-missing-fails", test_documented_but_missing_fails);
  g_test_add_func("/doc-rules/wrong-defaults-fail", test_wrong_defaults_fail);
  g_test_add_func("/doc-rules/wrong-type-and-access-fail", test_wrong_type_and_access_fail);
  g_test_add_func("/doc-rules/copy-paste-blurbs-fail", test_copy_paste_blurbs_fail);
  g_test_add_func("/doc-rules/empty-blurb-and-nick-blurb-fail",
                  test_empty_blurb_and_nick_blurb_fail);
  g_test_add_func("/doc-rules/time-blurbs-need-their-unit", test_time_blurbs_need_their_unit);
  g_test_add_func("/doc-rules/duplicate-rows-fail", test_duplicate_rows_fail);
  return g_test_run();
}
