/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover's text pad: captions as text buffers with their transcript
 * meta, the latency captions may take, the pad's clock position, late
 * captions, and the pad's query, event and activation handlers. The task
 * that pushes them is CaptionPad's (caption_pad.h). */
#include <config.h>

#include "stt_protocol.h"

#include "gststtfailover_private.h"

namespace dgf::sttfailover {

/* ---- text pad -------------------------------------------------------------- */

/* A caption as a text buffer: times, and which branch and session made it. */
static GstBuffer *caption_buffer(GstSttFailover *self, const Caption &c) {
  GstBuffer *buf = gst_buffer_new_memdup(c.text.data(), c.text.size());
  GST_BUFFER_PTS(buf) = c.start;
  GST_BUFFER_DURATION(buf) = c.duration;
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, GST_STT_FAILOVER_TRANSCRIPT_META);
  GstStructure *fields = gst_custom_meta_get_structure(meta);
  const CaptionDetails &d = c.details;
  gst_structure_set(fields, "branch", G_TYPE_STRING, branch_name(c.branch), "session-id",
                    G_TYPE_STRING, c.session_id.c_str(), "request-id", G_TYPE_STRING,
                    d.request_id.c_str(), "channel", G_TYPE_INT, d.channel, "language",
                    G_TYPE_STRING, d.language.c_str(), "speaker", G_TYPE_INT, d.speaker,
                    "from-finalize", G_TYPE_BOOLEAN, d.from_finalize, nullptr);
  GValue words = G_VALUE_INIT;
  gst_value_array_init(&words, d.words.size());
  for (const CaptionWordInfo &w : d.words) {
    stt::TimedWord word{w.word,       w.word,    w.start,    w.end,
                        w.confidence, w.speaker, w.language, w.speaker_confidence};
    GValue item = G_VALUE_INIT;
    g_value_init(&item, GST_TYPE_STRUCTURE);
    GstStructure *ws = stt::to_structure(word);
    gst_value_set_structure(&item, ws);
    gst_structure_free(ws);
    gst_value_array_append_and_take_value(&words, &item);
  }
  gst_structure_take_value(fields, "words", &words);
  GST_LOG_OBJECT(self, "caption %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT " [%s] %s",
                 GST_TIME_ARGS(c.start), GST_TIME_ARGS(c.duration), branch_name(c.branch),
                 c.text.c_str());
  return buf;
}

/* The latency captions may take: what we answer to LATENCY queries, or the
 * pipeline's when it chose more (a pipeline whose sinks do not sync chooses
 * 0, which promises nothing to us). Call locked. */
static GstClockTime caption_latency_locked(SttFailoverPrivate *priv) {
  GstClockTime ours =
      priv->upstream_latency + static_cast<GstClockTime>(priv->settings.latency_ms) * GST_MSECOND;
  if (GST_CLOCK_TIME_IS_VALID(priv->configured_latency))
    return std::max(ours, priv->configured_latency);
  return ours;
}

/* Live: the stream time the text pad must reach now (running time minus the
 * latency, a tick ahead so downstream never waits for the next tick). */
static uint64_t caption_clock_position(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  GstClockTime now = running_time(self);
  if (!GST_CLOCK_TIME_IS_VALID(now))
    return 0;
  std::lock_guard<std::mutex> guard(priv->lock);
  GstClockTime latency = caption_latency_locked(priv);
  if (priv->segment.format != GST_FORMAT_TIME || now + CaptionPad::kTick <= latency)
    return 0;
  guint64 position = gst_segment_position_from_running_time(&priv->segment, GST_FORMAT_TIME,
                                                            now + CaptionPad::kTick - latency);
  return GST_CLOCK_TIME_IS_VALID(position) ? position : 0;
}

/* Live: how long until the clock forces the text pad past what it pushed
 * (caption_clock_position passes the output's end); 0 when it already has
 * or nothing is known. */
static uint64_t caption_idle_for(GstSttFailover *self) {
  SttFailoverPrivate *priv = self->priv;
  GstClockTime now = running_time(self);
  if (!GST_CLOCK_TIME_IS_VALID(now))
    return 0;
  std::lock_guard<std::mutex> guard(priv->lock);
  if (priv->segment.format != GST_FORMAT_TIME)
    return 0;
  GstClockTime pushed =
      gst_segment_to_running_time(&priv->segment, GST_FORMAT_TIME, priv->core.text_emitted_to());
  if (!GST_CLOCK_TIME_IS_VALID(pushed))
    return 0;
  /* clock_position(t) = t + kTick - latency: past `pushed` by a tick at
   * t = pushed + latency, where a tick would first push something. */
  GstClockTime due = pushed + caption_latency_locked(priv);
  return due > now ? due - now : 0;
}

/* Live: how long after its audio a caption at `pts` leaves. */
static GstClockTime caption_delay(GstSttFailover *self, uint64_t pts) {
  GstClockTime now = running_time(self);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  if (!GST_CLOCK_TIME_IS_VALID(now) || self->priv->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  GstClockTime at = gst_segment_to_running_time(&self->priv->segment, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(at))
    return GST_CLOCK_TIME_NONE;
  return now > at ? now - at : 0;
}

/* A caption left later than the latency allows: it is still shown (late),
 * and a WARNING says by how much, each time the worst delay grows by a second. */
static void note_caption_delay(GstSttFailover *self, GstClockTime delay) {
  SttFailoverPrivate *priv = self->priv;
  GstClockTime latency;
  bool notify = false, warn = false;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    latency = caption_latency_locked(priv);
    if (delay > priv->max_delay) {
      priv->max_delay = delay;
      notify = true;
    }
    if (delay > latency && delay >= priv->warned_delay + GST_SECOND) {
      priv->warned_delay = delay;
      warn = true;
    }
  }
  if (warn)
    GST_ELEMENT_WARNING_WITH_DETAILS(
        self, CORE, CLOCK,
        ("Captions are late: %" G_GUINT64_FORMAT
         " ms after their audio, latency is %" G_GUINT64_FORMAT " ms",
         delay / GST_MSECOND, latency / GST_MSECOND),
        ("downstream saw them after the video they belong to; raise latency (and the video queue) "
         "or see docs/live-feeds.md"),
        ("max-observed-delay", G_TYPE_UINT64, static_cast<guint64>(delay), "latency", G_TYPE_UINT64,
         static_cast<guint64>(latency), nullptr));
  if (notify)
    g_object_notify(G_OBJECT(self), "max-observed-delay");
}

/* Something may be ready for the text pad. */
void wake_captions(GstSttFailover *self) {
  if (self->priv->captions)
    self->priv->captions->wake();
}

/* Where the text pad's task takes captions, their buffers and its clock from. */
CaptionSource caption_source(GstSttFailover *self) {
  CaptionSource source;
  source.take = [self](uint64_t clock_position) {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    return self->priv->core.take_text(clock_position);
  };
  source.finish = [self] {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    return self->priv->core.finish_text();
  };
  source.to_buffer = [self](const Caption &c) { return caption_buffer(self, c); };
  source.clock_position = [self] { return caption_clock_position(self); };
  source.idle_for = [self] { return caption_idle_for(self); };
  source.delay_of = [self](uint64_t pts) { return caption_delay(self, pts); };
  source.on_delay = [self](GstClockTime delay) { note_caption_delay(self, delay); };
  return source;
}

gboolean text_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return gst_pad_query_default(pad, parent, query);
  /* Captions come after the audio they transcribe: add our latency. */
  GstClockTime extra;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    extra = static_cast<GstClockTime>(self->priv->settings.latency_ms) * GST_MSECOND;
  }
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  GstQuery *upstream = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, upstream))
    gst_query_parse_latency(upstream, &live, &min, &max);
  gst_query_unref(upstream);
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->upstream_latency = min;
  }
  gst_query_set_latency(query, live, min + extra,
                        GST_CLOCK_TIME_IS_VALID(max) ? max + extra : GST_CLOCK_TIME_NONE);
  return TRUE;
}

/* The pipeline tells its sinks the latency it chose; ours hears it through
 * the caption consumer and moves the text pad's clock by it. */
gboolean text_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY) {
    GstClockTime latency;
    gst_event_parse_latency(event, &latency);
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      self->priv->configured_latency = latency;
    }
    wake_captions(self); /* a sleeping pad's deadline moved */
  }
  return gst_pad_event_default(pad, parent, event);
}

gboolean text_activate_mode(GstPad *, GstObject *parent, GstPadMode mode, gboolean active) {
  auto *self = GST_STT_FAILOVER(parent);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  return self->priv->captions->activate(active);
}

gboolean transcript_meta_transform(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *, GQuark type,
                                   gpointer, gpointer) {
  if (!GST_META_TRANSFORM_IS_COPY(type))
    return TRUE; /* only plain copies keep it */
  GstCustomMeta *copy = gst_buffer_add_custom_meta(dest, GST_STT_FAILOVER_TRANSCRIPT_META);
  GstStructure *to = gst_custom_meta_get_structure(copy);
  gst_structure_foreach(
      gst_custom_meta_get_structure(meta),
      [](GQuark field, const GValue *v, gpointer data) -> gboolean {
        gst_structure_id_set_value(static_cast<GstStructure *>(data), field, v);
        return TRUE;
      },
      to);
  return TRUE;
}

} // namespace dgf::sttfailover
