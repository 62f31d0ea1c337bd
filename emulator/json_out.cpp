/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_out.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dgemu {

namespace {

void write_string(std::string &out, const char *s) {
  out += '"';
  for (const unsigned char *p = reinterpret_cast<const unsigned char *>(s); *p; p++) {
    switch (*p) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (*p < 0x20) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\u%04x", *p);
        out += buf;
      } else {
        out += static_cast<char>(*p);
      }
    }
  }
  out += '"';
}

void write_double(std::string &out, double d) {
  if (!std::isfinite(d)) {
    out += "0.0";
    return;
  }
  char buf[64];
  /* Shortest of %.15g .. %.17g that reads back as the same double. */
  for (int precision = 15; precision <= 17; precision++) {
    g_ascii_formatd(buf, sizeof buf,
                    precision == 15   ? "%.15g"
                    : precision == 16 ? "%.16g"
                                      : "%.17g",
                    d);
    if (g_ascii_strtod(buf, nullptr) == d)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos)
    s += ".0";
  out += s;
}

void write_node(std::string &out, JsonNode *node);

void write_object(std::string &out, JsonObject *obj) {
  out += '{';
  GList *members = json_object_get_members(obj);
  bool first = true;
  for (GList *l = members; l; l = l->next) {
    const char *name = static_cast<const char *>(l->data);
    if (!first)
      out += ',';
    first = false;
    write_string(out, name);
    out += ':';
    write_node(out, json_object_get_member(obj, name));
  }
  g_list_free(members);
  out += '}';
}

void write_node(std::string &out, JsonNode *node) {
  if (!node) {
    out += "null";
    return;
  }
  switch (json_node_get_node_type(node)) {
  case JSON_NODE_OBJECT:
    write_object(out, json_node_get_object(node));
    break;
  case JSON_NODE_ARRAY: {
    JsonArray *arr = json_node_get_array(node);
    out += '[';
    guint n = json_array_get_length(arr);
    for (guint i = 0; i < n; i++) {
      if (i)
        out += ',';
      write_node(out, json_array_get_element(arr, i));
    }
    out += ']';
    break;
  }
  case JSON_NODE_NULL:
    out += "null";
    break;
  case JSON_NODE_VALUE: {
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_STRING) {
      write_string(out, json_node_get_string(node));
    } else if (t == G_TYPE_BOOLEAN) {
      out += json_node_get_boolean(node) ? "true" : "false";
    } else if (t == G_TYPE_DOUBLE || t == G_TYPE_FLOAT) {
      write_double(out, json_node_get_double(node));
    } else {
      out += std::to_string(static_cast<long long>(json_node_get_int(node)));
    }
    break;
  }
  }
}

} // namespace

std::string to_json(JsonNode *node) {
  std::string out;
  out.reserve(512);
  write_node(out, node);
  return out;
}

std::string finish_json(JsonBuilder *builder) {
  JsonNode *root = json_builder_get_root(builder);
  std::string s = to_json(root);
  if (root)
    json_node_unref(root);
  g_object_unref(builder);
  return s;
}

double round_us(double seconds) {
  return std::round(seconds * 1e6) / 1e6;
}

double samples_to_seconds(long long samples, int rate) {
  if (rate <= 0)
    return 0.0;
  return round_us(static_cast<double>(samples) / rate);
}

std::string error_json(const std::string &err_code, const std::string &err_msg,
                       const std::string &request_id) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "err_code");
  json_builder_add_string_value(b, err_code.c_str());
  json_builder_set_member_name(b, "err_msg");
  json_builder_add_string_value(b, err_msg.c_str());
  if (!request_id.empty()) {
    json_builder_set_member_name(b, "request_id");
    json_builder_add_string_value(b, request_id.c_str());
  }
  json_builder_end_object(b);
  return finish_json(b);
}

std::string modern_error_json(const std::string &category, const std::string &message,
                              const std::string &details, const std::string &request_id) {
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "category");
  json_builder_add_string_value(b, category.c_str());
  json_builder_set_member_name(b, "message");
  json_builder_add_string_value(b, message.c_str());
  json_builder_set_member_name(b, "details");
  json_builder_add_string_value(b, details.c_str());
  json_builder_set_member_name(b, "request_id");
  json_builder_add_string_value(b, request_id.c_str());
  json_builder_end_object(b);
  return finish_json(b);
}

bool json_too_deep(const char *data, size_t len, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < len; i++) {
    char c = data[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '/' || c == '\'') {
      return true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return false;
}

JsonNode *parse_json(const char *data, size_t len, std::string *error) {
  if (json_too_deep(data, len)) {
    if (error)
      *error = "JSON nested deeper than " + std::to_string(kMaxJsonNesting) +
               " levels, or with comments or single quotes";
    return nullptr;
  }
  JsonParser *parser = json_parser_new();
  GError *err = nullptr;
  JsonNode *root = nullptr;
  if (json_parser_load_from_data(parser, data, static_cast<gssize>(len), &err)) {
    JsonNode *r = json_parser_get_root(parser);
    if (r)
      root = json_node_copy(r);
    else if (error)
      *error = "empty document";
  } else {
    if (error)
      *error = err ? err->message : "invalid JSON";
    g_clear_error(&err);
  }
  g_object_unref(parser);
  return root;
}

bool json_has(JsonObject *obj, const char *name) {
  return obj && json_object_has_member(obj, name);
}

} // namespace dgemu
