/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: a local Deepgram for tests and outage rehearsals.
 *
 *   dg-emulator [--port N] [--engine sequence|pocketsphinx] [--api-key KEY]
 *               [--faults FILE] [--idle-timeout S] [--tls-cert FILE --tls-key FILE]
 *               [--lenient] [--recognition-threads N] [--lag-warning S]
 *               [--batch-concurrency N]
 *
 * Listens on 127.0.0.1 only. The first stdout line is machine-readable:
 *   DG_EMULATOR_READY port=PORT http=http://127.0.0.1:PORT ws=ws://127.0.0.1:PORT
 * SIGINT / SIGTERM stop it cleanly.
 */
#include "emulator.h"

#include <glib-unix.h>
#include <glib.h>

#include <cstdio>
#include <cstdlib>

static gboolean on_signal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop *>(loop));
  return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
  gint port = 0;
  gchar *engine = nullptr;
  gchar *api_key = nullptr;
  gchar *faults = nullptr;
  gdouble idle_timeout = 10.0;
  gchar *tls_cert = nullptr;
  gchar *tls_key = nullptr;
  gboolean lenient = FALSE;
  gint recognition_threads = 0;
  gdouble lag_warning = 2.0;
  gint batch_concurrency = 0;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "Port on 127.0.0.1 (0: pick one)", "N"},
      {"engine", 'e', 0, G_OPTION_ARG_STRING, &engine,
       "Recognition engine: sequence (default) or pocketsphinx", "NAME"},
      {"api-key", 'k', 0, G_OPTION_ARG_STRING, &api_key,
       "Accepted API key (default: any non-empty key)", "KEY"},
      {"faults", 'f', 0, G_OPTION_ARG_FILENAME, &faults,
       "JSON fault timeline (see docs/emulator.md)", "FILE"},
      {"idle-timeout", 'i', 0, G_OPTION_ARG_DOUBLE, &idle_timeout,
       "Seconds without audio or text before the NET-0001 close (default 10)", "S"},
      {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
       "PEM certificate: serve https:// and wss:// (needs --tls-key)", "FILE"},
      {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "PEM private key for --tls-cert", "FILE"},
      {"lenient", 0, 0, G_OPTION_ARG_NONE, &lenient,
       "Accept Deepgram options the emulator does not emulate (redact, tag, language=fr, ...) "
       "instead of refusing them with 400; list them in the dg-emulator-ignored header",
       nullptr},
      {"recognition-threads", 0, 0, G_OPTION_ARG_INT, &recognition_threads,
       "Threads recognizing live audio with an engine that may lag (pocketsphinx); 0: one per "
       "core (default)",
       "N"},
      {"lag-warning", 0, 0, G_OPTION_ARG_DOUBLE, &lag_warning,
       "Seconds a live connection's recognition may fall behind its audio before it is logged "
       "and counted as lagging (default 2)",
       "S"},
      {"batch-concurrency", 0, 0, G_OPTION_ARG_INT, &batch_concurrency,
       "Pre-recorded requests transcribed at once, as Deepgram's concurrency cap: one more is "
       "answered 429 TOO_MANY_REQUESTS; 0: no cap (default)",
       "N"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *octx = g_option_context_new("- a local Deepgram with fault injection");
  g_option_context_add_main_entries(octx, entries, nullptr);
  GError *err = nullptr;
  if (!g_option_context_parse(octx, &argc, &argv, &err)) {
    fprintf(stderr, "dg-emulator: %s\n", err->message);
    g_clear_error(&err);
    g_option_context_free(octx);
    return 2;
  }
  g_option_context_free(octx);
  if (port < 0 || port > 65535) {
    fprintf(stderr, "dg-emulator: --port must be 0..65535\n");
    return 2;
  }
  if (idle_timeout <= 0) {
    fprintf(stderr, "dg-emulator: --idle-timeout must be > 0\n");
    return 2;
  }
  if (recognition_threads < 0 || recognition_threads > 256) {
    fprintf(stderr, "dg-emulator: --recognition-threads must be 0..256\n");
    return 2;
  }
  if (lag_warning <= 0) {
    fprintf(stderr, "dg-emulator: --lag-warning must be > 0\n");
    return 2;
  }
  if (batch_concurrency < 0) {
    fprintf(stderr, "dg-emulator: --batch-concurrency must be >= 0\n");
    return 2;
  }
  if (!tls_cert != !tls_key) {
    fprintf(stderr, "dg-emulator: --tls-cert and --tls-key go together\n");
    return 2;
  }

  dgemu::Options opts;
  opts.port = port;
  if (engine)
    opts.engine = engine;
  if (api_key)
    opts.api_key = api_key;
  if (faults)
    opts.faults_file = faults;
  opts.idle_timeout_s = idle_timeout;
  opts.lenient = lenient;
  opts.recognition_threads = static_cast<unsigned>(recognition_threads);
  opts.lag_warning_s = lag_warning;
  opts.batch_concurrency = static_cast<unsigned>(batch_concurrency);
  if (tls_cert) {
    opts.tls_cert_file = tls_cert;
    opts.tls_key_file = tls_key;
  }
  g_free(tls_cert);
  g_free(tls_key);
  g_free(engine);
  g_free(api_key);
  g_free(faults);

  dgemu::Emulator emu(opts);
  std::string error;
  if (!emu.start(&error)) {
    fprintf(stderr, "dg-emulator: %s\n", error.c_str());
    return 1;
  }
  printf("DG_EMULATOR_READY port=%d http=%s ws=%s\n", emu.port(), emu.http_url().c_str(),
         emu.ws_url().c_str());
  fflush(stdout);
  fprintf(stderr,
          "dg-emulator: listening on %s (live %s/v1/listen, control %s/_emulator/), engine "
          "%s%s\n",
          emu.http_url().c_str(), emu.ws_url().c_str(), emu.http_url().c_str(), opts.engine.c_str(),
          opts.lenient ? ", lenient" : "");

  GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGINT, on_signal, loop);
  g_unix_signal_add(SIGTERM, on_signal, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  emu.stop();
  fprintf(stderr, "dg-emulator: stopped\n");
  return 0;
}
