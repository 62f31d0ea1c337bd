#include "deepgram_json.h"

#include <json-glib/json-glib.h>

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

double opt_time(const Obj &o, const char *key) {
  JsonNode *n = o.get(key);
  return n ? time_of(n, o.at(key)) : 0.0;
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

/* Deepgram's [index, count] channel pair. */
std::pair<int, int> channel_pair(const Obj &o, const char *key) {
  std::string path = o.at(key);
  JsonArray *a = req_array(o, key);
  if (json_array_get_length(a) != 2)
    fail(path, "expected [channel, channel count]");
  int count = int_of(json_array_get_element(a, 1), index_path(path, 1), 1, kMaxChannels);
  int index = int_of(json_array_get_element(a, 0), index_path(path, 0), 0, kMaxChannels);
  if (index >= count)
    fail(path, "channel index is not below the channel count");
  return {index, count};
}

Word parse_word(const Obj &o) {
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
  return w;
}

std::vector<Word> parse_words(JsonArray *words, const std::string &path) {
  std::vector<Word> out;
  guint n = length_of(words);
  out.reserve(n);
  for (guint i = 0; i < n; i++)
    out.push_back(parse_word(object_of(json_array_get_element(words, i), index_path(path, i))));
  return out;
}

/* The first alternative of a channel: text, confidence and words. */
void parse_first_alternative(const Obj &channel, bool required_alternatives, Transcript &t) {
  JsonArray *alts = required_alternatives ? req_array(channel, "alternatives")
                                          : opt_array(channel, "alternatives");
  if (length_of(alts) == 0)
    return; /* no alternative: an empty transcript */
  Obj alt = object_of(json_array_get_element(alts, 0), index_path(channel.at("alternatives"), 0));
  t.text = required_alternatives ? req_string(alt, "transcript") : opt_string(alt, "transcript");
  t.confidence = opt_number(alt, "confidence");
  t.words = parse_words(opt_array(alt, "words"), alt.at("words"));
}

Transcript parse_results(const Obj &root) {
  Transcript t;
  t.start = req_time(root, "start");
  t.duration = req_time(root, "duration");
  std::tie(t.channel, t.channel_count) = channel_pair(root, "channel_index");
  /* Absent flags mean "not final": an interim result never acknowledges audio. */
  t.is_final = opt_bool(root, "is_final");
  t.speech_final = opt_bool(root, "speech_final");
  t.from_finalize = opt_bool(root, "from_finalize");
  parse_first_alternative(req_object(root, "channel"), true, t);
  if (JsonNode *meta = root.get("metadata"))
    t.request_id = opt_string(object_of(meta, root.at("metadata")), "request_id");
  return t;
}

DeepgramMetadata parse_metadata(const Obj &o) {
  DeepgramMetadata m;
  m.request_id = opt_string(o, "request_id");
  m.transaction_key = opt_string(o, "transaction_key");
  m.sha256 = opt_string(o, "sha256");
  m.created = opt_string(o, "created");
  m.duration = opt_time(o, "duration");
  m.channels = opt_int(o, "channels", 0, kMaxChannels, 0);
  JsonArray *models = opt_array(o, "models");
  for (guint i = 0; i < length_of(models); i++)
    m.models.push_back(string_of(json_array_get_element(models, i), index_path(o.at("models"), i)));
  return m;
}

UtteranceEnd parse_utterance_end(const Obj &o) {
  UtteranceEnd u;
  u.last_word_end = req_time(o, "last_word_end");
  std::tie(u.channel, u.channel_count) = channel_pair(o, "channel");
  return u;
}

SpeechStarted parse_speech_started(const Obj &o) {
  SpeechStarted s;
  s.timestamp = req_time(o, "timestamp");
  std::tie(s.channel, s.channel_count) = channel_pair(o, "channel");
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

DeepgramError parse_error_object(const Obj &o) {
  DeepgramError e;
  e.code = first_string(o, {"err_code", "code", "category", "variant"});
  e.message = first_string(o, {"err_msg", "description", "message", "reason"});
  e.details = first_string(o, {"details"});
  e.request_id = first_string(o, {"request_id"});
  if (e.code.empty() && e.message.empty())
    fail("error", "neither a code nor a message");
  return e;
}

LiveMessage parse_live_root(JsonNode *root) {
  Obj o = object_of(root, "frame");
  o.path.clear();
  JsonNode *type_node = o.get("type");
  if (!type_node) {
    if (looks_like_error(o))
      return parse_error_object(o);
    fail("type", "missing");
  }
  std::string type = string_of(type_node, "type");
  if (type == "Results")
    return parse_results(o);
  if (type == "Metadata")
    return parse_metadata(o);
  if (type == "UtteranceEnd")
    return parse_utterance_end(o);
  if (type == "SpeechStarted")
    return parse_speech_started(o);
  if (type == "Error")
    return parse_error_object(o);
  return UnknownMessage{type};
}

Utterance parse_utterance(const Obj &o, const std::string &request_id, int channel_count) {
  Utterance u;
  Transcript &t = u.transcript;
  t.start = req_time(o, "start");
  double end = req_time(o, "end");
  if (end < t.start)
    fail(o.at("end"), "utterance ends before it starts");
  t.duration = end - t.start;
  t.text = opt_string(o, "transcript");
  t.confidence = opt_number(o, "confidence");
  t.words = parse_words(opt_array(o, "words"), o.at("words"));
  t.channel = opt_int(o, "channel", 0, kMaxChannels - 1, 0);
  t.channel_count = channel_count;
  if (t.channel >= channel_count)
    fail(o.at("channel"), "no such channel in results.channels");
  t.is_final = true;
  t.speech_final = true;
  t.request_id = request_id;
  u.speaker = opt_int(o, "speaker", 0, kMaxSpeaker, -1);
  u.id = opt_string(o, "id");
  return u;
}

PrerecordedResponse parse_prerecorded_root(JsonNode *root) {
  Obj o = object_of(root, "response");
  o.path.clear();
  PrerecordedResponse r;
  r.metadata = parse_metadata(req_object(o, "metadata"));
  Obj results = req_object(o, "results");
  JsonArray *channels = req_array(results, "channels");
  guint count = json_array_get_length(channels);
  if (count > static_cast<guint>(kMaxChannels))
    fail(results.at("channels"), "too many channels");
  for (guint i = 0; i < count; i++) {
    Transcript t;
    t.start = 0.0; /* a response covers its whole upload */
    t.duration = r.metadata.duration;
    t.is_final = true;
    t.speech_final = true; /* the end of the upload ends any speech in it */
    t.channel = static_cast<int>(i);
    t.channel_count = static_cast<int>(count);
    t.request_id = r.metadata.request_id;
    parse_first_alternative(
        object_of(json_array_get_element(channels, i), index_path(results.at("channels"), i)),
        false, t);
    r.channels.push_back(std::move(t));
  }
  JsonArray *utterances = opt_array(results, "utterances");
  for (guint i = 0; i < length_of(utterances); i++) {
    Obj u =
        object_of(json_array_get_element(utterances, i), index_path(results.at("utterances"), i));
    r.utterances.push_back(parse_utterance(u, r.metadata.request_id, static_cast<int>(count)));
  }
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
    return parse_error_object(o);
  });
}

} // namespace dgf
