/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: structure-aware mutations of Deepgram's documented
 * messages, the fixtures in tests/fixtures/deepgram/ (live-*.json go to
 * dgf::parse_live_message, prerecorded-*.json to parse_prerecorded_response).
 *
 * The input is a small program, not JSON: a byte picks the fixture, a byte
 * the number of edits (at most kMaxEdits), then each edit picks a node of the
 * tree and does one thing to it: change its type, drop it, wrap it in an array
 * or an object (once or several levels deep), add a member (unknown, or one of
 * Deepgram's optional ones), set an extreme number or an odd string, append a
 * copy of it to its array, or replace an array by its first element. The tree
 * is written back to JSON and parsed.
 *
 * Invariants: everything deepgram_checks.h checks on any result; and the
 * tolerance itself: when no edit touched the transcript (the root, "type",
 * and for Results or a response the fields a transcript is made of: times,
 * is_final, channel_index, channel.alternatives[0] with its transcript,
 * confidence and words' word/start/end/confidence/punctuated_word/speaker),
 * the message still parses, as the same kind of message, with exactly the
 * unedited transcript. Edits that push the nesting past kMaxJsonDepth are
 * exempt: that guard refuses on purpose.
 */
#include "deepgram_checks.h"
#include "deepgram_json.h"
#include "fuzz_common.h"
#include "fuzz_json.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#ifndef DGF_FIXTURE_DIR
#error "DGF_FIXTURE_DIR must point at tests/fixtures/deepgram"
#endif

namespace {

using namespace dgf;

constexpr int kMaxEdits = 8;

struct Base {
  std::string name;
  std::string text;
  bool live;
};

/* Read once: every live-*.json and prerecorded-*.json fixture, by name. */
const std::vector<Base> &bases() {
  static const std::vector<Base> all = [] {
    std::vector<Base> out;
    GDir *dir = g_dir_open(DGF_FIXTURE_DIR, 0, nullptr);
    FUZZ_CHECK(dir != nullptr);
    while (const char *name = g_dir_read_name(dir)) {
      bool live = g_str_has_prefix(name, "live-");
      if (!live && !g_str_has_prefix(name, "prerecorded-"))
        continue;
      gchar *path = g_build_filename(DGF_FIXTURE_DIR, name, nullptr);
      gchar *text = nullptr;
      gsize len = 0;
      if (g_file_get_contents(path, &text, &len, nullptr))
        out.push_back({name, std::string(text, len), live});
      g_free(text);
      g_free(path);
    }
    g_dir_close(dir);
    std::sort(out.begin(), out.end(), [](const Base &a, const Base &b) { return a.name < b.name; });
    FUZZ_CHECK(!out.empty());
    return out;
  }();
  return all;
}

struct Seg {
  bool is_index;
  std::string key;
  guint index;
};
using Path = std::vector<Seg>;

bool key_is(const Path &p, size_t i, const char *key) {
  return i < p.size() && !p[i].is_index && p[i].key == key;
}
bool key_in(const Path &p, size_t i, std::initializer_list<const char *> keys) {
  for (const char *k : keys)
    if (key_is(p, i, k))
      return true;
  return false;
}
bool index_is(const Path &p, size_t i, guint index) {
  return i < p.size() && p[i].is_index && p[i].index == index;
}

const std::initializer_list<const char *> kWordKeys = {"word",       "start",           "end",
                                                       "confidence", "punctuated_word", "speaker"};

/* channel.alternatives[0] and below (live), or a channel's (pre-recorded),
 * from position `at` (pointing at "alternatives"). */
bool alternative_part(const Path &p, size_t at) {
  if (!key_is(p, at, "alternatives"))
    return false;
  if (p.size() == at + 1)
    return true;
  if (!index_is(p, at + 1, 0)) /* other alternatives are not read */
    return false;
  if (p.size() == at + 2)
    return true;
  if (key_in(p, at + 2, {"transcript", "confidence"}))
    return true;
  if (!key_is(p, at + 2, "words"))
    return false;
  if (p.size() <= at + 4) /* the array, or one word */
    return true;
  return key_in(p, at + 4, kWordKeys);
}

/* Whether an edit at `p` may legitimately make the message unreadable. */
bool touches_transcript(const Path &p, bool live, bool results) {
  if (p.empty() || key_is(p, 0, "type"))
    return true;
  if (live) {
    if (!results)
      return false; /* SpeechStarted, UtteranceEnd, Metadata: nothing essential */
    if (key_in(p, 0, {"start", "duration", "is_final", "channel_index"}))
      return true;
    if (!key_is(p, 0, "channel"))
      return false;
    return p.size() == 1 || alternative_part(p, 1);
  }
  if (!key_is(p, 0, "results"))
    return false;
  if (p.size() == 1)
    return true;
  if (!key_is(p, 1, "channels"))
    return false;
  if (p.size() <= 3) /* the array, or one channel */
    return true;
  return alternative_part(p, 3);
}

struct Node {
  JsonNode *node;
  JsonNode *parent; /* nullptr for the root */
  Path path;
};

void collect(JsonNode *n, JsonNode *parent, Path &path, std::vector<Node> &out) {
  out.push_back({n, parent, path});
  if (JSON_NODE_HOLDS_OBJECT(n)) {
    GList *keys = json_object_get_members(json_node_get_object(n));
    for (GList *l = keys; l; l = l->next) {
      const char *key = static_cast<const char *>(l->data);
      path.push_back({false, key, 0});
      collect(json_object_get_member(json_node_get_object(n), key), n, path, out);
      path.pop_back();
    }
    g_list_free(keys);
  } else if (JSON_NODE_HOLDS_ARRAY(n)) {
    JsonArray *a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); i++) {
      path.push_back({true, std::string(), i});
      collect(json_array_get_element(a, i), n, path, out);
      path.pop_back();
    }
  }
}

JsonNode *deep_copy(JsonNode *n) {
  /* json_node_copy shares objects and arrays: a later edit of the copy
   * would also edit the original, at a path the classifier never saw. */
  gchar *text = json_to_string(n, FALSE);
  JsonNode *copy = json_from_string(text, nullptr);
  g_free(text);
  return copy ? copy : json_node_new(JSON_NODE_NULL);
}

/* json-glib 1.6 writes a double without a '.' in its shortest form with
 * ".0" appended ("1e-300.0", not JSON): every exponent here has a '.'. */
const double kDoubles[] = {0.0,
                           -0.0,
                           -1.0,
                           0.5,
                           1.5e-300,
                           4.9e-324,
                           1.7976931348623157e308,
                           -1.7976931348623157e308,
                           1.5e20,
                           9007199254740993.0,
                           kMaxSeconds,
                           kMaxSeconds + 1,
                           3.25,
                           2.5};
const gint64 kInts[] = {0,          -1,         1,       2,
                        255,        256,        INT_MAX, static_cast<gint64>(INT_MAX) + 1,
                        G_MAXINT64, G_MININT64, 1000000, 1000001};
const char *const kStrings[] = {"",
                                " ",
                                "0",
                                "1.5",
                                "true",
                                "null",
                                "[0]",
                                "NaN",
                                "Infinity",
                                "\xc3\xa9",
                                "\xe6\x97\xa5\xe6\x9c\xac",
                                "\xf0\x9f\x98\x80",
                                "a\"b\\c",
                                "/",
                                "'",
                                "\n",
                                "Results",
                                "Error"};
const char *const kKeys[] = {"x_unknown",
                             "language",
                             "speaker_confidence",
                             "detected_language",
                             "languages",
                             "from_finalize",
                             "speech_final",
                             "metadata",
                             "entities",
                             "utterances",
                             "paragraphs",
                             "summary",
                             "topics",
                             "extra",
                             "request_id",
                             "model_info",
                             "search",
                             "language_confidence"};

/* A string from the input: valid UTF-8, no NUL, bounded. */
std::string odd_string(fuzz::FuzzInput &in) {
  uint8_t pick = in.u8();
  if (pick < 200)
    return kStrings[pick % G_N_ELEMENTS(kStrings)];
  std::string raw = in.field('\x1f').substr(0, 64);
  gchar *valid = g_utf8_make_valid(raw.data(), static_cast<gssize>(raw.size()));
  std::string out(valid);
  g_free(valid);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

/* New nodes only: json-glib 1.6 frees an array or object twice when a node
 * that holds one is initialised again, so edits never re-initialise a node
 * of the tree; they build a new one and put it in the old one's place. */
JsonNode *new_value_node() {
  return json_node_new(JSON_NODE_NULL);
}

JsonNode *number_node(fuzz::FuzzInput &in) {
  JsonNode *n = new_value_node();
  uint8_t pick = in.u8();
  if (pick & 1)
    json_node_init_int(n, kInts[(pick >> 1) % G_N_ELEMENTS(kInts)]);
  else
    json_node_init_double(n, kDoubles[(pick >> 1) % G_N_ELEMENTS(kDoubles)]);
  return n;
}

JsonNode *string_node(fuzz::FuzzInput &in) {
  JsonNode *n = new_value_node();
  json_node_init_string(n, odd_string(in).c_str());
  return n;
}

/* A value of some type: null, a boolean, a number, a string, {}, [],
 * Deepgram's channel shapes [0] and [0, 1], or {"x": 1}. */
JsonNode *value_node(fuzz::FuzzInput &in) {
  switch (in.u8() % 10) {
  case 0:
    return new_value_node();
  case 1: {
    JsonNode *n = new_value_node();
    json_node_init_boolean(n, in.flag());
    return n;
  }
  case 2:
  case 3:
    return number_node(in);
  case 4:
  case 5:
    return string_node(in);
  case 6: {
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, json_object_new());
    return n;
  }
  case 7: {
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, json_array_new());
    return n;
  }
  case 8: {
    JsonArray *a = json_array_new();
    json_array_add_int_element(a, 0);
    if (in.flag())
      json_array_add_int_element(a, 1);
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
  }
  default: {
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "x", 1);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
  }
  }
}

/* [inner] or {"value": inner}; takes inner. */
JsonNode *wrapped(JsonNode *inner, bool in_array) {
  if (in_array) {
    JsonArray *a = json_array_new();
    json_array_add_element(a, inner);
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
  }
  JsonObject *o = json_object_new();
  json_object_set_member(o, "value", inner);
  JsonNode *n = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(n, o);
  return n;
}

/* Puts `replacement` (taken) where target.node is. */
void replace(const Node &target, JsonNode *replacement, JsonNode **root) {
  if (!target.parent) {
    json_node_unref(*root);
    *root = replacement;
  } else if (JSON_NODE_HOLDS_OBJECT(target.parent)) {
    json_object_set_member(json_node_get_object(target.parent), target.path.back().key.c_str(),
                           replacement);
  } else {
    /* JsonArray cannot replace an element: rebuild it around the new one. */
    JsonArray *old = json_node_get_array(target.parent);
    JsonArray *a = json_array_sized_new(json_array_get_length(old));
    for (guint i = 0; i < json_array_get_length(old); i++)
      json_array_add_element(a, i == target.path.back().index
                                    ? replacement
                                    : json_node_copy(json_array_get_element(old, i)));
    json_node_set_array(target.parent, a);
    json_array_unref(a);
  }
}

/* One edit; returns the paths it changed (empty when it did nothing). */
std::vector<Path> edit(const Node &target, fuzz::FuzzInput &in, JsonNode **root) {
  JsonNode *n = target.node;
  switch (in.u8() % 10) {
  case 0: /* another type */
    replace(target, value_node(in), root);
    return {target.path};
  case 1: /* drop */
    if (!target.parent)
      return {};
    if (JSON_NODE_HOLDS_OBJECT(target.parent)) {
      json_object_remove_member(json_node_get_object(target.parent),
                                target.path.back().key.c_str());
      return {target.path};
    } else {
      JsonArray *a = json_node_get_array(target.parent);
      json_array_remove_element(a, target.path.back().index);
      /* Later elements move down: each is now at a changed path. */
      std::vector<Path> changed;
      Path p = target.path;
      for (guint i = p.back().index; i <= json_array_get_length(a); i++) {
        p.back().index = i;
        changed.push_back(p);
      }
      return changed;
    }
  case 2:
  case 3:
    replace(target, wrapped(json_node_copy(n), in.flag()), root);
    return {target.path};
  case 4: { /* add or replace a member */
    if (!JSON_NODE_HOLDS_OBJECT(n))
      return {};
    const char *key = kKeys[in.u8() % G_N_ELEMENTS(kKeys)];
    json_object_set_member(json_node_get_object(n), key, value_node(in));
    Path p = target.path;
    p.push_back({false, key, 0});
    return {p};
  }
  case 5:
    replace(target, number_node(in), root);
    return {target.path};
  case 6:
    replace(target, string_node(in), root);
    return {target.path};
  case 7: { /* several levels at once */
    int levels = 2 + in.u8() % 6;
    JsonNode *cur = json_node_copy(n);
    for (int i = 0; i < levels; i++)
      cur = wrapped(cur, i % 2 == 0);
    replace(target, cur, root);
    return {target.path};
  }
  case 8: { /* a copy appended to the array it is in */
    if (!target.parent || !JSON_NODE_HOLDS_ARRAY(target.parent))
      return {};
    JsonArray *a = json_node_get_array(target.parent);
    Path p = target.path;
    p.back().index = json_array_get_length(a);
    json_array_add_element(a, deep_copy(n));
    return {p};
  }
  default: /* [x, ...] -> x */
    if (!JSON_NODE_HOLDS_ARRAY(n) || json_array_get_length(json_node_get_array(n)) == 0)
      return {};
    replace(target, deep_copy(json_array_get_element(json_node_get_array(n), 0)), root);
    return {target.path};
  }
}

/* The parts of a Transcript that an edit outside it must not change. */
void check_same_transcript(const Transcript &a, const Transcript &b, bool live) {
  FUZZ_CHECK(a.text == b.text);
  FUZZ_CHECK(a.confidence == b.confidence);
  FUZZ_CHECK(a.is_final == b.is_final);
  FUZZ_CHECK(a.channel == b.channel && a.channel_count == b.channel_count);
  if (live) /* a response's duration is metadata.duration's */
    FUZZ_CHECK(a.start == b.start && a.duration == b.duration);
  FUZZ_CHECK(a.words.size() == b.words.size());
  for (size_t i = 0; i < a.words.size(); i++) {
    const Word &x = a.words[i], &y = b.words[i];
    FUZZ_CHECK(x.word == y.word && x.punctuated_word == y.punctuated_word);
    FUZZ_CHECK(x.start == y.start && x.end == y.end);
    FUZZ_CHECK(x.confidence == y.confidence && x.speaker == y.speaker);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  fuzz::FuzzInput in(data, size);
  const Base &base = bases()[in.u8() % bases().size()];
  int edits = 1 + in.u8() % kMaxEdits;

  JsonParser *parser = json_parser_new(); /* mutable nodes */
  FUZZ_CHECK(json_parser_load_from_data(parser, base.text.data(),
                                        static_cast<gssize>(base.text.size()), nullptr));
  JsonNode *root = json_node_copy(json_parser_get_root(parser));
  g_object_unref(parser);

  /* The unedited message, as the same writer prints it. */
  gchar *original = json_to_string(root, FALSE);
  auto live_before = base.live ? parse_live_message(original) : ParseError{"not live"};
  auto response_before = base.live ? ParseError{"live"} : parse_prerecorded_response(original);
  g_free(original);
  FUZZ_CHECK(base.live ? live_before.ok() : response_before.ok());
  bool results = base.live && std::holds_alternative<Transcript>(*live_before);

  bool essential = false;
  for (int i = 0; i < edits && in.remaining() > 0; i++) {
    std::vector<Node> nodes;
    Path path;
    collect(root, nullptr, path, nodes);
    const Node &target = nodes[in.u32() % nodes.size()];
    for (const Path &p : edit(target, in, &root))
      essential = essential || touches_transcript(p, base.live, results);
  }

  gchar *text = json_to_string(root, FALSE);
  std::string edited(text);
  g_free(text);
  json_node_unref(root);
  /* Exempt: nesting the guard refuses on purpose, and text json-glib's own
   * writer got wrong (not JSON at all). */
  bool guarded = json_nesting_depth(edited) > kMaxJsonDepth || fuzz::json_glib_depth(edited) < 0;

  if (base.live) {
    auto r = parse_live_message(edited);
    if (r.ok())
      fuzz::check_live(*r);
    if (!essential && !guarded) {
      if (!r.ok())
        std::fprintf(stderr, "%s, edited outside the transcript, refused: %s\n%s\n",
                     base.name.c_str(), r.error().message.c_str(), edited.c_str());
      FUZZ_CHECK(r.ok());
      FUZZ_CHECK(r->index() == live_before->index());
      if (results)
        check_same_transcript(std::get<Transcript>(*r), std::get<Transcript>(*live_before), true);
    }
  } else {
    auto r = parse_prerecorded_response(edited);
    if (r.ok())
      fuzz::check_response(*r);
    if (!essential && !guarded) {
      if (!r.ok())
        std::fprintf(stderr, "%s, edited outside the transcript, refused: %s\n%s\n",
                     base.name.c_str(), r.error().message.c_str(), edited.c_str());
      FUZZ_CHECK(r.ok());
      FUZZ_CHECK(r->channels.size() == response_before->channels.size());
      for (size_t i = 0; i < r->channels.size(); i++)
        check_same_transcript(r->channels[i], response_before->channels[i], false);
    }
  }
  return 0;
}
