/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostile input on all three elements: bad caps, absurd property values
 * (out of range, huge, non-UTF-8, empty model), URLs with credentials, CR/LF
 * and spaces in options. Each gives a clear error or warning naming the
 * property or the caps, never a crash or a hang; spaces are encoded. */
#include <gst/gst.h>

#include <gst/base/gstbasesink.h>

#include <cmath>

#include "hostile_support.h"

namespace {

const char *const kBadCaps[] = {
    "audio/x-raw,format=F32LE,layout=interleaved,rate=16000,channels=1",
    "audio/x-raw,format=S16LE,layout=interleaved,rate=1000000,channels=1",
    "audio/x-raw,format=S16LE,layout=interleaved,rate=1,channels=1",
    "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=64",
    "audio/x-raw,format=S16LE,layout=non-interleaved,rate=16000,channels=2",
};

std::string sink_for(const char *element) {
  if (g_str_equal(element, "sttfailover"))
    return "sttfailover name=sink f.stream ! fakesink f.batch ! fakesink f.text ! fakesink";
  return std::string(element) +
         " name=sink api-key=k url=" + (g_str_equal(element, "dgstreamsink") ? "@WS@" : "@HTTP@") +
         "/v1/listen";
}

void test_bad_caps() {
  auto emu = dgtest::start_emulator();
  for (const char *element : {"dgstreamsink", "dgbatchsink", "sttfailover"}) {
    for (const char *caps : kBadCaps) {
      std::string desc =
          "appsrc name=src format=time caps=\"" + std::string(caps) + "\" ! " + sink_for(element);
      if (g_str_equal(element, "sttfailover"))
        desc = "appsrc name=src format=time caps=\"" + std::string(caps) +
               "\" ! sttfailover name=f f.stream ! fakesink f.batch ! fakesink f.text ! fakesink";
      hostile::Pipeline p(desc, emu->ws_url(), emu->http_url());
      GstBuffer *buf = gst_buffer_new_allocate(nullptr, 3200, nullptr);
      gst_buffer_memset(buf, 0, 0, 3200);
      GST_BUFFER_PTS(buf) = 0;
      GstFlowReturn flow = GST_FLOW_OK;
      g_signal_emit_by_name(p.src, "push-buffer", buf, &flow);
      gst_buffer_unref(buf);
      g_signal_emit_by_name(p.src, "end-of-stream", &flow);
      bool eos = p.log->run_to_end(10 * GST_SECOND);
      std::string messages = p.all_messages();
      g_test_message("%s with %s: %s", element, caps, messages.substr(0, 300).c_str());
      g_assert_false(eos);
      g_assert_cmpuint(p.log->errors().size(), >=, 1);
      if (!g_str_equal(element, "sttfailover"))
        g_assert_true(p.any_message_contains("unsupported audio caps"));
    }
  }
}

/* Every numeric property has a finite, sane range; out-of-range values are
 * refused by GLib with a warning naming the property, the value unchanged. */
void test_property_ranges() {
  for (const char *factory : {"dgstreamsink", "dgbatchsink", "sttfailover"}) {
    GstElement *e = gst_element_factory_make(factory, nullptr);
    g_assert_nonnull(e);
    guint n = 0;
    GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
    for (guint i = 0; i < n; i++) {
      GParamSpec *ps = specs[i];
      if (!(ps->flags & G_PARAM_WRITABLE) || ps->owner_type == GST_TYPE_BASE_SINK ||
          ps->owner_type == GST_TYPE_ELEMENT || ps->owner_type == GST_TYPE_OBJECT)
        continue;
      if (G_IS_PARAM_SPEC_UINT(ps)) {
        GParamSpecUInt *u = G_PARAM_SPEC_UINT(ps);
        g_test_message("%s.%s: %u..%u", factory, ps->name, u->minimum, u->maximum);
        if (u->maximum < G_MAXUINT) {
          guint before = 0, after = 0;
          g_object_get(e, ps->name, &before, nullptr);
          std::string pattern = std::string("*") + ps->name + "*";
          g_test_expect_message("GLib-GObject", G_LOG_LEVEL_WARNING, pattern.c_str());
          g_object_set(e, ps->name, u->maximum + 1, nullptr);
          g_test_assert_expected_messages();
          g_object_get(e, ps->name, &after, nullptr);
          g_assert_cmpuint(before, ==, after);
        }
      } else if (G_IS_PARAM_SPEC_INT(ps)) {
        GParamSpecInt *s = G_PARAM_SPEC_INT(ps);
        g_test_message("%s.%s: %d..%d", factory, ps->name, s->minimum, s->maximum);
        std::string pattern = std::string("*") + ps->name + "*";
        g_test_expect_message("GLib-GObject", G_LOG_LEVEL_WARNING, pattern.c_str());
        g_object_set(e, ps->name, s->minimum - 1, nullptr);
        g_test_assert_expected_messages();
      } else if (G_IS_PARAM_SPEC_UINT64(ps)) {
        GParamSpecUInt64 *u = G_PARAM_SPEC_UINT64(ps);
        g_test_message("%s.%s: %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, factory, ps->name,
                       u->minimum, u->maximum);
      } else if (G_IS_PARAM_SPEC_DOUBLE(ps)) {
        GParamSpecDouble *d = G_PARAM_SPEC_DOUBLE(ps);
        g_test_message("%s.%s: %g..%g", factory, ps->name, d->minimum, d->maximum);
        g_assert_true(std::isfinite(d->minimum) && std::isfinite(d->maximum));
      }
    }
    g_free(specs);
    /* A negative number for an unsigned property is refused too. */
    const char *uprop = g_str_equal(factory, "dgstreamsink")  ? "stall-timeout"
                        : g_str_equal(factory, "dgbatchsink") ? "request-timeout"
                                                              : "replay-window";
    g_test_expect_message("GLib-GObject", G_LOG_LEVEL_WARNING,
                          (std::string("*") + uprop + "*").c_str());
    g_object_set(e, uprop, -5, nullptr);
    g_test_assert_expected_messages();
    gst_object_unref(e);
  }
}

/* A property value that the element refuses at start: an ERROR naming it. */
void expect_settings_error(const char *element, const char *prop, const char *value,
                           const char *expect, const dgemu::Emulator &emu) {
  std::string desc = std::string("appsrc name=src format=time caps=audio/x-raw,format=S16LE,") +
                     "layout=interleaved,rate=16000,channels=1 ! " + sink_for(element);
  hostile::Pipeline p(desc, emu.ws_url(), emu.http_url());
  GstElement *sink = p.by_name("sink");
  g_object_set(sink, prop, value, nullptr);
  gst_object_unref(sink);
  dgtest::push_sequence(p.src, 16000, 1, 0, 5, 0);
  bool eos = p.log->run_to_end(10 * GST_SECOND);
  std::string messages = p.all_messages();
  g_test_message("%s %s: %s", element, prop, messages.substr(0, 300).c_str());
  g_assert_false(eos);
  if (!p.any_message_contains(expect))
    g_error("%s %s=...: expected '%s' in: %s", element, prop, expect, messages.c_str());
}

void test_absurd_strings() {
  auto emu = dgtest::start_emulator();
  for (const char *element : {"dgstreamsink", "dgbatchsink"}) {
    expect_settings_error(element, "model", "nova\xff\xfe", "model", *emu);
    expect_settings_error(element, "model", "", "model: empty", *emu);
    expect_settings_error(element, "language", "en\r\nX-Injected: 1", "language", *emu);
    expect_settings_error(element, "keyterms", "good,bad\r\nHost: evil", "keyterm", *emu);
    expect_settings_error(element, "extra-options", "tag=a\r\nX-Injected: 1", "extra-options",
                          *emu);
    expect_settings_error(element, "extra-options", "novalue", "extra-options", *emu);
    expect_settings_error(element, "api-key", "key\r\nX-Injected: 1", "api-key", *emu);
    expect_settings_error(element, "api-key", "k\xc3\xa9y", "api-key", *emu);
    std::string huge(1 << 20, 'x');
    expect_settings_error(element, "url", huge.c_str(), "url", *emu);
    bool live = g_str_equal(element, "dgstreamsink");
    expect_settings_error(element, "url",
                          live ? "wss://user:pass@127.0.0.1:9/v1/listen"
                               : "https://user:pass@127.0.0.1:9/v1/listen",
                          "url", *emu);
    expect_settings_error(element, "url",
                          live ? "ws://example.com/v1/listen" : "http://example.com/v1/listen",
                          "clear text", *emu);
    expect_settings_error(element, "url",
                          live ? "ws://127.0.0.1:9/v1/listen?model=x"
                               : "http://127.0.0.1:9/v1/listen?model=x",
                          "url", *emu);
    expect_settings_error(element, "url",
                          live ? "ws://127.0.0.1:9/v1/li sten" : "http://127.0.0.1:9/v1/li\r\nsten",
                          "url", *emu);
  }
}

/* Spaces and reserved characters are encoded: the request goes through and
 * results come back. tag and search are real Deepgram options the emulator
 * does not act on, so it runs lenient (else it refuses them with 400). */
void test_spaces_are_encoded() {
  dgemu::Options lenient;
  lenient.lenient = true;
  auto emu = dgtest::start_emulator(lenient);
  for (const char *element : {"dgstreamsink", "dgbatchsink"}) {
    emu->reset_counters();
    std::string desc = std::string("appsrc name=src format=time caps=audio/x-raw,format=S16LE,") +
                       "layout=interleaved,rate=16000,channels=1 ! " + sink_for(element);
    hostile::Pipeline p(desc, emu->ws_url(), emu->http_url());
    GstElement *sink = p.by_name("sink");
    g_object_set(sink, "extra-options", "tag=studio a&search=a&b=c d#e", "keyterms",
                 "New York, caf\xc3\xa9 & bar", "language", "en-US", nullptr);
    gst_object_unref(sink);
    dgtest::push_sequence(p.src, 16000, 1, 0, 10, 0);
    g_assert_true(p.log->run_to_end(20 * GST_SECOND));
    auto report = dgtest::check_blocks(p.log->finals(), 0, 10, 0);
    if (!report.perfect())
      g_error("%s: %s", element, report.describe().c_str());
  }
}

} // namespace

int main(int argc, char **argv) {
  dgtest::init(&argc, &argv);
  g_test_add_func("/hostile/input/bad-caps", test_bad_caps);
  g_test_add_func("/hostile/input/property-ranges", test_property_ranges);
  g_test_add_func("/hostile/input/absurd-strings", test_absurd_strings);
  g_test_add_func("/hostile/input/spaces-are-encoded", test_spaces_are_encoded);
  return g_test_run();
}
