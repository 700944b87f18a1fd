"""The store's streaming endpoint: GET /orders/{order_id}/events as server-sent events
(shop/order_events.py), behind a function URL with InvokeMode RESPONSE_STREAM.

    handler: order_events.handler

A generator handler, so it needs host: AWS's managed Python runtime cannot stream a
response. Init opens the same storage as the store (store.py); the stream reads it only.
"""

from shop import config
from shop.app import App
from shop.order_events import order_events

app = App(config.load())
app.store  # open it during init, not in the first request


def handler(event, context):
    return order_events(app, event, context)
