"""The ready events in pyhandlers/events/ and the README's first command (scripts/demo.sh)."""

import json
import os
import subprocess
import sys

import pytest

from store_client import PYHANDLERS, REPO

EVENTS = PYHANDLERS / "events"
sys.path.insert(0, str(EVENTS))
import fill  # noqa: E402

STORE_EVENTS = sorted(p for p in EVENTS.glob("*.json") if not p.name.startswith("hello"))
HTTP_EVENTS = STORE_EVENTS + [EVENTS / "hello-http.json"]


def test_there_is_an_event_for_every_route():
    from shop.routes import router
    covered = set()
    for path in STORE_EVENTS:
        ev = json.loads(fill.fill(path.read_text(), {"TOKEN": "t", "ORDER_ID": "ord_" + "a" * 26}))
        method = ev["requestContext"]["http"]["method"]
        for m, pattern, regex, _, _ in router.routes:
            if m == method and regex.match(ev["rawPath"]):
                covered.add((m, pattern))
    assert covered == {(m, p) for m, p, _, _, _ in router.routes}


@pytest.mark.parametrize("path", HTTP_EVENTS, ids=lambda p: p.name)
def test_event_is_http_api_v2(path):
    ev = json.loads(path.read_text())
    assert ev["version"] == "2.0"
    assert ev["rawPath"] == ev["requestContext"]["http"]["path"]
    method = ev["requestContext"]["http"]["method"]
    assert method in ("GET", "POST", "DELETE")
    assert ev["routeKey"] == ev["requestContext"]["routeKey"]
    assert isinstance(ev["headers"], dict) and ev["isBase64Encoded"] is False
    assert all(k == k.lower() for k in ev["headers"])     # HTTP API lowercases header names
    if "authorization" in ev["headers"]:
        assert ev["headers"]["authorization"] == "Bearer ${TOKEN}"
    if method == "POST":
        assert isinstance(ev["body"], str)


def test_hello_http_event():
    import hello
    res = hello.lambda_handler(json.loads((EVENTS / "hello-http.json").read_text()), None)
    assert res["statusCode"] == 200 and json.loads(res["body"]) == {"message": "Hello, Ada!"}


def test_fill():
    text = '{"a": "Bearer ${TOKEN}", "b": "/orders/${ORDER_ID}"}'
    assert json.loads(fill.fill(text, {"TOKEN": 'x"y', "ORDER_ID": "ord_1"})) == \
        {"a": 'Bearer x"y', "b": "/orders/ord_1"}
    with pytest.raises(SystemExit, match=r"\$\{ORDER_ID\}"):
        fill.fill(text, {"TOKEN": "x"})
    line = json.dumps({"statusCode": 201, "body": json.dumps({"order": {"order_id": "ord_9"}})})
    assert fill.get("order.order_id", line) == "ord_9"


def test_demo_script(host_bin, tmp_path):
    """`make demo`'s script: the whole flow under host on a fresh SQLite file, exit 0."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOST_BIN": host_bin,
           "PYTHON": sys.executable, "TMPDIR": str(tmp_path), "LANG": "C.UTF-8",
           # must be ignored: the demo always runs on a fresh SQLite file
           "STORE_TABLE": "should-not-be-used"}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out[-4000:]
    assert out.rstrip().endswith("demo: every step answered as expected")
    for line in ("-> POST /users", "<- 201", "-> POST /orders", "<- 402", "-> GET /orders/ord_",
                 "[EMF metric] Store {Service=store,Outcome=paid}", "Hello, Ada!"):
        assert line in out, line
    assert list(tmp_path.iterdir()) == []       # cleaned up its SQLite file


def test_demo_fails_on_an_unexpected_status(tmp_path):
    fake = tmp_path / "host"
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo fake; exit 0; }\n'
                    'echo \'{"statusCode": 500, "body": "{}"}\'\n')
    fake.chmod(0o755)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOST_BIN": str(fake),
           "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert proc.returncode == 1, proc.stdout.decode()[-2000:]
    assert b"expected status 200, got 500" in proc.stdout
