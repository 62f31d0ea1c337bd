/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator faults for what Deepgram really sends: refusals with Deepgram's
 * error bodies (every shape, 400/401/402/403/404), odd_shapes (live
 * non-transcript messages in the shapes Deepgram's SDK tests use) and
 * extra_sections (pre-recorded sections nobody asked for). Each is checked on
 * the wire, and read back with the plugin's own parser (deepgram_json.h),
 * which must read all of it, noting what it tolerated. */
#include <glib.h>

#include <memory>
#include <string>
#include <vector>

#include "deepgram_json.h"
#include "emu_test_client.h"
#include "emulator.h"
#include "faults.h"
#include "sequence_audio.h"

using emutest::WsClient;

namespace {

const int kRate = 16000;
const emutest::Headers kAuth = {{"Authorization", "Token k"}};

std::unique_ptr<dgemu::Emulator> start_emu() {
  auto emu = std::make_unique<dgemu::Emulator>(dgemu::Options());
  std::string err;
  if (!emu->start(&err))
    g_error("emulator start: %s", err.c_str());
  return emu;
}

void inject(dgemu::Emulator &emu, const std::string &json) {
  std::string err;
  if (emu.inject_json(json, &err).empty())
    g_error("inject %s: %s", json.c_str(), err.c_str());
}

std::string live_url(dgemu::Emulator &emu, const std::string &extra = "") {
  return emu.ws_url() + "/v1/listen?encoding=linear16&sample_rate=16000" + extra;
}

/* Sequence audio: one word per 100 ms block. */
void send_blocks(WsClient &c, uint32_t first_block, uint32_t blocks) {
  auto audio = dgemu::sequence_blocks(kRate, 1, first_block, blocks);
  for (size_t pos = 0; pos < audio.size(); pos += 320)
    c.send_audio(audio.data() + pos, std::min<size_t>(320, audio.size() - pos));
}

emutest::HttpResult post_wav(dgemu::Emulator &emu, const std::string &query = "") {
  return emutest::http("POST", emu.http_url() + "/v1/listen" + query, kAuth,
                       emutest::make_wav(dgemu::sequence_blocks(kRate, 1, 0, 5), kRate, 1),
                       "audio/wav");
}

/* A handshake as a plain GET, to read the refusal's body and headers. */
emutest::HttpResult handshake(dgemu::Emulator &emu) {
  return emutest::http("GET", live_url(emu).replace(0, 2, "http"),
                       {{"Authorization", "Token k"},
                        {"Connection", "Upgrade"},
                        {"Upgrade", "websocket"},
                        {"Sec-WebSocket-Version", "13"},
                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
}

std::string joined(const dgf::Tolerated &notes) {
  std::string out;
  for (const std::string &n : notes)
    out += (out.empty() ? "" : " | ") + n;
  return out;
}

bool has_note(const dgf::Tolerated &notes, const std::string &note) {
  for (const std::string &n : notes)
    if (n == note)
      return true;
  return false;
}

struct Expected {
  int status;
  const char *code;
  const char *message;
  bool request_id;
};

/* Deepgram's answers (its API reference, and a 400 recorded by its JS SDK). */
const Expected kRefusals[] = {
    {400, "Bad Request", "Invalid query string.", true},
    {401, "INVALID_AUTH", "Invalid credentials.", true},
    {402, "ASR_PAYMENT_REQUIRED",
     "Project does not have enough credits for an ASR request and does not have an overage "
     "agreement.",
     true},
    {403, "INSUFFICIENT_PERMISSIONS", "Project does not have access to the requested model.", true},
    {404, "PROJECT_NOT_FOUND", "Project not found.", false},
};

void check_refusal(const emutest::HttpResult &r, const Expected &e) {
  g_assert_cmpint(r.status, ==, e.status);
  EMU_ASSERT_STREQ(r.header("dg-error"), e.message);
  g_assert_cmpuint(r.header("dg-request-id").size(), ==, 36);
  g_assert_nonnull(r.obj());
  EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_code"), e.code);
  EMU_ASSERT_STREQ(emutest::str(r.obj(), "err_msg"), e.message);
  g_assert_true(json_object_has_member(r.obj(), "request_id") == e.request_id);
  if (e.request_id)
    EMU_ASSERT_STREQ(emutest::str(r.obj(), "request_id"), r.header("dg-request-id"));
  auto parsed = dgf::parse_error_body(r.body);
  g_assert_true(parsed.ok());
  EMU_ASSERT_STREQ(parsed->code, e.code);
  EMU_ASSERT_STREQ(parsed->message, e.message);
}

void test_refusal_bodies() {
  auto emu = start_emu();
  for (const Expected &e : kRefusals) {
    std::string status = std::to_string(e.status);
    inject(*emu, "{\"type\":\"refuse\",\"count\":1,\"status\":" + status + "}");
    check_refusal(handshake(*emu), e);
    inject(*emu, "{\"type\":\"batch_error\",\"count\":1,\"status\":" + status + "}");
    check_refusal(post_wav(*emu), e);
  }
  /* A WebSocket client sees the status and dg-error (libsoup keeps no body). */
  inject(*emu, R"({"type":"refuse","count":1,"status":402})");
  WsClient c;
  g_assert_false(c.connect(live_url(*emu), kAuth));
  g_assert_cmpint(c.status(), ==, 402);
  EMU_ASSERT_STREQ(c.response_header("dg-error"), kRefusals[2].message);
  g_assert_cmpint(emu->counters().fired("refuse"), ==, 6);
  g_assert_cmpint(emu->counters().fired("batch_error"), ==, 5);
}

void test_refusal_body_shapes() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"refuse","count":1,"status":400,"body":"modern",
                   "err_code":"INVALID_QUERY_PARAMETER","err_msg":"Unknown model."})");
  auto modern = handshake(*emu);
  g_assert_cmpint(modern.status, ==, 400);
  EMU_ASSERT_STREQ(modern.header("dg-error"), "Unknown model.");
  EMU_ASSERT_STREQ(emutest::str(modern.obj(), "category"), "INVALID_QUERY_PARAMETER");
  EMU_ASSERT_STREQ(emutest::str(modern.obj(), "message"), "Unknown model.");
  EMU_ASSERT_STREQ(emutest::str(modern.obj(), "details"), "injected by dg-emulator");
  EMU_ASSERT_STREQ(emutest::str(modern.obj(), "request_id"), modern.header("dg-request-id"));
  g_assert_false(json_object_has_member(modern.obj(), "err_code"));
  auto m = dgf::parse_error_body(modern.body);
  EMU_ASSERT_STREQ(m->code, "INVALID_QUERY_PARAMETER");
  EMU_ASSERT_STREQ(m->details, "injected by dg-emulator");

  inject(*emu, R"({"type":"batch_error","count":1,"status":404,"body":"text"})");
  auto text = post_wav(*emu);
  g_assert_cmpint(text.status, ==, 404);
  EMU_ASSERT_STREQ(text.body, "Project not found.");
  g_assert_nonnull(strstr(text.header("content-type").c_str(), "text/plain"));
  g_assert_null(text.json);
  auto t = dgf::parse_error_body(text.body);
  EMU_ASSERT_STREQ(t->code, "");
  EMU_ASSERT_STREQ(t->message, "Project not found.");

  /* An outage answers in the shape it is given too. */
  inject(*emu, R"({"type":"outage","api":"batch","status":403,"body":"modern","duration":5})");
  auto outage = post_wav(*emu);
  g_assert_cmpint(outage.status, ==, 403);
  EMU_ASSERT_STREQ(emutest::str(outage.obj(), "category"), "INSUFFICIENT_PERMISSIONS");
  emu->advance_clock(5);
  g_assert_cmpint(post_wav(*emu).status, ==, 200);
}

/* Every frame of a connection through the plugin's parser: none refused. */
std::vector<dgf::LiveMessage> read_all(const WsClient &c) {
  std::vector<dgf::LiveMessage> out;
  for (const emutest::Frame &f : c.frames()) {
    auto r = dgf::parse_live_message(f.text);
    if (!r.ok())
      g_error("the plugin refused %s: %s", f.text.c_str(), r.error().message.c_str());
    out.push_back(std::move(r.value()));
  }
  return out;
}

void test_odd_shapes() {
  auto emu = start_emu();
  WsClient c;
  g_assert_true(c.connect(live_url(*emu), kAuth));
  inject(*emu, R"({"type":"odd_shapes"})");
  send_blocks(c, 0, 30);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  g_assert_cmpint(c.close_code(), ==, 1000);

  size_t started = 0, ended = 0, with_words = 0;
  for (const emutest::Frame &f : c.frames()) {
    g_assert_nonnull(f.node);
    std::string type = f.type();
    JsonObject *o = f.obj();
    if (type == "SpeechStarted" || type == "UtteranceEnd") {
      JsonArray *channel = json_object_get_array_member(o, "channel");
      g_assert_cmpuint(json_array_get_length(channel), ==, 1); /* [0] */
      g_assert_true(json_object_has_member(o, "x_dg_emulator"));
      (type == "SpeechStarted" ? started : ended)++;
    } else if (type == "Results") {
      /* Results stay as Deepgram documents them. */
      g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "channel_index")), ==,
                       2);
      g_assert_false(json_object_has_member(o, "x_dg_emulator"));
      if (!emutest::words_of(emutest::alternative(o)).empty())
        with_words++;
    }
  }
  /* Every final with words sits between a SpeechStarted and an UtteranceEnd. */
  g_assert_cmpuint(with_words, >=, 2);
  g_assert_cmpuint(started, ==, with_words);
  g_assert_cmpuint(ended, ==, with_words);
  JsonObject *meta = c.frames().back().obj();
  EMU_ASSERT_STREQ(c.frames().back().type(), "Metadata");
  for (const char *missing : {"sha256", "created", "duration", "channels", "transaction_key"})
    g_assert_false(json_object_has_member(meta, missing));
  g_assert_false(emutest::str(meta, "request_id").empty());
  g_assert_cmpint(emu->counters().fired("odd_shapes"), ==, started + ended + 1);

  /* The plugin reads every frame; only the odd ones carry notes. */
  std::vector<dgf::LiveMessage> messages = read_all(c);
  std::vector<std::string> words;
  for (const dgf::LiveMessage &m : messages) {
    const dgf::Tolerated &notes = dgf::tolerated_notes(m);
    g_test_message("%s", joined(notes).c_str());
    if (auto *t = std::get_if<dgf::Transcript>(&m)) {
      g_assert_true(notes.empty());
      for (const dgf::Word &w : t->words)
        words.push_back(w.word);
    } else if (auto *s = std::get_if<dgf::SpeechStarted>(&m)) {
      g_assert_cmpint(s->channel, ==, 0);
      g_assert_true(has_note(notes, "SpeechStarted: channel is an array of 1"));
    } else if (auto *u = std::get_if<dgf::UtteranceEnd>(&m)) {
      g_assert_cmpfloat(u->last_word_end, >, 0.0);
      g_assert_true(has_note(notes, "UtteranceEnd: channel is an array of 1"));
    } else if (auto *md = std::get_if<dgf::DeepgramMetadata>(&m)) {
      g_assert_false(md->request_id.empty());
      g_assert_true(has_note(notes, "Metadata: duration missing, taken as 0"));
    }
  }
  /* Nothing lost to the odd messages: every block's word, in order. */
  g_assert_cmpuint(words.size(), ==, 30);
  for (size_t i = 0; i < words.size(); i++) {
    char name[16];
    snprintf(name, sizeof name, "b%06u", static_cast<unsigned>(i));
    EMU_ASSERT_STREQ(words[i], name);
  }
}

/* With vad_events and utterance_end_ms the emulator's own SpeechStarted and
 * UtteranceEnd take the odd shapes too; frames:1 accompanies one final only. */
void test_odd_shapes_own_events() {
  auto emu = start_emu();
  inject(*emu, R"({"type":"odd_shapes","target":"new","count":1,"frames":1})");
  WsClient c;
  g_assert_true(c.connect(
      live_url(*emu, "&vad_events=true&interim_results=true&utterance_end_ms=1000"), kAuth));
  send_blocks(c, 0, 30);
  c.send_text(R"({"type":"CloseStream"})");
  g_assert_true(c.wait_closed());
  size_t odd = 0;
  for (const emutest::Frame &f : c.frames())
    if (f.obj() && json_object_has_member(f.obj(), "x_dg_emulator"))
      odd++;
  /* Around the first final only; the Metadata at the close is whole again. */
  g_assert_cmpuint(odd, >=, 2);
  JsonObject *meta = c.frames().back().obj();
  g_assert_true(json_object_has_member(meta, "sha256"));
  read_all(c);

  /* The next connection is not affected (count 1). */
  WsClient d;
  g_assert_true(d.connect(live_url(*emu, "&vad_events=true"), kAuth));
  send_blocks(d, 0, 20);
  d.send_text(R"({"type":"CloseStream"})");
  g_assert_true(d.wait_closed());
  for (const emutest::Frame &f : d.frames())
    g_assert_false(json_object_has_member(f.obj(), "x_dg_emulator"));
  for (const dgf::LiveMessage &m : read_all(d))
    g_assert_true(dgf::tolerated_notes(m).empty());
}

void test_extra_sections() {
  auto emu = start_emu();
  auto normal = post_wav(*emu, "?punctuate=true");
  g_assert_cmpint(normal.status, ==, 200);
  inject(*emu, R"({"type":"extra_sections","count":1})");
  auto extra = post_wav(*emu, "?punctuate=true");
  g_assert_cmpint(extra.status, ==, 200);
  g_assert_cmpint(emu->counters().fired("extra_sections"), ==, 1);

  JsonObject *results = json_object_get_object_member(extra.obj(), "results");
  g_assert_true(json_object_has_member(results, "utterances")); /* utterances=false */
  g_assert_true(json_object_has_member(results, "summary"));
  for (const char *section : {"topics", "intents", "sentiments"})
    g_assert_true(json_object_has_member(results, section));
  JsonObject *alt = json_array_get_object_element(
      json_object_get_array_member(
          json_array_get_object_element(json_object_get_array_member(results, "channels"), 0),
          "alternatives"),
      0);
  g_assert_true(json_object_has_member(alt, "paragraphs"));
  /* Deepgram sends an array of entities: this one is an object. */
  g_assert_true(JSON_NODE_HOLDS_OBJECT(json_object_get_member(alt, "entities")));
  g_assert_true(json_object_has_member(json_object_get_object_member(extra.obj(), "metadata"),
                                       "summary_info"));

  /* The plugin reads the same transcript out of both. */
  auto a = dgf::parse_prerecorded_response(normal.body);
  auto b = dgf::parse_prerecorded_response(extra.body);
  g_assert_true(a.ok() && b.ok());
  g_test_message("%s", joined(b->tolerated).c_str());
  g_assert_true(b->tolerated.empty()); /* unread sections make no note */
  g_assert_cmpuint(a->channels.size(), ==, 1);
  EMU_ASSERT_STREQ(b->channels[0].text, a->channels[0].text);
  g_assert_cmpuint(b->channels[0].words.size(), ==, 5);
  g_assert_true(a->utterances.empty());
  g_assert_false(b->utterances.empty());

  /* count 1: the next response is as asked. */
  auto after = post_wav(*emu);
  g_assert_false(
      json_object_has_member(json_object_get_object_member(after.obj(), "results"), "utterances"));
}

void test_fault_format() {
  std::vector<dgemu::Fault> f;
  std::string err;
  g_assert_true(dgemu::parse_faults_json(R"([
    {"type":"refuse","status":404,"body":"text"},
    {"type":"batch_error","status":400,"body":"modern","count":2},
    {"type":"outage","body":"legacy","duration":1},
    {"type":"odd_shapes","target":"all","frames":3,"after_s":1},
    {"type":"extra_sections","count":2}
  ])",
                                         &f, &err));
  g_assert_cmpuint(f.size(), ==, 5);
  g_assert_true(f[0].body == dgemu::ErrorBody::Text);
  g_assert_true(f[1].body == dgemu::ErrorBody::Modern);
  g_assert_true(f[2].body == dgemu::ErrorBody::Legacy);
  g_assert_true(f[3].type == dgemu::FaultType::OddShapes && f[3].is_conn_fault());
  g_assert_cmpint(f[3].effect.frames, ==, 3);
  g_assert_true(f[4].type == dgemu::FaultType::ExtraSections && !f[4].is_conn_fault());
  std::vector<dgemu::Fault> d;
  g_assert_true(dgemu::parse_faults_json(R"({"type":"odd_shapes"})", &d, &err));
  g_assert_cmpint(d[0].effect.frames, ==, -1); /* every final */

  std::vector<dgemu::Fault> bad;
  g_assert_false(dgemu::parse_faults_json(R"({"type":"refuse","body":"xml"})", &bad, &err));
  g_assert_nonnull(strstr(err.c_str(), "'body' must be"));
  g_assert_false(dgemu::parse_faults_json(R"({"type":"odd_shapes","status":400})", &bad, &err));
  g_assert_nonnull(strstr(err.c_str(), "unknown field 'status'"));
  g_assert_false(dgemu::parse_faults_json(R"({"type":"extra_sections","frames":1})", &bad, &err));
  g_assert_false(dgemu::parse_faults_json(R"({"type":"close","body":"text"})", &bad, &err));

  EMU_ASSERT_STREQ(dgemu::err_code_for_status(404), "PROJECT_NOT_FOUND");
  EMU_ASSERT_STREQ(dgemu::err_msg_for_status(403),
                   "Project does not have access to the requested model.");
  EMU_ASSERT_STREQ(dgemu::error_body_name(dgemu::ErrorBody::Modern), "modern");
}

} // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server/tolerance/refusal-bodies", test_refusal_bodies);
  g_test_add_func("/server/tolerance/refusal-body-shapes", test_refusal_body_shapes);
  g_test_add_func("/server/tolerance/odd-shapes", test_odd_shapes);
  g_test_add_func("/server/tolerance/odd-shapes-own-events", test_odd_shapes_own_events);
  g_test_add_func("/server/tolerance/extra-sections", test_extra_sections);
  g_test_add_func("/server/tolerance/fault-format", test_fault_format);
  return g_test_run();
}
