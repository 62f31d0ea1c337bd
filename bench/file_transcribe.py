#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Files through the three ways of transcribing them: wall time and caption accuracy.

    bench/file_transcribe.py BUILD_DIR [--minutes 10] [--runs 1]

A file of LibriVox speech (the pocketsphinx-testdata clips, each followed by a second of
silence, repeated to --minutes) goes, as a user would send it, through

  bin     filesrc ! wavparse ! dgtranscribebin ! webvttenc ! filesink   (README's one-liner)
  batch   filesrc ! wavparse ! audioconvert ! audioresample ! dgbatchsink
  stream  filesrc ! wavparse ! audioconvert ! audioresample ! dgstreamsink

against one dg-emulator (pocketsphinx engine) in its own process. For each it prints the wall
time, the speed (audio seconds per wall second), the word error rate of the captions (the .vtt
for the bin, the final stt/transcript messages for the sinks) against the clips' reference
transcripts, and the stt/audio-dropped and stt/degraded messages seen. Targets (issue "Files and
every non-live source"): the bin within 1.2x the wall time of the faster sink, and its WER no
worse than the better sink's + 1 point; the table says whether each is met. Figures only: it
never fails on a miss (docs/performance.md keeps the last figures).

Standard library only.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave

CLIPS = "/usr/share/pocketsphinx/test/data/librivox"


def references():
    """Clip name -> lowercase reference words, in the transcription file's order."""
    out = []
    with open(os.path.join(CLIPS, "transcription")) as f:
        for line in f:
            m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line.strip())
            if m:
                out.append((m.group(2), m.group(1).split()))
    return out


def build_input(path, minutes):
    """Writes the speech file; returns (seconds, reference words)."""
    refs = references()
    silence = b"\0\0" * 16000
    words, frames = [], 0
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        while frames < minutes * 60 * 16000:
            for name, ref in refs:
                if frames >= minutes * 60 * 16000:
                    break  # whole clips only: at least one, then up to the length asked
                with wave.open(os.path.join(CLIPS, name + ".wav")) as clip:
                    data = clip.readframes(clip.getnframes())
                out.writeframes(data + silence)
                frames += len(data) // 2 + 16000
                words += ref
    return frames / 16000.0, words


def normalise(text):
    return [w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split() if w]


def word_error_rate(reference, hypothesis):
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(reference))


def vtt_words(path):
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line == "WEBVTT" or "-->" in line or line.isdigit():
                continue
            words += normalise(line)
    return words


def message_words(output):
    """Words of the final stt/transcript messages gst-launch -m printed."""
    words = []
    for line in output.splitlines():
        if "stt/transcript" in line and "is-final=(boolean)true" in line:
            m = re.search(r'text=\(string\)"((?:[^"\\]|\\.)*)"', line) or re.search(
                r"text=\(string\)([^,]*)", line)
            if m:
                words += normalise(m.group(1).replace("\\ ", " ").replace("\\", ""))
    return words


class Emulator:
    def __init__(self, build, log):
        cmd = [os.path.join(build, "emulator", "dg-emulator"), "--port", "0",
               "--engine", "pocketsphinx"]
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        m = re.search(r"port=(\d+)", self.proc.stdout.readline())
        if not m:
            sys.exit("dg-emulator did not start (see %s)" % log)
        self.ws = "ws://127.0.0.1:%s/v1/listen" % m.group(1)
        self.http = "http://127.0.0.1:%s/v1/listen" % m.group(1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def run(args, env):
    start = time.monotonic()
    p = subprocess.run(["gst-launch-1.0", "-m"] + args, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - start
    if p.returncode != 0:
        print(p.stdout[-3000:], file=sys.stderr)
        sys.exit("gst-launch-1.0 failed (%d): %s" % (p.returncode, " ".join(args)))
    return wall, p.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=1, help="runs per pipeline (median kept)")
    opts = parser.parse_args()
    if not os.path.isfile(os.path.join(CLIPS, "transcription")):
        print("no LibriVox clips in %s (Debian's pocketsphinx-testdata): nothing to measure"
              % CLIPS)
        return 77  # meson: skipped
    build = os.path.abspath(opts.build)
    env = dict(os.environ, GST_PLUGIN_PATH=build, DEEPGRAM_API_KEY="bench")

    with tempfile.TemporaryDirectory(prefix="bench-file-") as work:
        speech = os.path.join(work, "speech.wav")
        seconds, reference = build_input(speech, opts.minutes)
        emu = Emulator(build, os.path.join(work, "dg-emulator.log"))
        vtt = os.path.join(work, "captions.vtt")
        src = ["filesrc", "location=" + speech, "!", "wavparse", "!"]
        conv = ["audioconvert", "!", "audioresample", "!"]
        pipelines = {
            "bin": src + ["dgtranscribebin", "stream-url=" + emu.ws, "batch-url=" + emu.http,
                          "!", "webvttenc", "!", "filesink", "location=" + vtt],
            "batch": src + conv + ["dgbatchsink", "url=" + emu.http],
            "stream": src + conv + ["dgstreamsink", "url=" + emu.ws],
        }
        rows = {}
        try:
            for name, args in pipelines.items():
                walls, wer, drops, degraded = [], None, 0, 0
                for _ in range(opts.runs):
                    wall, output = run(args, env)
                    walls.append(wall)
                    words = vtt_words(vtt) if name == "bin" else message_words(output)
                    wer = word_error_rate(reference, words)
                    drops += output.count("stt/audio-dropped")
                    degraded += output.count("stt/degraded")
                rows[name] = (statistics.median(walls), wer, drops, degraded)
        finally:
            emu.stop()

    print("\n%.1f min of LibriVox speech (%d reference words), pocketsphinx engine, %d run(s)\n"
          % (seconds / 60, len(reference), opts.runs))
    print("| pipeline | wall s | x real time | WER | audio-dropped | degraded |")
    print("|---|---|---|---|---|---|")
    for name, (wall, wer, drops, degraded) in rows.items():
        print("| %s | %.1f | %.1f | %.3f | %d | %d |" % (name, wall, seconds / wall, wer, drops,
                                                       degraded))
    faster = min(rows["batch"][0], rows["stream"][0])
    better = min(rows["batch"][1], rows["stream"][1])
    bin_wall, bin_wer = rows["bin"][0], rows["bin"][1]
    print("\nbin wall / faster sink: %.2f (target <= 1.2): %s" % (
        bin_wall / faster, "met" if bin_wall <= 1.2 * faster else "MISSED"))
    print("bin WER - better sink: %+.3f (target <= +0.010): %s" % (
        bin_wer - better, "met" if bin_wer <= better + 0.01 else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
