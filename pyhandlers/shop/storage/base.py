"""The storage interface the use cases are written against.

Records are plain dicts with JSON-able values; money is in integer cents and times are
integer milliseconds since the epoch.

    user     {user_id, email, password_hash, created_at}
    product  {sku, name, description, price_cents, currency, stock}
    cart     Cart(items={sku: quantity}, version, checkout_order)
    order    {order_id, user_id, status, fingerprint, lines, total_cents, currency,
              created_at, updated_at, payment, failure}

Every write that could race is conditional, in both backends:
  - a cart is saved only if its version is unchanged and no checkout holds it;
  - a checkout first locks the cart to its order id, so two checkouts can't spend one cart;
  - stock is taken only where `stock >= quantity`, all lines of an order or none;
  - an order is created only if its id is new (the id of an idempotent order is derived
    from the user and the Idempotency-Key), and moves on only from the status it was read in.
"""


class StoreError(Exception):
    pass


class Conflict(StoreError):
    """A conditional write lost: the record is not in the state the caller expected."""


class EmailTaken(StoreError):
    pass


class CartLocked(StoreError):
    """A checkout holds the cart."""

    def __init__(self, order_id):
        super().__init__(f"cart is being checked out by {order_id}")
        self.order_id = order_id


class OutOfStock(StoreError):
    def __init__(self, sku, available):
        super().__init__(f"only {available} of {sku} left")
        self.sku = sku
        self.available = available


class Cart:
    __slots__ = ("items", "version", "checkout_order")

    def __init__(self, items=None, version=0, checkout_order=""):
        self.items = {} if items is None else items   # sku -> quantity
        self.version = version                         # 0: never saved
        self.checkout_order = checkout_order           # the order whose checkout holds the cart


class Store:
    backend = "abstract"

    # --- set-up -----------------------------------------------------------------------
    def ensure_schema(self):
        """Create what the backend needs (tables, indexes); idempotent."""
        raise NotImplementedError

    def seed(self, products):
        """Insert the products that are missing; existing ones keep their stock."""
        for p in products:
            self.put_product(p, overwrite=False)

    # --- users ------------------------------------------------------------------------
    def create_user(self, user):
        """Raises EmailTaken when the email is registered."""
        raise NotImplementedError

    def get_user_by_email(self, email):
        raise NotImplementedError

    # --- catalogue --------------------------------------------------------------------
    def put_product(self, product, overwrite=True):
        raise NotImplementedError

    def get_product(self, sku):
        raise NotImplementedError

    def list_products(self):
        raise NotImplementedError

    def reserve_stock(self, lines):
        """Take {sku: quantity} from stock, all or nothing. Raises OutOfStock."""
        raise NotImplementedError

    def release_stock(self, lines):
        """Put {sku: quantity} back (a checkout that reserved it did not complete)."""
        raise NotImplementedError

    # --- carts ------------------------------------------------------------------------
    def get_cart(self, user_id):
        raise NotImplementedError

    def save_cart(self, user_id, items, expected_version):
        """Replace the items if the cart is still at expected_version and not locked.
        Raises CartLocked, or Conflict when someone else saved it first."""
        raise NotImplementedError

    def lock_cart(self, user_id, order_id):
        """Hold the cart for a checkout and return its items ({} when empty, then not held).
        Raises CartLocked when another checkout holds it."""
        raise NotImplementedError

    def unlock_cart(self, user_id, order_id, clear):
        """Release the hold of order_id; clear=True also empties the cart (order paid)."""
        raise NotImplementedError

    # --- orders -----------------------------------------------------------------------
    def create_order(self, order):
        """Insert a new order. Raises Conflict when the order id exists."""
        raise NotImplementedError

    def update_order(self, order, expected_status):
        """Replace the order if its stored status is expected_status, else Conflict."""
        raise NotImplementedError

    def delete_order(self, user_id, order_id, expected_status):
        raise NotImplementedError

    def get_order(self, user_id, order_id):
        """The order if it exists AND belongs to user_id, else None."""
        raise NotImplementedError

    def list_orders(self, user_id):
        """The user's orders, newest first."""
        raise NotImplementedError
