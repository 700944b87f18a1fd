"""Checkout: cart -> order -> payment, safe under retries and concurrent requests.

    1. create the order (status "pending"). Its id is derived from (user, Idempotency-Key),
       so a retry finds the order of the first attempt instead of creating a second one, and
       gets the first attempt's answer (or 409 while that attempt is still running);
    2. lock the cart to the order: a second checkout of the same cart gets 409;
    3. price the lines from the catalogue and take them from stock, all or none (409 when
       short: no oversell);
    4. charge the card with the order id as the provider's idempotency key;
    5. declined: stock goes back, the cart is released with its items, the order is
       "declined" (402); approved: the order is "paid" and the cart emptied (201).

No step holds a database transaction across the payment call. An attempt that ends with
nothing to record (empty cart, out of stock, provider unreachable) deletes its pending
order, so the same Idempotency-Key can be used again once the problem is fixed.
"""

import base64
import hashlib
import json
import time

from . import carts
from .errors import ApiError, bad_request, conflict, not_found
from .payments import PaymentError
from .storage import CartLocked, Conflict, OutOfStock

PENDING, PAID, DECLINED = "pending", "paid", "declined"


def _b32(raw):
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def new_order_id(now_ms):
    import secrets   # only checkouts without an Idempotency-Key need it; not imported at init
    # time first, so ids sort roughly by creation; then 80 random bits
    return "ord_" + _b32(now_ms.to_bytes(8, "big")[2:] + secrets.token_bytes(10))[:26]


def idempotent_order_id(user_id, key):
    return "ord_" + _b32(hashlib.sha256(f"{user_id}\x00{key}".encode()).digest())[:26]


def fingerprint(request_doc):
    return hashlib.sha256(json.dumps(request_doc, sort_keys=True).encode()).hexdigest()


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


LINE_KEYS = ("sku", "name", "quantity", "unit_price_cents", "line_total_cents")


def public_order(order):
    """What a client sees of an order, in a stable key order (a replay is byte-identical)."""
    lines = [{k: line[k] for k in LINE_KEYS} for line in order["lines"]]
    doc = {"order_id": order["order_id"], "status": order["status"], "lines": lines,
           "total_cents": order["total_cents"], "currency": order["currency"],
           "created_at": iso(order["created_at"])}
    if order.get("payment"):
        doc["payment"] = dict(sorted(order["payment"].items()))
    return doc


def outcome(order, replayed=False):
    """The response for a finished order: the same for the first answer and a replay."""
    headers = {"idempotent-replayed": "true"} if replayed else {}
    if order["status"] == PAID:
        return 201, {"order": public_order(order)}, headers
    if order["status"] == DECLINED:
        pay = order.get("payment") or {}
        raise ApiError(402, "card_declined", f"payment declined: {pay.get('message', 'declined')}",
                       headers=headers, decline_code=pay.get("decline_code", ""),
                       order_id=order["order_id"])
    raise conflict("an order with this Idempotency-Key is still being processed; retry shortly",
                   code="order_in_progress", order_id=order["order_id"])


def _replay(store, user_id, order_id, fp):
    existing = store.get_order(user_id, order_id)
    if existing is None:   # the first attempt is just ending without an order
        raise conflict("an order with this Idempotency-Key is still being processed; retry shortly",
                       code="order_in_progress")
    if existing.get("fingerprint") != fp:
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was used for a different request; use a new key")
    return outcome(existing, replayed=True)


def checkout(app, user_id, card_token, idempotency_key, request_id=""):
    store, payments = app.store, app.payments
    if not payments.supports(card_token):
        raise bad_request("'card_token' is not a card this store can charge; test cards: "
                          "tok_visa, tok_mastercard, tok_amex (approved), tok_chargeDeclined, "
                          "tok_chargeDeclinedInsufficientFunds (declined)", code="unsupported_card")
    now = app.now_ms()
    fp = fingerprint({"card_token": card_token})
    order_id = idempotent_order_id(user_id, idempotency_key) if idempotency_key else new_order_id(now)
    order = {"order_id": order_id, "user_id": user_id, "status": PENDING, "fingerprint": fp,
             "idempotency_key": idempotency_key or "", "lines": [], "total_cents": 0,
             "currency": "USD", "created_at": now, "updated_at": now, "payment": {}}
    try:
        store.create_order(order)
    except Conflict:
        return _replay(store, user_id, order_id, fp)

    def abandon():
        store.delete_order(user_id, order_id, PENDING)

    # 2. hold the cart
    try:
        items = _lock_cart(store, user_id, order_id)
    except BaseException:
        abandon()
        raise
    if not items:
        abandon()
        raise bad_request("your cart is empty; add items with POST /cart/items", code="empty_cart")

    def release_cart(clear=False):
        store.unlock_cart(user_id, order_id, clear=clear)

    # 3. price the lines and take the stock
    try:
        lines, currency = [], None
        for sku, qty in sorted(items.items()):
            product = store.get_product(sku)
            if product is None:
                raise conflict(f"'{sku}' is no longer sold; remove it from your cart",
                               code="product_unavailable", sku=sku)
            currency = currency or product["currency"]
            lines.append({"sku": sku, "name": product["name"], "quantity": qty,
                          "unit_price_cents": product["price_cents"],
                          "line_total_cents": product["price_cents"] * qty})
        order.update(lines=lines, currency=currency,
                     total_cents=sum(line["line_total_cents"] for line in lines))
        store.update_order(order, PENDING)
        try:
            store.reserve_stock(items)
        except OutOfStock as err:
            app.metrics.order(order, "out_of_stock", request_id)
            raise ApiError(409, "insufficient_stock",
                           f"not enough stock: only {err.available} of {err.sku} left",
                           sku=err.sku, available=err.available) from None
    except BaseException:
        release_cart()
        abandon()
        raise

    # 4. pay
    try:
        result = payments.charge(amount_cents=order["total_cents"], currency=order["currency"],
                                 card_token=card_token, idempotency_key=order_id,
                                 description=f"store order {order_id}")
    except BaseException as err:
        store.release_stock(items)
        release_cart()
        abandon()
        if isinstance(err, PaymentError):
            import logging   # imported on first use, not at init (see app.py)
            logging.getLogger("store").warning("payment provider unavailable for order %s: %s",
                                               order_id, err)
            raise ApiError(502, "payment_unavailable",
                           "the payment provider could not be reached; nothing was charged, "
                           "try again") from None
        raise

    # 5. record the outcome
    order["updated_at"] = app.now_ms()
    if result.approved:
        order["status"] = PAID
        order["payment"] = {"status": "approved", "provider": payments.name,
                            "charge_id": result.charge_id, "brand": result.brand,
                            "amount_cents": order["total_cents"]}
        store.update_order(order, PENDING)
        release_cart(clear=True)
        app.metrics.order(order, "paid", request_id)
    else:
        store.release_stock(items)
        order["status"] = DECLINED
        order["payment"] = {"status": "declined", "provider": payments.name,
                            "decline_code": result.decline_code, "message": result.message}
        store.update_order(order, PENDING)
        release_cart()
        app.metrics.order(order, "declined", request_id)
    return outcome(order)


def _lock_cart(store, user_id, order_id):
    for _ in range(3):
        try:
            return store.lock_cart(user_id, order_id)
        except CartLocked as err:
            if not carts.break_stale_lock(store, user_id, err.order_id):
                raise carts.checkout_in_progress() from None
        except Conflict:   # the cart kept changing under us
            raise carts.checkout_in_progress() from None
    raise carts.checkout_in_progress()


def get(store, user_id, order_id):
    order = store.get_order(user_id, order_id)
    if order is None:
        # the same answer whether the order does not exist or is someone else's
        raise not_found(f"order {order_id} not found", code="order_not_found")
    return public_order(order)


def list_for(store, user_id):
    return [public_order(o) for o in store.list_orders(user_id)]
