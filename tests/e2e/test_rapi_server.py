"""Self-tests of the test Runtime API server (tests/rapi_server.py), with http.client only,
so the server is known good before host exists. Statuses/bodies: runtime-api.md §1, §2, §4."""

import http.client
import json
import socket
import threading
import time

import pytest

from rapi_server import RuntimeAPIServer, start_host, DEFAULT_ARN

BASE = "/2018-06-01/runtime"


def conn(srv, timeout=5):
    host, port = srv.address.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def get_next(c):
    c.request("GET", BASE + "/invocation/next")
    r = c.getresponse()
    return r, r.read()


def test_address_is_loopback_with_free_port(rapi):
    host, port = rapi.address.split(":")
    assert host == "127.0.0.1" and int(port) > 0


def test_next_returns_queued_invocation_with_headers(rapi):
    rid = rapi.enqueue({"a": 1}, request_id="req-1", deadline_ms=1234567890123)
    c = conn(rapi)
    r, body = get_next(c)
    assert r.status == 200
    assert json.loads(body) == {"a": 1}
    assert r.getheader("Lambda-Runtime-Aws-Request-Id") == rid == "req-1"
    assert r.getheader("Lambda-Runtime-Deadline-Ms") == "1234567890123"
    assert r.getheader("Lambda-Runtime-Invoked-Function-Arn") == DEFAULT_ARN
    assert r.getheader("Content-Type") == "application/json"
    assert r.getheader("Content-Length") == str(len(body))


def test_enqueue_defaults_and_header_overrides(rapi):
    before = int(time.time() * 1000)
    rid = rapi.enqueue(b"raw", content_type="text/plain",
                       headers={"Lambda-Runtime-Trace-Id": "Root=1-x",
                                "Lambda-Runtime-Invoked-Function-Arn": None})
    r, body = get_next(conn(rapi))
    assert body == b"raw"
    assert len(rid) == 36  # uuid4
    deadline = int(r.getheader("Lambda-Runtime-Deadline-Ms"))
    assert before + 59000 <= deadline <= before + 62000
    assert r.getheader("Lambda-Runtime-Trace-Id") == "Root=1-x"
    assert r.getheader("Lambda-Runtime-Invoked-Function-Arn") is None
    assert r.getheader("Content-Type") == "text/plain"


def test_str_body_and_no_content_type(rapi):
    rapi.enqueue("héllo", content_type=None)
    r, body = get_next(conn(rapi))
    assert body == "héllo".encode()
    assert r.getheader("Content-Type") is None


def test_chunked_event(rapi):
    data = {"x": "y" * 5000}
    rapi.enqueue(data, chunked=True)
    r, body = get_next(conn(rapi))
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert json.loads(body) == data


def test_response_post_202_and_result(rapi):
    rid = rapi.enqueue({})
    c = conn(rapi)
    get_next(c)
    c.request("POST", BASE + "/invocation/%s/response" % rid, body=b'{"ok": true}',
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 202
    assert r.read() == b'{"status":"OK"}'
    assert r.getheader("Content-Type") == "application/json"
    res = rapi.wait_for_result(rid, timeout=2)
    assert res.kind == "response" and res.status == 202
    assert res.json() == {"ok": True}
    assert res.headers["content-type"] == "application/json"
    assert res.path == BASE + "/invocation/%s/response" % rid


def test_error_post_and_chunked_request_body(rapi):
    rid = rapi.enqueue({})
    c = conn(rapi)
    get_next(c)

    def chunks():
        yield b'{"errorMessage": '
        yield b'"x"}'
    c.request("POST", BASE + "/invocation/%s/error" % rid, body=chunks(),
              headers={"Lambda-Runtime-Function-Error-Type": "Unhandled"},
              encode_chunked=True)
    r = c.getresponse()
    assert r.status == 202 and r.read() == b'{"status":"OK"}'
    res = rapi.wait_for_result(rid, timeout=2)
    assert res.kind == "error"
    assert res.body == b'{"errorMessage": "x"}'
    assert res.headers["lambda-runtime-function-error-type"] == "Unhandled"
    assert res.request.chunked


def test_init_error(rapi):
    c = conn(rapi)
    c.request("POST", BASE + "/init/error", body=b'{"errorType": "E"}',
              headers={"Lambda-Runtime-Function-Error-Type": "Runtime.X"})
    r = c.getresponse()
    assert r.status == 202 and r.read() == b'{"status":"OK"}'
    ie = rapi.wait_for_init_error(timeout=2)
    assert ie.kind == "init_error" and ie.json() == {"errorType": "E"}
    assert ie.headers["lambda-runtime-function-error-type"] == "Runtime.X"


def test_keep_alive_same_client_port(rapi):
    rids = [rapi.enqueue({"i": i}) for i in range(3)]
    c = conn(rapi)
    for rid in rids:
        get_next(c)
        c.request("POST", BASE + "/invocation/%s/response" % rid, body=b"1")
        r = c.getresponse()
        r.read()
        assert r.status == 202
    ports = {req.client_port for req in rapi.requests}
    assert len(ports) == 1
    assert [req.endpoint for req in rapi.requests] == ["next", "response"] * 3


def test_next_long_polls_until_enqueue(rapi):
    got = {}

    def poll():
        got["r"] = get_next(conn(rapi, timeout=10))
    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    assert "r" not in got
    rid = rapi.enqueue({"late": True})
    t.join(5)
    r, body = got["r"]
    assert r.status == 200 and json.loads(body) == {"late": True}
    assert r.getheader("Lambda-Runtime-Aws-Request-Id") == rid


def test_wait_for_result_times_out_with_assertion(rapi):
    with pytest.raises(AssertionError):
        rapi.wait_for_result("nope", timeout=0.3)
    with pytest.raises(AssertionError):
        rapi.wait_for_init_error(timeout=0.3)


def test_unknown_request_id_400_and_double_post_403(rapi):
    c = conn(rapi)
    c.request("POST", BASE + "/invocation/unknown/response", body=b"1")
    r = c.getresponse()
    assert r.status == 400
    assert json.loads(r.read())["errorType"] == "InvalidRequestID"
    rid = rapi.enqueue({})
    get_next(c)
    for expected in (202, 403):
        c.request("POST", BASE + "/invocation/%s/response" % rid, body=b"1")
        r = c.getresponse()
        body = r.read()
        assert r.status == expected
    assert json.loads(body)["errorType"] == "InvalidStateTransition"


def test_oversize_response_413(rapi):
    rid = rapi.enqueue({})
    c = conn(rapi)
    get_next(c)
    c.request("POST", BASE + "/invocation/%s/response" % rid, body=b"x" * 6291557)
    r = c.getresponse()
    assert r.status == 413
    assert r.read() == (b'{"errorMessage":"Exceeded maximum allowed payload size '
                        b'(6291556 bytes).","errorType":"RequestEntityTooLarge"}')
    assert rapi.wait_for_result(rid, 2).status == 413


def test_respond_with_scripted_status(rapi):
    rapi.respond_with("next", 500, times=2)
    rapi.respond_with("response", 410)
    rid = rapi.enqueue({"k": 1})
    c = conn(rapi)
    for _ in range(2):
        r, body = get_next(c)
        assert r.status == 500
        assert json.loads(body)["errorType"] == "ServiceException"
    r, body = get_next(c)
    assert r.status == 200 and json.loads(body) == {"k": 1}
    c.request("POST", BASE + "/invocation/%s/response" % rid, body=b"1")
    r = c.getresponse()
    assert r.status == 410 and json.loads(r.read())["errorType"]
    assert rapi.wait_for_result(rid, 2).status == 410


def test_close_connection_on(rapi):
    rapi.close_connection_on("next")
    rapi.enqueue({"k": 2})
    c = conn(rapi)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        get_next(c)
    r, body = get_next(conn(rapi))
    assert json.loads(body) == {"k": 2}


def raw_next(srv):
    """GET next on a raw socket: every byte the server sent before it closed."""
    host, port = srv.address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET %s/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n" % BASE.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_cut_next_reply(rapi):
    rapi.cut_next_reply("headers")
    rapi.cut_next_reply("body")
    rid = rapi.enqueue({"k": "0123456789"})
    event = json.dumps({"k": "0123456789"}).encode()
    cut = raw_next(rapi)
    assert cut.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nLambda-Runtime-Aws-Request-Id: %s\r\n" % rid.encode() in cut
    assert cut.endswith(b"\r\n") and b"\r\n\r\n" not in cut
    assert b"content-length" not in cut.lower()
    head, blank, body = raw_next(rapi).partition(b"\r\n\r\n")
    assert blank and b"\r\nContent-Length: %d" % len(event) in head
    assert body == event[:len(event) // 2]
    # the invocation stayed queued: the next GET next gets all of it
    r, body = get_next(conn(rapi))
    assert r.status == 200 and body == event
    assert r.getheader("Lambda-Runtime-Aws-Request-Id") == rid


def test_request_path_recorded_as_sent(rapi):
    # Request.path keeps %-escapes and dot segments, so a test sees the URL host sent.
    rid = rapi.enqueue({}, request_id="a/./b ..")
    c = conn(rapi)
    get_next(c)
    path = BASE + "/invocation/a%2F%2E%2Fb%20%2E%2E/response"
    c.request("POST", path, body=b"1")
    r = c.getresponse()
    assert r.status == 202 and r.read() == b'{"status":"OK"}'
    res = rapi.wait_for_result(rid, 2)
    assert res.path == path and res.request_id == "a/./b .."
    c.request("POST", BASE + "/invocation/./../response", body=b"1")
    c.getresponse().read()
    assert rapi.requests[-1].path == BASE + "/invocation/./../response"


def test_delay(rapi):
    rapi.delay("next", 0.5)
    rapi.enqueue({})
    t0 = time.monotonic()
    get_next(conn(rapi))
    assert time.monotonic() - t0 >= 0.45


def test_close_ends_long_poll():
    srv = RuntimeAPIServer()
    errors = []

    def poll():
        try:
            get_next(conn(srv, timeout=10))
        except Exception as e:
            errors.append(e)
    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    srv.close()
    t.join(5)
    assert not t.is_alive()
    assert errors  # the connection was closed without a reply


def test_404_unknown_path(rapi):
    c = conn(rapi)
    c.request("GET", "/2018-06-01/nope")
    r = c.getresponse()
    assert r.status == 404
    r.read()


def test_start_host_env_and_output_files(rapi, tmp_task_root):
    # start_host with a stand-in binary: the env is clean, cwd is the task root, output
    # goes to files.
    script = tmp_task_root / "fake.sh"
    script.write_text("#!/bin/sh\nenv | sort\npwd\necho err >&2\n")
    script.chmod(0o755)
    p = start_host(str(script), rapi, tmp_task_root, "app.handler", env={"EXTRA": "1"})
    assert p.wait_exit(5) == 0
    out = p.stdout_text()
    assert "AWS_LAMBDA_RUNTIME_API=%s\n" % rapi.address in out
    assert "_HANDLER=app.handler\n" in out
    assert "LAMBDA_TASK_ROOT=%s\n" % tmp_task_root in out
    assert "EXTRA=1\n" in out
    assert out.rstrip().endswith(str(tmp_task_root))
    assert p.stderr_text() == "err\n"
    names = {line.split("=", 1)[0] for line in out.splitlines() if "=" in line}
    assert names <= {"PATH", "LANG", "HOME", "AWS_LAMBDA_RUNTIME_API", "_HANDLER",
                     "LAMBDA_TASK_ROOT", "EXTRA", "PWD", "SHLVL", "_"}
