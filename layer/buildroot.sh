#!/usr/bin/env bash
# Creates the old-glibc build root once: Debian 11 (glibc 2.31 <= AL2023's 2.34) made with
# debootstrap from the apt mirror this machine already uses, with the compilers and the -dev
# packages that CPython's extension modules, libcurl and host need. Every object built inside it
# links against glibc 2.31, so the layer fits provided.al2023 by construction.
#
# usage: layer/buildroot.sh ROOT     (as root; a no-op when ROOT/.buildroot-ok is current)
set -euo pipefail

ROOT=${1:?usage: buildroot.sh ROOT}
SUITE=${BUILDROOT_SUITE:-bullseye}
# The mirror apt uses here (deb.debian.org unless this machine says otherwise).
MIRROR=${BUILDROOT_MIRROR:-$(grep -rhoE '^(URIs:|deb) *https?://[^ ]+/debian/?( |$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+' | head -1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# gcc/make/binutils, perl for OpenSSL's Configure, and what the stdlib's modules link:
# ctypes (libffi), zlib, bz2, lzma, sqlite3, uuid; jansson for host.
PACKAGES=build-essential,pkg-config,perl,xz-utils,libffi-dev,zlib1g-dev,libbz2-dev,liblzma-dev,libsqlite3-dev,uuid-dev,libjansson-dev

stamp="$ROOT/.buildroot-ok"
want="$SUITE $MIRROR $PACKAGES"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "buildroot: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "buildroot: debootstrap missing (scripts/deps.sh build)" >&2; exit 1; }

start=$(date +%s)
rm -rf "$ROOT" "$ROOT.tmp"
mkdir -p "$(dirname "$ROOT")"
echo "buildroot: debootstrap $SUITE from $MIRROR into $ROOT" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT.tmp" "$MIRROR" \
  > "$ROOT.log" 2>&1 || { tail -30 "$ROOT.log" >&2; exit 1; }
rm -rf "$ROOT.tmp/var/cache/apt/archives/"*.deb
# Mount points: the source tree at /src (the build), the layer at /opt, a function at
# /var/task and AL2023's CA bundle folder (the tests).
mkdir -p "$ROOT.tmp/src" "$ROOT.tmp/opt" "$ROOT.tmp/var/task" "$ROOT.tmp/etc/pki/tls/certs"
mv "$ROOT.tmp" "$ROOT"
echo "$want" > "$stamp"
echo "buildroot: $ROOT ready in $(( $(date +%s) - start )) s" >&2
