#!/usr/bin/env bash
# Fetches upstream source tarballs from Debian's archive (the orig tarball of a source package,
# from whichever suite serves the newest wanted version), through apt with a private list of
# deb-src entries kept under build/ (this machine's apt configuration is not touched). apt checks
# each file against the suite's signed index.
#
# usage: layer/sources.sh DEST X.Y                    what the layer for CPython X.Y is built from
#        layer/sources.sh DEST PACKAGE[=VERSION-PREFIX] ...
#   prints one line per package: PACKAGE UPSTREAM-VERSION PATH-OF-THE-ORIG-TARBALL
# A version prefix picks the newest version that starts with it; pre-releases (~rc1, ~b2) are
# never picked. Environment: SOURCES_MIRROR, SOURCES_SUITES.
set -euo pipefail

DEST=${1:?usage: sources.sh DEST X.Y | PACKAGE[=PREFIX] ...}; shift
if [[ $# -eq 1 && $1 =~ ^[0-9]+\.[0-9]+$ ]]; then
  # OpenSSL: the 3.5 series, supported (LTS) until 2030 (the build root's 1.1.1 is end of life).
  # curl: the version layer/patches/curl-*.patch are made for.
  set -- "python$1" openssl=3.5. curl=8.21.
fi
MIRROR=${SOURCES_MIRROR:-http://deb.debian.org/debian}
SUITES=${SOURCES_SUITES:-bullseye bookworm trixie sid experimental}
APT="$DEST/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
: > "$APT/sources.list.new"
for s in $SUITES; do echo "deb-src $MIRROR $s main" >> "$APT/sources.list.new"; done
opts=(-o "Dir::Etc::SourceList=$(realpath "$APT")/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o "Dir::State::Lists=$(realpath "$APT")/lists" -o "Dir::Cache=$(realpath "$APT")/cache"
      -o APT::Sandbox::User=root -qq)
# The index is fetched once per day (or when the suites change).
if ! cmp -s "$APT/sources.list.new" "$APT/sources.list" || [ -z "$(find "$APT/lists" -maxdepth 1 -name '*Sources*' -mmin -1440)" ]; then
  mv "$APT/sources.list.new" "$APT/sources.list"
  apt-get "${opts[@]}" update >&2
fi

for spec in "$@"; do
  pkg=${spec%%=*}; prefix=""; [ "$spec" = "$pkg" ] || prefix=${spec#*=}
  versions=$(apt-cache "${opts[@]}" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' \
             | grep -vE '~(rc|a|b|alpha|beta|pre)[0-9]' | grep -E "^([0-9]+:)?${prefix//./\\.}" | sort -ruV || true)
  [ -n "$versions" ] || { echo "sources: no version of $pkg${prefix:+ $prefix*} in $SUITES" >&2; exit 1; }
  orig=""
  # Newest first; a mirror may not serve every file its index lists (then the next one).
  for version in $versions; do
    upstream=${version#*:}; upstream=${upstream%-*}
    orig=$(ls "$DEST/${pkg}_${upstream}.orig.tar."* 2>/dev/null | grep -v '\.asc$' | head -1 || true)
    [ -z "$orig" ] || break
    if (cd "$DEST" && apt-get "${opts[@]}" source --download-only "$pkg=$version" >/dev/null 2>&1); then
      orig=$(ls "$DEST/${pkg}_${upstream}.orig.tar."* | grep -v '\.asc$' | head -1)
      break
    fi
    echo "sources: $pkg $version is listed but not served by $MIRROR; trying an older one" >&2
  done
  [ -n "$orig" ] || { echo "sources: $MIRROR serves no source of $pkg${prefix:+ $prefix*}" >&2; exit 1; }
  echo "$pkg $upstream $orig"
done
