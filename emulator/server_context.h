/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: what the request handlers share (one per running emulator).
 * Everything here is used on the server thread, except the recognizer
 * factory, the counters and the meter, which batch workers and recognition
 * threads also use. */
#pragma once

#include <json-glib/json-glib.h>

#include "counters.h"
#include "engine.h"
#include "faults.h"
#include "listen_options.h"
#include "recognition_meter.h"
#include "recognition_pool.h"

#include <glib.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace dgemu {

struct ModelInfo {
  std::string name;
  std::string version;
  std::string arch;
  std::string uuid;
};

/* Deepgram-like model facts for a request's `model` on this engine; the uuid
 * is stable for an engine and model. */
ModelInfo make_model_info(const std::string &engine_name, const std::string &model);

/* Adds Metadata's "models" ([uuid]) and "model_info" ({uuid: {name, version,
 * arch}}) members, as both the live and the pre-recorded API send them. */
void add_models_metadata(JsonBuilder *b, const ModelInfo &model);

/* A random version 4 UUID (request ids). */
std::string new_request_id();

/* ISO 8601 UTC with milliseconds, as Deepgram's "created". */
std::string iso_now();

struct ServerContext {
  std::shared_ptr<Engine> engine;
  std::mutex engine_mutex;
  CounterStore *counters = nullptr;
  FaultController *faults = nullptr;
  std::string api_key;
  double idle_timeout_s = 10.0;
  double lag_warning_s = 2.0;           /* a live connection this far behind is logged */
  unsigned batch_concurrency = 0;       /* pre-recorded requests at once; 0: no cap */
  GMainContext *main_context = nullptr; /* the server thread's */
  /* Recognition threads; null when the engine never lags (sequence). */
  std::shared_ptr<RecognitionPool> pool;
  RecognitionMeter meter;

  std::unique_ptr<Recognizer> create_recognizer(int sample_rate) {
    std::lock_guard<std::mutex> lock(engine_mutex);
    return engine->create(sample_rate);
  }
  /* For a live connection: on the recognition threads when there are some
   * (an AsyncRecognizer); on_ready then runs on the server thread whenever
   * it has recognized more. */
  std::unique_ptr<Recognizer> create_live_recognizer(int sample_rate,
                                                     std::function<void()> on_ready);
  std::string engine_name() const { return engine ? engine->name() : "none"; }
};

/* Splits interleaved S16 into the channels the server transcribes: every
 * channel with multichannel, else one channel holding the average of all
 * (a downmix, as a mono recognizer hears a mixed-down stream). */
void split_channels(const int16_t *interleaved, size_t frames, int channels, bool multichannel,
                    std::vector<std::vector<int16_t>> *out);

} // namespace dgemu
