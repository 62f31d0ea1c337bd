/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgtranscribebin: the failover and both Deepgram branches in one bin.
 *
 *   sink ─ audioconvert ─ audioresample ─ mono ─ sttfailover ─┬ stream ─ queue ─ dgstreamsink
 *                                                             ├ batch ─ queue ─ dgbatchsink
 *                                                             └ text ─ queue ─ src
 *
 * The bin owns no state of its own: every property is a proxy of one or more
 * children, its range and default taken from the child's own property so
 * they never drift apart. Messages from inside (stt/...) pass the bin
 * unchanged, as any bin's do; children are reachable by name (failover,
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

GST_DEBUG_CATEGORY_STATIC(dg_transcribe_bin_debug);
#define GST_CAT_DEFAULT dg_transcribe_bin_debug

namespace {

enum Target : unsigned { FAILOVER = 1, STREAM = 2, BATCH = 4 };

/* One bin property: which children get it, under which name. */
struct Proxy {
  const char *name;
  const char *nick;
  const char *blurb;
  unsigned targets;       /* the first one answers reads and gives range and default */
  const char *child_name; /* nullptr: same name */
};

const Proxy kProxies[] = {
    {"api-key", "API key",
     "Deepgram API key for both branches (write-only, never logged); unset: the "
     "DEEPGRAM_API_KEY environment variable",
     STREAM | BATCH, nullptr},
    {"stream-url", "Stream URL",
     "Deepgram live API endpoint, wss:// (or ws:// to this machine), without credentials or "
     "query",
     STREAM, "url"},
    {"batch-url", "Batch URL",
     "Deepgram pre-recorded API endpoint, https:// (or http:// to this machine), without "
     "credentials or query",
     BATCH, "url"},
    {"model", "Model", "Deepgram model for both branches, e.g. nova-3, nova-2", STREAM | BATCH,
     nullptr},
    {"language", "Language", "BCP-47 language tag for both branches; empty: Deepgram's default",
     STREAM | BATCH, nullptr},
    {"language-code", "Language code",
     "Same as language (the name transcriberbin sets on its transcriber)", STREAM | BATCH,
     "language"},
    {"punctuate", "Punctuate", "Add punctuation and capitalization", STREAM | BATCH, nullptr},
    {"smart-format", "Smart format", "Format numbers, dates, currency and the like", STREAM | BATCH,
     nullptr},
    {"diarize", "Diarize",
     "Label words with speakers (see caption-speaker-lines); labels compare only within one "
     "STT session",
     STREAM | BATCH, nullptr},
    {"keyterms", "Key terms", "Comma-separated terms to boost (nova-3 keyterm prompting)",
     STREAM | BATCH, nullptr},
    {"extra-options", "Extra options",
     "Any other Deepgram query options for both branches as key=value pairs joined by '&' "
     "(one branch only: stream::extra-options or batch::extra-options)",
     STREAM | BATCH, nullptr},
    {"allow-insecure", "Allow insecure",
     "Allow sending the API key over plain ws:// or http:// to a host other than this machine",
     STREAM | BATCH, nullptr},
    {"ca-file", "CA file",
     "PEM file of CA certificates to trust instead of the system's, for both branches (empty: "
     "system trust store)",
     STREAM | BATCH, nullptr},
    {"tls-verify", "TLS verify", "Verify the servers' TLS certificates (turn off only for tests)",
     STREAM | BATCH, nullptr},
    {"breaker", "Breaker",
     "Circuit breaker guarding the live API (failover and stream sink). Empty: the "
     "pipeline's, shared through a GstContext; a name: shared by every pipeline in the process "
     "that names it",
     FAILOVER | STREAM, nullptr},
    {"batch-breaker", "Batch breaker",
     "Circuit breaker guarding the pre-recorded API. Empty: the pipeline's; a name: shared "
     "by every pipeline in the process that names it",
     BATCH, "breaker"},
    {"failure-threshold", "Failure threshold",
     "Consecutive live connect failures that open the breaker", FAILOVER, nullptr},
    {"reset-timeout", "Reset timeout",
     "Breaker open time in ms after its first trip; doubles per re-trip (full jitter)", FAILOVER,
     nullptr},
    {"reset-timeout-max", "Reset timeout max", "Cap in ms of the breaker's open time", FAILOVER,
     nullptr},
    {"probe-timeout", "Probe timeout",
     "How long in ms a half-open probe connection may take before the breaker reopens", FAILOVER,
     nullptr},
    {"mode", "Mode",
     "Routing: auto (live input streams, a file goes to the pre-recorded API), stream-first, "
     "force-stream or force-batch (changeable while playing)",
     FAILOVER, nullptr},
    {"replay-window", "Replay window", "Un-acknowledged live audio kept for replay to batch, in ms",
     FAILOVER, nullptr},
    {"retry-backoff-min", "Retry backoff min",
     "Ceiling of the delay before the first recovery attempt (back to the live API), in ms; "
     "doubles per attempt (full jitter)",
     FAILOVER, nullptr},
    {"retry-backoff-max", "Retry backoff max",
     "Cap of the delay ceiling before a recovery attempt, in ms", FAILOVER, nullptr},
    {"latency", "Latency",
     "How late captions may be, in ms: added to upstream latency on the src pad", FAILOVER,
     nullptr},
    {"drain-timeout", "Drain timeout",
     "At EOS, how long in ms to wait without a result from the branch being drained", FAILOVER,
     nullptr},
    {"max-outage", "Max outage",
     "Give up with an ERROR once neither API could transcribe for this many ms; 0: never; -1: "
     "120000 for input that is not live, never for live input",
     FAILOVER, nullptr},
    {"caption-max-chars", "Caption max chars",
     "Longest caption line in characters; lines break between words (0: no limit; 32 for "
     "CEA-608)",
     FAILOVER, nullptr},
    {"caption-max-lines", "Caption max lines", "Most lines in one caption", FAILOVER, nullptr},
    {"caption-max-duration", "Caption max duration",
     "Longest time in ms one caption stays on screen (0: no limit)", FAILOVER, nullptr},
    {"caption-speaker-lines", "Caption speaker lines",
     "A speaker change starts a new caption line (set diarize too)", FAILOVER, nullptr},
    {"max-observed-delay", "Max observed delay",
     "Live input: the longest a caption has left after its audio, in ms (notifies; a WARNING "
     "when it passes the latency)",
     FAILOVER, nullptr},
    {"state", "State",
     "The failover's state: streaming, degraded, recovering, or batch (input that is not live) "
     "(notifies)",
     FAILOVER, nullptr},
    {"stats", "Statistics",
     "The failover's sttfailover-stats: transitions, audio per branch, replays, drops "
     "(counters and ns as guint64; notifies)",
     FAILOVER, nullptr},
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

/* The child's property under the bin's name, nick and blurb: same type,
 * range, default, access and mutability. */
GParamSpec *clone_pspec(const Proxy &p, GParamSpec *from) {
  const auto keep = static_cast<GParamFlags>(
      from->flags & (G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | GST_PARAM_MUTABLE_PAUSED |
                     GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE));
  const auto flags = static_cast<GParamFlags>(keep | G_PARAM_STATIC_STRINGS);
  if (G_IS_PARAM_SPEC_STRING(from))
    return g_param_spec_string(p.name, p.nick, p.blurb, G_PARAM_SPEC_STRING(from)->default_value,
                               flags);
  if (G_IS_PARAM_SPEC_BOOLEAN(from))
    return g_param_spec_boolean(p.name, p.nick, p.blurb, G_PARAM_SPEC_BOOLEAN(from)->default_value,
                                flags);
  if (G_IS_PARAM_SPEC_UINT(from)) {
    auto *u = G_PARAM_SPEC_UINT(from);
    return g_param_spec_uint(p.name, p.nick, p.blurb, u->minimum, u->maximum, u->default_value,
                             flags);
  }
  if (G_IS_PARAM_SPEC_INT(from)) {
    auto *i = G_PARAM_SPEC_INT(from);
    return g_param_spec_int(p.name, p.nick, p.blurb, i->minimum, i->maximum, i->default_value,
                            flags);
  }
  if (G_IS_PARAM_SPEC_ENUM(from))
    return g_param_spec_enum(p.name, p.nick, p.blurb, G_PARAM_SPEC_VALUE_TYPE(from),
                             G_PARAM_SPEC_ENUM(from)->default_value, flags);
  if (G_IS_PARAM_SPEC_BOXED(from))
    return g_param_spec_boxed(p.name, p.nick, p.blurb, G_PARAM_SPEC_VALUE_TYPE(from), flags);
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
  GstElement *stream_queue = add_child(self, "queue", "stream-queue");
  GstElement *batch_queue = add_child(self, "queue", "batch-queue");
  /* Text is tiny; never let a slow caption consumer (textoverlay waiting for
   * video) hold up the audio routing. */
  GstElement *text_queue = add_child(self, "queue", "text-queue");
  if (self->broken)
    return;
  GstCaps *caps = gst_caps_from_string("audio/x-raw, channels = (int) 1");
  g_object_set(mono, "caps", caps, nullptr);
  gst_caps_unref(caps);
  g_object_set(text_queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
               G_GUINT64_CONSTANT(0), nullptr);

  bool linked = gst_element_link_many(convert, resample, mono, self->failover, nullptr) &&
                gst_element_link_pads(self->failover, "stream", stream_queue, "sink") &&
                gst_element_link(stream_queue, self->stream) &&
                gst_element_link_pads(self->failover, "batch", batch_queue, "sink") &&
                gst_element_link(batch_queue, self->batch) &&
                gst_element_link_pads(self->failover, "text", text_queue, "sink");
  if (!linked) {
    self->broken = g_strdup("could not link its children (sttfailover, dgstreamsink, "
                            "dgbatchsink): check that they come from the same plugin version");
    return;
  }

  GstPad *target = gst_element_get_static_pad(convert, "sink");
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
  gst_element_add_pad(GST_ELEMENT(self),
                      gst_ghost_pad_new_from_template(
                          "sink", target, gst_element_class_get_pad_template(klass, "sink")));
  gst_object_unref(target);
  target = gst_element_get_static_pad(text_queue, "src");
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
