"""`host local start-api`: API Gateway's mapping, request to event (HTTP API payload 2.0, REST
API 1.0: path parameters, query strings, multi-value headers, cookies, base64 bodies) and
result to response (statusCode, headers, multiValueHeaders, cookies, binary bodies, the 2.0
simple-response rules), through real host workers, driven with http.client and curl."""

import base64
import http.client
import json
import subprocess

import pytest

from sam_helpers import Server, sam_project

APP = '''
import base64, json
def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
def shapes(event, context):
    kind = event["queryStringParameters"]["kind"]
    if kind == "dict":
        return {"a": 1}
    if kind == "string":
        return "plain words"
    if kind == "list":
        return [1, 2]
    if kind == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    if kind == "cookies":
        return {"statusCode": 201, "cookies": ["a=1; Path=/", "b=2"], "headers": {"x-n": 5}, "body": "ok"}
    if kind == "bad":
        return {"statusCode": "nope"}
    raise RuntimeError("asked to fail")
def rest(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"x-m": ["1", "2"]}, "body": json.dumps(event)}
'''

TEMPLATE = '''
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    BinaryMediaTypes: ["application~1octet-stream"]
  Function:
    Runtime: python3.11
    CodeUri: src
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Item: {Type: HttpApi, Properties: {Method: GET, Path: "/items/{id}"}}
        Literal: {Type: HttpApi, Properties: {Method: GET, Path: "/items/special"}}
        Upload: {Type: HttpApi, Properties: {Method: POST, Path: /upload}}
        Proxy: {Type: HttpApi, Properties: {Method: ANY, Path: "/proxy/{path+}"}}
  Shapes:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.shapes
      Events:
        Get: {Type: HttpApi, Properties: {Method: get, Path: /shapes}}
  Rest:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.rest
      Events:
        Name: {Type: Api, Properties: {Method: GET, Path: "/rest/{name}"}}
        Bin: {Type: Api, Properties: {Method: POST, Path: /rest/bin}}
'''


@pytest.fixture(scope="module")
def api(host_bin, tmp_path_factory):
    s = Server(host_bin, "start-api", cwd=sam_project(tmp_path_factory.mktemp("api"), APP, TEMPLATE))
    yield s
    s.stop()


def request(api, method, path, body=None, headers=()):
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    c.putrequest(method, path)
    for k, v in headers:
        c.putheader(k, v)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    return r.status, r.getheaders(), r.read()


def event_of(api, *args, **kw):
    status, _, body = request(api, *args, **kw)
    assert status == 200, body
    return json.loads(body)


def test_http_api_v2_event(api):
    ev = event_of(api, "GET", "/items/42?x=1&x=2&y=a%20b", headers=[
        ("X-Multi", "a"), ("X-Multi", "b"), ("Cookie", "c1=v1; c2=v2"), ("User-Agent", "tests/1")])
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == "GET /items/{id}"
    assert ev["rawPath"] == "/items/42"
    assert ev["rawQueryString"] == "x=1&x=2&y=a%20b"
    assert ev["queryStringParameters"] == {"x": "1,2", "y": "a b"}
    assert ev["pathParameters"] == {"id": "42"}
    assert ev["headers"]["x-multi"] == "a,b"
    assert ev["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in ev["headers"]
    assert ev["isBase64Encoded"] is False and "body" not in ev
    http = ev["requestContext"]["http"]
    assert http == {"method": "GET", "path": "/items/42", "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1", "userAgent": "tests/1"}
    assert ev["requestContext"]["stage"] == "$default"
    assert ev["requestContext"]["routeKey"] == "GET /items/{id}"


def test_literal_route_beats_parameter_and_greedy_proxy(api):
    assert event_of(api, "GET", "/items/special")["routeKey"] == "GET /items/special"
    ev = event_of(api, "DELETE", "/proxy/a/b/c")
    assert ev["routeKey"] == "ANY /proxy/{path+}"
    assert ev["pathParameters"] == {"path": "a/b/c"}
    assert ev["requestContext"]["http"]["method"] == "DELETE"


def test_bodies_text_and_base64(api):
    ev = event_of(api, "POST", "/upload", body=b'{"k": "v"}', headers=[("Content-Type", "application/json")])
    assert ev["body"] == '{"k": "v"}' and ev["isBase64Encoded"] is False
    raw = bytes(range(256))
    ev = event_of(api, "POST", "/upload", body=raw, headers=[("Content-Type", "application/octet-stream")])
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == raw


def test_v2_simple_responses(api):
    status, headers, body = request(api, "GET", "/shapes?kind=dict")
    assert status == 200 and json.loads(body) == {"a": 1}
    assert dict(headers)["Content-Type"] == "application/json"
    status, _, body = request(api, "GET", "/shapes?kind=string")
    assert status == 200 and body == b"plain words"
    status, _, body = request(api, "GET", "/shapes?kind=list")
    assert status == 200 and json.loads(body) == [1, 2]


def test_v2_structured_responses(api):
    status, headers, body = request(api, "GET", "/shapes?kind=binary")
    assert status == 200 and body == bytes(range(256))
    assert dict(headers)["content-type"] == "image/png"
    status, headers, body = request(api, "GET", "/shapes?kind=cookies")
    assert status == 201 and body == b"ok"
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a=1; Path=/", "b=2"]
    assert dict(headers)["x-n"] == "5"
    for kind in ("bad", "raise"):
        status, _, body = request(api, "GET", "/shapes?kind=" + kind)
        assert status == 500 and json.loads(body) == {"message": "Internal Server Error"}


def test_rest_api_v1_event_and_multi_value_response(api):
    status, headers, body = request(api, "GET", "/rest/ada?k=1&k=2", headers=[("X-Multi", "a"), ("X-Multi", "b")])
    assert status == 200
    assert [v for k, v in headers if k == "x-m"] == ["1", "2"]
    ev = json.loads(body)
    assert ev["resource"] == "/rest/{name}" and ev["path"] == "/rest/ada" and ev["httpMethod"] == "GET"
    assert ev["pathParameters"] == {"name": "ada"}
    assert ev["queryStringParameters"] == {"k": "2"}
    assert ev["multiValueQueryStringParameters"] == {"k": ["1", "2"]}
    assert ev["headers"]["X-Multi"] == "b" and ev["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert ev["requestContext"]["stage"] == "Prod" and ev["requestContext"]["resourcePath"] == "/rest/{name}"
    assert ev["body"] is None and ev["isBase64Encoded"] is False


def test_rest_api_binary_media_types(api):
    ev = event_of(api, "POST", "/rest/bin", body=b"\x00\x01\xff", headers=[("Content-Type", "application/octet-stream")])
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"\x00\x01\xff"
    ev = event_of(api, "POST", "/rest/bin", body=b"hello", headers=[("Content-Type", "text/plain")])
    assert ev["isBase64Encoded"] is False and ev["body"] == "hello"


def test_unknown_route_and_curl(api):
    status, _, body = request(api, "GET", "/missing")
    assert status == 404 and json.loads(body) == {"message": "Not Found"}
    p = subprocess.run(["curl", "-s", "-i", api.url + "/items/7?q=1"], capture_output=True, text=True, timeout=30)
    assert p.stdout.startswith("HTTP/1.1 200")
    assert json.loads(p.stdout.split("\n\n", 1)[1])["pathParameters"] == {"id": "7"}


def test_handler_without_template_serves_every_path(host_bin, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    s = Server(host_bin, "start-api", "--handler", "app.echo", cwd=tmp_path)
    try:
        ev = event_of(s, "PUT", "/any/where?x=1", body=b"hi", headers=[("Content-Type", "text/plain")])
        assert ev["routeKey"] == "$default" and ev["rawPath"] == "/any/where" and ev["body"] == "hi"
    finally:
        s.stop()
