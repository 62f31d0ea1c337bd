/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_common.h"

#include "audio_encoder.h"

#include <algorithm>
#include <memory>

#include <cstdlib>

GType gst_dg_encoding_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_DG_ENCODING_LINEAR16, "Raw 16-bit PCM (256 kbit/s at 16 kHz mono)", "linear16"},
      {GST_DG_ENCODING_FLAC, "FLAC stream, lossless (about half of linear16 for speech)", "flac"},
      {GST_DG_ENCODING_OPUS, "Ogg Opus stream at the bitrate property, lossy", "opus"},
      {GST_DG_ENCODING_AUTO,
       "flac; live, opus at the bitrate property once the link cannot carry flac in real time",
       "auto"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstDgEncoding", values));
  return type;
}

namespace dgf {

static_assert(static_cast<int>(AudioEncoding::Flac) == GST_DG_ENCODING_FLAC &&
                  static_cast<int>(AudioEncoding::Opus) == GST_DG_ENCODING_OPUS &&
                  static_cast<int>(AudioEncoding::Linear16) == GST_DG_ENCODING_LINEAR16 &&
                  static_cast<int>(AudioEncoding::Auto) == GST_DG_ENCODING_AUTO,
              "GstDgEncoding mirrors dgf::AudioEncoding");

void dg_common_install_properties(GObjectClass *klass, const char *default_url, const char *what) {
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  /* These two blurbs are built per element: GLib must copy them. */
  const auto copied_blurb = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_NAME |
                                                     G_PARAM_STATIC_NICK | GST_PARAM_MUTABLE_READY);
  bool live = g_str_equal(what, "live");
  gchar *url_blurb = g_strdup_printf(
      "Deepgram %s API endpoint, %s, without credentials or query (options come from the "
      "properties). Point it at dg-emulator to test offline",
      what, live ? "wss:// (or ws:// to this machine)" : "https:// (or http:// to this machine)");
  g_object_class_install_property(
      klass, DG_PROP_URL, g_param_spec_string("url", "URL", url_blurb, default_url, copied_blurb));
  g_free(url_blurb);
  g_object_class_install_property(
      klass, DG_PROP_API_KEY,
      g_param_spec_string("api-key", "API key",
                          "Deepgram API key (write-only, never logged). Unset: the "
                          "DEEPGRAM_API_KEY environment variable",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(klass, DG_PROP_MODEL,
                                  g_param_spec_string("model", "Model",
                                                      "Deepgram model, e.g. nova-3, nova-2, base",
                                                      kDefaultModel, flags));
  g_object_class_install_property(
      klass, DG_PROP_LANGUAGE,
      g_param_spec_string("language", "Language",
                          "BCP-47 language tag (e.g. en-US, multi); empty: Deepgram's default", "",
                          flags));
  g_object_class_install_property(klass, DG_PROP_PUNCTUATE,
                                  g_param_spec_boolean("punctuate", "Punctuate",
                                                       "Add punctuation and capitalization", TRUE,
                                                       flags));
  g_object_class_install_property(
      klass, DG_PROP_SMART_FORMAT,
      g_param_spec_boolean("smart-format", "Smart format",
                           "Format numbers, dates, currency and the like for readability", FALSE,
                           flags));
  g_object_class_install_property(
      klass, DG_PROP_DIARIZE,
      g_param_spec_boolean("diarize", "Diarize",
                           "Label words with speakers (speaker numbers compare only within "
                           "one STT session)",
                           FALSE, flags));
  g_object_class_install_property(
      klass, DG_PROP_KEYTERMS,
      g_param_spec_string("keyterms", "Key terms",
                          "Comma-separated terms to boost (nova-3 keyterm prompting), "
                          "e.g. \"Deepgram,GStreamer\"",
                          "", flags));
  g_object_class_install_property(
      klass, DG_PROP_EXTRA_OPTIONS,
      g_param_spec_string("extra-options", "Extra options",
                          "Any other Deepgram query options as key=value pairs joined by '&', "
                          "e.g. \"numerals=true&tag=studio a\"; values are URL-encoded for you",
                          "", flags));
  g_object_class_install_property(
      klass, DG_PROP_ALLOW_INSECURE,
      g_param_spec_boolean("allow-insecure", "Allow insecure",
                           "Allow sending the API key over plain ws:// or http:// to a host "
                           "other than this machine",
                           FALSE, flags));
  g_object_class_install_property(
      klass, DG_PROP_CA_FILE,
      g_param_spec_string("ca-file", "CA file",
                          "PEM file of CA certificates to trust instead of the system's "
                          "(empty: system trust store)",
                          "", flags));
  g_object_class_install_property(
      klass, DG_PROP_TLS_VERIFY,
      g_param_spec_boolean("tls-verify", "TLS verify",
                           "Verify the server's TLS certificate (turn off only for tests)", TRUE,
                           flags));
  g_object_class_install_property(
      klass, DG_PROP_MULTICHANNEL,
      g_param_spec_boolean("multichannel", "Multichannel",
                           "Transcribe each channel on its own (Deepgram's multichannel, billed "
                           "per channel; transcripts carry their channel). Off: the sink takes "
                           "mono, and an audioconvert before it downmixes",
                           FALSE, flags));
  g_object_class_install_property(
      klass, DG_PROP_MAX_OUTAGE,
      g_param_spec_int("max-outage", "Max outage",
                       "Used alone (not behind sttfailover): give up with an ERROR once the "
                       "service could not be used for this many ms; 0: never; -1: 120000 for "
                       "input that is not live, never for live input",
                       -1, G_MAXINT, -1, flags));
  g_object_class_install_property(
      klass, DG_PROP_ENCODING,
      g_param_spec_enum("encoding", "Encoding",
                        "How audio goes to Deepgram: linear16 (raw PCM), flac (a FLAC stream, "
                        "lossless, about 43% of linear16), opus (an Ogg Opus stream at bitrate, "
                        "lossy) or auto: flac, and on the live API opus at bitrate from the "
                        "moment the link cannot carry flac in real time (once per stream, with "
                        "a WARNING); linear16 when flacenc is missing. Timestamps stay exact "
                        "with any of them. flac needs flacenc (gstreamer1.0-plugins-good), opus "
                        "opusenc and oggmux (gstreamer1.0-plugins-base)",
                        GST_TYPE_DG_ENCODING, GST_DG_ENCODING_AUTO, flags));
  g_object_class_install_property(
      klass, DG_PROP_BITRATE,
      g_param_spec_uint("bitrate", "Bitrate",
                        "Opus bitrate in bit/s, as opusenc's: 4000-650000 (less is raised to "
                        "4000); 0: 32000. Used only with encoding=opus",
                        0, kMaxOpusBitrate, 0, flags));
}

static std::string string_or_empty(const GValue *value) {
  const char *s = g_value_get_string(value);
  return s ? s : "";
}

bool dg_common_set_property(DgCommonSettings &s, guint prop_id, const GValue *value) {
  switch (prop_id) {
  case DG_PROP_URL:
    s.url = string_or_empty(value);
    return true;
  case DG_PROP_API_KEY:
    s.api_key = string_or_empty(value);
    return true;
  case DG_PROP_MODEL:
    s.model = string_or_empty(value);
    return true;
  case DG_PROP_LANGUAGE:
    s.language = string_or_empty(value);
    return true;
  case DG_PROP_PUNCTUATE:
    s.punctuate = g_value_get_boolean(value);
    return true;
  case DG_PROP_SMART_FORMAT:
    s.smart_format = g_value_get_boolean(value);
    return true;
  case DG_PROP_DIARIZE:
    s.diarize = g_value_get_boolean(value);
    return true;
  case DG_PROP_KEYTERMS:
    s.keyterms = string_or_empty(value);
    return true;
  case DG_PROP_EXTRA_OPTIONS:
    s.extra_options = string_or_empty(value);
    return true;
  case DG_PROP_ALLOW_INSECURE:
    s.allow_insecure = g_value_get_boolean(value);
    return true;
  case DG_PROP_CA_FILE:
    s.ca_file = string_or_empty(value);
    return true;
  case DG_PROP_TLS_VERIFY:
    s.tls_verify = g_value_get_boolean(value);
    return true;
  case DG_PROP_MULTICHANNEL:
    s.multichannel = g_value_get_boolean(value);
    return true;
  case DG_PROP_MAX_OUTAGE:
    s.max_outage_ms = g_value_get_int(value);
    return true;
  case DG_PROP_ENCODING:
    s.encoding = static_cast<AudioEncoding>(g_value_get_enum(value));
    return true;
  case DG_PROP_BITRATE:
    s.bitrate = g_value_get_uint(value);
    return true;
  default:
    return false;
  }
}

bool dg_common_get_property(const DgCommonSettings &s, guint prop_id, GValue *value) {
  switch (prop_id) {
  case DG_PROP_URL:
    g_value_set_string(value, s.url.c_str());
    return true;
  case DG_PROP_MODEL:
    g_value_set_string(value, s.model.c_str());
    return true;
  case DG_PROP_LANGUAGE:
    g_value_set_string(value, s.language.c_str());
    return true;
  case DG_PROP_PUNCTUATE:
    g_value_set_boolean(value, s.punctuate);
    return true;
  case DG_PROP_SMART_FORMAT:
    g_value_set_boolean(value, s.smart_format);
    return true;
  case DG_PROP_DIARIZE:
    g_value_set_boolean(value, s.diarize);
    return true;
  case DG_PROP_KEYTERMS:
    g_value_set_string(value, s.keyterms.c_str());
    return true;
  case DG_PROP_EXTRA_OPTIONS:
    g_value_set_string(value, s.extra_options.c_str());
    return true;
  case DG_PROP_ALLOW_INSECURE:
    g_value_set_boolean(value, s.allow_insecure);
    return true;
  case DG_PROP_CA_FILE:
    g_value_set_string(value, s.ca_file.c_str());
    return true;
  case DG_PROP_TLS_VERIFY:
    g_value_set_boolean(value, s.tls_verify);
    return true;
  case DG_PROP_MULTICHANNEL:
    g_value_set_boolean(value, s.multichannel);
    return true;
  case DG_PROP_MAX_OUTAGE:
    g_value_set_int(value, s.max_outage_ms);
    return true;
  case DG_PROP_ENCODING:
    g_value_set_enum(value, static_cast<int>(s.encoding));
    return true;
  case DG_PROP_BITRATE:
    g_value_set_uint(value, s.bitrate);
    return true;
  default:
    return false; /* api-key is write-only */
  }
}

SoupSession *dg_make_session(const DgCommonSettings &settings, unsigned timeout_s,
                             std::string *error, unsigned max_conns_per_host) {
  SoupSession *session =
      max_conns_per_host > 0
          ? soup_session_new_with_options("timeout", timeout_s, "idle-timeout", 60u, "user-agent",
                                          "gst-deepgram-failover/0.1", "max-conns-per-host",
                                          max_conns_per_host, "max-conns",
                                          std::max(10u, max_conns_per_host), nullptr)
          : soup_session_new_with_options("timeout", timeout_s, "idle-timeout", 60u, "user-agent",
                                          "gst-deepgram-failover/0.1", nullptr);
  if (!settings.ca_file.empty()) {
    GError *err = nullptr;
    GTlsDatabase *db = g_tls_file_database_new(settings.ca_file.c_str(), &err);
    if (!db) {
      if (error)
        *error = "ca-file: " + std::string(err ? err->message : "cannot load");
      g_clear_error(&err);
      g_object_unref(session);
      return nullptr;
    }
    soup_session_set_tls_database(session, db);
    g_object_unref(db);
  }
  return session;
}

void dg_post_refusal(GstElement *element, bool supervised, const std::string &message,
                     const std::string &debug, unsigned status, const std::string &request_id,
                     GQuark domain, gint code) {
  if (!domain) {
    domain = GST_RESOURCE_ERROR;
    code = status == 401 || status == 403   ? GST_RESOURCE_ERROR_NOT_AUTHORIZED
           : status == 404 || status == 405 ? GST_RESOURCE_ERROR_NOT_FOUND
           : status == 0                    ? GST_RESOURCE_ERROR_OPEN_READ
                                            : GST_RESOURCE_ERROR_SETTINGS;
  }
  GstStructure *details =
      gst_structure_new("details", "http-status-code", G_TYPE_UINT, status, "request-id",
                        G_TYPE_STRING, request_id.c_str(), nullptr);
  /* Takes the strings and the details. */
  gst_element_message_full_with_details(
      element, supervised ? GST_MESSAGE_WARNING : GST_MESSAGE_ERROR, domain, code,
      g_strdup(message.c_str()), g_strdup(debug.c_str()), __FILE__, GST_FUNCTION, __LINE__,
      details);
}

static gboolean accept_any_certificate(SoupMessage *, GTlsCertificate *, GTlsCertificateFlags,
                                       gpointer) {
  return TRUE;
}

void dg_prepare_message(SoupMessage *msg, const DgRequest &request, bool tls_verify) {
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                               request.authorization.c_str());
  if (!tls_verify)
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_any_certificate), nullptr);
}

namespace {

struct BoundedRead {
  SoupMessage *msg;
  GCancellable *cancellable;
  GInputStream *stream = nullptr;
  GByteArray *data;
  size_t max_bytes;
  DgBodyDone done;

  ~BoundedRead() {
    g_byte_array_unref(data);
    if (stream)
      g_object_unref(stream);
    if (cancellable)
      g_object_unref(cancellable);
    g_object_unref(msg);
  }

  static void finish(BoundedRead *r, GError *error, bool too_big) {
    std::unique_ptr<BoundedRead> owned(r);
    if (error) {
      owned->done(nullptr, error, too_big);
      g_error_free(error);
      return;
    }
    GBytes *body = g_byte_array_free_to_bytes(g_byte_array_ref(owned->data));
    owned->done(body, nullptr, false);
    g_bytes_unref(body);
  }

  static GError *too_big_error(size_t max_bytes) {
    return g_error_new(G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "response body larger than %zu bytes: not read", max_bytes);
  }

  void read_more() {
    /* Reads at most one byte past the cap: enough to know it is exceeded. */
    gsize want = std::min<gsize>(64 * 1024, max_bytes + 1 - data->len);
    g_input_stream_read_bytes_async(stream, want, G_PRIORITY_DEFAULT, cancellable, on_read, this);
  }

  static void on_read(GObject *source, GAsyncResult *result, gpointer self) {
    auto *r = static_cast<BoundedRead *>(self);
    GError *error = nullptr;
    GBytes *chunk = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
    if (!chunk) {
      finish(r, error, false);
      return;
    }
    gsize size = 0;
    const guint8 *bytes = static_cast<const guint8 *>(g_bytes_get_data(chunk, &size));
    if (size == 0) {
      g_bytes_unref(chunk);
      finish(r, nullptr, false);
      return;
    }
    g_byte_array_append(r->data, bytes, static_cast<guint>(size));
    g_bytes_unref(chunk);
    if (r->data->len > r->max_bytes) {
      g_input_stream_close(r->stream, nullptr, nullptr);
      finish(r, too_big_error(r->max_bytes), true);
      return;
    }
    r->read_more();
  }

  static void on_sent(GObject *source, GAsyncResult *result, gpointer self) {
    auto *r = static_cast<BoundedRead *>(self);
    GError *error = nullptr;
    r->stream = soup_session_send_finish(SOUP_SESSION(source), result, &error);
    if (!r->stream) {
      finish(r, error, false);
      return;
    }
    goffset length =
        soup_message_headers_get_content_length(soup_message_get_response_headers(r->msg));
    if (length > 0 && static_cast<guint64>(length) > r->max_bytes) {
      g_input_stream_close(r->stream, nullptr, nullptr);
      finish(r, too_big_error(r->max_bytes), true);
      return;
    }
    r->read_more();
  }
};

} // namespace

void dg_send_and_read_bounded(SoupSession *session, SoupMessage *msg, size_t max_bytes,
                              GCancellable *cancellable, DgBodyDone done) {
  auto *r = new BoundedRead{SOUP_MESSAGE(g_object_ref(msg)),
                            cancellable ? G_CANCELLABLE(g_object_ref(cancellable)) : nullptr,
                            nullptr,
                            g_byte_array_new(),
                            max_bytes,
                            std::move(done)};
  soup_session_send_async(session, msg, G_PRIORITY_DEFAULT, cancellable, BoundedRead::on_sent, r);
}

std::string dg_describe_tls_failure(SoupMessage *msg, const GError *error) {
  GTlsCertificateFlags flags =
      msg ? soup_message_get_tls_peer_certificate_errors(msg) : G_TLS_CERTIFICATE_NO_FLAGS;
  bool tls_error = error && error->domain == G_TLS_ERROR;
  if (!tls_error && flags == G_TLS_CERTIFICATE_NO_FLAGS)
    return {};
  std::string problems;
  auto add = [&](GTlsCertificateFlags f, const char *text) {
    if (flags & f)
      problems += (problems.empty() ? "" : ", ") + std::string(text);
  };
  add(G_TLS_CERTIFICATE_UNKNOWN_CA, "not signed by a trusted CA (self-signed or private CA)");
  add(G_TLS_CERTIFICATE_BAD_IDENTITY, "issued for another host name");
  add(G_TLS_CERTIFICATE_NOT_ACTIVATED, "not valid yet");
  add(G_TLS_CERTIFICATE_EXPIRED, "expired");
  add(G_TLS_CERTIFICATE_REVOKED, "revoked");
  add(G_TLS_CERTIFICATE_INSECURE, "uses an insecure algorithm");
  add(G_TLS_CERTIFICATE_GENERIC_ERROR, "unusable");
  if (problems.empty())
    problems = error ? error->message : "TLS handshake failed";
  GUri *uri = msg ? soup_message_get_uri(msg) : nullptr;
  const char *host = uri ? g_uri_get_host(uri) : nullptr;
  return std::string("TLS certificate of ") + (host ? host : "the server") +
         " not accepted: " + problems +
         " (set ca-file to a PEM file holding its CA, or tls-verify=false for tests only)";
}

std::string dg_describe_status(guint status) {
  const char *phrase = soup_status_get_phrase(status);
  return "HTTP " + std::to_string(status) + (phrase ? std::string(" ") + phrase : "");
}

bool dg_resolve_encoding(GstElement *element, AudioEncoding *encoding, bool *can_step_down) {
  std::string note;
  *encoding = AudioEncoder::resolve(*encoding, can_step_down, &note);
  if (!note.empty())
    GST_ELEMENT_WARNING(element, CORE, MISSING_PLUGIN, ("%s", note.c_str()),
                        ("linear16 needs about 2.3 times flac's uplink"));
  if (std::string missing = AudioEncoder::check_available(*encoding); !missing.empty()) {
    GST_ELEMENT_ERROR(element, CORE, MISSING_PLUGIN, ("%s", missing.c_str()), (nullptr));
    return false;
  }
  return true;
}

} // namespace dgf
