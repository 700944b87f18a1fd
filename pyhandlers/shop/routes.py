"""The HTTP API: each route validates its input, calls a use case, and shapes the answer.

    POST   /users              register {email, password}                  201
    POST   /sessions           log in {email, password} -> token           200
    GET    /products           the catalogue                               200
    GET    /cart               your cart                                   200
    POST   /cart/items         add {sku, quantity}                         200
    DELETE /cart/items/{sku}   remove a product from your cart             200
    POST   /orders             check out and pay {card_token}              201 (402 declined)
    GET    /orders             your orders, newest first                   200
    GET    /orders/{id}        one of your orders                          200
    GET    /                   the web page (static/index.html)            200
"""

import html
import os

from . import accounts, carts, orders, validation
from .http import Page, Router

router = Router()

PAGE_PATH = os.path.join(os.path.dirname(__file__), "static", "index.html")
PAGE_HEADERS = {"content-type": "text/html; charset=utf-8", "cache-control": "no-cache"}


@router.route("GET", "/", auth=False)
def web_page(app, req):
    # read per request: a small file, and an edited page shows on the next reload
    with open(PAGE_PATH, encoding="utf-8") as f:
        page = f.read()
    # where the page reads the order-events stream: the deployed function URL (without its
    # trailing slash), else host local's /OrderEventsFunction on the same server
    events_url = html.escape(os.environ.get("ORDER_EVENTS_URL", "").rstrip("/"), quote=True)
    return 200, Page(page.replace("{{ORDER_EVENTS_URL}}", events_url)), PAGE_HEADERS

PRODUCT_KEYS = ("sku", "name", "description", "price_cents", "currency", "stock")


@router.route("POST", "/users", auth=False)
def register(app, req):
    body = validation.body_object(req.json(), ("email", "password"), required=("email", "password"))
    email = validation.email(body["email"])
    password = validation.password(body["password"])
    user = accounts.register(app.store, email, password, app.now_ms())
    app.metrics.sign_up(user["user_id"], req.request_id)
    return 201, {"user": accounts.public_user(user)}


@router.route("POST", "/sessions", auth=False)
def login(app, req):
    body = validation.body_object(req.json(), ("email", "password"), required=("email", "password"))
    email = validation.email(body["email"])
    if not isinstance(body["password"], str) or not body["password"]:
        raise validation.bad_request("'password' must be a non-empty string")
    return 200, accounts.login(app.store, app.settings, email, body["password"], now=app.now())


@router.route("GET", "/products", auth=False)
def products(app, req):
    return 200, {"products": [{k: p[k] for k in PRODUCT_KEYS} for p in app.store.list_products()]}


@router.route("GET", "/cart")
def get_cart(app, req):
    return 200, {"cart": carts.view(app.store, req.user["sub"])}


@router.route("POST", "/cart/items")
def add_to_cart(app, req):
    body = validation.body_object(req.json(), ("sku", "quantity"), required=("sku",))
    sku = validation.sku(body["sku"])
    quantity = validation.quantity(body.get("quantity", 1))
    return 200, {"cart": carts.add_item(app.store, req.user["sub"], sku, quantity)}


@router.route("DELETE", "/cart/items/{sku}")
def remove_from_cart(app, req):
    sku = validation.sku(req.path_params["sku"])
    return 200, {"cart": carts.remove_item(app.store, req.user["sub"], sku)}


@router.route("POST", "/orders")
def place_order(app, req):
    body = validation.body_object(req.json(), ("card_token",), required=("card_token",))
    token = validation.card_token(body["card_token"])
    key = validation.idempotency_key(req.header("idempotency-key"))
    return orders.checkout(app, req.user["sub"], token, key, req.request_id)


@router.route("GET", "/orders")
def list_orders(app, req):
    return 200, {"orders": orders.list_for(app.store, req.user["sub"])}


@router.route("GET", "/orders/{order_id}")
def get_order(app, req):
    order_id = validation.order_id(req.path_params["order_id"])
    return 200, {"order": orders.get(app.store, req.user["sub"], order_id)}
