/* libFuzzer target: Deepgram pre-recorded (REST) bodies.
 *
 * The same bytes go to parse_prerecorded_response (a 200 body) and to
 * parse_error_body (a non-2xx body), as a hostile or confused server may send
 * either shape with either status. Invariants: results are one final
 * Transcript per channel, numbered 0..n-1 with n <= kMaxChannels, covering
 * the metadata duration; utterances name an existing channel; times are in
 * range; strings are valid UTF-8; an error has a code or a message, and a
 * plain-text error message stays bounded.
 */
#include "deepgram_json.h"
#include "fuzz_common.h"

#include <cmath>

namespace {

using namespace dgf;

void check_time(double t) {
  FUZZ_CHECK(std::isfinite(t));
  FUZZ_CHECK(t >= 0.0 && t <= kMaxSeconds);
}

void check_words(const std::vector<Word> &words) {
  for (const Word &w : words) {
    check_time(w.start);
    check_time(w.end);
    FUZZ_CHECK(w.start <= w.end);
    FUZZ_CHECK(fuzz::valid_utf8(w.word) && fuzz::valid_utf8(w.punctuated_word));
  }
}

void check_response(const PrerecordedResponse &r) {
  check_time(r.metadata.duration);
  FUZZ_CHECK(r.metadata.channels >= 0 && r.metadata.channels <= kMaxChannels);
  FUZZ_CHECK(r.channels.size() <= static_cast<size_t>(kMaxChannels));
  for (size_t i = 0; i < r.channels.size(); i++) {
    const Transcript &t = r.channels[i];
    FUZZ_CHECK(t.channel == static_cast<int>(i));
    FUZZ_CHECK(t.channel_count == static_cast<int>(r.channels.size()));
    FUZZ_CHECK(t.is_final && t.speech_final);
    FUZZ_CHECK(t.start == 0.0 && t.duration == r.metadata.duration);
    FUZZ_CHECK(t.request_id == r.metadata.request_id);
    FUZZ_CHECK(fuzz::valid_utf8(t.text));
    check_words(t.words);
  }
  for (const Utterance &u : r.utterances) {
    const Transcript &t = u.transcript;
    check_time(t.start);
    check_time(t.duration);
    FUZZ_CHECK(t.channel >= 0 && t.channel < t.channel_count);
    FUZZ_CHECK(t.channel_count == static_cast<int>(r.channels.size()));
    FUZZ_CHECK(u.speaker >= -1);
    FUZZ_CHECK(fuzz::valid_utf8(t.text) && fuzz::valid_utf8(u.id));
    check_words(t.words);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  std::string_view body(reinterpret_cast<const char *>(data), size);

  auto r = parse_prerecorded_response(body);
  if (r.ok()) {
    FUZZ_CHECK(json_nesting_depth(body) <= kMaxJsonDepth);
    check_response(*r);
  } else {
    FUZZ_CHECK(!r.error().message.empty());
  }

  auto e = parse_error_body(body);
  if (e.ok()) {
    FUZZ_CHECK(!e->code.empty() || !e->message.empty());
    FUZZ_CHECK(fuzz::valid_utf8(e->code) && fuzz::valid_utf8(e->message));
    FUZZ_CHECK(fuzz::valid_utf8(e->details) && fuzz::valid_utf8(e->request_id));
    /* Messages are C strings from here on (GError, bus messages). */
    FUZZ_CHECK(e->message.find('\0') == std::string::npos);
    /* Plain text is cut at 1 KiB; repair may turn each bad byte into U+FFFD. */
    char first = 0;
    for (char c : body)
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        first = c;
        break;
      }
    if (first != '{' && first != '"' && first != '[')
      FUZZ_CHECK(e->message.size() <= 3 * 1024);
  } else {
    FUZZ_CHECK(!e.error().message.empty());
  }
  return 0;
}
