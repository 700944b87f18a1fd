#!/usr/bin/env bash
# Smoke test in Docker: builds the Dockerfile's `smoke` stage (the AL2023 layer unpacked at /opt,
# the functions at /var/task, on public.ecr.aws/lambda/provided:al2023), runs it with
# `docker run -p PORT:8080` and invokes it through the base image's Runtime Interface Emulator
# with curl: hello, a probe of where Python was loaded from, the store on SQLite, and the store's
# refusal to start without its secret. Exit status 0 when every check passed.
#
# Needs a Docker engine (our build machines have none: CI runs tests/smoke/ instead, which does
# the same against the test Runtime API server without Docker). Environment: IMAGE (host-smoke),
# PORT (first host port, default 9000), PLATFORM (linux/amd64), NO_BUILD=1 to reuse IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-host-smoke}
PORT=${PORT:-9000}
PLATFORM=${PLATFORM:-linux/amd64}
SECRET=docker-smoke-secret-0123456789abcdefghijklmnop

if ! docker info >/dev/null 2>&1; then
  echo "docker_smoke: no Docker engine answers ('docker info' failed); nothing was run." >&2
  exit 2
fi
if [ "${NO_BUILD:-0}" != 1 ]; then
  DOCKER_BUILDKIT=1 docker build --platform "$PLATFORM" --target smoke -t "$IMAGE" .
fi

containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

fails=0
checks=0
next_port=$PORT

# start HANDLER [docker run options...]: runs the image with that handler (the image's CMD);
# sets $port to the host port of its RIE and waits until the RIE answers.
start() {
  local handler=$1
  shift
  port=$next_port
  next_port=$((next_port + 1))
  containers+=("$(docker run -d --platform "$PLATFORM" -p "127.0.0.1:$port:8080" "$@" \
                  "$IMAGE" "$handler")")
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  echo "docker_smoke: the RIE on port $port did not answer" >&2
  docker logs "${containers[-1]}" >&2 || true
  exit 1
}

# invoke JSON: POSTs one event to the current container; prints the reply body.
invoke() {
  curl -sS -XPOST "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" -d "$1"
}

# expect WHAT BODY REGEX...: every extended regex must match the reply.
expect() {
  local what=$1 body=$2
  shift 2
  checks=$((checks + 1))
  for re in "$@"; do
    if ! grep -Eq -- "$re" <<<"$body"; then
      echo "FAIL: $what: /$re/ not in: ${body:0:600}"
      fails=$((fails + 1))
      return 0
    fi
  done
  echo "ok: $what"
}

apigw() { # apigw METHOD PATH [BODY-JSON-STRING] [TOKEN]: an HTTP API payload v2 event
  local headers='{"content-type":"application/json"}'
  [ -n "${4:-}" ] && headers="{\"content-type\":\"application/json\",\"authorization\":\"Bearer $4\"}"
  local body=""
  [ -n "${3:-}" ] && body=",\"body\":$(printf '%s' "$3" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/')"
  printf '{"version":"2.0","routeKey":"%s %s","rawPath":"%s","headers":%s,"requestContext":{"http":{"method":"%s","path":"%s"},"requestId":"smoke","stage":"$default"},"isBase64Encoded":false%s}' \
    "$1" "$2" "$2" "$headers" "$1" "$2" "$body"
}

# 1. hello, the image's default CMD.
start hello.lambda_handler
expect "hello greets" "$(invoke '{"name": "Docker"}')" '"statusCode": ?200' 'Hello, Docker!'
expect "hello rejects a missing name" "$(invoke '{}')" '"statusCode": ?400' 'missing_name'

# 2. Where Python came from: the layer at /opt (libpython is linked into bootstrap).
start probe.handler
reply=$(invoke '{"imports": ["os", "ssl", "sqlite3", "ctypes", "decimal"]}')
expect "sys.prefix is /opt" "$reply" '"prefix": ?"/opt"'
expect "stdlib from the layer" "$reply" '"os": ?"/opt/lib/python3\.[0-9]+/os\.py"'
expect "ssl from the layer" "$reply" '"ssl": ?"/opt/lib/python3\.[0-9]+/ssl\.py"'
expect "libssl mapped from /opt/lib" "$reply" '"/opt/lib/libssl\.so\.3"'
if grep -Eq '"/(usr/)?lib(64)?/lib(python|ssl|crypto)' <<<"$reply"; then
  echo "FAIL: a libpython or OpenSSL outside /opt is mapped"; fails=$((fails + 1))
fi

# 3. The store on SQLite (a fresh database in the container's /tmp).
start store.handler -e STORE_TOKEN_SECRET="$SECRET" -e STORE_DB_PATH=/tmp/store.sqlite3
expect "store lists products" "$(invoke "$(apigw GET /products)")" '"statusCode": ?200' 'MUG-001'
expect "store registers a user" \
  "$(invoke "$(apigw POST /users '{"email": "docker@example.com", "password": "correct horse battery"}')")" \
  '"statusCode": ?201'
reply=$(invoke "$(apigw POST /sessions '{"email": "docker@example.com", "password": "correct horse battery"}')")
expect "store logs in" "$reply" '"statusCode": ?200' 'token'
token=$(grep -Eo 'token\\": ?\\"[^\\]+' <<<"$reply" | sed -E 's/.*\\"//' || true)
expect "store keeps a cart" "$(invoke "$(apigw POST /cart/items '{"sku": "MUG-001", "quantity": 1}' "$token")")" \
  '"statusCode": ?200' 'MUG-001'
expect "store wants a token" "$(invoke "$(apigw GET /cart)")" '"statusCode": ?401'

# 4. Init error: the store refuses to start without its secret (RIE: the posted init error).
start store.handler
expect "store refuses to start without STORE_TOKEN_SECRET" "$(invoke "$(apigw GET /products)")" \
  'STORE_TOKEN_SECRET'

echo "docker_smoke: $((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
