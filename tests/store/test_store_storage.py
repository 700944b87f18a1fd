"""The storage interface's contract, run against both backends (SQLite file, DynamoDB on
dynalite): conditional writes, all-or-nothing stock, cart locking, order state checks."""

import threading

import pytest

from shop.catalogue import seed_products
from shop.storage import CartLocked, Conflict, EmailTaken, OutOfStock, open_store


def user(email, uid="usr_1"):
    return {"user_id": uid, "email": email, "password_hash": "scrypt$x", "created_at": 1}


def order(oid, uid="usr_1", status="pending", created_at=1):
    return {"order_id": oid, "user_id": uid, "status": status, "fingerprint": "f",
            "idempotency_key": "", "lines": [{"sku": "MUG-001", "quantity": 1}],
            "total_cents": 1200, "currency": "USD", "created_at": created_at,
            "updated_at": created_at, "payment": {}}


def test_backend_matches_settings(store, backend):
    assert store.backend == backend


def test_catalogue_is_seeded_once(store, settings):
    products = store.list_products()
    assert [p["sku"] for p in products] == sorted(p["sku"] for p in seed_products())
    assert products == sorted(seed_products(), key=lambda p: p["sku"])
    store.reserve_stock({"MUG-001": 5})
    store.seed(seed_products())            # re-running set-up keeps used stock
    assert store.get_product("MUG-001")["stock"] == 45
    assert store.get_product("NOPE") is None


def test_users(store):
    store.create_user(user("a@b.co"))
    with pytest.raises(EmailTaken):
        store.create_user(user("a@b.co", "usr_2"))
    assert store.get_user_by_email("a@b.co")["user_id"] == "usr_1"
    assert store.get_user_by_email("x@b.co") is None
    # a would-be injection is just an email that does not exist
    assert store.get_user_by_email("' OR '1'='1") is None


def test_reserve_is_all_or_nothing(store):
    with pytest.raises(OutOfStock) as e:
        store.reserve_stock({"MUG-001": 2, "LAMP-01": 4, "TEE-001": 1})
    assert (e.value.sku, e.value.available) == ("LAMP-01", 3)
    assert store.get_product("MUG-001")["stock"] == 50
    assert store.get_product("TEE-001")["stock"] == 30
    store.reserve_stock({"MUG-001": 2, "LAMP-01": 3})
    assert store.get_product("LAMP-01")["stock"] == 0
    with pytest.raises(OutOfStock):
        store.reserve_stock({"LAMP-01": 1})
    with pytest.raises(OutOfStock) as e:
        store.reserve_stock({"GONE-1": 1})
    assert e.value.available == 0
    store.release_stock({"LAMP-01": 3, "MUG-001": 2})
    assert store.get_product("LAMP-01")["stock"] == 3 and store.get_product("MUG-001")["stock"] == 50


def test_cart_versioning_and_lock(store):
    cart = store.get_cart("usr_1")
    assert (cart.items, cart.version, cart.checkout_order) == ({}, 0, "")
    assert store.lock_cart("usr_1", "ord_a") == {}          # empty: nothing to hold
    store.save_cart("usr_1", {"MUG-001": 1}, 0)
    with pytest.raises(Conflict):
        store.save_cart("usr_1", {"MUG-001": 9}, 0)       # stale version
    store.save_cart("usr_1", {"MUG-001": 2}, 1)
    assert store.get_cart("usr_1").items == {"MUG-001": 2}
    assert store.lock_cart("usr_1", "ord_a") == {"MUG-001": 2}
    assert store.lock_cart("usr_1", "ord_a") == {"MUG-001": 2}   # the holder may re-lock
    with pytest.raises(CartLocked) as e:
        store.lock_cart("usr_1", "ord_b")
    assert e.value.order_id == "ord_a"
    v = store.get_cart("usr_1").version
    with pytest.raises(CartLocked):
        store.save_cart("usr_1", {}, v)
    store.unlock_cart("usr_1", "ord_b", clear=True)        # not the holder: no effect
    assert store.get_cart("usr_1").checkout_order == "ord_a"
    store.unlock_cart("usr_1", "ord_a", clear=False)
    cart = store.get_cart("usr_1")
    assert (cart.items, cart.checkout_order) == ({"MUG-001": 2}, "")
    store.lock_cart("usr_1", "ord_b")
    store.unlock_cart("usr_1", "ord_b", clear=True)
    assert store.get_cart("usr_1").items == {}
    assert store.get_cart("usr_2").items == {}             # carts are per user


def test_orders_are_conditional_and_per_user(store):
    store.create_order(order("ord_a", created_at=1))
    with pytest.raises(Conflict):
        store.create_order(order("ord_a"))
    paid = dict(order("ord_a", created_at=1), status="paid")
    store.update_order(paid, "pending")
    with pytest.raises(Conflict):
        store.update_order(dict(paid, status="declined"), "pending")
    assert store.get_order("usr_1", "ord_a")["status"] == "paid"
    assert store.get_order("usr_2", "ord_a") is None
    store.create_order(order("ord_b", created_at=5))
    store.create_order(order("ord_c", uid="usr_2", created_at=3))
    assert [o["order_id"] for o in store.list_orders("usr_1")] == ["ord_b", "ord_a"]
    assert [o["order_id"] for o in store.list_orders("usr_2")] == ["ord_c"]
    assert store.get_order("usr_1", "ord_a") == paid
    store.delete_order("usr_1", "ord_a", "pending")         # not pending: kept
    assert store.get_order("usr_1", "ord_a") is not None
    store.delete_order("usr_1", "ord_b", "pending")
    assert store.get_order("usr_1", "ord_b") is None


def test_concurrent_reservations_never_oversell(store, settings):
    """8 racers, one store connection each, for 3 lamps: exactly 3 win; stock ends at 0."""
    stores = [open_store(settings) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    wins = []

    def run(s):
        barrier.wait()
        try:
            s.reserve_stock({"LAMP-01": 1, "STICKER-01": 1})
            wins.append(1)
        except OutOfStock:
            pass
    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 3
    assert store.get_product("LAMP-01")["stock"] == 0
    assert store.get_product("STICKER-01")["stock"] == 200 - 3


def test_concurrent_cart_locks_one_winner(store, settings):
    store.save_cart("usr_1", {"MUG-001": 1}, 0)
    stores = [open_store(settings) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    winners = []

    def run(i, s):
        barrier.wait()
        try:
            s.lock_cart("usr_1", "ord_%d" % i)
            winners.append(i)
        except (CartLocked, Conflict):
            pass
    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(winners) == 1
    assert store.get_cart("usr_1").checkout_order == "ord_%d" % winners[0]


def test_sqlite_file_location(tmp_path):
    from shop.storage.sqlite_store import SqliteStore
    path = tmp_path / "deep" / "dir" / "s.db"
    s = SqliteStore(str(path))
    assert path.exists() and len(s.list_products()) == 6
    s.close()


def test_sql_is_parameterized():
    """No statement in the SQLite backend is built from values: no f-string, % or .format()
    holds SQL; values always travel as '?' parameters."""
    import inspect
    import re
    from shop.storage import sqlite_store
    src = inspect.getsource(sqlite_store)
    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE)\b")
    for m in re.finditer(r'\bf"([^"]*)"', src):
        assert not sql.search(m.group(1)), m.group(0)
    assert ".format(" not in src and '" %' not in src
    assert src.count("execute(") >= 20


def test_setup_module_creates_and_seeds(store_env, backend, tmp_path):
    """`python3 -m shop.setup`, the documented set-up path, on a brand-new store; twice."""
    import os
    import subprocess
    import sys
    from conftest import PYHANDLERS
    env = dict(os.environ, **store_env)
    env.pop("STORE_TOKEN_SECRET")                     # set-up signs nothing: needs no secret
    if backend == "sqlite":
        env["STORE_DB_PATH"] = str(tmp_path / "fresh" / "setup.sqlite3")
    else:
        env["STORE_TABLE"] = store_env["STORE_TABLE"] + "-setup"
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "shop.setup"], cwd=PYHANDLERS, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().startswith("store set up: %s " % backend)
        assert out.stdout.strip().endswith(", 6 products")
