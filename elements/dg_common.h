/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What dgstreamsink and dgbatchsink share: the Deepgram properties both
 * expose (url, api-key, model, ...), the API key lookup, and the libsoup
 * session setup (TLS, auth header).
 *
 * Property ids DG_PROP_COMMON_FIRST..DG_PROP_COMMON_LAST are reserved for
 * these; each element numbers its own properties after DG_PROP_COMMON_LAST.
 */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "deepgram_request.h"
#include "sink_caps.h"

G_BEGIN_DECLS

/* The `encoding` property: how audio goes on the wire (Deepgram's names).
 * Values match dgf::AudioEncoding. */
typedef enum {
  GST_DG_ENCODING_LINEAR16 = 0,
  GST_DG_ENCODING_FLAC = 1,
  GST_DG_ENCODING_OPUS = 2,
  GST_DG_ENCODING_AUTO = 3,
} GstDgEncoding;

#define GST_TYPE_DG_ENCODING (gst_dg_encoding_get_type())
GType gst_dg_encoding_get_type(void);

G_END_DECLS

namespace dgf {

enum DgCommonProp : guint {
  DG_PROP_COMMON_FIRST = 1,
  DG_PROP_URL = DG_PROP_COMMON_FIRST,
  DG_PROP_API_KEY,
  DG_PROP_MODEL,
  DG_PROP_LANGUAGE,
  DG_PROP_PUNCTUATE,
  DG_PROP_SMART_FORMAT,
  DG_PROP_DIARIZE,
  DG_PROP_KEYTERMS,
  DG_PROP_EXTRA_OPTIONS,
  DG_PROP_ALLOW_INSECURE,
  DG_PROP_CA_FILE,
  DG_PROP_TLS_VERIFY,
  DG_PROP_MULTICHANNEL,
  DG_PROP_MAX_OUTAGE,
  DG_PROP_ENCODING,
  DG_PROP_BITRATE,
  DG_PROP_COMMON_LAST = DG_PROP_BITRATE,
};

/* `connect-timeout` on both sinks: a new connection's TCP and TLS (and the
 * WebSocket handshake on live), in ms. */
constexpr guint DEFAULT_CONNECT_TIMEOUT_MS = 10000;

/* At start: resolves `encoding=auto` for this machine (AudioEncoder::resolve),
 * posting a WARNING when flacenc is missing, and an ERROR when the encoder
 * the encoding needs is; false after the ERROR. `can_step_down`: a live
 * sink may step down to opus later. */
bool dg_resolve_encoding(GstElement *element, AudioEncoding *encoding, bool *can_step_down);

/* Installs the common properties. `default_url` differs per element; `what`
 * names the API in blurbs ("live", "pre-recorded"). */
void dg_common_install_properties(GObjectClass *klass, const char *default_url, const char *what);

/* Sets/gets one common property; false when prop_id is not a common one. */
bool dg_common_set_property(DgCommonSettings &settings, guint prop_id, const GValue *value);
bool dg_common_get_property(const DgCommonSettings &settings, guint prop_id, GValue *value);

/* A SoupSession honouring ca-file / tls-verify. Create it on the thread whose
 * main context will run its I/O. Returns nullptr and sets *error when the CA
 * file cannot be loaded. max_conns_per_host 0: libsoup's default (2); the
 * batch sink raises it to its max-in-flight. */
SoupSession *dg_make_session(const DgCommonSettings &settings, unsigned timeout_s,
                             std::string *error, unsigned max_conns_per_host = 0);

/* Adds the Authorization header and, when tls-verify is off, accepts any
 * certificate for this message. */
void dg_prepare_message(SoupMessage *msg, const DgRequest &request, bool tls_verify);

/* Sends `msg` and reads its response body, at most `max_bytes` of it: a
 * longer body (by Content-Length, or as it streams in) stops the read there,
 * so a hostile server cannot make us buffer without bound. `done` runs once
 * on the session's thread with the body (nullptr on error), the error
 * (nullptr on success; *too_big set when the cap was hit). Ownership of
 * neither passes to `done`. */
using DgBodyDone = std::function<void(GBytes *body, const GError *error, bool too_big)>;
void dg_send_and_read_bounded(SoupSession *session, SoupMessage *msg, size_t max_bytes,
                              GCancellable *cancellable, DgBodyDone done);

/* When `error` (from connecting with `msg`) is a TLS failure: what is wrong
 * with the server's certificate and what to do, e.g. "TLS certificate of
 * 127.0.0.1 not trusted: not signed by a known CA (set ca-file ...)".
 * Empty when it is not a TLS failure. */
std::string dg_describe_tls_failure(SoupMessage *msg, const GError *error);

/* A failure retrying cannot fix, posted the way both sinks do: alone, an
 * ERROR; under a supervisor (sttfailover), a WARNING, since the supervisor
 * carries on with its other branch and posts the ERROR if none is left. The
 * details carry `http-status-code` (0 without one) and `request-id`; the
 * code follows the status (401/403 NOT_AUTHORIZED, 404/405 NOT_FOUND, no
 * answer OPEN_READ, otherwise SETTINGS) unless `code` is given. */
void dg_post_refusal(GstElement *element, bool supervised, const std::string &message,
                     const std::string &debug, unsigned status, const std::string &request_id,
                     GQuark domain = 0, gint code = 0);

/* A printable one-liner for a GError / status, never including the key. */
std::string dg_describe_status(guint status);

} // namespace dgf
