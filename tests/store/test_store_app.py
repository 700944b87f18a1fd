"""The whole store in-process (App.handle), on SQLite and on DynamoDB (dynalite): the happy
flow, every failure path, metrics, logging hygiene and racing checkouts."""

import io
import json
import logging
import threading

import pytest

import store_scenarios as sc
from conftest import SECRET
from shop import config
from shop.app import App
from shop.metrics import Metrics
from shop.payments import OfflineTestProvider
from shop.storage import open_store
from store_client import InProcessClient


@pytest.fixture
def emf():
    return io.StringIO()


@pytest.fixture
def payments():
    return OfflineTestProvider()


@pytest.fixture
def app(settings, store, emf, payments):
    return App(settings, store=store, payments=payments, metrics=Metrics(stream=emf))


@pytest.fixture
def client(app):
    return InProcessClient(app)


def emf_records(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_happy_flow(client, emf, payments):
    ctx = sc.happy_flow(client)
    records = emf_records(emf)
    signups = [r for r in records if r.get("event") == "sign_up"]
    orders = [r for r in records if r.get("event") == "order"]
    assert len(signups) == 1 and signups[0]["SignUps"] == 1
    assert signups[0]["userId"] == ctx["user"]["user_id"]
    assert len(orders) == 1
    rec = orders[0]
    assert rec["Outcome"] == "paid" and rec["Orders"] == 1 and rec["OrderValue"] == 36.0
    assert rec["ItemsSold"] == 3 and rec["orderId"] == ctx["order"]["order_id"]
    meta = rec["_aws"]["CloudWatchMetrics"][0]
    assert meta["Namespace"] == "Store" and meta["Dimensions"] == [["Service", "Outcome"]]
    assert {m["Name"] for m in meta["Metrics"]} == {"Orders", "OrderValue", "ItemsSold"}
    assert all(m["Name"] in rec for m in meta["Metrics"])
    assert ctx["email"] not in emf.getvalue()    # no personal data in analytics
    assert payments.calls == 1


def test_bad_input(client):
    sc.bad_input(client)


def test_auth_failures(client):
    sc.auth_failures(client, SECRET.encode())


def test_routing_failures(client):
    sc.routing_failures(client)


def test_cart_failures(client):
    sc.cart_failures(client)


def test_declined_card(client, emf):
    sc.declined_card(client)
    outcomes = [r["Outcome"] for r in emf_records(emf) if r.get("event") == "order"]
    assert outcomes == ["declined", "paid", "declined", "declined"]


def test_idempotent_retry_charges_once(client, payments):
    sc.idempotent_retry(client)
    # two orders were paid (one per user); the retries never reached the provider
    assert payments.calls == 2
    assert len(payments.ledger) == 2


def test_other_users_order(client):
    sc.other_users_order(client)


def test_event_shapes(client, app):
    # payload v1 (REST API) works too; a non-HTTP event is a clean 400
    event = {"httpMethod": "GET", "path": "/products", "headers": {"Accept": "*/*"},
             "requestContext": {"requestId": "x"}, "body": None}
    assert app.handle(event)["statusCode"] == 200
    stage = sc.expect(client.call("GET", "/products"), 200)
    ev = json.loads(json.dumps(__import__("store_client").api_event("GET", "/prod/products")))
    ev["requestContext"]["stage"] = "prod"
    assert json.loads(app.handle(ev)["body"]) == stage
    for bad in ({}, [], "text", {"rawPath": "/x"}, None):
        res = app.handle(bad)
        assert res["statusCode"] == 400 and json.loads(res["body"])["error"] == "bad_event"
    ev = __import__("store_client").api_event("POST", "/users")
    ev["body"] = __import__("base64").b64encode(b'{"email": "b64@example.com", "password": "password-1"}').decode()
    ev["isBase64Encoded"] = True
    assert app.handle(ev)["statusCode"] == 201
    ev["body"] = "!!!"
    assert json.loads(app.handle(ev)["body"])["error"] == "malformed_body"
    ev = __import__("store_client").api_event("POST", "/users", raw_body="x" * 70000)
    assert app.handle(ev)["statusCode"] == 413


def test_internal_error_is_500_without_details(client, app, caplog):
    def boom(*a, **k):
        raise RuntimeError("database exploded: secret-detail")
    app._store.list_products = boom
    with caplog.at_level(logging.ERROR, logger="store"):
        resp = client.call("GET", "/products")
    doc = sc.expect(resp, 500, "internal_error")
    assert "secret-detail" not in resp.text and doc["message"] == "internal server error"
    assert "database exploded" in caplog.text     # but the log has the traceback


def test_nothing_secret_is_logged(settings, store, caplog, capsys):
    app = App(settings, store=store, metrics=Metrics())
    client = InProcessClient(app)
    with caplog.at_level(logging.DEBUG):
        ctx = sc.happy_flow(client)
        sc.auth_failures(client, settings.token_secret)
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert sc.PASSWORD not in logged
    assert settings.token_secret.decode() not in logged
    assert ctx["token"] not in logged
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def _race(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = target(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_checkouts_race_for_the_last_item(store_env, settings, store):
    """Separate App + store per racer (like separate Lambda instances on one store):
    exactly one gets the last lamp, the other a 409, and stock ends at 0, not -1."""
    setup_client = InProcessClient(App(settings, store=store, metrics=Metrics(stream=io.StringIO())))
    lamp = store.get_product("LAMP-01")
    store.put_product(dict(lamp, stock=1))
    tokens = []
    for _ in range(3):
        token, _ = sc.sign_up(setup_client)
        sc.expect(setup_client.call("POST", "/cart/items", {"sku": "LAMP-01"}, token), 200)
        tokens.append(token)
    clients = [InProcessClient(App(config.load(store_env), store=open_store(settings),
                                   metrics=Metrics(stream=io.StringIO()))) for _ in tokens]
    results = _race(len(tokens), lambda i: clients[i].call(
        "POST", "/orders", {"card_token": "tok_visa"}, tokens[i]))
    statuses = sorted(r.status for r in results)
    assert statuses == [201, 409, 409], results
    assert all(r.json["error"] == "insufficient_stock" for r in results if r.status == 409)
    assert store.get_product("LAMP-01")["stock"] == 0
    # the losers keep their carts
    for r, token in zip(results, tokens):
        cart = sc.expect(setup_client.call("GET", "/cart", token=token), 200)["cart"]
        assert len(cart["items"]) == (0 if r.status == 201 else 1)


def test_one_cart_cannot_be_spent_twice(store_env, settings, store):
    """Two checkouts of the same cart with different keys at once: one order is paid, the
    other finds the cart held (409) or already empty (400); stock is taken once."""
    setup_client = InProcessClient(App(settings, store=store, metrics=Metrics(stream=io.StringIO())))
    token, _ = sc.sign_up(setup_client)
    before = store.get_product("TEE-001")["stock"]
    sc.expect(setup_client.call("POST", "/cart/items", {"sku": "TEE-001", "quantity": 2}, token), 200)
    clients = [InProcessClient(App(config.load(store_env), store=open_store(settings),
                                   metrics=Metrics(stream=io.StringIO()))) for _ in range(3)]
    results = _race(3, lambda i: clients[i].call(
        "POST", "/orders", {"card_token": "tok_visa"}, token, headers={"idempotency-key": "k%d" % i}))
    paid = [r for r in results if r.status == 201]
    assert len(paid) == 1, results
    for r in results:
        if r.status != 201:
            assert (r.status, r.json["error"]) in ((409, "checkout_in_progress"), (400, "empty_cart")), r
    orders = sc.expect(setup_client.call("GET", "/orders", token=token), 200)["orders"]
    assert [o["status"] for o in orders] == ["paid"]
    assert store.get_product("TEE-001")["stock"] == before - 2


def test_same_key_at_once_is_one_order(store_env, settings, store):
    setup_client = InProcessClient(App(settings, store=store, metrics=Metrics(stream=io.StringIO())))
    token, _ = sc.sign_up(setup_client)
    before = store.get_product("MUG-001")["stock"]
    sc.expect(setup_client.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)
    clients = [InProcessClient(App(config.load(store_env), store=open_store(settings),
                                   metrics=Metrics(stream=io.StringIO()))) for _ in range(3)]
    results = _race(3, lambda i: clients[i].call(
        "POST", "/orders", {"card_token": "tok_visa"}, token, headers={"idempotency-key": "same"}))
    for r in results:
        assert r.status == 201 or (r.status, r.json["error"]) == (409, "order_in_progress"), r
    ids = {r.json["order"]["order_id"] for r in results if r.status == 201}
    assert len(ids) == 1
    assert store.get_product("MUG-001")["stock"] == before - 1
    final = sc.expect(clients[0].call("POST", "/orders", {"card_token": "tok_visa"}, token,
                                      headers={"idempotency-key": "same"}), 201)
    assert final["order"]["order_id"] in ids


def test_stale_cart_lock_is_released(client, store):
    """A cart left held by a checkout that died (its order gone, or already finished) is
    released by the next cart change or checkout; one held by a live checkout is not."""
    token, user = sc.sign_up(client)
    uid = user["user_id"]
    sc.expect(client.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)
    store.lock_cart(uid, "ord_" + "g" * 26)          # no such order: the checkout died
    cart = sc.expect(client.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)["cart"]
    assert cart["items"][0]["quantity"] == 2
    live = {"order_id": "ord_" + "l" * 26, "user_id": uid, "status": "pending", "fingerprint": "",
            "idempotency_key": "", "lines": [], "total_cents": 0, "currency": "USD",
            "created_at": 1, "updated_at": 1, "payment": {}}
    store.create_order(live)
    store.lock_cart(uid, live["order_id"])
    sc.expect(client.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 409, "checkout_in_progress")
    sc.expect(client.call("DELETE", "/cart/items/MUG-001", token=token), 409, "checkout_in_progress")
    sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token), 409,
              "checkout_in_progress")
    store.update_order(dict(live, status="declined"), "pending")   # it finished; release was lost
    order = sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token), 201)["order"]
    assert order["total_cents"] == 2400


def test_payment_provider_down_takes_nothing(client, app, store):
    from shop.payments import PaymentError

    class Down(OfflineTestProvider):
        def charge(self, **kw):
            raise PaymentError("connection refused")
    app.payments = Down()
    token, _ = sc.sign_up(client)
    before = store.get_product("TEE-001")["stock"]
    sc.expect(client.call("POST", "/cart/items", {"sku": "TEE-001"}, token), 200)
    doc = sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                                headers={"idempotency-key": "k"}), 502, "payment_unavailable")
    assert "nothing was charged" in doc["message"]
    assert store.get_product("TEE-001")["stock"] == before
    assert sc.expect(client.call("GET", "/orders", token=token), 200)["orders"] == []
    app.payments = OfflineTestProvider()                 # back up: the same key now goes through
    sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                          headers={"idempotency-key": "k"}), 201)
    assert store.get_product("TEE-001")["stock"] == before - 1


def test_out_of_stock_at_checkout_takes_nothing(client, store, emf):
    token, _ = sc.sign_up(client)
    sc.expect(client.call("POST", "/cart/items", {"sku": "MUG-001", "quantity": 2}, token), 200)
    sc.expect(client.call("POST", "/cart/items", {"sku": "LAMP-01", "quantity": 2}, token), 200)
    store.put_product(dict(store.get_product("LAMP-01"), stock=1))   # sold elsewhere meanwhile
    doc = sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                                headers={"idempotency-key": "oos"}), 409, "insufficient_stock")
    assert (doc["sku"], doc["available"]) == ("LAMP-01", 1)
    assert store.get_product("MUG-001")["stock"] == 50        # the other line was put back
    assert sc.expect(client.call("GET", "/orders", token=token), 200)["orders"] == []
    cart = sc.expect(client.call("GET", "/cart", token=token), 200)["cart"]
    assert len(cart["items"]) == 2                              # kept, and not held
    sc.expect(client.call("DELETE", "/cart/items/LAMP-01", token=token), 200)
    sc.expect(client.call("POST", "/orders", {"card_token": "tok_visa"}, token,
                          headers={"idempotency-key": "oos"}), 201)
    assert [r["Outcome"] for r in emf_records(emf) if r.get("event") == "order"] == \
        ["out_of_stock", "paid"]
