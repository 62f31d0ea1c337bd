/* libFuzzer target: a Deepgram live WebSocket text frame -> dgf::LiveMessage.
 *
 * Invariants beyond "no crash": a parse either fails with a message or yields
 * values inside the documented limits (times finite and in [0, kMaxSeconds],
 * channel pairs 0 <= i < n <= kMaxChannels, words ordered), every string is
 * valid UTF-8 (transcripts leave as text/x-raw utf8), input over the size or
 * depth limit is refused, and parsing is deterministic. The nesting guard is
 * checked against json-glib itself: nothing it lets through may parse deeper
 * than kMaxJsonDepth (json-glib recurses per level; deep input would
 * overflow the stack at sizes a fuzzer never reaches, so bound the guard).
 */
#include "deepgram_json.h"
#include "fuzz_common.h"
#include "fuzz_json.h"

#include <cmath>

namespace {

using namespace dgf;

void check_time(double t) {
  FUZZ_CHECK(std::isfinite(t));
  FUZZ_CHECK(t >= 0.0 && t <= kMaxSeconds);
}

void check_channel(int index, int count) {
  FUZZ_CHECK(count >= 1 && count <= kMaxChannels);
  FUZZ_CHECK(index >= 0 && index < count);
}

void check_transcript(const Transcript &t) {
  check_time(t.start);
  check_time(t.duration);
  check_channel(t.channel, t.channel_count);
  FUZZ_CHECK(std::isfinite(t.confidence));
  FUZZ_CHECK(fuzz::valid_utf8(t.text));
  FUZZ_CHECK(fuzz::valid_utf8(t.request_id));
  for (const Word &w : t.words) {
    check_time(w.start);
    check_time(w.end);
    FUZZ_CHECK(w.start <= w.end);
    FUZZ_CHECK(std::isfinite(w.confidence));
    FUZZ_CHECK(w.speaker >= -1);
    FUZZ_CHECK(fuzz::valid_utf8(w.word));
    FUZZ_CHECK(fuzz::valid_utf8(w.punctuated_word));
    /* An absent punctuated_word falls back to word. */
    FUZZ_CHECK(!w.punctuated_word.empty() || w.word.empty());
  }
}

struct Checker {
  void operator()(const Transcript &t) const { check_transcript(t); }
  void operator()(const DeepgramMetadata &m) const {
    check_time(m.duration);
    FUZZ_CHECK(m.channels >= 0 && m.channels <= kMaxChannels);
    FUZZ_CHECK(fuzz::valid_utf8(m.request_id));
    FUZZ_CHECK(fuzz::valid_utf8(m.created));
    for (const std::string &model : m.models)
      FUZZ_CHECK(fuzz::valid_utf8(model));
  }
  void operator()(const UtteranceEnd &u) const {
    check_time(u.last_word_end);
    check_channel(u.channel, u.channel_count);
  }
  void operator()(const SpeechStarted &s) const {
    check_time(s.timestamp);
    check_channel(s.channel, s.channel_count);
  }
  void operator()(const DeepgramError &e) const {
    FUZZ_CHECK(!e.code.empty() || !e.message.empty());
    FUZZ_CHECK(fuzz::valid_utf8(e.code) && fuzz::valid_utf8(e.message));
    FUZZ_CHECK(fuzz::valid_utf8(e.details) && fuzz::valid_utf8(e.request_id));
  }
  void operator()(const UnknownMessage &u) const { FUZZ_CHECK(fuzz::valid_utf8(u.type)); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  std::string_view frame(reinterpret_cast<const char *>(data), size);
  auto r = parse_live_message(frame);
  /* The depth guard is an upper bound on what json-glib will recurse into:
   * anything it lets through, json-glib must not parse deeper. */
  if (size <= kMaxLiveFrameBytes && json_nesting_depth(frame) <= kMaxJsonDepth &&
      g_utf8_validate_len(frame.data(), frame.size(), nullptr))
    FUZZ_CHECK(fuzz::json_glib_depth(frame) <= kMaxJsonDepth);
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(size > 0 && size <= kMaxLiveFrameBytes);
  FUZZ_CHECK(g_utf8_validate_len(frame.data(), frame.size(), nullptr));
  FUZZ_CHECK(json_nesting_depth(frame) <= kMaxJsonDepth);
  std::visit(Checker{}, *r);

  /* Deterministic: the same bytes give the same kind of message. */
  auto again = parse_live_message(frame);
  FUZZ_CHECK(again.ok() && again->index() == r->index());
  return 0;
}
