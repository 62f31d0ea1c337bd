/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sttfailover hearing its branches: the stt/health, stt/ack and
 * stt/transcript events their sinks send upstream, as the core's input. */
#include <config.h>

#include <vector>

#include "caption_splitter.h"
#include "stt_protocol.h"

#include "gststtfailover_private.h"

namespace dgf::sttfailover {

/* A final transcript cut into caption-sized pieces (caption-* properties);
 * interims and empty finals go to the core whole. */
static std::vector<TranscriptReport> caption_pieces(const stt::TimedTranscript &t,
                                                    const CaptionSplitSettings &settings) {
  TranscriptReport whole{t.start, t.duration, t.text, t.is_final, t.session_id, {}};
  whole.details.channel = t.channel;
  whole.details.language = t.language;
  whole.details.speaker = t.speaker;
  whole.details.from_finalize = t.from_finalize;
  whole.details.request_id = t.request_id;
  for (const stt::TimedWord &w : t.words)
    whole.details.words.push_back(
        CaptionWordInfo{w.punctuated_word.empty() ? w.word : w.punctuated_word, w.start, w.end,
                        w.confidence, w.speaker, w.speaker_confidence, w.language});
  if (!t.is_final)
    return {whole};
  std::vector<CaptionWord> words;
  for (const stt::TimedWord &w : t.words)
    words.push_back(CaptionWord{w.punctuated_word.empty() ? w.word : w.punctuated_word, w.start,
                                w.end, w.speaker});
  std::vector<CaptionCue> cues = split_caption(words, t.start, t.duration, t.text, settings);
  std::vector<TranscriptReport> pieces;
  for (size_t i = 0; i < cues.size(); i++) {
    TranscriptReport piece{cues[i].start, cues[i].duration, cues[i].text(),
                           true,          t.session_id,     whole.details};
    /* A cue's words: those starting from its start up to the next cue. */
    uint64_t until = i + 1 < cues.size() ? cues[i + 1].start : UINT64_MAX;
    piece.details.words.clear();
    for (const CaptionWordInfo &w : whole.details.words)
      if (w.start >= cues[i].start && w.start < until)
        piece.details.words.push_back(w);
    pieces.push_back(std::move(piece));
  }
  if (pieces.empty())
    pieces.push_back(whole); /* still a final: it may prove a recovering session */
  return pieces;
}

/* ---- upstream reports from the sinks (their thread) ----------------------- */

gboolean src_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  auto *self = GST_STT_FAILOVER(parent);
  SttFailoverPrivate *priv = self->priv;
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM || pad == self->textpad)
    return gst_pad_event_default(pad, parent, event);
  Branch branch = pad == self->streampad ? Branch::Stream : Branch::Batch;
  FailoverActions actions;
  bool handled = true;
  uint64_t now = now_ns(self);
  if (auto h = stt::parse<stt::Health>(event)) {
    GST_INFO_OBJECT(self, "%s health: %s (%s, code %d, session %s)", branch_name(branch),
                    h->healthy ? "healthy" : "unhealthy", h->reason.c_str(), h->code,
                    h->session_id.c_str());
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_health(branch, *h, now);
  } else if (stt::parse<stt::PathRestored>(event) && branch == Branch::Stream) {
    GST_INFO_OBJECT(self, "stream: the network path is back; recovering now");
    /* Both APIs share the host: batch retries its held uploads now too. */
    gst_pad_push_event(self->batchpad, stt::make_event(stt::RetryNow{}));
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_path_restored(now);
  } else if (auto a = stt::parse<stt::Ack>(event)) {
    GST_DEBUG_OBJECT(self, "%s ack %" GST_TIME_FORMAT " session %s flush %u%s", branch_name(branch),
                     GST_TIME_ARGS(a->position), a->session_id.c_str(), a->flush_id,
                     a->drained ? " drained" : "");
    std::lock_guard<std::mutex> guard(priv->lock);
    actions = priv->core.on_ack(
        branch, AckReport{a->position, a->session_id, a->flush_id, a->drained}, now);
  } else if (auto t = stt::parse<stt::TimedTranscript>(event)) {
    std::lock_guard<std::mutex> guard(priv->lock);
    /* One caption track: with multichannel sinks, channel 0's (every
     * channel's transcript is still on the bus). */
    if (t->channel == 0)
      for (const TranscriptReport &piece : caption_pieces(*t, priv->settings.captions)) {
        FailoverActions more = priv->core.on_transcript(branch, piece, now);
        actions.insert(actions.end(), more.begin(), more.end());
      }
  } else {
    handled = false;
  }
  if (!handled)
    return gst_pad_event_default(pad, parent, event);
  bool draining, wake;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    draining = priv->draining;
    /* Live input moves the text pad with its clock tick; a report is worth
     * a thread wakeup only when it lets a caption leave (most release
     * nothing: a transcript waits for its ack). Input that is not live
     * moves the pad with the reports. */
    wake = !priv->input_live || priv->core.caption_ready();
  }
  priv->cond.notify_all(); /* room in the ledger, a drain done, a state change */
  gst_event_unref(event);
  run_actions(self, actions);
  if (wake)
    wake_captions(self);
  if (draining)
    start_drain_timer(self); /* progress: the drain waits on from here */
  return TRUE;
}

} // namespace dgf::sttfailover
