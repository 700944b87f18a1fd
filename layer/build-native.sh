#!/usr/bin/env bash
# Builds the Lambda layer from this machine's Python, for local smoke tests (`make layer-native`).
#
#   dist/host-layer-native.zip    bootstrap (= build/host), bin/python3 (a symlink to ../bootstrap,
#                                 stored as a symlink), lib/ (libpython + shared libs),
#                                 lib/python3.X/ (stdlib), python/lib/python3.X/site-packages/ (boto3)
#   dist/host-layer-native.json   what went in (shared libraries, packages)
#   dist/functions/NAME.zip       the function zips listed in layer/functions.txt
#
# On Debian 12 the result needs glibc 2.36 (libpython: hypot@GLIBC_2.35; libexpat, libcrypt:
# arc4random_buf@GLIBC_2.36), so it does NOT run on provided.al2023 (glibc 2.34):
# scripts/check_glibc.py says so at the end, as a report.
# The deployable layer is `make layer` (layer/build-docker.sh), which builds the same layout inside
# an Amazon Linux 2023 image.
#
# Environment: PYTHON (the interpreter host embeds; default /usr/bin/python3), HOST_BIN (default
# build/host), OUT (default dist), LAYER_NAME (default host-layer-native), GLIBC_MAX (default 2.34),
# GLIBC_ENFORCE=1 to fail when the layer does not fit GLIBC_MAX (the Docker build sets it),
# PACKAGES_FROM (folder with boto3 and its dependencies; default: the interpreter's
# dist-packages/site-packages that holds boto3; empty string = a layer without packages),
# PACKAGES (which entries of PACKAGES_FROM to copy; default: boto3's run-time closure on Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
HOST_BIN=${HOST_BIN:-build/host}
OUT=${OUT:-dist}
LAYER_NAME=${LAYER_NAME:-host-layer-native}
GLIBC_MAX=${GLIBC_MAX:-2.34}
GLIBC_ENFORCE=${GLIBC_ENFORCE:-0}

[ -x "$HOST_BIN" ] || { echo "build-native: $HOST_BIN not found; run make first" >&2; exit 1; }

if [ -z "${PACKAGES_FROM+set}" ]; then
  # Where the embedded interpreter's boto3 lives (Debian: /usr/lib/python3/dist-packages).
  PACKAGES_FROM=$("$PYTHON" -I -c 'import os, boto3; print(os.path.dirname(os.path.dirname(boto3.__file__)))' 2>/dev/null || true)
  [ -n "$PACKAGES_FROM" ] || echo "build-native: boto3 not found for $PYTHON; building a layer without packages" >&2
fi
# Debian's boto3 stack (devendored: botocore imports requests directly). pyOpenSSL/cryptography
# are left out on purpose: botocore falls back to the stdlib ssl module without them.
PACKAGES=${PACKAGES:-boto3 botocore s3transfer jmespath dateutil urllib3 six requests certifi idna chardet charset_normalizer}

start=$(date +%s)
pkg_args=()
if [ -n "$PACKAGES_FROM" ]; then
  pkg_args=(--packages-from "$PACKAGES_FROM" --imports boto3)
  [ "$PACKAGES" = all ] || pkg_args+=(--packages $PACKAGES)
fi

rm -f "$OUT/$LAYER_NAME.zip"
"$PYTHON" layer/mklayer.py layer --host "$HOST_BIN" --name "$LAYER_NAME" --out "$OUT" \
  --stage "build/$LAYER_NAME" "${pkg_args[@]}"
"$PYTHON" layer/mklayer.py functions --src pyhandlers --manifest layer/functions.txt \
  --out "$OUT/functions" --stage build/functions

# Which glibc the layer needs (the full table: scripts/check_glibc.py build/$LAYER_NAME).
if [ "$GLIBC_ENFORCE" = 1 ]; then
  if ! "$PYTHON" scripts/check_glibc.py --quiet --max "$GLIBC_MAX" "build/$LAYER_NAME"; then
    rm -f "$OUT/$LAYER_NAME.zip"
    echo "build-native: $LAYER_NAME does not fit glibc $GLIBC_MAX; removed $OUT/$LAYER_NAME.zip" >&2
    exit 1
  fi
else
  "$PYTHON" scripts/check_glibc.py --quiet --report-only --max "$GLIBC_MAX" "build/$LAYER_NAME"
  echo "build-native: (a report only: a layer built from this machine's libraries is for local tests;" \
       "make layer builds the deployable one on Amazon Linux 2023)"
fi
echo "build-native: $OUT/$LAYER_NAME.zip and $OUT/functions/ in $(( $(date +%s) - start )) s"
