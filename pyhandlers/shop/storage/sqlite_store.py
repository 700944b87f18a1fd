"""SQLite backend: the embedded default. One file (STORE_DB_PATH, default /tmp/store.sqlite3),
created and seeded on first use.

Every statement is parameterized. Each write runs in a BEGIN IMMEDIATE transaction, which
takes SQLite's write lock up front, so two processes on one file serialize instead of
deadlocking; stock is taken with a guarded `UPDATE ... WHERE stock >= ?`.
"""

import json
import os
import sqlite3
import threading
from contextlib import contextmanager

from .base import Cart, CartLocked, Conflict, EmailTaken, OutOfStock, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id       TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    sku           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    price_cents   INTEGER NOT NULL CHECK (price_cents > 0),
    currency      TEXT NOT NULL,
    stock         INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS carts (
    user_id        TEXT PRIMARY KEY,
    items          TEXT NOT NULL,
    version        INTEGER NOT NULL,
    checkout_order TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS orders (
    order_id      TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    doc           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at);
"""

_PRODUCT_COLS = ("sku", "name", "description", "price_cents", "currency", "stock")
# Every statement is a constant with '?' placeholders: no SQL is ever built from values.
_SELECT_PRODUCTS = "SELECT sku, name, description, price_cents, currency, stock FROM products"
_INSERT_PRODUCT = ("INSERT OR IGNORE INTO products (sku, name, description, price_cents, currency, "
                   "stock) VALUES (?, ?, ?, ?, ?, ?)")
_REPLACE_PRODUCT = ("INSERT OR REPLACE INTO products (sku, name, description, price_cents, currency, "
                    "stock) VALUES (?, ?, ?, ?, ?, ?)")


class SqliteStore(Store):
    backend = "sqlite"

    def __init__(self, path, seed_products=None):
        self.path = path
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self._lock = threading.Lock()   # one connection; handlers may use threads
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.ensure_schema()
        if seed_products is None:
            from ..catalogue import seed_products as default_seed
            seed_products = default_seed()
        self.seed(seed_products)

    def close(self):
        self.db.close()

    @contextmanager
    def _tx(self):
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")

    def _read(self, sql, params):
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    def ensure_schema(self):
        with self._lock:
            self.db.executescript(SCHEMA)

    def seed(self, products):
        with self._tx() as db:
            for p in products:
                db.execute(_INSERT_PRODUCT, tuple(p.get(c, "") for c in _PRODUCT_COLS))

    # --- users ------------------------------------------------------------------------
    def create_user(self, user):
        try:
            with self._tx() as db:
                db.execute("INSERT INTO users (user_id, email, password_hash, created_at) "
                           "VALUES (?, ?, ?, ?)",
                           (user["user_id"], user["email"], user["password_hash"], user["created_at"]))
        except sqlite3.IntegrityError:
            raise EmailTaken(user["email"]) from None

    def get_user_by_email(self, email):
        rows = self._read("SELECT user_id, email, password_hash, created_at FROM users "
                          "WHERE email = ?", (email,))
        return dict(rows[0]) if rows else None

    # --- catalogue --------------------------------------------------------------------
    def put_product(self, product, overwrite=True):
        with self._tx() as db:
            db.execute(_REPLACE_PRODUCT if overwrite else _INSERT_PRODUCT,
                       tuple(product.get(c, "") for c in _PRODUCT_COLS))

    def get_product(self, sku):
        rows = self._read(_SELECT_PRODUCTS + " WHERE sku = ?", (sku,))
        return dict(rows[0]) if rows else None

    def list_products(self):
        rows = self._read(_SELECT_PRODUCTS + " ORDER BY sku", ())
        return [dict(r) for r in rows]

    def reserve_stock(self, lines):
        with self._tx() as db:   # all lines or none: an OutOfStock rolls the others back
            for sku, qty in sorted(lines.items()):
                cur = db.execute("UPDATE products SET stock = stock - ? WHERE sku = ? AND stock >= ?",
                                 (qty, sku, qty))
                if cur.rowcount != 1:
                    row = db.execute("SELECT stock FROM products WHERE sku = ?", (sku,)).fetchone()
                    raise OutOfStock(sku, row["stock"] if row else 0)

    def release_stock(self, lines):
        with self._tx() as db:
            for sku, qty in sorted(lines.items()):
                db.execute("UPDATE products SET stock = stock + ? WHERE sku = ?", (qty, sku))

    # --- carts ------------------------------------------------------------------------
    def _cart(self, db, user_id):
        row = db.execute("SELECT items, version, checkout_order FROM carts WHERE user_id = ?",
                         (user_id,)).fetchone()
        if not row:
            return Cart()
        return Cart(json.loads(row["items"]), row["version"], row["checkout_order"])

    def get_cart(self, user_id):
        with self._lock:
            return self._cart(self.db, user_id)

    def save_cart(self, user_id, items, expected_version):
        with self._tx() as db:
            cart = self._cart(db, user_id)
            if cart.checkout_order:
                raise CartLocked(cart.checkout_order)
            if cart.version != expected_version:
                raise Conflict("cart changed")
            db.execute("INSERT INTO carts (user_id, items, version, checkout_order) "
                       "VALUES (?, ?, ?, '') ON CONFLICT (user_id) DO UPDATE SET "
                       "items = excluded.items, version = excluded.version",
                       (user_id, json.dumps(items, sort_keys=True), expected_version + 1))

    def lock_cart(self, user_id, order_id):
        with self._tx() as db:
            cart = self._cart(db, user_id)
            if cart.checkout_order and cart.checkout_order != order_id:
                raise CartLocked(cart.checkout_order)
            if not cart.items:
                return {}
            db.execute("UPDATE carts SET checkout_order = ?, version = version + 1 "
                       "WHERE user_id = ?", (order_id, user_id))
            return dict(cart.items)

    def unlock_cart(self, user_id, order_id, clear):
        with self._tx() as db:
            if clear:
                db.execute("UPDATE carts SET checkout_order = '', items = '{}', "
                           "version = version + 1 WHERE user_id = ? AND checkout_order = ?",
                           (user_id, order_id))
            else:
                db.execute("UPDATE carts SET checkout_order = '', version = version + 1 "
                           "WHERE user_id = ? AND checkout_order = ?", (user_id, order_id))

    # --- orders -----------------------------------------------------------------------
    def create_order(self, order):
        try:
            with self._tx() as db:
                db.execute("INSERT INTO orders (order_id, user_id, status, created_at, doc) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (order["order_id"], order["user_id"], order["status"],
                            order["created_at"], json.dumps(order, sort_keys=True)))
        except sqlite3.IntegrityError:
            raise Conflict("order exists") from None

    def update_order(self, order, expected_status):
        with self._tx() as db:
            cur = db.execute("UPDATE orders SET status = ?, doc = ? "
                             "WHERE order_id = ? AND user_id = ? AND status = ?",
                             (order["status"], json.dumps(order, sort_keys=True),
                              order["order_id"], order["user_id"], expected_status))
            if cur.rowcount != 1:
                raise Conflict(f"order {order['order_id']} is not {expected_status}")

    def delete_order(self, user_id, order_id, expected_status):
        with self._tx() as db:
            db.execute("DELETE FROM orders WHERE order_id = ? AND user_id = ? AND status = ?",
                       (order_id, user_id, expected_status))

    def get_order(self, user_id, order_id):
        rows = self._read("SELECT doc FROM orders WHERE order_id = ? AND user_id = ?",
                          (order_id, user_id))
        return json.loads(rows[0]["doc"]) if rows else None

    def list_orders(self, user_id):
        rows = self._read("SELECT doc FROM orders WHERE user_id = ? "
                          "ORDER BY created_at DESC, order_id DESC", (user_id,))
        return [json.loads(r["doc"]) for r in rows]
