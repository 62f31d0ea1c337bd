/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_test_support.h"

#include <algorithm>

#include "gststtfailover.h"

#include <gst/app/gstappsrc.h>

#include <cstdio>
#include <map>

namespace dgtest {

void init(int *argc, char ***argv) {
  gst_init(argc, argv);
  g_test_init(argc, argv, nullptr);
}

std::unique_ptr<dgemu::Emulator> start_emulator(dgemu::Options options) {
  auto emu = std::make_unique<dgemu::Emulator>(options);
  std::string error;
  if (!emu->start(&error))
    g_error("cannot start dg-emulator: %s", error.c_str());
  return emu;
}

void inject(dgemu::Emulator &emu, const std::string &json) {
  std::string error;
  if (emu.inject_json(json, &error).empty())
    g_error("inject %s: %s", json.c_str(), error.c_str());
}

BusLog::BusLog(GstElement *pipeline) : pipeline_(GST_ELEMENT(gst_object_ref(pipeline))) {
  GstBus *bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, on_message, this, nullptr);
  gst_object_unref(bus);
}

BusLog::~BusLog() {
  GstBus *bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(pipeline_);
  for (GstMessage *m : messages_)
    gst_message_unref(m);
}

GstBusSyncReply BusLog::on_message(GstBus *, GstMessage *message, gpointer data) {
  auto *self = static_cast<BusLog *>(data);
  GstMessageType type = GST_MESSAGE_TYPE(message);
  if (type == GST_MESSAGE_ELEMENT || type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING) {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->messages_.push_back(gst_message_ref(message));
  }
  self->posted_.notify_all();
  return GST_BUS_PASS;
}

bool BusLog::wait_for(const char *name, size_t count, GstClockTime timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return posted_.wait_for(lock, std::chrono::nanoseconds(timeout), [&] {
    size_t n = 0;
    for (GstMessage *m : messages_)
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
          gst_structure_has_name(gst_message_get_structure(m), name))
        n++;
    return n >= count;
  });
}

static std::vector<std::string> texts(const std::vector<GstMessage *> &messages,
                                      GstMessageType type);

bool BusLog::wait_for_warning(const char *text, GstClockTime timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return posted_.wait_for(lock, std::chrono::nanoseconds(timeout), [&] {
    for (const std::string &w : texts(messages_, GST_MESSAGE_WARNING))
      if (w.find(text) != std::string::npos)
        return true;
    return false;
  });
}

std::vector<dgf::stt::TimedTranscript> BusLog::finals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<dgf::stt::TimedTranscript> out;
  for (GstMessage *m : messages_)
    if (auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m); t && t->is_final)
      out.push_back(*t);
  return out;
}

std::vector<dgf::stt::TimedTranscript> BusLog::interims() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<dgf::stt::TimedTranscript> out;
  for (GstMessage *m : messages_)
    if (auto t = dgf::stt::parse<dgf::stt::TimedTranscript>(m); t && !t->is_final)
      out.push_back(*t);
  return out;
}

std::vector<dgf::stt::AudioDropped> BusLog::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<dgf::stt::AudioDropped> out;
  for (GstMessage *m : messages_)
    if (auto d = dgf::stt::parse<dgf::stt::AudioDropped>(m))
      out.push_back(*d);
  return out;
}

static std::vector<std::string> texts(const std::vector<GstMessage *> &messages,
                                      GstMessageType type) {
  std::vector<std::string> out;
  for (GstMessage *m : messages) {
    if (GST_MESSAGE_TYPE(m) != type)
      continue;
    GError *err = nullptr;
    gchar *debug = nullptr;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error(m, &err, &debug);
    else
      gst_message_parse_warning(m, &err, &debug);
    out.push_back(std::string(err ? err->message : "") + " | " + (debug ? debug : ""));
    g_clear_error(&err);
    g_free(debug);
  }
  return out;
}

std::vector<std::string> BusLog::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return texts(messages_, GST_MESSAGE_ERROR);
}

std::vector<std::string> BusLog::warnings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return texts(messages_, GST_MESSAGE_WARNING);
}

std::vector<GstStructure *> BusLog::element_messages(const char *name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<GstStructure *> out;
  for (GstMessage *m : messages_) {
    const GstStructure *s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, name))
      out.push_back(gst_structure_copy(s));
  }
  return out;
}

size_t BusLog::count(const char *name) const {
  auto list = element_messages(name);
  for (GstStructure *s : list)
    gst_structure_free(s);
  return list.size();
}

std::vector<std::string> BusLog::element_names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (GstMessage *m : messages_) {
    const GstStructure *s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s)
      out.push_back(gst_structure_get_name(s));
  }
  return out;
}

bool BusLog::run_to_end(GstClockTime timeout) {
  GstBus *bus = gst_element_get_bus(pipeline_);
  gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  GstMessage *end = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool eos = end && GST_MESSAGE_TYPE(end) == GST_MESSAGE_EOS;
  if (end)
    gst_message_unref(end);
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  gst_object_unref(bus);
  return eos;
}

guint64 stat_u64(GstElement *element, const char *field) {
  GstStructure *s = nullptr;
  g_object_get(element, "stats", &s, nullptr);
  guint64 v = 0;
  gboolean found = s && gst_structure_get_uint64(s, field, &v);
  if (s)
    gst_structure_free(s);
  if (!found)
    g_error("%s: no stats field %s", GST_OBJECT_NAME(element), field);
  return v;
}

GstBuffer *sequence_buffer(int rate, int channels, uint32_t first, uint32_t count, uint64_t pts,
                           dgemu::BlockKind kind) {
  std::vector<int16_t> pcm =
      dgemu::sequence_blocks(rate, channels, first, count, [kind](uint32_t) { return kind; });
  GstBuffer *buf = gst_buffer_new_memdup(pcm.data(), pcm.size() * sizeof(int16_t));
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = count * kBlockNs;
  return buf;
}

void push_sequence(GstElement *appsrc, int rate, int channels, uint32_t first, uint32_t count,
                   uint64_t origin, bool eos, const dgemu::BlockKindFn &kind) {
  for (uint32_t b = first; b < first + count; b++) {
    dgemu::BlockKind k = kind ? kind(b) : dgemu::BlockKind::speech;
    GstBuffer *buf = sequence_buffer(rate, channels, b, 1, origin + b * kBlockNs, k);
    gst_app_src_push_buffer(GST_APP_SRC(appsrc), buf);
  }
  if (eos)
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
}

std::string BlockReport::describe() const {
  std::string s = "expected " + std::to_string(expected) + ", once " + std::to_string(once);
  auto list = [&](const char *what, const std::vector<uint32_t> &v) {
    if (v.empty())
      return;
    s += std::string(", ") + what + " " + std::to_string(v.size()) + " [";
    for (size_t i = 0; i < v.size() && i < 12; i++)
      s += (i ? " " : "") + std::to_string(v[i]);
    s += v.size() > 12 ? " ...]" : "]";
  };
  list("missing", missing);
  list("duplicated", duplicated);
  list("mistimed", mistimed);
  if (!unknown.empty())
    s += ", unknown words " + std::to_string(unknown.size()) + " (first '" + unknown[0] + "')";
  return s;
}

BlockReport check_blocks(const std::vector<dgf::stt::TimedTranscript> &finals, uint32_t first,
                         uint32_t count, uint64_t origin, int channel, uint64_t tolerance,
                         const std::set<uint32_t> &excused) {
  BlockReport r;
  r.expected = count;
  std::map<uint32_t, std::vector<uint64_t>> seen;
  for (const auto &t : finals) {
    if (channel >= 0 && t.channel != channel)
      continue;
    for (const auto &w : t.words) {
      unsigned block = 0;
      if (std::sscanf(w.word.c_str(), "b%u", &block) != 1) {
        r.unknown.push_back(w.word);
        continue;
      }
      if (block < first || block >= first + count)
        continue; /* another check's range */
      seen[block].push_back(w.start);
    }
  }
  for (uint32_t b = first; b < first + count; b++) {
    auto it = seen.find(b);
    if (it == seen.end()) {
      if (excused.count(b))
        r.expected--;
      else
        r.missing.push_back(b);
      continue;
    }
    if (it->second.size() > 1) {
      r.duplicated.push_back(b);
      continue;
    }
    uint64_t want = origin + b * kBlockNs;
    uint64_t got = it->second[0];
    uint64_t err = got > want ? got - want : want - got;
    if (err > tolerance)
      r.mistimed.push_back(b);
    else
      r.once++;
  }
  return r;
}

static void replace_all(std::string &s, const std::string &from, const std::string &to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

std::string with_urls(const std::string &description, const dgemu::Emulator &emu) {
  std::string s = description;
  replace_all(s, "@WS@", emu.ws_url() + "/v1/listen");
  replace_all(s, "@HTTP@", emu.http_url() + "/v1/listen");
  return s;
}

StateRecorder::StateRecorder(GstElement *element) : element_(GST_ELEMENT(gst_object_ref(element))) {
  g_signal_connect(element_, "notify::state", G_CALLBACK(on_notify), this);
}

StateRecorder::~StateRecorder() {
  g_signal_handlers_disconnect_by_data(element_, this);
  gst_object_unref(element_);
}

void StateRecorder::on_notify(GObject *object, GParamSpec *, gpointer data) {
  auto *self = static_cast<StateRecorder *>(data);
  int state;
  g_object_get(object, "state", &state, nullptr);
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->states_.push_back(state);
  }
  self->changed_.notify_all();
}

void StateRecorder::wait(int state, int times) const {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, std::chrono::seconds(30), [&] {
        return std::count(states_.begin(), states_.end(), state) >= times;
      }))
    g_error("%s: state %d never reached %d time(s)", GST_ELEMENT_NAME(element_), state, times);
}

std::vector<int> StateRecorder::states() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return states_;
}

Cue cue_of(GstBuffer *buffer) {
  Cue c;
  c.pts = GST_BUFFER_PTS(buffer);
  c.duration = GST_BUFFER_DURATION(buffer);
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    c.text.assign(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(buffer, &map);
  }
  if (GstCustomMeta *m = gst_buffer_get_custom_meta(buffer, GST_STT_FAILOVER_TRANSCRIPT_META))
    if (const char *branch = gst_structure_get_string(gst_custom_meta_get_structure(m), "branch"))
      c.branch = branch;
  return c;
}

} // namespace dgtest
