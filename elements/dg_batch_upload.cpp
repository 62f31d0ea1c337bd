/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dg_batch_upload.h"

#include <cstring>

#include "audio_encoder.h"
#include "deepgram_json.h"
#include "dg_socket.h"
#include "failure.h"
#include "pause_chunker.h"
#include "wav_writer.h"

namespace dgf {

static_assert(AudioChunk::kHeadroom == kWavHeaderBytes, "the WAV header fills the headroom");

UploadVerdict classify_http_status(unsigned status, const std::string &err_code,
                                   const std::string &err_msg) {
  if (status >= 200 && status < 300)
    return UploadVerdict::Transcribed;
  if (status == 429)
    return UploadVerdict::Throttled; /* the concurrency cap, not an outage */
  switch (classify_http(status, err_code, err_msg).kind) {
  case FailureKind::Permanent:
    return UploadVerdict::Fatal; /* retrying cannot help: 400 options, 401-404 */
  case FailureKind::RejectAudio:
    return UploadVerdict::Reject;
  case FailureKind::Transient:
    break;
  }
  return UploadVerdict::Retry; /* 5xx, 408, 3xx we did not follow, anything odd */
}

std::optional<std::chrono::milliseconds> parse_retry_after(const char *value, int64_t now_unix_s) {
  constexpr int64_t kMaxSeconds = 3600;
  if (!value || !*value)
    return std::nullopt;
  while (g_ascii_isspace(*value))
    value++;
  if (g_ascii_isdigit(*value)) {
    char *end = nullptr;
    guint64 seconds = g_ascii_strtoull(value, &end, 10);
    while (end && g_ascii_isspace(*end))
      end++;
    if (!end || *end)
      return std::nullopt;
    return std::chrono::milliseconds{std::min<guint64>(seconds, kMaxSeconds) * 1000};
  }
  GDateTime *date = soup_date_time_new_from_http_string(value);
  if (!date)
    return std::nullopt;
  int64_t delta = g_date_time_to_unix(date) - now_unix_s;
  g_date_time_unref(date);
  return std::chrono::milliseconds{std::clamp<int64_t>(delta, 0, kMaxSeconds) * 1000};
}

namespace {

struct Upload {
  SoupMessage *msg = nullptr;
  UploadDone done;
  /* This attempt's own (BatchCore makes one per attempt): the connect
   * deadline cancels it too, and the failure is then a retryable one. */
  GCancellable *cancellable = nullptr;
  unsigned connect_timeout_ms = 0;
  GSource *connect_timer = nullptr;   /* the whole connection: TCP and TLS */
  GSource *handshake_timer = nullptr; /* TCP's own handshake */
  std::string expired;                /* why a deadline cancelled the attempt */

  ~Upload() {
    stop(&connect_timer);
    stop(&handshake_timer);
    g_clear_object(&cancellable);
  }
  static void stop(GSource **timer) {
    if (*timer) {
      g_source_destroy(*timer);
      g_source_unref(*timer);
      *timer = nullptr;
    }
  }
  void arm(GSource **timer, unsigned ms, GSourceFunc expire) {
    *timer = g_timeout_source_new(ms);
    g_source_set_callback(*timer, expire, this, nullptr);
    g_source_attach(*timer, g_main_context_get_thread_default());
  }
  void expire(std::string why) {
    if (expired.empty())
      expired = std::move(why);
    g_cancellable_cancel(cancellable);
  }
};

gboolean on_connect_deadline(gpointer data) {
  auto *upload = static_cast<Upload *>(data);
  upload->expire("connect timeout: no connection in " + std::to_string(upload->connect_timeout_ms) +
                 " ms (connect-timeout)");
  return G_SOURCE_REMOVE;
}

gboolean on_handshake_deadline(gpointer data) {
  static_cast<Upload *>(data)->expire("connect timeout: no answer to TCP's handshake in " +
                                      std::to_string(kTcpHandshakeMs) + " ms (the path is dead)");
  return G_SOURCE_REMOVE;
}

/* A new connection (TCP, TLS) must be up within connect_timeout_ms: on a
 * blackholed path the kernel's SYN retries would hold the request for
 * minutes. TCP's handshake alone must be answered sooner: a SYN and its first
 * retransmit unanswered (Linux: 1 s apart) is a dead path, while TLS on a
 * slow link may need the rest. A pooled connection emits no events and needs
 * no deadline. */
void on_upload_network_event(SoupMessage *, GSocketClientEvent event, GIOStream *, gpointer data) {
  auto *upload = static_cast<Upload *>(data);
  if (!upload->connect_timeout_ms || !upload->cancellable)
    return;
  if (event == G_SOCKET_CLIENT_RESOLVING && !upload->connect_timer) {
    upload->arm(&upload->connect_timer, upload->connect_timeout_ms, on_connect_deadline);
  } else if (event == G_SOCKET_CLIENT_CONNECTING && !upload->handshake_timer &&
             kTcpHandshakeMs < upload->connect_timeout_ms) {
    upload->arm(&upload->handshake_timer, kTcpHandshakeMs, on_handshake_deadline);
  } else if (event == G_SOCKET_CLIENT_CONNECTED) {
    Upload::stop(&upload->handshake_timer);
  } else if (event == G_SOCKET_CLIENT_COMPLETE) {
    Upload::stop(&upload->handshake_timer);
    Upload::stop(&upload->connect_timer);
  }
}

void release_storage(gpointer data) {
  delete static_cast<std::shared_ptr<std::vector<uint8_t>> *>(data);
}

void delete_vector(gpointer data) {
  delete static_cast<std::vector<uint8_t> *>(data);
}

/* Deepgram's {err_code, err_msg, request_id}, when the body is one. */
DeepgramError error_body(const std::string &body) {
  auto parsed = parse_error_body(body);
  return parsed ? parsed.value() : DeepgramError{};
}

/* At most what the JSON parser would read: a bigger body is refused unread. */
constexpr size_t kMaxBodyBytes = kMaxResponseBytes;

void on_body(Upload *upload, GBytes *body, const GError *error, bool too_big) {
  std::unique_ptr<Upload> owned(upload);
  g_signal_handlers_disconnect_by_data(upload->msg, upload);
  UploadResult r;
  std::string tls_problem = body ? std::string() : dg_describe_tls_failure(upload->msg, error);
  if (!body && !upload->expired.empty()) {
    r.verdict = UploadVerdict::Retry;
    r.error = upload->expired;
    r.path_dead = true;
  } else if (!tls_problem.empty()) {
    r.verdict = UploadVerdict::Fatal; /* configuration: retrying cannot help */
    r.error = tls_problem;
  } else if (!body && !too_big) {
    r.verdict = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? UploadVerdict::Cancelled
                                                                         : UploadVerdict::Retry;
    r.error = error ? error->message : "unknown transport error";
    r.path_dead = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  } else {
    r.status = soup_message_get_status(upload->msg);
    if (body) {
      gsize size = 0;
      const char *bytes = static_cast<const char *>(g_bytes_get_data(body, &size));
      r.body.assign(bytes ? bytes : "", size);
    }
    DeepgramError said = r.status >= 300 ? error_body(r.body) : DeepgramError{};
    r.verdict = classify_http_status(r.status, said.code, said.message);
    SoupMessageHeaders *headers = soup_message_get_response_headers(upload->msg);
    if (const char *id = soup_message_headers_get_one(headers, "dg-request-id"))
      r.request_id = id;
    r.retry_after = parse_retry_after(soup_message_headers_get_one(headers, "Retry-After"),
                                      g_get_real_time() / G_USEC_PER_SEC);
    if (too_big) {
      /* A 2xx whose body we refused is a bad response: retried, then rejected. */
      r.verdict = r.verdict == UploadVerdict::Transcribed ? UploadVerdict::Retry : r.verdict;
      r.error = error ? error->message : "response body too large";
    } else if (r.verdict != UploadVerdict::Transcribed) {
      FailureVerdict v = classify_http(r.status, said.code, said.message);
      r.error = describe_failure(v, said.code, said.message);
      r.hint = v.hint;
      if (r.request_id.empty())
        r.request_id = said.request_id;
    }
  }
  g_object_unref(owned->msg);
  owned->done(std::move(r));
}

/* The chunk as one complete FLAC or Ogg Opus file; nullptr with *error. */
GBytes *encode_chunk(const std::vector<uint8_t> &storage, uint32_t rate, uint32_t channels,
                     AudioEncoding encoding, uint32_t bitrate, std::string *error) {
  auto encoder = AudioEncoder::create(encoding, rate, channels, bitrate, error);
  if (!encoder)
    return nullptr;
  auto *file = new std::vector<uint8_t>();
  /* About what FLAC makes of speech; a vector grows anyway. */
  file->reserve((storage.size() - kWavHeaderBytes) / 2);
  if (!encoder->push(storage.data() + kWavHeaderBytes, storage.size() - kWavHeaderBytes, *file) ||
      !encoder->finish(*file)) {
    *error = encoder->error();
    delete file;
    return nullptr;
  }
  return g_bytes_new_with_free_func(file->data(), file->size(), delete_vector, file);
}

/* The request body: the chunk's own storage behind a WAV header, or an
 * encoded copy; nullptr with *error when the chunk cannot be described. */
GBytes *chunk_body(std::shared_ptr<std::vector<uint8_t>> storage, uint32_t rate, uint32_t channels,
                   AudioEncoding encoding, uint32_t bitrate, std::string *error) {
  if (!encoding_is_raw(encoding))
    return encode_chunk(*storage, rate, channels, encoding, bitrate, error);
  auto header = wav_header(rate, channels, storage->size() - kWavHeaderBytes);
  if (!header) {
    *error = "cannot describe the chunk as WAV: " + header.error().message;
    return nullptr;
  }
  std::memcpy(storage->data(), header->data(), kWavHeaderBytes);
  uint8_t *data = storage->data();
  gsize size = storage->size();
  return g_bytes_new_with_free_func(data, size, release_storage,
                                    new std::shared_ptr<std::vector<uint8_t>>(std::move(storage)));
}

} // namespace

size_t start_upload(SoupSession *session, const DgRequest &request, bool tls_verify,
                    std::shared_ptr<std::vector<uint8_t>> storage, uint32_t rate, uint32_t channels,
                    AudioEncoding encoding, uint32_t bitrate, unsigned connect_timeout_ms,
                    GCancellable *cancellable, UploadDone done) {
  std::string error;
  GBytes *bytes = chunk_body(std::move(storage), rate, channels, encoding, bitrate, &error);
  if (!bytes) {
    UploadResult r;
    r.verdict = UploadVerdict::Reject;
    r.error = error;
    done(std::move(r));
    return 0;
  }

  SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, request.full_url.c_str());
  if (!msg) {
    g_bytes_unref(bytes);
    UploadResult r;
    r.verdict = UploadVerdict::Fatal;
    r.error = "url: not a valid request URL";
    done(std::move(r));
    return 0;
  }
  size_t body_bytes = g_bytes_get_size(bytes);
  soup_message_set_request_body_from_bytes(msg, encoding_content_type(encoding), bytes);
  g_bytes_unref(bytes);
  dg_prepare_message(msg, request, tls_verify);
  dg_message_keepalive(msg); /* a dead path is found while Deepgram transcribes, too */

  auto *upload = new Upload();
  upload->msg = msg;
  upload->done = std::move(done);
  upload->connect_timeout_ms = connect_timeout_ms;
  upload->cancellable = cancellable ? G_CANCELLABLE(g_object_ref(cancellable)) : nullptr;
  g_signal_connect(msg, "network-event", G_CALLBACK(on_upload_network_event), upload);
  dg_send_and_read_bounded(session, msg, kMaxBodyBytes, upload->cancellable,
                           [upload](GBytes *body, const GError *error, bool too_big) {
                             on_body(upload, body, error, too_big);
                           });
  return body_bytes;
}

} // namespace dgf
