/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink's insides, shared by its source files (locks are described in
 * gstdgbatchsink.cpp):
 * - gstdgbatchsink.cpp: the type, the core's hooks, GstBaseSink and state
 *   changes;
 * - dg_batch_properties.cpp: properties and stats. */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "gstdgbatchsink.h"
#include "dg_batch_properties.h"
#include "breaker_context.h"
#include "dg_batch_core.h"
#include "dropped_audio.h"

GST_DEBUG_CATEGORY_EXTERN(gst_dg_batch_sink_debug);
#define GST_CAT_DEFAULT gst_dg_batch_sink_debug

namespace dgf::batchsink {

/* Per stream, reset in start() and on FLUSH_STOP; streaming thread only. */
struct StreamState {
  int rate = 0;
  int channels = 0;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;
  bool overflow_decided = false;
  bool block = false;
};

struct DgBatchSinkPrivate {
  std::mutex settings_lock;
  Settings settings;
  PipelineBreakers breakers; /* the pipeline's, through the dgf.breakers context */
  std::mutex core_lock;
  std::shared_ptr<BatchCore> core;
  std::atomic<bool> supervised{false}; /* stt/supervisor came: a failover reports for us */
  BatchStats last_stats;               /* of the last core, kept for reading after stop */
  DroppedAudioReporter dropped;
  StreamState stream;
};

} // namespace dgf::batchsink

struct _GstDgBatchSink {
  GstBaseSink parent;
  dgf::batchsink::DgBatchSinkPrivate *priv;
};

namespace dgf::batchsink {

/* gstdgbatchsink.cpp */
std::shared_ptr<BatchCore> get_core(GstDgBatchSink *self);

} // namespace dgf::batchsink
