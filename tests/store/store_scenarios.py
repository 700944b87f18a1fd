"""The store's end-to-end scenarios, written once against store_client.Client and run
in-process and through host (local and runtime mode) on both storage backends."""

import time
import uuid

from shop import tokens

PASSWORD = "correct-horse-battery"


def new_email(prefix="user"):
    return "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:8])


def expect(resp, status, error=None):
    assert resp.status == status, "expected %s, got %r" % (status, resp)
    assert resp.headers.get("content-type") == "application/json", resp.headers
    if error is not None:
        assert resp.json["error"] == error, resp
        assert isinstance(resp.json["message"], str) and resp.json["message"], resp
    return resp.json


def sign_up(c, email=None, password=PASSWORD):
    """Register and log in; (token, user)."""
    email = email or new_email()
    user = expect(c.call("POST", "/users", {"email": email, "password": password}), 201)["user"]
    assert user["email"] == email and user["user_id"].startswith("usr_")
    doc = expect(c.call("POST", "/sessions", {"email": email, "password": password}), 200)
    assert doc["token_type"] == "Bearer" and doc["user"] == user
    return doc["token"], user


def stock_of(c, sku):
    products = expect(c.call("GET", "/products"), 200)["products"]
    return {p["sku"]: p["stock"] for p in products}[sku]


def happy_flow(c):
    """register -> log in -> products -> add to cart -> view cart -> order + pay -> orders."""
    email = new_email("ada")
    token, user = sign_up(c, email)

    products = expect(c.call("GET", "/products"), 200)["products"]
    skus = [p["sku"] for p in products]
    assert skus == sorted(skus) and "MUG-001" in skus and len(products) == 6
    mug = next(p for p in products if p["sku"] == "MUG-001")
    assert mug["price_cents"] == 1200 and mug["currency"] == "USD"
    mug_stock = mug["stock"]

    cart = expect(c.call("POST", "/cart/items", {"sku": "MUG-001", "quantity": 2}, token), 200)["cart"]
    assert cart["total_cents"] == 2400 and cart["item_count"] == 2
    cart = expect(c.call("POST", "/cart/items", {"sku": "TEE-001"}, token), 200)["cart"]
    assert [l["sku"] for l in cart["items"]] == ["MUG-001", "TEE-001"]
    assert cart["total_cents"] == 2400 + 2500
    cart = expect(c.call("POST", "/cart/items", {"sku": "MUG-001", "quantity": 1}, token), 200)["cart"]
    assert cart["items"][0]["quantity"] == 3
    cart = expect(c.call("DELETE", "/cart/items/TEE-001", token=token), 200)["cart"]
    assert [(l["sku"], l["quantity"]) for l in cart["items"]] == [("MUG-001", 3)]
    assert expect(c.call("GET", "/cart", token=token), 200)["cart"] == cart

    resp = c.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                  headers={"idempotency-key": "flow-" + uuid.uuid4().hex})
    order = expect(resp, 201)["order"]
    assert order["status"] == "paid" and order["total_cents"] == 3600
    assert order["lines"] == [{"sku": "MUG-001", "name": "Lambda mug", "quantity": 3,
                               "unit_price_cents": 1200, "line_total_cents": 3600}]
    assert order["payment"]["status"] == "approved" and order["payment"]["charge_id"].startswith("ch_")
    assert order["payment"]["brand"] == "visa"
    assert "idempotent-replayed" not in resp.headers

    assert expect(c.call("GET", "/orders", token=token), 200)["orders"] == [order]
    assert expect(c.call("GET", "/orders/" + order["order_id"], token=token), 200)["order"] == order
    cart = expect(c.call("GET", "/cart", token=token), 200)["cart"]
    assert cart["items"] == [] and cart["total_cents"] == 0
    assert stock_of(c, "MUG-001") == mug_stock - 3
    return {"token": token, "user": user, "email": email, "order": order}


# --- failure paths -------------------------------------------------------------------------

def bad_input(c):
    cases = [
        (dict(raw_body="{not json"), "malformed_body", "not valid JSON"),
        (dict(raw_body=""), "malformed_body", "required"),
        (dict(body=["a", "list"]), "validation_error", "JSON object"),
        (dict(body={"email": "not-an-email", "password": PASSWORD}), "validation_error", "email"),
        (dict(body={"email": new_email(), "password": "short"}), "validation_error", "at least 8"),
        (dict(body={"email": new_email(), "password": 12345678}), "validation_error", "string"),
        (dict(body={"email": new_email()}), "validation_error", "'password' is required"),
        (dict(body={"email": new_email(), "password": PASSWORD, "admin": True}),
         "validation_error", "unknown field 'admin'"),
    ]
    for kwargs, code, words in cases:
        doc = expect(c.call("POST", "/users", **kwargs), 400, code)
        assert words in doc["message"], (kwargs, doc)


def auth_failures(c, secret):
    email = new_email("bob")
    token, user = sign_up(c, email)
    expect(c.call("POST", "/users", {"email": email, "password": "another-password"}), 409, "email_taken")
    expect(c.call("POST", "/users", {"email": email.upper(), "password": PASSWORD}), 409, "email_taken")
    assert expect(c.call("POST", "/sessions", {"email": " " + email.upper(), "password": PASSWORD}),
                  200)["user"] == user
    wrong = expect(c.call("POST", "/sessions", {"email": email, "password": "wrong-password"}),
                   401, "invalid_credentials")
    unknown = expect(c.call("POST", "/sessions", {"email": new_email(), "password": PASSWORD}),
                     401, "invalid_credentials")
    assert wrong["message"] == unknown["message"] == "invalid email or password"

    expect(c.call("GET", "/cart"), 401, "missing_token")
    expect(c.call("GET", "/cart", headers={"authorization": "Basic abc"}), 401, "invalid_token")
    expect(c.call("GET", "/cart", token="not.a.token"), 401, "invalid_token")
    forged, _ = tokens.issue(b"another-secret-another-secret-1234", user["user_id"], email, 3600)
    expect(c.call("GET", "/orders", token=forged), 401, "invalid_token")
    header, _, sig = token.split(".")
    claims = tokens._b64e(tokens._json({"iss": "store", "sub": "usr_someoneelse", "email": email,
                                        "iat": int(time.time()), "exp": int(time.time()) + 3600}))
    tampered = ".".join([header, claims, sig])
    expect(c.call("GET", "/orders", token=tampered), 401, "invalid_token")
    expired, _ = tokens.issue(secret, user["user_id"], email, 60, now=time.time() - 3600)
    doc = expect(c.call("GET", "/cart", token=expired), 401, "token_expired")
    assert "expired" in doc["message"]
    expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token=expired), 401, "token_expired")
    expect(c.call("GET", "/cart", token=token), 200)


def routing_failures(c):
    doc = expect(c.call("GET", "/nope"), 404, "not_found")
    assert doc["message"] == "no route for GET /nope"
    resp = c.call("PUT", "/cart")
    expect(resp, 405, "method_not_allowed")
    assert resp.headers["allow"] == "GET"
    expect(c.call("GET", "/users"), 405, "method_not_allowed")


def cart_failures(c):
    token, _ = sign_up(c)
    expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token), 400, "empty_cart")
    expect(c.call("POST", "/cart/items", {"sku": "NOPE-1", "quantity": 1}, token), 400, "unknown_sku")
    expect(c.call("POST", "/cart/items", {"sku": "mug 001"}, token), 400, "validation_error")
    for qty in (0, -1, 100, "2", 1.5, True):
        expect(c.call("POST", "/cart/items", {"sku": "MUG-001", "quantity": qty}, token), 400,
               "validation_error")
    expect(c.call("POST", "/cart/items", {"quantity": 1}, token), 400, "validation_error")
    doc = expect(c.call("POST", "/cart/items", {"sku": "LAMP-01", "quantity": 4}, token), 409,
                 "insufficient_stock")
    assert doc["available"] == 3
    expect(c.call("DELETE", "/cart/items/MUG-001", token=token), 404, "not_in_cart")
    expect(c.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)
    expect(c.call("POST", "/orders", {"card_token": "tok_nosuchcard"}, token), 400, "unsupported_card")
    expect(c.call("POST", "/orders", {"card_token": 42}, token), 400, "validation_error")
    expect(c.call("POST", "/orders", {}, token), 400, "validation_error")
    expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                  headers={"idempotency-key": "has spaces"}), 400, "invalid_idempotency_key")
    expect(c.call("GET", "/orders/12345", token=token), 400, "validation_error")
    assert expect(c.call("GET", "/orders", token=token), 200)["orders"] == []


def declined_card(c):
    token, _ = sign_up(c)
    before = stock_of(c, "HOODIE-01")
    expect(c.call("POST", "/cart/items", {"sku": "HOODIE-01", "quantity": 2}, token), 200)
    doc = expect(c.call("POST", "/orders", {"card_token": "tok_chargeDeclinedInsufficientFunds"},
                        token, headers={"idempotency-key": "declined-1"}), 402, "card_declined")
    assert doc["decline_code"] == "insufficient_funds" and "insufficient funds" in doc["message"]
    # nothing taken: stock back, cart kept (and unlocked) for another card
    assert stock_of(c, "HOODIE-01") == before
    cart = expect(c.call("GET", "/cart", token=token), 200)["cart"]
    assert [(l["sku"], l["quantity"]) for l in cart["items"]] == [("HOODIE-01", 2)]
    orders = expect(c.call("GET", "/orders", token=token), 200)["orders"]
    assert [(o["order_id"], o["status"]) for o in orders] == [(doc["order_id"], "declined")]
    assert orders[0]["payment"]["decline_code"] == "insufficient_funds"
    # the same key replays the decline; a new key with a good card goes through
    again = c.call("POST", "/orders", {"card_token": "tok_chargeDeclinedInsufficientFunds"},
                   token, headers={"idempotency-key": "declined-1"})
    assert expect(again, 402, "card_declined") == doc
    assert again.headers.get("idempotent-replayed") == "true"
    paid = expect(c.call("POST", "/orders", {"card_token": "tok_mastercard"}, token,
                         headers={"idempotency-key": "declined-1-retry"}), 201)["order"]
    assert paid["status"] == "paid" and paid["payment"]["brand"] == "mastercard"
    assert stock_of(c, "HOODIE-01") == before - 2
    for code in ("tok_chargeDeclined", "tok_chargeDeclinedExpiredCard"):
        expect(c.call("POST", "/cart/items", {"sku": "STICKER-01"}, token), 200)
        expect(c.call("POST", "/orders", {"card_token": code}, token), 402, "card_declined")
        expect(c.call("DELETE", "/cart/items/STICKER-01", token=token), 200)


def idempotent_retry(c):
    token, _ = sign_up(c)
    before = stock_of(c, "BOOK-001")
    expect(c.call("POST", "/cart/items", {"sku": "BOOK-001", "quantity": 2}, token), 200)
    key = "retry-" + uuid.uuid4().hex
    first = c.call("POST", "/orders", {"card_token": "tok_visa"}, token, headers={"idempotency-key": key})
    order = expect(first, 201)["order"]
    # the client never saw the answer and retries: same order, same charge, no new charge
    second = c.call("POST", "/orders", {"card_token": "tok_visa"}, token, headers={"idempotency-key": key})
    assert expect(second, 201)["order"] == order
    assert second.text == first.text
    assert second.headers.get("idempotent-replayed") == "true"
    # even with the cart filled again, the key still means the first order
    expect(c.call("POST", "/cart/items", {"sku": "BOOK-001"}, token), 200)
    third = c.call("POST", "/orders", {"card_token": "tok_visa"}, token, headers={"idempotency-key": key})
    assert expect(third, 201)["order"] == order
    orders = expect(c.call("GET", "/orders", token=token), 200)["orders"]
    assert [o["order_id"] for o in orders] == [order["order_id"]]
    assert stock_of(c, "BOOK-001") == before - 2
    # same key, different request
    expect(c.call("POST", "/orders", {"card_token": "tok_amex"}, token,
                  headers={"idempotency-key": key}), 422, "idempotency_key_reused")
    # the key is per user: another user's same key is a different order
    token2, _ = sign_up(c)
    expect(c.call("POST", "/cart/items", {"sku": "BOOK-001"}, token2), 200)
    other = expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token2,
                          headers={"idempotency-key": key}), 201)["order"]
    assert other["order_id"] != order["order_id"]


def other_users_order(c):
    token_a, _ = sign_up(c, new_email("alice"))
    token_b, _ = sign_up(c, new_email("mallory"))
    expect(c.call("POST", "/cart/items", {"sku": "MUG-001"}, token_a), 200)
    order = expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token_a), 201)["order"]
    doc = expect(c.call("GET", "/orders/" + order["order_id"], token=token_b), 404, "order_not_found")
    assert doc["message"] == "order %s not found" % order["order_id"]
    # not found looks the same as an order that does not exist at all
    missing = "ord_" + "a" * 26
    assert expect(c.call("GET", "/orders/" + missing, token=token_b), 404)["message"] == \
        "order %s not found" % missing
    assert expect(c.call("GET", "/orders", token=token_b), 200)["orders"] == []
    assert expect(c.call("GET", "/cart", token=token_b), 200)["cart"]["items"] == []
    expect(c.call("GET", "/orders/" + order["order_id"], token=token_a), 200)


def all_failure_paths(c, secret):
    bad_input(c)
    auth_failures(c, secret)
    routing_failures(c)
    cart_failures(c)
    declined_card(c)
    idempotent_retry(c)
    other_users_order(c)
