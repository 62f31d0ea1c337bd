/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "breaker_context.h"

namespace {

/* The boxed value in the context: a reference on the shared registry. */
struct DgfBreakerRegistryRef {
  std::shared_ptr<dgf::BreakerRegistry> registry;
};

gpointer registry_ref_copy(gpointer boxed) {
  return new DgfBreakerRegistryRef(*static_cast<DgfBreakerRegistryRef *>(boxed));
}

void registry_ref_free(gpointer boxed) {
  delete static_cast<DgfBreakerRegistryRef *>(boxed);
}

GType registry_ref_get_type() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    /* A test that compiles an element in may also load the plugin: one type. */
    GType t = g_type_from_name("DgfBreakerRegistryRef");
    if (!t)
      t = g_boxed_type_register_static("DgfBreakerRegistryRef", registry_ref_copy,
                                       registry_ref_free);
    g_once_init_leave(&type, t);
  }
  return type;
}

} // namespace

namespace dgf {

std::shared_ptr<BreakerRegistry> breaker_context_registry(GstContext *context) {
  if (!g_str_equal(gst_context_get_context_type(context), kBreakerContextType))
    return nullptr;
  const GValue *v = gst_structure_get_value(gst_context_get_structure(context), "registry");
  if (!v || !G_VALUE_HOLDS(v, registry_ref_get_type()))
    return nullptr;
  auto *ref = static_cast<DgfBreakerRegistryRef *>(g_value_get_boxed(v));
  return ref ? ref->registry : nullptr;
}

GstContext *breaker_context_new(std::shared_ptr<BreakerRegistry> registry) {
  GstContext *context = gst_context_new(kBreakerContextType, TRUE);
  DgfBreakerRegistryRef ref{std::move(registry)};
  gst_structure_set(gst_context_writable_structure(context), "registry", registry_ref_get_type(),
                    &ref, nullptr);
  return context;
}

void PipelineBreakers::on_set_context(GstContext *context) {
  auto registry = breaker_context_registry(context);
  if (!registry)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  registry_ = std::move(registry);
}

void PipelineBreakers::ensure(GstElement *element) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (registry_)
      return;
  }
  /* A bin that already has the context answers by calling set_context on
   * us before post_message returns; so may the application. */
  gst_element_post_message(element,
                           gst_message_new_need_context(GST_OBJECT(element), kBreakerContextType));
  std::shared_ptr<BreakerRegistry> made;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (registry_)
      return;
    registry_ = made = std::make_shared<BreakerRegistry>();
  }
  GST_INFO_OBJECT(element, "new pipeline breakers (%s context)", kBreakerContextType);
  GstContext *context = breaker_context_new(made);
  gst_element_set_context(element, context); /* kept for our own later queries */
  gst_element_post_message(element, gst_message_new_have_context(GST_OBJECT(element), context));
}

void PipelineBreakers::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  registry_.reset();
}

std::shared_ptr<Breaker> PipelineBreakers::get(const std::string &name, const char *key,
                                               const BreakerSettings &settings,
                                               std::string *conflict) {
  if (!name.empty())
    return BreakerRegistry::global().get(name, settings, conflict);
  std::shared_ptr<BreakerRegistry> registry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    registry = registry_;
  }
  if (!registry) {
    /* Elements take breakers only from READY on, after ensure(); outside a
     * pipeline's state changes this stays a working breaker of its own. */
    return std::make_shared<Breaker>(key, settings);
  }
  return registry->get(key, settings, conflict);
}

std::shared_ptr<Breaker> PipelineBreakers::find(const std::string &name, const char *key) {
  if (!name.empty())
    return BreakerRegistry::global().find(name);
  std::lock_guard<std::mutex> lock(mutex_);
  return registry_ ? registry_->find(key) : nullptr;
}

const BreakerRegistry *PipelineBreakers::registry() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return registry_.get();
}

} // namespace dgf
