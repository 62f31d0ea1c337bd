/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rehearsal.h"

#include <gst/app/gstappsrc.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "dg_test_support.h"

namespace nettest {

namespace {

constexpr int kRate = 16000;
constexpr const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

GstClockTime now_ns() {
  return static_cast<GstClockTime>(g_get_monotonic_time()) * GST_USECOND;
}

std::string description(Target t, const std::string &props) {
  /* block=true, 1 s queued at most: the pusher waits on appsrc and clocksync
   * lets each block go at its running time, as a live capture would. */
  std::string head = std::string("appsrc name=feed is-live=true format=time block=true "
                                 "max-bytes=32000 caps=") +
                     kCaps + " ! clocksync ! ";
  switch (t) {
  case Target::bin:
    return head +
           "dgtranscribebin name=dut stream-url=@WS@ batch-url=@HTTP@ "
           "api-key=test-key " +
           props + " ! fakesink sync=false async=false";
  case Target::stream:
    return head + "dgstreamsink name=dut url=@WS@ api-key=test-key " + props;
  case Target::batch:
    return head + "dgbatchsink name=dut url=@HTTP@ api-key=test-key " + props;
  }
  return "";
}

/* The bus, stamped: a sync handler records what the figures need. */
class Recorder {
public:
  Recorder(GstElement *pipeline, Recording *r) : pipeline_(pipeline), r_(r) {
    GstBus *bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, on_message, this, nullptr);
    gst_object_unref(bus);
  }
  ~Recorder() {
    GstBus *bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
  }
  void set_base(GstClockTime base) {
    std::lock_guard<std::mutex> lock(mutex_);
    base_ = base;
  }
  /* Until EOS or ERROR; false after timeout. */
  bool wait_end(GstClockTime timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return ended_.wait_for(lock, std::chrono::nanoseconds(timeout), [&] { return done_; });
  }
  GstClockTime rt(GstClockTime mono) const { return mono > base_ ? mono - base_ : 0; }
  std::mutex &mutex() { return mutex_; }

private:
  static GstBusSyncReply on_message(GstBus *, GstMessage *m, gpointer data) {
    auto *self = static_cast<Recorder *>(data);
    std::lock_guard<std::mutex> lock(self->mutex_);
    GstClockTime at = self->rt(now_ns());
    Recording &r = *self->r_;
    switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ELEMENT:
      if (auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m)) {
        if (t->is_final)
          r.finals.push_back({at, *t});
      } else if (auto d = dgf::stt::parse<dgf::stt::AudioDropped>(m)) {
        r.dropped.push_back({at, *d});
      } else if (gst_message_has_name(m, "stt/degraded") ||
                 gst_message_has_name(m, "stt/recovered")) {
        gchar *s = gst_structure_to_string(gst_message_get_structure(m));
        (gst_message_has_name(m, "stt/degraded") ? r.degraded : r.recovered).push_back({at, s});
        g_free(s);
      }
      break;
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ERROR: {
      GError *err = nullptr;
      gchar *debug = nullptr;
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING)
        gst_message_parse_warning(m, &err, &debug);
      else
        gst_message_parse_error(m, &err, &debug);
      std::string text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + err->message;
      (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING ? r.warnings : r.errors).push_back({at, text});
      g_clear_error(&err);
      g_free(debug);
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        self->done_ = true;
        r.ended = at;
        self->ended_.notify_all();
      }
      break;
    }
    case GST_MESSAGE_EOS:
      self->done_ = true;
      r.eos = true;
      r.ended = at;
      self->ended_.notify_all();
      break;
    default:
      break;
    }
    return GST_BUS_PASS;
  }

  GstElement *pipeline_;
  Recording *r_;
  std::mutex mutex_;
  std::condition_variable ended_;
  GstClockTime base_ = 0;
  bool done_ = false;
};

/* The dgstreamsink inside a dgtranscribebin (a ref), or nullptr. */
GstElement *live_sink_of(GstElement *bin) {
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(bin));
  GValue item = G_VALUE_INIT;
  GstElement *found = nullptr;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto *e = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory *f = gst_element_get_factory(e);
    if (f && g_strcmp0(GST_OBJECT_NAME(f), "dgstreamsink") == 0)
      found = GST_ELEMENT(gst_object_ref(e));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}

uint64_t field_u64(const GstStructure *s, const char *name) {
  guint64 v = 0;
  return gst_structure_get_uint64(s, name, &v) ? v : 0;
}

/* Waits on the pipeline clock until running time `at` (false: stopped). */
bool wait_until(GstClock *clock, GstClockTime base, double at_s, std::atomic<bool> &stop) {
  GstClockTime target = base + static_cast<GstClockTime>(at_s * GST_SECOND);
  /* In steps, so that a stop request is seen within 200 ms. */
  while (!stop && gst_clock_get_time(clock) < target) {
    GstClockTime step = std::min(target, gst_clock_get_time(clock) + 200 * GST_MSECOND);
    GstClockID id = gst_clock_new_single_shot_id(clock, step);
    gst_clock_id_wait(id, nullptr);
    gst_clock_id_unref(id);
  }
  return !stop;
}

} // namespace

const char *name(Target t) {
  switch (t) {
  case Target::bin:
    return "dgtranscribebin";
  case Target::stream:
    return "dgstreamsink";
  case Target::batch:
    return "dgbatchsink";
  }
  return "?";
}

bool parse_target(const std::string &text, Target *t) {
  for (Target c : {Target::bin, Target::stream, Target::batch})
    if (text == name(c) || (text == "bin" && c == Target::bin) ||
        (text == "stream" && c == Target::stream) || (text == "batch" && c == Target::batch)) {
      *t = c;
      return true;
    }
  return false;
}

Recording rehearse(const Scenario &s, Target target, const dgemu::Emulator &emu, NetControl &net) {
  Recording r;
  r.target = target;
  r.scenario = s;
  std::string error;
  /* Whole-run conditions go in before the first byte. */
  if (!s.rate.empty() && !net.shape(s.rate, &error))
    r.setup_error = error;
  if (s.loss_percent > 0 && !net.loss(s.loss_percent, emu.port(), &error))
    r.setup_error = error;
  if (!r.setup_error.empty())
    return r;

  GError *err = nullptr;
  GstElement *pipeline =
      gst_parse_launch(dgtest::with_urls(description(target, s.dut_properties), emu).c_str(), &err);
  if (!pipeline) {
    r.setup_error = std::string("pipeline: ") + (err ? err->message : "?");
    g_clear_error(&err);
    return r;
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "feed");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "dut");
  /* Whose stats are sampled: the sink, or the bin's live sink (its
   * connection attempts during an outage). */
  GstElement *sampled =
      target == Target::bin ? live_sink_of(sink) : GST_ELEMENT(gst_object_ref(sink));
  auto recorder = std::make_unique<Recorder>(pipeline, &r);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
  GstClock *clock = gst_pipeline_get_clock(GST_PIPELINE(pipeline));
  GstClockTime base = gst_element_get_base_time(pipeline);
  recorder->set_base(base);

  /* Quiet blocks are sent but owe no word. */
  dgemu::BlockKindFn pattern = dgemu::sequence_pattern(s.pattern); /* empty: all speech */
  auto kind = [&](uint32_t b) { return pattern ? pattern(b) : dgemu::BlockKind::speech; };
  std::vector<uint32_t> sent;
  uint32_t total = static_cast<uint32_t>(s.seconds * 10 + 0.5);
  for (uint32_t b = 0; b < total; b++) {
    double t = b / 10.0;
    if (t >= s.pause_at && t < s.pause_at + s.pause_for)
      continue;
    sent.push_back(b);
    if (kind(b) == dgemu::BlockKind::speech)
      r.fed.push_back(b);
  }

  std::atomic<bool> stop{false};
  std::thread pusher([&] {
    for (uint32_t b : sent) {
      if (stop)
        break;
      GstBuffer *buf = dgtest::sequence_buffer(kRate, 1, b, 1, b * dgtest::kBlockNs, kind(b));
      if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) != GST_FLOW_OK)
        break;
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
  });

  std::thread sampler([&] {
    if (!sampled)
      return;
    while (!stop) {
      GstStructure *st = nullptr;
      g_object_get(sampled, "stats", &st, nullptr);
      if (st) {
        StatsSample x;
        x.at = recorder->rt(now_ns());
        x.failures = field_u64(st, "failures");
        x.connections = field_u64(st, "connections");
        x.connect_attempts = field_u64(st, "connect-attempts");
        x.uploaded = field_u64(st, "audio-uploaded");
        x.requests = field_u64(st, "requests");
        x.in_flight = field_u64(st, "in-flight");
        if (const char *state = gst_structure_get_string(st, "state"))
          x.state = state;
        gst_structure_free(st);
        std::lock_guard<std::mutex> lock(recorder->mutex());
        r.stats.push_back(x);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50)); /* sampling, not waiting */
    }
  });

  if (s.blackhole_at >= 0 && wait_until(clock, base, s.blackhole_at, stop)) {
    GstClockTime at = recorder->rt(now_ns());
    bool ok = net.blackhole(emu.port(), &error);
    {
      std::lock_guard<std::mutex> lock(recorder->mutex());
      r.event = at;
      if (!ok)
        r.setup_error = error;
    }
    if (ok && wait_until(clock, base, s.blackhole_at + s.blackhole_for, stop)) {
      at = recorder->rt(now_ns());
      ok = net.restore(&error);
      std::lock_guard<std::mutex> lock(recorder->mutex());
      r.restored = at;
      if (!ok)
        r.setup_error = error;
    }
  }

  /* The audio lasts s.seconds of running time; then the drain. */
  recorder->wait_end(static_cast<GstClockTime>((s.seconds + s.drain_s) * GST_SECOND));
  stop = true;
  /* Unblocks a pusher still waiting on a full appsrc. */
  gst_element_set_state(pipeline, GST_STATE_NULL);
  pusher.join();
  sampler.join();
  recorder.reset();
  gst_object_unref(clock);
  gst_object_unref(src);
  gst_object_unref(sink);
  if (sampled)
    gst_object_unref(sampled);
  gst_object_unref(pipeline);
  /* Later runs in this namespace start from a clean network. */
  net.restore(nullptr);
  return r;
}

} // namespace nettest
