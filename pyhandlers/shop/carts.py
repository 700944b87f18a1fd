"""The cart: one per user, {sku: quantity}, saved with optimistic versioning."""

from . import validation
from .errors import ApiError, bad_request, conflict, not_found
from .storage import CartLocked, Conflict

ATTEMPTS = 5


def break_stale_lock(store, user_id, order_id):
    """A cart held by an order that is no longer pending (its checkout ended but the release
    was lost, e.g. the function was stopped in between) is released. True if it was."""
    order = store.get_order(user_id, order_id)
    if order is not None and order["status"] == "pending":
        return False
    store.unlock_cart(user_id, order_id, clear=order is not None and order["status"] == "paid")
    return True


def checkout_in_progress():
    return conflict("a checkout of this cart is in progress; try again when it has finished",
                    code="checkout_in_progress")


def view(store, user_id, cart=None):
    cart = cart or store.get_cart(user_id)
    lines, total, currency = [], 0, None
    for sku, qty in sorted(cart.items.items()):
        product = store.get_product(sku)
        if product is None:
            lines.append({"sku": sku, "quantity": qty, "available": False})
            continue
        currency = currency or product["currency"]
        line_total = product["price_cents"] * qty
        total += line_total
        lines.append({"sku": sku, "name": product["name"], "quantity": qty,
                      "unit_price_cents": product["price_cents"], "line_total_cents": line_total,
                      "available": product["stock"] >= qty})
    return {"items": lines, "total_cents": total, "currency": currency or "USD",
            "item_count": sum(cart.items.values())}


def _modify(store, user_id, change):
    """Apply change(items) -> items and save, retrying when a concurrent save wins."""
    for _ in range(ATTEMPTS):
        cart = store.get_cart(user_id)
        if cart.checkout_order:
            if not break_stale_lock(store, user_id, cart.checkout_order):
                raise checkout_in_progress()
            continue
        items = change(dict(cart.items))
        try:
            store.save_cart(user_id, items, cart.version)
        except CartLocked:
            raise checkout_in_progress() from None
        except Conflict:
            continue
        cart.items, cart.version = items, cart.version + 1
        return cart
    raise conflict("the cart is being changed concurrently; try again", code="cart_conflict")


def add_item(store, user_id, sku, quantity):
    product = store.get_product(sku)
    if product is None:
        raise bad_request(f"unknown sku '{sku}'; GET /products lists the catalogue", code="unknown_sku")

    def change(items):
        new_qty = items.get(sku, 0) + quantity
        if new_qty > validation.MAX_QUANTITY:
            raise bad_request(f"at most {validation.MAX_QUANTITY} of one product per cart")
        if sku not in items and len(items) >= validation.MAX_CART_LINES:
            raise bad_request(f"a cart holds at most {validation.MAX_CART_LINES} different products")
        if new_qty > product["stock"]:
            raise ApiError(409, "insufficient_stock",
                           f"only {product['stock']} of {sku} in stock", sku=sku,
                           available=product["stock"])
        items[sku] = new_qty
        return items

    return view(store, user_id, _modify(store, user_id, change))


def remove_item(store, user_id, sku):
    def change(items):
        if sku not in items:
            raise not_found(f"'{sku}' is not in your cart", code="not_in_cart")
        del items[sku]
        return items

    return view(store, user_id, _modify(store, user_id, change))
