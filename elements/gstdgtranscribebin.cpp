/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgtranscribebin: the failover and both Deepgram branches in one bin.
 *
 *   sink ─ audioconvert ─ audioresample ─ mono ─ sttfailover ─┬ stream ─ dgstreamsink
 *   └─ buffers with nothing to convert ──────────┘            ├ batch ─ queue ─ dgbatchsink
 *                                                             └ text ─ src
 *
 * Threads are what a bin costs per stream at scale (docs/performance.md,
 * "The whole bin at scale"), so only the batch branch has a queue: the
 * pre-recorded sink may wait (backpressure, uploads). dgstreamsink hands
 * audio to the shared network thread and waits only for room with a file
 * (as a full queue would), and the text pad is a streaming thread of its own (sttfailover's
 * caption task), so a caption consumer that holds buffers back never stops
 * the audio.
 *
 * The bin owns no state of its own: every property is a proxy of one or more
 * children, declared once, in the child: its type, range, default, flags and
 * words come from the child's own property, so they never drift apart. Messages from inside
 * (stt/...) pass the bin unchanged, as any bin's do; children are reachable by name (failover,
 * stream, batch) for everything not proxied, e.g. `stream::endpointing=300`.
 */
/**
 * SECTION:element-dgtranscribebin
 * @title: dgtranscribebin
 *
 * Audio in, captions out: Deepgram's live API while it is healthy, its
 * pre-recorded API while it is not, and back, without losing a word. Inside
 * are sttfailover, dgstreamsink and dgbatchsink; a file (input that is not
 * live) goes straight to the pre-recorded API (`mode=auto`). Problems are
 * WARNINGs and ERRORs; `stt/degraded`, `stt/recovered` and
 * `stt/audio-dropped` messages tell an application what happened.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=talk.wav ! wavparse ! dgtranscribebin ! webvttenc ! \
 *     filesink location=talk.vtt
 * ]|
 * Transcribes a WAV file into WebVTT captions (the key from
 * `DEEPGRAM_API_KEY`). docs/dgtranscribebin.md has the rest.
 */
#include <config.h>

#include "gstdgtranscribebin.h"

#include "converter_bypass.h"

#include <string>

GST_DEBUG_CATEGORY_STATIC(dg_transcribe_bin_debug);
#define GST_CAT_DEFAULT dg_transcribe_bin_debug

namespace {

enum Target : unsigned { FAILOVER = 1, STREAM = 2, BATCH = 4 };

/* One bin property: which children get it, under which name. Its type,
 * range, default, flags, nick and blurb are the child's own (declared once,
 * in the child); the bin only says where it goes. */
struct Proxy {
  const char *name;
  unsigned targets;       /* the first one answers reads and gives the declaration */
  const char *child_name; /* nullptr: same name */
  const char *nick;       /* nullptr: the child's (a renamed proxy names itself) */
  const char *note;       /* appended to the child's blurb: what the bin adds */
};

const Proxy kProxies[] = {
    {"api-key", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"stream-url", STREAM, "url", "Stream URL", nullptr},
    {"batch-url", BATCH, "url", "Batch URL", nullptr},
    {"model", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"language", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"language-code", STREAM | BATCH, "language", "Language code",
     " (the name transcriberbin sets on its transcriber)"},
    {"punctuate", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"smart-format", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"diarize", STREAM | BATCH, nullptr, nullptr, "; see caption-speaker-lines"},
    {"keyterms", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"extra-options", STREAM | BATCH, nullptr, nullptr,
     " (one branch only: stream::extra-options or batch::extra-options)"},
    {"allow-insecure", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"ca-file", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"tls-verify", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"encoding", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"bitrate", STREAM | BATCH, nullptr, nullptr, nullptr},
    {"breaker", FAILOVER | STREAM, nullptr, nullptr, nullptr},
    {"batch-breaker", BATCH, "breaker", "Batch breaker", nullptr},
    {"failure-threshold", FAILOVER, nullptr, nullptr, nullptr},
    {"reset-timeout", FAILOVER, nullptr, nullptr, nullptr},
    {"reset-timeout-max", FAILOVER, nullptr, nullptr, nullptr},
    {"probe-timeout", FAILOVER, nullptr, nullptr, nullptr},
    {"mode", FAILOVER, nullptr, nullptr, nullptr},
    {"replay-window", FAILOVER, nullptr, nullptr, nullptr},
    {"retry-backoff-min", FAILOVER, nullptr, nullptr, nullptr},
    {"retry-backoff-max", FAILOVER, nullptr, nullptr, nullptr},
    {"latency", FAILOVER, nullptr, nullptr, nullptr},
    {"drain-timeout", FAILOVER, nullptr, nullptr, nullptr},
    {"max-outage", FAILOVER, nullptr, nullptr, nullptr},
    {"caption-max-chars", FAILOVER, nullptr, nullptr, nullptr},
    {"caption-max-lines", FAILOVER, nullptr, nullptr, nullptr},
    {"caption-max-duration", FAILOVER, nullptr, nullptr, nullptr},
    {"caption-speaker-lines", FAILOVER, nullptr, nullptr, nullptr},
    {"max-observed-delay", FAILOVER, nullptr, nullptr, nullptr},
    {"state", FAILOVER, nullptr, nullptr, nullptr},
    {"stats", FAILOVER, nullptr, nullptr, nullptr},
};
constexpr guint kNumProxies = G_N_ELEMENTS(kProxies);

/* The children, by factory name: the bin knows them as any bin knows its
 * children, not by their headers. */
const char *target_factory(unsigned targets) {
  if (targets & FAILOVER)
    return "sttfailover";
  return (targets & STREAM) ? "dgstreamsink" : "dgbatchsink";
}

/* The class of a child element, or nullptr (with a warning) when its factory
 * is missing. Unref with g_type_class_unref. */
gpointer child_class_ref(const char *factory_name) {
  GstElementFactory *factory = gst_element_factory_find(factory_name);
  GType type = G_TYPE_INVALID;
  if (factory) {
    auto *loaded = GST_ELEMENT_FACTORY(gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory)));
    if (loaded) {
      type = gst_element_factory_get_element_type(loaded);
      gst_object_unref(loaded);
    }
    gst_object_unref(factory);
  }
  if (type == G_TYPE_INVALID) {
    g_warning("dgtranscribebin: element %s is not registered; its properties are missing",
              factory_name);
    return nullptr;
  }
  return g_type_class_ref(type);
}

/* The bin's words for a proxy: the child's, saying when they apply to both
 * branches, plus the bin's note. Interned: class data lives as long as the
 * type. */
const char *proxy_blurb(const Proxy &p, GParamSpec *from) {
  std::string blurb = g_param_spec_get_blurb(from);
  if ((p.targets & STREAM) && (p.targets & BATCH))
    blurb = "Both branches: " + blurb;
  if (p.note)
    blurb += p.note;
  return g_intern_string(blurb.c_str());
}

/* The child's property under the bin's name: same type, range, default,
 * access, mutability and words. */
GParamSpec *clone_pspec(const Proxy &p, GParamSpec *from) {
  const auto keep = static_cast<GParamFlags>(
      from->flags & (G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | GST_PARAM_MUTABLE_PAUSED |
                     GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  const auto flags = static_cast<GParamFlags>(keep | G_PARAM_STATIC_STRINGS);
  const char *nick = g_intern_string(p.nick ? p.nick : g_param_spec_get_nick(from));
  const char *blurb = proxy_blurb(p, from);
  if (G_IS_PARAM_SPEC_STRING(from))
    return g_param_spec_string(p.name, nick, blurb, G_PARAM_SPEC_STRING(from)->default_value,
                               flags);
  if (G_IS_PARAM_SPEC_BOOLEAN(from))
    return g_param_spec_boolean(p.name, nick, blurb, G_PARAM_SPEC_BOOLEAN(from)->default_value,
                                flags);
  if (G_IS_PARAM_SPEC_UINT(from)) {
    auto *u = G_PARAM_SPEC_UINT(from);
    return g_param_spec_uint(p.name, nick, blurb, u->minimum, u->maximum, u->default_value, flags);
  }
  if (G_IS_PARAM_SPEC_INT(from)) {
    auto *i = G_PARAM_SPEC_INT(from);
    return g_param_spec_int(p.name, nick, blurb, i->minimum, i->maximum, i->default_value, flags);
  }
  if (G_IS_PARAM_SPEC_ENUM(from))
    return g_param_spec_enum(p.name, nick, blurb, G_PARAM_SPEC_VALUE_TYPE(from),
                             G_PARAM_SPEC_ENUM(from)->default_value, flags);
  if (G_IS_PARAM_SPEC_BOXED(from))
    return g_param_spec_boxed(p.name, nick, blurb, G_PARAM_SPEC_VALUE_TYPE(from), flags);
  /* A programming error, caught by the tests (every proxy is inspected). */
  g_warning("dgtranscribebin: no proxy for %s of type %s", p.name, G_PARAM_SPEC_TYPE_NAME(from));
  return nullptr;
}

} // namespace

struct _GstDgTranscribeBin {
  GstBin parent;
  /* Children, owned by the bin; these are borrowed (nullptr when missing). */
  GstElement *failover;
  GstElement *stream;
  GstElement *batch;
  /* Why the bin cannot work (a child missing or unlinkable), posted as an
   * ERROR at NULL->READY; nullptr when whole. */
  gchar *broken;
};

#define gst_dg_transcribe_bin_parent_class parent_class
G_DEFINE_TYPE(GstDgTranscribeBin, gst_dg_transcribe_bin, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE(dgtranscribebin, "dgtranscribebin", GST_RANK_NONE,
                            GST_TYPE_DG_TRANSCRIBE_BIN);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("audio/x-raw"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("text/x-raw, format = (string) utf8"));

static void set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
  auto *self = GST_DG_TRANSCRIBE_BIN(object);
  if (prop_id == 0 || prop_id > kNumProxies) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  const Proxy &p = kProxies[prop_id - 1];
  const char *name = p.child_name ? p.child_name : p.name;
  if (self->broken)
    return; /* reported at NULL->READY */
  if (p.targets & FAILOVER)
    g_object_set_property(G_OBJECT(self->failover), name, value);
  if (p.targets & STREAM)
    g_object_set_property(G_OBJECT(self->stream), name, value);
  if (p.targets & BATCH)
    g_object_set_property(G_OBJECT(self->batch), name, value);
}

static void get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_DG_TRANSCRIBE_BIN(object);
  if (prop_id == 0 || prop_id > kNumProxies) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  const Proxy &p = kProxies[prop_id - 1];
  if (self->broken) {
    g_param_value_set_default(pspec, value);
    return;
  }
  GstElement *from = (p.targets & FAILOVER) ? self->failover
                     : (p.targets & STREAM) ? self->stream
                                            : self->batch;
  g_object_get_property(G_OBJECT(from), p.child_name ? p.child_name : p.name, value);
}

/* The failover's read-only state and stats notify; so do ours. */
static void on_child_notify(GObject *, GParamSpec *pspec, gpointer data) {
  g_object_notify(G_OBJECT(data), g_param_spec_get_name(pspec));
}

static GstStateChangeReturn change_state(GstElement *element, GstStateChange transition);
static void finalize(GObject *object);

static void gst_dg_transcribe_bin_class_init(GstDgTranscribeBinClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(dg_transcribe_bin_debug, "dgtranscribebin", 0,
                          "sttfailover with Deepgram live and pre-recorded branches");
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(change_state);

  for (guint i = 0; i < kNumProxies; i++) {
    const Proxy &p = kProxies[i];
    gpointer child_class = child_class_ref(target_factory(p.targets));
    if (!child_class)
      continue;
    const char *child_name = p.child_name ? p.child_name : p.name;
    GParamSpec *from = g_object_class_find_property(G_OBJECT_CLASS(child_class), child_name);
    GParamSpec *spec = from ? clone_pspec(p, from) : nullptr;
    if (spec)
      g_object_class_install_property(gobject_class, i + 1, spec);
    else
      g_warning("dgtranscribebin: %s has no property %s", target_factory(p.targets), child_name);
    g_type_class_unref(child_class);
  }

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Deepgram transcription with failover", "Audio/Text/Filter",
      "Audio in, captions out: Deepgram live streaming that fails over to the pre-recorded API "
      "without losing audio (sttfailover, dgstreamsink and dgbatchsink inside)",
      DGF_MAINTAINER);
}

/* A child by factory name; nullptr, with the reason kept for NULL->READY,
 * when the factory is missing (a broken installation). */
static GstElement *add_child(GstDgTranscribeBin *self, const char *factory, const char *name) {
  GstElement *e = gst_element_factory_make(factory, name);
  if (!e) {
    if (!self->broken)
      self->broken = g_strdup_printf("element '%s' is missing: check the GStreamer installation "
                                     "(gst-inspect-1.0 %s)",
                                     factory, factory);
    return nullptr;
  }
  gst_bin_add(GST_BIN(self), e);
  return e;
}

static GstStateChangeReturn change_state(GstElement *element, GstStateChange transition) {
  auto *self = GST_DG_TRANSCRIBE_BIN(element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && self->broken) {
    GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("%s", self->broken), (nullptr));
    return GST_STATE_CHANGE_FAILURE;
  }
  return GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
}

static void finalize(GObject *object) {
  g_free(GST_DG_TRANSCRIBE_BIN(object)->broken);
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_dg_transcribe_bin_init(GstDgTranscribeBin *self) {
  GstElement *convert = add_child(self, "audioconvert", "convert");
  GstElement *resample = add_child(self, "audioresample", "resample");
  /* One caption stream: a stereo programme would otherwise be transcribed
   * (and paid for) twice. */
  GstElement *mono = add_child(self, "capsfilter", "mono");
  self->failover = add_child(self, "sttfailover", "failover");
  self->stream = add_child(self, "dgstreamsink", "stream");
  self->batch = add_child(self, "dgbatchsink", "batch");
  GstElement *batch_queue = add_child(self, "queue", "batch-queue");
  if (self->broken)
    return;
  GstCaps *caps = gst_caps_from_string("audio/x-raw, channels = (int) 1");
  g_object_set(mono, "caps", caps, nullptr);
  gst_caps_unref(caps);
  /* Nobody listens to their signals: spare an emission per buffer. */
  g_object_set(batch_queue, "silent", TRUE, nullptr);

  bool linked = gst_element_link_many(convert, resample, mono, self->failover, nullptr) &&
                gst_element_link_pads(self->failover, "stream", self->stream, "sink") &&
                gst_element_link_pads(self->failover, "batch", batch_queue, "sink") &&
                gst_element_link(batch_queue, self->batch);
  if (!linked) {
    self->broken = g_strdup("could not link its children (sttfailover, dgstreamsink, "
                            "dgbatchsink): check that they come from the same plugin version");
    return;
  }

  GstPad *target = gst_element_get_static_pad(convert, "sink");
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
  GstPad *sink = gst_ghost_pad_new_from_template("sink", target,
                                                 gst_element_class_get_pad_template(klass, "sink"));
  gst_object_unref(target);
  /* Audio that needs no converting skips the converters (their walk is a
   * share of the bin's CPU at scale); events still take them. */
  GstPad *failover_sink = gst_element_get_static_pad(self->failover, "sink");
  dgf::converter_bypass_install(sink, failover_sink, {convert, resample, mono});
  gst_object_unref(failover_sink);
  gst_element_add_pad(GST_ELEMENT(self), sink);
  target = gst_element_get_static_pad(self->failover, "text");
  gst_element_add_pad(GST_ELEMENT(self),
                      gst_ghost_pad_new_from_template(
                          "src", target, gst_element_class_get_pad_template(klass, "src")));
  gst_object_unref(target);

  g_signal_connect_object(self->failover, "notify::state", G_CALLBACK(on_child_notify), self,
                          static_cast<GConnectFlags>(0));
  g_signal_connect_object(self->failover, "notify::stats", G_CALLBACK(on_child_notify), self,
                          static_cast<GConnectFlags>(0));
  g_signal_connect_object(self->failover, "notify::max-observed-delay", G_CALLBACK(on_child_notify),
                          self, static_cast<GConnectFlags>(0));
}
