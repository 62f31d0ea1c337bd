/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The API key never appears: not in any GST_DEBUG message at level 9 (every
 * category, captured by a log function), not in GLib log messages, not in
 * bus messages (their structures are logged at GST_DEBUG level 9 when
 * posted, and ERROR/WARNING texts, debug strings and details are scanned
 * too), not in `gst-launch-1.0 -v` output with the key in DEEPGRAM_API_KEY;
 * for all three elements, on success and across 401, 5xx, close codes and
 * TLS failures. */
#include <gst/gst.h>

#include <atomic>
#include <mutex>

#include "hostile_support.h"

namespace {

constexpr const char *kSecret = "dgSeCrEt0123456789abcdefXYZ";
constexpr const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";

std::atomic<long> g_scanned{0};
std::mutex g_leak_mutex;
std::vector<std::string> g_leaks;

void note_leak(const std::string &where, const char *text) {
  std::lock_guard<std::mutex> lock(g_leak_mutex);
  if (g_leaks.size() < 5)
    g_leaks.push_back(where + ": " + std::string(text).substr(0, 300));
}

void scan_gst_log(GstDebugCategory *category, GstDebugLevel, const gchar *, const gchar *, gint,
                  GObject *, GstDebugMessage *message, gpointer) {
  const gchar *text = gst_debug_message_get(message);
  g_scanned++;
  if (text && strstr(text, kSecret))
    note_leak(std::string("GST_DEBUG ") + gst_debug_category_get_name(category), text);
}

void scan_glib_log(const gchar *domain, GLogLevelFlags, const gchar *message, gpointer) {
  g_scanned++;
  if (message && strstr(message, kSecret))
    note_leak(std::string("g_log ") + (domain ? domain : ""), message);
}

/* Structured logging (libraries such as dconf, loaded for the proxy
 * settings, log this way) bypasses the default handler: scanned here too.
 * Debug and info are swallowed, as above (GLib would print them on stdout,
 * into the TAP stream); warnings and worse still reach stderr. */
GLogWriterOutput scan_structured_log(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                     gpointer) {
  const char *domain = "";
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal(fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
      domain = static_cast<const char *>(fields[i].value);
  for (gsize i = 0; i < n_fields; i++) {
    if (!g_str_equal(fields[i].key, "MESSAGE"))
      continue;
    g_scanned++;
    std::string text = fields[i].length < 0
                           ? std::string(static_cast<const char *>(fields[i].value))
                           : std::string(static_cast<const char *>(fields[i].value),
                                         static_cast<size_t>(fields[i].length));
    if (text.find(kSecret) != std::string::npos)
      note_leak(std::string("g_log_structured ") + domain, text.c_str());
  }
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default(level, fields, n_fields, nullptr);
}

void assert_no_leaks(const char *what) {
  std::lock_guard<std::mutex> lock(g_leak_mutex);
  if (!g_leaks.empty())
    g_error("%s: API key leaked: %s", what, g_leaks.front().c_str());
}

void scan_bus(hostile::Pipeline &p, const char *what) {
  std::string all = p.all_messages();
  if (all.find(kSecret) != std::string::npos)
    g_error("%s: API key in a bus message: %s", what, all.c_str());
}

enum class KeyVia { Property, Environment };

/* Runs `desc` (@KEY@ replaced by nothing: the key is set on every element
 * named "sink*" afterwards, or comes from the environment). */
void run(const char *what, const std::string &desc, const std::string &ws, const std::string &http,
         KeyVia via, uint32_t blocks = 20) {
  if (via == KeyVia::Environment)
    g_setenv("DEEPGRAM_API_KEY", kSecret, TRUE);
  else
    g_unsetenv("DEEPGRAM_API_KEY");
  hostile::Pipeline p(desc, ws, http);
  if (via == KeyVia::Property)
    for (const char *name : {"sink", "ssink", "bsink"})
      if (GstElement *e = p.by_name(name)) {
        g_object_set(e, "api-key", kSecret, nullptr);
        gst_object_unref(e);
      }
  dgtest::push_sequence(p.src, 16000, 1, 0, blocks, 0);
  p.log->run_to_end(30 * GST_SECOND);
  gst_element_set_state(p.pipeline, GST_STATE_NULL);
  g_test_message("%s: %s", what, p.all_messages().substr(0, 400).c_str());
  scan_bus(p, what);
  assert_no_leaks(what);
  g_unsetenv("DEEPGRAM_API_KEY");
}

std::string src() {
  return std::string("appsrc name=src format=time caps=") + kCaps + " ! ";
}
const char *kLive = "dgstreamsink name=sink url=@WS@/v1/listen retry-backoff-min=20 "
                    "retry-backoff-max=100 finalize-timeout=3000 breaker=\"\" ";
const char *kBatch =
    "dgbatchsink name=sink url=@HTTP@/v1/listen retry-backoff-min=10 retry-backoff-max=50 "
    "drain-timeout=10000 breaker=\"\" ";

/* The scanner itself: a key that is logged is found. */
void test_scanner_catches_a_leak() {
  GST_DEBUG_CATEGORY_STATIC(probe);
  GST_DEBUG_CATEGORY_INIT(probe, "hostile-probe", 0, "");
  GST_CAT_INFO(probe, "the key is %s", kSecret);
  g_message("and again %s", kSecret);
  g_log_structured("hostile-probe", G_LOG_LEVEL_DEBUG, "MESSAGE", "structured %s", kSecret);
  {
    std::lock_guard<std::mutex> lock(g_leak_mutex);
    g_assert_cmpuint(g_leaks.size(), ==, 3);
    g_leaks.clear();
  }
}

void test_live() {
  for (KeyVia via : {KeyVia::Property, KeyVia::Environment}) {
    auto emu = dgtest::start_emulator();
    run("live ok", src() + kLive, emu->ws_url(), emu->http_url(), via);
    std::string err;
    emu->inject_json(R"([{"type":"refuse","status":503,"count":1},)"
                     R"({"type":"close","code":1011,"target":"new","count":1,"after_bytes":9600},)"
                     R"({"type":"close","code":4000,"reason":"custom","target":"new","count":1,)"
                     R"("after_bytes":9600}])",
                     &err);
    run("live 503 + close 1011 + 4000", src() + kLive, emu->ws_url(), emu->http_url(), via, 40);
    g_assert_cmpuint(emu->counters().fired("close"), >=, 1);
  }
  dgemu::Options strict;
  strict.api_key = "the-right-key";
  auto emu = dgtest::start_emulator(strict);
  run("live 401", src() + kLive, emu->ws_url(), emu->http_url(), KeyVia::Property);
  g_assert_cmpuint(emu->counters().live_refused, >=, 1);
}

void test_batch() {
  for (KeyVia via : {KeyVia::Property, KeyVia::Environment}) {
    auto emu = dgtest::start_emulator();
    run("batch ok", src() + kBatch, emu->ws_url(), emu->http_url(), via);
    std::string err;
    emu->inject_json(R"({"type":"batch_error","status":500,"count":2,"retry_after":0})", &err);
    run("batch 500", src() + kBatch, emu->ws_url(), emu->http_url(), via);
  }
  dgemu::Options strict;
  strict.api_key = "the-right-key";
  auto emu = dgtest::start_emulator(strict);
  run("batch 401", src() + kBatch, emu->ws_url(), emu->http_url(), KeyVia::Environment);
  g_assert_cmpuint(emu->counters().batch_failed, >=, 1);
}

void test_tls_failures() {
  hostile::LoopbackCert cert;
  if (!cert.ok())
    return;
  auto emu = cert.start_emulator();
  run("live TLS refused", src() + kLive + "reconnect=false", emu->ws_url(), emu->http_url(),
      KeyVia::Property);
  run("batch TLS refused", src() + kBatch, emu->ws_url(), emu->http_url(), KeyVia::Property);
}

void test_failover() {
  auto emu = dgtest::start_emulator();
  std::string err;
  emu->inject_json(R"({"type":"outage","api":"live","duration":30})", &err);
  std::string desc = src() +
                     "sttfailover name=f f.stream ! queue ! dgstreamsink name=ssink "
                     "url=@WS@/v1/listen breaker=\"\" retry-backoff-min=20 "
                     "f.batch ! queue ! dgbatchsink name=bsink url=@HTTP@/v1/listen breaker=\"\" "
                     "retry-backoff-min=10 f.text ! fakesink";
  run("failover, live down", desc, emu->ws_url(), emu->http_url(), KeyVia::Property);
  run("failover, live down (env)", desc, emu->ws_url(), emu->http_url(), KeyVia::Environment);
}

/* gst-launch-1.0 -v, key in the environment, GST_DEBUG=*:9 to the same
 * output: the key is nowhere in it. */
void test_gst_launch_verbose() {
  auto emu = dgtest::start_emulator();
  gchar *launch = g_find_program_in_path("gst-launch-1.0");
  if (!launch) {
    g_test_skip("gst-launch-1.0 not installed");
    return;
  }
  for (const char *element : {"dgstreamsink", "dgbatchsink"}) {
    bool live = g_str_equal(element, "dgstreamsink");
    std::string url = live ? emu->ws_url() : emu->http_url();
    std::string cmd = std::string(launch) +
                      " -v audiotestsrc num-buffers=10 ! audio/x-raw,format=S16LE,rate=16000 ! " +
                      element + " url=" + url + "/v1/listen";
    gint argc = 0;
    gchar **argv = nullptr;
    g_shell_parse_argv(cmd.c_str(), &argc, &argv, nullptr);
    gchar **envp = g_get_environ();
    envp = g_environ_setenv(envp, "DEEPGRAM_API_KEY", kSecret, TRUE);
    envp = g_environ_setenv(envp, "GST_DEBUG", "*:9", TRUE);
    envp = g_environ_setenv(envp, "GST_DEBUG_NO_COLOR", "1", TRUE);
    envp = g_environ_setenv(envp, "G_MESSAGES_DEBUG", "all", TRUE);
    gchar *out = nullptr, *errout = nullptr;
    gint status = 0;
    g_assert_true(g_spawn_sync(nullptr, argv, envp, G_SPAWN_DEFAULT, nullptr, nullptr, &out,
                               &errout, &status, nullptr));
    g_test_message("%s: %zu + %zu bytes of output, exit %d", element, strlen(out), strlen(errout),
                   status);
    g_assert_true(g_spawn_check_wait_status(status, nullptr));
    g_assert_cmpuint(strlen(errout), >, 100000); /* the debug log did run */
    g_assert_null(strstr(out, kSecret));
    g_assert_null(strstr(errout, kSecret));
    g_free(out);
    g_free(errout);
    g_strfreev(envp);
    g_strfreev(argv);
  }
  g_free(launch);
}

} // namespace

int main(int argc, char **argv) {
  g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
  g_log_set_writer_func(scan_structured_log, nullptr, nullptr); /* before anything logs */
  dgtest::init(&argc, &argv);
  gst_debug_remove_log_function(gst_debug_log_default);
  gst_debug_add_log_function(scan_gst_log, nullptr, nullptr);
  gst_debug_set_active(TRUE);
  gst_debug_set_default_threshold(GST_LEVEL_MEMDUMP);
  g_log_set_default_handler(scan_glib_log, nullptr);
  g_test_add_func("/hostile/secrets/scanner-catches-a-leak", test_scanner_catches_a_leak);
  g_test_add_func("/hostile/secrets/dgstreamsink", test_live);
  g_test_add_func("/hostile/secrets/dgbatchsink", test_batch);
  g_test_add_func("/hostile/secrets/tls-failures", test_tls_failures);
  g_test_add_func("/hostile/secrets/sttfailover", test_failover);
  g_test_add_func("/hostile/secrets/gst-launch-verbose", test_gst_launch_verbose);
  int rc = g_test_run();
  g_printerr("scanned %ld log messages\n", g_scanned.load());
  return rc;
}
