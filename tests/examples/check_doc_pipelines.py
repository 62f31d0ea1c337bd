#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Keeps the docs honest: every gst-launch-1.0 pipeline in the fenced code blocks of README.md,
docs/*.md and examples/README.md, and every script in examples/launch/, is run by a named
example test.

    check_doc_pipelines.py --source SOURCE_DIR

Checks, against tests/examples/pipelines.json:
- every pipeline in the docs has a manifest entry (same doc, same text after normalising
  whitespace and the values of location=, url=, api-key= ...);
- every manifest entry is still in its doc (no stale entry hides a deleted or changed pipeline);
- every entry names at least one test, every named test exists in run_example.py and is
  registered in tests/examples/meson.build, or (live_tests) is registered in
  tests/live/meson.build; an entry that cannot run offline says why;
- every examples/launch/*.sh is listed under "scripts" with tests that exist, and every listed
  script exists.
Standard library only.
"""

import argparse
import glob
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import doc_pipelines  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def live_tests(source):
    """Test names registered in tests/live/meson.build: the literal test('...') names and
    'live-gap-' + each transport of its foreach."""
    with open(os.path.join(source, "tests", "live", "meson.build"), encoding="utf-8") as f:
        text = f.read()
    names = set(re.findall(r"test\('([\w-]+)'", text))
    for block in re.findall(r"foreach transport : \[(.*?)\]", text, re.S):
        names |= {"live-gap-" + t for t in re.findall(r"'([\w-]+)'", block)}
    return names


def registered_tests():
    """Example names registered in meson.build (the example_tests dictionary)."""
    with open(os.path.join(HERE, "meson.build"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"example_tests\s*=\s*\{(.*?)\n\}", text, re.S)
    return set(re.findall(r"'([\w-]+)'\s*:", block.group(1))) if block else set()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    opts = parser.parse_args()

    sys.path.insert(0, HERE)
    import run_example  # noqa: E402  (the runner's EXAMPLES: the tests that exist)

    runnable = set(run_example.EXAMPLES)
    registered = registered_tests()
    live = live_tests(opts.source)
    manifest = doc_pipelines.load_manifest()
    problems = []

    def check_live(where, tests):
        for t in tests:
            if t not in live:
                problems.append("%s: live test %r is not registered in tests/live/meson.build"
                                % (where, t))

    def check_tests(where, tests, live_tests=()):
        check_live(where, live_tests)
        if not tests and not live_tests:
            problems.append("%s: no test named" % where)
        for t in tests:
            if t not in runnable:
                problems.append("%s: test %r is not in run_example.py EXAMPLES" % (where, t))
            elif t not in registered:
                problems.append("%s: test %r is not registered in tests/examples/meson.build"
                                % (where, t))

    entries = {}
    for e in manifest["pipelines"]:
        key = (e["doc"], doc_pipelines.normalise(e["pipeline"]))
        where = "pipelines.json entry %s: %s" % key
        if key in entries:
            problems.append("%s: listed twice" % where)
        entries[key] = e
        check_tests(where, e.get("tests", []), e.get("live_tests", []))
        if e.get("offline", True) is False and not e.get("reason"):
            problems.append("%s: offline=false without a reason" % where)

    found = doc_pipelines.all_pipelines(opts.source)
    print("%d gst-launch-1.0 pipelines in %s" % (len(found), ", ".join(doc_pipelines.DOC_GLOBS)))
    seen = set()
    for p in found:
        key = (p.doc, p.key)
        seen.add(key)
        e = entries.get(key)
        if e is None:
            problems.append("%s:%d: pipeline not covered by any example test (add it to "
                            "tests/examples/pipelines.json with the test that runs it):\n    %s"
                            % (p.doc, p.line, p.text))
            continue
        how = "runs" if e.get("offline", True) else "offline stand-in (%s)" % e["reason"]
        tests = e.get("tests", []) + ["live:" + t for t in e.get("live_tests", [])]
        print("  %s:%d -> %s [%s]" % (p.doc, p.line, ", ".join(tests), how))
    for key in entries:
        if key not in seen:
            problems.append("pipelines.json entry no longer in %s (remove or update it): %s"
                            % key)

    scripts = manifest.get("scripts", {})
    on_disk = sorted(os.path.relpath(p, opts.source)
                     for p in glob.glob(os.path.join(opts.source, "examples", "launch", "*.sh")))
    for script in on_disk:
        if script not in scripts:
            problems.append("%s: no example test listed under \"scripts\" in pipelines.json"
                            % script)
        else:
            print("  %s -> %s" % (script, ", ".join(scripts[script])))
    for script, tests in scripts.items():
        if script not in on_disk:
            problems.append("pipelines.json lists %s, which does not exist" % script)
        check_tests(script, tests)

    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
