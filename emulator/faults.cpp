/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "faults.h"

#include "json_out.h"

#include <glib.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

namespace dgemu {

namespace {

struct TypeName {
  FaultType type;
  const char *name;
};
const TypeName kTypeNames[] = {
    {FaultType::Refuse, "refuse"},
    {FaultType::Close, "close"},
    {FaultType::Stall, "stall"},
    {FaultType::Drop, "drop"},
    {FaultType::Delay, "delay"},
    {FaultType::Malformed, "malformed"},
    {FaultType::BatchError, "batch_error"},
    {FaultType::BatchDelay, "batch_delay"},
    {FaultType::Outage, "outage"},
    {FaultType::HugeFrame, "huge_frame"},
    {FaultType::InterimFlood, "interim_flood"},
    {FaultType::WrongTypes, "wrong_types"},
    {FaultType::BatchHuge, "batch_huge"},
    {FaultType::BatchWrongTypes, "batch_wrong_types"},
    {FaultType::OddShapes, "odd_shapes"},
    {FaultType::ExtraSections, "extra_sections"},
};

const char *const kErrorBodyNames[] = {"legacy", "modern", "text"};

constexpr long long kDefaultHugeBytes = 100LL << 20;
constexpr long long kMaxHugeBytes = 1LL << 30;

double monotonic_seconds() {
  return g_get_monotonic_time() / 1e6;
}

/* Reads a number member; false with *error when present but not a number. */
bool get_number(JsonObject *o, const char *name, double *out, bool *present, std::string *error) {
  *present = json_object_has_member(o, name);
  if (!*present)
    return true;
  JsonNode *n = json_object_get_member(o, name);
  if (JSON_NODE_HOLDS_VALUE(n)) {
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64 || t == G_TYPE_DOUBLE) {
      *out = json_node_get_double(n);
      if (std::isfinite(*out))
        return true;
    }
  }
  *error = std::string("'") + name + "' must be a number";
  return false;
}

bool get_string(JsonObject *o, const char *name, std::string *out, bool *present,
                std::string *error) {
  *present = json_object_has_member(o, name);
  if (!*present)
    return true;
  JsonNode *n = json_object_get_member(o, name);
  if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
    *out = json_node_get_string(n);
    return true;
  }
  *error = std::string("'") + name + "' must be a string";
  return false;
}

bool is_int(double d) {
  return std::floor(d) == d && std::fabs(d) < 1e15;
}

} // namespace

const char *fault_type_name(FaultType type) {
  for (const auto &tn : kTypeNames)
    if (tn.type == type)
      return tn.name;
  return "unknown";
}

bool fault_type_from_name(const std::string &name, FaultType *out) {
  for (const auto &tn : kTypeNames)
    if (name == tn.name) {
      *out = tn.type;
      return true;
    }
  return false;
}

const char *error_body_name(ErrorBody body) {
  return kErrorBodyNames[static_cast<int>(body)];
}

bool Fault::is_conn_fault() const {
  return type == FaultType::Close || type == FaultType::Stall || type == FaultType::Drop ||
         type == FaultType::Delay || type == FaultType::Malformed || type == FaultType::HugeFrame ||
         type == FaultType::InterimFlood || type == FaultType::WrongTypes ||
         type == FaultType::OddShapes;
}

std::string close_reason_text(const std::string &reason) {
  if (reason == "NET-0000")
    return "Deepgram did not provide a response message within the timeout window. See "
           "https://dpgr.am/net0000";
  if (reason == "NET-0001")
    return "Deepgram did not receive audio data or a text message within the timeout window. "
           "See https://dpgr.am/net0001";
  if (reason == "DATA-0000")
    return "Deepgram could not decode the payload as audio (not audio data or an "
           "unsupported codec). See https://dpgr.am/data0000";
  return reason;
}

std::string err_code_for_status(int status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "INVALID_AUTH";
  case 402:
    return "ASR_PAYMENT_REQUIRED";
  case 403:
    return "INSUFFICIENT_PERMISSIONS";
  case 404:
    return "PROJECT_NOT_FOUND";
  case 408:
    return "REQUEST_TIMEOUT";
  case 429:
    return "TOO_MANY_REQUESTS";
  case 500:
    return "INTERNAL_SERVER_ERROR";
  case 502:
    return "BAD_GATEWAY";
  case 503:
    return "SERVICE_UNAVAILABLE";
  case 504:
    return "GATEWAY_TIMEOUT";
  default:
    return status >= 500 ? "INTERNAL_SERVER_ERROR" : "Bad Request";
  }
}

std::string err_msg_for_status(int status) {
  switch (status) {
  case 400: /* what Deepgram answered a bad option (recorded in deepgram-js-sdk) */
    return "Invalid query string.";
  case 401:
    return "Invalid credentials.";
  case 402:
    return "Project does not have enough credits for an ASR request and does not have an "
           "overage agreement.";
  case 403:
    return "Project does not have access to the requested model.";
  case 404:
    return "Project not found.";
  case 429:
    return "Too many requests. Please try again later.";
  case 503:
    return "The service is temporarily unavailable. Please try again later.";
  default:
    return status >= 500 ? "An internal server error occurred (dg-emulator fault injection)."
                         : "The request could not be processed (dg-emulator fault injection).";
  }
}

bool parse_fault(JsonNode *node, Fault *out, std::string *error) {
  if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
    *error = "a fault must be a JSON object";
    return false;
  }
  JsonObject *o = json_node_get_object(node);
  Fault f;
  std::string type_name;
  bool present = false;
  if (!get_string(o, "type", &type_name, &present, error))
    return false;
  if (!present) {
    *error = "missing 'type'";
    return false;
  }
  if (!fault_type_from_name(type_name, &f.type)) {
    *error = "unknown type '" + type_name +
             "' (refuse, close, stall, drop, delay, malformed, batch_error, batch_delay, outage, "
             "huge_frame, interim_flood, wrong_types, batch_huge, batch_wrong_types, odd_shapes, "
             "extra_sections)";
    return false;
  }

  /* Which members each type takes; anything else is a typo worth reporting. */
  std::set<std::string> allowed = {"type", "at", "start", "comment"};
  switch (f.type) {
  case FaultType::Refuse:
  case FaultType::BatchError:
    allowed.insert({"status", "count", "duration", "err_code", "err_msg", "retry_after", "body"});
    break;
  case FaultType::BatchDelay:
    allowed.insert({"ms", "count", "duration"});
    break;
  case FaultType::Outage:
    allowed.insert({"api", "duration", "status", "err_code", "err_msg", "retry_after", "body",
                    "code", "reason"});
    break;
  case FaultType::Close:
    allowed.insert({"code", "reason", "after_s", "after_bytes", "after_audio_ms", "target", "count",
                    "duration"});
    break;
  case FaultType::Drop:
  case FaultType::Stall:
    allowed.insert({"after_s", "after_bytes", "after_audio_ms", "target", "count", "duration"});
    break;
  case FaultType::Delay:
    allowed.insert(
        {"ms", "after_s", "after_bytes", "after_audio_ms", "target", "count", "duration"});
    break;
  case FaultType::Malformed:
  case FaultType::WrongTypes:
  case FaultType::OddShapes:
    allowed.insert(
        {"frames", "after_s", "after_bytes", "after_audio_ms", "target", "count", "duration"});
    break;
  case FaultType::HugeFrame:
    allowed.insert({"bytes", "frames", "after_s", "after_bytes", "after_audio_ms", "target",
                    "count", "duration"});
    break;
  case FaultType::InterimFlood:
    allowed.insert(
        {"ms", "after_s", "after_bytes", "after_audio_ms", "target", "count", "duration"});
    break;
  case FaultType::BatchHuge:
    allowed.insert({"bytes", "count", "duration"});
    break;
  case FaultType::BatchWrongTypes:
  case FaultType::ExtraSections:
    allowed.insert({"count", "duration"});
    break;
  }
  GList *members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    std::string m = static_cast<const char *>(l->data);
    if (!allowed.count(m)) {
      *error = "unknown field '" + m + "' for type '" + type_name + "'";
      g_list_free(members);
      return false;
    }
  }
  g_list_free(members);

  double d = 0;
  if (!get_number(o, "at", &d, &present, error))
    return false;
  if (!present && !get_number(o, "start", &d, &present, error))
    return false;
  if (present) {
    if (d < 0) {
      *error = "'at' must be >= 0";
      return false;
    }
    f.at = d;
  }
  if (!get_number(o, "duration", &d, &present, error))
    return false;
  if (present) {
    if (d <= 0) {
      *error = "'duration' must be > 0";
      return false;
    }
    f.duration = d;
  }
  if (!get_number(o, "count", &d, &present, error))
    return false;
  if (present) {
    if (!is_int(d) || d < 1 || d > INT_MAX) {
      *error = "'count' must be an integer in 1..2147483647";
      return false;
    }
    f.count = static_cast<int>(d);
  }
  if (!get_number(o, "status", &d, &present, error))
    return false;
  if (present) {
    if (!is_int(d) || d < 400 || d > 599) {
      *error = "'status' must be an HTTP error status (400-599)";
      return false;
    }
    f.status = static_cast<int>(d);
  } else if (f.type == FaultType::Refuse || f.type == FaultType::BatchError) {
    f.status = 503;
  }
  if (!get_string(o, "err_code", &f.err_code, &present, error) ||
      !get_string(o, "err_msg", &f.err_msg, &present, error))
    return false;
  std::string body;
  if (!get_string(o, "body", &body, &present, error))
    return false;
  if (present) {
    bool known = false;
    for (int i = 0; i < 3; i++)
      if (body == kErrorBodyNames[i]) {
        f.body = static_cast<ErrorBody>(i);
        known = true;
      }
    if (!known) {
      *error = "'body' must be \"legacy\", \"modern\" or \"text\"";
      return false;
    }
  }
  if (!get_number(o, "retry_after", &d, &present, error))
    return false;
  if (present) {
    if (d < 0) {
      *error = "'retry_after' must be >= 0";
      return false;
    }
    f.retry_after = d;
  }
  if (!get_number(o, "ms", &d, &present, error))
    return false;
  if (f.type == FaultType::Delay || f.type == FaultType::BatchDelay) {
    if (!present) {
      *error = "'" + type_name + "' needs 'ms'";
      return false;
    }
    if (!is_int(d) || d < 1 || d > 3600000) {
      *error = "'ms' must be an integer in 1..3600000";
      return false;
    }
    f.delay_ms = static_cast<int>(d);
    f.effect.delay_ms = f.delay_ms;
  }
  if (f.type == FaultType::InterimFlood) {
    if (present && (!is_int(d) || d < 1 || d > 60000)) {
      *error = "'ms' must be an integer in 1..60000";
      return false;
    }
    f.effect.flood_ms = present ? static_cast<int>(d) : 20;
  }
  if (!get_number(o, "bytes", &d, &present, error))
    return false;
  if (f.type == FaultType::HugeFrame || f.type == FaultType::BatchHuge) {
    if (present && (!is_int(d) || d < 1 || d > static_cast<double>(kMaxHugeBytes))) {
      *error = "'bytes' must be an integer in 1..1073741824";
      return false;
    }
    f.effect.bytes = present ? static_cast<long long>(d) : kDefaultHugeBytes;
    f.body_bytes = f.effect.bytes;
  }

  /* live connection effect */
  f.effect.type = f.type;
  if (!get_number(o, "after_s", &d, &present, error))
    return false;
  if (present) {
    if (d < 0) {
      *error = "'after_s' must be >= 0";
      return false;
    }
    f.effect.after_s = d;
  }
  if (!get_number(o, "after_bytes", &d, &present, error))
    return false;
  if (present) {
    if (!is_int(d) || d < 0) {
      *error = "'after_bytes' must be an integer >= 0";
      return false;
    }
    f.effect.after_bytes = static_cast<long long>(d);
  }
  if (!get_number(o, "after_audio_ms", &d, &present, error))
    return false;
  if (present) {
    if (!is_int(d) || d < 0 || d > 86400000) {
      *error = "'after_audio_ms' must be an integer in 0..86400000";
      return false;
    }
    f.effect.after_audio_ms = static_cast<long long>(d);
  }
  bool code_present = false;
  if (!get_number(o, "code", &d, &code_present, error))
    return false;
  if (code_present) {
    /* Range-checked as a double first: a huge double cast to int is undefined. */
    int c = is_int(d) && d >= 1000 && d <= 4999 ? static_cast<int>(d) : 0;
    if (c == 0 || c == 1004 || c == 1005 || c == 1006 || c == 1015) {
      *error = "'code' must be a WebSocket close code that can be sent (1000-4999, not "
               "1004/1005/1006/1015)";
      return false;
    }
    f.effect.code = c;
  }
  std::string reason;
  if (!get_string(o, "reason", &reason, &present, error))
    return false;
  if (present)
    f.effect.reason = reason;
  else if (f.effect.code == 1011)
    f.effect.reason = "NET-0000";
  else if (f.effect.code == 1008)
    f.effect.reason = "DATA-0000";
  if (close_reason_text(f.effect.reason).size() > 123) {
    *error = "'reason' is longer than a close frame allows (123 bytes)";
    return false;
  }
  if (f.type == FaultType::Outage)
    f.outage_close = code_present || present;

  if (f.type == FaultType::OddShapes)
    f.effect.frames = -1; /* default: for as long as it lasts */
  if (json_object_has_member(o, "frames")) {
    JsonNode *n = json_object_get_member(o, "frames");
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
        g_strcmp0(json_node_get_string(n), "all") == 0) {
      f.effect.frames = -1;
    } else if (get_number(o, "frames", &d, &present, error) && is_int(d) && d >= 1 &&
               d <= INT_MAX) {
      f.effect.frames = static_cast<int>(d);
    } else {
      *error = "'frames' must be an integer >= 1 or \"all\"";
      return false;
    }
  }
  std::string target;
  if (!get_string(o, "target", &target, &present, error))
    return false;
  if (present) {
    if (target == "open")
      f.target = Target::Open;
    else if (target == "new")
      f.target = Target::New;
    else if (target == "all")
      f.target = Target::All;
    else {
      *error = "'target' must be \"open\", \"new\" or \"all\"";
      return false;
    }
  }
  if (f.is_conn_fault() && f.target == Target::Open &&
      (json_object_has_member(o, "count") || json_object_has_member(o, "duration"))) {
    *error = "'count' and 'duration' select new connections: use them with \"target\":\"new\" "
             "or \"all\"";
    return false;
  }
  std::string api;
  if (!get_string(o, "api", &api, &present, error))
    return false;
  if (present) {
    if (api == "live")
      f.api = ApiScope::Live;
    else if (api == "batch")
      f.api = ApiScope::Batch;
    else if (api == "both")
      f.api = ApiScope::Both;
    else {
      *error = "'api' must be \"live\", \"batch\" or \"both\"";
      return false;
    }
  }
  if (f.type == FaultType::Outage && !json_object_has_member(o, "status"))
    f.status = 503;
  *out = f;
  return true;
}

bool parse_faults_json(const std::string &text, std::vector<Fault> *out, std::string *error) {
  if (json_too_deep(text.data(), text.size())) {
    *error = "not valid JSON: nested deeper than " + std::to_string(kMaxJsonNesting) +
             " levels, or with comments or single quotes";
    return false;
  }
  JsonParser *parser = json_parser_new();
  GError *err = nullptr;
  if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &err)) {
    *error = std::string("not valid JSON: ") + (err ? err->message : "?");
    g_clear_error(&err);
    g_object_unref(parser);
    return false;
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonArray *arr = nullptr;
  if (root && JSON_NODE_HOLDS_ARRAY(root)) {
    arr = json_node_get_array(root);
  } else if (root && JSON_NODE_HOLDS_OBJECT(root)) {
    JsonObject *o = json_node_get_object(root);
    if (json_object_has_member(o, "faults") &&
        JSON_NODE_HOLDS_ARRAY(json_object_get_member(o, "faults")))
      arr = json_object_get_array_member(o, "faults");
    else if (json_object_has_member(o, "type")) {
      Fault f;
      bool ok = parse_fault(root, &f, error);
      if (ok)
        out->push_back(f);
      g_object_unref(parser);
      return ok;
    }
  }
  if (!arr) {
    *error = "expected an array of faults, {\"faults\": [...]} or one fault object";
    g_object_unref(parser);
    return false;
  }
  std::vector<Fault> faults;
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    Fault f;
    std::string e;
    if (!parse_fault(json_array_get_element(arr, i), &f, &e)) {
      *error = "fault #" + std::to_string(i + 1) + ": " + e;
      g_object_unref(parser);
      return false;
    }
    faults.push_back(f);
  }
  g_object_unref(parser);
  out->insert(out->end(), faults.begin(), faults.end());
  return true;
}

bool load_faults_file(const std::string &path, std::vector<Fault> *out, std::string *error) {
  gchar *contents = nullptr;
  gsize len = 0;
  GError *err = nullptr;
  if (!g_file_get_contents(path.c_str(), &contents, &len, &err)) {
    *error = "faults file " + path + ": " + (err ? err->message : "cannot read");
    g_clear_error(&err);
    return false;
  }
  std::string text(contents, len);
  g_free(contents);
  std::string e;
  if (!parse_faults_json(text, out, &e)) {
    *error = "faults file " + path + ": " + e;
    return false;
  }
  return true;
}

void fault_to_json(JsonBuilder *b, const Fault &f) {
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "id");
  json_builder_add_int_value(b, f.id);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, fault_type_name(f.type));
  json_builder_set_member_name(b, "at");
  json_builder_add_double_value(b, f.at);
  if (f.duration >= 0) {
    json_builder_set_member_name(b, "duration");
    json_builder_add_double_value(b, f.duration);
  }
  if (f.count >= 0) {
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, f.count);
    json_builder_set_member_name(b, "used");
    json_builder_add_int_value(b, f.used);
  }
  switch (f.type) {
  case FaultType::Refuse:
  case FaultType::BatchError:
  case FaultType::Outage:
    json_builder_set_member_name(b, "status");
    json_builder_add_int_value(b, f.status);
    if (f.retry_after >= 0) {
      json_builder_set_member_name(b, "retry_after");
      json_builder_add_double_value(b, f.retry_after);
    }
    json_builder_set_member_name(b, "body");
    json_builder_add_string_value(b, error_body_name(f.body));
    if (f.type == FaultType::Outage) {
      json_builder_set_member_name(b, "api");
      json_builder_add_string_value(b, f.api == ApiScope::Live    ? "live"
                                       : f.api == ApiScope::Batch ? "batch"
                                                                  : "both");
    }
    break;
  case FaultType::BatchDelay:
    json_builder_set_member_name(b, "ms");
    json_builder_add_int_value(b, f.delay_ms);
    break;
  case FaultType::BatchHuge:
    json_builder_set_member_name(b, "bytes");
    json_builder_add_int_value(b, f.body_bytes);
    break;
  case FaultType::BatchWrongTypes:
  case FaultType::ExtraSections:
    break;
  default:
    json_builder_set_member_name(b, "target");
    json_builder_add_string_value(b, f.target == Target::Open  ? "open"
                                     : f.target == Target::New ? "new"
                                                               : "all");
    if (f.effect.after_s >= 0) {
      json_builder_set_member_name(b, "after_s");
      json_builder_add_double_value(b, f.effect.after_s);
    }
    if (f.effect.after_bytes >= 0) {
      json_builder_set_member_name(b, "after_bytes");
      json_builder_add_int_value(b, f.effect.after_bytes);
    }
    if (f.effect.after_audio_ms >= 0) {
      json_builder_set_member_name(b, "after_audio_ms");
      json_builder_add_int_value(b, f.effect.after_audio_ms);
    }
    if (f.type == FaultType::Close) {
      json_builder_set_member_name(b, "code");
      json_builder_add_int_value(b, f.effect.code);
      json_builder_set_member_name(b, "reason");
      json_builder_add_string_value(b, f.effect.reason.c_str());
    } else if (f.type == FaultType::Delay) {
      json_builder_set_member_name(b, "ms");
      json_builder_add_int_value(b, f.effect.delay_ms);
    } else if (f.type == FaultType::Malformed || f.type == FaultType::WrongTypes ||
               f.type == FaultType::OddShapes) {
      json_builder_set_member_name(b, "frames");
      json_builder_add_int_value(b, f.effect.frames);
    } else if (f.type == FaultType::HugeFrame) {
      json_builder_set_member_name(b, "bytes");
      json_builder_add_int_value(b, f.effect.bytes);
      json_builder_set_member_name(b, "frames");
      json_builder_add_int_value(b, f.effect.frames);
    } else if (f.type == FaultType::InterimFlood) {
      json_builder_set_member_name(b, "ms");
      json_builder_add_int_value(b, f.effect.flood_ms);
    }
  }
  json_builder_set_member_name(b, "started");
  json_builder_add_boolean_value(b, f.started);
  json_builder_end_object(b);
}

/* ---- controller ---- */

FaultController::FaultController(Clock clock) : clock_(std::move(clock)) {
  if (!clock_)
    clock_ = monotonic_seconds;
  t0_ = clock_();
}

double FaultController::now_locked() const {
  return clock_() - t0_ + offset_;
}

double FaultController::now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_locked();
}

void FaultController::advance(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (seconds > 0)
    offset_ += seconds;
}

void FaultController::reset_clock() {
  std::lock_guard<std::mutex> lock(mutex_);
  t0_ = clock_();
  offset_ = 0;
}

std::vector<int> FaultController::add(std::vector<Fault> faults, bool relative_to_now) {
  std::lock_guard<std::mutex> lock(mutex_);
  double base = relative_to_now ? now_locked() : 0.0;
  std::vector<int> ids;
  for (auto &f : faults) {
    f.id = next_id_++;
    f.effect.fault_id = f.id;
    f.at += base;
    f.started = false;
    f.used = 0;
    ids.push_back(f.id);
    faults_.push_back(f);
  }
  return ids;
}

bool FaultController::remove(int id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it =
      std::find_if(faults_.begin(), faults_.end(), [&](const Fault &f) { return f.id == id; });
  if (it == faults_.end())
    return false;
  faults_.erase(it);
  return true;
}

void FaultController::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
}

std::vector<Fault> FaultController::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return faults_;
}

bool FaultController::active_locked(const Fault &f, double t) const {
  if (t < f.at)
    return false;
  if (f.duration >= 0 && t >= f.at + f.duration)
    return false;
  if (f.count >= 0 && f.used >= f.count)
    return false;
  return true;
}

void FaultController::expire_locked(double t) {
  faults_.erase(std::remove_if(faults_.begin(), faults_.end(),
                               [&](const Fault &f) {
                                 if (f.duration >= 0 && t >= f.at + f.duration)
                                   return true;
                                 if (f.count >= 0 && f.used >= f.count)
                                   return true;
                                 /* open-only connection faults act once, when they start */
                                 return f.started && f.is_conn_fault() && f.target == Target::Open;
                               }),
                faults_.end());
}

std::vector<Fault> FaultController::poll() {
  std::lock_guard<std::mutex> lock(mutex_);
  double t = now_locked();
  std::vector<Fault> fired;
  for (auto &f : faults_) {
    if (f.started || t < f.at)
      continue;
    f.started = true;
    /* A window that opened and closed between two polls still acts on
     * open connections once: it did start. */
    if ((f.is_conn_fault() && f.target != Target::New) ||
        (f.type == FaultType::Outage && f.api != ApiScope::Batch))
      fired.push_back(f);
  }
  expire_locked(t);
  return fired;
}

FaultController::Refusal FaultController::check_live_handshake(std::vector<ConnEffect> *effects) {
  std::lock_guard<std::mutex> lock(mutex_);
  double t = now_locked();
  Refusal r;
  for (auto &f : faults_) {
    if (f.type == FaultType::Outage && f.api != ApiScope::Batch && active_locked(f, t)) {
      r.status = f.status;
      r.err_code = f.err_code;
      r.err_msg = f.err_msg;
      r.retry_after = f.retry_after;
      r.type = FaultType::Outage;
      r.body = f.body;
      return r;
    }
  }
  for (auto &f : faults_) {
    if (f.type == FaultType::Refuse && active_locked(f, t)) {
      f.used++;
      r.status = f.status;
      r.err_code = f.err_code;
      r.err_msg = f.err_msg;
      r.retry_after = f.retry_after;
      r.type = FaultType::Refuse;
      r.body = f.body;
      expire_locked(t);
      return r;
    }
  }
  for (auto &f : faults_) {
    if (f.is_conn_fault() && f.target != Target::Open && active_locked(f, t)) {
      f.used++;
      ConnEffect e = f.effect;
      e.fault_id = f.id;
      effects->push_back(e);
    }
  }
  expire_locked(t);
  return r;
}

FaultController::BatchDecision FaultController::check_batch_request() {
  std::lock_guard<std::mutex> lock(mutex_);
  double t = now_locked();
  BatchDecision d;
  for (auto &f : faults_) {
    if (!active_locked(f, t))
      continue;
    if (d.error.status == 0 && ((f.type == FaultType::Outage && f.api != ApiScope::Live) ||
                                f.type == FaultType::BatchError)) {
      if (f.type == FaultType::BatchError)
        f.used++;
      d.error.status = f.status;
      d.error.err_code = f.err_code;
      d.error.err_msg = f.err_msg;
      d.error.retry_after = f.retry_after;
      d.error.type = f.type;
      d.error.body = f.body;
    } else if (f.type == FaultType::BatchDelay && d.delay_ms == 0) {
      f.used++;
      d.delay_ms = f.delay_ms;
    } else if ((f.type == FaultType::BatchHuge || f.type == FaultType::BatchWrongTypes ||
                f.type == FaultType::ExtraSections) &&
               d.body == BatchBody::Normal) {
      f.used++;
      d.body = f.type == FaultType::BatchHuge         ? BatchBody::Huge
               : f.type == FaultType::BatchWrongTypes ? BatchBody::WrongTypes
                                                      : BatchBody::ExtraSections;
      d.body_bytes = f.body_bytes;
    }
  }
  expire_locked(t);
  return d;
}

} // namespace dgemu
