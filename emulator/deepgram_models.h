/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dg-emulator: Deepgram's documented /v1/listen models and the languages each
 * one takes, so a request Deepgram would refuse is refused here too.
 *
 * Sources (see deepgram_models.cpp for the table itself):
 *   - https://developers.deepgram.com/docs/models-languages-overview (models,
 *     languages per model, Whisper Cloud being pre-recorded only);
 *   - Deepgram's changelog entries that added Nova-3 languages
 *     (https://developers.deepgram.com/changelog/2025/11/4,
 *     .../2025/11/24, .../2026/1/21, .../2026/3/17, .../2026/3/31);
 *   - the official JavaScript SDK, @deepgram/sdk 5.13.0,
 *     dist/cjs/api/types/ListenV1Model.d.ts (the model names, including the
 *     legacy bare "meeting", "phonecall", ... names).
 * Pure logic, no GLib or libsoup: unit-tested directly.
 */
#pragma once

#include <string>

namespace dgemu {

struct DeepgramModel {
  const char *name;
  /* Nova-3 family: keyterm instead of keywords. */
  bool nova3 = false;
  /* Whisper Cloud is pre-recorded only. */
  bool live = true;
  /* nullptr-terminated language tags; nullptr itself: any tag (Whisper, whose
   * list Deepgram keeps on another page, is not checked). */
  const char *const *languages = nullptr;
};

/* The model named exactly `name`, or nullptr when Deepgram documents none. */
const DeepgramModel *find_deepgram_model(const std::string &name);

/* Whether `model` takes `language` (exact tag, as Deepgram matches it). */
bool model_takes_language(const DeepgramModel &model, const std::string &language);

/* Whether any documented model takes `language` (requests without a model). */
bool any_model_takes_language(const std::string &language);

/* English tags (en, en-US, ...): the only language the engines recognise. */
bool is_english_tag(const std::string &language);

/* The text Deepgram answers an unknown model, or a model with a language it
 * does not take, with (400 "Bad Request"). Recorded by clients that met it,
 * e.g. "No such model/language/tier combination found." */
extern const char kNoSuchModelMessage[];

} // namespace dgemu
