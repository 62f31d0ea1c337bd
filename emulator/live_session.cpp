/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "live_session.h"

#include "async_recognizer.h"
#include "hostile_payloads.h"
#include "json_out.h"
#include "live_messages.h"

#include <sys/socket.h>

#include <algorithm>
#include <cmath>

namespace dgemu {

namespace {
constexpr double kFinalEvery = 1.0;   /* seconds of final audio per Results */
constexpr double kInterimEvery = 0.5; /* seconds of audio per interim */
constexpr size_t kMaxWavHeader = 64 * 1024;

/* Finalize, CloseStream or an empty binary frame: they need every word. */
bool ends_audio(gint type, GBytes *message) {
  gsize len = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(message, &len));
  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    return len == 0;
  std::string err;
  JsonNode *root = parse_json(data, len, &err);
  bool ends = false;
  if (root && JSON_NODE_HOLDS_OBJECT(root)) {
    JsonObject *o = json_node_get_object(root);
    if (json_object_has_member(o, "type") &&
        JSON_NODE_HOLDS_VALUE(json_object_get_member(o, "type"))) {
      std::string t = json_object_get_string_member(o, "type");
      ends = t == "Finalize" || t == "CloseStream";
    }
  }
  if (root)
    json_node_unref(root);
  return ends;
}
} // namespace

LiveSession::LiveSession(ServerContext *ctx, SoupWebsocketConnection *ws, GSocket *socket,
                         const ListenOptions &opts, const std::string &request_id,
                         const std::vector<ConnEffect> &effects)
    : ctx_(ctx), ws_(ws), socket_(socket), opts_(opts), request_id_(request_id) {
  g_object_ref(ws_);
  /* Deepgram takes large audio frames; libsoup's default cap is 128 KiB. */
  soup_websocket_connection_set_max_incoming_payload_size(ws_, 16 * 1024 * 1024);
  if (socket_)
    g_object_ref(socket_);
  created_ = iso_now();
  model_ = make_model_info(ctx_->engine_name(), opts_.model);
  sha_ = g_checksum_new(G_CHECKSUM_SHA256);
  last_activity_us_ = g_get_monotonic_time();
  encoding_ = opts_.encoding;
  /* encoding=flac/opus/ogg-opus: containerized after all, read as such
   * (rate and channels from the container, sample_rate is not used). */
  expected_container_ = container_for_encoding(encoding_);
  if (expected_container_ != AudioContainer::unknown)
    encoding_.clear();
  if (!encoding_.empty()) {
    rate_ = opts_.sample_rate;
    channels_ = opts_.channels;
    format_known_ = true;
  }
  chans_.resize(opts_.multichannel ? static_cast<size_t>(std::max(1, opts_.channels)) : 1);
  message_handler_ = g_signal_connect(ws_, "message", G_CALLBACK(on_message_cb), this);
  closed_handler_ = g_signal_connect(ws_, "closed", G_CALLBACK(on_closed_cb), this);
  alive_ = std::make_shared<LiveSession *>(this);
  for (const auto &e : effects)
    attach(e);
}

LiveSession::~LiveSession() {
  finish();
  for (const Held &h : held_)
    g_bytes_unref(h.message);
  if (sha_)
    g_checksum_free(sha_);
}

void LiveSession::finish() {
  if (ws_) {
    /* Still closing (we sent a close the peer has not answered): end the
     * stream now, so libsoup drops its close timer and frees the connection
     * on the next iteration instead of keeping both past an emulator stop. */
    if (soup_websocket_connection_get_state(ws_) != SOUP_WEBSOCKET_STATE_CLOSED)
      g_io_stream_close(soup_websocket_connection_get_io_stream(ws_), nullptr, nullptr);
    if (message_handler_)
      g_signal_handler_disconnect(ws_, message_handler_);
    if (closed_handler_)
      g_signal_handler_disconnect(ws_, closed_handler_);
    message_handler_ = closed_handler_ = 0;
    g_object_unref(ws_);
    ws_ = nullptr;
  }
  if (socket_) {
    g_object_unref(socket_);
    socket_ = nullptr;
  }
  if (!finished_) {
    finished_ = true;
    ctx_->counters->update([](Counters &c) {
      c.live_open--;
      c.live_closed++;
    });
  }
}

void LiveSession::on_message_cb(SoupWebsocketConnection *, gint type, GBytes *message,
                                gpointer self) {
  static_cast<LiveSession *>(self)->on_message(type, message);
}

void LiveSession::on_closed_cb(SoupWebsocketConnection *, gpointer self) {
  static_cast<LiveSession *>(self)->on_closed();
}

void LiveSession::on_closed() {
  finish();
}

double LiveSession::audio_seconds() const {
  return rate_ > 0 ? static_cast<double>(frames_received_) / rate_ : 0.0;
}

std::string LiveSession::metadata() {
  if (odd_shapes_left_ != 0) {
    ctx_->counters->fault_fired("odd_shapes");
    return thin_metadata_json(request_id_);
  }
  return metadata_json(request_id_, g_checksum_get_string(sha_), created_, audio_seconds(),
                       channels_, model_);
}

/* ---- input ---- */

void LiveSession::on_message(gint type, GBytes *message) {
  if (finished_ || closing_)
    return;
  if (!hold(type, message))
    take_message(type, message);
}

void LiveSession::take_message(gint type, GBytes *message) {
  gsize len = 0;
  const uint8_t *data = static_cast<const uint8_t *>(g_bytes_get_data(message, &len));
  if (type == SOUP_WEBSOCKET_DATA_BINARY) {
    if (len == 0) {
      /* Deepgram treats an empty binary frame as the end of the stream. */
      last_activity_us_ = g_get_monotonic_time();
      close_stream();
      return;
    }
    last_activity_us_ = g_get_monotonic_time();
    audio_seen_ = true;
    bytes_received_ += static_cast<long long>(len);
    g_checksum_update(sha_, data, len);
    handle_audio(data, len);
    check_effects();
  } else {
    handle_text(reinterpret_cast<const char *>(data), len);
  }
}

void LiveSession::handle_text(const char *data, size_t len) {
  std::string err;
  JsonNode *root = parse_json(data, len, &err);
  std::string type;
  if (root && JSON_NODE_HOLDS_OBJECT(root)) {
    JsonObject *o = json_node_get_object(root);
    if (json_object_has_member(o, "type") &&
        JSON_NODE_HOLDS_VALUE(json_object_get_member(o, "type")))
      type = json_object_get_string_member(o, "type");
  }
  if (root)
    json_node_unref(root);
  if (type == "KeepAlive") {
    /* No reply; keeps the connection alive only once audio has been sent. */
    if (audio_seen_)
      last_activity_us_ = g_get_monotonic_time();
  } else if (type == "Finalize") {
    last_activity_us_ = g_get_monotonic_time();
    flush_all(true, true);
  } else if (type == "CloseStream") {
    last_activity_us_ = g_get_monotonic_time();
    close_stream();
  } else {
    g_debug("dg-emulator: ignoring text frame of type '%s'", type.c_str());
  }
}

void LiveSession::reject_audio() {
  send(metadata());
  send_close(1008, close_reason_text("DATA-0000"));
}

/* The first 4 bytes name the container. True when the stream goes on as
 * WAV (or must wait for more bytes); Ogg and FLAC go to decoder_. */
bool LiveSession::start_container() {
  if (carry_.size() < 4)
    return true;
  AudioContainer c = sniff_container(carry_.data(), carry_.size());
  if (expected_container_ != AudioContainer::unknown && c != expected_container_) {
    g_debug("dg-emulator: encoding=%s but the stream starts as %s", opts_.encoding.c_str(),
            container_name(c));
    reject_audio();
    return false;
  }
  if (c != AudioContainer::ogg && c != AudioContainer::flac)
    return true;
  decoder_ = make_compressed_decoder(c);
  std::vector<uint8_t> bytes;
  bytes.swap(carry_);
  decode_compressed(bytes.data(), bytes.size(), false);
  return false;
}

void LiveSession::decode_compressed(const uint8_t *data, size_t len, bool finish) {
  std::vector<int16_t> samples;
  bool ok = finish ? decoder_->finish(&samples) : decoder_->push(data, len, &samples);
  if (!format_known_ && decoder_->sample_rate() > 0) {
    format_known_ = true;
    rate_ = decoder_->sample_rate();
    channels_ = decoder_->channels();
    chans_.resize(opts_.multichannel ? static_cast<size_t>(channels_) : 1);
  }
  deliver(samples); /* what came before a corrupt spot is heard */
  if (!ok) {
    g_debug("dg-emulator: undecodable audio: %s", decoder_->error().c_str());
    reject_audio();
  }
}

void LiveSession::handle_audio(const uint8_t *data, size_t len) {
  if (decoder_) {
    decode_compressed(data, len, false);
    return;
  }
  std::vector<int16_t> samples;
  if (!format_known_) {
    /* No encoding: Deepgram expects containerized audio. */
    carry_.insert(carry_.end(), data, data + len);
    if (!start_container())
      return;
    std::string err;
    int r = parse_wav_header(carry_.data(), carry_.size(), &wav_, &err);
    if (r < 0 && carry_.size() < kMaxWavHeader)
      return;
    if (r != 0) {
      reject_audio();
      return;
    }
    format_known_ = true;
    wav_mode_ = true;
    rate_ = wav_.sample_rate;
    channels_ = wav_.channels;
    chans_.resize(opts_.multichannel ? static_cast<size_t>(channels_) : 1);
    std::vector<uint8_t> rest(carry_.begin() + static_cast<long>(wav_.data_offset), carry_.end());
    carry_ = std::move(rest);
  } else {
    carry_.insert(carry_.end(), data, data + len);
  }
  size_t used = 0;
  if (wav_mode_) {
    used = convert_wav_samples(wav_, carry_.data(), carry_.size(), &samples);
  } else {
    PcmAudio pcm;
    std::string err;
    size_t frame = raw_frame_bytes(encoding_, channels_);
    used = frame ? (carry_.size() / frame) * frame : 0;
    if (used && decode_raw(encoding_, rate_, channels_, carry_.data(), used, &pcm, &err))
      samples = std::move(pcm.samples);
  }
  carry_.erase(carry_.begin(), carry_.begin() + static_cast<long>(used));
  deliver(samples);
}

/* Decoded interleaved samples at rate_: counted, then fed to the engine. */
void LiveSession::deliver(const std::vector<int16_t> &samples) {
  if (rate_ <= 0 || channels_ <= 0)
    return;
  size_t frames = samples.size() / static_cast<size_t>(channels_);
  if (frames == 0)
    return;
  frames_received_ += static_cast<long long>(frames);
  last_audio_us_ = g_get_monotonic_time();
  double secs = static_cast<double>(frames) / rate_;
  ctx_->counters->update([&](Counters &c) { c.audio_seconds_live += secs; });
  feed_interleaved(samples.data(), frames);
}

void LiveSession::feed_interleaved(const int16_t *samples, size_t frames) {
  std::vector<std::vector<int16_t>> split;
  split_channels(samples, frames, channels_, opts_.multichannel, &split);
  for (size_t i = 0; i < split.size() && i < chans_.size(); i++)
    feed_channel(i, split[i].data(), split[i].size());
}

/* A voice-activity frame at a time, so that an endpoint falls on the same
 * sample however the client framed the audio: the recognizer's utterances,
 * and so its words, do not depend on the framing. */
void LiveSession::feed_channel(size_t index, const int16_t *samples, size_t count) {
  Chan &c = chans_[index];
  if (!c.vad)
    c.vad = std::make_unique<VoiceActivity>(rate_);
  if (!c.rec) {
    c.rec = make_recognizer(index);
    c.base = c.fed;
  }
  if (threaded(c)) {
    feed_async(index, samples, count);
    return; /* catch_up() goes on once a recognition thread has heard it */
  }
  gint64 t0 = g_get_monotonic_time();
  walk_frames(
      c, samples, count,
      [&](size_t at, size_t n) {
        c.rec->feed(samples + at, n);
        c.fed += static_cast<long long>(n);
      },
      [&](size_t) {
        collect_final(index, c.vad->speech_end());
        for (Pause p : follow_voice(index))
          pause_heard(index, p);
      });
  ctx_->meter.add(static_cast<double>(g_get_monotonic_time() - t0) / 1e6,
                  static_cast<double>(count) / rate_);
  collect_final(index, c.vad->speech_end());
  update_channel(index);
}

/* Recognition on a thread: the detector still hears the audio now, on the
 * server thread (SpeechStarted goes out at once); the recognizer gets it in
 * runs between the pauses the detector finds, each pause queued after its
 * run as an endpoint at the same sample as on the server thread. catch_up()
 * answers each when its step is replayed. */
void LiveSession::feed_async(size_t index, const int16_t *samples, size_t count) {
  Chan &c = chans_[index];
  size_t given = 0; /* samples handed to the recognizer */
  walk_frames(
      c, samples, count, [](size_t, size_t) {},
      [&](size_t at) {
        for (Pause p : follow_voice(index)) {
          give_async(index, samples + given, at - given);
          given = at;
          pause_heard(index, p);
        }
      });
  give_async(index, samples + given, count - given);
}

void LiveSession::walk_frames(Chan &c, const int16_t *samples, size_t count,
                              const std::function<void(size_t at, size_t n)> &on_piece,
                              const std::function<void(size_t at)> &on_frame_end) {
  for (size_t at = 0; at < count;) {
    size_t n = std::min(c.vad->samples_to_frame_end(), count - at);
    c.vad->feed(samples + at, n);
    on_piece(at, n);
    at += n;
    if (c.vad->samples_to_frame_end() == c.vad->frame_samples())
      on_frame_end(at);
  }
}

void LiveSession::give_async(size_t index, const int16_t *samples, size_t count) {
  Chan &c = chans_[index];
  if (count == 0)
    return;
  c.marks.push_back({false, Pause::SpeechFinal, c.vad->speech_end()});
  c.rec->feed(samples, count);
}

/* speech_end: the detector's, as of the audio these words were heard in. */
void LiveSession::collect_final(size_t index, double speech_end) {
  Chan &c = chans_[index];
  if (!c.rec)
    return;
  double base_s = static_cast<double>(c.base) / rate_;
  for (auto &w : c.rec->take_final()) {
    w.start += base_s;
    w.end += base_s;
    /* A word begun in voiced audio was spoken (sequence audio has words in
     * its silence blocks too: those end no utterance and start none). */
    if (speech_end >= 0 && w.start < speech_end) {
      c.words_in_utterance = true;
      c.last_word_end = std::max(c.last_word_end, w.end);
    }
    c.pending.push_back(std::move(w));
  }
}

long long LiveSession::final_until_samples(size_t index) const {
  const Chan &c = chans_[index];
  long long fu = c.base + std::llround(c.rec->final_until() * rate_);
  return std::min(std::max(fu, c.emitted), c.fed);
}

/* Deepgram's VAD events: SpeechStarted at each onset (vad_events); after
 * speech, a pause of `endpointing` ms (at least the detector's shortest
 * pause) is an endpoint whose words go out with speech_final; a pause of
 * utterance_end_ms after words ends the utterance. All from the audio,
 * whatever the recognizer has made final by then. Returns the pauses this
 * frame ends, in order. */
std::vector<LiveSession::Pause> LiveSession::follow_voice(size_t index) {
  Chan &c = chans_[index];
  std::vector<Pause> pauses;
  for (double onset : c.vad->take_onsets()) {
    if (opts_.vad_events)
      send_speech_started(index, onset);
    c.speech_since_endpoint = true;
    c.utterance_open = true;
  }
  if (c.vad->in_speech())
    return pauses;
  double silence_ms = c.vad->silence() * 1000.0;
  if (opts_.endpointing_ms >= 0 && c.speech_since_endpoint &&
      silence_ms >= std::max(opts_.endpointing_ms, VoiceActivity::kMinPauseMs)) {
    c.speech_since_endpoint = false;
    pauses.push_back(Pause::SpeechFinal);
  }
  if (opts_.utterance_end_ms > 0 && c.utterance_open && silence_ms >= opts_.utterance_end_ms) {
    c.utterance_open = false;
    pauses.push_back(Pause::UtteranceEnd);
  }
  return pauses;
}

/* The detector found a pause at the audio fed so far: the recognizer makes
 * the words it heard final (at once, or in its queue on a thread). */
void LiveSession::pause_heard(size_t index, Pause pause) {
  Chan &c = chans_[index];
  if (!c.rec) {
    answer_pause(index, pause); /* nothing unheard: after a Finalize */
    return;
  }
  bool on_thread = threaded(c) != nullptr;
  if (on_thread)
    c.marks.push_back({true, pause, c.vad->speech_end()});
  c.rec->endpoint();
  if (!on_thread) {
    collect_final(index, c.vad->speech_end());
    answer_pause(index, pause);
  }
}

/* The words before a pause are final: an endpoint sends them with
 * speech_final; the end of an utterance sends them, then UtteranceEnd (only
 * after words: Deepgram's is a gap after the last finalized word). */
void LiveSession::answer_pause(size_t index, Pause pause) {
  Chan &c = chans_[index];
  long long fu = c.rec ? final_until_samples(index) : c.emitted;
  if (pause == Pause::SpeechFinal) {
    if (fu > c.emitted)
      emit_final(index, fu, true, false);
    return;
  }
  if (fu > c.emitted && !c.pending.empty())
    emit_final(index, fu, false, false);
  if (c.words_in_utterance)
    send_utterance_end(index, c.last_word_end);
  c.words_in_utterance = false;
}

void LiveSession::update_channel(size_t index) {
  Chan &c = chans_[index];
  if (!c.rec)
    return;
  long long fu = final_until_samples(index);
  if (fu > c.emitted && fu - c.emitted >= std::llround(kFinalEvery * rate_))
    emit_final(index, fu, false, false);
  if (opts_.interim_results && c.fed > c.emitted &&
      c.fed - c.interim_mark >= std::llround(kInterimEvery * rate_))
    emit_interim(index);
}

void LiveSession::emit_final(size_t index, long long until, bool speech_final, bool from_finalize) {
  Chan &c = chans_[index];
  ResultsFrame r;
  r.channel = static_cast<int>(index);
  r.channels = static_cast<int>(chans_.size());
  /* start and start+duration are both rounded to microseconds so that
   * consecutive finals tile exactly. */
  double start = samples_to_seconds(c.emitted, rate_ > 0 ? rate_ : 1);
  double end = samples_to_seconds(until, rate_ > 0 ? rate_ : 1);
  r.start = start;
  r.duration = round_us(end - start);
  /* interim_flood withholds finals: they go out as interims. */
  r.is_final = flood_ms_ == 0;
  r.speech_final = speech_final && r.is_final;
  r.from_finalize = from_finalize && r.is_final;
  r.words = std::move(c.pending);
  c.pending.clear();
  c.emitted = until;
  c.interim_mark = std::max(c.interim_mark, until);
  /* odd_shapes: every final with words between a SpeechStarted and an
   * UtteranceEnd in odd shapes, whatever the options asked for. */
  bool odd = odd_shapes_left_ != 0 && r.is_final && !r.words.empty();
  if (odd)
    send_odd(odd_speech_started_json(r.channel, r.words.front().start));
  send(results_json(r, opts_, request_id_, model_));
  if (odd) {
    send_odd(odd_utterance_end_json(r.channel, r.words.back().end));
    if (odd_shapes_left_ > 0)
      odd_shapes_left_--;
  }
}

void LiveSession::send_speech_started(size_t index, double timestamp) {
  if (odd_shapes_left_ != 0)
    send_odd(odd_speech_started_json(static_cast<int>(index), timestamp));
  else
    send(speech_started_json(static_cast<int>(index), static_cast<int>(chans_.size()), timestamp));
}

void LiveSession::send_utterance_end(size_t index, double last_word_end) {
  if (odd_shapes_left_ != 0)
    send_odd(odd_utterance_end_json(static_cast<int>(index), last_word_end));
  else
    send(utterance_end_json(static_cast<int>(index), static_cast<int>(chans_.size()),
                            last_word_end));
}

void LiveSession::send_odd(const std::string &text) {
  ctx_->counters->fault_fired("odd_shapes");
  send(text);
}

void LiveSession::emit_interim(size_t index) {
  Chan &c = chans_[index];
  ResultsFrame r;
  r.channel = static_cast<int>(index);
  r.channels = static_cast<int>(chans_.size());
  double start = samples_to_seconds(c.emitted, rate_);
  double end = samples_to_seconds(c.fed, rate_);
  r.start = start;
  r.duration = round_us(end - start);
  r.words = c.pending;
  if (c.rec) {
    double base_s = static_cast<double>(c.base) / rate_;
    for (auto w : c.rec->interim()) {
      w.start += base_s;
      w.end += base_s;
      r.words.push_back(std::move(w));
    }
  }
  c.interim_mark = c.fed;
  send(results_json(r, opts_, request_id_, model_));
}

void LiveSession::flush_all(bool from_finalize, bool always) {
  if (!format_known_ || rate_ <= 0) {
    if (always)
      for (size_t i = 0; i < chans_.size(); i++) {
        ResultsFrame r;
        r.channel = static_cast<int>(i);
        r.channels = static_cast<int>(chans_.size());
        r.is_final = true;
        r.from_finalize = from_finalize;
        send(results_json(r, opts_, request_id_, model_));
      }
    return;
  }
  for (size_t i = 0; i < chans_.size(); i++) {
    Chan &c = chans_[i];
    if (c.rec) {
      c.rec->finish();
      catch_up(i);
      collect_final(i, c.vad ? c.vad->speech_end() : -1);
      c.rec.reset();   /* the next audio starts a new recognizer at c.fed */
      c.marks.clear(); /* all replayed by now */
    }
    if (always || c.fed > c.emitted || !c.pending.empty())
      emit_final(i, c.fed, false, from_finalize);
  }
}

void LiveSession::close_stream() {
  if (decoder_) {
    /* The end of an Ogg or FLAC stream: what is left is decoded. */
    decode_compressed(nullptr, 0, true);
    if (closing_)
      return;
  }
  flush_all(false, false);
  send(metadata());
  send_close(1000, "");
}

/* ---- faults ---- */

void LiveSession::attach(const ConnEffect &effect) {
  if (finished_)
    return;
  Armed a;
  a.effect = effect;
  a.attached_at = ctx_->faults->now();
  a.bytes_at = bytes_received_;
  a.frames_at = frames_received_;
  armed_.push_back(a);
  check_effects();
}

void LiveSession::check_effects() {
  if (armed_.empty() || finished_)
    return;
  double now = ctx_->faults->now();
  std::vector<ConnEffect> due;
  for (auto it = armed_.begin(); it != armed_.end();) {
    const ConnEffect &e = it->effect;
    bool time_set = e.after_s >= 0, bytes_set = e.after_bytes >= 0;
    bool audio_set = e.after_audio_ms >= 0 && rate_ > 0;
    /* Audio time counts decoded frames, so it means the same with every encoding. */
    long long audio_ms = audio_set ? (frames_received_ - it->frames_at) * 1000 / rate_ : 0;
    bool fire = (!time_set && !bytes_set && e.after_audio_ms < 0) ||
                (time_set && now - it->attached_at >= e.after_s) ||
                (bytes_set && bytes_received_ - it->bytes_at >= e.after_bytes) ||
                (audio_set && audio_ms >= e.after_audio_ms);
    if (fire) {
      due.push_back(e);
      it = armed_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto &e : due)
    if (!finished_)
      fire(e);
}

void LiveSession::fire(const ConnEffect &e) {
  /* Malformed, wrong_types and odd_shapes count each frame; the rest here. */
  if (e.type != FaultType::Malformed && e.type != FaultType::WrongTypes &&
      e.type != FaultType::OddShapes)
    ctx_->counters->fault_fired(fault_type_name(e.type));
  switch (e.type) {
  case FaultType::Close:
    close_now(e.code, close_reason_text(e.reason));
    break;
  case FaultType::Drop:
    drop_connection();
    break;
  case FaultType::Stall:
    stalled_ = true;
    queue_.clear();
    break;
  case FaultType::Delay:
    delay_ms_ = e.delay_ms;
    break;
  case FaultType::Malformed:
    malformed_left_ = e.frames;
    break;
  case FaultType::WrongTypes:
    wrong_types_left_ = e.frames;
    break;
  case FaultType::OddShapes:
    odd_shapes_left_ = e.frames;
    break;
  case FaultType::HugeFrame:
    send_huge(e.bytes, e.frames);
    break;
  case FaultType::InterimFlood:
    flood_ms_ = e.flood_ms;
    flood_last_us_ = g_get_monotonic_time();
    break;
  default:
    break;
  }
}

void LiveSession::close_now(int code, const std::string &reason) {
  if (finished_ || !ws_)
    return;
  queue_.clear();
  if (soup_websocket_connection_get_state(ws_) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  std::string md = metadata();
  soup_websocket_connection_send_text(ws_, md.c_str());
  ctx_->counters->update([](Counters &c) { c.live_messages_sent++; });
  closing_ = true;
  soup_websocket_connection_close(ws_, static_cast<gushort>(code),
                                  reason.empty() ? nullptr : reason.c_str());
}

void LiveSession::drop_connection() {
  if (finished_)
    return;
  if (socket_) {
    /* A reset rather than an orderly close: no close frame, no goodbye. */
    struct linger lg = {1, 0};
    setsockopt(g_socket_get_fd(socket_), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    g_socket_close(socket_, nullptr);
  } else if (ws_) {
    GIOStream *io = soup_websocket_connection_get_io_stream(ws_);
    if (io)
      g_io_stream_close(io, nullptr, nullptr);
  }
  finish();
}

void LiveSession::shutdown() {
  if (finished_)
    return;
  queue_.clear();
  closing_ = true;
  if (ws_ && soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(ws_, 1001, "dg-emulator shutting down");
  /* finish() follows from the closed signal, or from the destructor. */
}

/* ---- output ---- */

void LiveSession::send(const std::string &text) {
  if (finished_ || closing_ || stalled_)
    return;
  Outgoing o;
  o.text = text;
  if (wrong_types_left_ != 0) {
    o.text = wrong_typed_live_frame(wrong_types_sent_++);
    if (wrong_types_left_ > 0)
      wrong_types_left_--;
    ctx_->counters->fault_fired("wrong_types");
  } else if (malformed_left_ != 0) {
    /* Cut the frame in half: it is no longer valid JSON. */
    o.text = text.substr(0, text.size() / 2);
    if (malformed_left_ > 0)
      malformed_left_--;
    ctx_->counters->fault_fired("malformed");
  }
  if (delay_ms_ > 0 || !queue_.empty()) {
    o.due_us = g_get_monotonic_time() + static_cast<gint64>(delay_ms_) * 1000;
    queue_.push_back(std::move(o));
    return;
  }
  write_now(o);
}

void LiveSession::send_close(int code, const std::string &reason) {
  if (finished_ || closing_ || stalled_)
    return;
  Outgoing o;
  o.is_close = true;
  o.code = code;
  o.reason = reason;
  closing_ = true; /* nothing more is accepted after a close */
  if (delay_ms_ > 0 || !queue_.empty()) {
    o.due_us = g_get_monotonic_time() + static_cast<gint64>(delay_ms_) * 1000;
    queue_.push_back(std::move(o));
    return;
  }
  write_now(o);
}

void LiveSession::write_now(const Outgoing &o) {
  if (!ws_ || soup_websocket_connection_get_state(ws_) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (o.is_close) {
    soup_websocket_connection_close(ws_, static_cast<gushort>(o.code),
                                    o.reason.empty() ? nullptr : o.reason.c_str());
    return;
  }
  soup_websocket_connection_send_text(ws_, o.text.c_str());
  ctx_->counters->update([](Counters &c) { c.live_messages_sent++; });
}

void LiveSession::send_huge(long long bytes, int frames) {
  /* Straight out, ahead of any delayed queue: the point is the size. */
  for (int i = 0; (frames < 0 || i < frames) && i < 16; i++) {
    if (finished_ || closing_ || !ws_ ||
        soup_websocket_connection_get_state(ws_) != SOUP_WEBSOCKET_STATE_OPEN)
      return;
    ResultsFrame r;
    r.channels = static_cast<int>(chans_.size());
    GBytes *frame =
        padded_json(results_json(r, opts_, request_id_, model_), static_cast<size_t>(bytes));
    soup_websocket_connection_send_message(ws_, SOUP_WEBSOCKET_DATA_TEXT, frame);
    g_bytes_unref(frame);
    ctx_->counters->update([](Counters &c) { c.live_messages_sent++; });
  }
}

void LiveSession::flood_tick() {
  if (flood_ms_ <= 0 || !format_known_ || rate_ <= 0)
    return;
  gint64 now = g_get_monotonic_time();
  gint64 due = (now - flood_last_us_) / (static_cast<gint64>(flood_ms_) * 1000);
  if (due <= 0)
    return;
  flood_last_us_ = now;
  /* Bounded per tick so that the server thread stays responsive. */
  for (gint64 i = 0; i < std::min<gint64>(due, 200); i++)
    for (size_t c = 0; c < chans_.size(); c++) {
      ctx_->counters->fault_fired("interim_flood");
      emit_interim(c);
    }
}

void LiveSession::drain_queue() {
  gint64 now = g_get_monotonic_time();
  while (!queue_.empty() && queue_.front().due_us <= now && !finished_) {
    Outgoing o = std::move(queue_.front());
    queue_.pop_front();
    write_now(o);
  }
}

void LiveSession::tick() {
  if (finished_)
    return;
  check_lag();
  check_effects();
  if (finished_)
    return;
  drain_queue();
  if (closing_ || stalled_)
    return;
  flood_tick();
  /* The audio stopped with the stream open: its silence counts on. */
  if (opts_.utterance_end_ms > 0 && last_audio_us_) {
    double idle_ms = static_cast<double>(g_get_monotonic_time() - last_audio_us_) / 1000.0;
    for (size_t i = 0; i < chans_.size(); i++) {
      Chan &c = chans_[i];
      if (c.vad && c.utterance_open &&
          c.vad->silence() * 1000.0 + idle_ms >= opts_.utterance_end_ms) {
        c.utterance_open = false;
        pause_heard(i, Pause::UtteranceEnd);
      }
    }
  }
  gint64 idle_us = static_cast<gint64>(ctx_->idle_timeout_s * 1e6);
  /* Input held for recognition is not the client's idleness. */
  if (idle_us > 0 && held_.empty() && g_get_monotonic_time() - last_activity_us_ >= idle_us) {
    send(metadata());
    send_close(1011, close_reason_text("NET-0001"));
  }
}

/* ---- recognition off the server thread ---- */

/* The channel's recognizer when it runs on recognition threads, else null. */
AsyncRecognizer *LiveSession::threaded(const Chan &c) {
  return dynamic_cast<AsyncRecognizer *>(c.rec.get());
}

std::unique_ptr<Recognizer> LiveSession::make_recognizer(size_t index) {
  std::weak_ptr<LiveSession *> alive = alive_;
  return ctx_->create_live_recognizer(rate_, [alive, index] {
    if (auto self = alive.lock()) {
      (*self)->catch_up(index);
      (*self)->release_held();
    }
  });
}

/* Replays what a recognition thread has heard, as feed_channel() does with
 * an engine on the server thread. */
void LiveSession::catch_up(size_t index) {
  if (finished_ || index >= chans_.size())
    return;
  Chan &c = chans_[index];
  auto *async = threaded(c);
  AsyncRecognizer::Step step;
  while (async && async->step(&step)) {
    c.fed += static_cast<long long>(step.samples);
    if (step.finished)
      continue; /* flush_all() takes the rest */
    Mark mark;  /* one per step but the end's */
    if (!c.marks.empty()) {
      mark = c.marks.front();
      c.marks.pop_front();
    }
    collect_final(index, mark.speech_end);
    if (mark.pause)
      answer_pause(index, mark.kind);
    else
      update_channel(index);
  }
}

bool LiveSession::threaded_recognition() const {
  for (const Chan &c : chans_)
    if (threaded(c))
      return true;
  return false;
}

/* True when every recognition thread has heard everything and finished, so
 * flush_all() will not wait; otherwise asks them to finish. */
bool LiveSession::ready_to_end() {
  bool ready = true;
  for (Chan &c : chans_) {
    auto *async = threaded(c);
    if (async && !async->finish_replayed()) {
      async->request_finish();
      ready = false;
    }
  }
  return ready;
}

/* Finalize and CloseStream with recognition on threads, and everything after
 * them, wait in order for catch_up() to bring every word. */
bool LiveSession::hold(gint type, GBytes *message) {
  if (held_.empty() && !(threaded_recognition() && ends_audio(type, message) && !ready_to_end()))
    return false;
  last_activity_us_ = g_get_monotonic_time();
  held_.push_back({type, g_bytes_ref(message)});
  return true;
}

void LiveSession::release_held() {
  while (!held_.empty() && !finished_ && !closing_) {
    Held h = held_.front();
    if (ends_audio(h.type, h.message) && !ready_to_end())
      return; /* the next catch_up() goes on */
    held_.pop_front();
    take_message(h.type, h.message);
    g_bytes_unref(h.message);
  }
}

double LiveSession::lag_seconds() const {
  double lag = 0;
  for (const Chan &c : chans_)
    if (auto *async = threaded(c))
      lag = std::max(lag, async->lag_seconds());
  return lag;
}

/* Says when this connection's results are late because the emulator cannot
 * keep up (so nobody blames the client), and when it has caught up. */
void LiveSession::check_lag() {
  double lag = lag_seconds();
  if (!lagging_ && lag >= ctx_->lag_warning_s) {
    lagging_ = true;
    double rtf = 0;
    for (const Chan &c : chans_)
      if (auto *async = threaded(c))
        rtf = std::max(rtf, async->rtf());
    ctx_->counters->update([](Counters &c) { c.lagging_connections_total++; });
    char rtf_text[32] = "not measured yet"; /* nothing recognized so far */
    if (rtf > 0)
      snprintf(rtf_text, sizeof rtf_text, "%.2f", rtf);
    g_message("dg-emulator: live request %s: recognition is %.1f s behind the audio (real-time "
              "factor %s, engine %s): its results are late because the emulator cannot keep up",
              request_id_.c_str(), lag, rtf_text, ctx_->engine_name().c_str());
  } else if (lagging_ && lag < ctx_->lag_warning_s / 2) {
    lagging_ = false;
    g_message("dg-emulator: live request %s: recognition has caught up (%.1f s behind)",
              request_id_.c_str(), lag);
  }
}

} // namespace dgemu
