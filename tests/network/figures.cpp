/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "figures.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

namespace nettest {

namespace {

/* The targets (seconds). */
constexpr double kDetectSending = 5.0;
constexpr double kKeepaliveInterval = 3.0; /* dgstreamsink's default keepalive-interval */
constexpr double kIdleSlack = 3.0;         /* "a few seconds" beyond it */
constexpr double kFirstCaption = 5.0;
constexpr double kRecovered = 15.0;
constexpr double kSlowLinkLateness = 5.0; /* dgtranscribebin's default latency */
/* A noisy 2-core machine: scheduling, the 50 ms stats sampling and the
 * 200 ms steps of the event timer; never a figure's own margin. */
constexpr double kTolerance = 1.5;

constexpr double kBlock = 0.1; /* seconds per sequence block */

double secs(GstClockTime t) {
  return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<double>(t) / GST_SECOND : -1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size()) + 0.999999);
  return v[std::min(v.size(), std::max<size_t>(i, 1)) - 1];
}

bool block_of(const std::string &word, uint32_t *b) {
  unsigned v = 0;
  char tail = 0;
  if (std::sscanf(word.c_str(), "b%6u%c", &v, &tail) != 1)
    return false;
  *b = v;
  return true;
}

std::string fmt_signed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

/* An instant or duration: -1 is "never", shown as "-". */
std::string fmt(double v) {
  if (v < 0)
    return "-";
  return fmt_signed(v);
}

} // namespace

const char *name(Kind k) {
  switch (k) {
  case Kind::sending:
    return "sending";
  case Kind::idle:
    return "idle";
  case Kind::slow:
    return "slow";
  case Kind::loss:
    return "loss";
  case Kind::none:
    return "none";
  }
  return "?";
}

bool parse_kind(const std::string &text, Kind *k) {
  for (Kind c : {Kind::sending, Kind::idle, Kind::slow, Kind::loss, Kind::none})
    if (text == name(c)) {
      *k = c;
      return true;
    }
  return false;
}

Figures measure(const Recording &r) {
  Figures f;
  f.event = secs(r.event);
  f.restored = secs(r.restored);
  f.eos = r.eos;
  f.finals = r.finals.size();
  f.warnings = r.warnings.size();
  f.errors = r.errors.size();
  f.degraded = r.degraded.size();
  f.recovered_count = r.recovered.size();

  /* Detection: stt/degraded (the bin) or the sink's failure count going up. */
  if (GST_CLOCK_TIME_IS_VALID(r.event)) {
    if (r.target == Target::bin) {
      for (const Stamped &d : r.degraded)
        if (d.at >= r.event) {
          f.detect = secs(d.at - r.event);
          break;
        }
    } else {
      uint64_t before = 0;
      for (const StatsSample &s : r.stats) {
        if (s.at <= r.event) {
          before = s.failures;
        } else if (s.failures > before) {
          f.detect = secs(s.at - r.event);
          break;
        }
      }
    }
  }
  if (GST_CLOCK_TIME_IS_VALID(r.event) && GST_CLOCK_TIME_IS_VALID(r.restored)) {
    bool live = r.target != Target::batch;
    auto attempts = [&](const StatsSample &s) { return live ? s.connect_attempts : s.requests; };
    uint64_t at_event = 0, at_restore = 0;
    for (const StatsSample &s : r.stats) {
      if (s.at <= r.event)
        at_event = attempts(s);
      if (s.at <= r.restored)
        at_restore = attempts(s);
    }
    f.attempts_in_outage = at_restore - at_event;
  }
  if (r.target == Target::batch && GST_CLOCK_TIME_IS_VALID(r.event)) {
    GstClockTime until = GST_CLOCK_TIME_IS_VALID(r.restored) ? r.restored : GST_CLOCK_TIME_NONE;
    uint64_t requests_before = 0;
    for (const StatsSample &s : r.stats) {
      if (s.at <= r.event) {
        requests_before = s.requests;
        continue;
      }
      if (GST_CLOCK_TIME_IS_VALID(until) && s.at >= until)
        break;
      if (s.in_flight > 0 || s.requests > requests_before) {
        f.first_send = secs(s.at - r.event);
        break;
      }
    }
  }
  GstClockTime from = GST_CLOCK_TIME_IS_VALID(r.event) ? r.event : 0;
  for (const Stamped &w : r.warnings)
    if (w.at >= from) {
      f.warning = secs(w.at - from);
      break;
    }

  if (GST_CLOCK_TIME_IS_VALID(r.restored)) {
    /* The first caption of the backlog: audio sent before the network came
     * back; without a backlog (all reported dropped, or none), any caption. */
    for (const Final &x : r.finals)
      if (x.at >= r.restored && x.t.start < r.restored) {
        f.first_caption = secs(x.at - r.restored);
        f.first_caption_backlog = true;
        break;
      }
    if (f.first_caption < 0)
      for (const Final &x : r.finals)
        if (x.at >= r.restored) {
          f.first_caption = secs(x.at - r.restored);
          break;
        }
    /* Streaming again: stt/recovered (the bin, once degraded); otherwise the
     * first final for audio sent after the restore. */
    if (r.target == Target::bin && !r.degraded.empty()) {
      for (const Stamped &x : r.recovered)
        if (x.at >= r.restored) {
          f.recovered = secs(x.at - r.restored);
          break;
        }
    } else {
      for (const Final &x : r.finals)
        if (x.at >= r.restored && x.t.start >= r.restored) {
          f.recovered = secs(x.at - r.restored);
          break;
        }
    }
  }

  /* Opus (encoding=opus, or encoding=auto's step down, which its WARNING
   * announces) does not carry the sequence headers through. */
  GstClockTime lossy_from = GST_CLOCK_TIME_NONE;
  if (r.scenario.dut_properties.find("encoding=opus") != std::string::npos)
    lossy_from = 0;
  for (const Stamped &w : r.warnings)
    if (!GST_CLOCK_TIME_IS_VALID(lossy_from) &&
        w.text.find("reconnecting with opus") != std::string::npos)
      lossy_from = w.at;
  if (GST_CLOCK_TIME_IS_VALID(lossy_from))
    f.lossy_from = secs(lossy_from);
  auto lossy = [&](const Final &x) {
    return GST_CLOCK_TIME_IS_VALID(lossy_from) && x.at >= lossy_from;
  };

  /* Accounting over sequence blocks. */
  std::map<uint32_t, int> said;
  std::vector<double> late;
  for (const Final &x : r.finals) {
    if (x.t.words.empty() && lossy(x) && x.t.duration > 0)
      late.push_back(secs(x.at) - secs(x.t.start + x.t.duration));
    for (const dgf::stt::TimedWord &w : x.t.words) {
      uint32_t b = 0;
      if (block_of(w.word, &b))
        said[b]++;
      /* Per word: a pre-recorded chunk's one transcript spans many seconds. */
      late.push_back(secs(x.at) - secs(w.end));
    }
  }
  for (const auto &[b, n] : said)
    if (n > 1)
      f.duplicates++;
  std::set<uint32_t> fed(r.fed.begin(), r.fed.end());
  for (uint32_t b : fed) {
    if (said.count(b)) {
      f.transcribed += kBlock;
      continue;
    }
    GstClockTime mid = b * 100 * GST_MSECOND + 50 * GST_MSECOND;
    bool reported = std::any_of(r.dropped.begin(), r.dropped.end(), [&](const Dropped &d) {
      return d.d.start <= mid && mid < d.d.start + d.d.duration;
    });
    bool answered = std::any_of(r.finals.begin(), r.finals.end(), [&](const Final &x) {
      return lossy(x) && x.t.start <= mid && mid < x.t.start + x.t.duration;
    });
    if (reported) {
      f.dropped += kBlock;
    } else if (answered) {
      f.answered += kBlock;
    } else {
      f.lost += kBlock;
      f.lost_blocks.push_back(b);
    }
  }
  f.fed = static_cast<double>(fed.size()) * kBlock;
  f.late_p50 = percentile(late, 0.5);
  f.late_p95 = percentile(late, 0.95);
  f.late_max = late.empty() ? 0 : *std::max_element(late.begin(), late.end());
  return f;
}

std::vector<Miss> missed_targets(const Figures &f, const Recording &r, Kind kind) {
  std::vector<Miss> missed;
  auto expect = [&](bool ok, const std::string &what) {
    if (!ok)
      missed.push_back({what, false});
  };
  /* A timing target; missing it entirely (never happened) is behaviour. */
  auto expect_soon = [&](double at, double bound, const std::string &what) {
    if (at < 0)
      missed.push_back({what, false});
    else if (at > bound)
      missed.push_back({what, true});
  };
  if (!r.setup_error.empty()) {
    missed.push_back({"the network event could not be applied: " + r.setup_error, false});
    return missed;
  }
  expect(f.eos, "the pipeline reached EOS");
  expect(f.errors == 0, "no ERROR");
  expect(f.lost < kBlock / 2,
         "every second transcribed (or, sent as Opus, answered) or reported dropped (" +
             fmt(f.lost) + " s silently lost)");
  if (kind == Kind::sending || kind == Kind::idle) {
    double bound = kind == Kind::sending ? kDetectSending : kKeepaliveInterval + kIdleSlack;
    /* The pre-recorded sink sends a chunk at a time: its dead path counts
     * from the first request that meets it, and with none (or one sent too
     * late to fail before the restore) there is nothing to detect: the
     * audio waits in the chunk either way. */
    double outage = f.restored >= 0 && f.event >= 0 ? f.restored - f.event : 1e9;
    bool nothing_sent = r.target == Target::batch &&
                        (f.first_send < 0 || f.first_send + bound + kTolerance > outage);
    if (r.target == Target::batch && f.first_send > 0)
      bound += f.first_send;
    if (!nothing_sent) {
      expect_soon(f.detect, bound + kTolerance,
                  "blackhole detected within " + fmt(bound) + " s (+" + fmt(kTolerance) +
                      " s tolerance): " + (f.detect < 0 ? "never" : fmt(f.detect) + " s"));
      expect_soon(f.warning, bound + kTolerance,
                  "a WARNING within " + fmt(bound) + " s (+" + fmt(kTolerance) +
                      " s) of the blackhole: " + (f.warning < 0 ? "none" : fmt(f.warning) + " s"));
    }
    if (kind == Kind::sending)
      expect_soon(f.first_caption, kFirstCaption + kTolerance,
                  "first caption of the backlog within " + fmt(kFirstCaption) + " s (+" +
                      fmt(kTolerance) + " s) of the restore: " +
                      (f.first_caption < 0 ? "none" : fmt(f.first_caption) + " s"));
    /* Streaming again: the bin (stt/recovered) and the live sink; the
     * pre-recorded sink has no streaming to resume. While idle, a standalone
     * sink has no audio to resume with until the source does. */
    if (r.target == Target::bin || (kind == Kind::sending && r.target == Target::stream))
      expect_soon(
          f.recovered, kRecovered + kTolerance,
          "streaming again within " + fmt(kRecovered) + " s (+" + fmt(kTolerance) +
              " s) of the restore: " + (f.recovered < 0 ? "never" : fmt(f.recovered) + " s"));
  }
  if (kind == Kind::slow) {
    /* Too slow is what makes captions late: an encoding that fits needs none. */
    expect(f.warning >= 0 || f.late_p95 <= kSlowLinkLateness,
           "a WARNING that the link is too slow (captions fell behind)");
    /* With default properties a link at half the linear16 rate carries live
     * captions within the latency the bin reports (encoding=auto). */
    if (r.target != Target::batch && r.scenario.dut_properties.empty())
      expect_soon(f.late_p95, kSlowLinkLateness,
                  "captions on time on a link at half the linear16 rate: p95 " + fmt(f.late_p95) +
                      " s after their audio, the latency is " + fmt(kSlowLinkLateness) + " s");
  }
  return missed;
}

std::string table_header() {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-15s %-15s %6s %6s %6s %6s %7s %6s %6s %6s %6s %5s %6s %6s %4s",
                "scenario", "target", "event", "detect", "warn", "restor", "1st-cap", "recov",
                "fed", "transc", "dropd", "lost", "lat50", "lat95", "eos");
  return buf;
}

std::string table_row(const std::string &scenario, const Recording &r, const Figures &f) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "%-15s %-15s %6s %6s %6s %6s %7s %6s %6s %6s %6s %5s %6s %6s %4s",
      scenario.c_str(), name(r.target), fmt(f.event).c_str(), fmt(f.detect).c_str(),
      fmt(f.warning).c_str(), fmt(f.restored).c_str(),
      (fmt(f.first_caption) + (f.first_caption >= 0 && !f.first_caption_backlog ? "*" : ""))
          .c_str(),
      fmt(f.recovered).c_str(), fmt(f.fed).c_str(), fmt(f.transcribed).c_str(),
      fmt(f.dropped).c_str(), fmt(f.lost).c_str(), fmt_signed(f.late_p50).c_str(),
      fmt_signed(f.late_p95).c_str(), f.eos ? "yes" : "no");
  return buf;
}

std::string result_line(const std::string &scenario, const Recording &r, const Figures &f) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "network-result scenario=%s target=%s detect=%.2f warning=%.2f "
                "first-caption=%.2f recovered=%.2f fed=%.1f transcribed=%.1f dropped=%.1f "
                "lost=%.1f answered=%.1f lossy-from=%.2f duplicates=%zu late-p50=%.2f "
                "late-p95=%.2f late-max=%.2f warnings=%zu degraded=%zu eos=%d first-send=%.2f "
                "attempts-in-outage=%" PRIu64,
                scenario.c_str(), name(r.target), f.detect, f.warning, f.first_caption, f.recovered,
                f.fed, f.transcribed, f.dropped, f.lost, f.answered, f.lossy_from, f.duplicates,
                f.late_p50, f.late_p95, f.late_max, f.warnings, f.degraded, f.eos ? 1 : 0,
                f.first_send, f.attempts_in_outage);
  return buf;
}

} // namespace nettest
