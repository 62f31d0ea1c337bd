#!/usr/bin/env python3
"""Runs one example from examples/ against dg-emulator and checks what it produced.

    run_example.py NAME --build BUILD_DIR --source SOURCE_DIR

Each example gets sequence audio (docs/sequence-audio.md): the emulator's sequence engine turns
block n into the word b%06d, so the expected transcript is exact. Where it proves something the
example claims (failover, reconnect, retry), a fault is scheduled and the emulator's counters
confirm it fired. Standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

SKIP = 77
WORD = re.compile(r"\bb\d{6}\b")


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def expected_words(blocks):
    return ["b%06d" % i for i in range(blocks)]


def check_words(words, blocks, where):
    want = expected_words(blocks)
    if words == want:
        return
    missing = sorted(set(want) - set(words))
    dupes = sorted({w for w in words if words.count(w) > 1})
    raise Failure(
        "%s: expected b000000..b%06d once each, in order; got %d words, missing %s, "
        "repeated %s" % (where, blocks - 1, len(words), missing[:10], dupes[:10])
    )


class Emulator:
    """dg-emulator on 127.0.0.1, port 0; stopped with SIGTERM."""

    def __init__(self, binary, faults=None, work=None):
        cmd = [binary, "--port", "0"]
        if faults is not None:
            path = faults
            if not isinstance(faults, str):
                path = os.path.join(work, "faults.json")
                with open(path, "w") as f:
                    json.dump({"faults": faults}, f)
            cmd += ["--faults", path]
        self.log = open(os.path.join(work, "dg-emulator.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready = self.proc.stdout.readline()
        m = re.search(r"DG_EMULATOR_READY port=(\d+)", ready)
        if not m:
            self.proc.kill()
            raise Failure("dg-emulator did not start: %r" % ready)
        self.port = int(m.group(1))
        self.ws = "ws://127.0.0.1:%d/v1/listen" % self.port
        self.http = "http://127.0.0.1:%d/v1/listen" % self.port

    def counters(self):
        url = "http://127.0.0.1:%d/_emulator/counters" % self.port
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Run:
    def __init__(self, opts, work):
        self.opts = opts
        self.work = work
        self.launch = os.path.join(opts.source, "examples", "launch")

    def path(self, name):
        return os.path.join(self.work, name)

    def sequence_wav(self, name, blocks, pattern="ssssssss.."):
        out = self.path(name)
        tool = os.path.join(self.opts.build, "emulator", "dg-sequence-audio")
        subprocess.run(
            [tool, "--rate", "16000", "--blocks", str(blocks), "--pattern", pattern, "-o", out],
            check=True,
        )
        return out

    def run(self, cmd, env=None, timeout=90):
        full_env = dict(os.environ, DEEPGRAM_API_KEY="test")
        full_env.update(env or {})
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.run(
            cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout,
        )
        print(p.stdout, flush=True)
        check(p.returncode == 0, "%s exited with %d" % (cmd[0], p.returncode))
        return p.stdout


def cue_times(text, sep):
    """(start, end) in ms of every cue of a WebVTT (sep '.') or SRT (sep ',') file."""
    pattern = r"(\d+):(\d\d):(\d\d)\%s(\d{3}) --> (\d+):(\d\d):(\d\d)\%s(\d{3})" % (sep, sep)
    out = []
    for m in re.finditer(pattern, text):
        g = [int(x) for x in m.groups()]
        out.append(((g[0] * 60 + g[1]) * 60000 + g[2] * 1000 + g[3],
                    (g[4] * 60 + g[5]) * 60000 + g[6] * 1000 + g[7]))
    return out


def check_caption_file(path, sep, blocks):
    check(os.path.exists(path), "%s was not written" % path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if sep == ".":
        check(text.startswith("WEBVTT"), "%s: no WEBVTT header" % path)
    cues = cue_times(text, sep)
    check(cues, "%s: no cues" % path)
    for i, (start, end) in enumerate(cues):
        check(start < end, "%s: cue %d ends before it starts" % (path, i))
        check(i == 0 or start >= cues[i - 1][1], "%s: cue %d overlaps the one before" % (path, i))
    check_words(WORD.findall(text), blocks, path)


def final_transcripts(gst_launch_output):
    """Words of the final stt/transcript messages printed by gst-launch -m."""
    words = []
    for line in gst_launch_output.splitlines():
        if "stt/transcript" in line and "is-final=(boolean)true" in line:
            m = re.search(r'text=\(string\)"((?:[^"\\]|\\.)*)"', line) or re.search(
                r"text=\(string\)([^,]*)", line
            )
            check(m, "stt/transcript without text: " + line)
            words += WORD.findall(m.group(1).replace("\\ ", " "))
    return words


# --- the examples ---------------------------------------------------------------------------


def example_overlay(r):
    """mic-captions-overlay.sh, the mic replaced by 6 s of audio, the screen by raw frames."""
    wav = r.sequence_wav("speech.wav", 60)
    frames = r.path("frames.gray")
    width, height, fps, count = 320, 240, 10, 80
    emu = Emulator(r.opts.emulator, work=r.work)
    try:
        r.run(
            [os.path.join(r.launch, "mic-captions-overlay.sh")],
            env={
                "DG_LIVE_URL": emu.ws,
                "DG_BATCH_URL": emu.http,
                "AUDIO_SRC": "filesrc location=%s ! wavparse" % wav,
                "VIDEO_SRC": "videotestsrc pattern=black num-buffers=%d ! "
                "video/x-raw,width=%d,height=%d,framerate=%d/1" % (count, width, height, fps),
                # A file is not live: the sink must not wait for a first frame in PAUSED, which
                # textoverlay holds until captions come, which come only once the pipeline plays.
                "VIDEO_SINK": "video/x-raw,format=GRAY8 ! filesink location=%s async=false"
                % frames,
            },
        )
    finally:
        emu.stop()
    with open(frames, "rb") as f:
        data = f.read()
    size = width * height
    check(len(data) == count * size, "expected %d frames, got %d bytes" % (count, len(data)))
    lit = [sum(1 for b in data[i * size:(i + 1) * size] if b > 200) for i in range(count)]
    print("bright pixels per frame:", lit)
    # Captions cover the 6 s of audio (frames 0-59; a frame at a cue change may fall between
    # two cues); the video is black, so text is the only bright thing; after the audio there is
    # nothing to caption.
    shown = sum(1 for n in lit[:60] if n > 100)
    check(shown >= 54, "only %d of the 60 frames during speech show captions" % shown)
    check(all(n == 0 for n in lit[62:]), "frames after the audio should be black")


def example_file_to_captions(r):
    """file-to-captions.sh; the live API closes the connection 2 s in: the rest goes to batch."""
    blocks = 100
    wav = r.sequence_wav("talk.wav", blocks)
    faults = [{"type": "close", "target": "new", "count": 1, "after_bytes": 64000,
               "code": 1011, "reason": "NET-0000"}]
    emu = Emulator(r.opts.emulator, faults=faults, work=r.work)
    try:
        out = r.path("captions")
        r.run(
            [os.path.join(r.launch, "file-to-captions.sh"), wav, out],
            env={"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http},
        )
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check(counters["faults_fired"].get("close") == 1, "the close fault did not fire")
    check(counters["batch_ok"] >= 1, "nothing went to the pre-recorded API")
    check_caption_file(out + ".vtt", ".", blocks)
    check_caption_file(out + ".srt", ",", blocks)


def example_live_transcribe(r):
    """live-transcribe.sh (dgstreamsink alone); its first connection dies 2 s in."""
    blocks = 60
    wav = r.sequence_wav("speech.wav", blocks)
    faults = [{"type": "close", "target": "new", "count": 1, "after_bytes": 64000,
               "code": 1011, "reason": "NET-0000"}]
    emu = Emulator(r.opts.emulator, faults=faults, work=r.work)
    try:
        output = r.run(
            [os.path.join(r.launch, "live-transcribe.sh")],
            env={"DG_LIVE_URL": emu.ws, "AUDIO_SRC": "filesrc location=%s ! wavparse" % wav},
        )
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check(counters["live_accepted"] >= 2, "the sink did not reconnect")
    check_words(final_transcripts(output), blocks, "final stt/transcript messages")


def example_file_transcribe_batch(r):
    """file-transcribe-batch.sh (dgbatchsink alone); the first request gets 503 Retry-After 1."""
    blocks = 80
    wav = r.sequence_wav("talk.wav", blocks)
    faults = [{"type": "batch_error", "status": 503, "retry_after": 1, "count": 1}]
    emu = Emulator(r.opts.emulator, faults=faults, work=r.work)
    try:
        output = r.run(
            [os.path.join(r.launch, "file-transcribe-batch.sh"), wav],
            env={"DG_BATCH_URL": emu.http},
        )
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check(counters["batch_failed"] == 1, "the 503 was not answered")
    check_words(final_transcripts(output), blocks, "final stt/transcript messages")


def check_app_output(output, blocks):
    for line in ("*** DEGRADED", "*** RECOVERED", "--- state: degraded", "--- state: streaming",
                 "final state:  streaming", "drops:        none"):
        check(line in output, "no %r line" % line)
    check(output.index("*** DEGRADED") < output.index("*** RECOVERED"), "recovered before degraded")
    # Captions start with "[start -> end] branch" and may go on over more lines; status lines
    # start with "***", "---" or "    state".
    body = output[output.index("Transcribing"):output.index("\nSummary")].splitlines()[1:]
    text = [l for l in body if not l.startswith(("***", "---", "    state"))]
    captions = [l for l in text if l.startswith("[")]
    check(any(" stream " in l for l in captions), "no caption from the stream branch")
    check(any(" batch " in l for l in captions), "no caption from the batch branch")
    check_words(WORD.findall("\n".join(text)), blocks, "printed captions")
    check("captions:     %d (%d words)" % (len(captions), blocks) in output, "summary counts")


APP_BLOCKS = 180  # 18 s in real time: the outage (3-5 s) and a recovery well before the end


def example_cpp_demo(r):
    """dg-caption-demo (what tools/run-demo.sh runs) through a live outage, in real time."""
    demo_faults = os.path.join(r.opts.source, "examples", "demo", "outage.json")
    Emulator(r.opts.emulator, faults=demo_faults, work=r.work).stop()  # the demo's file loads
    wav = r.sequence_wav("speech.wav", APP_BLOCKS)
    faults = os.path.join(r.opts.source, "tests", "examples", "short-outage.json")
    emu = Emulator(r.opts.emulator, faults=faults, work=r.work)
    vtt, srt = r.path("captions.vtt"), r.path("captions.srt")
    try:
        output = r.run(
            [os.path.join(r.opts.build, "examples", "dg-caption-demo"), "--live-url", emu.ws,
             "--batch-url", emu.http, "--vtt", vtt, "--srt", srt, wav],
        )
    finally:
        emu.stop()
    check_app_output(output, APP_BLOCKS)
    check_caption_file(vtt, ".", APP_BLOCKS)
    check_caption_file(srt, ",", APP_BLOCKS)


def example_python_app(r):
    """examples/python/dg_captions.py through a live outage, in real time."""
    python = r.opts.python
    probe = subprocess.run([python, "-c", "import gi; gi.require_version('Gst', '1.0')"])
    if probe.returncode != 0:
        print("SKIP: %s has no PyGObject (python3-gi, gir1.2-gstreamer-1.0)" % python)
        sys.exit(SKIP)
    wav = r.sequence_wav("speech.wav", APP_BLOCKS)
    faults = os.path.join(r.opts.source, "tests", "examples", "short-outage.json")
    emu = Emulator(r.opts.emulator, faults=faults, work=r.work)
    vtt = r.path("captions.vtt")
    try:
        output = r.run(
            [python, os.path.join(r.opts.source, "examples", "python", "dg_captions.py"),
             "--live-url", emu.ws, "--batch-url", emu.http, "--vtt", vtt, wav],
        )
    finally:
        emu.stop()
    check_app_output(output, APP_BLOCKS)
    check_caption_file(vtt, ".", APP_BLOCKS)


EXAMPLES = {
    "overlay": example_overlay,
    "file-to-captions": example_file_to_captions,
    "live-transcribe": example_live_transcribe,
    "file-transcribe-batch": example_file_transcribe_batch,
    "cpp-demo": example_cpp_demo,
    "python-app": example_python_app,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(EXAMPLES))
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter with gi")
    opts = parser.parse_args()
    opts.emulator = os.path.join(opts.build, "emulator", "dg-emulator")
    with tempfile.TemporaryDirectory(prefix="example-%s-" % opts.name) as work:
        try:
            EXAMPLES[opts.name](Run(opts, work))
        except (Failure, subprocess.TimeoutExpired) as e:
            print("FAIL: %s" % e, flush=True)
            return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
