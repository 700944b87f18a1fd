#!/usr/bin/env bash
# `make layer-docker`: the layer built inside Amazon Linux 2023 (the Dockerfile's `build` stage on
# public.ecr.aws/lambda/provided:al2023) by the same script as `make layer` (layer/build-inside.sh)
# from the same sources, then the zips copied out:
#
#   dist/pythonX.Y/host-layer.zip         bootstrap, bin/python3, lib/ (stdlib, libraries)
#   dist/pythonX.Y/host-layer.json        what went in
#   dist/pythonX.Y/functions/NAME.zip     the function zips (layer/functions.txt)
#
# The sources come from Debian's archive through apt (layer/sources.sh), so this machine needs apt;
# elsewhere, put the three orig tarballs in build/src yourself and set PYTHON_TAR, OPENSSL_TAR and
# CURL_TAR to their paths. The Docker build fails when any ELF object in the layer needs a glibc
# newer than 2.34 or a library the layer does not carry (scripts/check_glibc.py). Needs a Docker
# engine with BuildKit. Environment: PYTHON_VERSION (default: layer/python-version),
# PLATFORM (default linux/amd64), OUT (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_VERSION=${PYTHON_VERSION:-$(cat layer/python-version)}
PLATFORM=${PLATFORM:-linux/amd64}
OUT=${OUT:-dist}

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "layer-docker: no Docker engine answers ('docker info' failed). 'make layer' builds the" \
       "same layer without Docker." >&2
  exit 2
fi
if [ -z "${PYTHON_TAR:-}" ]; then
  while read -r pkg _version path; do
    case $pkg in
      python*) PYTHON_TAR=$path ;;
      openssl) OPENSSL_TAR=$path ;;
      curl) CURL_TAR=$path ;;
    esac
  done < <(bash layer/sources.sh build/src "$PYTHON_VERSION")
fi

mkdir -p "$OUT"
DOCKER_BUILDKIT=1 docker build --platform "$PLATFORM" --target artifacts \
  --build-arg PYTHON_VERSION="$PYTHON_VERSION" --build-arg PYTHON_TAR="$PYTHON_TAR" \
  --build-arg OPENSSL_TAR="$OPENSSL_TAR" --build-arg CURL_TAR="$CURL_TAR" \
  --output "type=local,dest=$OUT" .

# The same check once more, outside, with the full table.
if command -v python3 >/dev/null 2>&1; then
  python3 scripts/check_glibc.py "$OUT/python$PYTHON_VERSION/host-layer.zip"
fi
echo "layer-docker: $OUT/python$PYTHON_VERSION/host-layer.zip and functions/ (built on Amazon Linux 2023)"
