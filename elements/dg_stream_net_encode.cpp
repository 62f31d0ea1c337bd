/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgstreamsink's network thread, the audio bytes: PCM to the socket as it
 * is (encoding=linear16) or through the connection's encoder (flac, opus;
 * elements/audio_encoder.h). The encoder is Net::encoder: made at a
 * connection's first audio, dropped at Connect, Disconnect and teardown
 * (dg_stream_net.cpp), so each connection carries one complete stream with
 * its own headers and Deepgram's seconds on it count exactly the PCM sent. */
#include <config.h>

#include "gstdgstreamsink_private.h"

namespace dgf::streamsink {

/* Bytes to the socket, counted for stats and in the send backlog with the
 * `audio` (ns) they carry. */
static bool net_send_bytes(GstDgStreamSink *self, const uint8_t *data, size_t size,
                           uint64_t audio) {
  Net &net = self->priv->net;
  if (!net.conn->send_binary(data, size))
    return false;
  self->priv->bytes_sent += size;
  if (size)
    net.backlog.on_sent(SendBacklog::client_frame_bytes(size), audio, now_ns());
  return true;
}

/* The audio the encoder's output carries since the last call: what it holds
 * back (a FLAC block, an Ogg page) is not on the wire, so Deepgram owes no
 * result for it (a paused source would otherwise look like a stall). */
static uint64_t net_take_encoded_audio(Net &net, bool finished) {
  uint64_t carried = net.encoder->audio_out();
  uint64_t audio = carried > net.encoder_audio_out ? carried - net.encoder_audio_out : 0;
  net.encoder_audio_out = carried;
  /* Never more than was handed over (finish pads a very short FLAC stream). */
  audio = finished ? net.audio_not_on_wire : std::min(audio, net.audio_not_on_wire);
  net.audio_not_on_wire -= audio;
  return audio;
}

/* PCM through the encoder (made if needed), or its drain (`finish`); what
 * comes out goes to the socket. */
static bool net_send_encoded(GstDgStreamSink *self, const uint8_t *pcm, size_t size, bool finish) {
  Net &net = self->priv->net;
  const DgCommonSettings &c = self->priv->active.common;
  AudioEncoding encoding = net.core.encoding(); /* Opus once encoding=auto stepped down */
  std::string error;
  if (!net.encoder && !finish) {
    net.encoder = AudioEncoder::create(encoding, GST_AUDIO_INFO_RATE(&net.info),
                                       GST_AUDIO_INFO_CHANNELS(&net.info), c.bitrate, &error);
    net.encoder_audio_out = 0;
  }
  if (!net.encoder)
    return error.empty();
  std::vector<uint8_t> out;
  bool ok = finish ? net.encoder->finish(out) : net.encoder->push(pcm, size, out);
  if (!ok)
    error = net.encoder->error();
  if (!error.empty()) {
    GST_ELEMENT_ERROR(self, STREAM, ENCODE,
                      ("cannot encode the audio as %s", encoding_name(encoding)),
                      ("%s", error.c_str()));
    net.encoder.reset();
    return false;
  }
  uint64_t audio = net_take_encoded_audio(net, finish);
  if (finish)
    net.encoder.reset(); /* audio after this on the connection would start a new stream */
  return out.empty() || net_send_bytes(self, out.data(), out.size(), audio);
}

bool net_send_pcm(GstDgStreamSink *self, const uint8_t *pcm, size_t size, uint64_t duration) {
  Net &net = self->priv->net;
  net.audio_not_on_wire += duration;
  if (encoding_is_raw(net.core.encoding())) {
    uint64_t audio = net.audio_not_on_wire;
    net.audio_not_on_wire = 0;
    return net_send_bytes(self, pcm, size, audio);
  }
  return net_send_encoded(self, pcm, size, false);
}

/* A Finalize does not come here: draining ends the connection's one FLAC /
 * Ogg stream, so until the close at most one FLAC block or Ogg page of the
 * audio before a pause waits in the encoder for the next audio. */
bool net_drain_encoder(GstDgStreamSink *self) {
  Net &net = self->priv->net;
  if (!net.encoder || !net.conn || !net.conn->is_open())
    return true;
  return net_send_encoded(self, nullptr, 0, true);
}

} // namespace dgf::streamsink
