"""API Gateway proxy events in, proxy responses out, and a small router.

Reads HTTP API payload v2 events (version "2.0": requestContext.http.method, rawPath,
lowercase headers); REST API v1 events (httpMethod, path) are read too.
"""

import base64
import json
import re

from .errors import ApiError, bad_request

MAX_BODY_BYTES = 64 * 1024
JSON_HEADERS = {"content-type": "application/json"}


class Request:
    def __init__(self, method, path, headers, query, body, request_id, path_params=None):
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
        self.raw_body = body
        self.request_id = request_id
        self.path_params = path_params or {}
        self.user = None        # claims of the bearer token, set by the router for auth routes

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        if not self.raw_body:
            raise bad_request("request body is required (a JSON object)", code="malformed_body")
        try:
            return json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("request body is not valid JSON", code="malformed_body") from None


def parse_event(event):
    if not isinstance(event, dict):
        raise bad_request("event is not an API Gateway proxy request", code="bad_event")
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    method = http.get("method") or event.get("httpMethod")
    path = event.get("rawPath") or http.get("path") or event.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        raise bad_request("event is not an API Gateway proxy request (HTTP API payload v2: "
                          "requestContext.http.method and rawPath)", code="bad_event")
    stage = ctx.get("stage")
    if stage and stage != "$default" and path.startswith("/" + stage + "/"):
        path = path[len(stage) + 1:]
    if len(path) > 1:
        path = path.rstrip("/")
    raw_headers = event.get("headers") or {}
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items() if v is not None}
    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise bad_request("request body must be a string", code="malformed_body")
    elif event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise bad_request("request body is not valid base64", code="malformed_body") from None
    else:
        raw = body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"request body is larger than {MAX_BODY_BYTES} bytes")
    return Request(method.upper(), path, headers, event.get("queryStringParameters") or {},
                   raw, ctx.get("requestId", ""))


class Page(str):
    """A route's answer that is already text (the web page), sent as it is."""


def response(status, doc, headers=None):
    out_headers = dict(JSON_HEADERS)
    out_headers.update(headers or {})
    body = doc if isinstance(doc, Page) else json.dumps(doc, separators=(",", ":"))
    return {"statusCode": status, "headers": out_headers, "body": body, "isBase64Encoded": False}


def error_response(err):
    return response(err.status, err.body(), err.headers)


class Router:
    def __init__(self):
        self.routes = []    # (method, pattern text, regex, func, auth)

    def route(self, method, pattern, auth=True):
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(func):
            self.routes.append((method, pattern, regex, func, auth))
            return func
        return register

    def match(self, req):
        """(func, auth, params), or ApiError 404 / 405."""
        allowed = []
        for method, _, regex, func, auth in self.routes:
            m = regex.match(req.path)
            if not m:
                continue
            if method == req.method:
                return func, auth, m.groupdict()
            allowed.append(method)
        if allowed:
            raise ApiError(405, "method_not_allowed",
                           f"{req.method[:20]} is not allowed on {req.path}; allowed: {', '.join(allowed)}",
                           headers={"allow": ", ".join(allowed)})
        path = req.path if len(req.path) <= 200 else req.path[:200] + "..."
        raise ApiError(404, "not_found", f"no route for {req.method} {path}")
