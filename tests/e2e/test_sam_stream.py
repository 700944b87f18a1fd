"""Streamed responses under `host local`: start-api passes a generator handler's chunks to
the client as they arrive (chunked encoding, the HTTP prelude's status, headers and
cookies, an error that ends the stream), start-lambda serves InvokeWithResponseStream in
AWS's event-stream framing for boto3, and a plain function is unchanged."""

import http.client
import json
import os
import subprocess
import time

import boto3
import botocore.eventstream
import pytest

from sam_helpers import Server, lambda_client, sam_project

APP = '''
import os, time
def wait_for(path):
    for _ in range(1000):
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False
def gated(event, context):
    q = event.get("queryStringParameters") or event
    yield b"chunk1;"
    yield ("waited=%s;" % wait_for(q["gate"])).encode()
    yield b"chunk3"
def http_stream(event, context):
    yield {"statusCode": 201, "headers": {"content-type": "text/event-stream", "x-n": "5"},
           "cookies": ["a=1; Path=/", "b=2"]}
    yield b"data: one\\n\\n"
    yield b"data: two\\n\\n"
def broken(event, context):
    yield b"partial;"
    raise ValueError("mid-stream boom")
def slow(event, context):
    yield b"first;"
    time.sleep(5)
    yield b"never"
def url_echo(event, context):
    return {"statusCode": 200, "body": "%s %s %s" % (event["routeKey"], event["rawPath"], event["rawQueryString"])}
def plain(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{\\"ok\\": true}"}
'''

TEMPLATE = '''
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src
    Timeout: 10
Resources:
  Gated:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.gated
      FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /gated}}
  HttpStream:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.http_stream
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /events}}
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.broken
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /broken}}
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.slow
      Timeout: 1
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /slow}}
  UrlEcho:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.url_echo
      FunctionUrlConfig: {AuthType: NONE}
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.plain
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /plain}}
'''


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return sam_project(tmp_path_factory.mktemp("stream"), APP, TEMPLATE)


@pytest.fixture(scope="module")
def api(host_bin, root):
    s = Server(host_bin, "start-api", cwd=root)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def lam(host_bin, root):
    s = Server(host_bin, "start-lambda", cwd=root)
    yield s
    s.stop()


def test_chunks_arrive_while_the_handler_runs(api, tmp_path):
    gate = tmp_path / "gate"
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/gated?gate=" + str(gate))
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"
    arrivals = [(r.read1(65536), time.monotonic())]
    assert arrivals[0][0] == b"chunk1;"  # the handler is blocked until the gate exists
    opened = time.monotonic()
    gate.write_text("open")
    while arrivals[-1][0]:
        arrivals.append((r.read1(65536), time.monotonic()))
    assert arrivals[0][1] < opened < arrivals[1][1]
    assert b"".join(piece for piece, _ in arrivals[1:]) == b"waited=True;chunk3"


def test_curl_no_buffer_sees_chunk_one_before_the_gate(api, tmp_path):
    gate = tmp_path / "gate"
    p = subprocess.Popen(["curl", "-sS", "--no-buffer", "http://127.0.0.1:%d/gated?gate=%s" % (api.port, gate)],
                         stdout=subprocess.PIPE)
    assert os.read(p.stdout.fileno(), 7) == b"chunk1;"
    gate.write_text("open")
    out, _ = p.communicate(timeout=30)
    assert out == b"waited=True;chunk3"


def test_prelude_status_headers_cookies(api):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/events")
    r = c.getresponse()
    assert r.status == 201
    assert r.getheader("Content-Type") == "text/event-stream"
    assert r.getheader("x-n") == "5"
    assert r.msg.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert r.read() == b"data: one\n\ndata: two\n\n"


def test_mid_stream_error_ends_the_stream(api):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/broken")
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == b"partial;"
    api.wait_log(r"Broken: the stream ended with an error: .*mid-stream boom")


def test_timeout_mid_stream_ends_it(api):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/slow")
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == b"first;"
    api.wait_log(r"Slow: the stream ended with an error: .*Sandbox.Timedout")


def test_function_urls_are_served_under_their_id(api, tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("open")
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/Gated/any/path?gate=%s" % gate)
    r = c.getresponse()
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert r.read() == b"chunk1;waited=True;chunk3"
    c.request("GET", "/UrlEcho/orders/7/events?x=1")
    assert c.getresponse().read() == b"$default /orders/7/events x=1"
    assert "/UrlEcho/{proxy+}" in api.log and "function URL" in api.log


def test_plain_function_is_unchanged(api):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.request("GET", "/plain")
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") is None
    assert r.getheader("Content-Length") == "12"
    assert json.loads(r.read()) == {"ok": True}


def stream_events(lam, name, payload):
    """InvokeWithResponseStream's events as botocore's event-stream parser reads them (it
    checks both CRCs): (event type, headers, payload) per message, as each arrives."""
    c = http.client.HTTPConnection("127.0.0.1", lam.port, timeout=30)
    c.request("POST", "/2021-11-15/functions/%s/response-streaming-invocations" % name, body=payload)
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/vnd.amazon.eventstream"
    buf = botocore.eventstream.EventStreamBuffer()
    while True:
        data = r.read1(65536)
        if not data:
            return
        buf.add_data(data)
        for message in buf:
            assert message.headers[":message-type"] == "event"
            yield message.headers[":event-type"], message.headers, message.payload


def test_response_streaming_invocations_event_stream(lam, tmp_path):
    gate = tmp_path / "gate"
    events = stream_events(lam, "Gated", json.dumps({"gate": str(gate)}))
    kind, headers, payload = next(events)
    assert (kind, payload) == ("PayloadChunk", b"chunk1;")  # arrives while the handler waits
    assert headers[":content-type"] == "application/octet-stream"
    gate.write_text("open")
    rest = list(events)  # pieces posted together may come as one chunk: boundaries carry no meaning
    assert {k for k, _, _ in rest[:-1]} == {"PayloadChunk"}
    assert b"".join(p for _, _, p in rest[:-1]) == b"waited=True;chunk3"
    assert rest[-1][::2] == ("InvokeComplete", b"{}")


def test_event_stream_error_and_plain_function(lam):
    events = list(stream_events(lam, "Broken", b"{}"))
    assert (events[0][0], events[0][2]) == ("PayloadChunk", b"partial;")
    assert events[-1][0] == "InvokeComplete"
    done = json.loads(events[-1][2])
    assert done["ErrorCode"] == "ValueError"
    assert "mid-stream boom" in done["ErrorDetails"]
    slow = list(stream_events(lam, "Slow", b"{}"))
    assert [(k, p) for k, _, p in slow[:1]] == [("PayloadChunk", b"first;")]
    assert json.loads(slow[-1][2])["ErrorCode"] == "Sandbox.Timedout"
    plain = list(stream_events(lam, "Plain", b"{}"))
    assert [k for k, _, _ in plain] == ["PayloadChunk", "InvokeComplete"]
    assert json.loads(plain[0][2])["statusCode"] == 200


@pytest.mark.parametrize("command", ["start-api", "start-lambda"])
def test_streaming_is_clean_under_valgrind(host_bin, root, tmp_path, command):
    """The relay's paths (prelude, chunks, an error trailer, a timeout mid-stream, a plain
    result) with the server under memcheck: no invalid access, no definite leak."""
    log = tmp_path / "vg.log"
    gate = tmp_path / "gate"
    gate.write_text("open")
    s = Server(host_bin, command, cwd=root, start_timeout=60,
               prefix=("valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                       "--show-leak-kinds=definite", "--log-file=%s" % log))
    try:
        if command == "start-api":
            for path, body in [("/gated?gate=%s" % gate, b"chunk1;waited=True;chunk3"),
                               ("/events", b"data: one\n\ndata: two\n\n"), ("/broken", b"partial;"),
                               ("/slow", b"first;"), ("/plain", b'{"ok": true}')]:
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
                c.request("GET", path)
                assert c.getresponse().read() == body
        else:
            for name in ("Gated", "Broken", "Slow", "Plain"):
                events = list(stream_events(s, name, json.dumps({"gate": str(gate)})))
                assert events[-1][0] == "InvokeComplete"
    finally:
        rc = s.stop()
    assert rc == 0
    assert log.read_text() == ""


# Debian 12's botocore (1.29.27) predates InvokeWithResponseStream; the event-stream tests
# above parse the same bytes with its parser. A newer botocore runs these too.
needs_stream_api = pytest.mark.skipif(not hasattr(boto3.client("lambda", region_name="us-east-1"),
                                                  "invoke_with_response_stream"),
                                      reason="this botocore has no invoke_with_response_stream")


@needs_stream_api
def test_boto3_invoke_with_response_stream(lam, tmp_path):
    gate = tmp_path / "gate"
    resp = lambda_client(lam).invoke_with_response_stream(FunctionName="Gated",
                                                          Payload=json.dumps({"gate": str(gate)}))
    assert resp["StatusCode"] == 200
    events = iter(resp["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"chunk1;"}}
    gate.write_text("open")
    rest = list(events)
    assert b"".join(e["PayloadChunk"]["Payload"] for e in rest[:-1]) == b"waited=True;chunk3"
    assert rest[-1] == {"InvokeComplete": {}}


@needs_stream_api
def test_boto3_stream_error_in_invoke_complete(lam):
    resp = lambda_client(lam).invoke_with_response_stream(FunctionName="Broken", Payload=b"{}")
    events = list(resp["EventStream"])
    assert events[0] == {"PayloadChunk": {"Payload": b"partial;"}}
    done = events[-1]["InvokeComplete"]
    assert done["ErrorCode"] == "ValueError"
    assert "mid-stream boom" in done["ErrorDetails"]
