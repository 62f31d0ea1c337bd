/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dropped_audio.h"

void DroppedAudioReporter::post(GstElement *element, const dgf::stt::AudioDropped &d, bool warn) {
  std::optional<uint32_t> also;
  if (warn) {
    std::lock_guard<std::mutex> guard(lock_);
    also = warnings_.warn(d.reason, gst_util_get_timestamp());
  }
  if (also) {
    gchar *text = g_strdup_printf("Audio from %" GST_TIME_FORMAT " to %" GST_TIME_FORMAT
                                  " will not be transcribed: %s",
                                  GST_TIME_ARGS(d.start), GST_TIME_ARGS(d.start + d.duration),
                                  d.detail.empty() ? d.reason.c_str() : d.detail.c_str());
    gchar *debug = *also > 0 ? g_strdup_printf("reason %s; %u earlier stretches with this reason "
                                               "were reported only in stt/audio-dropped",
                                               d.reason.c_str(), *also)
                             : g_strdup_printf("reason %s (stt/audio-dropped has every stretch)",
                                               d.reason.c_str());
    GstStructure *details =
        gst_structure_new("details", "reason", G_TYPE_STRING, d.reason.c_str(), "start",
                          G_TYPE_UINT64, d.start, "duration", G_TYPE_UINT64, d.duration, nullptr);
    /* Takes text and debug. */
    gst_element_message_full_with_details(element, GST_MESSAGE_WARNING, GST_STREAM_ERROR,
                                          GST_STREAM_ERROR_FAILED, text, debug, __FILE__,
                                          GST_FUNCTION, __LINE__, details);
  }
  gst_element_post_message(element, dgf::stt::make_message(GST_OBJECT(element), d));
}

void DroppedAudioReporter::reset() {
  std::lock_guard<std::mutex> guard(lock_);
  warnings_.reset();
}
