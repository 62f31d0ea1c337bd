/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "control_endpoint.h"

#include "batch_handler.h"
#include "json_out.h"

#include <cstdlib>

namespace dgemu {

namespace {

std::string body_text(SoupServerMessage *msg) {
  GBytes *bytes = soup_message_body_flatten(soup_server_message_get_request_body(msg));
  gsize len = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(bytes, &len));
  std::string s(data ? data : "", len);
  g_bytes_unref(bytes);
  return s;
}

std::string now_json(double now) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "now");
  json_builder_add_double_value(b, round_us(now));
  json_builder_end_object(b);
  return finish_json(b);
}

void bad_request(SoupServerMessage *msg, const std::string &why, const std::string &request_id) {
  respond_error(msg, 400, "Bad Request", why, request_id);
}

bool query_has(SoupServerMessage *msg, const char *key, const char *value) {
  const char *q = g_uri_get_query(soup_server_message_get_uri(msg));
  if (!q)
    return false;
  std::string needle = std::string(key) + "=" + value;
  gchar **parts = g_strsplit(q, "&", -1);
  bool found = false;
  for (gchar **p = parts; *p; p++)
    if (needle == *p)
      found = true;
  g_strfreev(parts);
  return found;
}

} // namespace

void handle_control(SoupServerMessage *msg, const std::string &path, ControlTarget *target,
                    const std::string &request_id) {
  const char *method = soup_server_message_get_method(msg);
  bool get = g_strcmp0(method, "GET") == 0;
  bool post = g_strcmp0(method, "POST") == 0;
  bool del = g_strcmp0(method, "DELETE") == 0;
  FaultController &faults = target->control_faults();

  if (path == "/_emulator/health" && get) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, "ok");
    json_builder_set_member_name(b, "engine");
    json_builder_add_string_value(b, target->control_engine().c_str());
    json_builder_set_member_name(b, "now");
    json_builder_add_double_value(b, round_us(faults.now()));
    json_builder_end_object(b);
    respond_json(msg, 200, finish_json(b));
  } else if (path == "/_emulator/counters" && get) {
    JsonBuilder *b = json_builder_new();
    counters_to_json(b, target->control_counters());
    respond_json(msg, 200, finish_json(b));
  } else if (path == "/_emulator/faults" && get) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "now");
    json_builder_add_double_value(b, round_us(faults.now()));
    json_builder_set_member_name(b, "faults");
    json_builder_begin_array(b);
    for (const auto &f : faults.snapshot())
      fault_to_json(b, f);
    json_builder_end_array(b);
    json_builder_end_object(b);
    respond_json(msg, 200, finish_json(b));
  } else if (path == "/_emulator/faults" && post) {
    std::vector<Fault> parsed;
    std::string err;
    if (!parse_faults_json(body_text(msg), &parsed, &err)) {
      bad_request(msg, err, request_id);
      return;
    }
    bool from_start = query_has(msg, "from", "start");
    std::vector<int> ids = target->control_inject(parsed, !from_start);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ids");
    json_builder_begin_array(b);
    for (int id : ids)
      json_builder_add_int_value(b, id);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "now");
    json_builder_add_double_value(b, round_us(faults.now()));
    json_builder_end_object(b);
    respond_json(msg, 200, finish_json(b));
  } else if (path == "/_emulator/faults" && del) {
    faults.clear();
    respond_json(msg, 200, "{}");
  } else if (g_str_has_prefix(path.c_str(), "/_emulator/faults/") && del) {
    const char *id_text = path.c_str() + strlen("/_emulator/faults/");
    char *end = nullptr;
    long id = strtol(id_text, &end, 10);
    if (!*id_text || *end || !faults.remove(static_cast<int>(id))) {
      respond_error(msg, 404, "NOT_FOUND", "no such fault", request_id);
      return;
    }
    respond_json(msg, 200, "{}");
  } else if (path == "/_emulator/clock" && get) {
    respond_json(msg, 200, now_json(faults.now()));
  } else if (path == "/_emulator/clock" && post) {
    std::string err;
    std::string text = body_text(msg);
    JsonNode *root = parse_json(text.data(), text.size(), &err);
    double advance = -1;
    if (root && JSON_NODE_HOLDS_OBJECT(root)) {
      JsonObject *o = json_node_get_object(root);
      if (json_object_has_member(o, "advance")) {
        JsonNode *n = json_object_get_member(o, "advance");
        if (JSON_NODE_HOLDS_VALUE(n) && (json_node_get_value_type(n) == G_TYPE_DOUBLE ||
                                         json_node_get_value_type(n) == G_TYPE_INT64))
          advance = json_node_get_double(n);
      }
    }
    if (root)
      json_node_unref(root);
    if (advance < 0) {
      bad_request(msg, "expected {\"advance\": seconds >= 0}", request_id);
      return;
    }
    target->control_advance(advance);
    respond_json(msg, 200, now_json(faults.now()));
  } else if (path == "/_emulator/reset" && post) {
    bool counters = true, clear_faults = true;
    std::string text = body_text(msg);
    if (!text.empty()) {
      std::string err;
      JsonNode *root = parse_json(text.data(), text.size(), &err);
      if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        if (root)
          json_node_unref(root);
        bad_request(msg, "expected a JSON object", request_id);
        return;
      }
      JsonObject *o = json_node_get_object(root);
      if (json_object_has_member(o, "counters"))
        counters = json_object_get_boolean_member(o, "counters");
      if (json_object_has_member(o, "faults"))
        clear_faults = json_object_get_boolean_member(o, "faults");
      json_node_unref(root);
    }
    target->control_reset(counters, clear_faults);
    respond_json(msg, 200, "{}");
  } else {
    respond_error(msg, 404, "NOT_FOUND", "unknown control endpoint " + path, request_id);
  }
}

} // namespace dgemu
