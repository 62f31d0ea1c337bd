/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the hostile tier: pipelines with a bus log, peak memory, a
 * dg-emulator subprocess (so its own allocations stay out of our VmHWM), and
 * a throwaway self-signed loopback certificate. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "dg_test_support.h"

namespace hostile {

/* VmHWM (peak resident set) of this process, in KiB. */
long peak_rss_kib();

/* A pipeline from a description (@WS@/@HTTP@ replaced by `ws`/`http`), with
 * a bus log. */
struct Pipeline {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr; /* the element named "src", if any */
  std::unique_ptr<dgtest::BusLog> log;
  Pipeline(const std::string &description, const std::string &ws, const std::string &http);
  ~Pipeline();
  GstElement *by_name(const char *name); /* transfer full */
  /* Waits (bounded) until a WARNING or ERROR containing `text` was posted. */
  bool wait_for_message(const char *text, gint64 timeout_ms);
  bool any_message_contains(const char *text) const;
  std::string all_messages() const;
};

/* dg-emulator as a child process. */
class ChildEmulator {
public:
  /* `faults_json` (may be empty) becomes a --faults file; extra arguments
   * follow. Aborts the test when the emulator does not start. */
  explicit ChildEmulator(const std::string &faults_json, const std::string &extra_args = "");
  ~ChildEmulator();
  std::string ws_url() const { return ws_; }
  std::string http_url() const { return http_; }

private:
  GPid pid_ = 0;
  std::string dir_, ws_, http_;
};

/* A self-signed certificate for 127.0.0.1 and its key, written at test time
 * into a temporary directory removed by the destructor. Skips the test (exit
 * 77 through g_test_skip) when openssl is missing: ok() is then false. */
class LoopbackCert {
public:
  LoopbackCert();
  ~LoopbackCert();
  bool ok() const { return ok_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }
  /* An in-process emulator serving https:// and wss:// with this certificate. */
  std::unique_ptr<dgemu::Emulator> start_emulator() const;

private:
  std::string dir_;
  bool ok_ = false;
};

/* Removes a directory tree made by the helpers. */
void remove_tree(const std::string &dir);

} // namespace hostile
