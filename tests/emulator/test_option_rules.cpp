/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator's reading of Deepgram's query rules (option_rules.h,
 * deepgram_models.h), without a server. */
#include <glib.h>

#include <string>
#include <utility>
#include <vector>

#include "deepgram_models.h"
#include "emu_test_client.h"
#include "option_rules.h"

namespace {

using dgemu::ListenApi;
using Params = std::vector<std::pair<std::string, std::string>>;

dgemu::QueryVerdict live(const Params &p, bool lenient = false) {
  return dgemu::check_listen_query(p, ListenApi::Live, lenient);
}
dgemu::QueryVerdict batch(const Params &p, bool lenient = false) {
  return dgemu::check_listen_query(p, ListenApi::Batch, lenient);
}

void assert_refused(const dgemu::QueryVerdict &v, const char *code, const char *msg_part) {
  g_assert_false(v.ok);
  g_assert_cmpstr(v.err_code.c_str(), ==, code);
  if (v.err_msg.find(msg_part) == std::string::npos)
    g_error("message \"%s\" lacks \"%s\"", v.err_msg.c_str(), msg_part);
}

/* What the plugin and the SDK conformance test send passes. */
void test_what_clients_send() {
  g_assert_true(live({{"model", "nova-3"},
                      {"encoding", "linear16"},
                      {"sample_rate", "16000"},
                      {"channels", "1"},
                      {"interim_results", "true"},
                      {"punctuate", "true"},
                      {"endpointing", "false"},
                      {"utterance_end_ms", "1000"},
                      {"vad_events", "true"},
                      {"keyterm", "New York"},
                      {"keyterm", "caf\xc3\xa9"},
                      {"language", "en-US"}})
                    .ok);
  g_assert_true(batch({{"model", "nova-3"}, {"punctuate", "true"}, {"utterances", "true"}}).ok);
  g_assert_true(live({{"endpointing", "25"}}).ok);
  g_assert_true(live({}).ok);
  g_assert_true(batch({{"utt_split", "0.8"}, {"multichannel", "false"}}).ok);
}

void test_models() {
  for (const char *m : {"nova-3", "nova-3-general", "nova-3-medical", "nova-2", "nova-2-meeting",
                        "nova-2-phonecall", "nova-2-automotive", "nova", "nova-phonecall",
                        "enhanced", "enhanced-finance", "base", "base-video", "phonecall"}) {
    g_assert_true(live({{"model", m}}).ok);
    g_assert_true(batch({{"model", m}}).ok);
  }
  for (const char *m : {"", "bogus-model", "general", "nova-4", "NOVA-3", "nova-2-<CUSTOM>"}) {
    assert_refused(live({{"model", m}}), "Bad Request", dgemu::kNoSuchModelMessage);
    assert_refused(batch({{"model", m}}), "Bad Request", dgemu::kNoSuchModelMessage);
  }
  /* Whisper Cloud: pre-recorded only. */
  g_assert_true(batch({{"model", "whisper-large"}}).ok);
  g_assert_true(batch({{"model", "whisper"}}).ok);
  assert_refused(live({{"model", "whisper-large"}}), "Bad Request", dgemu::kNoSuchModelMessage);
}

void test_languages() {
  g_assert_true(live({{"model", "nova-3"}, {"language", "en"}}).ok);
  g_assert_true(live({{"model", "nova-3"}, {"language", "en-gb"}}).ok); /* case-insensitive */
  g_assert_true(live({{"model", "nova-3-medical"}, {"language", "en-IE"}}).ok);
  /* Not a combination Deepgram has. */
  assert_refused(live({{"model", "nova-3"}, {"language", "xx-YY"}}), "Bad Request",
                 dgemu::kNoSuchModelMessage);
  assert_refused(live({{"model", "nova-2-meeting"}, {"language", "en-GB"}}), "Bad Request",
                 dgemu::kNoSuchModelMessage);
  assert_refused(batch({{"model", "nova-3-medical"}, {"language", "fr"}}), "Bad Request",
                 dgemu::kNoSuchModelMessage);
  assert_refused(batch({{"language", "xx-YY"}}), "Bad Request", dgemu::kNoSuchModelMessage);
  assert_refused(batch({{"language", ""}}), "Bad Request", dgemu::kNoSuchModelMessage);
  /* A real combination in a language the engines do not speak. */
  auto fr = live({{"model", "nova-3"}, {"language", "fr"}});
  assert_refused(fr, "Bad Request", "does not emulate language=fr");
  auto lenient = live({{"model", "nova-3"}, {"language", "fr"}}, true);
  g_assert_true(lenient.ok);
  EMU_ASSERT_STREQ(dgemu::join_ignored(lenient.ignored), "language=fr");
  assert_refused(batch({{"model", "nova-2"}, {"language", "multi"}}), "Bad Request",
                 "language=multi");
  g_assert_true(dgemu::is_english_tag("en"));
  g_assert_true(dgemu::is_english_tag("EN-us"));
  g_assert_false(dgemu::is_english_tag("es"));
  g_assert_false(dgemu::is_english_tag("eng"));
}

void test_keywords_and_keyterm() {
  assert_refused(live({{"model", "nova-3"}, {"keywords", "Deepgram:2"}}), "INVALID_QUERY_PARAMETER",
                 "Keywords are not supported for Nova-3. Please use `keyterm` instead.");
  assert_refused(batch({{"keywords", "a"}, {"model", "nova-3-medical"}}), "INVALID_QUERY_PARAMETER",
                 "Keywords are not supported for Nova-3");
  g_assert_true(live({{"model", "nova-2"}, {"keywords", "Deepgram:2"}}).ok);
  assert_refused(live({{"model", "nova-2"}, {"keyterm", "Deepgram"}}), "INVALID_QUERY_PARAMETER",
                 "only available with Nova-3");
  g_assert_true(live({{"model", "nova-3"}, {"keyterm", "Deepgram"}}).ok);
  /* Without a model Deepgram's default is not pinned down: not judged. */
  g_assert_true(live({{"keyterm", "Deepgram"}}).ok);
}

void test_value_types() {
  for (const char *bad : {"1", "0", "", "yes", "tru"}) {
    assert_refused(live({{"punctuate", bad}}), "Bad Request",
                   "Invalid value for query parameter 'punctuate'");
    assert_refused(batch({{"numerals", bad}}, true), "Bad Request",
                   "Invalid value for query parameter 'numerals'");
  }
  g_assert_true(live({{"punctuate", "TRUE"}, {"diarize", "False"}}).ok);
  assert_refused(live({{"sample_rate", "16k"}}), "Bad Request", "'sample_rate'");
  assert_refused(live({{"utterance_end_ms", "-5"}}), "Bad Request", "'utterance_end_ms'");
  assert_refused(live({{"endpointing", "soon"}}), "Bad Request", "'endpointing'");
  assert_refused(batch({{"utt_split", "x"}}), "Bad Request", "'utt_split'");
  /* The value shown goes into a header too: no control bytes. */
  auto v = live({{"vad_events", "a\r\nb"}});
  g_assert_false(v.ok);
  g_assert_true(v.err_msg.find('\r') == std::string::npos);
  g_assert_true(v.err_msg.find('\n') == std::string::npos);
}

void test_not_emulated() {
  const char *live_only[] = {"search",   "detect_entities",  "redact",       "replace",
                             "numerals", "profanity_filter", "filler_words", "dictation",
                             "no_delay", "diarize_model",    "tag",          "extra",
                             "callback"};
  for (const char *o : live_only) {
    std::string value =
        dgemu::find_option_rule(o, ListenApi::Live)->value == dgemu::OptionValue::Bool ? "true"
                                                                                       : "x";
    auto v = live({{o, value}});
    assert_refused(v, "Bad Request", (std::string("does not emulate ") + o).c_str());
    g_assert_true(v.err_msg.find("--lenient") != std::string::npos);
    auto l = live({{o, value}}, true);
    g_assert_true(l.ok);
    EMU_ASSERT_STREQ(dgemu::join_ignored(l.ignored), o);
  }
  for (const char *o : {"paragraphs", "topics", "intents", "sentiment", "detect_language",
                        "callback", "measurements"}) {
    assert_refused(batch({{o, "true"}}), "Bad Request", o);
    g_assert_true(batch({{o, "true"}}, true).ok);
  }
  assert_refused(batch({{"summarize", "v2"}}), "Bad Request", "summarize");
  /* Every one named, each once, in request order. */
  auto l = batch({{"tag", "a"}, {"redact", "pci"}, {"tag", "b"}, {"language", "de"}}, true);
  g_assert_true(l.ok);
  EMU_ASSERT_STREQ(dgemu::join_ignored(l.ignored), "tag,redact,language=de");
  /* version: latest is what the emulator serves. */
  g_assert_true(live({{"version", "latest"}}).ok);
  assert_refused(live({{"version", "2024-01-09.29447"}}), "Bad Request",
                 "version=2024-01-09.29447");
  /* Deepgram's refusals come before the lenient question. */
  assert_refused(live({{"model", "bogus"}, {"tag", "x"}}, true), "Bad Request",
                 dgemu::kNoSuchModelMessage);
}

void test_unknown_options_ignored() {
  auto v = live({{"foo", "bar"}, {"x_custom", ""}});
  g_assert_true(v.ok);
  g_assert_true(v.ignored.empty());
  /* An option of the other API only is not this API's: ignored too. */
  g_assert_true(live({{"paragraphs", "maybe"}}).ok);
  g_assert_true(batch({{"interim_results", "maybe"}}).ok);
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/option-rules/what-clients-send", test_what_clients_send);
  g_test_add_func("/option-rules/models", test_models);
  g_test_add_func("/option-rules/languages", test_languages);
  g_test_add_func("/option-rules/keywords-keyterm", test_keywords_and_keyterm);
  g_test_add_func("/option-rules/value-types", test_value_types);
  g_test_add_func("/option-rules/not-emulated", test_not_emulated);
  g_test_add_func("/option-rules/unknown-ignored", test_unknown_options_ignored);
  return g_test_run();
}
