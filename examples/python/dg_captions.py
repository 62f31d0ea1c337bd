#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""dg_captions.py: live captions that survive Deepgram outages, from Python (PyGObject).

Transcribes an audio file (or the microphone with --mic) through sttfailover: Deepgram's live
API while it is healthy, its pre-recorded API while it is not. Prints every caption from the
failover's text pad with its times and branch, a status line on stt/degraded and stt/recovered
(with the failover's `state` and `stats`), follows `state` through notify::state, optionally
writes WebVTT, and ends with a summary read from `stats`.

    export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
    examples/python/dg_captions.py talk.wav
    examples/python/dg_captions.py --mic                   # Ctrl-C to stop
    examples/python/dg_captions.py --live-url ws://127.0.0.1:PORT/v1/listen \\
        --batch-url http://127.0.0.1:PORT/v1/listen --vtt out.vtt talk.wav   # dg-emulator

Needs Debian's python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0 (run it with
/usr/bin/python3: a python3 from elsewhere, e.g. pyenv, does not see Debian's gi module).
"""

import argparse
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


_print_lock = threading.Lock()


def say(text=""):
    """One line (or caption) at a time: captions, notify and bus messages come from 3 threads."""
    with _print_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def clock_text(ns):
    if ns is None or ns == Gst.CLOCK_TIME_NONE:
        return "--:--:--.-"
    ds = ns // (100 * Gst.MSECOND)
    return "%02d:%02d:%02d.%d" % (ds // 36000, ds // 600 % 60, ds // 10 % 60, ds % 10)


def seconds(structure, field):
    ok, ns = structure.get_uint64(field)
    return ns / 1e9 if ok else 0.0


def quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pipeline_description(args):
    if args.mic:
        source = "autoaudiosrc"
    else:
        source = "filesrc location=%s ! decodebin" % quoted(args.input)
    pace = "identity sync=true ! " if args.realtime and not args.mic else ""
    # A file played in real time stands in for a live feed: stream-first keeps it on the live
    # API (mode auto sends input that is not live to the pre-recorded API).
    mode = "mode=stream-first " if pace else ""
    text_sinks = "t. ! queue ! appsink name=captions sync=false emit-signals=true "
    if args.vtt:
        text_sinks += "t. ! queue ! webvttenc ! filesink location=%s " % quoted(args.vtt)
    # Each failover branch needs its own queue: a sink blocks in preroll on its first buffer.
    return (
        f"{source} ! audioconvert ! audioresample ! "
        "audio/x-raw,format=S16LE,layout=interleaved,channels=1,rate=16000 ! "
        f"{pace}sttfailover name=f reset-timeout={args.reset_timeout} {mode}"
        f"f.stream ! queue ! dgstreamsink url={quoted(args.live_url)} "
        f"f.batch ! queue ! dgbatchsink url={quoted(args.batch_url)} "
        "f.text ! tee name=t " + text_sinks
    )


class CaptionApp:
    def __init__(self, args):
        self.pipeline = Gst.parse_launch(pipeline_description(args))
        self.failover = self.pipeline.get_by_name("f")
        self.loop = GLib.MainLoop()
        self.exit_code = 0
        self.captions = 0
        self.words = 0
        self.drops = []

        self.pipeline.get_by_name("captions").connect("new-sample", self.on_caption)
        self.failover.connect("notify::state", self.on_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)

    def state(self):
        return self.failover.get_property("state").value_nick

    def stats_line(self):
        stats = self.failover.get_property("stats")
        return "%.1f s live, %.1f s pre-recorded, %.1f s replayed, %.1f s degraded" % (
            seconds(stats, "audio-streamed"),
            seconds(stats, "audio-batched"),
            seconds(stats, "audio-replayed"),
            seconds(stats, "time-degraded"),
        )

    # Streaming thread of the appsink: one final caption per buffer, in timestamp order.
    def on_caption(self, sink):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        buf = sample.get_buffer()
        branch = "?"
        meta = buf.get_custom_meta("DgfTranscriptMeta")
        if meta is not None:
            branch = meta.get_structure().get_string("branch") or branch
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            text = bytes(info.data).decode("utf-8", "replace")
            buf.unmap(info)
            end = buf.pts + buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else None
            # A two-line caption prints on one line, its lines joined by " / ".
            line = text.replace("\n", " / ")
            say("[%s -> %s] %-6s %s" % (clock_text(buf.pts), clock_text(end), branch, line))
            self.captions += 1
            self.words += len(text.split())
        return Gst.FlowReturn.OK

    # Whichever thread changed the state; printing is all we do.
    def on_state(self, failover, _pspec):
        say("--- state: %s" % self.state())

    def on_message(self, _bus, msg):
        if msg.type == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            name = s.get_name()
            if name == "stt/degraded":
                ok, code = s.get_int("code")
                say(
                    "*** DEGRADED: %s%s - captions continue from the pre-recorded API"
                    % (s.get_string("reason"), ", code %d" % code if ok and code else "")
                )
                say("    state %s; so far %s" % (self.state(), self.stats_line()))
            elif name == "stt/recovered":
                say(
                    "*** RECOVERED: live again after %.1f s degraded "
                    "(%.1f s of audio via batch, %.1f s replayed)"
                    % (
                        seconds(s, "degraded-duration"),
                        seconds(s, "batch-audio"),
                        seconds(s, "replayed"),
                    )
                )
                say("    state %s; so far %s" % (self.state(), self.stats_line()))
            elif name == "stt/breaker":
                say(
                    "*** breaker '%s': %s -> %s"
                    % (s.get_string("name"), s.get_string("previous-state"), s.get_string("state"))
                )
            elif name == "stt/audio-dropped":
                self.drops.append(seconds(s, "duration"))
                say(
                    "*** DROPPED %.2f s at %s: %s"
                    % (
                        seconds(s, "duration"),
                        clock_text(int(seconds(s, "start") * 1e9)),
                        s.get_string("reason"),
                    )
                )
        elif msg.type == Gst.MessageType.WARNING:
            err, _debug = msg.parse_warning()
            print("warning: %s" % err.message, file=sys.stderr)
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print("error: %s (%s)" % (err.message, debug or ""), file=sys.stderr)
            self.exit_code = 1
            self.loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            self.loop.quit()

    def summary(self):
        stats = self.failover.get_property("stats")
        stream, batch = seconds(stats, "audio-streamed"), seconds(stats, "audio-batched")
        replayed = seconds(stats, "audio-replayed")  # sent to both branches: counted once
        say("\nSummary")
        say(
            "  audio:        %.1f s (%.1f s live, %.1f s pre-recorded)"
            % (stream + batch - replayed, stream - replayed, batch)
        )
        say(
            "  degraded:     %.1f s over %d outage(s), %d recovery(ies)"
            % (
                seconds(stats, "time-degraded"),
                stats.get_uint64("degraded")[1],
                stats.get_uint64("recovered")[1],
            )
        )
        say("  replayed:     %.1f s" % replayed)
        say("  final state:  %s" % self.state())
        say("  captions:     %d (%d words)" % (self.captions, self.words))
        if self.drops:
            say("  drops:        %d, %.2f s of audio" % (len(self.drops), sum(self.drops)))
        else:
            say("  drops:        none")

    def run(self):
        # Ctrl-C: EOS, so the last captions are flushed before the pipeline stops.
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, self.on_sigint)
        self.pipeline.set_state(Gst.State.PLAYING)
        self.loop.run()
        self.summary()  # before NULL, which resets the stats
        self.pipeline.set_state(Gst.State.NULL)
        return self.exit_code

    def on_sigint(self):
        self.pipeline.send_event(Gst.Event.new_eos())
        return GLib.SOURCE_REMOVE


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", nargs="?", help="audio or video file")
    parser.add_argument("--mic", action="store_true", help="transcribe the default microphone")
    parser.add_argument("--live-url", default="wss://api.deepgram.com/v1/listen")
    parser.add_argument("--batch-url", default="https://api.deepgram.com/v1/listen")
    parser.add_argument("--vtt", help="also write WebVTT captions to this file")
    parser.add_argument(
        "--fast", dest="realtime", action="store_false", help="read the file as fast as possible"
    )
    parser.add_argument(
        "--reset-timeout",
        type=int,
        default=2000,
        help="breaker open time in ms after a trip (sttfailover reset-timeout); default 2000",
    )
    args = parser.parse_args()
    if bool(args.input) == args.mic:
        parser.error("give a file or --mic")

    Gst.init(None)
    for element in ("sttfailover", "dgstreamsink", "dgbatchsink"):
        if Gst.ElementFactory.find(element) is None:
            sys.exit("no %s element: set GST_PLUGIN_PATH to the build directory" % element)
    app = CaptionApp(args)
    where = "microphone" if args.mic else args.input
    print("Transcribing %s (live: %s, fallback: %s)\n" % (where, args.live_url, args.batch_url))
    sys.stdout.flush()
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
