"""DynamoDB backend (boto3), chosen when STORE_TABLE is set. Single-table design:

    pk                  sk                 item
    EMAIL#<email>       USER               a user: user_id, email, password_hash, created_at
    USER#<user_id>      CART               items {sku: qty}, version, checkout_order
    USER#<user_id>      ORDER#<order_id>   an order (lines, total, status, payment, ...)
    CATALOG             PRODUCT#<sku>      a product: name, price_cents, currency, stock

Keys put a user's cart and orders under the user's partition, so "only your own orders" is
the key itself: get_order(user, id) reads USER#<user>/ORDER#<id> and can't reach another's.

Every write that could race carries a ConditionExpression; only single-item writes are used
(PutItem, UpdateItem, DeleteItem), so the same code runs on DynamoDB and on DynamoDB
implementations without TransactWriteItems (dynalite, which the tests use):
  - registration:  PutItem EMAIL#... if attribute_not_exists(pk)
  - cart save:     PutItem if version = :seen (or not exists) and no checkout holds it
  - cart lock:     UpdateItem SET checkout_order if version = :seen and not held
  - stock:         UpdateItem SET stock = stock - :q if stock >= :q, line by line; a line that
                   fails puts the lines already taken back (compensation), so all or nothing
  - orders:        PutItem if attribute_not_exists(pk); updates if status = :expected
"""

import time

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from .base import Cart, CartLocked, Conflict, EmailTaken, OutOfStock, Store

_ser = TypeSerializer()
_deser = TypeDeserializer()

CATALOG = "CATALOG"


def _with_condition(kwargs, condition, names, values):
    """Adds a write's condition expression and its attribute names/values, if any."""
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = _to_item(values)
    return kwargs


def _to_item(doc):
    return {k: _ser.serialize(v) for k, v in doc.items() if v is not None}


def _plain(value):
    """Decimals back to int (all our numbers are whole: cents, counts, milliseconds)."""
    from decimal import Decimal
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def _from_item(item):
    return {k: _plain(_deser.deserialize(v)) for k, v in item.items()}


def _strip_keys(doc):
    doc.pop("pk", None)
    doc.pop("sk", None)
    return doc


def _condition_failed(err):
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoStore(Store):
    backend = "dynamodb"

    def __init__(self, table, client):
        self.table = table
        self.client = client

    @classmethod
    def from_settings(cls, settings):
        import os
        from ..config import region
        client = boto3.client(
            "dynamodb", region_name=region(os.environ),
            endpoint_url=settings.dynamodb_endpoint or None,
            config=Config(connect_timeout=3, read_timeout=10,
                          retries={"max_attempts": 4, "mode": "standard"}))
        store = cls(settings.table, client)
        if settings.create_table:
            from ..catalogue import seed_products
            if store.ensure_schema():
                store.seed(seed_products())
        return store

    # --- set-up -----------------------------------------------------------------------
    def ensure_schema(self, wait_seconds=60):
        """Create the table if it does not exist and wait until it is ACTIVE.
        True when this call created it."""
        created = False
        try:
            self.client.describe_table(TableName=self.table)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            try:
                self.client.create_table(
                    TableName=self.table,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
                created = True
            except ClientError as err2:   # created meanwhile by a concurrent cold start
                if err2.response.get("Error", {}).get("Code") != "ResourceInUseException":
                    raise
        deadline = time.monotonic() + wait_seconds
        while True:
            status = self.client.describe_table(TableName=self.table)["Table"]["TableStatus"]
            if status == "ACTIVE":
                return created
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {self.table} is still {status}")
            time.sleep(0.2)

    def delete_table(self):
        self.client.delete_table(TableName=self.table)

    # --- helpers ----------------------------------------------------------------------
    def _get(self, pk, sk):
        res = self.client.get_item(TableName=self.table, Key=_to_item({"pk": pk, "sk": sk}),
                                   ConsistentRead=True)
        item = res.get("Item")
        return _strip_keys(_from_item(item)) if item else None

    def _put(self, pk, sk, doc, condition=None, names=None, values=None):
        kwargs = {"TableName": self.table, "Item": _to_item(dict(doc, pk=pk, sk=sk))}
        self.client.put_item(**_with_condition(kwargs, condition, names, values))

    def _update(self, pk, sk, update, condition=None, names=None, values=None):
        kwargs = {"TableName": self.table, "Key": _to_item({"pk": pk, "sk": sk}),
                  "UpdateExpression": update}
        self.client.update_item(**_with_condition(kwargs, condition, names, values))

    def _query(self, pk, prefix):
        kwargs = {"TableName": self.table, "ConsistentRead": True,
                  "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                  "ExpressionAttributeValues": _to_item({":pk": pk, ":prefix": prefix})}
        out = []
        while True:
            res = self.client.query(**kwargs)
            out.extend(_strip_keys(_from_item(i)) for i in res.get("Items", []))
            if "LastEvaluatedKey" not in res:
                return out
            kwargs["ExclusiveStartKey"] = res["LastEvaluatedKey"]

    # --- users ------------------------------------------------------------------------
    def create_user(self, user):
        try:
            self._put("EMAIL#" + user["email"], "USER", user, condition="attribute_not_exists(pk)")
        except ClientError as err:
            if _condition_failed(err):
                raise EmailTaken(user["email"]) from None
            raise

    def get_user_by_email(self, email):
        return self._get("EMAIL#" + email, "USER")

    # --- catalogue --------------------------------------------------------------------
    def put_product(self, product, overwrite=True):
        try:
            self._put(CATALOG, "PRODUCT#" + product["sku"], product,
                      condition=None if overwrite else "attribute_not_exists(pk)")
        except ClientError as err:
            if not _condition_failed(err):
                raise

    def get_product(self, sku):
        return self._get(CATALOG, "PRODUCT#" + sku)

    def list_products(self):
        return sorted(self._query(CATALOG, "PRODUCT#"), key=lambda p: p["sku"])

    def _take(self, sku, qty):
        self._update(CATALOG, "PRODUCT#" + sku, "SET stock = stock - :q",
                     condition="attribute_exists(pk) AND stock >= :q", values={":q": qty})

    def reserve_stock(self, lines):
        taken = {}
        for sku, qty in sorted(lines.items()):
            try:
                self._take(sku, qty)
            except ClientError as err:
                if not _condition_failed(err):
                    self.release_stock(taken)
                    raise
                self.release_stock(taken)
                product = self.get_product(sku)
                raise OutOfStock(sku, product["stock"] if product else 0) from None
            taken[sku] = qty

    def release_stock(self, lines):
        for sku, qty in sorted(lines.items()):
            self._update(CATALOG, "PRODUCT#" + sku, "SET stock = stock + :q",
                         condition="attribute_exists(pk)", values={":q": qty})

    # --- carts ------------------------------------------------------------------------
    def get_cart(self, user_id):
        doc = self._get("USER#" + user_id, "CART")
        if not doc:
            return Cart()
        return Cart(dict(doc.get("items") or {}), doc.get("version", 0), doc.get("checkout_order", ""))

    def save_cart(self, user_id, items, expected_version):
        doc = {"items": items, "version": expected_version + 1, "checkout_order": ""}
        if expected_version == 0:
            cond, values = "attribute_not_exists(pk)", None
        else:
            cond = "version = :v AND checkout_order = :none"
            values = {":v": expected_version, ":none": ""}
        try:
            self._put("USER#" + user_id, "CART", doc, condition=cond, values=values)
        except ClientError as err:
            if not _condition_failed(err):
                raise
            current = self.get_cart(user_id)
            if current.checkout_order:
                raise CartLocked(current.checkout_order) from None
            raise Conflict("cart changed") from None

    def lock_cart(self, user_id, order_id):
        for _ in range(10):
            cart = self.get_cart(user_id)
            if cart.checkout_order and cart.checkout_order != order_id:
                raise CartLocked(cart.checkout_order)
            if not cart.items:
                return {}
            try:
                self._update("USER#" + user_id, "CART",
                             "SET checkout_order = :o, version = version + :one",
                             condition="version = :v AND (checkout_order = :none OR checkout_order = :o)",
                             values={":o": order_id, ":one": 1, ":v": cart.version, ":none": ""})
                return dict(cart.items)
            except ClientError as err:
                if not _condition_failed(err):
                    raise
        raise Conflict("cart keeps changing")

    def unlock_cart(self, user_id, order_id, clear):
        update = "SET checkout_order = :none, version = version + :one"
        values = {":none": "", ":one": 1, ":o": order_id}
        if clear:
            update += ", #items = :empty"
            values[":empty"] = {}
        try:
            self._update("USER#" + user_id, "CART", update, condition="checkout_order = :o",
                         names={"#items": "items"} if clear else None, values=values)
        except ClientError as err:
            if not _condition_failed(err):
                raise

    # --- orders -----------------------------------------------------------------------
    def create_order(self, order):
        try:
            self._put("USER#" + order["user_id"], "ORDER#" + order["order_id"], order,
                      condition="attribute_not_exists(pk)")
        except ClientError as err:
            if _condition_failed(err):
                raise Conflict("order exists") from None
            raise

    def update_order(self, order, expected_status):
        try:
            self._put("USER#" + order["user_id"], "ORDER#" + order["order_id"], order,
                      condition="#status = :expected", names={"#status": "status"},
                      values={":expected": expected_status})
        except ClientError as err:
            if _condition_failed(err):
                raise Conflict(f"order {order['order_id']} is not {expected_status}") from None
            raise

    def delete_order(self, user_id, order_id, expected_status):
        try:
            self.client.delete_item(
                TableName=self.table, Key=_to_item({"pk": "USER#" + user_id, "sk": "ORDER#" + order_id}),
                ConditionExpression="#status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_to_item({":expected": expected_status}))
        except ClientError as err:
            if not _condition_failed(err):
                raise

    def get_order(self, user_id, order_id):
        return self._get("USER#" + user_id, "ORDER#" + order_id)

    def list_orders(self, user_id):
        orders = self._query("USER#" + user_id, "ORDER#")
        return sorted(orders, key=lambda o: (o["created_at"], o["order_id"]), reverse=True)
