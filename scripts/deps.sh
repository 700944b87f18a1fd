#!/usr/bin/env bash
# Installs what the build, the tests and the benchmarks need, on Debian 12, and only what is missing.
# Usage: scripts/deps.sh [build|test|all]   (default: all)
set -euo pipefail
what=${1:-all}

# debootstrap: the layer's old-glibc build root (layer/buildroot.sh); libmicrohttpd, libyaml,
# zlib: host local's servers and template reader.
build_pkgs=(gcc make pkg-config python3 python3-dev libcurl4-openssl-dev libjansson-dev
            libmicrohttpd-dev libyaml-dev zlib1g-dev debootstrap)
# openssl: the layer tests' throw-away CA; binutils: readelf; chromium: the store's browser test.
test_pkgs=(check valgrind python3-pytest python3-boto3 python3-yaml python3-aiohttp nodejs npm zip unzip curl
           chromium chromium-driver openssl binutils)

pkgs=("${build_pkgs[@]}")
[ "$what" = build ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if [ "$p" = nodejs ] || [ "$p" = npm ]; then
    command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
