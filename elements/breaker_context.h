/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pipeline's circuit breakers, shared the GStreamer way: through a
 * GstContext ("dgf.breakers"), as souphttpsrc shares its session.
 *
 * An element with an empty `breaker` name uses its pipeline's breaker for
 * the API it guards ("deepgram-live" for sttfailover and dgstreamsink,
 * "deepgram-prerecorded" for dgbatchsink): at NULL->READY it asks for the
 * context (NEED_CONTEXT: a bin that has one sets it synchronously, or the
 * application answers from its bus sync handler, e.g. to share one across
 * pipelines), else creates it and announces it (HAVE_CONTEXT), so every
 * element of the pipeline ends up with the same registry. A named breaker is
 * the process-wide one of that name, for separate pipelines that name one.
 * The registry is let go at READY->NULL.
 */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <mutex>
#include <string>

#include "breaker_registry.h"

namespace dgf {

constexpr const char *kBreakerContextType = "dgf.breakers";
constexpr const char *kLiveBreakerKey = "deepgram-live";
constexpr const char *kPrerecordedBreakerKey = "deepgram-prerecorded";

/* A GstContext carrying `registry` (field "registry"), for an application
 * that wants several pipelines on one set of breakers. */
GstContext *breaker_context_new(std::shared_ptr<BreakerRegistry> registry);
/* The registry a dgf.breakers context carries; nullptr for any other. */
std::shared_ptr<BreakerRegistry> breaker_context_registry(GstContext *context);

/* One element's view of its pipeline's breakers. Thread-safe. */
class PipelineBreakers {
public:
  /* From the element's set_context: keeps the registry if the context is ours. */
  void on_set_context(GstContext *context);
  /* NULL->READY: finds the pipeline's registry or creates and announces it. */
  void ensure(GstElement *element);
  /* READY->NULL. */
  void release();

  /* The breaker `name` names: empty, the pipeline's one under `key`; else the
   * process-wide breaker of that name. The first to create one sets its
   * settings; *conflict (optional) says when ours differ. Called from READY
   * on (after ensure()). */
  std::shared_ptr<Breaker> get(const std::string &name, const char *key,
                               const BreakerSettings &settings, std::string *conflict = nullptr);
  /* The live breaker `name` names, or nullptr when nobody made it yet. */
  std::shared_ptr<Breaker> find(const std::string &name, const char *key);
  /* The registry in use, for telling a change apart (nullptr: none yet). */
  const BreakerRegistry *registry() const;

private:
  mutable std::mutex mutex_;
  std::shared_ptr<BreakerRegistry> registry_;
};

} // namespace dgf
