/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "server_context.h"

#include "async_recognizer.h"

#include <glib.h>

namespace dgemu {

ModelInfo make_model_info(const std::string &engine_name, const std::string &model) {
  ModelInfo m;
  std::string arch = model.empty() ? "general" : model;
  m.arch = arch;
  m.name = arch.rfind("general", 0) == 0 ? arch : "general-" + arch;
  m.version = "dg-emulator-" + engine_name;
  std::string seed = "dg-emulator/" + engine_name + "/" + arch;
  gchar *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA1, seed.c_str(), -1);
  std::string h = sum;
  g_free(sum);
  /* Shape it as a version 5 UUID. */
  h[12] = '5';
  const char variant[] = "89ab";
  h[16] = variant[g_ascii_xdigit_value(h[16]) & 3];
  m.uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
  return m;
}

std::unique_ptr<Recognizer> ServerContext::create_live_recognizer(int sample_rate,
                                                                  std::function<void()> on_ready) {
  if (!pool)
    return create_recognizer(sample_rate);
  GMainContext *main = main_context;
  auto wake = [main, on_ready] {
    auto *fn = new std::function<void()>(on_ready);
    g_main_context_invoke_full(
        main, G_PRIORITY_DEFAULT,
        [](gpointer d) -> gboolean {
          (*static_cast<std::function<void()> *>(d))();
          return G_SOURCE_REMOVE;
        },
        fn, [](gpointer d) { delete static_cast<std::function<void()> *>(d); });
  };
  /* Made on the recognition thread: pocketsphinx may load its model then
   * (~0.3 s), which would hold up every connection on the server thread. */
  auto make = [this, sample_rate] { return create_recognizer(sample_rate); };
  return std::make_unique<AsyncRecognizer>(make, sample_rate, pool, wake, &meter);
}

std::string new_request_id() {
  gchar *id = g_uuid_string_random();
  std::string s = id;
  g_free(id);
  return s;
}

std::string iso_now() {
  GDateTime *now = g_date_time_new_now_utc();
  gchar *base = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
  int ms = g_date_time_get_microsecond(now) / 1000;
  char buf[80];
  snprintf(buf, sizeof buf, "%s.%03dZ", base, ms);
  g_free(base);
  g_date_time_unref(now);
  return buf;
}

void split_channels(const int16_t *interleaved, size_t frames, int channels, bool multichannel,
                    std::vector<std::vector<int16_t>> *out) {
  size_t n_out = multichannel ? static_cast<size_t>(channels) : 1;
  out->assign(n_out, std::vector<int16_t>());
  for (auto &v : *out)
    v.resize(frames);
  if (multichannel || channels == 1) {
    for (size_t f = 0; f < frames; f++)
      for (size_t c = 0; c < n_out; c++)
        (*out)[c][f] = interleaved[f * channels + c];
    return;
  }
  for (size_t f = 0; f < frames; f++) {
    long sum = 0;
    for (int c = 0; c < channels; c++)
      sum += interleaved[f * channels + c];
    (*out)[0][f] = static_cast<int16_t>(sum / channels);
  }
}

void add_models_metadata(JsonBuilder *b, const ModelInfo &model) {
  json_builder_set_member_name(b, "models");
  json_builder_begin_array(b);
  json_builder_add_string_value(b, model.uuid.c_str());
  json_builder_end_array(b);
  json_builder_set_member_name(b, "model_info");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, model.uuid.c_str());
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, model.name.c_str());
  json_builder_set_member_name(b, "version");
  json_builder_add_string_value(b, model.version.c_str());
  json_builder_set_member_name(b, "arch");
  json_builder_add_string_value(b, model.arch.c_str());
  json_builder_end_object(b);
  json_builder_end_object(b);
}

} // namespace dgemu
