/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live feeds as broadcasters send them: a sender pipeline (LibriVox speech
 * paced by clocksync, encoded, sent on loopback) and a receiver pipeline
 * (network source, demux, decode, dgtranscribebin) in one process, talking over
 * real sockets, against an in-process dg-emulator.
 *
 *   Program program = make_program(librivox::utterances(), 60, 20, 10);
 *   auto emu = start_emulator("pocketsphinx", &error);
 *   Link link(Transport::ts_aac);                  // free port, bound socket
 *   Receiver rx(receiver_head(link, codecs()) + "dgtranscribebin name=dg ! fakesink", *emu, link);
 *   Sender tx(sender_description(link, codecs()), program);
 *   rx.play(); tx.play(); tx.wait_eos(timeout); rx.finish(program.sent_seconds(), drain, timeout);
 *   Report r = analyse(program, rx, "ts-aac", true);   // then describe(r, pass)
 *
 * Plain GStreamer, GLib, dg-emulator and the LibriVox helpers only, so that
 * bench/live_caption_delay.cpp builds it too. Times are GstClockTime (ns)
 * unless a name says seconds.
 */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emulator.h"
#include "librivox.h"

namespace livefeed {

/* g_test in TAP mode prints every g_debug; libsoup's WebSocket frames and
 * GIO's connection steps are thousands of lines per run. */
void quiet_network_debug();

/* ---- what is installed ---------------------------------------------------------------------- */

/* The first of the factories that exists, or "" when none does. */
std::string first_available(const std::vector<std::string> &factories);
/* The factories that do not exist, comma-separated ("" when all do). */
std::string missing(const std::vector<std::string> &factories);

/* The codec elements picked for this machine ("" when none of the choices exists). */
struct Codecs {
  std::string aac_enc, aac_dec, mp2_enc, mp2_dec, h264_enc, h264_dec;
};
Codecs codecs();

/* ---- the speech ------------------------------------------------------------------------------ */

constexpr int kRate = 16000; /* the program's audio: 16 kHz mono S16 */

struct Program {
  std::vector<int16_t> audio;
  std::vector<std::string> reference;           /* words of the clips that are sent */
  std::vector<std::pair<double, double>> clips; /* seconds, in program time */
  /* When each reference word was said, estimated: the clip's time shared
   * out by letters (seconds, program time). */
  std::vector<double> word_times;
  double gap_start = 0, gap_length = 0; /* dropped by the sender; 0 length: none */
  double seconds() const { return static_cast<double>(audio.size()) / kRate; }
  double sent_seconds() const { return seconds() - gap_length; }
};

/* The LibriVox clips in order, each after 1 s of silence, repeated until at
 * least `sent_seconds` of audio will be sent, then 1 s of silence. With
 * gap_length > 0, the span [gap_start, gap_start + gap_length) holds no clip
 * (the clip that would cross gap_start starts 1 s after the gap), so what the
 * sender drops is silence and the reference is exact. */
Program make_program(const std::vector<librivox::Utterance> &clips, double sent_seconds,
                     double gap_start = 0, double gap_length = 0);

/* ---- the emulator --------------------------------------------------------------------------- */

/* An in-process dg-emulator with that engine; nullptr with *error set. */
std::unique_ptr<dgemu::Emulator> start_emulator(const std::string &engine, std::string *error);

/* ---- transports ----------------------------------------------------------------------------- */

enum class Transport { ts_aac, ts_mp2, rtp_l16, srt };
const char *name(Transport t);
/* "ts-aac" etc.; false when unknown. */
bool parse_transport(const std::string &text, Transport *t);
/* Elements the transport needs that are missing here ("" when all are present). */
std::string missing_for(Transport t, bool video = false);

/* The loopback path between sender and receiver. UDP transports: a socket the
 * test binds to 127.0.0.1:0 and hands to udpsrc (packets sent before the
 * receiver plays wait in it). SRT: a port found free by binding and closing. */
class Link {
public:
  explicit Link(Transport t);
  ~Link();
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;
  Transport transport() const { return transport_; }
  int port() const { return port_; }
  GSocket *socket() const { return socket_; } /* nullptr for SRT */

private:
  Transport transport_;
  int port_ = 0;
  GSocket *socket_ = nullptr;
};

/* Sender: `appsrc name=audio` (the program) ! clocksync name=pace ! ... ! the
 * network sink (udpsink / srtsink). With video, a live videotestsrc of
 * `video_seconds` (black, x264/openh264, 320x240 at 25 fps) is muxed in too. */
std::string sender_description(const Link &link, const Codecs &c, bool video = false,
                               double video_seconds = 0);
/* Receiver head: network source ! depayload/demux ! decode ! audioconvert !
 * audioresample, ending in " ! " so the caller appends the bin. An MPEG-TS
 * demuxer is named `d` and only its audio pad is linked; the caller may add
 * `d. ! video/x-h264 ! ...` for the video. */
std::string receiver_head(const Link &link, const Codecs &c);

constexpr int kVideoFps = 25;

/* ---- the pipelines -------------------------------------------------------------------------- */

/* Everything a pipeline posted that the tests look at, from a sync handler;
 * waits are on events (messages), never on time. */
class Watch {
public:
  explicit Watch(GstElement *pipeline);
  ~Watch();
  Watch(const Watch &) = delete;
  Watch &operator=(const Watch &) = delete;

  /* Until the pipeline posted its own state change to PLAYING; false after
   * timeout. */
  bool wait_playing(GstClockTime timeout) const;
  /* Until EOS (true) or ERROR / timeout (false). */
  bool wait_eos(GstClockTime timeout) const;
  bool eos() const;
  /* Monotonic µs at which the pipeline reached PLAYING (0: not yet). */
  gint64 playing_at() const;

  /* Element messages of that name, as strings; each copy carries
   * kArrivalField: g_get_monotonic_time() when it was posted. */
  std::vector<std::string> messages(const char *name) const;
  std::vector<GstStructure *> structures(const char *name) const; /* copies; free them */
  std::vector<std::string> errors() const;
  std::vector<std::string> warnings() const;

private:
  static GstBusSyncReply on_message(GstBus *bus, GstMessage *message, gpointer self);
  GstElement *pipeline_;
  mutable std::mutex mutex_;
  mutable std::condition_variable posted_;
  std::vector<GstStructure *> elements_;
  std::vector<std::string> errors_, warnings_;
  bool eos_ = false, error_ = false;
  gint64 playing_at_ = 0;
};

/* Added to the element messages a Watch keeps: when posted (monotonic µs). */
constexpr const char *kArrivalField = "watch-arrival-us";

/* Parses a description into a pipeline; g_error when it does not parse. */
GstElement *parse_pipeline(const std::string &description, const char *name);

class Sender {
public:
  /* The description must hold `appsrc name=audio` and `clocksync name=pace`. */
  Sender(const std::string &description, const Program &program);
  ~Sender();
  Sender(const Sender &) = delete;
  Sender &operator=(const Sender &) = delete;

  void play();
  bool wait_eos(GstClockTime timeout) { return watch_->wait_eos(timeout); }
  GstElement *pipeline() const { return pipeline_; }
  const Watch &watch() const { return *watch_; }
  uint64_t dropped_buffers() const;

private:
  static GstPadProbeReturn drop_gap(GstPad *pad, GstPadProbeInfo *info, gpointer self);
  GstElement *pipeline_;
  std::unique_ptr<Watch> watch_;
  GstClockTime gap_start_ = 0, gap_end_ = 0;
  mutable std::mutex mutex_;
  uint64_t dropped_ = 0;
  bool after_gap_ = false;
};

/* One caption on dgtranscribebin's src pad. */
struct Caption {
  GstClockTime pts = GST_CLOCK_TIME_NONE, duration = GST_CLOCK_TIME_NONE;
  GstClockTime pts_rt = GST_CLOCK_TIME_NONE;     /* running time of the PTS */
  GstClockTime arrival_rt = GST_CLOCK_TIME_NONE; /* running time when it left the bin */
  std::string text, branch;
  /* Its first word's own start (the transcript meta), even when the caption
   * was moved later than its audio; NONE without the meta. */
  GstClockTime first_word_start = GST_CLOCK_TIME_NONE;
  /* Caption delay in seconds: arrival_rt - pts_rt (negative when early). */
  double delay() const;
};

/* One audio buffer on dgtranscribebin's sink pad. */
struct AudioIn {
  GstClockTime pts_rt = GST_CLOCK_TIME_NONE, end_rt = GST_CLOCK_TIME_NONE;
  GstClockTime arrival_rt = GST_CLOCK_TIME_NONE;
  bool discont = false;
};

class Receiver {
public:
  /* The description must hold `dgtranscribebin name=dg` without URLs; they
   * are set here to the emulator's, and DEEPGRAM_API_KEY is set. A udpsrc
   * named `net` gets the link's socket. */
  Receiver(const std::string &description, const dgemu::Emulator &emu, const Link &link);
  ~Receiver();
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;

  /* set_state(PLAYING); returns the state change's result. */
  GstStateChangeReturn play();
  /* After the sender's EOS: waits (bounded by `drain`) until the bin has
   * received `sent_seconds` of audio, less what codecs may trim, then sends
   * EOS into the pipeline and waits for it (bounded by `timeout`). True on
   * EOS. */
  bool finish(double sent_seconds, GstClockTime drain, GstClockTime timeout);
  /* set_state(NULL); returns how long it took, in seconds. */
  double stop();

  GstElement *pipeline() const { return pipeline_; }
  GstElement *bin() const { return bin_; }
  const Watch &watch() const { return *watch_; }
  std::vector<Caption> captions() const;
  std::vector<AudioIn> audio() const;
  double received_seconds() const;
  guint latency_ms() const; /* the bin's `latency` property */
  /* The LATENCY query on the bin's src pad: min latency (NONE when unanswered). */
  GstClockTime query_latency() const;
  /* The failover's stats structure as a string. */
  std::string stats() const;

private:
  static GstPadProbeReturn on_caption(GstPad *pad, GstPadProbeInfo *info, gpointer self);
  static GstPadProbeReturn on_audio(GstPad *pad, GstPadProbeInfo *info, gpointer self);
  GstClockTime now_rt() const;
  GstElement *pipeline_ = nullptr;
  GstElement *bin_ = nullptr;
  std::unique_ptr<Watch> watch_;
  mutable std::mutex mutex_;
  mutable std::condition_variable audio_arrived_;
  GstSegment caption_segment_, audio_segment_;
  std::vector<Caption> captions_;
  std::vector<AudioIn> audio_;
  double received_ = 0;
  bool stopped_ = false;
};

/* ---- the figures ---------------------------------------------------------------------------- */

/* Lowercase words (letters, digits, apostrophes) of the captions, in order. */
std::vector<std::string> words_of(const std::vector<Caption> &captions);
/* The p-quantile (0..1) of the values (nearest rank); 0 when empty. */
double percentile(std::vector<double> values, double p);

struct Report {
  std::string transport;
  double wer = 1.0;
  size_t reference_words = 0, words = 0, captions = 0;
  double delay_p50 = 0, delay_p95 = 0, delay_p99 = 0, delay_max = 0; /* seconds */
  size_t over_latency = 0; /* captions later than `latency` */
  guint latency_ms = 0;    /* the bin's property */
  GstClockTime latency_query = GST_CLOCK_TIME_NONE;
  size_t degraded = 0, dropped = 0, recovered = 0;
  std::vector<std::string> degraded_messages, dropped_messages;
  /* The gap as the receiver saw it: the largest hole in arrival between two
   * audio buffers at the bin, and the PTS jump there (seconds; -1: no gap). */
  double gap_arrival_hole = -1, gap_pts_jump = -1;
  GstClockTime gap_start_rt = GST_CLOCK_TIME_NONE, gap_end_rt = GST_CLOCK_TIME_NONE;
  double first_after_gap_delay = -1; /* seconds; -1: no caption after the gap */
  std::string first_after_gap_text;
  std::vector<std::string> overlaps, duplicates, in_gap, untimed;
  /* A caption's last word again as the next caption's first word (reported,
   * not required: a recognizer may say "that that"), and whether the sink's
   * final transcripts on the bus already hold it (then the STT service said
   * it twice, not the caption splitter). */
  std::vector<std::string> boundary_repeats;
  /* Captions whose first word (matched to the reference) was said more than
   * 2.5 s away from the caption's PTS, in program time (the receiver's offset
   * taken out); the largest such distance over all matched captions, and
   * that caption. */
  std::vector<std::string> mistimed;
  double timing_error_max = 0;
  std::string timing_worst;
  /* Speech to caption: the caption's arrival at the bin's src pad minus when
   * its first word was said (estimated, receiver's running time), seconds.
   * Unlike the caption delay (arrival - PTS) it still counts a caption the
   * bin re-stamped later than its speech. */
  double speech_delay_p50 = 0, speech_delay_max = 0;
  /* How late the audio itself reaches the bin's sink pad (arrival running
   * time minus PTS running time), seconds: the upstream share of the delay. */
  double audio_late_p50 = 0, audio_late_max = 0;
  double received_seconds = 0, sent_seconds = 0;
  std::vector<std::string> errors;
  std::string stats;
  std::string transcript; /* the captions joined with " | " */
};

/* Every figure of a finished run. With expect_gap, the gap is located in the
 * receiver's timeline (the largest arrival hole, at least 5 s). */
Report analyse(const Program &program, const Receiver &rx, const std::string &transport,
               bool expect_gap);

/* The report as lines (the tests print them as TAP comments), the last one
 * machine-readable: "live-result key=value ...", read by
 * tools/run-live-stress.sh. */
std::vector<std::string> describe(const Report &r, bool pass);

/* The required behaviours of one run: each one is checked and reported, so
 * that a failing run names every requirement it misses, not just the first. */
class Requirements {
public:
  void expect(bool ok, const std::string &what) {
    if (!ok)
      failed_.push_back(what);
  }
  bool ok() const { return failed_.empty(); }
  const std::vector<std::string> &failed() const { return failed_; }

private:
  std::vector<std::string> failed_;
};

/* Prints the lines as TAP comments, then fails the test (g_test_fail_printf)
 * with every requirement missed. */
void conclude(const std::vector<std::string> &lines, const Requirements &req);

} // namespace livefeed
