/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "failure.h"

#include <algorithm>
#include <cctype>

namespace dgf {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char *phrase(unsigned status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 402:
    return "Payment Required";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Payload Too Large";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Entity";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return nullptr;
  }
}

/* Deepgram's 400 for audio it cannot read ("failed to process audio: corrupt
 * or unsupported data") versus one for options it refuses. */
bool about_the_audio(const std::string &code, const std::string &message) {
  std::string text = lower(code + " " + message);
  for (const char *word : {"audio", "corrupt", "unsupported data", "decode", "DATA-"})
    if (text.find(lower(word)) != std::string::npos)
      return true;
  return false;
}

} // namespace

FailureVerdict classify_http(unsigned status, const std::string &err_code,
                             const std::string &err_msg) {
  FailureVerdict v;
  if (status == 0) {
    v.what = "no answer";
    return v;
  }
  v.what = "HTTP " + std::to_string(status);
  if (const char *p = phrase(status))
    v.what += std::string(" ") + p;
  switch (status) {
  case 401:
    v.kind = FailureKind::Permanent;
    v.hint = "Deepgram refused the API key: check api-key or DEEPGRAM_API_KEY";
    return v;
  case 402:
    v.kind = FailureKind::Permanent;
    v.hint = "the Deepgram project has no credit left: add funds in the Deepgram console";
    return v;
  case 403:
    v.kind = FailureKind::Permanent;
    v.hint = "the API key may not make this request (its scopes, the model or a feature): check "
             "the key's permissions and the options";
    return v;
  case 404:
  case 405:
    v.kind = FailureKind::Permanent;
    v.hint = "no Deepgram API at this address: check url (stream-url / batch-url on "
             "dgtranscribebin)";
    return v;
  case 400:
    if (about_the_audio(err_code, err_msg)) {
      v.kind = FailureKind::RejectAudio;
      v.hint = "Deepgram could not decode this audio";
    } else {
      v.kind = FailureKind::Permanent;
      v.hint = "Deepgram refused the options: check model, language, keyterms and extra-options";
    }
    return v;
  case 408:
  case 425:
  case 429:
  case 499:
    return v; /* transient */
  default:
    break;
  }
  if (status == 413 || status == 415 || status == 422) {
    v.kind = FailureKind::RejectAudio;
    v.hint = "Deepgram refused this audio";
  } else if (status >= 400 && status < 500) {
    v.kind = FailureKind::RejectAudio;
  }
  return v; /* 5xx and anything else: an outage */
}

FailureVerdict classify_close(int code, const std::string &reason) {
  FailureVerdict v;
  v.what = "close " + std::to_string(code) + (reason.empty() ? "" : " " + reason);
  if (code == 1008) {
    v.kind = FailureKind::Permanent;
    v.hint = "Deepgram could not decode the audio: check the caps (linear16 is sent as is)";
  }
  return v;
}

std::string describe_failure(const FailureVerdict &verdict, const std::string &err_code,
                             const std::string &err_msg) {
  std::string text = verdict.what;
  std::string said = err_code;
  if (!err_msg.empty() && err_msg != err_code)
    said += (said.empty() ? "" : ": ") + err_msg;
  if (!said.empty())
    text += ": " + said;
  return text;
}

} // namespace dgf
