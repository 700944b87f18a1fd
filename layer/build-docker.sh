#!/usr/bin/env bash
# `make layer`: builds the deployable layer inside Amazon Linux 2023 (the Dockerfile's `build`
# stage on public.ecr.aws/lambda/provided:al2023) and copies the zips out:
#
#   dist/host-layer.zip          bootstrap + lib/ + lib/python3.11/ + python/ (boto3), glibc <= 2.34
#   dist/host-layer.json         what went in
#   dist/functions/hello.zip     the function zips (layer/functions.txt)
#   dist/functions/store.zip
#
# The Docker build itself fails when any ELF object in the layer needs a glibc newer than 2.34 or a
# library the layer does not carry (scripts/check_glibc.py). Needs a Docker engine with BuildKit
# and network access for dnf and pip. Environment: PLATFORM (default linux/amd64), OUT (dist).
set -euo pipefail
cd "$(dirname "$0")/.."

PLATFORM=${PLATFORM:-linux/amd64}
OUT=${OUT:-dist}

if ! command -v docker >/dev/null 2>&1; then
  echo "layer: docker is not installed. 'make layer-native' builds the same layout from this" \
       "machine's libraries, for local tests only." >&2
  exit 2
fi
if ! docker info >/dev/null 2>&1; then
  echo "layer: the docker client answers but no Docker engine does ('docker info' failed)." \
       "'make layer-native' builds the same layout from this machine's libraries, for local" \
       "tests only." >&2
  exit 2
fi

mkdir -p "$OUT"
DOCKER_BUILDKIT=1 docker build --platform "$PLATFORM" --target artifacts \
  --output "type=local,dest=$OUT" .

# The same check once more, outside, with the full table.
if command -v python3 >/dev/null 2>&1; then
  python3 scripts/check_glibc.py "$OUT/host-layer.zip"
fi
echo "layer: $OUT/host-layer.zip and $OUT/functions/ (built on Amazon Linux 2023)"
