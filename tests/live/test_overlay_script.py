#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""examples/launch/mic-captions-overlay.sh as a user runs it: live sources, ended with Ctrl-C.

    test_overlay_script.py --build BUILD_DIR --source SOURCE_DIR [--seconds 12]

The script is run through the environment overrides it offers, against dg-emulator (pocketsphinx
engine when it loads, else the sequence engine), twice:

  silence  AUDIO_SRC = audiotestsrc is-live=true wave=silence
  speech   AUDIO_SRC = a live speech feed: udpsrc ! rtpjitterbuffer ! rtpL16depay, fed by a second
           gst-launch sending the LibriVox clips (clocksync, RTP L16 16 kHz mono) on loopback

with VIDEO_SRC = videotestsrc is-live=true (black, 320x240, 10 fps) and VIDEO_SINK = GRAY8 frames
into a filesink. Once the pipeline is PLAYING (seen in gst-launch's GST_STATES log: the pipeline's
own state change, an event, not a guess) it runs --seconds, then gets SIGINT, which gst-launch -e
turns into EOS. Required per case: it reached PLAYING, wrote frames (at least half of what the
video source made while it played), and exited cleanly (exit code 0 after "Got EOS", within 60 s,
no ERROR). Printed: time to PLAYING, frames, frames showing white caption text, the exit.
Exit code 77 (skip) when an element or the test data is missing. Standard library only.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave

SKIP = 77
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox"
WIDTH, HEIGHT, FPS = 320, 240, 10
PLAYING = re.compile(r"<pipeline0> notifying about state-changed PAUSED to PLAYING")
ELEMENTS = ["textoverlay", "videotestsrc", "videoconvert", "audiotestsrc", "audioconvert",
            "audioresample", "filesink", "filesrc", "wavparse", "clocksync", "udpsrc", "udpsink",
            "rtpL16pay", "rtpL16depay", "rtpjitterbuffer"]
# The plugin under test: missing is a failure (GST_PLUGIN_PATH wrong), never a skip.
PLUGIN_ELEMENTS = ["sttfailover", "dgstreamsink", "dgbatchsink"]


class Failure(Exception):
    pass


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def missing_elements(names):
    out = []
    for name in names:
        # Not --exists: it also wants the plugin's version >= GStreamer's own.
        p = subprocess.run(["gst-inspect-1.0", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            out.append(name)
    return out


def speech_wav(path):
    """The LibriVox clips, each after 1 s of silence, as one 16 kHz mono WAV."""
    ids = []
    with open(os.path.join(LIBRIVOX, "transcription")) as f:
        for line in f:
            m = re.search(r"\(([^)]+)\)\s*$", line)
            if m:
                ids.append(m.group(1))
    silence = b"\0\0" * 16000
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        for i in ids:
            with wave.open(os.path.join(LIBRIVOX, i + ".wav"), "rb") as clip:
                if (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) != (1, 2, 16000):
                    raise Failure("%s is not 16 kHz mono S16" % i)
                out.writeframes(silence + clip.readframes(clip.getnframes()))
        out.writeframes(silence)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Emulator:
    def __init__(self, binary, work):
        self.log = open(os.path.join(work, "dg-emulator.log"), "w")
        self.engine = "pocketsphinx"
        for engine in ("pocketsphinx", "sequence"):
            self.proc = subprocess.Popen([binary, "--port", "0", "--engine", engine],
                                         stdout=subprocess.PIPE, stderr=self.log, text=True)
            ready = self.proc.stdout.readline()
            m = re.search(r"DG_EMULATOR_READY port=(\d+)", ready)
            if m:
                self.engine = engine
                break
            self.proc.wait(timeout=10)
        else:
            raise Failure("dg-emulator did not start")
        port = int(m.group(1))
        self.ws = "ws://127.0.0.1:%d/v1/listen" % port
        self.http = "http://127.0.0.1:%d/v1/listen" % port

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Lines(threading.Thread):
    """Reads a pipe to its end, keeping the lines and flagging the pipeline's PLAYING."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = []
        self.playing = threading.Event()
        self.playing_at = None

    def run(self):
        for line in self.pipe:
            self.lines.append(line)
            if not self.playing.is_set() and PLAYING.search(line):
                self.playing_at = time.monotonic()
                self.playing.set()


def run_case(opts, work, emu, case):
    frames_path = os.path.join(work, "frames-%s.gray" % case)
    sender = None
    if case == "silence":
        audio_src = "audiotestsrc is-live=true wave=silence"
    else:
        wav = os.path.join(work, "speech.wav")
        speech_wav(wav)
        port = free_udp_port()
        audio_src = ("udpsrc port=%d caps=application/x-rtp,media=audio,clock-rate=16000,"
                     "encoding-name=L16,channels=1,payload=96 ! rtpjitterbuffer latency=100 ! "
                     "rtpL16depay" % port)
        sender = subprocess.Popen(
            ["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
             "clocksync", "!", "audioconvert", "!",
             "audio/x-raw,format=S16BE,channels=1,rate=16000", "!", "rtpL16pay", "pt=96", "!",
             "udpsink", "host=127.0.0.1", "port=%d" % port, "sync=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ)
    env.update({
        "DEEPGRAM_API_KEY": "test",
        "DG_LIVE_URL": emu.ws,
        "DG_BATCH_URL": emu.http,
        "AUDIO_SRC": audio_src,
        "VIDEO_SRC": "videotestsrc is-live=true pattern=black ! "
                     "video/x-raw,width=%d,height=%d,framerate=%d/1" % (WIDTH, HEIGHT, FPS),
        "VIDEO_SINK": "video/x-raw,format=GRAY8 ! filesink location=%s" % frames_path,
        "GST_DEBUG": "GST_STATES:4",
        "GST_DEBUG_NO_COLOR": "1",
    })
    script = os.path.join(opts.source, "examples", "launch", "mic-captions-overlay.sh")
    print("[%s] %s\n  AUDIO_SRC=%s" % (case, script, audio_src), flush=True)
    started = time.monotonic()
    proc = subprocess.Popen([script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace")
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    out.start()
    err.start()
    result = {"case": case}
    try:
        if err.playing.wait(timeout=20):
            result["to_playing"] = err.playing_at - started
            time.sleep(opts.seconds)  # the feed runs this long: a duration, not a condition
        else:
            result["to_playing"] = None
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)  # the script exec'd gst-launch -e: EOS
        try:
            result["rc"] = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            result["rc"] = None
        result["exit_after_sigint"] = time.monotonic() - interrupted
        played = interrupted - err.playing_at if err.playing_at else 0
    finally:
        if sender:
            sender.terminate()
            sender.wait(timeout=10)
    out.join(timeout=10)
    err.join(timeout=10)
    stdout = "".join(out.lines)
    # gst-launch prints "ERROR: from element ..." (the GST_STATES log is INFO only).
    errors = [l.strip() for l in out.lines + err.lines if l.startswith("ERROR")]
    size = os.path.getsize(frames_path) if os.path.exists(frames_path) else 0
    frame = WIDTH * HEIGHT
    data = open(frames_path, "rb").read() if size else b""
    lit = [sum(1 for b in data[i * frame:(i + 1) * frame] if b > 100)
           for i in range(size // frame)]
    result.update({
        "frames": size // frame,
        "partial_frame_bytes": size % frame,
        "expected_frames": int(played * FPS),
        "frames_with_text": sum(1 for n in lit if n >= 20),
        "got_eos": "Got EOS from element" in stdout,
        "errors": errors,
        "stdout": stdout,
    })
    return result


def report(r):
    print("# %s: PLAYING %s after start, exit code %s %.2f s after SIGINT, EOS %s; frames %d "
          "(%d expected while playing), %d showing caption text; errors %d"
          % (r["case"], "%.2f s" % r["to_playing"] if r["to_playing"] is not None else "NEVER",
             r["rc"], r["exit_after_sigint"], "yes" if r["got_eos"] else "NO", r["frames"],
             r["expected_frames"], r["frames_with_text"], len(r["errors"])), flush=True)
    for e in r["errors"][:10]:
        print("#   " + e, flush=True)
    failures = []
    if r["to_playing"] is None:
        failures.append("reached PLAYING within 20 s")
    if r["frames"] == 0 or r["frames"] < r["expected_frames"] // 2:
        failures.append("produced frames (%d, at least half of %d)"
                        % (r["frames"], r["expected_frames"]))
    if r["rc"] != 0:
        failures.append("exited with 0 (got %s)" % r["rc"])
    if not r["got_eos"]:
        failures.append("ended on EOS after SIGINT (-e)")
    if r["errors"]:
        failures.append("no ERROR")
    if failures:
        print("gst-launch output:\n" + r["stdout"], flush=True)
    for f in failures:
        print("REQUIREMENT NOT MET (%s): %s" % (r["case"], f), flush=True)
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--seconds", type=float, default=12.0, help="run time after PLAYING")
    opts = parser.parse_args()
    try:
        absent = missing_elements(ELEMENTS)
    except FileNotFoundError:
        skip("gst-inspect-1.0 is not installed")
    if absent:
        skip("missing GStreamer elements: " + ", ".join(absent))
    absent = missing_elements(PLUGIN_ELEMENTS)
    if absent:
        print("FAIL: the plugin's elements are not found (GST_PLUGIN_PATH=%s): %s"
              % (os.environ.get("GST_PLUGIN_PATH", ""), ", ".join(absent)), flush=True)
        return 1
    if not os.path.exists(os.path.join(LIBRIVOX, "transcription")):
        skip("pocketsphinx-testdata (LibriVox clips) is not installed")
    failures = []
    with tempfile.TemporaryDirectory(prefix="live-overlay-script-") as work:
        emu = Emulator(os.path.join(opts.build, "emulator", "dg-emulator"), work)
        print("# dg-emulator engine: %s" % emu.engine, flush=True)
        try:
            for case in ("silence", "speech"):
                failures += report(run_case(opts, work, emu, case))
        except Failure as e:
            failures.append(str(e))
        finally:
            emu.stop()
    if failures:
        print("FAIL: " + "; ".join(failures), flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
