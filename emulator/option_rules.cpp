/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "option_rules.h"

#include "deepgram_models.h"

#include <algorithm>
#include <cstdlib>
#include <strings.h>

namespace dgemu {

namespace {

using V = OptionValue;
using S = OptionSupport;

const std::vector<OptionRule> kRules = {
    /* name, live, batch, value, support */
    {"model", true, true, V::Text, S::Emulated},
    {"language", true, true, V::Text, S::Emulated},
    {"encoding", true, true, V::Text, S::Emulated},
    {"sample_rate", true, true, V::Integer, S::Emulated},
    {"channels", true, true, V::Integer, S::Emulated},
    {"multichannel", true, true, V::Bool, S::Emulated},
    {"punctuate", true, true, V::Bool, S::Emulated},
    {"smart_format", true, true, V::Bool, S::Emulated},
    {"diarize", true, true, V::Bool, S::Emulated},
    {"interim_results", true, false, V::Bool, S::Emulated},
    {"endpointing", true, false, V::Endpointing, S::Emulated},
    {"utterance_end_ms", true, false, V::Integer, S::Emulated},
    {"vad_events", true, false, V::Bool, S::Emulated},
    {"utterances", false, true, V::Bool, S::Emulated},
    {"utt_split", false, true, V::Number, S::Emulated},
    /* They bias recognition only; nothing on the wire shows them. */
    {"keyterm", true, true, V::Text, S::NoEffect},
    {"keywords", true, true, V::Text, S::NoEffect},
    {"mip_opt_out", true, true, V::Bool, S::NoEffect},
    /* "latest" only (see check_listen_query). */
    {"version", true, true, V::Text, S::NoEffect},
    {"callback", true, true, V::Text, S::NotEmulated},
    {"callback_method", true, true, V::Text, S::NotEmulated},
    {"detect_entities", true, true, V::Bool, S::NotEmulated},
    {"diarize_model", true, true, V::Text, S::NotEmulated},
    {"dictation", true, true, V::Bool, S::NotEmulated},
    {"extra", true, true, V::Text, S::NotEmulated},
    {"filler_words", true, true, V::Bool, S::NotEmulated},
    {"numerals", true, true, V::Bool, S::NotEmulated},
    {"profanity_filter", true, true, V::Bool, S::NotEmulated},
    {"redact", true, true, V::Text, S::NotEmulated},
    {"replace", true, true, V::Text, S::NotEmulated},
    {"search", true, true, V::Text, S::NotEmulated},
    {"tag", true, true, V::Text, S::NotEmulated},
    /* Deprecated, still documented (https://developers.deepgram.com/docs/tier). */
    {"tier", true, true, V::Text, S::NotEmulated},
    {"no_delay", true, false, V::Bool, S::NotEmulated},
    {"measurements", false, true, V::Bool, S::NotEmulated},
    {"paragraphs", false, true, V::Bool, S::NotEmulated},
    {"summarize", false, true, V::Text, S::NotEmulated},
    {"topics", false, true, V::Bool, S::NotEmulated},
    {"custom_topic", false, true, V::Text, S::NotEmulated},
    {"custom_topic_mode", false, true, V::Text, S::NotEmulated},
    {"intents", false, true, V::Bool, S::NotEmulated},
    {"custom_intent", false, true, V::Text, S::NotEmulated},
    {"custom_intent_mode", false, true, V::Text, S::NotEmulated},
    {"sentiment", false, true, V::Bool, S::NotEmulated},
    /* true/false or a list of languages. */
    {"detect_language", false, true, V::Text, S::NotEmulated},
};

bool is_bool(const std::string &v) {
  return strcasecmp(v.c_str(), "true") == 0 || strcasecmp(v.c_str(), "false") == 0;
}

bool is_integer(const std::string &v) {
  return !v.empty() && v.size() <= 9 &&
         std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_number(const std::string &v) {
  if (v.empty())
    return false;
  char *end = nullptr;
  std::strtod(v.c_str(), &end);
  return *end == '\0';
}

bool value_ok(OptionValue kind, const std::string &v) {
  switch (kind) {
  case V::Bool:
    return is_bool(v);
  case V::Integer:
    return is_integer(v);
  case V::Number:
    return is_number(v);
  case V::Endpointing:
    return is_bool(v) || is_integer(v);
  case V::Text:
    return true;
  }
  return false;
}

QueryVerdict refuse(const char *code, std::string message) {
  QueryVerdict v;
  v.ok = false;
  v.err_code = code;
  v.err_msg = std::move(message);
  return v;
}

/* A value as it may appear in a message that also goes into the dg-error
 * header: control and non-ASCII bytes become '?'. */
std::string printable(const std::string &v) {
  std::string out = v.substr(0, 64);
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      c = '?';
  return out;
}

void add_once(std::vector<std::string> *list, const std::string &item) {
  if (std::find(list->begin(), list->end(), item) == list->end())
    list->push_back(item);
}

} // namespace

const std::vector<OptionRule> &option_rules() {
  return kRules;
}

const OptionRule *find_option_rule(const std::string &name, ListenApi api) {
  for (const OptionRule &r : kRules)
    if (name == r.name && (api == ListenApi::Live ? r.live : r.batch))
      return &r;
  return nullptr;
}

QueryVerdict check_listen_query(const std::vector<std::pair<std::string, std::string>> &params,
                                ListenApi api, bool lenient) {
  const std::string *model = nullptr;
  const std::string *language = nullptr;
  bool keywords = false, keyterm = false;
  std::vector<std::string> not_emulated;
  for (const auto &[key, value] : params) {
    const OptionRule *rule = find_option_rule(key, api);
    if (!rule)
      continue; /* not Deepgram's (for this API): ignored, as Deepgram does */
    if (!value_ok(rule->value, value))
      return refuse("Bad Request",
                    "Invalid value for query parameter '" + key + "': '" + printable(value) + "'");
    if (key == "model")
      model = &value;
    else if (key == "language")
      language = &value;
    else if (key == "keywords")
      keywords = true;
    else if (key == "keyterm")
      keyterm = true;
    else if (key == "version" && value != "latest")
      add_once(&not_emulated, "version=" + printable(value));
    if (rule->support == S::NotEmulated)
      add_once(&not_emulated, key);
  }

  /* Deepgram's documented default when no model is given differs between
   * pages (base, or nova-3 in newer examples): without one only the language
   * itself is checked. */
  const DeepgramModel *m = nullptr;
  if (model) {
    m = find_deepgram_model(*model);
    if (!m || (api == ListenApi::Live && !m->live))
      return refuse("Bad Request", kNoSuchModelMessage);
  }
  if (language) {
    bool known = m ? model_takes_language(*m, *language) : any_model_takes_language(*language);
    if (!known)
      return refuse("Bad Request", kNoSuchModelMessage);
    if (!is_english_tag(*language))
      add_once(&not_emulated, "language=" + printable(*language));
  }
  /* The text and code of the official SDK's own check (@deepgram/sdk 5.13.0,
   * dist/cjs/CustomClient.js, hasUnsupportedNova3Keywords), which stands in
   * for the API's refusal. */
  if (m && m->nova3 && keywords)
    return refuse("INVALID_QUERY_PARAMETER",
                  "Keywords are not supported for Nova-3. Please use `keyterm` instead.");
  /* "Keyterm Prompting is only available for ... the Nova-3 Model"
   * (https://developers.deepgram.com/docs/keyterm); the wording is ours. */
  if (m && !m->nova3 && keyterm)
    return refuse("INVALID_QUERY_PARAMETER",
                  "Keyterm Prompting is only available with Nova-3 models; use keywords with '" +
                      printable(*model) + "'.");

  if (!not_emulated.empty() && !lenient) {
    std::string list = join_ignored(not_emulated);
    return refuse("Bad Request", "dg-emulator does not emulate " + list +
                                     " (Deepgram would act on it; run dg-emulator with "
                                     "--lenient to accept and ignore it)");
  }
  QueryVerdict ok;
  ok.ignored = std::move(not_emulated);
  return ok;
}

std::string join_ignored(const std::vector<std::string> &ignored) {
  std::string out;
  for (const std::string &s : ignored)
    out += (out.empty() ? "" : ",") + s;
  return out;
}

} // namespace dgemu
