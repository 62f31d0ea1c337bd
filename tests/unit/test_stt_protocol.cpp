/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>

#include "stt_protocol.h"

using namespace dgf::stt;

static void test_health_roundtrip_upstream_event() {
  Health h{false, "close 1011 NET-0000", 1011, true, "sess-1"};
  GstEvent *e = make_event(h);
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_UPSTREAM);
  g_assert_true(is<Health>(e));
  g_assert_false(is<Ack>(e));
  auto back = parse<Health>(e);
  g_assert_true(back.has_value());
  g_assert_false(back->healthy);
  g_assert_cmpstr(back->reason.c_str(), ==, "close 1011 NET-0000");
  g_assert_cmpint(back->code, ==, 1011);
  g_assert_true(back->retryable);
  g_assert_cmpstr(back->session_id.c_str(), ==, "sess-1");
  gst_event_unref(e);
}

static void test_path_restored_roundtrip_upstream_event() {
  GstEvent *e = make_event(PathRestored{"sess-2"});
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_UPSTREAM);
  g_assert_false(is<Health>(e));
  auto back = parse<PathRestored>(e);
  g_assert_true(back.has_value());
  g_assert_cmpstr(back->session_id.c_str(), ==, "sess-2");
  gst_event_unref(e);
}

static void test_retry_now_is_out_of_band_downstream() {
  GstEvent *e = make_event(RetryNow{});
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_DOWNSTREAM_OOB);
  g_assert_false(GST_EVENT_IS_SERIALIZED(e)); /* it overtakes the queued audio */
  g_assert_true(parse<RetryNow>(e).has_value());
  g_assert_false(parse<PathRestored>(e).has_value());
  gst_event_unref(e);
}

static void test_flush_is_serialized_downstream() {
  GstEvent *e = make_event(Flush{7, "recovered"});
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_assert_true(GST_EVENT_IS_SERIALIZED(e));
  auto back = parse<Flush>(e);
  g_assert_cmpuint(back->flush_id, ==, 7);
  g_assert_cmpstr(back->reason.c_str(), ==, "recovered");
  gst_event_unref(e);

  e = make_event(Supervisor{"f"});
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY);
  g_assert_true(GST_EVENT_IS_STICKY(e));
  auto supervisor = parse<Supervisor>(e);
  g_assert_cmpstr(supervisor->name.c_str(), ==, "f");
  gst_event_unref(e);

  e = make_event(Reconnect{3});
  g_assert_cmpint(GST_EVENT_TYPE(e), ==, GST_EVENT_CUSTOM_DOWNSTREAM);
  g_assert_cmpuint(parse<Reconnect>(e)->attempt, ==, 3);
  gst_event_unref(e);
}

static void test_ack_roundtrip() {
  GstEvent *e = make_event(Ack{5 * GST_SECOND, "s", 9, true});
  auto back = parse<Ack>(e);
  g_assert_true(back->drained);
  g_assert_cmpuint(back->position, ==, 5 * GST_SECOND);
  g_assert_cmpuint(back->flush_id, ==, 9);
  gst_event_unref(e);
}

static void test_transcript_roundtrip_as_message() {
  TimedTranscript t;
  t.text = "For the United States of America.";
  t.start = 17 * GST_SECOND;
  t.duration = 1660 * GST_MSECOND;
  t.speech_final = true;
  t.channel = 1;
  t.confidence = 0.999;
  t.session_id = "abc";
  t.request_id = "req";
  t.branch = "stream";
  t.words.push_back({"for", "For", 17560 * GST_MSECOND, 17720 * GST_MSECOND, 0.987, 0, "", -1.0});
  t.words.push_back(
      {"america", "America.", 18200 * GST_MSECOND, 18660 * GST_MSECOND, 0.96, 1, "", -1.0});
  GstMessage *m = make_message(nullptr, t);
  g_assert_true(is<TimedTranscript>(m));
  auto back = parse<TimedTranscript>(m);
  g_assert_true(back.has_value());
  g_assert_cmpstr(back->text.c_str(), ==, t.text.c_str());
  g_assert_cmpuint(back->start, ==, t.start);
  g_assert_cmpuint(back->duration, ==, t.duration);
  g_assert_true(back->speech_final);
  g_assert_cmpint(back->channel, ==, 1);
  g_assert_cmpstr(back->branch.c_str(), ==, "stream");
  g_assert_cmpuint(back->words.size(), ==, 2);
  g_assert_cmpstr(back->words[1].punctuated_word.c_str(), ==, "America.");
  g_assert_cmpuint(back->words[1].end, ==, 18660 * GST_MSECOND);
  g_assert_cmpint(back->words[1].speaker, ==, 1);
  gst_message_unref(m);
}

static void test_bus_messages_roundtrip() {
  GstMessage *m = make_message(nullptr, Degraded{"handshake refused", 503, "open", GST_SECOND});
  auto d = parse<Degraded>(m);
  g_assert_cmpstr(d->reason.c_str(), ==, "handshake refused");
  g_assert_cmpint(d->code, ==, 503);
  g_assert_cmpstr(d->breaker_state.c_str(), ==, "open");
  gst_message_unref(m);

  m = make_message(nullptr, Recovered{3 * GST_SECOND, 2 * GST_SECOND, GST_SECOND, 0});
  auto r = parse<Recovered>(m);
  g_assert_cmpuint(r->degraded_duration, ==, 3 * GST_SECOND);
  g_assert_cmpuint(r->batch_audio, ==, 2 * GST_SECOND);
  g_assert_cmpuint(r->replayed, ==, GST_SECOND);
  gst_message_unref(m);

  m = make_message(nullptr, AudioDropped{10 * GST_SECOND, 250 * GST_MSECOND, "max-buffer", 1, ""});
  auto a = parse<AudioDropped>(m);
  g_assert_cmpuint(a->start, ==, 10 * GST_SECOND);
  g_assert_cmpuint(a->duration, ==, 250 * GST_MSECOND);
  g_assert_cmpstr(a->reason.c_str(), ==, "max-buffer");
  gst_message_unref(m);

  m = make_message(nullptr, UtteranceEndMessage{2 * GST_SECOND, 1, "s"});
  g_assert_cmpuint(parse<UtteranceEndMessage>(m)->last_word_end, ==, 2 * GST_SECOND);
  g_assert_cmpint(parse<UtteranceEndMessage>(m)->channel, ==, 1);
  gst_message_unref(m);
  m = make_message(nullptr, SpeechStartedMessage{GST_SECOND, 0, "s"});
  g_assert_cmpuint(parse<SpeechStartedMessage>(m)->timestamp, ==, GST_SECOND);
  gst_message_unref(m);

  m = make_message(nullptr, BreakerChange{"deepgram", "open", "closed", 4, 3, 30 * GST_SECOND, 2,
                                          40 * GST_SECOND});
  auto b = parse<BreakerChange>(m);
  g_assert_cmpuint(b->trip, ==, 2);
  g_assert_cmpuint(b->open_window, ==, 40 * GST_SECOND);
  g_assert_cmpstr(b->state.c_str(), ==, "open");
  g_assert_cmpstr(b->previous_state.c_str(), ==, "closed");
  g_assert_cmpuint(b->generation, ==, 4);
  g_assert_cmpuint(b->open_for, ==, 30 * GST_SECOND);
  gst_message_unref(m);
}

static void test_rejects_wrong_name_and_types() {
  GstStructure *s = gst_structure_new("stt/health", "healthy", G_TYPE_STRING, "yes", nullptr);
  g_assert_false(from_structure<Health>(s).has_value());
  gst_structure_free(s);
  s = gst_structure_new("stt/ack", "session-id", G_TYPE_STRING, "x", nullptr);
  g_assert_false(from_structure<Ack>(s).has_value()); /* position is required */
  gst_structure_free(s);
  s = gst_structure_new("stt/transcript", "text", G_TYPE_STRING, "hi", "start", G_TYPE_UINT64,
                        (guint64)0, "duration", G_TYPE_UINT64, (guint64)1, "words", G_TYPE_STRING,
                        "not an array", nullptr);
  g_assert_false(from_structure<TimedTranscript>(s).has_value());
  gst_structure_free(s);
  g_assert_false(from_structure<Flush>(nullptr).has_value());
  GstEvent *eos = gst_event_new_eos();
  g_assert_false(parse<Health>(eos).has_value());
  gst_event_unref(eos);
}

static void test_to_pipeline_time_offsets_every_time() {
  dgf::Transcript t;
  t.text = "hello";
  t.start = 1.5;
  t.duration = 0.5;
  t.words.push_back({"hello", "Hello", 1.6, 1.9, 0.9, -1, "", -1.0});
  TimedTranscript out = to_pipeline_time(t, 100 * GST_SECOND, "sid", "batch");
  g_assert_cmpuint(out.start, ==, 101500 * GST_MSECOND);
  g_assert_cmpuint(out.duration, ==, 500 * GST_MSECOND);
  g_assert_cmpuint(out.words[0].start, ==, 101600 * GST_MSECOND);
  g_assert_cmpuint(out.words[0].end, ==, 101900 * GST_MSECOND);
  g_assert_cmpstr(out.branch.c_str(), ==, "batch");
  g_assert_cmpuint(seconds_to_ns(-1.0), ==, 0);
  g_assert_cmpuint(seconds_to_ns(0.1), ==, 100000000);
}

/* Caption extras: language, from-finalize, utterance speaker, per-word
 * language and speaker-confidence survive Deepgram -> pipeline time -> bus. */
static void test_transcript_caption_fields() {
  dgf::Transcript t;
  t.text = "Hola, I";
  t.start = 2.0;
  t.duration = 1.0;
  t.from_finalize = true;
  t.language = "es";
  t.speaker = 3;
  t.words.push_back({"hola", "Hola,", 2.1, 2.4, 0.9, 3, "es", 0.75});
  t.words.push_back({"i", "I", 2.5, 2.6, 0.8, 3, "en", -1.0});
  TimedTranscript timed = to_pipeline_time(t, 10 * GST_SECOND, "sid", "batch");
  g_assert_true(timed.from_finalize);
  g_assert_cmpstr(timed.language.c_str(), ==, "es");
  g_assert_cmpint(timed.speaker, ==, 3);
  g_assert_cmpstr(timed.words[1].language.c_str(), ==, "en");
  g_assert_cmpfloat(timed.words[0].speaker_confidence, ==, 0.75);

  GstMessage *m = make_message(nullptr, timed);
  const GstStructure *s = gst_message_get_structure(m);
  gboolean from_finalize = FALSE;
  g_assert_true(gst_structure_get_boolean(s, "from-finalize", &from_finalize) && from_finalize);
  g_assert_cmpstr(gst_structure_get_string(s, "language"), ==, "es");
  const GValue *words = gst_structure_get_value(s, "words");
  const GstStructure *w0 = gst_value_get_structure(gst_value_array_get_value(words, 0));
  g_assert_cmpstr(gst_structure_get_string(w0, "language"), ==, "es");
  double sc = 0;
  g_assert_true(gst_structure_get_double(w0, "speaker-confidence", &sc));
  g_assert_cmpfloat(sc, ==, 0.75);
  auto back = parse<TimedTranscript>(m);
  g_assert_true(back.has_value());
  g_assert_true(back->from_finalize);
  g_assert_cmpstr(back->language.c_str(), ==, "es");
  g_assert_cmpint(back->speaker, ==, 3);
  g_assert_cmpstr(back->words[0].language.c_str(), ==, "es");
  g_assert_cmpfloat(back->words[0].speaker_confidence, ==, 0.75);
  g_assert_cmpfloat(back->words[1].speaker_confidence, ==, -1.0);
  gst_message_unref(m);

  /* A structure from a producer that predates these fields. */
  GstStructure *old =
      gst_structure_new("stt/transcript", "text", G_TYPE_STRING, "hi", "start", G_TYPE_UINT64,
                        (guint64)0, "duration", G_TYPE_UINT64, (guint64)1, nullptr);
  auto plain = from_structure<TimedTranscript>(old);
  g_assert_true(plain.has_value());
  g_assert_false(plain->from_finalize);
  g_assert_cmpstr(plain->language.c_str(), ==, "");
  g_assert_cmpint(plain->speaker, ==, -1);
  gst_structure_free(old);
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/stt-protocol/health", test_health_roundtrip_upstream_event);
  g_test_add_func("/stt-protocol/path-restored", test_path_restored_roundtrip_upstream_event);
  g_test_add_func("/stt-protocol/retry-now", test_retry_now_is_out_of_band_downstream);
  g_test_add_func("/stt-protocol/flush-reconnect", test_flush_is_serialized_downstream);
  g_test_add_func("/stt-protocol/ack", test_ack_roundtrip);
  g_test_add_func("/stt-protocol/transcript", test_transcript_roundtrip_as_message);
  g_test_add_func("/stt-protocol/transcript-caption-fields", test_transcript_caption_fields);
  g_test_add_func("/stt-protocol/bus-messages", test_bus_messages_roundtrip);
  g_test_add_func("/stt-protocol/rejects-bad", test_rejects_wrong_name_and_types);
  g_test_add_func("/stt-protocol/pipeline-time", test_to_pipeline_time_offsets_every_time);
  return g_test_run();
}
