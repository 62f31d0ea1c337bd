# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the launch scripts that take a file or a URI (uridecodebin wants a URI).

# A file:// URI for a path (percent-encoded byte by byte); a URI is taken as it is.
file_uri() {
  local LC_ALL=C path out="" c i
  if [[ $1 == *://* ]]; then
    printf '%s' "$1"
    return
  fi
  path=$(realpath -- "$1")
  for ((i = 0; i < ${#path}; i++)); do
    c=${path:i:1}
    case $c in
      [a-zA-Z0-9/._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  printf 'file://%s' "$out"
}
