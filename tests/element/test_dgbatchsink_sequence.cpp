/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dgbatchsink against dg-emulator's sequence engine: every block is
 * transcribed exactly once, at the right time, whatever the chunk sizes,
 * pause positions, buffer sizes, rates and requests in flight; results and
 * acks leave in timestamp order; stt/flush and EOS wait for what came before.
 */
#include "batch_sink_harness.h"

#include <map>
#include <set>

#include "session_id.h"

using namespace batchtest;

namespace {

constexpr uint64_t kBlock = 100 * GST_MSECOND;
constexpr uint64_t kTolerance = GST_USECOND; /* Deepgram times are rounded to 1 us */

struct SequenceCase {
  const char *name;
  int rate, channels;
  uint32_t blocks;
  dgemu::BlockKindFn kind;
  uint64_t min_chunk, max_chunk, min_pause;
  size_t buffer_frames;
  unsigned in_flight;
  const char *encoding = "linear16"; /* flac: lossless, so the same words and times */
};

bool is_silence(const dgemu::BlockKindFn &kind, uint64_t block) {
  return kind && kind(static_cast<uint32_t>(block)) == dgemu::BlockKind::silence;
}

/* Chunk boundaries fall in pauses whenever the window had one long enough. */
void check_cut_positions(const SequenceCase &c, const std::vector<stt::TimedTranscript> &chunks) {
  uint32_t pause_blocks = static_cast<uint32_t>((c.min_pause + kBlock - 1) / kBlock) + 1;
  for (size_t i = 0; i + 1 < chunks.size(); i++) {
    uint64_t start = chunks[i].start, cut = chunks[i].start + chunks[i].duration;
    if (is_silence(c.kind, cut / kBlock))
      continue;
    /* Cut in speech: legal only when no full pause lay in [start+min, cut). */
    uint32_t run = 0;
    for (uint64_t b = (start + c.min_chunk + kBlock - 1) / kBlock; b * kBlock < cut; b++) {
      run = is_silence(c.kind, b) ? run + 1 : 0;
      CHECK(!(run >= pause_blocks && (b + 1) * kBlock <= cut),
            "%s: chunk %zu cut in speech at %" GST_TIME_FORMAT " though a pause ended at block "
            "%" G_GUINT64_FORMAT,
            c.name, i, GST_TIME_ARGS(cut), b);
    }
  }
}

void check_exactly_once(const SequenceCase &c, Rig &rig) {
  uint64_t total = c.blocks * kBlock;
  auto lock = rig.lock();
  CHECK(!rig.transcripts.empty(), "%s: no transcript", c.name);

  /* With several channels (multichannel=true) each chunk has one result per
   * channel; every channel's results must hold all of the following. */
  for (int channel = 0; channel < c.channels; channel++) {
    std::vector<stt::TimedTranscript> ts_channel;
    for (const auto &t : rig.transcripts)
      if (t.channel == channel)
        ts_channel.push_back(t);
    const auto &ts = ts_channel;
    /* Chunks tile the audio: contiguous, in order, one fresh session each. */
    std::set<std::string> sessions;
    uint64_t expected_start = 0;
    for (const auto &t : ts) {
      CHECK(t.start == expected_start,
            "%s: chunk at %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, c.name,
            GST_TIME_ARGS(t.start), GST_TIME_ARGS(expected_start));
      CHECK(t.branch == "batch" && t.is_final);
      CHECK(is_session_id(t.session_id), "%s: session id '%s'", c.name, t.session_id.c_str());
      CHECK(sessions.insert(t.session_id).second, "%s: session id reused", c.name);
      CHECK(t.duration <= c.max_chunk + kTolerance);
      expected_start = t.start + t.duration;
    }
    CHECK(expected_start == total, "%s: chunks end at %" GST_TIME_FORMAT, c.name,
          GST_TIME_ARGS(expected_start));

    /* Every block once, at its own time. */
    std::vector<long> seen;
    for (const auto &t : ts) {
      for (const auto &w : t.words) {
        long b = block_of(w.word);
        CHECK(b >= 0, "%s: unexpected word '%s'", c.name, w.word.c_str());
        uint64_t at = static_cast<uint64_t>(b) * kBlock;
        CHECK(w.start + kTolerance >= at && w.start <= at + kTolerance,
              "%s: %s starts at %" GST_TIME_FORMAT, c.name, w.word.c_str(), GST_TIME_ARGS(w.start));
        uint64_t end = std::min(at + kBlock, t.start + t.duration);
        CHECK(w.end + kTolerance >= end && w.end <= end + kTolerance,
              "%s: %s ends at %" GST_TIME_FORMAT, c.name, w.word.c_str(), GST_TIME_ARGS(w.end));
        CHECK(w.start >= t.start && w.end <= t.start + t.duration);
        seen.push_back(b);
      }
    }
    CHECK(seen.size() == c.blocks, "%s: %zu words for %u blocks", c.name, seen.size(), c.blocks);
    for (size_t i = 0; i < seen.size(); i++)
      CHECK(seen[i] == static_cast<long>(i), "%s: word %zu is block %ld", c.name, i, seen[i]);
  }

  /* Upstream: the same transcripts, each followed by its ack, then drained. */
  std::vector<stt::TimedTranscript> events;
  uint64_t last_ack = 0;
  for (size_t i = 0; i < rig.upstream.size(); i++) {
    const Upstream &u = rig.upstream[i];
    if (!u.is_ack) {
      events.push_back(u.transcript);
      continue;
    }
    CHECK(u.ack.position >= last_ack, "%s: ack went back", c.name);
    last_ack = u.ack.position;
    if (!u.ack.drained) {
      CHECK(!events.empty() && u.ack.position == events.back().start + events.back().duration);
    }
  }
  const auto &ts = rig.transcripts;
  CHECK(events.size() == ts.size());
  for (size_t i = 0; i < ts.size(); i++)
    CHECK(events[i].session_id == ts[i].session_id && events[i].start == ts[i].start);
  CHECK(rig.order.back() == "drained", "%s: last upstream event %s", c.name,
        rig.order.back().c_str());
  CHECK(rig.upstream.back().ack.position == total);
  CHECK(rig.dropped.empty() && rig.warnings.empty() && rig.errors.empty());
  CHECK(rig.stats_notifies > 0);

  check_cut_positions(c, ts);
}

void run_case(const SequenceCase &c) {
  auto emu = start_emulator();
  Rig rig(emu->http_url(), c.rate, c.channels, [&](GstElement *sink) {
    auto ms = [](uint64_t ns) { return static_cast<guint>(ns / GST_MSECOND); };
    g_object_set(sink, "min-chunk", ms(c.min_chunk), "max-chunk", ms(c.max_chunk), "min-pause",
                 ms(c.min_pause), "max-in-flight", c.in_flight, "multichannel", c.channels > 1,
                 nullptr);
    gst_util_set_object_arg(G_OBJECT(sink), "encoding", c.encoding);
  });
  CHECK(rig.push_blocks(0, c.blocks, c.kind, c.buffer_frames) == GST_FLOW_OK);
  /* EOS returns once the backlog is transcribed: everything is here now. */
  CHECK(rig.eos());
  check_exactly_once(c, rig);

  CHECK(rig.stat_u64("chunks-transcribed") * c.channels == rig.transcripts.size());
  CHECK(std::abs(rig.stat_seconds("audio-uploaded") - c.blocks / 10.0) < 1e-6);
  CHECK(rig.stat_seconds("audio-backlog") == 0.0);
  CHECK(rig.stat_u64("failures") == 0 && rig.stat_u64("retries") == 0);
  CHECK(rig.stat_u64("requests") * c.channels == rig.transcripts.size());
  CHECK(emu->counters().batch_ok * c.channels == static_cast<long long>(rig.transcripts.size()));
  /* The bodies: WAV (header per request plus the PCM), or FLAC, far smaller. */
  uint64_t pcm = static_cast<uint64_t>(c.blocks) * c.rate / 10 * c.channels * 2;
  uint64_t sent = rig.stat_u64("bytes-sent");
  if (g_str_equal(c.encoding, "linear16"))
    CHECK(sent == pcm + 44 * rig.stat_u64("requests"), "%s: %" G_GUINT64_FORMAT " bytes sent",
          c.name, sent);
  else
    CHECK(sent > 0 && sent < pcm * 8 / 10,
          "%s: %" G_GUINT64_FORMAT " bytes sent for %" G_GUINT64_FORMAT " of PCM", c.name, sent,
          pcm);
}

/* Silence runs of 1 to 5 blocks at pseudo-random places. */
dgemu::BlockKind scattered_pauses(uint32_t block) {
  uint32_t h = (block / 8) * 2654435761u;
  uint32_t run = 1 + (h >> 13) % 5, at = (h >> 7) % 8;
  uint32_t in = block % 8;
  return in >= at && in < at + run ? dgemu::BlockKind::silence : dgemu::BlockKind::speech;
}

} // namespace

static void test_pauses_every_two_seconds() {
  run_case({"16k mono, 400 ms pause every 2 s", 16000, 1, 300,
            dgemu::sequence_pattern("ssssssssssssssss...."), GST_SECOND, 5 * GST_SECOND,
            300 * GST_MSECOND, 160, 2});
}

static void test_irregular_pauses_stereo_48k() {
  run_case({"48k stereo, irregular pauses", 48000, 2, 200,
            dgemu::sequence_pattern("sssssss...sssssssssssss...."), GST_SECOND / 2, 3 * GST_SECOND,
            300 * GST_MSECOND, 1234, 4});
}

static void test_no_pauses_cut_at_max_chunk() {
  run_case({"8k mono, speech only",
            8000,
            1,
            120,
            {},
            GST_SECOND,
            2500 * GST_MSECOND,
            300 * GST_MSECOND,
            8000,
            3});
}

static void test_scattered_pauses() {
  run_case({"16k mono, scattered pauses, one request at a time", 16000, 1, 400, scattered_pauses,
            2 * GST_SECOND, 6 * GST_SECOND, 200 * GST_MSECOND, 441, 1});
}

static void test_six_channels_short_chunks() {
  run_case({"44.1k 6 channels, short chunks", 44100, 6, 90, dgemu::sequence_pattern("sss.."),
            300 * GST_MSECOND, 1500 * GST_MSECOND, 200 * GST_MSECOND, 4410, 8});
}

/* encoding=flac: each chunk one FLAC file, the same words at the same times. */
static void test_flac_pauses_every_two_seconds() {
  run_case({"16k mono flac, 400 ms pause every 2 s", 16000, 1, 300,
            dgemu::sequence_pattern("ssssssssssssssss...."), GST_SECOND, 5 * GST_SECOND,
            300 * GST_MSECOND, 160, 2, "flac"});
}

static void test_flac_irregular_pauses_stereo_48k() {
  run_case({"48k stereo flac, irregular pauses", 48000, 2, 200,
            dgemu::sequence_pattern("sssssss...sssssssssssss...."), GST_SECOND / 2, 3 * GST_SECOND,
            300 * GST_MSECOND, 1234, 4, "flac"});
}

/* stt/flush cuts at once and is acked only after everything before it, even
 * when a later request finishes first. */
static void test_flush_ordering() {
  auto emu = start_emulator();
  /* The first upload is answered last. */
  inject(*emu, R"([{"type":"batch_delay","ms":600,"count":1}])");
  Rig rig(emu->http_url(), 16000, 1, [](GstElement *sink) {
    g_object_set(sink, "max-in-flight", 4u, "min-chunk", 10000u, "max-chunk", 30000u, nullptr);
  });
  guint64 transcribed_at_first = 0;
  bool first = true;
  rig.upstream_hook = [&](const Upstream &u) {
    if (!u.is_ack && first) {
      first = false;
      transcribed_at_first = rig.stat_u64("chunks-transcribed");
    }
  };
  CHECK(rig.push_blocks(0, 10, {}, 1600) == GST_FLOW_OK);
  rig.flush(1);
  /* Chunk 0 must be the delayed request: wait until the emulator holds it. */
  for (int i = 0; i < 1000 && emu->counters().fired("batch_delay") == 0; i++)
    g_usleep(2000);
  CHECK(emu->counters().fired("batch_delay") == 1);
  for (uint32_t i = 1; i < 3; i++) {
    CHECK(rig.push_blocks(i * 10, 10, {}, 1600) == GST_FLOW_OK);
    rig.flush(i + 1);
  }
  CHECK(rig.wait_for([&] { return rig.order.size() >= 9; }), "flushes not acked");
  auto lock = rig.lock();
  std::vector<std::string> expected;
  for (uint64_t i = 0; i < 3; i++) {
    expected.push_back("t:" + std::to_string(i * GST_SECOND));
    expected.push_back("ack:" + std::to_string((i + 1) * GST_SECOND));
    expected.push_back("flush:" + std::to_string(i + 1));
  }
  CHECK(rig.order == expected, "upstream order: %s ...", rig.order[0].c_str());
  for (const Upstream &u : rig.upstream) {
    if (u.is_ack && u.ack.flush_id)
      CHECK(u.ack.position == u.ack.flush_id * GST_SECOND);
  }
  /* The later chunks were done before the first one: order was restored. */
  CHECK(transcribed_at_first == 3, "chunks done at first result: %" G_GUINT64_FORMAT,
        transcribed_at_first);
  for (size_t i = 0; i < 3; i++) {
    CHECK(rig.transcripts[i].words.size() == 10);
    CHECK(block_of(rig.transcripts[i].words[0].word) == static_cast<long>(i * 10));
  }
}

/* A flush with nothing held is acked at once, at the end of what came. */
static void test_flush_when_idle() {
  auto emu = start_emulator();
  Rig rig(emu->http_url(), 16000, 1);
  rig.flush(41);
  CHECK(rig.wait_for([&] { return !rig.order.empty(); }));
  auto lock = rig.lock();
  CHECK(rig.order[0] == "flush:41");
}

/* EOS waits for slow answers: when it returns, all results are out. */
static void test_eos_drains_backlog() {
  auto emu = start_emulator();
  inject(*emu, R"([{"type":"batch_delay","ms":300,"count":3}])");
  Rig rig(emu->http_url(), 16000, 1, [](GstElement *sink) {
    g_object_set(sink, "min-chunk", 1000u, "max-chunk", 1000u, "max-in-flight", 1u, nullptr);
  });
  CHECK(rig.push_blocks(0, 30, {}, 1600) == GST_FLOW_OK);
  {
    auto lock = rig.lock();
    CHECK(rig.transcripts.size() < 3, "answers came before the delay");
  }
  CHECK(rig.eos());
  auto lock = rig.lock();
  CHECK(rig.transcripts.size() == 3);
  CHECK(rig.order.back() == "drained");
  CHECK(rig.upstream.back().ack.position == 3 * GST_SECOND);
  CHECK(rig.dropped.empty());
}

int main(int argc, char **argv) {
  return run_tests(
      argc, argv,
      {
          {"/dgbatchsink-sequence/pauses-every-two-seconds", test_pauses_every_two_seconds},
          {"/dgbatchsink-sequence/irregular-pauses-stereo-48k", test_irregular_pauses_stereo_48k},
          {"/dgbatchsink-sequence/no-pauses-cut-at-max-chunk", test_no_pauses_cut_at_max_chunk},
          {"/dgbatchsink-sequence/scattered-pauses", test_scattered_pauses},
          {"/dgbatchsink-sequence/flac-pauses-every-two-seconds",
           test_flac_pauses_every_two_seconds},
          {"/dgbatchsink-sequence/flac-irregular-pauses-stereo-48k",
           test_flac_irregular_pauses_stereo_48k},
          {"/dgbatchsink-sequence/six-channels-short-chunks", test_six_channels_short_chunks},
          {"/dgbatchsink-sequence/flush-ordering", test_flush_ordering},
          {"/dgbatchsink-sequence/flush-when-idle", test_flush_when_idle},
          {"/dgbatchsink-sequence/eos-drains-backlog", test_eos_drains_backlog},
      });
}
