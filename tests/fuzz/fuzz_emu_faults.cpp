/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: dg-emulator's fault timeline parser
 * (dgemu::parse_faults_json, as --faults files and POST /_emulator/faults
 * bodies reach it), then the parsed faults driven through a FaultController
 * on a fake clock.
 *
 * Invariants: a parse fails with a message and appends nothing, or every
 * fault is within the documented ranges (at >= 0, duration > 0 or unset,
 * count >= 1 or unlimited, status 400..599, close codes sendable, reasons fit
 * a close frame, delays 1..3600000 ms, ...); fault_to_json() renders each as
 * a JSON object; the controller hands out only those statuses and codes and
 * never uses a counted fault more often than its count.
 */
#include "faults.h"
#include "fuzz_common.h"
#include "fuzz_json.h"
#include "json_out.h"

#include <cmath>

namespace {

void check_fault(const dgemu::Fault &f) {
  using dgemu::FaultType;
  FUZZ_CHECK(std::isfinite(f.at) && f.at >= 0);
  FUZZ_CHECK(f.duration == -1 || (std::isfinite(f.duration) && f.duration > 0));
  FUZZ_CHECK(f.count == -1 || f.count >= 1);
  FUZZ_CHECK(f.status >= 400 && f.status <= 599);
  FUZZ_CHECK(f.retry_after == -1 || (std::isfinite(f.retry_after) && f.retry_after >= 0));
  if (f.type == FaultType::Delay || f.type == FaultType::BatchDelay)
    FUZZ_CHECK(f.delay_ms >= 1 && f.delay_ms <= 3600000);
  else
    FUZZ_CHECK(f.delay_ms == 0);
  const dgemu::ConnEffect &e = f.effect;
  FUZZ_CHECK(e.type == f.type);
  FUZZ_CHECK(e.after_s == -1 || (std::isfinite(e.after_s) && e.after_s >= 0));
  FUZZ_CHECK(e.after_bytes >= -1);
  FUZZ_CHECK(e.after_audio_ms >= -1 && e.after_audio_ms <= 86400000);
  FUZZ_CHECK(e.code >= 1000 && e.code <= 4999);
  FUZZ_CHECK(e.code != 1004 && e.code != 1005 && e.code != 1006 && e.code != 1015);
  FUZZ_CHECK(dgemu::close_reason_text(e.reason).size() <= 123);
  FUZZ_CHECK(e.frames == -1 || e.frames >= 1);
  FUZZ_CHECK(!f.started && f.used == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<dgemu::Fault> faults;
  std::string error;
  /* The nesting guard bounds what json-glib recurses into. */
  if (!dgemu::json_too_deep(text.data(), text.size()))
    FUZZ_CHECK(fuzz::json_glib_depth(text) <= dgemu::kMaxJsonNesting);
  if (!dgemu::parse_faults_json(text, &faults, &error)) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(faults.empty());
    return 0;
  }
  FUZZ_CHECK(!faults.empty() || text.find('[') != std::string::npos);
  for (const dgemu::Fault &f : faults) {
    check_fault(f);
    JsonBuilder *b = json_builder_new();
    dgemu::fault_to_json(b, f);
    JsonNode *root = json_builder_get_root(b);
    FUZZ_CHECK(root && JSON_NODE_HOLDS_OBJECT(root));
    json_node_unref(root);
    g_object_unref(b);
  }

  /* Drive them on a fake clock: a minute in steps. */
  double now = 0;
  dgemu::FaultController controller([&now] { return now; });
  std::vector<int> ids = controller.add(faults, false);
  FUZZ_CHECK(ids.size() == faults.size());
  for (int step = 0; step < 8; step++) {
    controller.poll();
    std::vector<dgemu::ConnEffect> effects;
    auto refusal = controller.check_live_handshake(&effects);
    FUZZ_CHECK(refusal.status == 0 || (refusal.status >= 400 && refusal.status <= 599));
    for (const dgemu::ConnEffect &e : effects)
      FUZZ_CHECK(e.code >= 1000 && e.code <= 4999);
    auto batch = controller.check_batch_request();
    FUZZ_CHECK(batch.error.status == 0 || (batch.error.status >= 400 && batch.error.status <= 599));
    FUZZ_CHECK(batch.delay_ms >= 0 && batch.delay_ms <= 3600000);
    for (const dgemu::Fault &f : controller.snapshot())
      FUZZ_CHECK(f.count < 0 || f.used <= f.count);
    controller.advance(step * 2.5);
    now += 1.0;
  }
  return 0;
}
