/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Posting stt/audio-dropped, the one way every element does it.
 *
 * The element message carries each stretch exactly (for applications); a
 * bus WARNING says it in words for gst-launch-1.0 users, rate-limited per
 * reason (drop_warnings.h) so that a long outage is a few lines, each saying
 * how many reports it stands for.
 */
#pragma once

#include <gst/gst.h>

#include <mutex>

#include "drop_warnings.h"
#include "stt_protocol.h"

class DroppedAudioReporter {
public:
  /* Posts `d` from `element`; `warn` false when the element already said it
   * another way (a rejected chunk has its own WARNING). Any thread. */
  void post(GstElement *element, const dgf::stt::AudioDropped &d, bool warn = true);
  /* A new run (READY → PAUSED): every reason warns again. */
  void reset();

private:
  std::mutex lock_;
  dgf::DropWarnings warnings_;
};
