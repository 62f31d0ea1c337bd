#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages against the programs: every long option a program's --help prints is in its
man page's OPTIONS, and every option there is one the program takes, so neither rots.

    check_man_pages.py PROGRAM MAN_PAGE [PROGRAM MAN_PAGE]...

Standard library only.
"""

import re
import subprocess
import sys

LONG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
IGNORED = {"help", "help-all"}  # GLib's own, in every GOption program


def help_options(program):
    out = subprocess.run([program, "--help"], capture_output=True, text=True, check=True).stdout
    return set(LONG.findall(out)) - IGNORED


def man_options(page):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    # roff to text as far as option names go: fonts off, \- is a dash.
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    m = re.search(r"^\.SH OPTIONS\n(.*?)^\.SH ", text, re.S | re.M)
    if not m:
        raise SystemExit("%s: no OPTIONS section" % page)
    return set(LONG.findall(m.group(1))) - IGNORED


def main(args):
    if not args or len(args) % 2:
        raise SystemExit(__doc__)
    bad = []
    for program, page in zip(args[::2], args[1::2]):
        in_help, in_man = help_options(program), man_options(page)
        for opt in sorted(in_help - in_man):
            bad.append("%s: --%s is in --help but not in the man page" % (page, opt))
        for opt in sorted(in_man - in_help):
            bad.append("%s: --%s is documented but the program does not take it" % (page, opt))
        print("%s: %d options, man page and --help agree" % (page, len(in_help))
              if in_help == in_man else "%s: differs from --help" % page)
    for line in bad:
        print("FAIL: " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
