/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "live_feed.h"

#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace livefeed {

static void drop_log(const gchar *, GLogLevelFlags, const gchar *, gpointer) {}

void quiet_network_debug() {
  for (const char *domain : {"libsoup", "GLib-GIO"})
    g_log_set_handler(domain, G_LOG_LEVEL_DEBUG, drop_log, nullptr);
}

/* ---- what is installed ---------------------------------------------------------------------- */

static bool exists(const std::string &factory) {
  GstElementFactory *f = gst_element_factory_find(factory.c_str());
  if (!f)
    return false;
  gst_object_unref(f);
  return true;
}

std::string first_available(const std::vector<std::string> &factories) {
  for (const auto &f : factories)
    if (exists(f))
      return f;
  return "";
}

std::string missing(const std::vector<std::string> &factories) {
  std::string out;
  for (const auto &f : factories)
    if (!exists(f))
      out += (out.empty() ? "" : ", ") + f;
  return out;
}

Codecs codecs() {
  Codecs c;
  c.aac_enc = first_available({"voaacenc", "avenc_aac"});
  c.aac_dec = first_available({"avdec_aac"});
  c.mp2_enc = first_available({"twolamemp2enc", "avenc_mp2"});
  c.mp2_dec = first_available({"mpg123audiodec", "avdec_mp2float"});
  c.h264_enc = first_available({"x264enc", "openh264enc"});
  c.h264_dec = first_available({"avdec_h264", "openh264dec"});
  return c;
}

/* ---- the speech ------------------------------------------------------------------------------ */

Program make_program(const std::vector<librivox::Utterance> &clips, double sent_seconds,
                     double gap_start, double gap_length) {
  Program p;
  auto silence_until = [&p](double seconds) {
    size_t until = static_cast<size_t>(std::llround(seconds * kRate));
    if (until > p.audio.size())
      p.audio.resize(until, 0);
  };
  bool gap_placed = gap_length <= 0;
  for (size_t i = 0; !clips.empty() && p.seconds() - p.gap_length < sent_seconds; i++) {
    const librivox::Utterance &u = clips[i % clips.size()];
    double length = static_cast<double>(u.audio.size()) / kRate;
    if (!gap_placed && p.seconds() + 1.0 + length > gap_start) {
      silence_until(gap_start + gap_length);
      p.gap_start = gap_start;
      p.gap_length = gap_length;
      gap_placed = true;
    }
    silence_until(p.seconds() + 1.0);
    double begin = p.seconds();
    p.audio.insert(p.audio.end(), u.audio.begin(), u.audio.end());
    p.clips.emplace_back(begin, p.seconds());
    p.reference.insert(p.reference.end(), u.reference.begin(), u.reference.end());
    /* Each word's middle, spread over the clip by its letters (+1 for the
     * space): long words take longer to say. */
    size_t letters = 0;
    for (const auto &w : u.reference)
      letters += w.size() + 1;
    size_t before = 0;
    for (const auto &w : u.reference) {
      p.word_times.push_back(begin + length * (before + (w.size() + 1) / 2.0) / letters);
      before += w.size() + 1;
    }
  }
  silence_until(p.seconds() + 1.0);
  return p;
}

/* ---- the emulator --------------------------------------------------------------------------- */

std::unique_ptr<dgemu::Emulator> start_emulator(const std::string &engine, std::string *error) {
  dgemu::Options options;
  options.engine = engine;
  auto emu = std::make_unique<dgemu::Emulator>(options);
  if (!emu->start(error))
    return nullptr;
  return emu;
}

/* ---- transports ----------------------------------------------------------------------------- */

const char *name(Transport t) {
  switch (t) {
  case Transport::ts_aac:
    return "ts-aac";
  case Transport::ts_mp2:
    return "ts-mp2";
  case Transport::rtp_l16:
    return "rtp-l16";
  case Transport::srt:
    return "srt";
  }
  return "?";
}

bool parse_transport(const std::string &text, Transport *t) {
  for (Transport c : {Transport::ts_aac, Transport::ts_mp2, Transport::rtp_l16, Transport::srt})
    if (text == name(c)) {
      *t = c;
      return true;
    }
  return false;
}

std::string missing_for(Transport t, bool video) {
  Codecs c = codecs();
  /* Not dgtranscribebin: the plugin under test missing is a failure (the
   * pipeline does not parse), never a skip. */
  std::vector<std::string> need{"appsrc", "clocksync", "audioconvert", "audioresample", "fakesink"};
  std::string out;
  auto want_one = [&out](const std::string &picked, const char *choices) {
    if (picked.empty())
      out += (out.empty() ? "" : ", ") + std::string(choices);
  };
  switch (t) {
  case Transport::ts_aac:
  case Transport::srt:
    need.insert(need.end(), {"mpegtsmux", "tsdemux", "aacparse"});
    want_one(c.aac_enc, "voaacenc or avenc_aac");
    want_one(c.aac_dec, "avdec_aac");
    if (t == Transport::srt)
      need.insert(need.end(), {"srtsink", "srtsrc"});
    else
      need.insert(need.end(), {"udpsink", "udpsrc"});
    break;
  case Transport::ts_mp2:
    need.insert(need.end(), {"mpegtsmux", "tsdemux", "mpegaudioparse", "udpsink", "udpsrc"});
    want_one(c.mp2_enc, "twolamemp2enc or avenc_mp2");
    want_one(c.mp2_dec, "mpg123audiodec or avdec_mp2float");
    break;
  case Transport::rtp_l16:
    need.insert(need.end(), {"rtpL16pay", "rtpL16depay", "rtpjitterbuffer", "udpsink", "udpsrc"});
    break;
  }
  if (video) {
    need.insert(need.end(), {"videotestsrc", "videoconvert", "h264parse", "textoverlay", "queue"});
    want_one(c.h264_enc, "x264enc or openh264enc");
    want_one(c.h264_dec, "avdec_h264 or openh264dec");
  }
  std::string absent = missing(need);
  if (!absent.empty())
    out = absent + (out.empty() ? "" : ", ") + out;
  return out;
}

Link::Link(Transport t) : transport_(t) {
  GError *error = nullptr;
  GSocket *s =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (!s)
    g_error("UDP socket: %s", error->message);
  GInetAddress *loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *any_port = g_inet_socket_address_new(loopback, 0);
  if (!g_socket_bind(s, any_port, FALSE, &error))
    g_error("bind 127.0.0.1:0: %s", error->message);
  g_object_unref(any_port);
  g_object_unref(loopback);
  GSocketAddress *local = g_socket_get_local_address(s, &error);
  if (!local)
    g_error("local address: %s", error->message);
  port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
  g_object_unref(local);
  if (t == Transport::srt)
    g_object_unref(s); /* closed: the SRT listener binds the port itself */
  else
    socket_ = s;
}

Link::~Link() {
  if (socket_)
    g_object_unref(socket_);
}

static std::string aac_encoder(const Codecs &c) {
  if (c.aac_enc == "voaacenc")
    return "voaacenc bitrate=128000";
  return c.aac_enc + " bitrate=128000";
}

static std::string mp2_encoder(const Codecs &c) {
  if (c.mp2_enc == "twolamemp2enc")
    return "twolamemp2enc bitrate=192";
  return c.mp2_enc + " bitrate=192000";
}

static std::string h264_encoder(const Codecs &c) {
  if (c.h264_enc == "x264enc")
    return "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=12 bitrate=600";
  return c.h264_enc + " gop-size=12 bitrate=600000";
}

std::string sender_description(const Link &link, const Codecs &c, bool video,
                               double video_seconds) {
  const int port = link.port();
  std::string s = "appsrc name=audio format=time is-live=false "
                  "caps=audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1 ! "
                  "clocksync name=pace ! audioconvert ! audioresample ! ";
  std::string net =
      "udpsink name=net host=127.0.0.1 port=" + std::to_string(port) + " sync=false async=false";
  switch (link.transport()) {
  case Transport::rtp_l16:
    return s + "audio/x-raw,format=S16BE,layout=interleaved,rate=16000,channels=1 ! " +
           "rtpL16pay pt=96 ! " + net;
  case Transport::ts_mp2:
    s += "audio/x-raw,rate=48000,channels=2 ! " + mp2_encoder(c) + " ! mpegaudioparse ! ";
    break;
  case Transport::ts_aac:
  case Transport::srt:
    s += "audio/x-raw,rate=48000,channels=2 ! " + aac_encoder(c) + " ! aacparse ! ";
    break;
  }
  if (link.transport() == Transport::srt)
    net = "srtsink name=net uri=\"srt://127.0.0.1:" + std::to_string(port) +
          "?mode=caller\" sync=false async=false";
  s += "queue ! mux.  mpegtsmux name=mux alignment=7 ! " + net;
  if (video) {
    long frames = std::lround(video_seconds * kVideoFps);
    s += "  videotestsrc is-live=true pattern=black num-buffers=" + std::to_string(frames) +
         " ! video/x-raw,width=320,height=240,framerate=" + std::to_string(kVideoFps) +
         "/1 ! videoconvert ! " + h264_encoder(c) +
         " ! h264parse config-interval=-1 ! queue ! mux.";
  }
  return s;
}

std::string receiver_head(const Link &link, const Codecs &c) {
  const std::string ts_udp = "udpsrc name=net caps=\"video/mpegts,systemstream=(boolean)true,"
                             "packetsize=(int)188\" ! tsdemux name=d ";
  /* The caps after `d.` pick the demuxer's audio pad (a bare `d. ! queue`
   * would take whichever pad comes first). */
  const std::string aac = "d. ! audio/mpeg ! queue ! aacparse ! " + c.aac_dec + " ! ";
  const std::string tail = "audioconvert ! audioresample ! ";
  switch (link.transport()) {
  case Transport::ts_aac:
    return ts_udp + aac + tail;
  case Transport::ts_mp2:
    return ts_udp + "d. ! audio/mpeg ! queue ! mpegaudioparse ! " + c.mp2_dec + " ! " + tail;
  case Transport::rtp_l16:
    return "udpsrc name=net caps=\"application/x-rtp,media=(string)audio,clock-rate=(int)16000,"
           "encoding-name=(string)L16,encoding-params=(string)1,channels=(int)1,"
           "payload=(int)96\" ! rtpjitterbuffer latency=200 ! rtpL16depay ! " +
           tail;
  case Transport::srt:
    return "srtsrc name=net uri=\"srt://127.0.0.1:" + std::to_string(link.port()) +
           "?mode=listener\" ! tsdemux name=d " + aac + tail;
  }
  return "";
}

/* ---- the pipelines -------------------------------------------------------------------------- */

Watch::Watch(GstElement *pipeline) : pipeline_(GST_ELEMENT(gst_object_ref(pipeline))) {
  GstBus *bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, on_message, this, nullptr);
  gst_object_unref(bus);
}

Watch::~Watch() {
  GstBus *bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(pipeline_);
  for (GstStructure *s : elements_)
    gst_structure_free(s);
}

static std::string error_text(GstMessage *m) {
  GError *err = nullptr;
  gchar *debug = nullptr;
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
    gst_message_parse_error(m, &err, &debug);
  else
    gst_message_parse_warning(m, &err, &debug);
  std::string out = std::string(GST_MESSAGE_SRC_NAME(m) ? GST_MESSAGE_SRC_NAME(m) : "?") + ": " +
                    (err ? err->message : "") + " (" + (debug ? debug : "") + ")";
  g_clear_error(&err);
  g_free(debug);
  return out;
}

GstBusSyncReply Watch::on_message(GstBus *, GstMessage *m, gpointer data) {
  auto *self = static_cast<Watch *>(data);
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ELEMENT:
      if (const GstStructure *s = gst_message_get_structure(m)) {
        GstStructure *copy = gst_structure_copy(s);
        gst_structure_set(copy, kArrivalField, G_TYPE_INT64, g_get_monotonic_time(), nullptr);
        self->elements_.push_back(copy);
      }
      break;
    case GST_MESSAGE_ERROR:
      self->errors_.push_back(error_text(m));
      self->error_ = true;
      break;
    case GST_MESSAGE_WARNING:
      self->warnings_.push_back(error_text(m));
      break;
    case GST_MESSAGE_EOS:
      self->eos_ = true;
      break;
    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC(m) == GST_OBJECT(self->pipeline_)) {
        GstState state;
        gst_message_parse_state_changed(m, nullptr, &state, nullptr);
        if (state == GST_STATE_PLAYING && self->playing_at_ == 0)
          self->playing_at_ = g_get_monotonic_time();
      }
      break;
    default:
      break;
    }
  }
  self->posted_.notify_all();
  gst_message_unref(m); /* GST_BUS_DROP: the handler owns the message */
  return GST_BUS_DROP;
}

bool Watch::wait_playing(GstClockTime timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return posted_.wait_for(lock, std::chrono::nanoseconds(timeout),
                          [&] { return playing_at_ != 0; });
}

bool Watch::wait_eos(GstClockTime timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  posted_.wait_for(lock, std::chrono::nanoseconds(timeout), [&] { return eos_ || error_; });
  return eos_ && !error_;
}

bool Watch::eos() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return eos_;
}

gint64 Watch::playing_at() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return playing_at_;
}

std::vector<std::string> Watch::messages(const char *name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (GstStructure *s : elements_)
    if (gst_structure_has_name(s, name)) {
      gchar *text = gst_structure_to_string(s);
      out.push_back(text);
      g_free(text);
    }
  return out;
}

std::vector<GstStructure *> Watch::structures(const char *name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<GstStructure *> out;
  for (GstStructure *s : elements_)
    if (gst_structure_has_name(s, name))
      out.push_back(gst_structure_copy(s));
  return out;
}

std::vector<std::string> Watch::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errors_;
}

std::vector<std::string> Watch::warnings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return warnings_;
}

GstElement *parse_pipeline(const std::string &description, const char *name) {
  GError *error = nullptr;
  GstElement *p =
      gst_parse_launch_full(description.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (!p || error)
    g_error("%s pipeline does not parse: %s\n  %s", name, error ? error->message : "?",
            description.c_str());
  gst_object_set_name(GST_OBJECT(p), name);
  return p;
}

static GstElement *child(GstElement *pipeline, const char *name) {
  GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), name);
  if (!e)
    g_error("no element named %s in %s", name, GST_ELEMENT_NAME(pipeline));
  return e;
}

Sender::Sender(const std::string &description, const Program &program)
    : pipeline_(parse_pipeline(description, "sender")) {
  watch_ = std::make_unique<Watch>(pipeline_);
  if (program.gap_length > 0) {
    gap_start_ = static_cast<GstClockTime>(program.gap_start * GST_SECOND);
    gap_end_ = static_cast<GstClockTime>((program.gap_start + program.gap_length) * GST_SECOND);
    GstElement *pace = child(pipeline_, "pace");
    GstPad *src = gst_element_get_static_pad(pace, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, drop_gap, this, nullptr);
    gst_object_unref(src);
    gst_object_unref(pace);
  }
  /* The whole program, 20 ms a buffer, queued in appsrc; clocksync paces it. */
  GstElement *appsrc = child(pipeline_, "audio");
  const size_t per_buffer = kRate / 50;
  for (size_t at = 0; at < program.audio.size(); at += per_buffer) {
    size_t n = std::min(per_buffer, program.audio.size() - at);
    GstBuffer *buf = gst_buffer_new_memdup(program.audio.data() + at, n * sizeof(int16_t));
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(at, GST_SECOND, kRate);
    GST_BUFFER_DURATION(buf) =
        gst_util_uint64_scale(at + n, GST_SECOND, kRate) - GST_BUFFER_PTS(buf);
    gst_app_src_push_buffer(GST_APP_SRC(appsrc), buf);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
  gst_object_unref(appsrc);
}

Sender::~Sender() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  watch_.reset();
  gst_object_unref(pipeline_);
}

void Sender::play() {
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    g_error("the sender pipeline does not start");
}

uint64_t Sender::dropped_buffers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

/* The feed pauses: buffers in [gap_start, gap_end) of running time never
 * leave the sender; the first one after is marked DISCONT. */
GstPadProbeReturn Sender::drop_gap(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *self = static_cast<Sender *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime pts = GST_BUFFER_PTS(buf);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (pts >= self->gap_start_ && pts < self->gap_end_) {
    self->dropped_++;
    return GST_PAD_PROBE_DROP;
  }
  if (pts >= self->gap_end_ && !self->after_gap_ && self->dropped_ > 0) {
    self->after_gap_ = true;
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

double Caption::delay() const {
  if (!GST_CLOCK_TIME_IS_VALID(pts_rt) || !GST_CLOCK_TIME_IS_VALID(arrival_rt))
    return NAN;
  return (static_cast<double>(arrival_rt) - static_cast<double>(pts_rt)) / GST_SECOND;
}

Receiver::Receiver(const std::string &description, const dgemu::Emulator &emu, const Link &link) {
  g_setenv("DEEPGRAM_API_KEY", "live-feed-test", TRUE);
  gst_segment_init(&caption_segment_, GST_FORMAT_TIME);
  gst_segment_init(&audio_segment_, GST_FORMAT_TIME);
  pipeline_ = parse_pipeline(description, "receiver");
  watch_ = std::make_unique<Watch>(pipeline_);
  bin_ = child(pipeline_, "dg");
  g_object_set(bin_, "stream-url", (emu.ws_url() + "/v1/listen").c_str(), "batch-url",
               (emu.http_url() + "/v1/listen").c_str(), nullptr);
  if (link.socket()) {
    GstElement *net = child(pipeline_, "net");
    g_object_set(net, "socket", link.socket(), "close-socket", FALSE, nullptr);
    gst_object_unref(net);
  }
  GstPad *src = gst_element_get_static_pad(bin_, "src");
  gst_pad_add_probe(
      src,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_caption, this, nullptr);
  gst_object_unref(src);
  GstPad *sink = gst_element_get_static_pad(bin_, "sink");
  gst_pad_add_probe(
      sink,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_audio, this, nullptr);
  gst_object_unref(sink);
}

Receiver::~Receiver() {
  stop();
  watch_.reset();
  gst_object_unref(bin_);
  gst_object_unref(pipeline_);
}

GstStateChangeReturn Receiver::play() {
  return gst_element_set_state(pipeline_, GST_STATE_PLAYING);
}

GstClockTime Receiver::now_rt() const {
  GstClock *clock = gst_element_get_clock(pipeline_);
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(pipeline_);
  return now >= base ? now - base : 0;
}

GstPadProbeReturn Receiver::on_caption(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *self = static_cast<Receiver *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
      const GstSegment *segment;
      gst_event_parse_segment(event, &segment);
      std::lock_guard<std::mutex> lock(self->mutex_);
      gst_segment_copy_into(segment, &self->caption_segment_);
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  Caption c;
  c.arrival_rt = self->now_rt();
  c.pts = GST_BUFFER_PTS(buf);
  c.duration = GST_BUFFER_DURATION(buf);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    c.text.assign(reinterpret_cast<const char *>(map.data), map.size);
    gst_buffer_unmap(buf, &map);
  }
  /* sttfailover's DgfTranscriptMeta (docs/sttfailover.md): the branch, and
   * the words with their own times (a caption moved later keeps them). */
  if (GstCustomMeta *m = gst_buffer_get_custom_meta(buf, "DgfTranscriptMeta")) {
    const GstStructure *fields = gst_custom_meta_get_structure(m);
    if (const char *branch = gst_structure_get_string(fields, "branch"))
      c.branch = branch;
    const GValue *words = gst_structure_get_value(fields, "words");
    if (words && GST_VALUE_HOLDS_ARRAY(words) && gst_value_array_get_size(words) > 0) {
      const GValue *first = gst_value_array_get_value(words, 0);
      guint64 start = 0;
      if (GST_VALUE_HOLDS_STRUCTURE(first) &&
          gst_structure_get_uint64(gst_value_get_structure(first), "start", &start))
        c.first_word_start = start;
    }
  }
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (GST_CLOCK_TIME_IS_VALID(c.pts))
    c.pts_rt = gst_segment_to_running_time(&self->caption_segment_, GST_FORMAT_TIME, c.pts);
  self->captions_.push_back(c);
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn Receiver::on_audio(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  auto *self = static_cast<Receiver *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
      const GstSegment *segment;
      gst_event_parse_segment(event, &segment);
      std::lock_guard<std::mutex> lock(self->mutex_);
      gst_segment_copy_into(segment, &self->audio_segment_);
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime duration = GST_BUFFER_DURATION(buf);
  if (!GST_CLOCK_TIME_IS_VALID(duration)) {
    GstAudioInfo ai;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps && gst_audio_info_from_caps(&ai, caps) && ai.bpf > 0 && ai.rate > 0)
      duration = gst_util_uint64_scale(gst_buffer_get_size(buf) / ai.bpf, GST_SECOND, ai.rate);
    if (caps)
      gst_caps_unref(caps);
  }
  AudioIn a;
  a.arrival_rt = self->now_rt();
  a.discont = GST_BUFFER_IS_DISCONT(buf);
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      a.pts_rt = gst_segment_to_running_time(&self->audio_segment_, GST_FORMAT_TIME, pts);
      if (GST_CLOCK_TIME_IS_VALID(duration) && GST_CLOCK_TIME_IS_VALID(a.pts_rt))
        a.end_rt = a.pts_rt + duration;
    }
    self->audio_.push_back(a);
    if (GST_CLOCK_TIME_IS_VALID(duration))
      self->received_ += static_cast<double>(duration) / GST_SECOND;
  }
  self->audio_arrived_.notify_all();
  return GST_PAD_PROBE_OK;
}

bool Receiver::finish(double sent_seconds, GstClockTime drain, GstClockTime timeout) {
  {
    /* Codecs may trim or pad a few frames: 0.5 s less is "all of it". */
    std::unique_lock<std::mutex> lock(mutex_);
    audio_arrived_.wait_for(lock, std::chrono::nanoseconds(drain),
                            [&] { return received_ >= sent_seconds - 0.5; });
  }
  if (!watch_->eos())
    gst_element_send_event(pipeline_, gst_event_new_eos());
  return watch_->wait_eos(timeout);
}

double Receiver::stop() {
  if (stopped_)
    return 0;
  stopped_ = true;
  gint64 t0 = g_get_monotonic_time();
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  return (g_get_monotonic_time() - t0) / 1e6;
}

std::vector<Caption> Receiver::captions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return captions_;
}

std::vector<AudioIn> Receiver::audio() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return audio_;
}

double Receiver::received_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

guint Receiver::latency_ms() const {
  guint ms = 0;
  g_object_get(bin_, "latency", &ms, nullptr);
  return ms;
}

GstClockTime Receiver::query_latency() const {
  GstPad *src = gst_element_get_static_pad(bin_, "src");
  GstQuery *q = gst_query_new_latency();
  GstClockTime min = GST_CLOCK_TIME_NONE;
  if (gst_pad_query(src, q)) {
    gboolean live;
    GstClockTime max;
    gst_query_parse_latency(q, &live, &min, &max);
  }
  gst_query_unref(q);
  gst_object_unref(src);
  return min;
}

std::string Receiver::stats() const {
  GstStructure *s = nullptr;
  g_object_get(bin_, "stats", &s, nullptr);
  if (!s)
    return "";
  gchar *text = gst_structure_to_string(s);
  std::string out = text;
  g_free(text);
  gst_structure_free(s);
  return out;
}

/* ---- the figures ---------------------------------------------------------------------------- */

std::vector<std::string> words_of(const std::vector<Caption> &captions) {
  std::vector<std::string> words;
  for (const auto &c : captions)
    for (std::string &w : librivox::normalised_words(c.text))
      words.push_back(std::move(w));
  return words;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p * values.size()));
  return values[std::min(values.size() - 1, rank > 0 ? rank - 1 : 0)];
}

static double seconds(GstClockTime t) {
  return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<double>(t) / GST_SECOND : -1;
}

static std::string cue(const Caption &c) {
  char head[96];
  g_snprintf(head, sizeof head, "[%.3f +%.3f %s] ", seconds(c.pts), seconds(c.duration),
             c.branch.c_str());
  std::string text = c.text;
  std::replace(text.begin(), text.end(), '\n', ' ');
  return head + text;
}

/* Nobody may say the same thing twice within this span: the program repeats
 * a clip only ~30 s later. */
constexpr double kRepeatWindow = 15.0;
constexpr GstClockTime kTolerance = GST_MSECOND; /* timestamps jitter */

struct Repeat {
  std::string gram;
  double first, again;
};

/* Runs of four words said again within kRepeatWindow (word, time) pairs. */
static std::vector<Repeat> repeated_grams(const std::vector<std::pair<std::string, double>> &flat) {
  std::vector<Repeat> out;
  std::map<std::string, std::vector<size_t>> grams;
  for (size_t i = 0; i + 4 <= flat.size(); i++) {
    std::string g =
        flat[i].first + " " + flat[i + 1].first + " " + flat[i + 2].first + " " + flat[i + 3].first;
    for (size_t k : grams[g])
      if (i >= k + 4 && std::fabs(flat[i].second - flat[k].second) < kRepeatWindow) {
        out.push_back({g, flat[k].second, flat[i].second});
        break;
      }
    grams[g].push_back(i);
  }
  return out;
}

/* The final transcripts the sinks posted (stt/transcript, is-final), as
 * captions: pts = the transcript's start, text, branch. */
static std::vector<Caption> bus_finals(const Watch &watch) {
  std::vector<Caption> out;
  for (GstStructure *s : watch.structures("stt/transcript")) {
    gboolean is_final = FALSE;
    guint64 start = 0, duration = 0;
    const char *text = gst_structure_get_string(s, "text");
    if (gst_structure_get_boolean(s, "is-final", &is_final) && is_final && text &&
        gst_structure_get_uint64(s, "start", &start)) {
      Caption c;
      c.pts = start;
      if (gst_structure_get_uint64(s, "duration", &duration))
        c.duration = duration;
      c.text = text;
      if (const char *branch = gst_structure_get_string(s, "branch"))
        c.branch = branch;
      out.push_back(c);
    }
    gst_structure_free(s);
  }
  return out;
}

static void check_order_and_repeats(const std::vector<Caption> &caps,
                                    const std::vector<Caption> &finals, Report *r) {
  for (size_t i = 0; i < caps.size(); i++) {
    const Caption &c = caps[i];
    if (!GST_CLOCK_TIME_IS_VALID(c.pts) || !GST_CLOCK_TIME_IS_VALID(c.duration)) {
      r->untimed.push_back(cue(c));
      continue;
    }
    if (i == 0 || !GST_CLOCK_TIME_IS_VALID(caps[i - 1].pts))
      continue;
    const Caption &p = caps[i - 1];
    if (c.pts + kTolerance < p.pts)
      r->overlaps.push_back("out of order: " + cue(p) + " then " + cue(c));
    else if (GST_CLOCK_TIME_IS_VALID(p.duration) && p.pts + p.duration > c.pts + kTolerance)
      r->overlaps.push_back(cue(p) + " overlaps " + cue(c));
  }
  /* The same caption text twice, close together. */
  std::vector<std::vector<std::string>> words(caps.size());
  for (size_t i = 0; i < caps.size(); i++)
    words[i] = words_of({caps[i]});
  for (size_t i = 0; i < caps.size(); i++)
    for (size_t j = i + 1; j < caps.size(); j++) {
      if (words[i].empty() || words[i] != words[j])
        continue;
      if (std::fabs(seconds(caps[j].pts) - seconds(caps[i].pts)) < kRepeatWindow)
        r->duplicates.push_back("same caption twice: " + cue(caps[i]) + " and " + cue(caps[j]));
    }
  /* Four words in a row said twice, close together (a replayed span), and
   * whether the sinks' final transcripts on the bus already say it twice. */
  std::vector<std::pair<std::string, double>> flat, flat_finals;
  for (size_t i = 0; i < caps.size(); i++)
    for (const auto &w : words[i])
      flat.emplace_back(w, seconds(caps[i].pts));
  for (const auto &f : finals)
    for (const auto &w : words_of({f}))
      flat_finals.emplace_back(w, seconds(f.pts));
  std::set<std::string> in_finals;
  for (const auto &rep : repeated_grams(flat_finals))
    in_finals.insert(rep.gram);
  for (const auto &rep : repeated_grams(flat)) {
    char line[320];
    g_snprintf(line, sizeof line, "\"%s\" at %.3f s and again at %.3f s (%s)", rep.gram.c_str(),
               rep.first, rep.again,
               in_finals.count(rep.gram)
                   ? "the sink's final transcripts on the bus repeat it too: the STT service said "
                     "it twice"
                   : "not repeated in the final transcripts on the bus: the caption path "
                     "repeated it");
    r->duplicates.push_back(line);
  }
}

static std::vector<std::string> split_words(const std::string &text) {
  Caption c;
  c.text = text;
  return words_of({c});
}

static void check_boundaries(const std::vector<Caption> &caps, const Watch &watch, Report *r) {
  /* The final transcripts, in the order posted: adjacent pairs that repeat a
   * word across them. */
  std::vector<std::string> finals;
  for (GstStructure *s : watch.structures("stt/transcript")) {
    gboolean is_final = FALSE;
    const char *text = gst_structure_get_string(s, "text");
    if (gst_structure_get_boolean(s, "is-final", &is_final) && is_final && text)
      finals.push_back(text);
    gst_structure_free(s);
  }
  std::vector<std::string> repeated_in_finals;
  for (size_t i = 1; i < finals.size(); i++) {
    auto a = split_words(finals[i - 1]), b = split_words(finals[i]);
    if (!a.empty() && !b.empty() && a.back() == b.front())
      repeated_in_finals.push_back(b.front());
  }
  for (size_t i = 1; i < caps.size(); i++) {
    auto a = words_of({caps[i - 1]}), b = words_of({caps[i]});
    if (a.empty() || b.empty() || a.back() != b.front())
      continue;
    bool upstream = std::find(repeated_in_finals.begin(), repeated_in_finals.end(), b.front()) !=
                    repeated_in_finals.end();
    r->boundary_repeats.push_back(cue(caps[i - 1]) + " / " + cue(caps[i]) +
                                  (upstream ? " (also across two finals on the bus: the STT "
                                              "service repeated it)"
                                            : " (not across finals on the bus: the captions "
                                              "repeated it)"));
  }
}

static void locate_gap(const std::vector<AudioIn> &audio, Report *r) {
  size_t hole_at = 0, jump_at = 0;
  GstClockTimeDiff hole = 0, jump = 0;
  for (size_t i = 1; i < audio.size(); i++) {
    const AudioIn &a = audio[i], &p = audio[i - 1];
    if (GST_CLOCK_TIME_IS_VALID(a.arrival_rt) && GST_CLOCK_TIME_IS_VALID(p.arrival_rt) &&
        GST_CLOCK_DIFF(p.arrival_rt, a.arrival_rt) > hole) {
      hole = GST_CLOCK_DIFF(p.arrival_rt, a.arrival_rt);
      hole_at = i;
    }
    if (GST_CLOCK_TIME_IS_VALID(a.pts_rt) && GST_CLOCK_TIME_IS_VALID(p.end_rt) &&
        GST_CLOCK_DIFF(p.end_rt, a.pts_rt) > jump) {
      jump = GST_CLOCK_DIFF(p.end_rt, a.pts_rt);
      jump_at = i;
    }
  }
  r->gap_arrival_hole = static_cast<double>(hole) / GST_SECOND;
  r->gap_pts_jump = static_cast<double>(jump) / GST_SECOND;
  size_t at = jump >= 5 * GST_SECOND ? jump_at : hole >= 5 * GST_SECOND ? hole_at : 0;
  if (at > 0) {
    r->gap_start_rt = audio[at - 1].end_rt;
    r->gap_end_rt = audio[at].pts_rt;
  }
}

/* LIVE_FEED_DUMP=dir: every audio buffer and caption of the run as TSV
 * (running times in seconds), for looking at a timeline by hand. */
static void dump(const Receiver &rx, const std::string &transport) {
  const char *dir = g_getenv("LIVE_FEED_DUMP");
  if (!dir || !*dir)
    return;
  g_mkdir_with_parents(dir, 0755);
  std::string base = std::string(dir) + "/" + transport;
  if (FILE *f = fopen((base + "-audio.tsv").c_str(), "w")) {
    fprintf(f, "pts_rt\tend_rt\tarrival_rt\tdiscont\n");
    for (const auto &a : rx.audio())
      fprintf(f, "%.6f\t%.6f\t%.6f\t%d\n", seconds(a.pts_rt), seconds(a.end_rt),
              seconds(a.arrival_rt), a.discont ? 1 : 0);
    fclose(f);
  }
  if (FILE *f = fopen((base + "-finals.tsv").c_str(), "w")) {
    fprintf(f, "start\tduration\tbranch\ttext\n");
    for (const auto &c : bus_finals(rx.watch()))
      fprintf(f, "%.6f\t%.6f\t%s\t%s\n", seconds(c.pts), seconds(c.duration), c.branch.c_str(),
              c.text.c_str());
    fclose(f);
  }
  if (FILE *f = fopen((base + "-captions.tsv").c_str(), "w")) {
    fprintf(f, "pts_rt\tduration\tarrival_rt\tdelay\tbranch\ttext\n");
    for (const auto &c : rx.captions()) {
      std::string text = c.text;
      std::replace(text.begin(), text.end(), '\n', ' ');
      fprintf(f, "%.6f\t%.6f\t%.6f\t%.3f\t%s\t%s\n", seconds(c.pts_rt), seconds(c.duration),
              seconds(c.arrival_rt), c.delay(), c.branch.c_str(), text.c_str());
    }
    fclose(f);
  }
}

/* For each hypothesis word, the reference word it is aligned to when they
 * are the same word (-1 otherwise): the backtrace of the edit distance. */
static std::vector<long> align(const std::vector<std::string> &ref,
                               const std::vector<std::string> &hyp) {
  const size_t n = ref.size(), m = hyp.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= m; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++)
      d[i][j] = std::min(
          {d[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1), d[i - 1][j] + 1, d[i][j - 1] + 1});
  std::vector<long> out(m, -1);
  size_t i = n, j = m;
  while (i > 0 && j > 0) {
    if (d[i][j] == d[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] == hyp[j - 1])
        out[j - 1] = static_cast<long>(i - 1);
      i--, j--;
    } else if (d[i][j] == d[i - 1][j] + 1) {
      i--;
    } else {
      j--;
    }
  }
  return out;
}

/* Captions stamped away from their speech. The receiver's timeline is the
 * program's plus an offset: where the gap ends (program: gap_start +
 * gap_length), else where the first audio buffer starts (program: 0). */
/* The final on the bus whose words hold `words` (up to three of them) as a
 * run, the one starting nearest `near` (seconds, the clips repeat): its
 * branch and start, to show who stamped a caption where it is. */
static std::string final_holding(const std::vector<Caption> &finals,
                                 const std::vector<std::string> &words, double near) {
  if (words.empty())
    return "";
  size_t n = std::min<size_t>(3, words.size());
  std::string best;
  double best_distance = 1e9;
  for (const auto &f : finals) {
    auto fw = words_of({f});
    for (size_t i = 0; i + n <= fw.size(); i++)
      if (std::equal(words.begin(), words.begin() + n, fw.begin() + i) &&
          std::fabs(seconds(f.pts) - near) < best_distance) {
        best_distance = std::fabs(seconds(f.pts) - near);
        char line[96];
        g_snprintf(line, sizeof line, "; the %s final on the bus holding it starts at %.3f s",
                   f.branch.c_str(), seconds(f.pts));
        best = line;
      }
  }
  return best;
}

static void check_timing(const Program &program, const std::vector<Caption> &caps,
                         const std::vector<Caption> &finals, const std::vector<AudioIn> &audio,
                         Report *r) {
  constexpr double kMaxOff = 2.5;
  double offset = 0;
  if (GST_CLOCK_TIME_IS_VALID(r->gap_end_rt) && program.gap_length > 0)
    offset = seconds(r->gap_end_rt) - (program.gap_start + program.gap_length);
  else if (!audio.empty() && GST_CLOCK_TIME_IS_VALID(audio.front().pts_rt))
    offset = seconds(audio.front().pts_rt);
  std::vector<std::string> hyp;
  std::vector<size_t> first_word; /* caption -> index of its first word in hyp */
  for (const auto &c : caps) {
    first_word.push_back(hyp.size());
    for (auto &w : words_of({c}))
      hyp.push_back(w);
  }
  std::vector<long> match = align(program.reference, hyp);
  std::vector<double> speech_delays;
  for (size_t i = 0; i < caps.size(); i++) {
    size_t k = first_word[i];
    bool has_words = i + 1 < caps.size() ? first_word[i + 1] > k : hyp.size() > k;
    if (!has_words || match[k] < 0 || !GST_CLOCK_TIME_IS_VALID(caps[i].pts_rt))
      continue;
    double said = program.word_times[static_cast<size_t>(match[k])];
    double stamped = seconds(caps[i].pts_rt) - offset;
    double off = stamped - said;
    if (GST_CLOCK_TIME_IS_VALID(caps[i].arrival_rt))
      speech_delays.push_back(seconds(caps[i].arrival_rt) - (said + offset));
    char line[160];
    g_snprintf(line, sizeof line, " (program time %.2f s; \"%s\" said at ~%.2f s: %+.2f s)",
               stamped, hyp[k].c_str(), said, off);
    if (std::fabs(off) >= r->timing_error_max) {
      r->timing_error_max = std::fabs(off);
      r->timing_worst = cue(caps[i]) + line;
    }
    if (std::fabs(off) > kMaxOff)
      r->mistimed.push_back(cue(caps[i]) + line +
                            final_holding(finals, words_of({caps[i]}), said + offset));
  }
  r->speech_delay_p50 = percentile(speech_delays, 0.5);
  r->speech_delay_max =
      speech_delays.empty() ? 0 : *std::max_element(speech_delays.begin(), speech_delays.end());
}

Report analyse(const Program &program, const Receiver &rx, const std::string &transport,
               bool expect_gap) {
  dump(rx, transport);
  Report r;
  r.transport = transport;
  std::vector<Caption> caps = rx.captions();
  std::vector<std::string> words = words_of(caps);
  r.reference_words = program.reference.size();
  r.words = words.size();
  r.captions = caps.size();
  r.wer = librivox::word_error_rate(program.reference, words);
  r.latency_ms = rx.latency_ms();
  r.latency_query = rx.query_latency();
  std::vector<double> delays;
  for (const auto &c : caps)
    if (!std::isnan(c.delay())) {
      delays.push_back(c.delay());
      if (c.delay() * 1000.0 > r.latency_ms)
        r.over_latency++;
    }
  r.delay_p50 = percentile(delays, 0.50);
  r.delay_p95 = percentile(delays, 0.95);
  r.delay_p99 = percentile(delays, 0.99);
  r.delay_max = delays.empty() ? 0 : *std::max_element(delays.begin(), delays.end());
  r.degraded_messages = rx.watch().messages("stt/degraded");
  r.dropped_messages = rx.watch().messages("stt/audio-dropped");
  r.degraded = r.degraded_messages.size();
  r.dropped = r.dropped_messages.size();
  r.recovered = rx.watch().messages("stt/recovered").size();
  std::vector<Caption> finals = bus_finals(rx.watch());
  check_order_and_repeats(caps, finals, &r);
  check_boundaries(caps, rx.watch(), &r);
  std::vector<double> late;
  for (const auto &a : rx.audio())
    if (GST_CLOCK_TIME_IS_VALID(a.arrival_rt) && GST_CLOCK_TIME_IS_VALID(a.pts_rt))
      late.push_back(static_cast<double>(GST_CLOCK_DIFF(a.pts_rt, a.arrival_rt)) / GST_SECOND);
  r.audio_late_p50 = percentile(late, 0.5);
  r.audio_late_max = late.empty() ? 0 : *std::max_element(late.begin(), late.end());
  if (expect_gap) {
    locate_gap(rx.audio(), &r);
    if (GST_CLOCK_TIME_IS_VALID(r.gap_end_rt)) {
      const GstClockTime slack = 250 * GST_MSECOND;
      for (const auto &c : caps) {
        if (!GST_CLOCK_TIME_IS_VALID(c.pts_rt))
          continue;
        if (c.pts_rt > r.gap_start_rt + slack && c.pts_rt + slack < r.gap_end_rt)
          r.in_gap.push_back(cue(c));
        if (r.first_after_gap_delay < 0 && c.pts_rt + slack >= r.gap_end_rt) {
          r.first_after_gap_delay = c.delay();
          r.first_after_gap_text = cue(c);
        }
      }
    }
  }
  check_timing(program, caps, finals, rx.audio(), &r);
  r.received_seconds = rx.received_seconds();
  r.sent_seconds = program.sent_seconds();
  r.errors = rx.watch().errors();
  r.stats = rx.stats();
  for (const auto &c : caps)
    r.transcript += (r.transcript.empty() ? "" : " | ") + cue(c);
  return r;
}

std::vector<std::string> describe(const Report &r, bool pass) {
  std::vector<std::string> out;
  char line[1024];
  g_snprintf(line, sizeof line,
             "%s: WER %.3f (%zu words against %zu reference words), %zu captions, caption delay "
             "p50 %.2f s p95 %.2f s p99 %.2f s max %.2f s, %zu over the bin's latency %u ms "
             "(LATENCY query on src: %.3f s)",
             r.transport.c_str(), r.wer, r.words, r.reference_words, r.captions, r.delay_p50,
             r.delay_p95, r.delay_p99, r.delay_max, r.over_latency, r.latency_ms,
             seconds(r.latency_query));
  out.push_back(line);
  g_snprintf(line, sizeof line,
             "speech to caption (caption leaves the bin minus when its first word was said, "
             "estimated): p50 %.2f s, max %.2f s",
             r.speech_delay_p50, r.speech_delay_max);
  out.push_back(line);
  out.push_back("caption timing: farthest from its speech " + r.timing_worst);
  g_snprintf(line, sizeof line,
             "stt/degraded %zu, stt/recovered %zu, stt/audio-dropped %zu; audio at the bin %.2f s "
             "of %.2f s sent, arriving p50 %.3f s max %.3f s after its PTS",
             r.degraded, r.recovered, r.dropped, r.received_seconds, r.sent_seconds,
             r.audio_late_p50, r.audio_late_max);
  out.push_back(line);
  if (r.gap_arrival_hole >= 0 || r.gap_pts_jump >= 0) {
    g_snprintf(line, sizeof line,
               "gap at the bin's sink: arrival hole %.2f s, PTS jump %.2f s, running time %.3f "
               "-> %.3f s; first caption after it: delay %.2f s: %s",
               r.gap_arrival_hole, r.gap_pts_jump, seconds(r.gap_start_rt), seconds(r.gap_end_rt),
               r.first_after_gap_delay, r.first_after_gap_text.c_str());
    out.push_back(line);
  }
  for (const auto &m : r.degraded_messages)
    out.push_back("degraded: " + m);
  for (const auto &m : r.dropped_messages)
    out.push_back("dropped: " + m);
  for (const auto &m : r.overlaps)
    out.push_back("overlap: " + m);
  for (const auto &m : r.duplicates)
    out.push_back("duplicate: " + m);
  for (const auto &m : r.in_gap)
    out.push_back("caption inside the gap: " + m);
  for (const auto &m : r.mistimed)
    out.push_back("caption stamped away from its speech: " + m);
  for (const auto &m : r.boundary_repeats)
    out.push_back("word repeated across a caption boundary: " + m);
  for (const auto &m : r.untimed)
    out.push_back("caption without PTS or duration: " + m);
  for (const auto &m : r.errors)
    out.push_back("ERROR: " + m);
  out.push_back("stats: " + r.stats);
  out.push_back("captions: " + r.transcript);
  g_snprintf(line, sizeof line,
             "live-result transport=%s pass=%d degraded=%zu dropped=%zu wer=%.3f captions=%zu "
             "p50=%.2f p95=%.2f p99=%.2f max=%.2f first_after_gap=%.2f latency_ms=%u "
             "over_latency=%zu overlaps=%zu duplicates=%zu in_gap=%zu boundary_repeats=%zu "
             "mistimed=%zu timing_error_max=%.2f speech_delay_max=%.2f",
             r.transport.c_str(), pass ? 1 : 0, r.degraded, r.dropped, r.wer, r.captions,
             r.delay_p50, r.delay_p95, r.delay_p99, r.delay_max, r.first_after_gap_delay,
             r.latency_ms, r.over_latency, r.overlaps.size(), r.duplicates.size(), r.in_gap.size(),
             r.boundary_repeats.size(), r.mistimed.size(), r.timing_error_max, r.speech_delay_max);
  out.push_back(line);
  return out;
}

} // namespace livefeed

namespace livefeed {

void conclude(const std::vector<std::string> &lines, const Requirements &req) {
  for (const auto &l : lines)
    g_test_message("%s", l.c_str());
  std::string all;
  for (const auto &f : req.failed()) {
    g_test_message("REQUIREMENT NOT MET: %s", f.c_str());
    all += (all.empty() ? "" : "; ") + f;
  }
  if (!req.ok())
    g_test_fail_printf("%zu requirement(s) not met: %s", req.failed().size(), all.c_str());
}

} // namespace livefeed
