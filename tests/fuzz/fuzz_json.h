/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json-glib helpers for the fuzz targets: what json-glib itself makes of an
 * input, to check the parsers' cheap nesting guards against. */
#pragma once

#include <json-glib/json-glib.h>

#include <string_view>

namespace fuzz {

/* Object/array nesting of a parsed tree ("[]" is 1, a scalar 0). */
inline int json_tree_depth(JsonNode *node) {
  int deepest = 0;
  if (JSON_NODE_HOLDS_OBJECT(node)) {
    GList *values = json_object_get_values(json_node_get_object(node));
    for (GList *l = values; l; l = l->next) {
      int d = json_tree_depth(static_cast<JsonNode *>(l->data));
      deepest = d > deepest ? d : deepest;
    }
    g_list_free(values);
    return deepest + 1;
  }
  if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *a = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(a); i++) {
      int d = json_tree_depth(json_array_get_element(a, i));
      deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
  }
  return 0;
}

/* The nesting json-glib parses `text` to, or -1 when it does not parse. Call
 * only on input a guard let through (the guard is what stops json-glib from
 * recursing too deep). */
inline int json_glib_depth(std::string_view text) {
  JsonParser *parser = json_parser_new();
  int depth = -1;
  if (json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), nullptr)) {
    JsonNode *root = json_parser_get_root(parser);
    depth = root ? json_tree_depth(root) : 0;
  }
  g_object_unref(parser);
  return depth;
}

} // namespace fuzz
