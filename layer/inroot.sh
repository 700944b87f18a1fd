#!/usr/bin/env bash
# Runs a command inside the old-glibc build root (layer/buildroot.sh), in a private mount
# namespace: /proc and /dev are mounted there and each --bind SRC:DST is bind-mounted at DST
# inside the root; all of it disappears when the command ends. The command replaces this script
# (no fork), so its PID is this script's PID: a caller can read /proc/PID/maps of the process
# inside the root. The root's own files are not changed (a --bind DST must already exist there).
#
# usage: layer/inroot.sh ROOT [--bind SRC:DST]... [--cwd DIR] [--] COMMAND [ARG]...  (as root)
#   --cwd DIR   the command starts in DIR inside the root (default /)
set -euo pipefail

if [ "${1:-}" != --in-namespace ]; then
  ROOT=${1:?usage: inroot.sh ROOT [--bind SRC:DST]... -- COMMAND...}
  [ -x "$ROOT/bin/sh" ] || { echo "inroot: $ROOT is not a build root (layer/buildroot.sh)" >&2; exit 1; }
  exec unshare --mount --propagation private -- "$0" --in-namespace "$@"
fi
shift
ROOT=$(realpath "$1"); shift
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
cwd=/
while [ $# -gt 0 ]; do
  case "$1" in
    --bind)
      src=${2%%:*}; dst=${2#*:}
      [ -e "$ROOT$dst" ] || { echo "inroot: $dst does not exist in $ROOT" >&2; exit 1; }
      mount --bind "$src" "$ROOT$dst"
      shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
# chroot(1) starts in /; the root's own sh moves to DIR and execs the command.
exec chroot "$ROOT" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
