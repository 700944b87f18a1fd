#!/usr/bin/env bash
# The store, end to end, under host in local mode on a fresh SQLite file:
# register -> log in -> products -> add to cart -> view cart -> order and pay -> orders,
# plus a declined card, some failure paths and the hello handler.
# Each step is one `host --local` run of an event from pyhandlers/events/ (a cold start).
# Exits non-zero if any step answers with an unexpected status.
#
#   make demo            (builds build/host first)
#   bash scripts/demo.sh (HOST_BIN, PYTHON override the binary and the interpreter)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST_BIN=${HOST_BIN:-$ROOT/build/host}
PYTHON=${PYTHON:-python3}
TASK_ROOT=$ROOT/pyhandlers
EVENTS=$TASK_ROOT/events
FILL=$EVENTS/fill.py

if [ ! -x "$HOST_BIN" ]; then
  echo "demo: $HOST_BIN not found; run 'make' (or 'make demo') first" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/store-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# A fresh SQLite store; no DynamoDB, no secret: local mode signs tokens with the
# development secret (the handler warns about it on stderr).
export STORE_DB_PATH=$WORK/store.sqlite3
unset STORE_TABLE STORE_DYNAMODB_ENDPOINT STORE_TOKEN_SECRET || true

cat > "$WORK/show.py" <<'PY'
"""Prints one step: the request line, the status and the body, the EMF metrics the handler
logged and host's REPORT; exits 1 when the status is not the expected one."""
import json, sys
event_path, out_path, err_path, expected, title = sys.argv[1:6]
event = json.load(open(event_path))
http = event.get("requestContext", {}).get("http")
if http:
    request = "%s %s" % (http["method"], event["rawPath"])
    body = event.get("body")
    if body:
        request += "  " + body
else:
    request = "invoke " + json.dumps(event)
print("\n== %s" % title)
print("-> %s" % request)
lines = [l for l in open(out_path).read().splitlines() if l.strip()]
if not lines:
    print("<- no result; host's stderr:\n" + open(err_path).read())
    sys.exit(1)
result = json.loads(lines[-1])
status = result.get("statusCode")
try:
    doc = json.loads(result.get("body") or "null")
except ValueError:
    doc = result.get("body")
def fmt(v, depth=0):
    """Objects one member a line (two levels deep), lists of objects one item a line."""
    pad = "  " * depth
    if isinstance(v, dict) and depth < 2 and any(isinstance(x, (dict, list)) for x in v.values()):
        return "{\n" + ",\n".join("%s  %s: %s" % (pad, json.dumps(k), fmt(x, depth + 1))
                                   for k, x in v.items()) + "\n" + pad + "}"
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        return "[\n" + ",\n".join(pad + "  " + json.dumps(x) for x in v) + "\n" + pad + "]"
    return json.dumps(v)
if isinstance(doc, dict) and isinstance(doc.get("token"), str):
    doc["token"] = doc["token"][:24] + "...(%d characters)" % len(doc["token"])
text = fmt(doc)
print("<- %s" % status)
print("   " + text.replace("\n", "\n   "))
for line in open(err_path):
    line = line.strip()
    if line.startswith("{") and '"_aws"' in line:
        rec = json.loads(line)
        meta = rec["_aws"]["CloudWatchMetrics"][0]
        dims = ",".join("%s=%s" % (d, rec[d]) for d in meta["Dimensions"][0])
        vals = " ".join("%s=%s" % (m["Name"], rec[m["Name"]]) for m in meta["Metrics"])
        print("   [EMF metric] %s {%s} %s" % (meta["Namespace"], dims, vals))
    elif line.startswith("REPORT"):
        fields = dict(f.split(": ", 1) for f in line.split("\t")[1:] if ": " in f)
        print("   [host] Init %s, Duration %s" % (fields.get("Init Duration", "-"),
                                                  fields.get("Duration", "-")))
if str(status) != expected:
    print("!! expected status %s, got %s; host's stderr:\n%s" % (expected, status,
                                                                  open(err_path).read()))
    sys.exit(1)
PY

FAILED=0
# step TITLE EXPECTED_STATUS EVENT HANDLER [NAME=VALUE ...]: run one event under host
step() {
  local title=$1 expected=$2 event=$3 handler=$4
  shift 4
  "$PYTHON" "$FILL" "$EVENTS/$event" "$@" > "$WORK/event.json"
  local rc=0
  "$HOST_BIN" --local "$WORK/event.json" --handler "$handler" --task-root "$TASK_ROOT" \
    > "$WORK/out" 2> "$WORK/err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "!! host exited with $rc on $event" >&2
    cat "$WORK/err" >&2
    FAILED=1
  fi
  "$PYTHON" "$WORK/show.py" "$WORK/event.json" "$WORK/out" "$WORK/err" "$expected" "$title" \
    || FAILED=1
}
# field NAME: a field of the last step's JSON body
field() { "$PYTHON" "$FILL" --get "$1" < "$WORK/out"; }

echo "host: $("$HOST_BIN" --version 2>&1 | head -1)"
echo "store: SQLite at $STORE_DB_PATH (fresh), events from pyhandlers/events/"

step "hello: the article's first handler" 200 hello.json hello.lambda_handler
step "hello without a name: a clear 400, not a KeyError" 400 hello-no-name.json hello.lambda_handler

step "register" 201 register.json store.handler
step "log in" 200 login.json store.handler
TOKEN=$(field token)
step "log in with a wrong password" 401 login-wrong-password.json store.handler
step "list products" 200 products.json store.handler
step "add 2 mugs to the cart" 200 cart-add.json store.handler TOKEN="$TOKEN"
step "view the cart" 200 cart.json store.handler TOKEN="$TOKEN"
step "check out and pay with tok_visa (Idempotency-Key: demo-order-0001)" 201 order.json store.handler TOKEN="$TOKEN"
ORDER_ID=$(field order.order_id)
step "the same request again: replayed, not charged twice" 201 order.json store.handler TOKEN="$TOKEN"
[ "$(field order.order_id)" = "$ORDER_ID" ] || { echo "!! the retry made a second order" >&2; FAILED=1; }
step "list orders" 200 orders.json store.handler TOKEN="$TOKEN"
step "get the order" 200 order-get.json store.handler TOKEN="$TOKEN" ORDER_ID="$ORDER_ID"
step "add a hoodie" 200 cart-add-hoodie.json store.handler TOKEN="$TOKEN"
step "pay with a card that is declined (tok_chargeDeclinedInsufficientFunds)" 402 order-declined.json store.handler TOKEN="$TOKEN"
step "the cart keeps the hoodie for another card" 200 cart.json store.handler TOKEN="$TOKEN"
step "no token" 401 no-token.json store.handler
step "unknown route" 404 unknown-route.json store.handler
step "malformed body" 400 malformed-body.json store.handler

echo
if [ "$FAILED" -ne 0 ]; then
  echo "demo: FAILED (a step answered with an unexpected status)"
  exit 1
fi
echo "demo: every step answered as expected"
