"""Runtime API status codes and transport failures (runtime-api.md §1, §8 item 5;
awslambdaric.md §3.6)."""

import re
import socket
import time

import pytest

from e2e_helpers import run_invokes, write
from rapi_server import start_host

APP = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("failing on purpose")
    return {"ok": event.get("n")}
"""


@pytest.fixture
def app(tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    return tmp_task_root


@pytest.mark.parametrize("endpoint,status", [
    ("response", 413), ("response", 410), ("response", 400), ("response", 403),
    ("error", 410), ("error", 400), ("error", 403),
])
def test_rejected_post_is_logged_and_loop_goes_on(host_bin, rapi, app, endpoint, status):
    # runtime-api.md §8 item 5: 413 -> log, next; 400/403/410 -> log, next (§1 item 2, §2.1).
    rapi.respond_with(endpoint, status)
    first = {"fail": 1} if endpoint == "error" else {"n": 1}
    proc, (r1, r2) = run_invokes(host_bin, rapi, app, "app.handler",
                                 [first, {"n": 2}])
    assert r1.kind == endpoint and r1.status == status
    assert r2.kind == "response" and r2.status == 202 and r2.json() == {"ok": 2}
    assert proc.poll() is None, "host exited after a %d" % status
    out = proc.output_text()
    assert str(status) in out, "the %d was not logged: %r" % (status, out)


def test_next_500_exits_nonzero(host_bin, rapi, app):
    # runtime-api.md §1 item 1: 500 on next means the sandbox is broken: exit promptly.
    rapi.respond_with("next", 500)
    rapi.enqueue({"n": 1})
    proc = start_host(host_bin, rapi, app, "app.handler")
    rc = proc.wait_exit(10)
    assert rc != 0
    out = proc.output_text()
    assert "500" in out, out
    assert rapi.results == []


@pytest.mark.parametrize("endpoint", ["response", "error"])
def test_post_500_exits_nonzero(host_bin, rapi, app, endpoint):
    # runtime-api.md §8 item 5: 500 on a POST -> exit.
    rapi.respond_with(endpoint, 500)
    rapi.enqueue({"fail": 1} if endpoint == "error" else {"n": 1})
    rapi.enqueue({"n": 2})
    proc = start_host(host_bin, rapi, app, "app.handler")
    rc = proc.wait_exit(10)
    assert rc != 0
    assert "500" in proc.output_text()
    assert len(rapi.results) == 1


def test_next_without_request_id_exits_nonzero(host_bin, rapi, app):
    # awslambdaric.md §3.2/§3.6: the request id header is required; the call fails, exit 1
    # with a message naming the header.
    rapi.enqueue({"n": 1}, headers={"Lambda-Runtime-Aws-Request-Id": None})
    proc = start_host(host_bin, rapi, app, "app.handler")
    rc = proc.wait_exit(10)
    assert rc != 0
    assert "lambda-runtime-aws-request-id" in proc.output_text().lower()
    assert rapi.results == []


def test_next_connection_closed_once_is_retried(host_bin, rapi, app):
    # runtime-api.md §8 item 5 / §7.4: a lost connection on next is retried.
    rapi.close_connection_on("next", times=1)
    proc, (res,) = run_invokes(host_bin, rapi, app, "app.handler", [{"n": 7}])
    assert res.json() == {"ok": 7}
    assert rapi.count("next") >= 2


def test_next_connection_keeps_closing_exits_nonzero(host_bin, rapi, app):
    # runtime-api.md §8 item 5: retries next a few times then gives up with a clear message.
    rapi.close_connection_on("next", times=1000)
    rapi.enqueue({"n": 1})
    proc = start_host(host_bin, rapi, app, "app.handler")
    rc = proc.wait_exit(15)
    assert rc != 0
    n = rapi.count("next")
    assert 2 <= n <= 20, n
    out = proc.output_text()
    assert "next" in out.lower(), out


@pytest.mark.parametrize("at", ["headers", "body"])
def test_next_reply_cut_off_once_is_retried(host_bin, rapi, app, at):
    # issue 8: a next reply cut off before the end of its headers (or of the body its
    # Content-Length announces) is a lost connection, retried; the invocation runs once,
    # with its own event, and nothing is posted for the cut-off reply.
    rapi.cut_next_reply(at, times=1)
    proc, (res,) = run_invokes(host_bin, rapi, app, "app.handler", [{"n": 7}])
    assert (res.kind, res.status, res.json()) == ("response", 202, {"ok": 7}), res
    rapi.wait_for_next_calls(3)  # parked on the next invocation: nothing else is coming
    assert rapi.results == [res]
    assert proc.poll() is None and proc.output_text() == ""


@pytest.mark.parametrize("at", ["headers", "body"])
def test_next_reply_always_cut_off_exits_1(host_bin, rapi, app, at):
    # issue 8 / awslambdaric.md §3.6: as a dropped GET next, 3 retries (0.1, 0.2, 0.4 s),
    # then exit 1 with the official log line; nothing is run or posted.
    rapi.cut_next_reply(at, times=1000)
    rapi.enqueue({"n": 1})
    proc = start_host(host_bin, rapi, app, "app.handler")
    assert proc.wait_exit(15) == 1
    nexts = [r.time for r in rapi.requests if r.endpoint == "next"]
    assert len(nexts) == 4, nexts
    gaps = [b - a for a, b in zip(nexts, nexts[1:])]
    assert all(gap >= pause - 0.01 for gap, pause in zip(gaps, (0.1, 0.2, 0.4))), gaps
    assert rapi.results == []
    out = proc.stdout_text()
    assert re.fullmatch(r"\[ERROR\] \[\d+\] LAMBDA_RUNTIME Failed to get next invocation\. "
                        r"No Response from endpoint \(.+\)\n", out), out


def test_connection_refused_exits_nonzero(host_bin, rapi, app):
    # runtime-api.md §8 item 5: transport failure -> (retry, then) exit, with a message.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    proc = start_host(host_bin, "127.0.0.1:%d" % port, app, "app.handler")
    rc = proc.wait_exit(15)
    assert rc != 0
    out = proc.output_text()
    assert out.strip(), "no message at all"
    assert "next" in out.lower() or "runtime api" in out.lower(), out


def test_slow_runtime_api_is_waited_for(host_bin, rapi, app):
    # runtime-api.md §1 item 1: next has no total timeout.
    rapi.delay("next", 3)
    proc, (res,) = run_invokes(host_bin, rapi, app, "app.handler", [{"n": 3}], timeout=15)
    assert res.json() == {"ok": 3}


def test_idle_long_poll_then_invocation(host_bin, rapi, app):
    # runtime-api.md §1 item 1: GET next is a long poll; the invocation may come much later.
    proc = start_host(host_bin, rapi, app, "app.handler")
    rapi.wait_for_next_calls(1)
    time.sleep(2.5)
    assert proc.poll() is None
    rid = rapi.enqueue({"n": 4})
    assert rapi.wait_for_result(rid).json() == {"ok": 4}
    rapi.wait_for_next_calls(2)
    assert rapi.count("next") == 2


def test_server_going_away_mid_poll_exits(host_bin, rapi, app):
    # runtime-api.md §8 item 5: the API disappearing is a transport failure: exit non-zero,
    # do not hang.
    proc = start_host(host_bin, rapi, app, "app.handler")
    rapi.wait_for_next_calls(1)
    rapi.close()
    rc = proc.wait_exit(15)
    assert rc != 0


def test_proxy_env_vars_ignored(host_bin, rapi, app):
    # runtime-api.md §8 item 4 / awslambdaric.md §3.1: proxy forced off (http_proxy ignored).
    bad = "http://127.0.0.1:9"
    proc, (res,) = run_invokes(host_bin, rapi, app, "app.handler", [{"n": 5}],
                               env={"http_proxy": bad, "HTTP_PROXY": bad, "ALL_PROXY": bad,
                                    "all_proxy": bad})
    assert res.json() == {"ok": 5}
