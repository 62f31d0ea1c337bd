/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: one live WebSocket connection (GET /v1/listen).
 *
 * Audio arrives as binary frames (interleaved S16LE with encoding=linear16,
 * or mulaw/alaw; without an encoding a container recognised from the first
 * bytes: WAV, Ogg Opus or FLAC, the last two also with encoding=opus,
 * ogg-opus or flac; see compressed_audio.h). Each transcribed
 * channel has its own Recognizer. Results are built as the engine makes
 * words final:
 *
 *  - a final Results covers [start, start+duration) of connection time; the
 *    finals of a channel tile its audio with no gap or overlap, so a client
 *    can treat start+duration as "acknowledged up to";
 *  - a final is sent once at least 1 s of audio has become final since the
 *    previous one, or earlier at an endpoint (the final words are followed by
 *    `endpointing` ms of final silence; speech_final is then true);
 *  - with interim_results an interim Results covering [last final end, audio
 *    received) is sent for every 0.5 s of audio;
 *  - Finalize flushes every channel (one from_finalize Results per channel,
 *    even when empty); CloseStream flushes, sends Metadata and closes 1000;
 *    an empty binary frame acts as CloseStream.
 *
 * Everything runs on the server thread, except recognition with an engine
 * that may lag (pocketsphinx): it runs on recognition threads
 * (async_recognizer.h) and catch_up() builds the Results when they have
 * heard the audio. Finalize and CloseStream, which need every word, then
 * wait (with what follows them) until recognition has caught up and
 * finished, so the server thread never waits for an engine.
 */
#pragma once

#include "compressed_audio.h"
#include "faults.h"
#include "listen_options.h"
#include "server_context.h"
#include "voice_activity.h"
#include "wav_reader.h"

#include <libsoup/soup.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dgemu {

class AsyncRecognizer;

class LiveSession {
public:
  LiveSession(ServerContext *ctx, SoupWebsocketConnection *ws, GSocket *socket,
              const ListenOptions &opts, const std::string &request_id,
              const std::vector<ConnEffect> &effects);
  ~LiveSession();
  LiveSession(const LiveSession &) = delete;
  LiveSession &operator=(const LiveSession &) = delete;

  /* Timers: idle close, time-triggered faults, delayed messages. */
  void tick();

  /* Attaches a fault effect (from the timeline or a command) now. */
  void attach(const ConnEffect &effect);

  /* Outage: drop without a close frame, or close with a frame. */
  void drop_connection();
  void close_now(int code, const std::string &reason);

  /* Emulator stopping: close 1001 (the destructor forgets the connection). */
  void shutdown();

  bool finished() const { return finished_; }
  const std::string &request_id() const { return request_id_; }

  /* Seconds of audio received whose Results are not built yet because
   * recognition is behind (0 with an engine on the server thread). */
  double lag_seconds() const;
  /* Past ServerContext::lag_warning_s (and not caught up since). */
  bool lagging() const { return lagging_; }

private:
  /* What a pause the detector found asks for. */
  enum class Pause { SpeechFinal, UtteranceEnd };
  /* Recognition on a thread: what each feed() or endpoint() queued was, in
   * order, so that catch_up() answers each step as it is replayed. */
  struct Mark {
    bool pause = false; /* an endpoint(), else audio */
    Pause kind = Pause::SpeechFinal;
    double speech_end = -1; /* the detector's when it was queued */
  };
  struct Chan {
    std::unique_ptr<Recognizer> rec;
    long long base = 0;    /* samples fed before rec was created */
    long long fed = 0;     /* samples fed on this channel (with a thread: replayed) */
    long long emitted = 0; /* samples covered by final Results */
    long long interim_mark = 0;
    std::vector<EngineWord> pending; /* final words not yet sent */
    /* Voice activity on this channel's audio (connection time): the
     * events come from it, not from when words become final. */
    std::unique_ptr<VoiceActivity> vad;
    bool speech_since_endpoint = false; /* an endpoint is owed */
    bool utterance_open = false;        /* an UtteranceEnd is owed, once words came */
    bool words_in_utterance = false;
    double last_word_end = -1; /* of the words spoken (begun in voiced audio) */
    std::deque<Mark> marks;    /* queued in rec, not replayed yet */
  };
  struct Outgoing {
    gint64 due_us = 0;
    bool is_close = false;
    std::string text;
    int code = 0;
    std::string reason;
  };
  struct Armed {
    ConnEffect effect;
    double attached_at = 0;
    long long bytes_at = 0;
    long long frames_at = 0;
  };
  struct Held {
    gint type;
    GBytes *message;
  };

  static void on_message_cb(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer self);
  static void on_closed_cb(SoupWebsocketConnection *ws, gpointer self);

  void on_message(gint type, GBytes *message);
  void take_message(gint type, GBytes *message);
  bool hold(gint type, GBytes *message);
  void release_held();
  bool threaded_recognition() const;
  static AsyncRecognizer *threaded(const Chan &c);
  bool ready_to_end();
  std::unique_ptr<Recognizer> make_recognizer(size_t index);
  void catch_up(size_t index);
  void check_lag();
  void on_closed();
  void handle_audio(const uint8_t *data, size_t len);
  bool start_container();
  void decode_compressed(const uint8_t *data, size_t len, bool finish);
  void deliver(const std::vector<int16_t> &samples);
  void reject_audio();
  void handle_text(const char *data, size_t len);
  void feed_interleaved(const int16_t *samples, size_t frames);
  void feed_channel(size_t index, const int16_t *samples, size_t count);
  /* The detector hears the samples a frame at a time: on_piece(at, n) sees
   * each piece after it, on_frame_end(at) each frame that ends. */
  void walk_frames(Chan &c, const int16_t *samples, size_t count,
                   const std::function<void(size_t at, size_t n)> &on_piece,
                   const std::function<void(size_t at)> &on_frame_end);
  void collect_final(size_t index, double speech_end);
  void update_channel(size_t index);
  void emit_final(size_t index, long long until, bool speech_final, bool from_finalize);
  void emit_interim(size_t index);
  void flush_all(bool from_finalize, bool always);
  void close_stream();
  void check_effects();
  void fire(const ConnEffect &e);
  void send_huge(long long bytes, int frames);
  void flood_tick();
  void send_speech_started(size_t index, double timestamp);
  void send_utterance_end(size_t index, double last_word_end);
  /* Voice activity: SpeechStarted, endpoints and UtteranceEnd. */
  std::vector<Pause> follow_voice(size_t index);
  void pause_heard(size_t index, Pause pause);
  void answer_pause(size_t index, Pause pause);
  long long final_until_samples(size_t index) const;
  void feed_async(size_t index, const int16_t *samples, size_t count);
  void give_async(size_t index, const int16_t *samples, size_t count);
  void send_odd(const std::string &text);

  void send(const std::string &text);
  void send_close(int code, const std::string &reason);
  void write_now(const Outgoing &o);
  void drain_queue();
  void finish();
  std::string metadata();
  double audio_seconds() const;

  ServerContext *ctx_;
  SoupWebsocketConnection *ws_;
  GSocket *socket_;
  ListenOptions opts_;
  std::string request_id_;
  std::string created_;
  ModelInfo model_;
  int rate_ = 0;     /* 0 until known (WAV header) */
  int channels_ = 1; /* channels in the stream */
  std::string encoding_;
  WavHeader wav_;
  bool wav_mode_ = false;
  bool format_known_ = false;
  std::vector<uint8_t> carry_; /* partial frame or WAV header bytes */
  /* encoding=flac/opus/ogg-opus: the container the stream must start with */
  AudioContainer expected_container_ = AudioContainer::unknown;
  std::unique_ptr<CompressedDecoder> decoder_; /* Ogg Opus or FLAC stream */
  std::vector<Chan> chans_;
  long long frames_received_ = 0;
  long long bytes_received_ = 0;
  GChecksum *sha_ = nullptr;
  bool audio_seen_ = false;
  gint64 last_activity_us_ = 0;
  gint64 last_audio_us_ = 0; /* UtteranceEnd also fires once the audio stops */

  std::deque<Outgoing> queue_;
  int delay_ms_ = 0;
  int malformed_left_ = 0;
  int wrong_types_left_ = 0; /* wrong_types: frames still to replace; < 0 every frame */
  int odd_shapes_left_ = 0;  /* odd_shapes: finals still to accompany; < 0 every one */
  unsigned wrong_types_sent_ = 0;
  int flood_ms_ = 0; /* interim_flood: > 0 while flooding (finals withheld) */
  gint64 flood_last_us_ = 0;
  bool stalled_ = false;
  bool closing_ = false; /* close frame queued or sent */
  bool finished_ = false;
  std::vector<Armed> armed_;
  gulong message_handler_ = 0;
  gulong closed_handler_ = 0;
  std::deque<Held> held_; /* input waiting for recognition to catch up */
  bool lagging_ = false;
  /* Wake-ups from recognition threads hold it weakly: one that comes after
   * the session is gone does nothing. */
  std::shared_ptr<LiveSession *> alive_;
};

} // namespace dgemu
