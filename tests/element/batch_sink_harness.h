/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test rig for dgbatchsink: the sink in a GstHarness against an in-process
 * dg-emulator on 127.0.0.1 (port 0). Collects what the sink says on the bus
 * (stt/transcript, stt/audio-dropped, warnings, errors) and upstream
 * (stt/transcript, stt/ack), in arrival order, and waits for it without
 * sleeping. Header-only so each element test links just what it uses.
 */
#pragma once

#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "dg_test_support.h"
#include "emulator.h"
#include "sequence_audio.h"
#include "stt_protocol.h"

/* g_test assertion with a printf-style explanation. */
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (G_UNLIKELY(!(cond))) {                                                                     \
      gchar *why_ = g_strdup_printf(" " __VA_ARGS__);                                              \
      g_error("%s:%d: check failed: %s:%s", __FILE__, __LINE__, #cond, why_);                      \
    }                                                                                              \
  } while (0)

namespace batchtest {

using namespace dgf;

struct GstErrorInfo {
  GQuark domain = 0;
  int code = 0;
  std::string text, debug;
  unsigned http_status = 0;
  uint64_t start = 0, duration = 0;
};

/* An upstream event as it arrived: a transcript, or an ack. */
struct Upstream {
  bool is_ack = false;
  stt::Ack ack;
  stt::TimedTranscript transcript;
};

inline std::string unique_breaker_name() {
  static int n = 0;
  return "batch-test-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

/* Runs the sink's retry, backoff and drain timers on `clock` (a GstTestClock):
 * a "dgf.timer-clock" GstContext, the test-only way in (no property). */
inline void use_timer_clock(GstElement *sink, GstClock *clock) {
  GstContext *context = gst_context_new("dgf.timer-clock", FALSE);
  gst_structure_set(gst_context_writable_structure(context), "clock", GST_TYPE_CLOCK, clock,
                    nullptr);
  gst_element_set_context(sink, context);
  gst_context_unref(context);
}

class Rig {
public:
  /* `configure` sets sink properties before the harness starts it. */
  Rig(const std::string &url, int rate, int channels,
      const std::function<void(GstElement *)> &configure = {})
      : rate_(rate), channels_(channels) {
    sink_ = gst_element_factory_make("dgbatchsink", nullptr);
    CHECK(sink_ != nullptr, "dgbatchsink not found (GST_PLUGIN_PATH?)");
    std::string breaker = unique_breaker_name();
    g_object_set(sink_, "url", (url + "/v1/listen").c_str(), "api-key", "test-key", "breaker",
                 breaker.c_str(), nullptr);
    if (configure)
      configure(sink_);
    g_signal_connect(sink_, "notify::stats", G_CALLBACK(on_stats_notify), this);
    bus_ = gst_bus_new();
    gst_element_set_bus(sink_, bus_);
    gst_bus_set_sync_handler(bus_, on_bus, this, nullptr);
    h_ = gst_harness_new_with_element(sink_, "sink", nullptr);
    gst_pad_add_probe(h_->srcpad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream, this, nullptr);
    gchar *caps = g_strdup_printf("audio/x-raw,format=S16LE,layout=interleaved,rate=%d,"
                                  "channels=%d",
                                  rate, channels);
    gst_harness_set_src_caps_str(h_, caps);
    g_free(caps);
  }

  ~Rig() {
    /* Stop the sink first: gst_harness_teardown disposes its pads before it
     * stops the element, and the sink may still be sending events up. */
    gst_element_set_state(sink_, GST_STATE_NULL);
    gst_harness_teardown(h_);
    gst_bus_set_flushing(bus_, TRUE);
    gst_object_unref(bus_);
  }

  GstElement *sink() { return sink_; }
  GstHarness *harness() { return h_; }

  /* Pushes interleaved audio starting at frame `first_frame` of the stream
   * in buffers of `frames_per_buffer`; returns the first non-OK flow. */
  GstFlowReturn push(const std::vector<int16_t> &audio, uint64_t first_frame,
                     size_t frames_per_buffer) {
    size_t frames = audio.size() / channels_;
    for (size_t at = 0; at < frames; at += frames_per_buffer) {
      size_t n = std::min(frames_per_buffer, frames - at);
      GstBuffer *buf =
          gst_buffer_new_memdup(audio.data() + at * channels_, n * channels_ * sizeof(int16_t));
      GST_BUFFER_PTS(buf) = frames_to_ns(first_frame + at);
      GST_BUFFER_DURATION(buf) = frames_to_ns(first_frame + at + n) - GST_BUFFER_PTS(buf);
      GstFlowReturn ret = gst_harness_push(h_, buf);
      if (ret != GST_FLOW_OK)
        return ret;
    }
    return GST_FLOW_OK;
  }

  /* Sequence blocks [first, first + count) at their own times. */
  GstFlowReturn push_blocks(uint32_t first, uint32_t count, const dgemu::BlockKindFn &kind,
                            size_t frames_per_buffer) {
    std::vector<int16_t> audio = dgemu::sequence_blocks(rate_, channels_, first, count, kind);
    CHECK(!audio.empty());
    uint64_t block_frames = dgemu::sequence_block_samples(rate_);
    return push(audio, first * block_frames, frames_per_buffer);
  }

  void flush(uint32_t flush_id) {
    CHECK(gst_harness_push_event(h_, stt::make_event(stt::Flush{flush_id, "test"})));
  }
  /* Returns when the sink has finished with EOS (drained or timed out). */
  gboolean eos() { return gst_harness_push_event(h_, gst_event_new_eos()); }

  uint64_t frames_to_ns(uint64_t frames) const {
    return gst_util_uint64_scale(frames, GST_SECOND, rate_);
  }

  /* Waits (at most `seconds` of wall time) until `done()` holds, taking the
   * lock around it; false on timeout. */
  bool wait_for(const std::function<bool()> &done, double seconds = 30) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::duration<double>(seconds), done);
  }

  /* Everything collected so far; read under lock() or after wait_for(). */
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  std::vector<stt::TimedTranscript> transcripts; /* bus messages */
  std::vector<stt::AudioDropped> dropped;
  std::vector<GstErrorInfo> warnings, errors;
  std::vector<Upstream> upstream;
  std::vector<std::string> order;  /* "t:<start>", "ack:<pos>", "flush:<id>", "drained" */
  std::vector<stt::Health> health; /* the sink's reports on the service, in order */
  unsigned stats_notifies = 0;
  /* Called from the sink's thread for each upstream event, without the lock. */
  std::function<void(const Upstream &)> upstream_hook;

  std::vector<stt::Ack> acks() {
    std::vector<stt::Ack> out;
    for (const Upstream &u : upstream) {
      if (u.is_ack)
        out.push_back(u.ack);
    }
    return out;
  }

  GstStructure *stats() {
    GstStructure *s = nullptr;
    g_object_get(sink_, "stats", &s, nullptr);
    return s;
  }
  guint64 stat_u64(const char *field) { return dgtest::stat_u64(sink_, field); }
  /* An audio amount from stats (guint64 ns), in seconds. */
  double stat_seconds(const char *field) {
    GstStructure *s = stats();
    guint64 v = 0;
    CHECK(gst_structure_get_uint64(s, field, &v), "no stats field %s", field);
    gst_structure_free(s);
    return static_cast<double>(v) / GST_SECOND;
  }

private:
  static GstBusSyncReply on_bus(GstBus *, GstMessage *msg, gpointer data) {
    auto *self = static_cast<Rig *>(data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (auto t = stt::parse<stt::TimedTranscript>(msg)) {
      self->transcripts.push_back(*t);
    } else if (auto d = stt::parse<stt::AudioDropped>(msg)) {
      self->dropped.push_back(*d);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING ||
               GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gchar *debug = nullptr;
      const GstStructure *details = nullptr;
      GstErrorInfo info;
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        gst_message_parse_warning(msg, &err, &debug);
        gst_message_parse_warning_details(msg, &details);
      } else {
        gst_message_parse_error(msg, &err, &debug);
        gst_message_parse_error_details(msg, &details);
      }
      info.domain = err->domain;
      info.code = err->code;
      info.text = err->message;
      info.debug = debug ? debug : "";
      if (details) {
        gst_structure_get_uint(details, "http-status-code", &info.http_status);
        gst_structure_get_uint64(details, "start", &info.start);
        gst_structure_get_uint64(details, "duration", &info.duration);
      }
      g_clear_error(&err);
      g_free(debug);
      (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING ? self->warnings : self->errors)
          .push_back(info);
    }
    self->cv_.notify_all();
    gst_message_unref(msg);
    return GST_BUS_DROP;
  }

  static void on_stats_notify(GObject *, GParamSpec *, gpointer data) {
    auto *self = static_cast<Rig *>(data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->stats_notifies++;
    self->cv_.notify_all();
  }

  static GstPadProbeReturn on_upstream(GstPad *, GstPadProbeInfo *info, gpointer data) {
    auto *self = static_cast<Rig *>(data);
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    Upstream u;
    if (auto a = stt::parse<stt::Ack>(event)) {
      u.is_ack = true;
      u.ack = *a;
    } else if (auto t = stt::parse<stt::TimedTranscript>(event)) {
      u.transcript = *t;
    } else if (auto health = stt::parse<stt::Health>(event)) {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->health.push_back(*health);
      self->cv_.notify_all();
      return GST_PAD_PROBE_OK;
    } else {
      return GST_PAD_PROBE_OK;
    }
    if (self->upstream_hook)
      self->upstream_hook(u);
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (u.is_ack) {
      self->order.push_back(u.ack.drained    ? std::string("drained")
                            : u.ack.flush_id ? "flush:" + std::to_string(u.ack.flush_id)
                                             : "ack:" + std::to_string(u.ack.position));
    } else {
      self->order.push_back("t:" + std::to_string(u.transcript.start));
    }
    self->upstream.push_back(u);
    self->cv_.notify_all();
    return GST_PAD_PROBE_OK;
  }

  int rate_, channels_;
  GstElement *sink_ = nullptr;
  GstBus *bus_ = nullptr;
  GstHarness *h_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
};

using dgtest::start_emulator; /* fails the test when it cannot start */

using dgtest::inject;

/* Word "b000123" -> 123; -1 when not a sequence word. */
inline long block_of(const std::string &word) {
  if (word.size() != 7 || word[0] != 'b')
    return -1;
  return std::strtol(word.c_str() + 1, nullptr, 10);
}

/* gst_init, g_test_init (TAP with --tap), the tests, run. */
inline int run_tests(int argc, char **argv,
                     const std::vector<std::pair<const char *, void (*)()>> &tests) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  for (const auto &t : tests)
    g_test_add_func(t.first, t.second);
  return g_test_run();
}

} // namespace batchtest
