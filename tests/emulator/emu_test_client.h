/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helpers for dg-emulator server tests: a libsoup WebSocket client and a
 * blocking HTTP request, both on the test thread. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

/* g_assert_cmpstr on std::string values (temporaries included). */
#define EMU_ASSERT_STREQ(a, b)                                                                     \
  do {                                                                                             \
    std::string emu_a_ = (a), emu_b_ = (b);                                                        \
    g_assert_cmpstr(emu_a_.c_str(), ==, emu_b_.c_str());                                           \
  } while (0)

namespace emutest {

using Headers = std::vector<std::pair<std::string, std::string>>;

/* A parsed server text frame. */
struct Frame {
  std::string text;
  JsonNode *node = nullptr; /* nullptr when the frame is not JSON */
  std::string type() const;
  JsonObject *obj() const;
};

class WsClient {
public:
  WsClient();
  ~WsClient();

  /* Connects; true when the handshake succeeded. On failure status() holds
   * the HTTP status and body() the response body. */
  bool connect(const std::string &url, const Headers &headers = {},
               const std::vector<std::string> &protocols = {}, double timeout_s = 5);

  void send_audio(const int16_t *samples, size_t count);
  void send_bytes(const void *data, size_t len);
  void send_text(const std::string &text);
  void close(int code = 1000);

  /* Runs the client's main context until pred() or timeout; returns pred(). */
  bool wait(const std::function<bool()> &pred, double timeout_s = 5);
  bool wait_closed(double timeout_s = 5) {
    return wait([this] { return closed_; }, timeout_s);
  }
  /* Lets the context run for a while (for "nothing happens" checks). */
  void pump(double seconds);

  int status() const { return status_; }
  const std::string &body() const { return body_; }
  std::string response_header(const char *name) const;
  const std::string &protocol() const { return protocol_; }
  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }
  const std::string &close_reason() const { return close_reason_; }

  const std::vector<Frame> &frames() const { return frames_; }
  std::vector<const Frame *> of_type(const std::string &type) const;
  /* Final Results frames. */
  std::vector<const Frame *> finals() const;

private:
  static void on_connected(GObject *src, GAsyncResult *res, gpointer self);
  static void on_message(SoupWebsocketConnection *ws, gint type, GBytes *msg, gpointer self);
  static void on_closed(SoupWebsocketConnection *ws, gpointer self);

  GMainContext *ctx_;
  SoupSession *session_;
  SoupMessage *msg_ = nullptr;
  SoupWebsocketConnection *ws_ = nullptr;
  bool done_ = false;
  int status_ = 0;
  std::string body_;
  std::string protocol_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string close_reason_;
  std::vector<Frame> frames_;
};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers; /* lowercase names */
  std::string body;
  JsonNode *json = nullptr; /* parsed body or nullptr */
  ~HttpResult();
  HttpResult() = default;
  HttpResult(const HttpResult &) = delete;
  HttpResult(HttpResult &&o) noexcept;
  JsonObject *obj() const;
  std::string header(const std::string &lower_name) const;
};

HttpResult http(const std::string &method, const std::string &url, const Headers &headers = {},
                const std::string &body = "", const std::string &content_type = "");

/* A WAV file (16-bit PCM) of interleaved samples. */
std::string make_wav(const std::vector<int16_t> &samples, int rate, int channels);

/* Helpers on parsed JSON. */
double num(JsonObject *o, const char *name);
std::string str(JsonObject *o, const char *name);
/* channel.alternatives[0] of a Results frame. */
JsonObject *alternative(JsonObject *results);
/* words of an alternative as (word, start, end). */
struct Word {
  std::string word;
  double start, end;
};
std::vector<Word> words_of(JsonObject *alternative);

} // namespace emutest
