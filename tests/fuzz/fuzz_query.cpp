/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the Deepgram request builder (plugin/deepgram_query.h).
 *
 * Input: 12 bytes of numbers and flags, then fields separated by 0x1e: model,
 * language, two keyterms, the extra-options property text, and a service URL.
 *
 * Invariants: no CR or LF (nor NUL, space or any byte outside the
 * percent-encoded alphabet) ever reaches a query or a URL; the query decodes
 * back to exactly the keyterms and extra options given, in order; input with a
 * line break is refused; a URL that parses has a known scheme, a host, a
 * port in 1..65535, no credentials, query or fragment, and a loopback flag
 * that matches is_loopback_host().
 */
#include "deepgram_query.h"
#include "fuzz_common.h"

#include <utility>
#include <vector>

namespace {

using namespace dgf;

bool is_unreserved(unsigned char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  return g_ascii_xdigit_value(c);
}

/* Strict RFC 3986 decoding of what percent_encode makes. */
std::string percent_decode(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%') {
      FUZZ_CHECK(i + 2 < s.size());
      FUZZ_CHECK(hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0);
      FUZZ_CHECK(!g_ascii_islower(s[i + 1]) && !g_ascii_islower(s[i + 2])); /* %XX upper */
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      FUZZ_CHECK(is_unreserved(static_cast<unsigned char>(s[i])));
      out += s[i];
    }
  }
  return out;
}

bool has_line_break(const std::string &s) {
  return s.find('\r') != std::string::npos || s.find('\n') != std::string::npos;
}

void check_wire_text(const std::string &s) {
  for (unsigned char c : s)
    FUZZ_CHECK(c > 0x20 && c < 0x7f); /* no CR/LF/NUL/space/controls/non-ASCII */
}

/* The query's key=value pairs, decoded. */
std::vector<std::pair<std::string, std::string>> decode_query(const std::string &q) {
  std::vector<std::pair<std::string, std::string>> out;
  if (q.empty())
    return out;
  size_t pos = 0;
  while (true) {
    size_t amp = q.find('&', pos);
    std::string seg = q.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = seg.find('=');
    FUZZ_CHECK(eq != std::string::npos && eq > 0);
    FUZZ_CHECK(seg.find('=', eq + 1) == std::string::npos);
    out.emplace_back(percent_decode(seg.substr(0, eq)), percent_decode(seg.substr(eq + 1)));
    if (amp == std::string::npos)
      break;
    pos = amp + 1;
  }
  return out;
}

void check_extra_parse(const std::string &text, const Expected<QueryParams, QueryError> &r) {
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  FUZZ_CHECK(!has_line_break(text) && text.find('\0') == std::string::npos);
  /* Joining the pairs back gives the text minus its empty segments. */
  std::string joined, expected;
  for (const auto &[k, v] : *r) {
    FUZZ_CHECK(k.find('&') == std::string::npos && k.find('=') == std::string::npos);
    FUZZ_CHECK(v.find('&') == std::string::npos);
    joined += (joined.empty() ? "" : "&") + k + "=" + v;
  }
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t amp = text.find('&', pos);
    std::string seg = text.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (!seg.empty())
      expected += (expected.empty() ? "" : "&") + seg;
    pos = amp == std::string::npos ? text.size() + 1 : amp + 1;
  }
  FUZZ_CHECK(joined == expected);
}

void check_url(const std::string &text, UrlKind kind) {
  auto r = parse_service_url(text, kind);
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  const ServiceUrl &u = *r;
  FUZZ_CHECK(!has_line_break(text));
  if (kind == UrlKind::WebSocket)
    FUZZ_CHECK(u.scheme == "ws" || u.scheme == "wss");
  else
    FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
  FUZZ_CHECK(u.secure == (u.scheme == "wss" || u.scheme == "https"));
  FUZZ_CHECK(!u.host.empty());
  FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
  FUZZ_CHECK(u.loopback == is_loopback_host(u.host));
  FUZZ_CHECK(u.base.rfind(u.scheme + "://", 0) == 0);
  for (unsigned char c : u.base)
    FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
  FUZZ_CHECK(u.base.find('?') == std::string::npos && u.base.find('#') == std::string::npos);
  /* "user@host" would send credentials nobody asked for. */
  size_t authority_end = u.base.find('/', u.scheme.size() + 3);
  std::string authority = u.base.substr(
      u.scheme.size() + 3,
      authority_end == std::string::npos ? std::string::npos : authority_end - u.scheme.size() - 3);
  FUZZ_CHECK(authority.find('@') == std::string::npos);
  std::string full = request_url(u, "model=nova-3");
  FUZZ_CHECK(!has_line_break(full));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz::init_once();
  fuzz::FuzzInput in(data, size);
  DeepgramQueryOptions o;
  uint8_t flags = in.u8();
  uint8_t flags2 = in.u8();
  o.raw_audio = flags & 1;
  o.sample_rate = flags & 2 ? in.u32() : 16000;
  o.channels = flags & 4 ? in.u8() : 1;
  auto tri = [](uint8_t bits) -> std::optional<bool> {
    if ((bits & 3) == 0)
      return std::nullopt;
    return (bits & 3) == 1;
  };
  o.multichannel = tri(flags >> 3);
  o.interim_results = tri(flags >> 5);
  o.punctuate = tri(flags2);
  o.smart_format = tri(flags2 >> 2);
  o.diarize = tri(flags2 >> 4);
  o.vad_events = tri(flags2 >> 6);
  uint8_t flags3 = in.u8();
  o.utterances = tri(flags3);
  o.endpointing = static_cast<Endpointing>((flags3 >> 2) % 3);
  o.endpointing_ms = in.u32();
  if (flags3 & 0x10)
    o.utterance_end_ms = in.u32();

  o.model = in.field('\x1e');
  o.language = in.field('\x1e');
  for (int i = 0; i < 2; i++) {
    std::string term = in.field('\x1e');
    if (flags3 & (0x20 << i))
      o.keyterms.push_back(term);
  }
  std::string extra_text = in.field('\x1e');
  auto extra = parse_extra_options(extra_text);
  check_extra_parse(extra_text, extra);
  if (extra.ok())
    o.extra = *extra;
  std::string url = in.field('\x1e');

  /* percent_encode alone: only the alphabet, and it decodes back. */
  std::string encoded = percent_encode(o.model);
  check_wire_text(encoded);
  FUZZ_CHECK(percent_decode(encoded) == o.model);

  auto q = build_deepgram_query(o);
  bool bad_text = has_line_break(o.model) || has_line_break(o.language);
  for (const std::string &k : o.keyterms)
    bad_text = bad_text || has_line_break(k) || k.empty();
  for (const auto &[k, v] : o.extra)
    bad_text = bad_text || has_line_break(v);
  if (bad_text)
    FUZZ_CHECK(!q.ok());
  if (q.ok()) {
    check_wire_text(*q);
    auto pairs = decode_query(*q);
    /* Keyterms in order, then the extra options verbatim at the end. */
    std::vector<std::string> terms;
    for (const auto &[k, v] : pairs)
      if (k == "keyterm")
        terms.push_back(v);
    FUZZ_CHECK(terms == o.keyterms);
    FUZZ_CHECK(pairs.size() >= o.extra.size());
    for (size_t i = 0; i < o.extra.size(); i++)
      FUZZ_CHECK(pairs[pairs.size() - o.extra.size() + i] == o.extra[i]);
    /* A key the element sets appears once (keyterm aside): extra options may
     * not shadow a property. */
    for (const std::string &reserved : deepgram_reserved_query_keys()) {
      size_t n = 0;
      for (const auto &[k, v] : pairs)
        n += g_ascii_strcasecmp(k.c_str(), reserved.c_str()) == 0;
      FUZZ_CHECK(reserved == "keyterm" || n <= 1);
    }
  } else {
    FUZZ_CHECK(!q.error().message.empty());
    FUZZ_CHECK(q.error().message.find('\n') == std::string::npos); /* one log line */
  }

  check_url(url, flags & 0x80 ? UrlKind::WebSocket : UrlKind::Http);
  return 0;
}
