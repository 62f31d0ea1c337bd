/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TLS: verification is on by default for wss:// and https://. Against a
 * self-signed loopback dg-emulator (certificate made at test time):
 * default -> a clear error naming the certificate problem; ca-file set to the
 * certificate -> transcripts; tls-verify=false -> transcripts and a warning. */
#include <gst/gst.h>

#include "hostile_support.h"

namespace {

constexpr const char *kCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1";
constexpr uint32_t kBlocks = 20;

struct TlsCase {
  const char *element; /* dgstreamsink or dgbatchsink */
  const char *props;
};

std::string sink_desc(const TlsCase &c) {
  bool live = g_str_equal(c.element, "dgstreamsink");
  return std::string("appsrc name=src format=time caps=") + kCaps + " ! " + c.element +
         " name=sink url=" + (live ? "@WS@/v1/listen" : "@HTTP@/v1/listen") +
         " api-key=tls-test-key " +
         (live ? "reconnect=false connect-timeout=5000" : "max-chunk=1000 retry-backoff-min=20") +
         " " + c.props;
}

/* Runs sequence audio through the sink against a TLS emulator. */
void run_case(const TlsCase &c, bool expect_ok, const char *expect_text) {
  hostile::LoopbackCert cert;
  if (!cert.ok())
    return;
  auto emu = cert.start_emulator();
  std::string props = c.props;
  std::string desc = sink_desc(c);
  size_t at = desc.find("@CA@");
  if (at != std::string::npos)
    desc.replace(at, 4, cert.cert());
  hostile::Pipeline p(desc, emu->ws_url(), emu->http_url());
  dgtest::push_sequence(p.src, 16000, 1, 0, kBlocks, 0);
  bool eos = p.log->run_to_end(30 * GST_SECOND);
  std::string messages = p.all_messages();
  g_test_message("%s %s: %s", c.element, c.props, messages.c_str());
  if (expect_ok) {
    g_assert_true(eos);
    auto report = dgtest::check_blocks(p.log->finals(), 0, kBlocks, 0);
    if (!report.perfect())
      g_error("%s over TLS: %s", c.element, report.describe().c_str());
  } else {
    (void)eos; /* the batch sink may still reach EOS (its audio reported dropped) */
    g_assert_cmpuint(p.log->errors().size(), >=, 1);
    auto counters = emu->counters();
    g_assert_cmpuint(counters.live_accepted + counters.batch_ok, ==, 0);
  }
  if (expect_text && !strstr(messages.c_str(), expect_text))
    g_error("expected '%s' in: %s", expect_text, messages.c_str());
}

void test_live_default_refused() {
  run_case({"dgstreamsink", ""}, false, "not signed by a trusted CA");
}
void test_live_ca_file() {
  run_case({"dgstreamsink", "ca-file=@CA@"}, true, nullptr);
}
void test_live_no_verify() {
  run_case({"dgstreamsink", "tls-verify=false"}, true, "tls-verify=false");
}
void test_batch_default_refused() {
  run_case({"dgbatchsink", ""}, false, "not signed by a trusted CA");
}
void test_batch_ca_file() {
  run_case({"dgbatchsink", "ca-file=@CA@"}, true, nullptr);
}
void test_batch_no_verify() {
  run_case({"dgbatchsink", "tls-verify=false"}, true, "tls-verify=false");
}

/* A CA file that is not a certificate is a settings error at start. */
void test_bad_ca_file() {
  for (const char *element : {"dgstreamsink", "dgbatchsink"}) {
    std::string desc = std::string("appsrc name=src format=time caps=") + kCaps + " ! " + element +
                       " url=" + (g_str_equal(element, "dgstreamsink") ? "wss" : "https") +
                       "://127.0.0.1:9/v1/listen api-key=k ca-file=/nonexistent/ca.pem";
    hostile::Pipeline p(desc, "", "");
    g_assert_cmpint(gst_element_set_state(p.pipeline, GST_STATE_PAUSED), ==,
                    GST_STATE_CHANGE_FAILURE);
    g_assert_true(p.any_message_contains("ca-file"));
  }
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/hostile/tls/live-default-refused", test_live_default_refused);
  g_test_add_func("/hostile/tls/live-ca-file", test_live_ca_file);
  g_test_add_func("/hostile/tls/live-no-verify-warns", test_live_no_verify);
  g_test_add_func("/hostile/tls/batch-default-refused", test_batch_default_refused);
  g_test_add_func("/hostile/tls/batch-ca-file", test_batch_ca_file);
  g_test_add_func("/hostile/tls/batch-no-verify-warns", test_batch_no_verify);
  g_test_add_func("/hostile/tls/bad-ca-file", test_bad_ca_file);
  return g_test_run();
}
