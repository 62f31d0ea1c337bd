# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gst-launch-1.0 pipelines of the docs, and the manifest that maps each one to the example
test that runs it (tests/examples/pipelines.json). Standard library only.

Used by check_doc_pipelines.py (every pipeline in the docs is in the manifest, every manifest
entry is still in the docs and names tests that exist) and by run_example.py (the doc tests run
the text they find in the doc, so a doc whose pipeline changes is run as changed).
"""

import glob
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "pipelines.json")

# Docs whose fenced code blocks are searched, relative to the source root.
DOC_GLOBS = ["README.md", "docs/*.md", "examples/README.md", "elements/gst*.cpp"]

FENCE = re.compile(r"^\s*(```|~~~)")
# The element sources' hotdoc comments: |[ ... ]| blocks, each line behind " * "
# (stripped before matching).
HOTDOC_FENCE = re.compile(r"^\s*(\|\[|\]\|)\s*$")
HOTDOC_PREFIX = re.compile(r"^\s*\*\s?")
# Property values that differ per machine or per run: they match anything in the manifest.
WILDCARD_PROPS = ("location", "url", "uri", "api-key", "stream-url", "batch-url")


class Pipeline:
    def __init__(self, doc, line, text):
        self.doc = doc  # path relative to the source root
        self.line = line  # 1-based line of the gst-launch-1.0 command
        self.text = text  # the command as written, continuation lines joined with spaces
        self.key = normalise(text)

    def __repr__(self):
        return "%s:%d: %s" % (self.doc, self.line, self.text)


def normalise(text):
    """Whitespace collapsed, a leading shell prompt dropped, and the values of location=, url=,
    uri=, api-key= (and the bin's *-url=) replaced by '*'."""
    text = " ".join(text.replace("\\\n", " ").split())
    text = re.sub(r"^\$\s+", "", text)
    for prop in WILDCARD_PROPS:
        text = re.sub(r"(?<![\w-])%s=(\"[^\"]*\"|'[^']*'|\S+)" % re.escape(prop), prop + "=*",
                      text)
    return text


def doc_files(source):
    out = []
    for pattern in DOC_GLOBS:
        out += sorted(glob.glob(os.path.join(source, pattern)))
    return [os.path.relpath(p, source) for p in out]


def extract(source, doc):
    """Every gst-launch-1.0 command in the fenced code blocks of one doc."""
    with open(os.path.join(source, doc), encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = FENCE
    if doc.endswith(".cpp"):
        fence = HOTDOC_FENCE
        lines = [HOTDOC_PREFIX.sub("", l) if l.lstrip().startswith("*") else "" for l in lines]
    found = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence.match(line):
            fenced = not fenced
            i += 1
            continue
        if fenced and re.match(r"^\s*(\$\s+)?gst-launch-1\.0\b", line):
            start = i
            parts = [line]
            # Continuation lines: a trailing backslash joins the next line.
            while parts[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                parts[-1] = parts[-1].rstrip()[:-1]
                i += 1
                parts.append(lines[i])
            text = " ".join(p.strip() for p in parts)
            # A trailing shell comment is not part of the pipeline.
            text = re.sub(r"\s+#\s.*$", "", text)
            found.append(Pipeline(doc, start + 1, text))
        i += 1
    return found


def all_pipelines(source):
    out = []
    for doc in doc_files(source):
        out += extract(source, doc)
    return out


def load_manifest():
    with open(MANIFEST, encoding="utf-8") as f:
        return json.load(f)


def find(source, doc, key):
    """The pipeline of `doc` whose normalised text is `key` (as written in the manifest)."""
    want = normalise(key)
    hits = [p for p in extract(source, doc) if p.key == want]
    if not hits:
        raise LookupError("%s has no gst-launch-1.0 pipeline matching %r (did the doc change? "
                          "update tests/examples/pipelines.json)" % (doc, key))
    return hits[0]
