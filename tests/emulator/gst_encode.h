/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test audio through GStreamer's own encoders (flacenc, opusenc ! oggmux),
 * so that dg-emulator's decoders are checked against real encoder output. */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace emutest {

/* Runs interleaved S16LE audio through
 * `appsrc ! audioconvert ! <chain> ! appsink` and returns the bytes the
 * chain makes (e.g. chain "flacenc" or "opusenc ! oggmux"). Aborts the test
 * when the pipeline cannot be built or fails. */
std::string gst_encode(const std::vector<int16_t> &pcm, int rate, int channels,
                       const std::string &chain);

} // namespace emutest
