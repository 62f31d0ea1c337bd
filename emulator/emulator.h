/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: a local Deepgram (live WebSocket and pre-recorded REST on
 * /v1/listen) with fault injection, usable in-process from tests.
 *
 *   dgemu::Options opts;
 *   opts.idle_timeout_s = 0.3;
 *   dgemu::Emulator emu(opts);
 *   std::string err;
 *   if (!emu.start(&err)) ...;
 *   connect to emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000"
 *   emu.inject_json(R"({"type":"close","code":1011,"reason":"NET-0000"})", &err);
 *   emu.counters().live_accepted ...
 *   emu.stop();
 *
 * The server runs on its own thread with its own GMainContext and listens on
 * 127.0.0.1 only; live recognition with an engine that may lag
 * (pocketsphinx) runs on Options::recognition_threads more, so a slow engine
 * never holds up the server (counters() tells when it falls behind).
 * start() and stop() may be called repeatedly; the destructor stops. Every
 * method is safe to call from any thread.
 *
 * start() resets the counters and the fault clock and loads the timeline
 * (Options::faults, Options::faults_file) afresh: faults injected before
 * start() are discarded. See docs/emulator.md for the protocol details and
 * the fault format.
 */
#pragma once

#include "counters.h"
#include "engine.h"
#include "faults.h"

#include <memory>
#include <string>
#include <vector>

namespace dgemu {

struct Options {
  int port = 0;                    /* 0: pick a free port */
  std::string engine = "sequence"; /* "sequence" or "pocketsphinx" */
  /* Use this engine instead of make_engine(engine) (tests). */
  std::shared_ptr<Engine> engine_instance;
  /* Accepted key. Empty: any non-empty key is accepted (a request without
   * credentials is still refused with 401, as Deepgram does). */
  std::string api_key;
  std::string faults_file;      /* JSON timeline, `at` from emulator start */
  std::vector<Fault> faults;    /* more timeline entries, same meaning */
  double idle_timeout_s = 10.0; /* NET-0001 close after this long without input */
  /* Threads that recognize live audio for an engine that may lag
   * (pocketsphinx; sequence runs on the server thread); 0: one per core. */
  unsigned recognition_threads = 0;
  /* A live connection whose recognition is this many seconds behind its
   * audio is logged and counted as lagging (Counters). */
  double lag_warning_s = 2.0;
  /* Monotonic seconds for the fault clock (injectable for tests). */
  FaultController::Clock clock;
  double tick_interval_s = 0.02; /* timers' granularity */
  /* TLS: with both set, the emulator serves https:// and wss:// only (PEM
   * files; the certificate may hold a chain). */
  std::string tls_cert_file;
  std::string tls_key_file;
  /* Accept the Deepgram options the emulator does not emulate (redact, tag,
   * a language other than English, ...) instead of refusing them with 400;
   * they are logged and listed in the dg-emulator-ignored response header. */
  bool lenient = false;
  /* Deepgram's concurrency cap per project on the pre-recorded API: a
   * request arriving while this many are being transcribed is answered 429
   * TOO_MANY_REQUESTS. 0: no cap. */
  unsigned batch_concurrency = 0;
};

class Emulator {
public:
  explicit Emulator(Options options = Options());
  ~Emulator();
  Emulator(const Emulator &) = delete;
  Emulator &operator=(const Emulator &) = delete;

  /* Starts serving; false with *error set when the engine, the faults file or
   * the port fails. Starting a running emulator does nothing. */
  bool start(std::string *error = nullptr);
  /* Closes every connection and stops. Stopping a stopped one does nothing. */
  void stop();
  bool running() const;

  int port() const;
  std::string http_url() const; /* http://127.0.0.1:PORT (https:// with TLS) */
  std::string ws_url() const;   /* ws://127.0.0.1:PORT (wss:// with TLS) */
  bool tls() const;             /* serving TLS (Options::tls_cert_file set) */

  Counters counters() const;
  void reset_counters();

  /* The fault timeline and clock. Add faults through inject() to have those
   * that start now act on open connections before it returns. */
  FaultController &faults();
  /* Adds faults (`at` from now, or from emulator start) and applies any that
   * are due; returns their ids. */
  std::vector<int> inject(std::vector<Fault> faults, bool relative_to_now = true);
  /* Same with the JSON format of the faults file; empty + *error on error. */
  std::vector<int> inject_json(const std::string &json, std::string *error);
  /* Moves the fault clock on and applies what became due. */
  void advance_clock(double seconds);
  void clear_faults();

  /* Waits until the server thread has handled everything queued so far. */
  void sync();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace dgemu
