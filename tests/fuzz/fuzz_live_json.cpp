/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a Deepgram live WebSocket text frame -> dgf::LiveMessage.
 *
 * Invariants beyond "no crash": a parse either fails with a message or yields
 * values inside the documented limits (deepgram_checks.h: times, channel
 * pairs, words, UTF-8, the tolerated notes), input over the size or depth
 * limit is refused, and parsing is deterministic. The nesting guard is
 * checked against json-glib itself: nothing it lets through may parse deeper
 * than kMaxJsonDepth (json-glib recurses per level; deep input would
 * overflow the stack at sizes a fuzzer never reaches, so bound the guard).
 */
#include "deepgram_checks.h"
#include "deepgram_json.h"
#include "fuzz_common.h"
#include "fuzz_json.h"

using namespace dgf;

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
  fuzz::check_live(*r);

  /* Deterministic: the same bytes give the same kind of message. */
  auto again = parse_live_message(frame);
  FUZZ_CHECK(again.ok() && again->index() == r->index());
  return 0;
}
