/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: Deepgram pre-recorded (REST) bodies.
 *
 * The same bytes go to parse_prerecorded_response (a 200 body) and to
 * parse_error_body (a non-2xx body), as a hostile or confused server may send
 * either shape with either status. Invariants: results are one final
 * Transcript per channel, numbered 0..n-1 with n <= kMaxChannels, covering
 * the metadata duration; utterances name an existing channel; times are in
 * range; strings are valid UTF-8; the notes are bounded (deepgram_checks.h);
 * an error has a code or a message, and a plain-text error message stays
 * bounded.
 */
#include "deepgram_checks.h"
#include "deepgram_json.h"
#include "fuzz_common.h"

using namespace dgf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  std::string_view body(reinterpret_cast<const char *>(data), size);

  auto r = parse_prerecorded_response(body);
  if (r.ok()) {
    FUZZ_CHECK(json_nesting_depth(body) <= kMaxJsonDepth);
    fuzz::check_response(*r);
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
