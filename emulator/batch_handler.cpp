/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "batch_handler.h"

#include "compressed_audio.h"
#include "hostile_payloads.h"

#include "json_out.h"
#include "live_messages.h"

#include <algorithm>
#include <cmath>

namespace dgemu {

namespace {

constexpr size_t kFeedChunk = 1600; /* samples per feed() call */

const char kCorruptMsg[] = "failed to process audio: corrupt or unsupported data";

bool is_wav_type(const char *ct) {
  if (!ct)
    return false;
  return g_str_has_prefix(ct, "audio/wav") || g_str_has_prefix(ct, "audio/wave") ||
         g_str_has_prefix(ct, "audio/x-wav") || g_str_has_prefix(ct, "audio/vnd.wave");
}

/* Ogg Opus or FLAC by its Content-Type. */
bool is_compressed_type(const char *ct) {
  if (!ct)
    return false;
  return g_str_has_prefix(ct, "audio/ogg") || g_str_has_prefix(ct, "audio/opus") ||
         g_str_has_prefix(ct, "audio/flac") || g_str_has_prefix(ct, "audio/x-flac");
}

struct Utterance {
  int channel = 0;
  std::vector<EngineWord> words;
};

/* extra_sections: what Deepgram adds for summarize=v2, paragraphs=true,
 * detect_entities=true..., sent although nobody asked, "entities" in a shape
 * a client does not expect (an object where Deepgram sends an array). */
void add_summary_info(JsonBuilder *b, const ModelInfo &model) {
  json_builder_set_member_name(b, "summary_info");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "model_uuid");
  json_builder_add_string_value(b, model.uuid.c_str());
  json_builder_set_member_name(b, "input_tokens");
  json_builder_add_int_value(b, 0);
  json_builder_set_member_name(b, "output_tokens");
  json_builder_add_int_value(b, 0);
  json_builder_end_object(b);
}

void add_extra_alternative_sections(JsonBuilder *b, const std::vector<EngineWord> &words,
                                    const ListenOptions &opts) {
  std::string text = join_transcript(words, opts.punctuated());
  json_builder_set_member_name(b, "paragraphs");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "transcript");
  json_builder_add_string_value(b, text.empty() ? "" : ("\n" + text).c_str());
  json_builder_set_member_name(b, "paragraphs");
  json_builder_begin_array(b);
  if (!words.empty()) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "sentences");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "text");
    json_builder_add_string_value(b, text.c_str());
    json_builder_set_member_name(b, "start");
    json_builder_add_double_value(b, round_us(words.front().start));
    json_builder_set_member_name(b, "end");
    json_builder_add_double_value(b, round_us(words.back().end));
    json_builder_end_object(b);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "num_words");
    json_builder_add_int_value(b, static_cast<gint64>(words.size()));
    json_builder_set_member_name(b, "start");
    json_builder_add_double_value(b, round_us(words.front().start));
    json_builder_set_member_name(b, "end");
    json_builder_add_double_value(b, round_us(words.back().end));
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "entities");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "label");
  json_builder_add_string_value(b, "NAME");
  json_builder_set_member_name(b, "value");
  json_builder_add_string_value(b, "dg-emulator");
  json_builder_end_object(b);
}

void add_segments(JsonBuilder *b, const char *name, bool average) {
  json_builder_set_member_name(b, name);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "segments");
  json_builder_begin_array(b);
  json_builder_end_array(b);
  if (average) {
    json_builder_set_member_name(b, "average");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "sentiment");
    json_builder_add_string_value(b, "neutral");
    json_builder_set_member_name(b, "sentiment_score");
    json_builder_add_double_value(b, 0.0);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
}

void add_extra_result_sections(JsonBuilder *b, const std::vector<std::vector<EngineWord>> &words) {
  size_t count = 0;
  for (const auto &ws : words)
    count += ws.size();
  json_builder_set_member_name(b, "summary");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "result");
  json_builder_add_string_value(b, "success");
  json_builder_set_member_name(b, "short");
  json_builder_add_string_value(b,
                                ("dg-emulator heard " + std::to_string(count) + " words.").c_str());
  json_builder_end_object(b);
  add_segments(b, "topics", false);
  add_segments(b, "intents", false);
  add_segments(b, "sentiments", true);
}

} // namespace

bool decode_batch_body(const uint8_t *data, size_t len, const char *content_type,
                       const ListenOptions &opts, PcmAudio *out, BatchError *error) {
  if (content_type && g_str_has_prefix(content_type, "application/json")) {
    error->status = 400;
    error->err_code = "Bad Request";
    error->err_msg = "dg-emulator does not fetch remote URLs: send the audio in the request body";
    return false;
  }
  std::string why;
  bool ok;
  /* The body's first bytes name its container; a Content-Type or an
   * encoding naming a container whose bytes are not there is corrupt. */
  AudioContainer container = sniff_container(data, len);
  if (container == AudioContainer::ogg || container == AudioContainer::flac) {
    ok = decode_compressed(container, data, len, out, &why);
  } else if (opts.encoding.empty() || looks_like_wav(data, len) || is_wav_type(content_type)) {
    ok = decode_wav(data, len, out, &why);
  } else if (is_compressed_type(content_type) ||
             container_for_encoding(opts.encoding) != AudioContainer::unknown) {
    ok = false;
  } else if (!raw_encoding_supported(opts.encoding)) {
    error->status = 400;
    error->err_code = "Bad Request";
    error->err_msg = unsupported_encoding_message(opts.encoding);
    return false;
  } else if (opts.sample_rate <= 0) {
    error->status = 400;
    error->err_code = "Bad Request";
    error->err_msg = "sample_rate is required when encoding is set";
    return false;
  } else {
    ok = decode_raw(opts.encoding, opts.sample_rate, opts.channels, data, len, out, &why);
  }
  if (!ok || out->frames() == 0) {
    error->status = 400;
    error->err_code = "Bad Request";
    error->err_msg = kCorruptMsg;
    return false;
  }
  return true;
}

std::string transcribe_batch(ServerContext *ctx, const PcmAudio &audio, const ListenOptions &opts,
                             const std::string &request_id, const std::string &sha256,
                             const std::string &created, bool extra_sections) {
  std::vector<std::vector<int16_t>> split;
  split_channels(audio.samples.data(), audio.frames(), audio.channels, opts.multichannel, &split);
  std::vector<std::vector<EngineWord>> words(split.size());
  for (size_t c = 0; c < split.size(); c++) {
    auto rec = ctx->create_recognizer(audio.sample_rate);
    const auto &s = split[c];
    for (size_t pos = 0; pos < s.size(); pos += kFeedChunk) {
      rec->feed(s.data() + pos, std::min(kFeedChunk, s.size() - pos));
      for (auto &w : rec->take_final())
        words[c].push_back(std::move(w));
    }
    rec->finish();
    for (auto &w : rec->take_final())
      words[c].push_back(std::move(w));
  }

  ModelInfo model = make_model_info(ctx->engine_name(), opts.model);
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "metadata");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "transaction_key");
  json_builder_add_string_value(b, "deprecated");
  json_builder_set_member_name(b, "request_id");
  json_builder_add_string_value(b, request_id.c_str());
  json_builder_set_member_name(b, "sha256");
  json_builder_add_string_value(b, sha256.c_str());
  json_builder_set_member_name(b, "created");
  json_builder_add_string_value(b, created.c_str());
  json_builder_set_member_name(b, "duration");
  json_builder_add_double_value(b, round_us(audio.seconds()));
  json_builder_set_member_name(b, "channels");
  json_builder_add_int_value(b, audio.channels);
  add_models_metadata(b, model);
  if (extra_sections)
    add_summary_info(b, model);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "results");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "channels");
  json_builder_begin_array(b);
  for (const auto &ws : words) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "alternatives");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "transcript");
    json_builder_add_string_value(b, join_transcript(ws, opts.punctuated()).c_str());
    json_builder_set_member_name(b, "confidence");
    json_builder_add_double_value(b, round_us(mean_confidence(ws)));
    json_builder_set_member_name(b, "words");
    json_builder_begin_array(b);
    for (const auto &w : ws)
      add_word_json(b, w, opts);
    json_builder_end_array(b);
    if (extra_sections)
      add_extra_alternative_sections(b, ws, opts);
    json_builder_end_object(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);

  if (opts.utterances || extra_sections) {
    /* Utterances: runs of words with gaps shorter than utt_split. */
    std::vector<Utterance> utts;
    for (size_t c = 0; c < words.size(); c++) {
      Utterance cur;
      cur.channel = static_cast<int>(c);
      for (const auto &w : words[c]) {
        if (!cur.words.empty() && w.start - cur.words.back().end >= opts.utt_split) {
          utts.push_back(cur);
          cur.words.clear();
        }
        cur.words.push_back(w);
      }
      if (!cur.words.empty())
        utts.push_back(cur);
    }
    std::stable_sort(utts.begin(), utts.end(), [](const Utterance &a, const Utterance &b) {
      return a.words.front().start < b.words.front().start;
    });
    json_builder_set_member_name(b, "utterances");
    json_builder_begin_array(b);
    for (const auto &u : utts) {
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "start");
      json_builder_add_double_value(b, round_us(u.words.front().start));
      json_builder_set_member_name(b, "end");
      json_builder_add_double_value(b, round_us(u.words.back().end));
      json_builder_set_member_name(b, "confidence");
      json_builder_add_double_value(b, round_us(mean_confidence(u.words)));
      json_builder_set_member_name(b, "channel");
      json_builder_add_int_value(b, u.channel);
      json_builder_set_member_name(b, "transcript");
      json_builder_add_string_value(b, join_transcript(u.words, opts.punctuated()).c_str());
      json_builder_set_member_name(b, "words");
      json_builder_begin_array(b);
      for (const auto &w : u.words)
        add_word_json(b, w, opts);
      json_builder_end_array(b);
      json_builder_set_member_name(b, "speaker");
      json_builder_add_int_value(b, 0);
      json_builder_set_member_name(b, "id");
      json_builder_add_string_value(b, new_request_id().c_str());
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  }
  if (extra_sections)
    add_extra_result_sections(b, words);
  json_builder_end_object(b);
  json_builder_end_object(b);
  return finish_json(b);
}

void respond_json(SoupServerMessage *msg, int status, const std::string &json) {
  soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json.data(),
                                   json.size());
}

void respond_error(SoupServerMessage *msg, int status, const std::string &err_code,
                   const std::string &err_msg, const std::string &request_id, double retry_after,
                   ErrorBody body) {
  std::string code = err_code.empty() ? err_code_for_status(status) : err_code;
  std::string text = err_msg.empty() ? err_msg_for_status(status) : err_msg;
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "dg-error", text.c_str());
  if (retry_after >= 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", static_cast<long>(std::ceil(retry_after)));
    soup_message_headers_replace(h, "Retry-After", buf);
  }
  switch (body) {
  case ErrorBody::Legacy:
    /* Deepgram's documented PROJECT_NOT_FOUND body carries no request_id. */
    respond_json(msg, status,
                 error_json(code, text, code == "PROJECT_NOT_FOUND" ? std::string() : request_id));
    break;
  case ErrorBody::Modern:
    respond_json(msg, status, modern_error_json(code, text, "injected by dg-emulator", request_id));
    break;
  case ErrorBody::Text:
    soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
    soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
                                     text.data(), text.size());
    break;
  }
}

/* ---- async service ---- */

struct BatchService::Job {
  BatchService *service = nullptr;
  SoupServerMessage *msg = nullptr;
  gulong finished_handler = 0;
  GSource *delay_source = nullptr;
  bool client_gone = false;
  ListenOptions opts;
  std::string request_id;
  std::string created;
  FaultController::BatchDecision decision;
  PcmAudio audio;
  std::string sha256;
  /* result */
  int status = 200;
  std::string body;
  BatchError error;
  bool failed = false;
};

BatchService::BatchService(ServerContext *ctx, GMainContext *context)
    : ctx_(ctx), context_(context) {
  pool_ = g_thread_pool_new(worker, this, 4, FALSE, nullptr);
}

BatchService::~BatchService() {
  drain();
}

void BatchService::drain() {
  /* Delayed requests are answered now: the emulator is going away. */
  std::set<Job *> delayed;
  delayed.swap(delayed_);
  for (Job *job : delayed) {
    g_source_destroy(job->delay_source);
    g_source_unref(job->delay_source);
    job->delay_source = nullptr;
    job->failed = true;
    job->error.status = 503;
    job->error.err_code = "SERVICE_UNAVAILABLE";
    job->error.err_msg = "dg-emulator is shutting down";
    complete(job);
  }
  if (pool_) {
    g_thread_pool_free(pool_, FALSE, TRUE);
    pool_ = nullptr;
  }
}

static void on_msg_finished(SoupServerMessage *, gpointer data) {
  static_cast<bool *>(data)[0] = true;
}

void BatchService::handle(SoupServerMessage *msg, const ListenOptions &opts,
                          const std::string &request_id) {
  if (ctx_->batch_concurrency && in_flight_ >= ctx_->batch_concurrency) {
    /* Deepgram's concurrency cap: refused at once, the body not looked at. */
    respond_error(msg, 429, "", "", request_id);
    ctx_->counters->update([](Counters &c) {
      c.batch_failed++;
      c.batch_throttled++;
    });
    return;
  }
  in_flight_++;
  ctx_->counters->update([&](Counters &c) {
    c.batch_in_flight = in_flight_;
    c.batch_in_flight_peak = std::max<long long>(c.batch_in_flight_peak, in_flight_);
  });
  Job *job = new Job();
  job->service = this;
  job->msg = SOUP_SERVER_MESSAGE(g_object_ref(msg));
  job->finished_handler =
      g_signal_connect(msg, "finished", G_CALLBACK(on_msg_finished), &job->client_gone);
  job->opts = opts;
  job->request_id = request_id;
  job->created = iso_now();
  job->decision = ctx_->faults->check_batch_request();
  /* A provisional status: /v1/listen also has a WebSocket handler, which
   * libsoup would otherwise run on this POST (answering 400). The real
   * status and body are set before the message is unpaused. */
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_pause(msg);
  if (job->decision.delay_ms > 0) {
    ctx_->counters->fault_fired("batch_delay");
    job->delay_source = g_timeout_source_new(static_cast<guint>(job->decision.delay_ms));
    g_source_set_callback(job->delay_source, delay_done, job, nullptr);
    g_source_attach(job->delay_source, context_);
    delayed_.insert(job);
    return;
  }
  start_job(job);
}

gboolean BatchService::delay_done(gpointer data) {
  Job *job = static_cast<Job *>(data);
  job->service->delayed_.erase(job);
  g_source_unref(job->delay_source);
  job->delay_source = nullptr;
  job->service->start_job(job);
  return G_SOURCE_REMOVE;
}

void BatchService::start_job(Job *job) {
  const auto &err = job->decision.error;
  if (err.status) {
    ctx_->counters->fault_fired(fault_type_name(err.type));
    job->failed = true;
    job->error.status = err.status;
    job->error.err_code = err.err_code;
    job->error.err_msg = err.err_msg;
    complete(job);
    return;
  }
  SoupMessageBody *body = soup_server_message_get_request_body(job->msg);
  GBytes *bytes = soup_message_body_flatten(body);
  gsize len = 0;
  const uint8_t *data = static_cast<const uint8_t *>(g_bytes_get_data(bytes, &len));
  const char *ct = soup_message_headers_get_content_type(
      soup_server_message_get_request_headers(job->msg), nullptr);
  if (!decode_batch_body(data, len, ct, job->opts, &job->audio, &job->error)) {
    g_bytes_unref(bytes);
    job->failed = true;
    complete(job);
    return;
  }
  gchar *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
  job->sha256 = sum;
  g_free(sum);
  g_bytes_unref(bytes);
  if (!pool_) {
    job->failed = true;
    job->error.status = 503;
    complete(job);
    return;
  }
  g_thread_pool_push(pool_, job, nullptr);
}

void BatchService::worker(gpointer data, gpointer) {
  Job *job = static_cast<Job *>(data);
  BatchService *self = job->service;
  job->body = transcribe_batch(self->ctx_, job->audio, job->opts, job->request_id, job->sha256,
                               job->created,
                               job->decision.body == FaultController::BatchBody::ExtraSections);
  g_main_context_invoke(
      self->context_,
      [](gpointer d) -> gboolean {
        Job *j = static_cast<Job *>(d);
        j->service->complete(j);
        return G_SOURCE_REMOVE;
      },
      job);
}

void BatchService::complete(Job *job) {
  in_flight_--;
  ctx_->counters->update([&](Counters &c) { c.batch_in_flight = in_flight_; });
  if (!job->client_gone) {
    if (job->failed) {
      bool fault = job->decision.error.status != 0;
      respond_error(job->msg, job->error.status, job->error.err_code, job->error.err_msg,
                    job->request_id, fault ? job->decision.error.retry_after : -1,
                    fault ? job->decision.error.body : ErrorBody::Legacy);
      ctx_->counters->update([](Counters &c) { c.batch_failed++; });
    } else if (job->decision.body == FaultController::BatchBody::Huge) {
      ctx_->counters->fault_fired("batch_huge");
      GBytes *huge = padded_json(job->body, static_cast<size_t>(job->decision.body_bytes));
      soup_server_message_set_status(job->msg, 200, nullptr);
      soup_message_headers_set_content_type(soup_server_message_get_response_headers(job->msg),
                                            "application/json", nullptr);
      soup_message_body_append_bytes(soup_server_message_get_response_body(job->msg), huge);
      g_bytes_unref(huge);
      ctx_->counters->update([](Counters &c) { c.batch_ok++; });
    } else if (job->decision.body == FaultController::BatchBody::WrongTypes) {
      ctx_->counters->fault_fired("batch_wrong_types");
      respond_json(job->msg, 200, wrong_typed_batch_body());
      ctx_->counters->update([](Counters &c) { c.batch_ok++; });
    } else {
      if (job->decision.body == FaultController::BatchBody::ExtraSections)
        ctx_->counters->fault_fired("extra_sections");
      respond_json(job->msg, 200, job->body);
      double secs = job->audio.seconds();
      ctx_->counters->update([&](Counters &c) {
        c.batch_ok++;
        c.audio_seconds_batch += secs;
      });
    }
    soup_server_message_unpause(job->msg);
  }
  g_signal_handler_disconnect(job->msg, job->finished_handler);
  g_object_unref(job->msg);
  delete job;
}

} // namespace dgemu
