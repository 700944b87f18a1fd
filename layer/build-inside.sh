#!/usr/bin/env bash
# Compiles the layer from source inside a build root and assembles it: OpenSSL 3, an HTTP-only
# static libcurl, CPython, then host linked against them, then the layer zip and the function
# zips. Runs in the old-glibc root (layer/build.sh enters it) or in Amazon Linux 2023
# (the Dockerfile): whatever glibc the root has is the newest the layer needs.
#
# usage: layer/build-inside.sh      (from the source tree; everything comes from the environment)
#   PYTHON_TAR, OPENSSL_TAR, CURL_TAR   the source tarballs (layer/sources.sh)
#   WORK      build products, reused by the next run (default build/layer)
#   OUT       where the zips go (default dist/pythonX.Y)
#   LIBPYTHON static (linked into bootstrap, the default) or shared (lib/libpython3.X.so)
#   LTO       1 (the default): CPython --with-lto; 0: without
#   PGO=1     CPython --enable-optimizations: profiles its test suite (off: 23 min of build)
#   JOBS      parallel make jobs (default: the number of CPUs)
# Each library is built once per version and options (a stamp file says so); host is rebuilt
# by its own Makefile's rules.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${PYTHON_TAR:?}" "${OPENSSL_TAR:?}" "${CURL_TAR:?}"
WORK=$(mkdir -p "${WORK:-build/layer}" && realpath "${WORK:-build/layer}")
LIBPYTHON=${LIBPYTHON:-static}
LTO=${LTO:-1}
PGO=${PGO:-0}
JOBS=${JOBS:-$(nproc)}
GLIBC_MAX=${GLIBC_MAX:-2.34}
# AL2023 keeps its CA bundle and OpenSSL configuration under /etc/pki/tls (Debian: /usr/lib/ssl).
OPENSSLDIR=/etc/pki/tls
CA_BUNDLE=$OPENSSLDIR/certs/ca-bundle.crt

log() { echo "build-inside: $*" >&2; }
# Runs a build step with its output in $WORK/logs/NAME.log, shown (the end of it) only on failure.
logged() {
  local name=$1; shift
  mkdir -p "$WORK/logs"
  "$@" > "$WORK/logs/$name.log" 2>&1 || { tail -40 "$WORK/logs/$name.log" >&2; log "$name failed (log: $WORK/logs/$name.log)"; exit 1; }
}
# Unpacks a tarball afresh into dest (a step runs only when its inputs changed, and a tree
# left from other options would keep objects compiled with them) and prints the directory
# it unpacks into, e.g. Python-3.13.15 for python3.13_3.13.15.orig.tar.xz.
unpack() {
  local tar=$1 dest=$2 top
  top=$(tar tf "$tar" | sed -n '1s|/.*||p')   # (sed reads it all: no SIGPIPE for tar)
  rm -rf "${dest:?}/$top"
  mkdir -p "$dest"
  tar xf "$tar" -C "$dest"
  echo "$dest/$top"
}
step_done() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

DEPS=$WORK/deps            # OpenSSL and libcurl, installed; shared by every Python version

build_openssl() {
  local dir stamp=$WORK/openssl.ok want="$OPENSSL_TAR $OPENSSLDIR $CA_BUNDLE"
  step_done "$stamp" "$want" && return
  local t=$(date +%s)
  dir=$(unpack "$OPENSSL_TAR" "$WORK/src")
  # The default CA file is AL2023's bundle; the default CA folder ($OPENSSLDIR/certs) and
  # openssl.cnf follow from --openssldir, as with AL2023's own OpenSSL.
  sed -i "s|^#define X509_CERT_FILE OPENSSLDIR \"/cert.pem\"|#define X509_CERT_FILE \"$CA_BUNDLE\"|" \
    "$dir/include/internal/common.h"
  grep -qF "\"$CA_BUNDLE\"" "$dir/include/internal/common.h" \
    || { log "cannot set OpenSSL's default CA file in $dir/include/internal/common.h"; exit 1; }
  # Only the shared libraries are built (install_sw would compile every object a second time
  # for libcrypto.a and libssl.a, which nothing here links), then installed by hand.
  logged openssl sh -c "cd '$dir' && ./Configure 'linux-$(uname -m)' --prefix='$DEPS' --libdir=lib \
      --openssldir='$OPENSSLDIR' shared no-tests no-docs no-apps no-legacy \
    && make -j$JOBS build_generated && make -j$JOBS libcrypto.so libssl.so"
  mkdir -p "$DEPS/include" "$DEPS/lib"
  cp -r "$dir/include/openssl" "$DEPS/include/"
  cp -P "$dir"/libcrypto.so* "$dir"/libssl.so* "$DEPS/lib/"
  echo "$want" > "$stamp"
  log "OpenSSL $(basename "$dir") in $(( $(date +%s) - t )) s"
}

# libcurl is only a loopback HTTP/1.1 client of the Runtime API: no TLS, no other protocol, no
# IDN, PSL or compression, so bootstrap maps no library for them; nor the parts of HTTP host
# never asks for (proxies, authentication, forms, the headers API, the progress meter), which
# libcurl would otherwise run through on every request. Verbose strings stay: without them
# curl_easy_strerror says only "Error", and its messages reach the function's log.
CURL_OFF=(--without-ssl --without-zlib --without-brotli --without-zstd --without-libidn2
  --without-libpsl --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-libssh2
  --without-libssh --without-librtmp --without-gssapi --without-libgsasl --without-ca-bundle
  --without-ca-path --disable-dict --disable-file --disable-ftp --disable-gopher --disable-imap
  --disable-ldap --disable-ldaps --disable-mqtt --disable-pop3 --disable-rtsp --disable-smb
  --disable-smtp --disable-telnet --disable-tftp --disable-websockets --disable-ipfs
  --disable-ntlm --disable-kerberos-auth --disable-negotiate-auth --disable-aws --disable-alt-svc
  --disable-hsts --disable-cookies --disable-netrc --disable-manual --disable-docs
  --disable-proxy --disable-http-auth --disable-headers-api --disable-progress-meter
  --disable-doh --disable-mime --disable-form-api --disable-bindlocal --disable-dateparse
  --disable-sha512-256 --disable-get-easy-options --disable-unix-sockets
  --disable-libcurl-option --disable-shared --enable-static --with-pic)
# layer/patches/curl-*.patch, applied in name order to a fresh copy of the source.
CURL_PATCHES=(layer/patches/curl-*.patch)

build_curl() {
  local dir stamp=$WORK/curl.ok want
  want="$CURL_TAR ${CURL_OFF[*]} $(cat "${CURL_PATCHES[@]}" | sha256sum | cut -c1-16)"
  step_done "$stamp" "$want" && return
  local t=$(date +%s) p
  dir=$(unpack "$CURL_TAR" "$WORK/src")
  for p in "${CURL_PATCHES[@]}"; do
    patch -d "$dir" -p1 --quiet --forward < "$p" \
      || { log "$p does not apply to $(basename "$dir") (the patches are for the version layer/sources.sh pins)"; exit 1; }
  done
  logged curl sh -c "cd '$dir' && ./configure --prefix='$DEPS' ${CURL_OFF[*]} \
    && make -j$JOBS -C lib && make -C lib install && make -C include install \
    && make install-pkgconfigDATA"
  # The patched printf must agree with C's (it builds every request host sends).
  ${CC:-cc} -O2 -Wall -Wextra -Werror -I"$DEPS/include" -o "$WORK/check_curl_printf" \
    layer/check_curl_printf.c "$DEPS/lib/libcurl.a" -lpthread
  "$WORK/check_curl_printf" >&2 || { log "the patched libcurl formats differently from printf"; exit 1; }
  echo "$want" > "$stamp"
  log "libcurl $(basename "$dir") in $(( $(date +%s) - t )) s"
}

# CPython is built once with --enable-shared: that gives libpython3.X.so and (the default
# --with-static-libpython) libpython3.X.a from the same objects, so both link modes use the same
# stdlib and extension modules (which do not link libpython on Linux).
build_python() {
  local dir opts stamp want
  opts=(--prefix="$PYPREFIX" --enable-shared --with-openssl="$DEPS" --with-openssl-rpath=no
        --without-ensurepip --without-system-expat --without-system-libmpdec)
  [ "$LTO" = 1 ] && opts+=(--with-lto)
  if [ "$PGO" = 1 ]; then opts+=(--enable-optimizations); else opts+=(--disable-test-modules); fi
  stamp=$PYWORK/python.ok; want="$PYTHON_TAR ${opts[*]} $(cat "$WORK/openssl.ok")"
  step_done "$stamp" "$want" && return
  local t=$(date +%s)
  dir=$(unpack "$PYTHON_TAR" "$PYWORK/src")
  rm -rf "$PYPREFIX"
  logged python sh -c "cd '$dir' && ./configure ${opts[*]} && make -j$JOBS && make install"
  [ -x "$PYTHON" ] || { log "CPython did not install $PYTHON"; exit 1; }
  "$PYTHON" -c 'import ssl, sqlite3, ctypes, decimal, hashlib, zlib, bz2, lzma, uuid, _uuid; hashlib.scrypt' \
    || { log "CPython was built without a module the layer needs (see configure's summary)"; exit 1; }
  echo "$want" > "$stamp"
  log "CPython $(basename "$dir") in $(( $(date +%s) - t )) s"
}

# host, with libcurl and jansson linked statically and libpython as LIBPYTHON says. Only
# $ORIGIN/lib is on its library path: nothing points back into this build.
build_host() {
  local cfg py_libs jansson
  # jansson's static library where the root has one (Debian does; AL2023 ships only the .so).
  jansson=$(${CC:-cc} -print-file-name=libjansson.a)
  [ "$jansson" != libjansson.a ] || jansson=-ljansson
  cfg() { "$PYTHON" -c "import sysconfig; print(sysconfig.get_config_var('$1') or '')"; }
  if [ "$LIBPYTHON" = static ]; then
    # The extension modules find the C API in bootstrap itself (-export-dynamic).
    py_libs="$(cfg LIBPL)/$(cfg LIBRARY) $(cfg LIBS) $(cfg SYSLIBS) $(cfg LINKFORSHARED)"
  else
    py_libs="-L$PYPREFIX/lib -lpython$PYTHON_VERSION $(cfg LIBS) $(cfg SYSLIBS)"
  fi
  make --no-print-directory -s BUILD="$PYWORK/host-$LIBPYTHON" PYTHON="$PYTHON" HOST_LOCAL_TOOLS=0 \
    PY_LIBS="$py_libs" DEP_CFLAGS="-I$DEPS/include" \
    DEP_LIBS="$(PKG_CONFIG_PATH=$DEPS/lib/pkgconfig pkg-config --static --libs libcurl) $jansson" \
    LDFLAGS="-Wl,--disable-new-dtags -Wl,-rpath,'\$\$ORIGIN/lib'" all
  HOST_BIN=$PYWORK/host-$LIBPYTHON/host
  "$HOST_BIN" --version >/dev/null
}

assemble() {
  local t=$(date +%s) stage=$PYWORK/stage-$LIBPYTHON
  "$PYTHON" layer/mklayer.py layer --host "$HOST_BIN" --name host-layer --out "$OUT" \
    --stage "$stage" --strip
  "$PYTHON" layer/mklayer.py functions --src pyhandlers --manifest layer/functions.txt \
    --out "$OUT/functions" --stage "$PYWORK/functions"
  if ! "$PYTHON" scripts/check_glibc.py --quiet --max "$GLIBC_MAX" "$OUT/host-layer.zip"; then
    rm -f "$OUT/host-layer.zip"
    log "the layer does not fit glibc $GLIBC_MAX; removed $OUT/host-layer.zip"
    exit 1
  fi
  log "assembled in $(( $(date +%s) - t )) s"
}

start=$(date +%s)
PYTHON_VERSION=$(basename "$PYTHON_TAR" | sed -nE 's/^python([0-9]+\.[0-9]+)_.*/\1/p')
[ -n "$PYTHON_VERSION" ] || { log "cannot tell the Python version of $PYTHON_TAR"; exit 1; }
PYWORK=$WORK/python$PYTHON_VERSION
PYPREFIX=$PYWORK/prefix
PYTHON=$PYPREFIX/bin/python$PYTHON_VERSION
OUT=$(mkdir -p "${OUT:-dist/python$PYTHON_VERSION}" && realpath "${OUT:-dist/python$PYTHON_VERSION}")
# CPython's build imports _ssl to check it; mklayer's ldd must find libssl and libpython.
export LD_LIBRARY_PATH=$DEPS/lib:$PYPREFIX/lib

build_openssl
build_curl
build_python
build_host
assemble
log "$OUT/host-layer.zip (CPython $("$PYTHON" -c 'import platform; print(platform.python_version())')," \
    "libpython $LIBPYTHON, $(getconf GNU_LIBC_VERSION)) in $(( $(date +%s) - start )) s"
