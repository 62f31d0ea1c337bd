/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "deepgram_json.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <tuple>
#include <utility>

namespace dgf {
namespace {

constexpr size_t kMaxPlainErrorBytes = 1024;
constexpr int kMaxSpeaker = 1000000;

/* Thrown inside this file only; every public entry point catches it. */
struct Failure {
  std::string message;
};

[[noreturn]] void fail(const std::string &path, const char *what) {
  throw Failure{path + ": " + what};
}

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};

/* A JSON object plus where it sits in the document, for error messages. */
struct Obj {
  JsonObject *obj;
  std::string path;

  std::string at(const char *key) const { return path.empty() ? key : path + "." + key; }
  /* nullptr when absent; JSON null counts as absent for optional fields. */
  JsonNode *get(const char *key) const {
    JsonNode *n = json_object_get_member(obj, key);
    return (n && JSON_NODE_HOLDS_NULL(n)) ? nullptr : n;
  }
};

std::string index_path(const std::string &path, guint i) {
  return path + "[" + std::to_string(i) + "]";
}

bool holds_value_of(JsonNode *n, GType type) {
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

bool holds_number(JsonNode *n) {
  return holds_value_of(n, G_TYPE_INT64) || holds_value_of(n, G_TYPE_DOUBLE);
}

double number_of(JsonNode *n, const std::string &path) {
  if (!holds_number(n))
    fail(path, "expected a number");
  double v = holds_value_of(n, G_TYPE_INT64) ? static_cast<double>(json_node_get_int(n))
                                             : json_node_get_double(n);
  if (!std::isfinite(v))
    fail(path, "number is not finite");
  return v;
}

double time_of(JsonNode *n, const std::string &path) {
  double v = number_of(n, path);
  if (v < 0.0)
    fail(path, "time is negative");
  if (v > kMaxSeconds)
    fail(path, "time is implausibly large");
  return v;
}

int int_of(JsonNode *n, const std::string &path, int min, int max) {
  double v = number_of(n, path);
  if (v != std::floor(v))
    fail(path, "expected an integer");
  if (v < min || v > max)
    fail(path, "integer out of range");
  return static_cast<int>(v);
}

JsonNode *required(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  if (!n)
    fail(o.at(key), "missing");
  return n;
}

double req_time(const Obj &o, const char *key) {
  return time_of(required(o, key), o.at(key));
}

double opt_number(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  return n ? number_of(n, o.at(key)) : 0.0;
}

int opt_int(const Obj &o, const char *key, int min, int max, int fallback) {
  JsonNode *n = o.get(key);
  return n ? int_of(n, o.at(key), min, max) : fallback;
}

std::string string_of(JsonNode *n, const std::string &path) {
  if (!holds_value_of(n, G_TYPE_STRING))
    fail(path, "expected a string");
  /* The input is UTF-8, but json-glib decodes octal escapes ("\351") to
   * raw bytes; transcripts leave as text/x-raw,format=utf8. */
  const char *s = json_node_get_string(n);
  if (!g_utf8_validate(s, -1, nullptr))
    fail(path, "string is not valid UTF-8");
  return s;
}

/* A string for a lenient error shape: invalid UTF-8 repaired, not refused. */
std::string valid_string(const char *s) {
  if (g_utf8_validate(s, -1, nullptr))
    return s;
  gchar *valid = g_utf8_make_valid(s, -1);
  std::string out(valid);
  g_free(valid);
  return out;
}

std::string req_string(const Obj &o, const char *key) {
  return string_of(required(o, key), o.at(key));
}

std::string opt_string(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  return n ? string_of(n, o.at(key)) : std::string();
}

bool opt_bool(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  if (!n)
    return false;
  if (!holds_value_of(n, G_TYPE_BOOLEAN))
    fail(o.at(key), "expected true or false");
  return json_node_get_boolean(n);
}

Obj object_of(JsonNode *n, std::string path) {
  if (!JSON_NODE_HOLDS_OBJECT(n))
    fail(path, "expected an object");
  return Obj{json_node_get_object(n), std::move(path)};
}

Obj req_object(const Obj &o, const char *key) {
  return object_of(required(o, key), o.at(key));
}

JsonArray *array_of(JsonNode *n, const std::string &path) {
  if (!JSON_NODE_HOLDS_ARRAY(n))
    fail(path, "expected an array");
  return json_node_get_array(n);
}

JsonArray *req_array(const Obj &o, const char *key) {
  return array_of(required(o, key), o.at(key));
}

/* Missing means empty; present but not an array is an error. */
JsonArray *opt_array(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  return n ? array_of(n, o.at(key)) : nullptr;
}

guint length_of(JsonArray *a) {
  return a ? json_array_get_length(a) : 0;
}

/* Notes of a tolerant read (deepgram_json.h): deduplicated and capped. */
class Notes {
public:
  void add(std::string note) {
    if (out_.size() >= kMaxToleratedNotes)
      return;
    for (const std::string &n : out_)
      if (n == note)
        return;
    out_.push_back(std::move(note));
  }
  /* "CONTEXT: PATH unreadable (WHY), CONSEQUENCE", indices shown as []. */
  void unreadable(const char *context, const std::string &path, const Failure &f,
                  const char *consequence) {
    std::string why = f.message;
    if (why.rfind(path + ": ", 0) == 0)
      why.erase(0, path.size() + 2);
    add(std::string(context) + ": " + without_indices(path) + " unreadable (" +
        without_indices(why) + "), " + consequence);
  }
  void append(const Notes &other) {
    for (const std::string &n : other.out_)
      add(n);
  }
  Tolerated take() { return std::move(out_); }

private:
  /* "a[3].b[12]" -> "a[].b[]": one note per kind of oddity, not per word. */
  static std::string without_indices(const std::string &s) {
    std::string out;
    out.reserve(s.size());
    bool in_index = false;
    for (char c : s) {
      if (c == '[')
        in_index = true;
      else if (c == ']')
        in_index = false;
      else if (in_index && c >= '0' && c <= '9')
        continue;
      out += c;
    }
    return out;
  }

  Tolerated out_;
};

/* Runs `read`; a Failure in it becomes a note instead of an error. */
template <typename Read>
bool tolerate(Notes &notes, const char *context, const std::string &path, const char *consequence,
              Read &&read) {
  try {
    read();
    return true;
  } catch (const Failure &f) {
    notes.unreadable(context, path, f, consequence);
    return false;
  }
}

/* An optional string nobody depends on: wrong type or bad UTF-8 is noted. */
std::string lenient_string(const Obj &o, const char *key, Notes &notes, const char *context) {
  std::string out;
  if (JsonNode *n = o.get(key))
    tolerate(notes, context, o.at(key), "ignored", [&] { out = string_of(n, o.at(key)); });
  return out;
}

/* Deepgram's [index, count] channel pair, strictly (Results.channel_index). */
std::pair<int, int> channel_pair_of(JsonNode *n, const std::string &path) {
  JsonArray *a = array_of(n, path);
  if (json_array_get_length(a) != 2)
    fail(path, "expected [channel, channel count]");
  int count = int_of(json_array_get_element(a, 1), index_path(path, 1), 1, kMaxChannels);
  int index = int_of(json_array_get_element(a, 0), index_path(path, 0), 0, kMaxChannels);
  if (index >= count)
    fail(path, "channel index is not below the channel count");
  return {index, count};
}

std::pair<int, int> channel_pair(const Obj &o, const char *key) {
  return channel_pair_of(required(o, key), o.at(key));
}

/* The "channel" of a message that carries no transcript. Deepgram documents
 * [index, count]; its SDK tests send [0]; a bare index is as clear. Anything
 * else is channel 0 of 1, noted: such a message must not cost a reconnect. */
std::pair<int, int> lenient_channel(const Obj &o, const char *key, Notes &notes,
                                    const char *context) {
  std::string path = o.at(key);
  JsonNode *n = o.get(key);
  std::pair<int, int> out{0, 1};
  if (!n) {
    notes.add(std::string(context) + ": " + key + " missing, taken as 0");
    return out;
  }
  tolerate(notes, context, path, "taken as 0", [&] {
    JsonNode *single = nullptr;
    if (JSON_NODE_HOLDS_ARRAY(n) && json_array_get_length(json_node_get_array(n)) == 1)
      single = json_array_get_element(json_node_get_array(n), 0);
    else if (!JSON_NODE_HOLDS_ARRAY(n) && holds_number(n))
      single = n;
    if (!single) {
      out = channel_pair_of(n, path);
      return;
    }
    int index = int_of(single, path, 0, kMaxChannels - 1);
    out = {index, index + 1};
    notes.add(std::string(context) + ": " + key +
              (single == n ? " is a number, not an array" : " is an array of 1"));
  });
  return out;
}

/* A time that only places an event: missing or unreadable is 0, noted. */
double lenient_time(const Obj &o, const char *key, Notes &notes, const char *context) {
  JsonNode *n = o.get(key);
  double out = 0.0;
  if (!n)
    notes.add(std::string(context) + ": " + key + " missing, taken as 0");
  else
    tolerate(notes, context, o.at(key), "taken as 0", [&] { out = time_of(n, o.at(key)); });
  return out;
}

/* An optional flag whose default (false) is safe. */
bool lenient_bool(const Obj &o, const char *key, Notes &notes, const char *context) {
  bool out = false;
  tolerate(notes, context, o.at(key), "taken as false", [&] { out = opt_bool(o, key); });
  return out;
}

Word parse_word(const Obj &o, Notes &notes, const char *context) {
  Word w;
  w.word = req_string(o, "word");
  w.start = req_time(o, "start");
  w.end = req_time(o, "end");
  if (w.end < w.start)
    fail(o.at("end"), "word ends before it starts");
  w.confidence = opt_number(o, "confidence");
  w.punctuated_word = opt_string(o, "punctuated_word");
  if (w.punctuated_word.empty())
    w.punctuated_word = w.word;
  w.speaker = opt_int(o, "speaker", 0, kMaxSpeaker, -1);
  /* Caption extras: a word is still readable without them. */
  w.language = lenient_string(o, "language", notes, context);
  if (JsonNode *n = o.get("speaker_confidence"))
    tolerate(notes, context, o.at("speaker_confidence"), "ignored", [&] {
      double v = number_of(n, o.at("speaker_confidence"));
      if (v < 0.0 || v > 1.0)
        fail(o.at("speaker_confidence"), "not between 0 and 1");
      w.speaker_confidence = v;
    });
  return w;
}

std::vector<Word> parse_words(JsonArray *words, const std::string &path, Notes &notes,
                              const char *context) {
  std::vector<Word> out;
  guint n = length_of(words);
  out.reserve(n);
  for (guint i = 0; i < n; i++)
    out.push_back(parse_word(object_of(json_array_get_element(words, i), index_path(path, i)),
                             notes, context));
  return out;
}

/* The first of an alternative's "languages" (language=multi): Deepgram sorts
 * them by how many words each has. */
std::string first_language(const Obj &alt, Notes &notes, const char *context) {
  std::string out;
  if (JsonNode *n = alt.get("languages"))
    tolerate(notes, context, alt.at("languages"), "ignored", [&] {
      JsonArray *a = array_of(n, alt.at("languages"));
      if (json_array_get_length(a) > 0)
        out = string_of(json_array_get_element(a, 0), index_path(alt.at("languages"), 0));
    });
  return out;
}

/* The first alternative of a channel: text, confidence, words, language. */
void parse_first_alternative(const Obj &channel, bool required_alternatives, Transcript &t,
                             Notes &notes, const char *context) {
  t.language = lenient_string(channel, "detected_language", notes, context);
  JsonArray *alts = required_alternatives ? req_array(channel, "alternatives")
                                          : opt_array(channel, "alternatives");
  if (length_of(alts) == 0)
    return; /* no alternative: an empty transcript */
  Obj alt = object_of(json_array_get_element(alts, 0), index_path(channel.at("alternatives"), 0));
  t.text = required_alternatives ? req_string(alt, "transcript") : opt_string(alt, "transcript");
  t.confidence = opt_number(alt, "confidence");
  t.words = parse_words(opt_array(alt, "words"), alt.at("words"), notes, context);
  if (t.language.empty())
    t.language = first_language(alt, notes, context);
}

Transcript parse_results(const Obj &root) {
  const char *kContext = "Results";
  Notes notes;
  Transcript t;
  t.start = req_time(root, "start");
  t.duration = req_time(root, "duration");
  std::tie(t.channel, t.channel_count) = channel_pair(root, "channel_index");
  /* Absent flags mean "not final": an interim result never acknowledges
   * audio, so is_final must be read; the other two only refine it. */
  t.is_final = opt_bool(root, "is_final");
  t.speech_final = lenient_bool(root, "speech_final", notes, kContext);
  t.from_finalize = lenient_bool(root, "from_finalize", notes, kContext);
  parse_first_alternative(req_object(root, "channel"), true, t, notes, kContext);
  if (JsonNode *meta = root.get("metadata")) {
    if (JSON_NODE_HOLDS_OBJECT(meta))
      t.request_id = lenient_string(Obj{json_node_get_object(meta), root.at("metadata")},
                                    "request_id", notes, kContext);
    else
      notes.add("Results: metadata is not an object, ignored");
  }
  t.tolerated = notes.take();
  return t;
}

/* `duration_read` (pre-recorded) tells whether metadata.duration was usable;
 * the live Metadata takes 0 instead. */
DeepgramMetadata parse_metadata(const Obj &o, Notes &notes, const char *context,
                                bool *duration_read) {
  DeepgramMetadata m;
  m.request_id = lenient_string(o, "request_id", notes, context);
  m.transaction_key = lenient_string(o, "transaction_key", notes, context);
  m.sha256 = lenient_string(o, "sha256", notes, context);
  m.created = lenient_string(o, "created", notes, context);
  const char *fallback = duration_read ? "taken from the words" : "taken as 0";
  bool read = false;
  if (JsonNode *n = o.get("duration"))
    read = tolerate(notes, context, o.at("duration"), fallback,
                    [&] { m.duration = time_of(n, o.at("duration")); });
  else
    notes.add(std::string(context) + ": " + o.at("duration") + " missing, " + fallback);
  if (duration_read)
    *duration_read = read;
  tolerate(notes, context, o.at("channels"), "taken as 0",
           [&] { m.channels = opt_int(o, "channels", 0, kMaxChannels, 0); });
  if (JsonNode *n = o.get("models")) {
    tolerate(notes, context, o.at("models"), "ignored", [&] {
      JsonArray *models = array_of(n, o.at("models"));
      for (guint i = 0; i < length_of(models); i++) {
        std::string path = index_path(o.at("models"), i);
        tolerate(notes, context, path, "ignored",
                 [&] { m.models.push_back(string_of(json_array_get_element(models, i), path)); });
      }
    });
  }
  return m;
}

UtteranceEnd parse_utterance_end(const Obj &o) {
  const char *kContext = "UtteranceEnd";
  Notes notes;
  UtteranceEnd u;
  u.last_word_end = lenient_time(o, "last_word_end", notes, kContext);
  std::tie(u.channel, u.channel_count) = lenient_channel(o, "channel", notes, kContext);
  u.tolerated = notes.take();
  return u;
}

SpeechStarted parse_speech_started(const Obj &o) {
  const char *kContext = "SpeechStarted";
  Notes notes;
  SpeechStarted s;
  s.timestamp = lenient_time(o, "timestamp", notes, kContext);
  std::tie(s.channel, s.channel_count) = lenient_channel(o, "channel", notes, kContext);
  s.tolerated = notes.take();
  return s;
}

/* Error shapes are lenient: take the first string among the known names and
 * ignore wrong-typed fields, since the status code already says "failed". */
std::string first_string(const Obj &o, std::initializer_list<const char *> keys) {
  for (const char *key : keys) {
    JsonNode *n = o.get(key);
    if (n && holds_value_of(n, G_TYPE_STRING))
      return valid_string(json_node_get_string(n));
  }
  return std::string();
}

bool looks_like_error(const Obj &o) {
  return !first_string(o, {"err_code", "err_msg"}).empty();
}

/* An HTTP error body with neither code nor message says nothing (the caller
 * falls back on the status); a live Error frame still says "error". */
DeepgramError parse_error_object(const Obj &o, bool live) {
  DeepgramError e;
  e.code = first_string(o, {"err_code", "code", "category", "variant"});
  e.message = first_string(o, {"err_msg", "description", "message", "reason"});
  e.details = first_string(o, {"details"});
  e.request_id = first_string(o, {"request_id"});
  if (e.code.empty() && e.message.empty()) {
    if (!live)
      fail("error", "neither a code nor a message");
    e.message = "Deepgram reported an error without a code or a description";
    e.tolerated.push_back("Error: neither a code nor a message");
  }
  return e;
}

LiveMessage parse_live_root(JsonNode *root) {
  Obj o = object_of(root, "frame");
  o.path.clear();
  JsonNode *type_node = o.get("type");
  if (!type_node) {
    if (looks_like_error(o))
      return parse_error_object(o, true);
    fail("type", "missing");
  }
  std::string type = string_of(type_node, "type");
  if (type == "Results")
    return parse_results(o);
  if (type == "Metadata") {
    Notes notes;
    DeepgramMetadata m = parse_metadata(o, notes, "Metadata", nullptr);
    m.tolerated = notes.take();
    return m;
  }
  if (type == "UtteranceEnd")
    return parse_utterance_end(o);
  if (type == "SpeechStarted")
    return parse_speech_started(o);
  if (type == "Error")
    return parse_error_object(o, true);
  UnknownMessage unknown;
  unknown.type = std::move(type);
  return unknown;
}

Utterance parse_utterance(const Obj &o, const std::string &request_id, int channel_count,
                          Notes &notes) {
  Utterance u;
  Transcript &t = u.transcript;
  t.start = req_time(o, "start");
  double end = req_time(o, "end");
  if (end < t.start)
    fail(o.at("end"), "utterance ends before it starts");
  t.duration = end - t.start;
  t.text = opt_string(o, "transcript");
  t.confidence = opt_number(o, "confidence");
  t.words = parse_words(opt_array(o, "words"), o.at("words"), notes, "response");
  t.channel = opt_int(o, "channel", 0, kMaxChannels - 1, 0);
  t.channel_count = channel_count;
  if (t.channel >= channel_count)
    fail(o.at("channel"), "no such channel in results.channels");
  t.is_final = true;
  t.speech_final = true;
  t.request_id = request_id;
  u.speaker = opt_int(o, "speaker", 0, kMaxSpeaker, -1);
  t.speaker = u.speaker;
  u.id = opt_string(o, "id");
  return u;
}

/* results.utterances, all or nothing: a caller that uses them for speaker
 * turns gets every one or falls back on the channels, never a gap. */
std::vector<Utterance> parse_utterances(const Obj &results, const std::string &request_id,
                                        int channel_count, Notes &notes) {
  std::vector<Utterance> out;
  JsonNode *n = results.get("utterances");
  if (!n)
    return out;
  Notes inner;
  bool read = tolerate(notes, "response", results.at("utterances"), "ignored", [&] {
    JsonArray *utterances = array_of(n, results.at("utterances"));
    for (guint i = 0; i < length_of(utterances); i++) {
      Obj u =
          object_of(json_array_get_element(utterances, i), index_path(results.at("utterances"), i));
      out.push_back(parse_utterance(u, request_id, channel_count, inner));
    }
  });
  if (!read)
    return {};
  notes.append(inner);
  return out;
}

PrerecordedResponse parse_prerecorded_root(JsonNode *root) {
  const char *kContext = "response";
  Obj o = object_of(root, "response");
  o.path.clear();
  Notes notes;
  PrerecordedResponse r;
  bool duration_read = false;
  if (JsonNode *meta = o.get("metadata")) {
    if (JSON_NODE_HOLDS_OBJECT(meta))
      r.metadata = parse_metadata(Obj{json_node_get_object(meta), "metadata"}, notes, kContext,
                                  &duration_read);
    else
      notes.add("response: metadata is not an object, ignored");
  } else {
    notes.add("response: metadata missing");
  }
  Obj results = req_object(o, "results");
  JsonArray *channels = req_array(results, "channels");
  guint count = json_array_get_length(channels);
  if (count > static_cast<guint>(kMaxChannels))
    fail(results.at("channels"), "too many channels");
  for (guint i = 0; i < count; i++) {
    Transcript t;
    t.start = 0.0; /* a response covers its whole upload */
    t.is_final = true;
    t.speech_final = true; /* the end of the upload ends any speech in it */
    t.channel = static_cast<int>(i);
    t.channel_count = static_cast<int>(count);
    t.request_id = r.metadata.request_id;
    parse_first_alternative(
        object_of(json_array_get_element(channels, i), index_path(results.at("channels"), i)),
        false, t, notes, kContext);
    r.channels.push_back(std::move(t));
  }
  if (!duration_read) {
    /* Better than 0 for a caller that places the transcript by it. */
    r.metadata.duration = 0.0;
    for (const Transcript &t : r.channels)
      for (const Word &w : t.words)
        r.metadata.duration = std::max(r.metadata.duration, w.end);
  }
  for (Transcript &t : r.channels)
    t.duration = r.metadata.duration;
  r.utterances = parse_utterances(results, r.metadata.request_id, static_cast<int>(count), notes);
  r.tolerated = notes.take();
  return r;
}

/* Size, encoding and depth checks, then json-glib. Calls `map` on the root. */
template <typename T, typename Map>
Expected<T, ParseError> parse_guarded(std::string_view input, size_t max_bytes,
                                      Map &&map) noexcept {
  try {
    if (input.empty())
      return ParseError{"empty input"};
    if (input.size() > max_bytes)
      return ParseError{"input is " + std::to_string(input.size()) + " bytes, over the " +
                        std::to_string(max_bytes) + " byte limit"};
    if (!g_utf8_validate_len(input.data(), input.size(), nullptr))
      return ParseError{"input is not valid UTF-8 (or contains NUL)"};
    if (json_nesting_depth(input) > kMaxJsonDepth)
      return ParseError{"JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels (or with comments or single quotes, which hide nesting)"};

    std::unique_ptr<JsonParser, GObjectUnref> parser(json_parser_new_immutable());
    GError *error = nullptr;
    if (!json_parser_load_from_data(parser.get(), input.data(), static_cast<gssize>(input.size()),
                                    &error)) {
      std::string message = std::string("invalid JSON: ") + (error ? error->message : "unknown");
      g_clear_error(&error);
      return ParseError{std::move(message)};
    }
    JsonNode *root = json_parser_get_root(parser.get());
    if (!root)
      return ParseError{"invalid JSON: no value"};
    return map(root);
  } catch (const Failure &f) {
    return ParseError{f.message};
  } catch (...) {
    /* Short literal: fits the small-string buffer, so this cannot throw again. */
    return ParseError{"out of memory"};
  }
}

std::string_view trim(std::string_view s) {
  const char *space = " \t\r\n";
  size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  size_t last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

/* A plain-text error body: valid UTF-8, cut to a sane length on a character
 * boundary. */
DeepgramError plain_text_error(std::string_view text) {
  if (text.size() > kMaxPlainErrorBytes)
    text = text.substr(0, kMaxPlainErrorBytes);
  gchar *valid = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
  std::string message(valid);
  g_free(valid);
  DeepgramError e;
  e.message = std::move(message);
  return e;
}

} // namespace

int json_nesting_depth(std::string_view json, int limit) noexcept {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '/' || c == '\'') {
      /* json-glib also reads comments and single-quoted strings, which can
       * hide a '"' from this count and with it any depth: not JSON that
       * Deepgram sends, so count it as too deep. */
      return limit + 1;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit)
          return deepest;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return deepest;
}

const Tolerated &tolerated_notes(const LiveMessage &m) noexcept {
  return std::visit([](const auto &v) -> const Tolerated & { return v.tolerated; }, m);
}

Expected<LiveMessage, ParseError> parse_live_message(std::string_view frame) noexcept {
  return parse_guarded<LiveMessage>(frame, kMaxLiveFrameBytes, parse_live_root);
}

Expected<PrerecordedResponse, ParseError>
parse_prerecorded_response(std::string_view body) noexcept {
  return parse_guarded<PrerecordedResponse>(body, kMaxResponseBytes, parse_prerecorded_root);
}

Expected<DeepgramError, ParseError> parse_error_body(std::string_view body) noexcept {
  try {
    std::string_view text = trim(body);
    if (text.empty())
      return ParseError{"empty error body"};
    if (text.front() != '{' && text.front() != '"' && text.front() != '[')
      return plain_text_error(text);
  } catch (...) {
    return ParseError{"out of memory"};
  }
  return parse_guarded<DeepgramError>(body, kMaxResponseBytes, [](JsonNode *root) {
    if (holds_value_of(root, G_TYPE_STRING)) {
      DeepgramError e;
      e.message = valid_string(json_node_get_string(root));
      if (e.message.empty())
        fail("error", "empty message");
      return e;
    }
    Obj o = object_of(root, "error");
    return parse_error_object(o, false);
  });
}

} // namespace dgf
