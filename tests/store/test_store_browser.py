"""The store's web page in headless Chromium (Debian's chromium + chromium-driver), served by
the store's own GET / route under `host local start-api` on the repository's template.yaml
and SQLite: register, log in, add to the cart, pay, see the order and its streamed status."""

import json
import sys

import pytest

from store_client import REPO
from webdriver import Browser

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from sam_helpers import Server  # noqa: E402


@pytest.fixture
def api(host_bin, tmp_path):
    env_file = tmp_path / "env.json"
    env = {"STORE_TABLE": "", "STORE_TOKEN_SECRET_PARAM": "", "STORE_DB_PATH": str(tmp_path / "s.sqlite3")}
    env_file.write_text(json.dumps({"StoreFunction": env, "OrderEventsFunction": env}))
    s = Server(host_bin, "start-api", "-t", str(REPO / "template.yaml"), "--env-vars", str(env_file),
               cwd=str(tmp_path))
    yield s
    s.stop()


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.quit()


def test_register_login_cart_pay(api, browser):
    browser.get(api.url + "/")
    browser.wait_text("#products", "MUG-001")
    browser.type("#email", "browser@example.com")
    browser.type("#password", "correct-horse-battery")
    browser.click("#register")
    browser.wait_text("#status", "Registered browser@example.com")
    browser.click("#login")
    browser.wait_text("#status", "Welcome, browser@example.com")
    browser.click("button.add[data-sku='MUG-001']")
    browser.wait_text("#cart", "1 x Lambda mug")
    browser.click("button.add[data-sku='MUG-001']")
    browser.wait_text("#cart", "2 x Lambda mug")
    assert browser.text("#cart-total") == "24.00"
    browser.click("#pay")
    browser.wait_text("#status", "paid")
    assert browser.text("#orders").endswith("paid, 24.00")
    assert browser.find_all("#cart li") == []
    # the order's status, streamed by the order-events function and read by the page
    browser.wait_text("#order-events", "event: end")
    events = browser.text("#order-events")
    assert events.startswith("event: order") and '"status":"paid"' in events
    browser.wait_text("#products", "Lambda mug (MUG-001)")
    assert api.log.count("START RequestId") >= 8


def test_wrong_password_is_shown(api, browser):
    browser.get(api.url + "/")
    browser.wait_text("#products", "MUG-001")
    browser.type("#email", "nobody@example.com")
    browser.type("#password", "not-the-password")
    browser.click("#login")
    browser.wait_text("#status", "invalid")
