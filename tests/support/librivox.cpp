/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "librivox.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace librivox {

namespace {

[[noreturn]] void fail(const std::string &path, const char *why) {
  std::fprintf(stderr, "%s: %s\n", path.c_str(), why);
  std::abort();
}

std::vector<int16_t> read_wav_16k_mono(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() <= 44 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0)
    fail(path, "not a WAV file");
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3])) << 24;
  };
  for (size_t at = 12; at + 8 <= bytes.size(); at += 8 + u32(at + 4)) {
    if (bytes.compare(at, 4, "fmt ") == 0) {
      if ((u32(at + 8) & 0xffff) != 1 || (u32(at + 8) >> 16) != 1 || u32(at + 12) != 16000)
        fail(path, "not 16 kHz mono PCM");
    } else if (bytes.compare(at, 4, "data") == 0) {
      size_t n = std::min<size_t>(u32(at + 4), bytes.size() - at - 8) / 2;
      std::vector<int16_t> samples(n);
      for (size_t i = 0; i < n; i++)
        samples[i] = static_cast<int16_t>(static_cast<uint8_t>(bytes[at + 8 + 2 * i]) |
                                          static_cast<uint8_t>(bytes[at + 9 + 2 * i]) << 8);
      return samples;
    }
  }
  fail(path, "no data chunk");
}

} // namespace

/* The transcription file: "<s> words ... </s> (file-id)" per line. */
std::vector<Utterance> utterances() {
  std::vector<Utterance> out;
  std::ifstream lines(std::string(kDir) + "/transcription");
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream tokens(line);
    Utterance u;
    std::string token;
    while (tokens >> token) {
      if (token.front() == '(')
        u.id = token.substr(1, token.size() - 2);
      else if (token != "<s>" && token != "</s>")
        u.reference.push_back(token);
    }
    if (u.id.empty())
      continue;
    u.audio = read_wav_16k_mono(std::string(kDir) + "/" + u.id + ".wav");
    out.push_back(std::move(u));
  }
  return out;
}

Session session(const std::vector<Utterance> &utterances) {
  Session s;
  for (const Utterance &u : utterances) {
    s.audio.insert(s.audio.end(), 16000, 0);
    double begin = s.audio.size() / 16000.0;
    s.audio.insert(s.audio.end(), u.audio.begin(), u.audio.end());
    s.spans.emplace_back(begin, s.audio.size() / 16000.0);
    s.reference.insert(s.reference.end(), u.reference.begin(), u.reference.end());
  }
  s.audio.insert(s.audio.end(), 8000, 0);
  return s;
}

std::vector<std::string> normalised_words(const std::string &text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    std::string bare;
    for (char ch : w)
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '\'')
        bare += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!bare.empty())
      words.push_back(bare);
  }
  return words;
}

double word_error_rate(const std::vector<std::string> &reference,
                       const std::vector<std::string> &hypothesis) {
  std::vector<size_t> row(hypothesis.size() + 1);
  for (size_t j = 0; j <= hypothesis.size(); j++)
    row[j] = j;
  for (size_t i = 1; i <= reference.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= hypothesis.size(); j++) {
      size_t substitute = diagonal + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({substitute, row[j] + 1, row[j - 1] + 1});
    }
  }
  return static_cast<double>(row[hypothesis.size()]) / std::max<size_t>(reference.size(), 1);
}

} // namespace librivox
