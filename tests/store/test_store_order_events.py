"""The store's streaming endpoint, GET /orders/{order_id}/events (shop/order_events.py,
handler order_events.handler): server-sent events behind a function URL with InvokeMode
RESPONSE_STREAM. In process on both backends (the generator's items), and under host in
runtime mode (the streaming POST: HTTP prelude, then the events as they are yielded) and in
local mode (the events on stdout, the status and headers on stderr)."""

import json
import uuid

import rapi_server
import store_scenarios as sc
from shop.app import App
from shop.order_events import order_events
from store_client import PYHANDLERS, HostRuntimeClient, InProcessClient, api_event, host_env

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache",
               "x-accel-buffering": "no"}


class Ctx:
    aws_request_id = "test"

    def __init__(self, left_ms=60000):
        self.left_ms = left_ms

    def get_remaining_time_in_millis(self):
        return self.left_ms


def parse_sse(text):
    """[(event, data as JSON)] of the named events; comments and retry: fields skipped."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if line and not line.startswith(":") and not line.startswith("retry:"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def paid_order(c):
    token, _ = sc.sign_up(c)
    sc.expect(c.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)
    resp = c.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                  headers={"idempotency-key": "ev-" + uuid.uuid4().hex})
    return token, sc.expect(resp, 201)["order"]


def events_path(order):
    return "/orders/%s/events" % order["order_id"]


def test_paid_order_stream(settings, store):
    app = App(settings, store=store)
    token, order = paid_order(InProcessClient(app))
    items = list(order_events(app, api_event("GET", events_path(order), token=token), Ctx()))
    assert items[0] == {"statusCode": 200, "headers": SSE_HEADERS}
    assert items[1].startswith("retry: 2000\n")
    assert parse_sse("".join(items[1:])) == [
        ("order", {"order": order}),
        ("end", {"order_id": order["order_id"], "status": "paid"}),
    ]


def test_pending_order_is_watched_until_it_changes(settings, store):
    """The stream reports the change from pending to paid while it is open."""
    app = App(settings, store=store)
    token, order = paid_order(InProcessClient(app))
    from shop import tokens
    user_id = tokens.verify(settings.token_secret, token)["sub"]
    raw = store.get_order(user_id, order["order_id"])
    store.update_order(dict(raw, status="pending"), "paid")
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 2:  # the first poll sees no change, the second a paid order
            store.update_order(dict(raw, status="paid"), "pending")

    gen = order_events(app, api_event("GET", events_path(order), token=token), Ctx(), sleep=sleep,
                       poll_seconds=0.01)
    items = list(gen)
    events = parse_sse("".join(items[1:]))
    assert [e for e, _ in events] == ["order", "status", "end"]
    assert events[0][1]["order"]["status"] == "pending"
    assert events[1][1] == {"order_id": order["order_id"], "status": "paid"}
    assert ": waiting\n\n" in items
    assert len(polls) == 2


def test_stream_stops_before_the_timeout(settings, store):
    app = App(settings, store=store)
    token, order = paid_order(InProcessClient(app))
    from shop import tokens
    user_id = tokens.verify(settings.token_secret, token)["sub"]
    raw = store.get_order(user_id, order["order_id"])
    store.update_order(dict(raw, status="pending"), "paid")
    items = list(order_events(app, api_event("GET", events_path(order), token=token),
                              Ctx(left_ms=500), sleep=lambda s: None))
    assert parse_sse("".join(items[1:]))[-1] == (
        "end", {"order_id": order["order_id"], "status": "pending"})


def test_errors_before_the_stream_are_json_answers(settings, store):
    app = App(settings, store=store)
    token, order = paid_order(InProcessClient(app))
    cases = [
        (api_event("GET", events_path(order)), 401, "missing_token"),
        (api_event("GET", "/orders/ord_%s/events" % ("a" * 26), token=token), 404,
         "order_not_found"),
        (api_event("POST", events_path(order), token=token), 405, "method_not_allowed"),
        (api_event("GET", "/orders", token=token), 404, "not_found"),
    ]
    for event, status, code in cases:
        items = list(order_events(app, event, Ctx()))
        assert len(items) == 2, items
        assert items[0]["statusCode"] == status
        assert items[0]["headers"]["content-type"] == "application/json"
        assert json.loads(items[1])["error"] == code


def test_under_host_runtime_mode(host_bin, store_env, backend):
    if backend != "sqlite":
        return  # the storage is covered above on both backends; one is enough under host
    shop = HostRuntimeClient(host_bin, store_env)
    events = HostRuntimeClient(host_bin, store_env, handler="order_events.handler")
    try:
        token, order = paid_order(shop)
        rid = events.srv.enqueue(api_event("GET", events_path(order), token=token))
        res = events.srv.wait_for_result(rid, timeout=30)
        assert res.kind == "response" and res.stream is not None, res
        h = res.headers
        assert h["lambda-runtime-function-response-mode"] == "streaming"
        assert h["content-type"] == "application/vnd.awslambda.http-integration-response"
        prelude, body = res.body.split(b"\0" * 8, 1)
        assert json.loads(prelude) == {"statusCode": 200, "headers": SSE_HEADERS}
        assert parse_sse(body.decode()) == [
            ("order", {"order": order}),
            ("end", {"order_id": order["order_id"], "status": "paid"}),
        ]
        # prelude, order event, end event: one chunk each, as yielded
        assert len(res.stream.chunks) == 3
    finally:
        shop.close()
        events.close()


def test_under_host_local_mode(host_bin, store_env, backend, tmp_path):
    if backend != "sqlite":
        return
    shop = HostRuntimeClient(host_bin, store_env)
    try:
        token, order = paid_order(shop)
    finally:
        shop.close()
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps(api_event("GET", events_path(order), token=token)))
    cp = rapi_server.run_local(host_bin, ["--local", str(ev), "--handler",
                                          "order_events.handler", "--task-root",
                                          str(PYHANDLERS)],
                               cwd=str(PYHANDLERS), env=host_env(store_env), timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert [e for e, _ in parse_sse(cp.stdout.decode())] == ["order", "end"]
    assert "HTTP 200\ncontent-type: text/event-stream\n" in cp.stderr.decode()
