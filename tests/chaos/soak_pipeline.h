/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pipeline the chaos tier runs: appsrc ! sttfailover with a
 * `queue ! dgstreamsink` and a `queue ! dgbatchsink` branch against the
 * emulator, captions into an appsink named "text". Short timeouts and fast
 * recovery, so that seconds of soak see many transitions. */
#pragma once

#include <string>

namespace chaos {

/* With @WS@ / @HTTP@ for dgtest::with_urls(). `breaker` names the live
 * breaker shared by every pipeline given the same name (the batch sinks
 * share `breaker`-batch). */
std::string soak_pipeline_description(int rate, int channels, const std::string &breaker);

} // namespace chaos
