#!/usr/bin/env bash
# `make layer`: builds the deployable layer without Docker. Creates the old-glibc build root
# once (layer/buildroot.sh, Debian 11: glibc 2.31), fetches the upstream sources from Debian's
# archive (layer/sources.sh), and compiles and assembles everything inside the root
# (layer/build-inside.sh). Reruns reuse build/root, build/src and build/layer.
#
#   dist/pythonX.Y/host-layer.zip        bootstrap, bin/python3, lib/ (stdlib, libraries)
#   dist/pythonX.Y/host-layer.json       what went in
#   dist/pythonX.Y/functions/NAME.zip    the function zips (layer/functions.txt)
#
# Environment: PYTHON_VERSION (default 3.13), LIBPYTHON, LTO, PGO, JOBS (layer/build-inside.sh),
# BUILDROOT (default build/root). As root (debootstrap, chroot, mount namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_VERSION=${PYTHON_VERSION:-$(cat layer/python-version)}
BUILDROOT=${BUILDROOT:-build/root}

[ "$(id -u)" -eq 0 ] || { echo "layer: needs root (debootstrap, chroot); try sudo make layer" >&2; exit 1; }
start=$(date +%s)
bash layer/buildroot.sh "$BUILDROOT"
declare -A tar
while read -r pkg _version path; do tar[$pkg]=$path; done \
  < <(bash layer/sources.sh build/src "$PYTHON_VERSION")

rel() { realpath --relative-to=. "$1"; }
layer/inroot.sh "$BUILDROOT" --bind "$PWD:/src" -- \
  /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  PYTHON_TAR="/src/$(rel "${tar[python$PYTHON_VERSION]}")" OPENSSL_TAR="/src/$(rel "${tar[openssl]}")" \
  CURL_TAR="/src/$(rel "${tar[curl]}")" WORK=/src/build/layer OUT="/src/dist/python$PYTHON_VERSION" \
  LIBPYTHON="${LIBPYTHON:-static}" LTO="${LTO:-1}" PGO="${PGO:-0}" JOBS="${JOBS:-$(nproc)}" \
  /bin/bash /src/layer/build-inside.sh
echo "layer: dist/python$PYTHON_VERSION/host-layer.zip in $(( $(date +%s) - start )) s" >&2
