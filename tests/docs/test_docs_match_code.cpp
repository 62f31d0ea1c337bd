/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every element the plugin registers has docs/<element>.md whose property tables match what
 * GStreamer reports (gst-inspect's view): every property documented, nothing documented that
 * the element lacks, documented defaults and types equal to the real ones, and blurbs that are
 * complete (non-empty, no copy-paste, units for times). The rules: doc_properties.h. */
#include <gst/gst.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "doc_properties.h"

#ifndef DGF_DOCS_DIR
#error "DGF_DOCS_DIR must name the docs/ directory"
#endif

namespace {

constexpr const char *kPlugin = "deepgramfailover";

dgdocs::Kind kind_of(GParamSpec *p) {
  using dgdocs::Kind;
  if (G_IS_PARAM_SPEC_BOOLEAN(p))
    return Kind::Bool;
  if (G_IS_PARAM_SPEC_INT(p))
    return Kind::Int;
  if (G_IS_PARAM_SPEC_UINT(p))
    return Kind::UInt;
  if (G_IS_PARAM_SPEC_UINT64(p))
    return Kind::UInt64;
  if (G_IS_PARAM_SPEC_DOUBLE(p))
    return Kind::Double;
  if (G_IS_PARAM_SPEC_STRING(p))
    return Kind::String;
  if (G_IS_PARAM_SPEC_ENUM(p))
    return Kind::Enum;
  if (G_IS_PARAM_SPEC_BOXED(p))
    return Kind::Boxed;
  if (G_IS_PARAM_SPEC_OBJECT(p))
    return Kind::Object;
  return Kind::Other;
}

dgdocs::CodeProperty describe(GParamSpec *p) {
  dgdocs::CodeProperty c;
  c.name = p->name;
  c.kind = kind_of(p);
  c.type_name = g_type_name(p->value_type);
  c.nick = g_param_spec_get_nick(p);
  const char *blurb = g_param_spec_get_blurb(p);
  c.blurb = blurb ? blurb : "";
  c.readable = p->flags & G_PARAM_READABLE;
  c.writable = p->flags & G_PARAM_WRITABLE;
  const GValue *def = g_param_spec_get_default_value(p);
  gchar *text = nullptr;
  switch (c.kind) {
  case dgdocs::Kind::Bool:
    c.default_text = g_value_get_boolean(def) ? "true" : "false";
    break;
  case dgdocs::Kind::String:
    c.default_is_null = g_value_get_string(def) == nullptr;
    c.default_text = c.default_is_null ? "" : g_value_get_string(def);
    break;
  case dgdocs::Kind::Enum: {
    GEnumValue *v = g_enum_get_value(G_PARAM_SPEC_ENUM(p)->enum_class, g_value_get_enum(def));
    c.default_text = v ? v->value_nick : "?";
    break;
  }
  case dgdocs::Kind::Int:
    text = g_strdup_printf("%d", g_value_get_int(def));
    break;
  case dgdocs::Kind::UInt:
    text = g_strdup_printf("%u", g_value_get_uint(def));
    break;
  case dgdocs::Kind::UInt64:
    text = g_strdup_printf("%" G_GUINT64_FORMAT, g_value_get_uint64(def));
    break;
  case dgdocs::Kind::Double:
    text = g_strdup_printf("%.17g", g_value_get_double(def));
    break;
  case dgdocs::Kind::Object:
  case dgdocs::Kind::Boxed:
    c.default_is_null = true;
    break;
  default:
    /* GstFraction and the like: as gst-inspect writes them (30000/1001). */
    text = gst_value_serialize(def);
    break;
  }
  if (text) {
    c.default_text = text;
    g_free(text);
  }
  return c;
}

/* The properties the element itself installs: not those of GstObject, GstElement, GstBin or
 * GstBaseSink, which GStreamer documents. */
std::vector<dgdocs::CodeProperty> element_properties(GType type) {
  std::vector<dgdocs::CodeProperty> out;
  auto *klass = static_cast<GObjectClass *>(g_type_class_ref(type));
  guint n = 0;
  GParamSpec **specs = g_object_class_list_properties(klass, &n);
  for (guint i = 0; i < n; i++)
    if (specs[i]->owner_type == type)
      out.push_back(describe(specs[i]));
  g_free(specs);
  g_type_class_unref(klass);
  return out;
}

std::vector<std::string> plugin_elements() {
  std::vector<std::string> names;
  GList *features = gst_registry_get_feature_list_by_plugin(gst_registry_get(), kPlugin);
  for (GList *l = features; l; l = l->next)
    if (GST_IS_ELEMENT_FACTORY(l->data))
      names.push_back(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(l->data)));
  gst_plugin_feature_list_free(features);
  return names;
}

void test_element_docs(gconstpointer data) {
  std::string element = static_cast<const char *>(data);
  GstElementFactory *factory = gst_element_factory_find(element.c_str());
  g_assert_nonnull(factory);
  auto *loaded = GST_ELEMENT_FACTORY(gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory)));
  g_assert_nonnull(loaded);
  GType type = gst_element_factory_get_element_type(loaded);
  auto code = element_properties(type);
  gst_object_unref(loaded);
  gst_object_unref(factory);
  g_assert_cmpuint(code.size(), >, 0);

  std::string path = std::string(DGF_DOCS_DIR) + "/" + element + ".md";
  std::ifstream in(path);
  if (!in) {
    g_test_message("%s: no reference page %s", element.c_str(), path.c_str());
    g_test_fail();
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto docs = dgdocs::parse_property_tables(text.str());
  auto problems = dgdocs::compare_properties(element, docs, code);
  for (const auto &p : problems)
    g_test_message("%s", p.c_str());
  g_test_message("%s: %zu properties in code, %zu documented, %zu problems", element.c_str(),
                 code.size(), docs.size(), problems.size());
  if (!problems.empty())
    g_test_fail();
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);

  static std::vector<std::string> elements = plugin_elements();
  /* A registry without the plugin must fail, not pass with nothing checked. */
  g_test_add_func("/docs/plugin-registers-the-elements", [] {
    for (const char *known : {"dgstreamsink", "dgbatchsink", "sttfailover"})
      g_assert_true(std::find(elements.begin(), elements.end(), known) != elements.end());
  });
  for (const auto &e : elements) {
    std::string path = "/docs/properties/" + e;
    g_test_add_data_func(path.c_str(), e.c_str(), test_element_docs);
  }
  return g_test_run();
}
