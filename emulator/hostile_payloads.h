/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: payloads of a hostile server (the huge_frame, wrong_types,
 * batch_huge and batch_wrong_types faults; see docs/emulator.md).
 *
 * They are valid JSON (a client must not be able to tell them from Deepgram
 * by syntax alone): either padded to an absurd size, or with fields of the
 * wrong JSON type where a client expects numbers, strings and arrays.
 */
#pragma once

#include <glib.h>

#include <cstddef>
#include <string>

namespace dgemu {

/* `object` (a JSON object text ending in '}') with a "padding" string member
 * added so that the whole is exactly `bytes` long (or as short as possible,
 * when `bytes` is less). The result is g_malloc'ed: a GBytes takes it. */
GBytes *padded_json(const std::string &object, size_t bytes);

/* A live Results-shaped frame with wrong-typed fields; `index` picks one of
 * several variants (cycled). */
const char *wrong_typed_live_frame(unsigned index);

/* A pre-recorded response body, Deepgram's shape, with wrong-typed fields. */
const char *wrong_typed_batch_body();

} // namespace dgemu
