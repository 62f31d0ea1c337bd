/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hostile_payloads.h"

#include <cstring>
#include <iterator>

namespace dgemu {

GBytes *padded_json(const std::string &object, size_t bytes) {
  static const char kMember[] = ",\"padding\":\"";
  std::string head = object;
  if (!head.empty() && head.back() == '}')
    head.pop_back();
  size_t fixed = head.size() + strlen(kMember) + 2; /* closing quote and brace */
  size_t pad = bytes > fixed ? bytes - fixed : 0;
  size_t total = fixed + pad;
  char *buf = static_cast<char *>(g_malloc(total));
  char *p = buf;
  memcpy(p, head.data(), head.size());
  p += head.size();
  memcpy(p, kMember, strlen(kMember));
  p += strlen(kMember);
  memset(p, 'a', pad);
  p += pad;
  *p++ = '"';
  *p++ = '}';
  return g_bytes_new_take(buf, total);
}

namespace {
const char *const kWrongTypedLive[] = {
    /* numbers as strings, a boolean as a string, words not an array */
    R"({"type":"Results","channel_index":"0","duration":"1.0","start":"0","is_final":"yes",)"
    R"("speech_final":1,"channel":{"alternatives":[{"transcript":42,"confidence":"high",)"
    R"("words":"none"}]}})",
    /* alternatives an object, channel_index of strings */
    R"({"type":"Results","channel_index":["a","b"],"duration":1.0,"start":0.0,)"
    R"("is_final":true,"channel":{"alternatives":{"transcript":"x"}}})",
    /* word times of the wrong types */
    R"({"type":"Results","channel_index":[0,1],"duration":1.0,"start":0.0,"is_final":true,)"
    R"("channel":{"alternatives":[{"transcript":"a","confidence":1.0,)"
    R"("words":[{"word":7,"start":"0","end":{},"confidence":[]}]}]}})",
    /* type itself not a string */
    R"({"type":["Results"],"channel_index":[0,1]})",
    /* a top-level array */
    R"([{"type":"Results"}])",
    /* Metadata with wrong types */
    R"({"type":"Metadata","request_id":12,"duration":"long","channels":"one"})",
};
} // namespace

const char *wrong_typed_live_frame(unsigned index) {
  return kWrongTypedLive[index % std::size(kWrongTypedLive)];
}

const char *wrong_typed_batch_body() {
  return R"({"metadata":{"request_id":5,"duration":"long","channels":"one","models":{}},)"
         R"("results":{"channels":{"alternatives":"none"},"utterances":7}})";
}

} // namespace dgemu
