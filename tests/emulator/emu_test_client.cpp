/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emu_test_client.h"

#include <cstring>

namespace emutest {

namespace {

JsonNode *parse(const std::string &text) {
  JsonParser *p = json_parser_new();
  JsonNode *node = nullptr;
  if (json_parser_load_from_data(p, text.data(), static_cast<gssize>(text.size()), nullptr) &&
      json_parser_get_root(p))
    node = json_node_copy(json_parser_get_root(p));
  g_object_unref(p);
  return node;
}

} // namespace

std::string Frame::type() const {
  JsonObject *o = obj();
  if (!o || !json_object_has_member(o, "type"))
    return "";
  return json_object_get_string_member(o, "type");
}

JsonObject *Frame::obj() const {
  return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : nullptr;
}

WsClient::WsClient() : ctx_(g_main_context_default()), session_(soup_session_new()) {}

WsClient::~WsClient() {
  if (ws_) {
    g_signal_handlers_disconnect_by_data(ws_, this);
    if (soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close(ws_, 1000, nullptr);
    g_object_unref(ws_);
  }
  if (msg_)
    g_object_unref(msg_);
  g_object_unref(session_);
  for (auto &f : frames_)
    if (f.node)
      json_node_unref(f.node);
  /* Let the closes go out. */
  while (g_main_context_iteration(ctx_, FALSE)) {
  }
}

bool WsClient::connect(const std::string &url, const Headers &headers,
                       const std::vector<std::string> &protocols, double timeout_s) {
  msg_ = soup_message_new("GET", url.c_str());
  for (const auto &h : headers)
    soup_message_headers_append(soup_message_get_request_headers(msg_), h.first.c_str(),
                                h.second.c_str());
  std::vector<char *> protos;
  for (const auto &p : protocols)
    protos.push_back(const_cast<char *>(p.c_str()));
  protos.push_back(nullptr);
  soup_session_websocket_connect_async(session_, msg_, nullptr,
                                       protocols.empty() ? nullptr : protos.data(),
                                       G_PRIORITY_DEFAULT, nullptr, on_connected, this);
  wait([this] { return done_; }, timeout_s);
  status_ = static_cast<int>(soup_message_get_status(msg_));
  return ws_ != nullptr;
}

void WsClient::on_connected(GObject *src, GAsyncResult *res, gpointer data) {
  WsClient *self = static_cast<WsClient *>(data);
  GError *err = nullptr;
  self->ws_ = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
  if (err) {
    self->body_ = err->message;
    g_clear_error(&err);
  }
  if (self->ws_) {
    const char *p = soup_websocket_connection_get_protocol(self->ws_);
    self->protocol_ = p ? p : "";
    soup_websocket_connection_set_keepalive_interval(self->ws_, 0);
    g_signal_connect(self->ws_, "message", G_CALLBACK(on_message), self);
    g_signal_connect(self->ws_, "closed", G_CALLBACK(on_closed), self);
  }
  self->done_ = true;
}

void WsClient::on_message(SoupWebsocketConnection *, gint type, GBytes *msg, gpointer data) {
  WsClient *self = static_cast<WsClient *>(data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  gsize len = 0;
  const char *p = static_cast<const char *>(g_bytes_get_data(msg, &len));
  Frame f;
  f.text.assign(p, len);
  f.node = parse(f.text);
  self->frames_.push_back(f);
}

void WsClient::on_closed(SoupWebsocketConnection *ws, gpointer data) {
  WsClient *self = static_cast<WsClient *>(data);
  self->closed_ = true;
  self->close_code_ = soup_websocket_connection_get_close_code(ws);
  const char *r = soup_websocket_connection_get_close_data(ws);
  self->close_reason_ = r ? r : "";
}

void WsClient::send_audio(const int16_t *samples, size_t count) {
  send_bytes(samples, count * sizeof(int16_t));
}

void WsClient::send_bytes(const void *data, size_t len) {
  if (ws_ && soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_binary(ws_, data, len);
}

void WsClient::send_text(const std::string &text) {
  if (ws_ && soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text(ws_, text.c_str());
}

void WsClient::close(int code) {
  if (ws_ && soup_websocket_connection_get_state(ws_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(ws_, static_cast<gushort>(code), nullptr);
}

bool WsClient::wait(const std::function<bool()> &pred, double timeout_s) {
  gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  while (!pred()) {
    if (g_get_monotonic_time() >= deadline)
      return false;
    if (!g_main_context_iteration(ctx_, FALSE))
      g_usleep(1000);
  }
  return true;
}

void WsClient::pump(double seconds) {
  wait([] { return false; }, seconds);
}

std::string WsClient::response_header(const char *name) const {
  if (!msg_)
    return "";
  const char *v = soup_message_headers_get_one(soup_message_get_response_headers(msg_), name);
  return v ? v : "";
}

std::vector<const Frame *> WsClient::of_type(const std::string &type) const {
  std::vector<const Frame *> out;
  for (const auto &f : frames_)
    if (f.type() == type)
      out.push_back(&f);
  return out;
}

std::vector<const Frame *> WsClient::finals() const {
  std::vector<const Frame *> out;
  for (const auto &f : frames_)
    if (f.type() == "Results" && json_object_get_boolean_member(f.obj(), "is_final"))
      out.push_back(&f);
  return out;
}

/* ---- HTTP ---- */

HttpResult::~HttpResult() {
  if (json)
    json_node_unref(json);
}

HttpResult::HttpResult(HttpResult &&o) noexcept
    : status(o.status), headers(std::move(o.headers)), body(std::move(o.body)), json(o.json) {
  o.json = nullptr;
}

JsonObject *HttpResult::obj() const {
  return json && JSON_NODE_HOLDS_OBJECT(json) ? json_node_get_object(json) : nullptr;
}

std::string HttpResult::header(const std::string &lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResult http(const std::string &method, const std::string &url, const Headers &headers,
                const std::string &body, const std::string &content_type) {
  HttpResult r;
  SoupSession *session = soup_session_new();
  SoupMessage *msg = soup_message_new(method.c_str(), url.c_str());
  for (const auto &h : headers)
    soup_message_headers_append(soup_message_get_request_headers(msg), h.first.c_str(),
                                h.second.c_str());
  if (!body.empty() || method == "POST") {
    GBytes *b = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(
        msg, content_type.empty() ? "application/octet-stream" : content_type.c_str(), b);
    g_bytes_unref(b);
  }
  GError *err = nullptr;
  GBytes *resp = soup_session_send_and_read(session, msg, nullptr, &err);
  if (err) {
    r.body = err->message;
    g_clear_error(&err);
  }
  r.status = static_cast<int>(soup_message_get_status(msg));
  SoupMessageHeadersIter it;
  const char *name, *value;
  soup_message_headers_iter_init(&it, soup_message_get_response_headers(msg));
  while (soup_message_headers_iter_next(&it, &name, &value)) {
    gchar *l = g_ascii_strdown(name, -1);
    r.headers[l] = value;
    g_free(l);
  }
  if (resp) {
    gsize len = 0;
    const char *p = static_cast<const char *>(g_bytes_get_data(resp, &len));
    r.body.assign(p ? p : "", len);
    r.json = parse(r.body);
    g_bytes_unref(resp);
  }
  g_object_unref(msg);
  g_object_unref(session);
  return r;
}

std::string make_wav(const std::vector<int16_t> &samples, int rate, int channels) {
  std::string out;
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; i++)
      out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto u16 = [&](uint16_t v) {
    out += static_cast<char>(v & 0xff);
    out += static_cast<char>(v >> 8);
  };
  uint32_t data_len = static_cast<uint32_t>(samples.size() * 2);
  out += "RIFF";
  u32(36 + data_len);
  out += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(static_cast<uint16_t>(channels));
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate * channels * 2));
  u16(static_cast<uint16_t>(channels * 2));
  u16(16);
  out += "data";
  u32(data_len);
  for (int16_t s : samples)
    u16(static_cast<uint16_t>(s));
  return out;
}

double num(JsonObject *o, const char *name) {
  return json_object_get_double_member(o, name);
}

std::string str(JsonObject *o, const char *name) {
  const char *s = json_object_get_string_member(o, name);
  return s ? s : "";
}

JsonObject *alternative(JsonObject *results) {
  JsonObject *ch = json_object_get_object_member(results, "channel");
  JsonArray *alts = json_object_get_array_member(ch, "alternatives");
  return json_array_get_object_element(alts, 0);
}

std::vector<Word> words_of(JsonObject *alt) {
  std::vector<Word> out;
  JsonArray *ws = json_object_get_array_member(alt, "words");
  for (guint i = 0; i < json_array_get_length(ws); i++) {
    JsonObject *w = json_array_get_object_element(ws, i);
    out.push_back({str(w, "word"), num(w, "start"), num(w, "end")});
  }
  return out;
}

} // namespace emutest
