/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: pre-recorded transcription (POST /v1/listen).
 *
 * The body is audio: a WAV file (Content-Type audio/wav, or any body that
 * starts with RIFF/WAVE), or raw audio described by encoding, sample_rate and
 * channels. A JSON body ({"url": ...}) is refused: the emulator fetches
 * nothing. Recognition runs on a worker thread; the response is Deepgram's
 * shape (metadata, results.channels[].alternatives[], utterances when asked).
 */
#pragma once

#include "faults.h"
#include "listen_options.h"
#include "server_context.h"
#include "wav_reader.h"

#include <libsoup/soup.h>

#include <set>
#include <string>

namespace dgemu {

struct BatchError {
  int status = 400;
  std::string err_code;
  std::string err_msg;
};

/* Decodes a request body into PCM: Ogg Opus ("OggS") and FLAC ("fLaC") by
 * their first bytes, WAV, or raw audio with an encoding. A Content-Type
 * (audio/ogg, audio/opus, audio/flac, audio/x-flac) or an encoding (flac,
 * opus, ogg-opus) naming a container the body does not hold is corrupt. */
bool decode_batch_body(const uint8_t *data, size_t len, const char *content_type,
                       const ListenOptions &opts, PcmAudio *out, BatchError *error);

/* Runs the engine over audio and builds the response JSON. Thread-safe.
 * extra_sections (the extra_sections fault) adds what nobody asked for:
 * utterances, paragraphs, summary, topics, intents, sentiments, and an
 * "entities" that is an object where Deepgram sends an array. */
std::string transcribe_batch(ServerContext *ctx, const PcmAudio &audio, const ListenOptions &opts,
                             const std::string &request_id, const std::string &sha256,
                             const std::string &created, bool extra_sections = false);

/* Serves POST /v1/listen asynchronously on the server thread's context. */
class BatchService {
public:
  BatchService(ServerContext *ctx, GMainContext *context);
  ~BatchService(); /* waits for running jobs */

  /* Called from the /v1/listen handler after auth; pauses msg. */
  void handle(SoupServerMessage *msg, const ListenOptions &opts, const std::string &request_id);

  /* Waits for workers; pending responses are then sent by the context. */
  void drain();

private:
  struct Job;
  static void worker(gpointer job, gpointer self);
  static gboolean delay_done(gpointer job);
  void start_job(Job *job);
  void complete(Job *job);

  ServerContext *ctx_;
  GMainContext *context_;
  GThreadPool *pool_ = nullptr;
  std::set<Job *> delayed_;
  unsigned in_flight_ = 0; /* requests taken and not answered yet (server thread) */
};

/* Sets an error response: status, dg-error header (the message, as Deepgram
 * sends it), Retry-After when >= 0, and the body in the given shape. Empty
 * code or message: Deepgram's for the status. */
void respond_error(SoupServerMessage *msg, int status, const std::string &err_code,
                   const std::string &err_msg, const std::string &request_id,
                   double retry_after = -1, ErrorBody body = ErrorBody::Legacy);

/* Sets a 200 JSON response. */
void respond_json(SoupServerMessage *msg, int status, const std::string &json);

} // namespace dgemu
