#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs one example from examples/ (or one pipeline of the docs) against dg-emulator, the way a
user would run it, and checks what it produced.

    run_example.py NAME --build BUILD_DIR --source SOURCE_DIR
    run_example.py readme --bin /usr/bin --source SOURCE_DIR    (the installed programs and
                                                                 plugin: tools/run-package.sh)

Input is longer than a minute, from files that are not live: WAV at 16, 44.1 and 48 kHz, mono
and stereo, and MP3, Ogg/Opus and MP4 made at test time.
- Sequence audio (docs/sequence-audio.md): the emulator's sequence engine turns block n into
  the word b%06d, so the expected captions are exact: every block once, in order, each cue
  starting at its first block's time (TIME_TOLERANCE_MS).
- Real speech (the LibriVox clips of pocketsphinx-testdata, repeated to over a minute) against
  the pocketsphinx engine: word error rate against the reference, printed, within a bound.
Where an example claims to survive something (an outage, a reconnect, a retry) the fault is
injected and the emulator's counters confirm it fired. Pipelines quoted in the docs are read
from the docs themselves (doc_pipelines.py, pipelines.json) and run as written, with only the
endpoints, the file names and gst-launch's -m (print bus messages) changed.
Standard library only.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_pipelines  # noqa: E402

SKIP = 77
WORD = re.compile(r"\bb(\d{6})\b")
CAPTION_START = re.compile(r"\[\d\d:\d\d:\d\d\.\d -> ")
BLOCK_MS = 100
TIME_TOLERANCE_MS = 5  # a cue starts at its first block's time, to the millisecond
LIVE_LATENCY_MS = 5000  # sttfailover's default latency: how late a live caption may be
PATTERN = "ssssssss.."  # 0.8 s of speech, 0.2 s of silence
LONG_BLOCKS = 750  # 75 s: "longer than a minute"
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"
MAX_WER = 0.5  # measured 0.333 (MP3) and 0.343 (Opus) on 3 x the 5 clips, 0.5 s apart


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, what):
    """A condition the rest of the test needs: fails the test at once."""
    if not condition:
        raise Failure(what)


FOUND = []  # failures of expect(): reported together at the end of the test


def expect(condition, what):
    """An independent property: recorded, and the test goes on checking the others, so one run
    reports every way it went wrong."""
    if not condition:
        print("FAILED CHECK: " + what, flush=True)
        FOUND.append(what)
    return bool(condition)


def expecting(fn, *args):
    """Runs a check function that raises Failure as an expect()."""
    try:
        return fn(*args)
    except Failure as e:
        expect(False, str(e))
        return None


def check_words(words, blocks, where):
    want = ["b%06d" % i for i in range(blocks)]
    if words == want:
        return
    missing = sorted(set(want) - set(words))
    dupes = sorted({w for w in words if words.count(w) > 1})
    first_bad = next((i for i, (a, b) in enumerate(zip(words, want)) if a != b),
                     min(len(words), len(want)))
    raise Failure(
        "%s: expected b000000..b%06d once each, in order; got %d words, missing %d %s, "
        "repeated %s, first difference at position %d" % (
            where, blocks - 1, len(words), len(missing), missing[:10], dupes[:10], first_bad))


# --- the emulator ----------------------------------------------------------------------------


class Emulator:
    """dg-emulator on 127.0.0.1, port 0; stopped with SIGTERM."""

    def __init__(self, binary, work, faults=None, engine="sequence"):
        cmd = [binary, "--port", "0", "--engine", engine]
        if faults is not None:
            path = faults
            if not isinstance(faults, str):
                path = os.path.join(work, "faults.json")
                with open(path, "w") as f:
                    json.dump({"faults": faults}, f)
            cmd += ["--faults", path]
        self.log_path = os.path.join(work, "dg-emulator-%s.log" % engine)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready = self.proc.stdout.readline()
        m = re.search(r"DG_EMULATOR_READY port=(\d+)", ready)
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            with open(self.log_path) as f:
                why = f.read().strip()
            if engine != "sequence" and engine in why:
                raise Skip("dg-emulator has no %s engine: %s" % (engine, why))
            raise Failure("dg-emulator did not start: %r %s" % (ready, why))
        self.port = int(m.group(1))
        self.base = "127.0.0.1:%d" % self.port
        self.ws = "ws://%s/v1/listen" % self.base
        self.http = "http://%s/v1/listen" % self.base

    def _control(self, path, body=None):
        url = "http://%s/_emulator/%s" % (self.base, path)
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            return json.load(r)

    def counters(self):
        return self._control("counters")

    def inject(self, fault):
        return self._control("faults", fault)

    def cpu_seconds(self):
        """CPU time the emulator used so far (recognition shows here before any counter)."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# --- gst-launch output -----------------------------------------------------------------------

MESSAGE = re.compile(r'^Got message #\d+ from (?:element|pad|object|bin|pipeline) "([^"]*)" '
                     r'\(([\w-]+)\): (.*)$')


def bus_messages(output, name):
    """Details of the element messages named `name` that gst-launch -m printed."""
    out = []
    for line in output.splitlines():
        m = MESSAGE.match(line)
        if m and (m.group(3) == name or m.group(3).startswith(name + ",")):
            out.append(m.group(3))
    return out


def problems(output):
    """Lines by which gst-launch (or GLib) reports a warning or an error."""
    bad = re.compile(r"^(WARNING|ERROR)\b|^Got message #\d+ .*\((warning|error)\):"
                     r"|-(WARNING|CRITICAL) \*\*")
    return [line for line in output.splitlines() if bad.search(line)]


def check_clean(output, where, degraded=0, warnings=False):
    """Nothing dropped, `degraded` outages, no ERROR (nor WARNING unless `warnings`)."""
    dropped = bus_messages(output, "stt/audio-dropped")
    expect(not dropped, "%s: %d stt/audio-dropped: %s" % (where, len(dropped), dropped[:3]))
    got = bus_messages(output, "stt/degraded")
    expect(len(got) == degraded, "%s: %d stt/degraded, expected %d: %s"
           % (where, len(got), degraded, got[:3]))
    bad = [p for p in problems(output) if warnings is False or "ERROR" in p or "(error)" in p
           or "CRITICAL" in p]
    expect(not bad, "%s: %s in the output: %s" % (
        where, "warnings or errors" if not warnings else "errors", bad[:5]))


def final_transcripts(gst_launch_output):
    """Words of the final stt/transcript messages printed by gst-launch -m."""
    words = []
    for details in bus_messages(gst_launch_output, "stt/transcript"):
        if "is-final=(boolean)true" not in details:
            continue
        m = re.search(r'text=\(string\)"((?:[^"\\]|\\.)*)"', details) or re.search(
            r"text=\(string\)([^,]*)", details)
        check(m, "stt/transcript without text: " + details)
        words += ["b" + w for w in WORD.findall(m.group(1).replace("\\ ", " "))]
    return words


# --- caption files ---------------------------------------------------------------------------


def parse_cues(text, sep):
    """[(start ms, end ms, text)] of a WebVTT (sep '.') or SRT (sep ',') file."""
    stamp = r"(\d+):(\d\d):(\d\d)\%s(\d{3})" % sep
    arrow = re.compile(stamp + r" --> " + stamp)
    cues = []
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        lines = block.strip("\n").split("\n")
        for i, line in enumerate(lines):
            m = arrow.search(line)
            if m:
                g = [int(x) for x in m.groups()]
                start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
                end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
                cues.append((start, end, "\n".join(lines[i + 1:])))
                break
    return cues


def read_cues(path, sep):
    check(os.path.exists(path), "%s was not written" % path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if sep == ".":
        check(text.startswith("WEBVTT"), "%s: no WEBVTT header" % path)
    cues = parse_cues(text, sep)
    check(cues, "%s: no cues" % path)
    for i, (start, end, _) in enumerate(cues):
        check(start < end, "%s: cue %d (%d --> %d ms) is empty or ends before it starts"
              % (path, i, start, end))
        check(i == 0 or start >= cues[i - 1][1], "%s: cue %d (%d ms) overlaps the one before "
              "(ends %d ms)" % (path, i, start, cues[i - 1][1]))
    return cues


def check_caption_file(path, sep, blocks, exact_times=True, live_output=None):
    """Every block once, in order, in cues that are ordered, non-empty and never overlap; with
    exact_times each cue starts at its first block's time and holds only blocks it spans.

    live_output: the caption stream was live (its text pad moved with the clock), so a caption
    the service returned late is shown late, never early; one later than sttfailover's
    latency (LIVE_LATENCY_MS) must have been reported by a WARNING ("Captions are late"),
    which the applications print as "warning: ..." in live_output."""
    cues = read_cues(path, sep)
    words = []
    off = []
    worst = 0
    for start, end, text in cues:
        nums = [int(n) for n in WORD.findall(text)]
        words += ["b%06d" % n for n in nums]
        if not exact_times or not nums:
            continue
        lateness = start - nums[0] * BLOCK_MS
        worst = max(worst, lateness)
        if live_output is not None and lateness > -TIME_TOLERANCE_MS:
            continue  # late is allowed (reported below); early is not
        if abs(lateness) > TIME_TOLERANCE_MS:
            off.append("cue %d-%d ms starts with b%06d (%d ms)"
                       % (start, end, nums[0], nums[0] * BLOCK_MS))
        for n in nums:
            if not start - TIME_TOLERANCE_MS <= n * BLOCK_MS < end + TIME_TOLERANCE_MS:
                off.append("b%06d (%d ms) in cue %d-%d ms" % (n, n * BLOCK_MS, start, end))
    print("%s: %d cues, %d words, %d off their blocks' time (tolerance %d ms), latest cue "
          "%d ms after its first word" % (path, len(cues), len(words), len(off),
                                          TIME_TOLERANCE_MS, worst))
    expecting(check_words, words, blocks, path)
    expect(not off, "%s: %d words or cues off their blocks' time: %s" % (
        path, len(off), off[:5]))
    if live_output is not None and worst > LIVE_LATENCY_MS + TIME_TOLERANCE_MS:
        expect(re.search(r"(?mi)^warning: .*\bcaptions are late\b", live_output),
               "%s: a cue is shown %d ms after its words (latency %d ms), but no WARNING "
               "said captions are late" % (path, worst, LIVE_LATENCY_MS))
    return cues


def check_same_cues(vtt, srt):
    a, b = read_cues(vtt, "."), read_cues(srt, ",")
    expect(a == b, "%s and %s differ: %d and %d cues" % (vtt, srt, len(a), len(b)))


def caption_words(cues):
    """Lower-case words of real-speech captions, formatting undone as far as WER needs."""
    words = []
    for _, _, text in cues:
        for w in re.findall(r"[a-z']+", text.lower()):
            words.append({"mr": "mister"}.get(w, w))
    return words


def word_error_rate(reference, hypothesis):
    row = list(range(len(hypothesis) + 1))
    for i in range(1, len(reference) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(hypothesis) + 1):
            substitute = diagonal + (reference[i - 1] != hypothesis[j - 1])
            diagonal = row[j]
            row[j] = min(substitute, row[j] + 1, row[j - 1] + 1)
    return row[len(hypothesis)] / max(len(reference), 1)


# --- running things --------------------------------------------------------------------------


def shown(output, limit=60):
    """What to print of a gst-launch -m run: everything but the flood of routine messages."""
    keep = re.compile(r"stt/(degraded|recovered|audio-dropped|breaker)|\((warning|error)\)")
    lines = output.splitlines()
    out = [l for l in lines if not l.startswith("Got message #") or keep.search(l)]
    routine = len(lines) - len(out)
    if len(out) > limit:
        out = out[:limit // 2] + ["... %d lines ..." % (len(out) - limit)] + out[-limit // 2:]
    if routine:
        out.append("(%d routine bus messages not shown)" % routine)
    return "\n".join(out)


class Run:
    def __init__(self, opts, work):
        self.opts = opts
        self.work = work
        self.launch = os.path.join(opts.source, "examples", "launch")

    def path(self, name):
        return os.path.join(self.work, name)

    def emulator(self, **kw):
        return Emulator(self.opts.emulator, self.work, **kw)

    def sequence_wav(self, name, blocks, rate=16000, channels=1, pattern=PATTERN):
        out = self.path(name)
        subprocess.run([self.opts.sequence_audio, "--rate", str(rate), "--channels",
                        str(channels), "--blocks", str(blocks), "--pattern", pattern, "-o", out],
                       check=True)
        print("input: %s, %d blocks (%.1f s), %d Hz, %d channel(s), WAV"
              % (name, blocks, blocks * BLOCK_MS / 1000, rate, channels))
        return out

    def speech_wav(self, name, rounds=3, gap=0.5, tail=0.0, lead=0.0):
        """`lead` s of silence, the LibriVox clips, `rounds` times over, `gap` s apart, then
        `tail` s of silence: (path, reference words, [(begin s, end s)] of each clip)."""
        transcription = os.path.join(LIBRIVOX, "transcription")
        if not os.path.exists(transcription):
            raise Skip("no LibriVox clips (Debian's pocketsphinx-testdata) in " + LIBRIVOX)
        utterances = []
        with open(transcription) as f:
            for line in f:
                m = re.match(r"<s> (.*) </s> \((\S+)\)", line.strip())
                if m:
                    utterances.append((m.group(2), m.group(1).split()))
        out = self.path(name)
        reference, spans, at = [], [], int(lead * 16000)
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(b"\0\0" * at)
            for r in range(rounds):
                for i, (uid, words) in enumerate(utterances):
                    with wave.open(os.path.join(LIBRIVOX, uid + ".wav")) as clip:
                        check(clip.getframerate() == 16000 and clip.getnchannels() == 1,
                              uid + ": not 16 kHz mono")
                        frames = clip.readframes(clip.getnframes())
                    w.writeframes(frames)
                    spans.append((at / 16000, (at + len(frames) // 2) / 16000))
                    at += len(frames) // 2
                    reference += words
                    last = r == rounds - 1 and i == len(utterances) - 1
                    pad = int((tail if last else gap) * 16000)
                    w.writeframes(b"\0\0" * pad)
                    at += pad
        print("input: %s, LibriVox speech, %.1f s, %d reference words" % (
            name, at / 16000, len(reference)))
        return out, reference, spans, at / 16000

    def env(self, extra):
        full = dict(os.environ, DEEPGRAM_API_KEY="test")
        full.update(extra or {})
        return full

    def run(self, cmd, env=None, timeout=90, expect_exit=0, progress=None, stall=None,
            on_poll=None):
        """Runs cmd, prints what it printed (routine bus messages left out), checks its exit
        status. With `progress` (a function whose value changes while the run gets on: file
        sizes, emulator counters), a run whose progress stands still for `stall` s is a hang:
        it is killed and reported at once rather than at the timeout. `on_poll` is called
        every 0.2 s while it runs (to inject a fault when the run has got somewhere)."""
        print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        start = time.monotonic()
        log_path = self.path("output-%d.log" % len(os.listdir(self.work)))
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, env=self.env(env), stdout=log,
                                    stderr=subprocess.STDOUT, text=True)
            last, last_change, hung = None, start, None
            while proc.poll() is None:
                now = time.monotonic()
                if now - start > timeout:
                    hung = "did not finish within %d s" % timeout
                elif progress is not None:
                    value = progress()
                    if value != last:
                        last, last_change = value, now
                    elif now - last_change > stall:
                        hung = "made no progress for %d s (%s), %.0f s in" % (
                            stall, value, now - start)
                if hung:
                    proc.kill()
                    proc.wait()
                    break
                if on_poll is not None:
                    on_poll()
                time.sleep(0.2)
        with open(log_path, errors="replace") as f:
            output = f.read()
        print(shown(output), flush=True)
        if hung:
            raise Failure("%s %s: hung (its last output above)" % (os.path.basename(cmd[0]),
                                                                   hung))
        print("(%s: exit %d after %.1f s)" % (os.path.basename(cmd[0]), proc.returncode,
                                            time.monotonic() - start), flush=True)
        check(proc.returncode == expect_exit, "%s exited with %d" % (cmd[0], proc.returncode))
        return output

    def run_doc(self, doc, pipeline, replace, env=None, timeout=90):
        """The pipeline of `doc` that the manifest lists as `pipeline`, as written there, with
        the literal replacements made (each must be found) and gst-launch's -m added, run by
        bash (so $VARIABLES in it expand as for a user)."""
        p = doc_pipelines.find(self.opts.source, doc, pipeline)
        text = p.text
        print("%s:%d: %s" % (doc, p.line, text))
        for old, new in replace:
            check(old in text, "%s:%d: %r not in the pipeline any more" % (doc, p.line, old))
            text = text.replace(old, new)
        if not re.match(r"gst-launch-1\.0 (.* )?-m\b", text):
            text = text.replace("gst-launch-1.0 ", "gst-launch-1.0 -m ", 1)
        return self.run(["bash", "-c", text], env=env, timeout=timeout)


def q(path):
    return shlex.quote(path)


def progress_of(emu, *paths):
    """What moves while a pipeline gets on: the sizes of its output files, what the emulator
    has transcribed, and whole seconds of the emulator's CPU time (a long recognition)."""
    def value():
        c = emu.counters()
        sizes = tuple(os.path.getsize(p) if os.path.exists(p) else -1 for p in paths)
        return sizes + (c["batch_ok"], c["audio_seconds_batch"], c["live_messages_sent"],
                        int(emu.cpu_seconds()))
    return value


# --- README.md and docs/ ---------------------------------------------------------------------

README_PIPELINE = ("gst-launch-1.0 filesrc location=* ! wavparse ! dgtranscribebin ! webvttenc "
                   "! filesink location=*")


def readme_one_liner(r, rate, channels):
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("talk.wav", blocks, rate=rate, channels=channels)
    vtt = r.path("talk.vtt")
    emu = r.emulator()
    try:
        output = r.run_doc("README.md", README_PIPELINE, [
            ("location=talk.wav", "location=" + q(wav)),
            ("location=talk.vtt", "location=" + q(vtt)),
            ("! dgtranscribebin !",
             "! dgtranscribebin stream-url=%s batch-url=%s !" % (emu.ws, emu.http)),
        ])
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check_clean(output, "README one-liner")
    expecting(check_caption_file, vtt, ".", blocks)


def example_readme(r):
    """README.md's one-liner as written (filesrc ! wavparse ! dgtranscribebin ! webvttenc),
    75 s of 16 kHz mono sequence WAV: every block once, in order, exact cue times, no overlap,
    no empty cue, no drop, no stt/degraded, no WARNING/ERROR, exit 0."""
    readme_one_liner(r, 16000, 1)


def example_readme_stereo(r):
    """The same on 75 s of 44.1 kHz stereo (dgtranscribebin mixes it down to mono; 44.1 kHz is
    passed through, the sinks take 8-48 kHz)."""
    readme_one_liner(r, 44100, 2)


def example_getting_started(r):
    """docs/getting-started.md's hand-built sttfailover pipeline (decodebin, webvttenc), as
    written (its $clip set to the file), on 75 s of 44.1 kHz stereo sequence WAV."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("clip.wav", blocks, rate=44100, channels=2)
    vtt = r.path("captions.vtt")
    emu = r.emulator()
    try:
        output = r.run_doc(
            "docs/getting-started.md",
            "gst-launch-1.0 filesrc location=* ! decodebin ! audioconvert ! audioresample ! "
            "sttfailover name=f f.stream ! queue ! dgstreamsink url=* f.batch ! queue ! "
            "dgbatchsink url=* f.text ! queue ! webvttenc ! filesink location=*",
            [("127.0.0.1:40673", emu.base), ("location=captions.vtt", "location=" + q(vtt))],
            env={"clip": wav})
    finally:
        emu.stop()
    check_clean(output, "getting-started pipeline")
    expecting(check_caption_file, vtt, ".", blocks)


def example_doc_dgtranscribebin(r):
    """docs/dgtranscribebin.md's line (filesrc ! decodebin ! dgtranscribebin ! webvttenc) on
    75 s of 48 kHz stereo sequence WAV."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("talk.wav", blocks, rate=48000, channels=2)
    vtt = r.path("talk.vtt")
    emu = r.emulator()
    try:
        output = r.run_doc(
            "docs/dgtranscribebin.md",
            "gst-launch-1.0 filesrc location=* ! decodebin ! dgtranscribebin ! webvttenc ! "
            "filesink location=*",
            [("location=talk.wav", "location=" + q(wav)),
             ("location=talk.vtt", "location=" + q(vtt)),
             ("! dgtranscribebin !",
              "! dgtranscribebin stream-url=%s batch-url=%s !" % (emu.ws, emu.http))])
    finally:
        emu.stop()
    check_clean(output, "dgtranscribebin.md pipeline")
    expecting(check_caption_file, vtt, ".", blocks)


def example_doc_dgbatchsink(r):
    """docs/dgbatchsink.md's two lines (standalone dgbatchsink, the key from
    $DEEPGRAM_API_KEY, then against the emulator) on 75 s of 48 kHz stereo sequence WAV: every
    block once in the final stt/transcript messages, no drop, no WARNING/ERROR."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("talk.wav", blocks, rate=48000, channels=2)
    emu = r.emulator()
    try:
        first = r.run_doc(
            "docs/dgbatchsink.md",
            "gst-launch-1.0 filesrc location=* ! wavparse ! audioconvert ! audioresample ! "
            "dgbatchsink api-key=*",
            [("location=talk.wav", "location=" + q(wav)),
             ("dgbatchsink ", "dgbatchsink url=%s " % emu.http)])
        second = r.run_doc(
            "docs/dgbatchsink.md",
            "gst-launch-1.0 -m filesrc location=* ! wavparse ! audioconvert ! audioresample ! "
            "dgbatchsink url=* api-key=*",
            [("location=talk.wav", "location=" + q(wav)), ("127.0.0.1:PORT", emu.base)])
    finally:
        emu.stop()
    for n, output in enumerate((first, second), 1):
        check_clean(output, "dgbatchsink.md pipeline %d" % n)
        expecting(check_words, final_transcripts(output), blocks,
                  "dgbatchsink.md pipeline %d" % n)


def example_doc_dgstreamsink(r):
    """docs/dgstreamsink.md's line, its microphone (pulsesrc) replaced by 75 s of 16 kHz stereo
    sequence WAV (a file: the sink reads it as fast as the live API takes it)."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("talk.wav", blocks, rate=16000, channels=2)
    emu = r.emulator()
    try:
        output = r.run_doc(
            "docs/dgstreamsink.md",
            "gst-launch-1.0 -m pulsesrc ! audioconvert ! audioresample ! "
            "audio/x-raw,format=S16LE,rate=16000,channels=1 ! dgstreamsink model=nova-3",
            [("pulsesrc", "filesrc location=%s ! wavparse" % q(wav)),
             ("dgstreamsink ", "dgstreamsink url=%s " % emu.ws)])
    finally:
        emu.stop()
    check_clean(output, "dgstreamsink.md pipeline")
    expecting(check_words, final_transcripts(output), blocks, "final stt/transcript messages")


def example_doc_sequence_audio(r):
    """docs/sequence-audio.md's line (a sequence WAV streamed to dgstreamsink), on 75 s of audio
    with the doc's pattern (a 300 ms pause every 2 s)."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("seq.wav", blocks, pattern="sssssssssssssssss...")
    emu = r.emulator()
    try:
        output = r.run_doc(
            "docs/sequence-audio.md",
            "gst-launch-1.0 filesrc location=* ! wavparse ! audioconvert ! dgstreamsink url=* "
            "api-key=*",
            [("location=seq.wav", "location=" + q(wav)), ("127.0.0.1:PORT", emu.base)])
    finally:
        emu.stop()
    check_clean(output, "sequence-audio.md pipeline")
    expecting(check_words, final_transcripts(output), blocks, "final stt/transcript messages")


# --- examples/launch -------------------------------------------------------------------------


def example_overlay(r):
    """mic-captions-overlay.sh, the microphone replaced by 70 s of audio (a file, not live), the
    screen by raw frames; every element at its default properties (no async=false)."""
    blocks = 700
    wav = r.sequence_wav("speech.wav", blocks)
    frames = r.path("frames.gray")
    width, height, fps, count = 320, 240, 5, 380  # 76 s of video
    emu = r.emulator()
    try:
        output = r.run(
            [os.path.join(r.launch, "mic-captions-overlay.sh")],
            env={
                "DG_LIVE_URL": emu.ws,
                "DG_BATCH_URL": emu.http,
                "AUDIO_SRC": "filesrc location=%s ! wavparse" % wav,
                "VIDEO_SRC": "videotestsrc pattern=black num-buffers=%d ! "
                "video/x-raw,width=%d,height=%d,framerate=%d/1" % (count, width, height, fps),
                "VIDEO_SINK": "video/x-raw,format=GRAY8 ! filesink location=%s" % frames,
            },
            timeout=60, progress=progress_of(emu, frames), stall=15,
        )
    finally:
        emu.stop()
    expect(not problems(output), "warnings or errors: %s" % problems(output)[:5])
    size = width * height
    check(os.path.getsize(frames) == count * size,
          "expected %d frames, got %d bytes" % (count, os.path.getsize(frames)))
    lit = bright_pixels(frames, size)
    print("bright pixels per frame:", lit)
    # The video is black, so text is the only bright thing. Captions cover the 70 s of audio
    # (frames 0-349; a frame at a cue change may fall between two cues); after the audio
    # there is nothing to caption.
    audio_frames = blocks * BLOCK_MS * fps // 1000
    on = sum(1 for n in lit[:audio_frames] if n > 100)
    expect(on >= 0.95 * audio_frames,
           "only %d of the %d frames during speech show captions" % (on, audio_frames))
    expect(all(n == 0 for n in lit[audio_frames + 2:]),
           "frames after the audio should be black")


def bright_pixels(path, frame_size, level=200):
    """Pixels over `level` in each GRAY8 frame of a raw file."""
    bright = bytes(range(level + 1, 256))
    out = []
    with open(path, "rb") as f:
        while True:
            frame = f.read(frame_size)
            if len(frame) < frame_size:
                break
            out.append(frame_size - len(frame.translate(None, bright)))
    return out


OUTAGE_PATTERN = "s" * 56 + "...."  # a 0.4 s pause every 6 s: chunks of about 6 s


def example_file_to_captions(r):
    """file-to-captions.sh on 110 s of sequence audio (a file: the pre-recorded API); once two
    requests succeeded the pre-recorded API goes down for 2 s. Exactly one stt/degraded
    (reason "pre-recorded API: ...") and one stt/recovered, nothing dropped, every block once
    in both the .vtt and the .srt, same cues in both."""
    blocks = 1100
    wav = r.sequence_wav("talk.wav", blocks, pattern=OUTAGE_PATTERN)
    # Each request is held 200 ms, so the file's 18 or so chunks take a few seconds and the
    # outage lands in the middle.
    emu = r.emulator(faults=[{"type": "batch_delay", "ms": 200}])
    out = r.path("captions")
    cmd = [os.path.join(r.launch, "file-to-captions.sh"), wav, out]
    print("$ GST_LAUNCH_OPTS=-m " + " ".join(cmd), flush=True)
    log_path = r.path("output.log")
    try:
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                cmd, env=r.env({"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http,
                                "GST_LAUNCH_OPTS": "-m"}),
                stdout=log, stderr=subprocess.STDOUT)
            before = None
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                c = emu.counters()
                if c["batch_ok"] >= 2:
                    before = c
                    emu.inject({"type": "outage", "api": "batch", "duration": 2})
                    break
                time.sleep(0.01)
            try:
                proc.wait(timeout=90)
                hung = False
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                hung = True
        counters = emu.counters()
    finally:
        emu.stop()
    with open(log_path, errors="replace") as f:
        output = f.read()
    print(shown(output))
    check(not hung, "file-to-captions.sh did not finish within 90 s (hung; output above)")
    print("emulator counters when the outage began:", before)
    print("emulator counters at the end:", counters)
    check(proc.returncode == 0, "file-to-captions.sh exited with %d" % proc.returncode)
    check(before is not None, "the file was done before two requests succeeded")
    expect(counters["faults_fired"].get("outage", 0) >= 1, "the outage failed no request")
    expect(counters["batch_ok"] > before["batch_ok"], "no request succeeded after the outage")
    expect(counters["live_accepted"] == 0, "a file went to the live API")
    check_clean(output, "file-to-captions.sh", degraded=1, warnings=True)
    degraded = bus_messages(output, "stt/degraded")
    recovered = bus_messages(output, "stt/recovered")
    expect(len(recovered) == 1, "expected one stt/recovered, got %d: %s" % (len(recovered),
                                                                          recovered))
    if degraded:
        expect('reason=(string)"pre-recorded\\ API:' in degraded[0],
               "stt/degraded reason does not start with 'pre-recorded API: ': " + degraded[0])
    if degraded and recovered:
        expect(output.index(degraded[0]) < output.index(recovered[0]),
               "stt/recovered before stt/degraded")
    expecting(check_caption_file, out + ".vtt", ".", blocks)
    expecting(check_caption_file, out + ".srt", ",", blocks)
    expecting(check_same_cues, out + ".vtt", out + ".srt")


def example_file_to_captions_10min(r):
    """file-to-captions.sh on 10 minutes of sequence audio, no fault: every block once in both
    files, every cue at its blocks' time, no drop, no stt/degraded, no WARNING/ERROR."""
    blocks = 6000
    wav = r.sequence_wav("talk.wav", blocks)
    emu = r.emulator()
    out = r.path("captions")
    try:
        output = r.run([os.path.join(r.launch, "file-to-captions.sh"), wav, out],
                       env={"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http,
                            "GST_LAUNCH_OPTS": "-m"}, timeout=120)
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check_clean(output, "file-to-captions.sh")
    expecting(check_caption_file, out + ".vtt", ".", blocks)
    expecting(check_caption_file, out + ".srt", ",", blocks)
    expecting(check_same_cues, out + ".vtt", out + ".srt")


def compressed_speech(r, encoder, muxer, suffix):
    """file-to-captions.sh on LibriVox speech compressed with `encoder`, pocketsphinx engine."""
    wav, reference, _, seconds = r.speech_wav("speech.wav")
    compressed = r.path("speech." + suffix)
    r.run(["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
           "audioconvert", "!", "audioresample", "!", encoder]
          + (["!", muxer] if muxer else []) + ["!", "filesink", "location=" + compressed])
    print("input: %s, %d bytes" % (compressed, os.path.getsize(compressed)))
    emu = r.emulator(engine="pocketsphinx")
    out = r.path("captions")
    try:
        output = r.run([os.path.join(r.launch, "file-to-captions.sh"), compressed, out],
                       env={"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http,
                            "GST_LAUNCH_OPTS": "-m"}, timeout=150)
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check_clean(output, "file-to-captions.sh")
    expect(abs(counters["audio_seconds_batch"] - seconds) < 1.0,
           "%.2f s of audio transcribed, the file has %.2f s" % (counters["audio_seconds_batch"],
                                                               seconds))
    cues = read_cues(out + ".vtt", ".")
    expecting(check_same_cues, out + ".vtt", out + ".srt")
    words = caption_words(cues)
    wer = word_error_rate(reference, words)
    print("WER %.3f (bound %.2f): %d reference words, %d recognised, %d cues"
          % (wer, MAX_WER, len(reference), len(words), len(cues)))
    expect(wer <= MAX_WER, "WER %.3f over %.2f: %s" % (wer, MAX_WER, " ".join(words)))


def example_file_to_captions_mp3(r):
    """file-to-captions.sh on 82 s of LibriVox speech as MP3 (lamemp3enc), pocketsphinx:
    exit 0, no drop, no stt/degraded, no WARNING/ERROR, .vtt = .srt, WER within MAX_WER."""
    compressed_speech(r, "lamemp3enc", None, "mp3")


def example_file_to_captions_opus(r):
    """The same as Ogg/Opus (opusenc ! oggmux)."""
    compressed_speech(r, "opusenc", "oggmux", "opus")


def first_element(*names):
    for name in names:
        if subprocess.run(["gst-inspect-1.0", "--exists", name]).returncode == 0:
            return name
    raise Skip("none of %s is installed" % ", ".join(names))


def ffprobe_frames(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                        "-show_entries", "stream=nb_read_frames,width,height", "-of", "json",
                        path], stdout=subprocess.PIPE, text=True, check=True)
    s = json.loads(p.stdout)["streams"][0]
    return int(s["nb_read_frames"]), int(s["width"]), int(s["height"])


def example_file_burn_in(r):
    """file-burn-in.sh on an 87 s MP4 (black H.264 video, LibriVox speech as AAC), pocketsphinx:
    it finishes (exit 0, default properties everywhere) within the bound, the output has the
    input's frames, and captions are drawn on the frames during speech, not after it."""
    for tool in ("ffprobe", "ffmpeg"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            raise Skip("%s not installed (Debian: ffmpeg)" % tool)
    wav, reference, spans, seconds = r.speech_wav("speech.wav", tail=5.0)
    width, height, fps = 320, 240, 10
    count = int(seconds * fps)
    h264 = first_element("x264enc", "openh264enc")
    aac = first_element("voaacenc", "avenc_aac")
    video_in = r.path("talk.mp4")
    r.run(["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
           "audioconvert", "!", "audioresample", "!", aac, "!", "aacparse", "!", "queue", "!",
           "mp4mux", "name=m", "!", "filesink", "location=" + video_in,
           "videotestsrc", "pattern=black", "num-buffers=%d" % count, "!",
           "video/x-raw,width=%d,height=%d,framerate=%d/1" % (width, height, fps), "!", h264,
           "!", "h264parse", "!", "queue", "!", "m."])
    frames_in, _, _ = ffprobe_frames(video_in)
    print("input: %s, %d frames, %dx%d, %d fps, %s + %s" % (video_in, frames_in, width, height,
                                                           fps, h264, aac))
    emu = r.emulator(engine="pocketsphinx")
    video_out = r.path("talk-captioned.mp4")
    bound = 180
    try:
        output = r.run([os.path.join(r.launch, "file-burn-in.sh"), video_in, video_out],
                       env={"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http,
                            "GST_LAUNCH_OPTS": "-m"}, timeout=bound,
                       progress=progress_of(emu, video_out), stall=30)
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check_clean(output, "file-burn-in.sh")
    frames_out, w, h = ffprobe_frames(video_out)
    print("output: %d frames (input %d), %dx%d" % (frames_out, frames_in, w, h))
    expect(abs(frames_out - frames_in) <= 1, "output has %d frames, input %d"
           % (frames_out, frames_in))
    # Two frames a second, as gray: the video is black, so the captions are the bright pixels.
    gray = r.path("frames.gray")
    subprocess.run(["ffmpeg", "-v", "error", "-i", video_out, "-vf", "fps=2,format=gray",
                    "-f", "rawvideo", "-y", gray], check=True)
    # textoverlay's default font is small on 320x240 and H.264 softens it: about 200-400
    # pixels over 128 per caption; a black frame has none.
    lit = bright_pixels(gray, w * h, level=128)
    print("bright pixels, 2 frames a second:", lit)

    def during_speech(t):  # well inside a clip: its caption must be on screen
        return any(b + 0.6 <= t <= e - 0.6 for b, e in spans)

    speech = [n for i, n in enumerate(lit) if during_speech(i / 2)]
    after = [n for i, n in enumerate(lit) if i / 2 >= spans[-1][1] + 1.0]
    on = sum(1 for n in speech if n >= 20)
    print("captions on %d of %d sampled frames during speech; %d frames after the speech, "
          "brightest %d" % (on, len(speech), len(after), max(after or [0])))
    expect(on >= 0.8 * len(speech), "captions on only %d of %d frames during speech"
           % (on, len(speech)))
    expect(after and all(n == 0 for n in after), "frames after the speech should be black")


def example_live_transcribe(r):
    """live-transcribe.sh (dgstreamsink alone), 70 s of audio from a file; its first
    connection dies 2 s in: the sink reconnects, replays, every block once."""
    blocks = 700
    wav = r.sequence_wav("speech.wav", blocks)
    faults = [{"type": "close", "target": "new", "count": 1, "after_bytes": 64000,
               "code": 1011, "reason": "NET-0000"}]
    emu = r.emulator(faults=faults)
    try:
        output = r.run(
            [os.path.join(r.launch, "live-transcribe.sh")],
            env={"DG_LIVE_URL": emu.ws, "AUDIO_SRC": "filesrc location=%s ! wavparse" % wav},
        )
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    expect(counters["faults_fired"].get("close") == 1, "the close fault did not fire")
    expect(counters["live_accepted"] >= 2, "the sink did not reconnect")
    check_clean(output, "live-transcribe.sh", warnings=True)
    expecting(check_words, final_transcripts(output), blocks, "final stt/transcript messages")


def example_file_transcribe_batch(r):
    """file-transcribe-batch.sh (dgbatchsink alone), 75 s; the first request gets 503
    Retry-After 1: the sink retries, every block once, nothing dropped."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("talk.wav", blocks)
    faults = [{"type": "batch_error", "status": 503, "retry_after": 1, "count": 1}]
    emu = r.emulator(faults=faults)
    try:
        output = r.run(
            [os.path.join(r.launch, "file-transcribe-batch.sh"), wav],
            env={"DG_BATCH_URL": emu.http},
        )
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    expect(counters["batch_failed"] == 1, "the 503 was not answered")
    check_clean(output, "file-transcribe-batch.sh", warnings=True)
    expecting(check_words, final_transcripts(output), blocks, "final stt/transcript messages")


# --- the applications ------------------------------------------------------------------------


def app_captions(output, blocks):
    """The printed captions' words, checked: captions start with "[start -> end] branch" and may
    go on over more lines; status lines start with "***", "---" or "    state"."""
    body = output[output.index("Transcribing"):output.index("\nSummary")].splitlines()[1:]
    text = [l for l in body if not l.startswith(("***", "---", "    state"))]
    # stderr's warnings share the capture: one without its newline yet can
    # precede a caption on its line ("warning: Captions are late: ...[00:00:06.4 -> ...").
    captions = [l[m.start():] for l in text for m in [CAPTION_START.search(l)] if m]
    expecting(check_words, ["b" + w for w in WORD.findall("\n".join(text))], blocks,
              "printed captions")
    expect("captions:     %d (%d words)" % (len(captions), blocks) in output, "summary counts")
    return captions


def check_app_output(output, blocks):
    for line in ("*** DEGRADED", "*** RECOVERED", "--- state: degraded", "--- state: streaming",
                 "final state:  streaming", "drops:        none"):
        expect(line in output, "no %r line" % line)
    if "*** DEGRADED" in output and "*** RECOVERED" in output:
        expect(output.index("*** DEGRADED") < output.index("*** RECOVERED"),
               "RECOVERED before DEGRADED")
    captions = app_captions(output, blocks)
    expect(any(" stream " in l for l in captions), "no caption from the stream branch")
    expect(any(" batch " in l for l in captions), "no caption from the batch branch")


APP_BLOCKS = 180  # 18 s in real time: the outage (3-5 s) and a recovery well before the end


def live_outage_after(emu, seconds=3, duration=2):
    """An on_poll for Runner.run: the live API goes down for `duration` s once the emulator
    has received `seconds` of live audio. Counted in audio, not from the emulator's start,
    so a slow start (a sanitizer build, a loaded machine) cannot make the outage miss the run."""
    state = {"done": False}

    def poll():
        if not state["done"] and emu.counters()["audio_seconds_live"] >= seconds:
            emu.inject({"type": "outage", "api": "live", "duration": duration, "status": 503})
            state["done"] = True

    return poll


def example_cpp_demo(r):
    """dg-caption-demo (what tools/run-demo.sh runs) through a live outage, in real time."""
    demo_faults = os.path.join(r.opts.source, "examples", "demo", "outage.json")
    r.emulator(faults=demo_faults).stop()  # the demo's file loads
    wav = r.sequence_wav("speech.wav", APP_BLOCKS)
    emu = r.emulator()
    vtt, srt = r.path("captions.vtt"), r.path("captions.srt")
    try:
        output = r.run(
            [os.path.join(r.opts.build, "examples", "dg-caption-demo"), "--live-url", emu.ws,
             "--batch-url", emu.http, "--vtt", vtt, "--srt", srt, wav],
            on_poll=live_outage_after(emu),
        )
    finally:
        emu.stop()
    check_app_output(output, APP_BLOCKS)
    # Played in real time the file counts as a live feed: captions move with the clock.
    expecting(check_caption_file, vtt, ".", APP_BLOCKS, True, output)
    expecting(check_caption_file, srt, ",", APP_BLOCKS, True, output)


def example_cpp_demo_fast(r):
    """dg-caption-demo --fast: 75 s of audio as fast as it goes. Not real time, so not live:
    the pre-recorded API takes it all (no outage, no stt/degraded); every block once in the
    printed captions, the VTT and the SRT, exact times, no drop."""
    blocks = LONG_BLOCKS
    wav = r.sequence_wav("speech.wav", blocks)
    emu = r.emulator()
    vtt, srt = r.path("captions.vtt"), r.path("captions.srt")
    try:
        output = r.run(
            [os.path.join(r.opts.build, "examples", "dg-caption-demo"), "--fast", "--live-url",
             emu.ws, "--batch-url", emu.http, "--vtt", vtt, "--srt", srt, wav], timeout=60)
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    for line in ("drops:        none", "0.0 s live, %.1f s pre-recorded" % (blocks / 10)):
        expect(line in output, "no %r line" % line)
    expect("*** DEGRADED" not in output, "a DEGRADED line: not live input goes to batch")
    expect(counters["live_accepted"] == 0, "the demo --fast connected to the live API")
    app_captions(output, blocks)
    expecting(check_caption_file, vtt, ".", blocks)
    expecting(check_caption_file, srt, ",", blocks)
    expecting(check_same_cues, vtt, srt)


def example_python_app(r):
    """examples/python/dg_captions.py through a live outage, in real time."""
    python = r.opts.python
    probe = subprocess.run([python, "-c", "import gi; gi.require_version('Gst', '1.0')"])
    if probe.returncode != 0:
        raise Skip("%s has no PyGObject (python3-gi, gir1.2-gstreamer-1.0)" % python)
    wav = r.sequence_wav("speech.wav", APP_BLOCKS)
    emu = r.emulator()
    vtt = r.path("captions.vtt")
    try:
        output = r.run(
            [python, os.path.join(r.opts.source, "examples", "python", "dg_captions.py"),
             "--live-url", emu.ws, "--batch-url", emu.http, "--vtt", vtt, wav],
            on_poll=live_outage_after(emu),
        )
    finally:
        emu.stop()
    check_app_output(output, APP_BLOCKS)
    expecting(check_caption_file, vtt, ".", APP_BLOCKS, True, output)


# --- broadcast captions (CEA-608) ------------------------------------------------------------

CEA608_LINE = ("gst-launch-1.0 filesrc location=* ! wavparse ! dgtranscribebin caption-max-chars=32 "
               "! sttcea608enc ! ccconverter ! closedcaption/x-cea-708,format=cc_data ! "
               "cc.caption videotestsrc num-buffers=900 ! "
               "video/x-raw,format=I420,framerate=30000/1001 ! cccombiner name=cc ! x264enc ! h264parse ! mpegtsmux ! filesink location=*")


# The tee's branches must not block each other: x264enc holds a few dozen frames before its
# first output (so the TS sink prerolls late) while the SRT sink has prerolled on the first GAP.
UNBOUNDED_QUEUE = "queue max-size-time=0 max-size-buffers=0 max-size-bytes=0"


def ffmpeg_cea608_cues(ts, srt):
    """The CEA-608 captions of an MPEG-TS's H.264 as ffmpeg's own decoder (lavfi movie's
    +subcc, cc_dec) reads them: [(start ms, end ms, text)], its markup removed."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "movie=%s[out+subcc]" % ts.replace(":", "\\:"), "-map", "0:1", srt],
                   check=True)
    with open(srt, encoding="utf-8") as f:
        cues = parse_cues(f.read(), ",")
    # Its markup: <font>, {\an7} (position), \h (hard spaces: the centring indent); it shows
    # the basic set's apostrophe as U+2019.
    return [(a, b, re.sub(r"<[^>]*>|\{[^}]*\}|\\h", "", t).replace("\u2019", "'"))
            for a, b, t in cues]


def check_broadcast_captions(reference, text_srt, ts, cc_srt):
    """The captions ffmpeg decodes out of `ts` are the text pad's (`text_srt`) one for one:
    none missing, none twice, the same words, each shown within 0.5 s of the text pad's PTS,
    and the word error rate within 2 points of the text pad's."""
    text_cues = read_cues(text_srt, ",")
    cc_cues = ffmpeg_cea608_cues(ts, cc_srt)
    text_wer = word_error_rate(reference, caption_words(text_cues))
    cc_wer = word_error_rate(reference, caption_words(cc_cues))
    print("text pad: %d cues, WER %.1f %%; CEA-608 via ffmpeg: %d cues, WER %.1f %%"
          % (len(text_cues), 100 * text_wer, len(cc_cues), 100 * cc_wer))
    expect(abs(cc_wer - text_wer) <= 0.02, "WER %.1f %% out of the video, %.1f %% on the text "
           "pad" % (100 * cc_wer, 100 * text_wer))
    expect(len(cc_cues) == len(text_cues), "%d captions decoded, %d on the text pad"
           % (len(cc_cues), len(text_cues)))
    worst = 0
    for (ts0, _, tt), (cs0, _, ct) in zip(text_cues, cc_cues):
        worst = max(worst, abs(cs0 - ts0))
        expect(abs(cs0 - ts0) <= 500, "caption %r shown at %d ms, text pad PTS %d ms"
               % (ct, cs0, ts0))
        expect(caption_words([(0, 0, ct)]) == caption_words([(0, 0, tt)]),
               "decoded %r, text pad %r" % (ct, tt))
    print("largest start difference: %d ms" % worst)
    return text_cues


def example_broadcast_captions(r):
    """sttcea608enc's launch line on 30 s of LibriVox speech (pocketsphinx): the bin's
    captions, teed before the encoder into an SRT, against what ffmpeg's CEA-608 decoder
    reads back out of the H.264 in the MPEG-TS: the same captions, word error rate within 2
    points, each shown within 0.5 s of the text pad's PTS."""
    for tool in ("ffmpeg",):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            raise Skip("%s not installed (Debian: ffmpeg)" % tool)
    first_element("x264enc")
    # A pop-on caption is built off screen before its PTS (up to 1.35 s for 2 x 32 columns):
    # one in the first second of a stream cannot be on time, so the speech starts 2 s in.
    wav, reference, spans, seconds = r.speech_wav("talk.wav", rounds=1, lead=2.0, tail=3.0)
    frames = int(seconds * 30000 / 1001) + 1
    ts, text_srt, cc_srt = r.path("talk.ts"), r.path("textpad.srt"), r.path("cea608.srt")
    emu = r.emulator(engine="pocketsphinx")
    try:
        output = r.run_doc(
            "elements/gststtcea608enc.cpp", CEA608_LINE,
            [("location=talk.wav", "location=" + q(wav)),
             ("location=talk.ts", "location=" + q(ts)),
             ("num-buffers=900", "num-buffers=%d" % frames),
             ("caption-max-chars=32 ! sttcea608enc",
              "caption-max-chars=32 stream-url=%s batch-url=%s ! tee name=t t. ! %s ! srtenc ! "
              "filesink async=false location=%s t. ! %s ! sttcea608enc"
              % (emu.ws, emu.http, UNBOUNDED_QUEUE, q(text_srt), UNBOUNDED_QUEUE))],
            timeout=150)
    finally:
        emu.stop()
    check_clean(output, "sttcea608enc launch line")
    check_broadcast_captions(reference, text_srt, ts, cc_srt)


def speech_mp4(r):
    """A 34 s MP4 for the broadcast chain: black H.264 at 10 fps, LibriVox speech (2 s in) as
    AAC: (path, reference words)."""
    for tool in ("ffmpeg",):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            raise Skip("%s not installed (Debian: ffmpeg)" % tool)
    wav, reference, spans, seconds = r.speech_wav("speech.wav", rounds=1, lead=2.0, tail=3.0)
    fps = 10
    video_in = r.path("talk.mp4")
    r.run(["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
           "audioconvert", "!", "audioresample", "!", first_element("voaacenc", "avenc_aac"),
           "!", "aacparse", "!", "queue", "!", "mp4mux", "name=m", "!", "filesink",
           "location=" + video_in, "videotestsrc", "pattern=black",
           "num-buffers=%d" % int(seconds * fps), "!",
           "video/x-raw,width=320,height=240,framerate=%d/1" % fps, "!",
           first_element("x264enc"), "!", "h264parse", "!", "queue", "!", "m."])
    return video_in, reference


def run_file_to_broadcast(r, video_in, cc_props=""):
    """file-to-broadcast.sh with its SRT sidecar: (TS path, sidecar path)."""
    ts, text_srt = r.path("talk.ts"), r.path("talk.srt")
    emu = r.emulator(engine="pocketsphinx")
    try:
        output = r.run([os.path.join(r.launch, "file-to-broadcast.sh"), video_in, ts, text_srt],
                       env={"DG_LIVE_URL": emu.ws, "DG_BATCH_URL": emu.http,
                            "CC_PROPS": cc_props, "GST_LAUNCH_OPTS": "-m"},
                       timeout=150, progress=progress_of(emu, ts), stall=30)
    finally:
        emu.stop()
    check_clean(output, "file-to-broadcast.sh")
    return ts, text_srt


def example_broadcast_file(r):
    """file-to-broadcast.sh on a 34 s MP4 (black H.264, LibriVox speech as AAC), pocketsphinx,
    with its SRT sidecar: the CEA-608 captions ffmpeg decodes out of the TS are the sidecar's
    one for one, each on screen within 0.5 s of its PTS."""
    video_in, reference = speech_mp4(r)
    ts, text_srt = run_file_to_broadcast(r, video_in)
    check_broadcast_captions(reference, text_srt, ts, r.path("cea608.srt"))


def example_broadcast_roll_up(r):
    """file-to-broadcast.sh with CC_PROPS="mode=roll-up-2 lookahead=300": ffmpeg's decoder
    reports each roll-up screen (the row before, the new row at the bottom); the new rows, in
    order, are the sidecar's caption lines, each once. (ffmpeg times a roll-up screen when it is
    replaced, so times are not compared; the byte stream's timing is the unit test's.)"""
    video_in, reference = speech_mp4(r)
    ts, text_srt = run_file_to_broadcast(r, video_in, "mode=roll-up-2 lookahead=300")
    want = [caption_words([(0, 0, line)]) for _, _, text in read_cues(text_srt, ",")
            for line in text.split("\n") if line.strip()]
    got = [caption_words([(0, 0, text.split("\n")[-1])])
           for _, _, text in ffmpeg_cea608_cues(ts, r.path("cea608.srt")) if text.strip()]
    print("sidecar: %d lines; roll-up screens decoded: %d" % (len(want), len(got)))
    expect(len(got) == len(want), "%d rows decoded, %d caption lines" % (len(got), len(want)))
    differ = [(g, w) for g, w in zip(got, want) if g != w]
    expect(not differ, "decoded rows differ from the caption lines: %s" % differ[:3])


def example_broadcast_outage(r):
    """The broadcast chain on 34 s of LibriVox speech paced in real time (identity sync=true)
    and streamed (mode=stream-first) to the live API, which goes down for 2 s once it has 8 s
    of audio: the captions carry on from the pre-recorded API and come back to streaming (one
    stt/degraded, one stt/recovered), and the CEA-608 captions in the TS are the text pad's one
    for one, with no line missing or twice, each on screen within 0.5 s of its PTS."""
    for tool in ("ffmpeg",):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            raise Skip("%s not installed (Debian: ffmpeg)" % tool)
    first_element("x264enc")
    wav, reference, spans, seconds = r.speech_wav("speech.wav", rounds=1, lead=2.0, tail=3.0)
    ts, text_srt, cc_srt = r.path("talk.ts"), r.path("talk.srt"), r.path("cea608.srt")
    emu = r.emulator(engine="pocketsphinx")
    pipeline = (
        "gst-launch-1.0 -m filesrc location=%s ! wavparse ! identity sync=true ! "
        "dgtranscribebin caption-max-chars=32 mode=stream-first stream-url=%s batch-url=%s "
        "reset-timeout=1000 retry-backoff-min=200 retry-backoff-max=1000 ! tee name=t "
        "t. ! %s ! srtenc ! filesink async=false location=%s "
        "t. ! %s ! sttcea608enc ! ccconverter ! closedcaption/x-cea-708,format=cc_data ! "
        "cc.caption videotestsrc num-buffers=%d ! video/x-raw,format=I420,width=320,height=240,"
        "framerate=30000/1001 ! cccombiner name=cc ! x264enc ! h264parse ! mpegtsmux ! "
        "filesink location=%s" % (q(wav), emu.ws, emu.http, UNBOUNDED_QUEUE, q(text_srt),
                                  UNBOUNDED_QUEUE, int(seconds * 30000 / 1001) + 1, q(ts)))
    try:
        output = r.run(["bash", "-c", pipeline], timeout=150,
                       on_poll=live_outage_after(emu, seconds=8, duration=2))
        counters = emu.counters()
    finally:
        emu.stop()
    print("emulator counters:", counters)
    check_clean(output, "broadcast chain", degraded=1, warnings=True)
    recovered = bus_messages(output, "stt/recovered")
    expect(len(recovered) == 1, "%d stt/recovered, expected 1" % len(recovered))
    cues = check_broadcast_captions(reference, text_srt, ts, cc_srt)
    lines = [line for _, _, text in cues for line in text.split("\n")]
    twice = [line for i, line in enumerate(lines) if line in lines[:i]]
    expect(not twice, "lines shown twice: %s" % twice)


BROADCAST_RECEIVER = (
    "gst-launch-1.0 udpsrc port=5000 caps=\"video/mpegts,systemstream=(boolean)true,"
    "packetsize=(int)188\" ! tsdemux name=d d. ! video/x-h264 ! queue ! h264parse ! avdec_h264 ! "
    "videoconvert ! videorate ! video/x-raw,format=I420,framerate=30000/1001 ! queue "
    "max-size-time=8000000000 max-size-buffers=0 max-size-bytes=0 ! cccombiner name=cc ! x264enc "
    "tune=zerolatency ! h264parse ! mpegtsmux ! udpsink host=127.0.0.1 port=5002 d. ! audio/mpeg ! "
    "queue ! aacparse ! avdec_aac ! audioconvert ! audioresample ! dgtranscribebin "
    "caption-max-chars=32 ! sttcea608enc ! ccconverter ! closedcaption/x-cea-708,format=cc_data ! "
    "cc.caption")


def free_udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example_broadcast_live(r):
    """docs/broadcast-captions.md's live receiver, as written but for its ports, its output (a
    TS file instead of UDP) and the emulator's URLs, behind a real sender: the 34 s LibriVox MP4
    (black H.264, AAC) remuxed to MPEG-TS over UDP on loopback in real time (udpsink sync=true).
    The receiver runs with -e; once the sender is done and the captions have stopped coming it
    gets SIGINT (EOS) and finishes its files. ffmpeg's decoder reads the CEA-608 captions back
    out of the re-encoded H.264: the text pad's one for one, each within 0.5 s of its PTS."""
    import signal
    video_in, reference = speech_mp4(r)
    port = free_udp_port()
    ts, text_srt, cc_srt = r.path("live.ts"), r.path("live.srt"), r.path("live-cea608.srt")
    emu = r.emulator(engine="pocketsphinx")
    p = doc_pipelines.find(r.opts.source, "docs/broadcast-captions.md", BROADCAST_RECEIVER)
    text = p.text
    print("docs/broadcast-captions.md:%d: %s" % (p.line, text))
    for old, new in [("udpsrc port=5000", "udpsrc port=%d" % port),
                     ("udpsink host=127.0.0.1 port=5002", "filesink location=" + q(ts)),
                     ("dgtranscribebin caption-max-chars=32 ! sttcea608enc",
                      "dgtranscribebin caption-max-chars=32 stream-url=%s batch-url=%s ! tee "
                      "name=t t. ! %s ! srtenc ! filesink async=false location=%s t. ! %s ! "
                      "sttcea608enc" % (emu.ws, emu.http, UNBOUNDED_QUEUE, q(text_srt),
                                        UNBOUNDED_QUEUE)),
                     ("gst-launch-1.0 ", "exec gst-launch-1.0 -e -m ")]:
        check(old in text, "docs/broadcast-captions.md:%d: %r not in the receiver any more"
              % (p.line, old))
        text = text.replace(old, new, 1)
    log_path = r.path("receiver.log")
    try:
        with open(log_path, "w") as log:
            receiver = subprocess.Popen(["bash", "-c", text], env=r.env({}), stdout=log,
                                        stderr=subprocess.STDOUT, text=True)
            try:
                deadline = time.monotonic() + 20
                while "Setting pipeline to PLAYING" not in open(log_path).read():
                    check(receiver.poll() is None and time.monotonic() < deadline,
                          "the receiver did not reach PLAYING")
                    time.sleep(0.1)
                r.run(["gst-launch-1.0", "filesrc", "location=" + video_in, "!", "qtdemux",
                       "name=m", "m.video_0", "!", "queue", "!", "h264parse", "!", "mpegtsmux",
                       "name=x", "alignment=7", "!", "udpsink", "host=127.0.0.1",
                       "port=%d" % port, "sync=true", "m.audio_0", "!", "queue", "!", "aacparse",
                       "!", "x."], timeout=90)
                # The captions of the last speech come up to latency (5 s) + lookahead later.
                quiet_since, size = time.monotonic(), -1
                while time.monotonic() - quiet_since < 8:
                    now = os.path.getsize(text_srt) if os.path.exists(text_srt) else 0
                    if now != size:
                        size, quiet_since = now, time.monotonic()
                    check(receiver.poll() is None, "the receiver ended before its EOS")
                    time.sleep(0.2)
                receiver.send_signal(signal.SIGINT)
                receiver.wait(timeout=30)
            finally:
                if receiver.poll() is None:
                    receiver.kill()
                    receiver.wait()
        output = open(log_path, errors="replace").read()
    finally:
        emu.stop()
    print(shown(output), flush=True)
    check(receiver.returncode == 0, "the receiver exited with %d" % receiver.returncode)
    check_clean(output, "broadcast receiver")
    check_broadcast_captions(reference, text_srt, ts, cc_srt)


EXAMPLES = {
    "readme": example_readme,
    "readme-stereo": example_readme_stereo,
    "getting-started": example_getting_started,
    "doc-dgtranscribebin": example_doc_dgtranscribebin,
    "doc-dgbatchsink": example_doc_dgbatchsink,
    "doc-dgstreamsink": example_doc_dgstreamsink,
    "doc-sequence-audio": example_doc_sequence_audio,
    "overlay": example_overlay,
    "file-to-captions": example_file_to_captions,
    "file-to-captions-10min": example_file_to_captions_10min,
    "file-to-captions-mp3": example_file_to_captions_mp3,
    "file-to-captions-opus": example_file_to_captions_opus,
    "file-burn-in": example_file_burn_in,
    "live-transcribe": example_live_transcribe,
    "file-transcribe-batch": example_file_transcribe_batch,
    "cpp-demo": example_cpp_demo,
    "cpp-demo-fast": example_cpp_demo_fast,
    "python-app": example_python_app,
    "broadcast-captions": example_broadcast_captions,
    "broadcast-file": example_broadcast_file,
    "broadcast-roll-up": example_broadcast_roll_up,
    "broadcast-live": example_broadcast_live,
    "broadcast-outage": example_broadcast_outage,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(EXAMPLES))
    parser.add_argument("--build", help="the meson build dir: the programs come from it")
    parser.add_argument("--bin", help="take dg-emulator and dg-sequence-audio from this dir "
                        "instead (the installed ones: tools/run-package.sh)")
    parser.add_argument("--source", required=True)
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter with gi")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    opts = parser.parse_args()
    if not opts.build and not opts.bin:
        parser.error("--build or --bin is required")
    programs = opts.bin or os.path.join(opts.build, "emulator")
    opts.emulator = os.path.join(programs, "dg-emulator")
    opts.sequence_audio = os.path.join(programs, "dg-sequence-audio")
    print(EXAMPLES[opts.name].__doc__.strip(), "\n", flush=True)
    work = tempfile.mkdtemp(prefix="example-%s-" % opts.name)
    try:
        EXAMPLES[opts.name](Run(opts, work))
        if FOUND:
            raise Failure("%d check(s) failed:\n  " % len(FOUND) + "\n  ".join(FOUND))
    except Skip as e:
        print("SKIP: %s" % e, flush=True)
        return SKIP
    except (Failure, LookupError, subprocess.CalledProcessError) as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    finally:
        if opts.keep:
            print("work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
