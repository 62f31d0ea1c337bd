/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AudioEncoder over GStreamer's own encoders.
 *
 * Why pads and not a pipeline: the encoders (GstAudioEncoder subclasses)
 * and oggmux (one collect pad) all do their work inside the chain call that
 * hands them a buffer. So the caller pushes PCM into the first element's
 * sink pad from a src pad we own, and a sink pad we own, linked to the last
 * element's src pad, collects the encoded bytes in its chain function,
 * before gst_pad_push() returns: push() and finish() are plain synchronous
 * calls, with no appsrc/appsink threads, queues or waits, and nothing in
 * flight between calls that a teardown would have to chase. The elements
 * have no parent bin; each has its own bus, read after every call, so an
 * encoder's ERROR becomes our error() instead of being lost. */
#include "audio_encoder.h"

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <algorithm>
#include <utility>

namespace dgf {

namespace {

/* Ogg pages are cut every this long (oggmux's max-page-delay): the audio
 * held back between Finalizes, at about 2.5 kbit/s of page headers. */
constexpr GstClockTime kOggPageDelay = 100 * GST_MSECOND;
/* FLAC block: 1152 samples (72 ms at 16 kHz) instead of flacenc's 4608, so
 * less audio waits in the encoder on a live connection. */
constexpr guint kFlacBlocksize = 1152;

struct Needed {
  const char *factory;
  const char *package;
};

std::vector<Needed> needed_for(AudioEncoding encoding) {
  switch (encoding) {
  case AudioEncoding::Flac:
    return {{"flacenc", "gstreamer1.0-plugins-good"}};
  case AudioEncoding::Opus:
    return {{"opusenc", "gstreamer1.0-plugins-base"}, {"oggmux", "gstreamer1.0-plugins-base"}};
  case AudioEncoding::Auto: /* resolved first (resolve) */
  case AudioEncoding::Linear16:
    break;
  }
  return {};
}

bool opus_takes_rate(uint32_t rate) {
  return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

class GstStreamEncoder : public AudioEncoder {
public:
  GstStreamEncoder(uint32_t rate, uint32_t channels) : rate_(rate), channels_(channels) {}
  ~GstStreamEncoder() override;

  bool build(AudioEncoding encoding, uint32_t bitrate);
  bool push(const uint8_t *pcm, size_t bytes, std::vector<uint8_t> &out) override;
  bool finish(std::vector<uint8_t> &out) override;
  const std::string &error() const override { return error_; }
  uint64_t audio_out() const override { return finished_ ? pushed_end() : audio_out_; }

private:
  GstElement *add(const char *factory);
  bool start();
  bool check_bus(GstFlowReturn flow, const char *what);
  void collect(std::vector<uint8_t> &out);
  static GstFlowReturn on_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer);
  static gboolean on_event(GstPad *pad, GstObject *parent, GstEvent *event);

  uint32_t rate_, channels_;
  std::vector<GstElement *> elements_; /* in stream order; ours */
  GstPad *src_ = nullptr;              /* ours: feeds elements_.front() */
  GstPad *sink_ = nullptr;             /* ours: collects from elements_.back() */
  GstBus *bus_ = nullptr;
  uint64_t frames_ = 0;    /* pushed so far: the next PTS */
  uint64_t bytes_out_ = 0; /* collected so far: where the stream is */
  bool rewriting_ = false; /* flacenc seeks back at EOS: ignored */
  bool finished_ = false, eos_ = false;
  bool flac_ = false;
  uint64_t audio_out_ = 0; /* end of the audio the output buffers so far carry */
  uint64_t pushed_end() const {
    return gst_util_uint64_scale_int(frames_, GST_SECOND, static_cast<gint>(rate_));
  }
  std::vector<uint8_t> pending_;
  std::string error_;
};

GstStreamEncoder::~GstStreamEncoder() {
  /* Queued messages hold their source elements, which hold the bus: drop
   * them, or the bus, the elements and the bus's socket pair leak. */
  if (bus_)
    gst_bus_set_flushing(bus_, TRUE);
  for (GstElement *e : elements_)
    gst_element_set_state(e, GST_STATE_NULL);
  if (src_) {
    gst_pad_set_active(src_, FALSE);
    gst_object_unref(src_);
  }
  if (sink_) {
    gst_pad_set_active(sink_, FALSE);
    gst_object_unref(sink_);
  }
  for (GstElement *e : elements_)
    gst_object_unref(e);
  if (bus_)
    gst_object_unref(bus_);
}

GstElement *GstStreamEncoder::add(const char *factory) {
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (!e)
    return nullptr;
  gst_object_ref_sink(e);
  gst_element_set_bus(e, bus_);
  if (!elements_.empty() && !gst_element_link(elements_.back(), e)) {
    error_ = std::string("cannot link ") + GST_OBJECT_NAME(elements_.back()) + " to " + factory;
    gst_object_unref(e);
    return nullptr;
  }
  elements_.push_back(e);
  return e;
}

bool GstStreamEncoder::build(AudioEncoding encoding, uint32_t bitrate) {
  if (std::string missing = check_available(encoding); !missing.empty()) {
    error_ = missing;
    return false;
  }
  bus_ = gst_bus_new();
  if (encoding == AudioEncoding::Opus) {
    if (!opus_takes_rate(rate_)) {
      /* Opus codes 8/12/16/24/48 kHz only; 48 kHz keeps the duration. */
      GstElement *resample = add("audioresample");
      GstElement *filter = add("capsfilter");
      if (!resample || !filter) {
        if (error_.empty())
          error_ = "audioresample is missing (install gstreamer1.0-plugins-base)";
        return false;
      }
      GstCaps *caps = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, 48000, nullptr);
      g_object_set(filter, "caps", caps, nullptr);
      gst_caps_unref(caps);
    }
    GstElement *enc = add("opusenc");
    if (!enc)
      return false;
    uint32_t bps = std::max(effective_opus_bitrate(bitrate), kMinOpusBitrate);
    g_object_set(enc, "bitrate", static_cast<gint>(std::min(bps, kMaxOpusBitrate)), nullptr);
    gst_util_set_object_arg(G_OBJECT(enc), "audio-type", "voice");
    GstElement *mux = add("oggmux");
    if (!mux)
      return false;
    g_object_set(mux, "max-page-delay", kOggPageDelay, nullptr);
  } else if (encoding == AudioEncoding::Flac) {
    GstElement *enc = add("flacenc");
    if (!enc)
      return false;
    g_object_set(enc, "blocksize", kFlacBlocksize, nullptr);
    flac_ = true;
  } else {
    error_ = "linear16 needs no encoder";
    return false;
  }
  return start();
}

bool GstStreamEncoder::start() {
  src_ = gst_pad_new("src", GST_PAD_SRC);
  sink_ = gst_pad_new("sink", GST_PAD_SINK);
  gst_object_ref_sink(src_);
  gst_object_ref_sink(sink_);
  gst_pad_set_element_private(sink_, this);
  gst_pad_set_chain_function(sink_, on_chain);
  gst_pad_set_event_function(sink_, on_event);
  GstPad *first = gst_element_get_static_pad(elements_.front(), "sink");
  GstPad *last = gst_element_get_static_pad(elements_.back(), "src");
  bool linked = first && last && gst_pad_link(src_, first) == GST_PAD_LINK_OK &&
                gst_pad_link(last, sink_) == GST_PAD_LINK_OK;
  if (first)
    gst_object_unref(first);
  if (last)
    gst_object_unref(last);
  if (!linked) {
    error_ = "cannot link the encoder's pads";
    return false;
  }
  gst_pad_set_active(sink_, TRUE);
  gst_pad_set_active(src_, TRUE);
  for (auto it = elements_.rbegin(); it != elements_.rend(); ++it) {
    if (gst_element_set_state(*it, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      error_ = std::string("cannot start ") + GST_OBJECT_NAME(*it);
      return false;
    }
  }

  gchar *id = gst_pad_create_stream_id(src_, elements_.front(), nullptr);
  gst_pad_push_event(src_, gst_event_new_stream_start(id));
  g_free(id);
  GstAudioInfo info;
  GstAudioChannelPosition pos[64];
  gst_audio_info_init(&info);
  if (channels_ > 2 && gst_audio_channel_positions_from_mask(
                           static_cast<gint>(channels_),
                           gst_audio_channel_get_fallback_mask(static_cast<gint>(channels_)), pos))
    gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_S16LE, static_cast<gint>(rate_),
                              static_cast<gint>(channels_), pos);
  else
    gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_S16LE, static_cast<gint>(rate_),
                              static_cast<gint>(channels_), nullptr);
  GstCaps *caps = gst_audio_info_to_caps(&info);
  bool accepted = gst_pad_push_event(src_, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(src_, gst_event_new_segment(&segment));
  if (!accepted || !check_bus(GST_FLOW_OK, "start")) {
    if (error_.empty())
      error_ = "the encoder refused " + std::to_string(rate_) + " Hz, " +
               std::to_string(channels_) + " channels";
    return false;
  }
  return true;
}

/* An ERROR on the elements' bus, or a flow error, becomes error_. */
bool GstStreamEncoder::check_bus(GstFlowReturn flow, const char *what) {
  while (GstMessage *msg = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR)) {
    GError *err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    if (error_.empty())
      error_ = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " +
               (err ? err->message : "error");
    g_clear_error(&err);
    gst_message_unref(msg);
  }
  if (error_.empty() && flow != GST_FLOW_OK && flow != GST_FLOW_EOS)
    error_ = std::string(what) + ": " + gst_flow_get_name(flow);
  return error_.empty();
}

void GstStreamEncoder::collect(std::vector<uint8_t> &out) {
  out.insert(out.end(), pending_.begin(), pending_.end());
  pending_.clear();
}

bool GstStreamEncoder::push(const uint8_t *pcm, size_t bytes, std::vector<uint8_t> &out) {
  if (finished_ || !error_.empty())
    return false;
  const size_t bpf = static_cast<size_t>(channels_) * 2;
  uint64_t frames = bytes / bpf;
  if (frames == 0)
    return true;
  GstBuffer *buf = gst_buffer_new_memdup(pcm, frames * bpf);
  GST_BUFFER_PTS(buf) = gst_util_uint64_scale_int(frames_, GST_SECOND, static_cast<gint>(rate_));
  GST_BUFFER_DURATION(buf) =
      gst_util_uint64_scale_int(frames_ + frames, GST_SECOND, static_cast<gint>(rate_)) -
      GST_BUFFER_PTS(buf);
  GST_BUFFER_OFFSET(buf) = frames_;
  GST_BUFFER_OFFSET_END(buf) = frames_ + frames;
  if (frames_ == 0)
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  frames_ += frames;
  GstFlowReturn flow = gst_pad_push(src_, buf);
  collect(out);
  return check_bus(flow, "encoding");
}

bool GstStreamEncoder::finish(std::vector<uint8_t> &out) {
  if (finished_)
    return error_.empty();
  if (frames_ == 0) {
    finished_ = eos_ = true; /* nothing went in: nothing to drain, nothing sent */
    return true;
  }
  if (flac_ && frames_ <= kFlacBlocksize) {
    /* flacenc drained with one block or less inside pushes its STREAMINFO
     * rewrite before its caps, and GStreamer prints a warning. So short a
     * stream gets silence up to a block and a frame: the quiet end of a
     * connection that carried under 72 ms of audio. */
    std::vector<uint8_t> quiet((kFlacBlocksize + 1 - frames_) * channels_ * 2, 0);
    if (!push(quiet.data(), quiet.size(), out))
      return false;
  }
  finished_ = true;
  gst_pad_push_event(src_, gst_event_new_eos());
  collect(out);
  if (!check_bus(GST_FLOW_OK, "draining"))
    return false;
  if (!eos_) {
    error_ = "the encoder did not drain";
    return false;
  }
  return true;
}

GstFlowReturn GstStreamEncoder::on_chain(GstPad *pad, GstObject *, GstBuffer *buffer) {
  auto *self = static_cast<GstStreamEncoder *>(gst_pad_get_element_private(pad));
  if (GST_BUFFER_PTS_IS_VALID(buffer) && GST_BUFFER_DURATION_IS_VALID(buffer))
    self->audio_out_ =
        std::max(self->audio_out_, GST_BUFFER_PTS(buffer) + GST_BUFFER_DURATION(buffer));
  if (!self->rewriting_) {
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      self->pending_.insert(self->pending_.end(), map.data, map.data + map.size);
      self->bytes_out_ += map.size;
      gst_buffer_unmap(buffer, &map);
    }
  }
  gst_buffer_unref(buffer);
  return GST_FLOW_OK;
}

gboolean GstStreamEncoder::on_event(GstPad *pad, GstObject *, GstEvent *event) {
  auto *self = static_cast<GstStreamEncoder *>(gst_pad_get_element_private(pad));
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
    const GstSegment *segment = nullptr;
    gst_event_parse_segment(event, &segment);
    /* flacenc seeks back at EOS to rewrite its STREAMINFO (total samples,
     * MD5). A socket cannot seek: the header sent says "unknown", which is
     * valid FLAC; what it rewrites is dropped. */
    if (segment->format == GST_FORMAT_BYTES && segment->start < self->bytes_out_)
      self->rewriting_ = true;
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    self->eos_ = true;
  }
  gst_event_unref(event);
  return TRUE;
}

} // namespace

std::string AudioEncoder::check_available(AudioEncoding encoding) {
  for (const Needed &n : needed_for(encoding)) {
    GstElementFactory *factory = gst_element_factory_find(n.factory);
    if (!factory)
      return std::string("encoding=") + encoding_name(encoding) + " needs the " + n.factory +
             " element, which is not installed (Debian package " + n.package + ")";
    gst_object_unref(factory);
  }
  return {};
}

AudioEncoding AudioEncoder::resolve(AudioEncoding requested, bool *can_step_down,
                                    std::string *note) {
  *can_step_down = false;
  note->clear();
  if (requested != AudioEncoding::Auto)
    return requested;
  if (std::string missing = check_available(AudioEncoding::Flac); !missing.empty()) {
    *note = "encoding=auto sends linear16: " + missing;
    return AudioEncoding::Linear16;
  }
  *can_step_down = check_available(AudioEncoding::Opus).empty();
  return AudioEncoding::Flac;
}

std::unique_ptr<AudioEncoder> AudioEncoder::create(AudioEncoding encoding, uint32_t rate,
                                                   uint32_t channels, uint32_t bitrate,
                                                   std::string *error) {
  auto encoder = std::make_unique<GstStreamEncoder>(rate, channels);
  if (rate == 0 || channels == 0) {
    if (error)
      *error = "no audio format";
    return nullptr;
  }
  if (!encoder->build(encoding, bitrate)) {
    if (error)
      *error = encoding_name(encoding) + std::string(" encoder: ") + encoder->error();
    return nullptr;
  }
  return encoder;
}

} // namespace dgf
