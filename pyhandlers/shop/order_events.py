"""GET /orders/{order_id}/events: one order's status as server-sent events, streamed.

A generator handler: Lambda response streaming through a function URL (InvokeMode:
RESPONSE_STREAM). Under host the first item, a dict, is the HTTP status and headers; each
later item goes to the client as soon as it is yielded. AWS's managed Python runtime cannot
stream, so this endpoint needs host (the buffered routes in routes.py run on either).

    event: order    data: {"order": {...}}                     the order as GET /orders/{id}
    event: status   data: {"order_id", "status"}               each change while it is pending
    : waiting                                                  a comment while nothing changes
    event: end      data: {"order_id", "status"}               the last event

A pending order is watched until it is paid or declined, or until the function is about to
time out; a client that wants more reconnects (the `retry:` field says after how long). Errors
before the stream starts are the store's usual JSON error answers (401, 404, ...).
"""

import json
import re
import time

from . import accounts, orders
from .errors import ApiError, not_found
from .http import error_response, parse_event
from .validation import order_id as valid_order_id

PATH = re.compile(r"^/orders/(?P<order_id>[^/]+)/events$")
POLL_SECONDS = 0.5
MARGIN_MS = 1000          # stop this long before the function's timeout
RETRY_MS = 2000           # what the client waits before reconnecting
FINAL = (orders.PAID, orders.DECLINED)
SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache",
               "x-accel-buffering": "no"}


def sse(event, doc):
    """One server-sent event: its name and a one-line JSON data field."""
    return "event: %s\ndata: %s\n\n" % (event, json.dumps(doc, separators=(",", ":")))


def _open(app, event):
    """(user id, order) for the request, or ApiError."""
    req = parse_event(event)
    m = PATH.match(req.path)
    if not m:
        raise not_found("no route for %s %s; this function serves GET /orders/{order_id}/events"
                        % (req.method[:20], req.path[:200]))
    if req.method != "GET":
        raise ApiError(405, "method_not_allowed", "%s is not allowed on %s; allowed: GET"
                       % (req.method[:20], req.path[:200]), headers={"allow": "GET"})
    user = accounts.authenticate(app.settings, req.header("authorization"), now=app.now())
    order_id = valid_order_id(m.group("order_id"))
    return user["sub"], orders.get(app.store, user["sub"], order_id)


def order_events(app, event, context, sleep=time.sleep, poll_seconds=POLL_SECONDS):
    """The stream for one request: the prelude dict, then the events (str chunks)."""
    try:
        user_id, order = _open(app, event)
    except ApiError as err:
        resp = error_response(err)
        yield {"statusCode": resp["statusCode"], "headers": resp["headers"]}
        yield resp["body"]
        return
    yield {"statusCode": 200, "headers": dict(SSE_HEADERS)}
    yield "retry: %d\n" % RETRY_MS + sse("order", {"order": order})
    status, order_id = order["status"], order["order_id"]
    while status not in FINAL and context.get_remaining_time_in_millis() > (
            MARGIN_MS + poll_seconds * 1000):
        sleep(poll_seconds)
        now = orders.get(app.store, user_id, order_id)["status"]
        if now != status:
            status = now
            yield sse("status", {"order_id": order_id, "status": status})
        else:
            yield ": waiting\n\n"
    yield sse("end", {"order_id": order_id, "status": status})



