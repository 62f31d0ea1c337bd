#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when any C/C++ source in the tree differs from what clang-format makes of it.
set -euo pipefail
cd "$1"
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.cpp' '*.h' '*.hpp' 2>/dev/null || true)
if ((${#files[@]} == 0)); then
  mapfile -t files < <(find plugin elements emulator tests examples bench -name '*.[ch]' -o -name '*.cpp' -o -name '*.hpp')
fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"
