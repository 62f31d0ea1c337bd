/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "deepgram_models.h"

#include <cstring>
#include <strings.h>

namespace dgemu {

const char kNoSuchModelMessage[] = "No such model/language/tier combination found.";

namespace {

/* Languages as listed on https://developers.deepgram.com/docs/models-languages-overview
 * (nova-3 row), plus the Nova-3 languages Deepgram's changelog added since:
 * 2025-11-04 (bg..vi), 2025-11-24 (ca..sk), 2026-01-21 (be..te),
 * 2026-03-17 (zh-HK, th), 2026-03-31 (zh, zh-TW and their aliases). */
const char *const kNova3[] = {
    "multi", "en",    "en-US", "en-AU",   "en-GB",  "en-IN",   "en-NZ", "de", "nl",    "sv",
    "sv-SE", "da",    "da-DK", "es",      "es-419", "fr",      "fr-CA", "pt", "pt-BR", "pt-PT",
    "it",    "tr",    "no",    "id",      "bg",     "cs",      "fi",    "hi", "hu",    "ja",
    "ko",    "ko-KR", "pl",    "ru",      "uk",     "vi",      "ca",    "et", "nl-BE", "de-CH",
    "el",    "lv",    "lt",    "ms",      "ro",     "sk",      "be",    "bn", "bs",    "hr",
    "kn",    "mk",    "mr",    "sr",      "sl",     "ta",      "tl",    "te", "zh-HK", "th",
    "th-TH", "zh",    "zh-CN", "zh-Hans", "zh-TW",  "zh-Hant", nullptr};

const char *const kNova3Medical[] = {"en",    "en-US", "en-AU", "en-CA", "en-GB",
                                     "en-IE", "en-IN", "en-NZ", nullptr};

const char *const kNova2[] = {
    "multi", "bg",    "ca", "zh",    "zh-CN", "zh-Hans", "zh-TW",  "zh-Hant", "zh-HK", "cs",
    "da",    "da-DK", "nl", "en",    "en-US", "en-AU",   "en-GB",  "en-NZ",   "en-IN", "et",
    "fi",    "nl-BE", "fr", "fr-CA", "de",    "de-CH",   "el",     "hi",      "hu",    "id",
    "it",    "ja",    "ko", "ko-KR", "lv",    "lt",      "ms",     "no",      "pl",    "pt",
    "pt-BR", "pt-PT", "ro", "ru",    "sk",    "es",      "es-419", "sv",      "sv-SE", "th",
    "th-TH", "tr",    "uk", "vi",    nullptr};

const char *const kEnglishUs[] = {"en", "en-US", nullptr};

const char *const kNova[] = {"en",    "en-US", "en-AU",  "en-GB",   "en-NZ",
                             "en-IN", "es",    "es-419", "hi-Latn", nullptr};

const char *const kEnhanced[] = {"da",     "nl",       "en", "en-US", "fr", "de",    "hi",    "it",
                                 "ja",     "ko",       "no", "pl",    "pt", "pt-BR", "pt-PT", "es",
                                 "es-419", "es-LATAM", "sv", "taq",   "ta", nullptr};

const char *const kBase[] = {
    "zh",    "zh-CN",   "zh-TW", "da",     "nl",       "en", "en-US", "fr", "fr-CA", "de",
    "hi",    "hi-Latn", "id",    "it",     "ja",       "ko", "no",    "pl", "pt",    "pt-BR",
    "pt-PT", "ru",      "es",    "es-419", "es-LATAM", "sv", "taq",   "tr", "uk",    nullptr};

const DeepgramModel kModels[] = {
    {"nova-3", true, true, kNova3},
    {"nova-3-general", true, true, kNova3},
    {"nova-3-medical", true, true, kNova3Medical},
    {"nova-2", false, true, kNova2},
    {"nova-2-general", false, true, kNova2},
    {"nova-2-meeting", false, true, kEnglishUs},
    {"nova-2-phonecall", false, true, kEnglishUs},
    {"nova-2-finance", false, true, kEnglishUs},
    {"nova-2-conversationalai", false, true, kEnglishUs},
    {"nova-2-voicemail", false, true, kEnglishUs},
    {"nova-2-video", false, true, kEnglishUs},
    {"nova-2-medical", false, true, kEnglishUs},
    {"nova-2-drivethru", false, true, kEnglishUs},
    {"nova-2-automotive", false, true, kEnglishUs},
    {"nova-2-atc", false, true, kEnglishUs},
    {"nova", false, true, kNova},
    {"nova-general", false, true, kNova},
    {"nova-phonecall", false, true, kEnglishUs},
    {"nova-medical", false, true, kEnglishUs},
    {"enhanced", false, true, kEnhanced},
    {"enhanced-general", false, true, kEnhanced},
    {"enhanced-meeting", false, true, kEnglishUs},
    {"enhanced-phonecall", false, true, kEnglishUs},
    {"enhanced-finance", false, true, kEnglishUs},
    {"base", false, true, kBase},
    {"base-general", false, true, kBase},
    {"base-meeting", false, true, kEnglishUs},
    {"base-phonecall", false, true, kEnglishUs},
    {"base-finance", false, true, kEnglishUs},
    {"base-conversationalai", false, true, kEnglishUs},
    {"base-voicemail", false, true, kEnglishUs},
    {"base-video", false, true, kEnglishUs},
    /* The SDK's legacy names without a tier: the base models. */
    {"meeting", false, true, kEnglishUs},
    {"phonecall", false, true, kEnglishUs},
    {"finance", false, true, kEnglishUs},
    {"conversationalai", false, true, kEnglishUs},
    {"voicemail", false, true, kEnglishUs},
    {"video", false, true, kEnglishUs},
    /* "Live streaming is not available with Deepgram Whisper Cloud"
     * (https://developers.deepgram.com/docs/deepgram-whisper-cloud). */
    {"whisper", false, false, nullptr},
    {"whisper-tiny", false, false, nullptr},
    {"whisper-base", false, false, nullptr},
    {"whisper-small", false, false, nullptr},
    {"whisper-medium", false, false, nullptr},
    {"whisper-large", false, false, nullptr},
};

} // namespace

const DeepgramModel *find_deepgram_model(const std::string &name) {
  for (const DeepgramModel &m : kModels)
    if (name == m.name)
      return &m;
  return nullptr;
}

/* BCP-47 tags compare without regard to case (RFC 5646 2.1.1). */
bool model_takes_language(const DeepgramModel &model, const std::string &language) {
  if (!model.languages)
    return !language.empty();
  for (const char *const *l = model.languages; *l; l++)
    if (strcasecmp(*l, language.c_str()) == 0)
      return true;
  return false;
}

bool any_model_takes_language(const std::string &language) {
  for (const DeepgramModel &m : kModels)
    if (m.languages && model_takes_language(m, language))
      return true;
  return false;
}

bool is_english_tag(const std::string &language) {
  return strcasecmp(language.c_str(), "en") == 0 ||
         (language.size() > 3 && strncasecmp(language.c_str(), "en-", 3) == 0);
}

} // namespace dgemu
