"""The store under `host local start-api` on the repository's own template.yaml: the whole
flow and its failure paths over real HTTP (http.client), a curl session, and API Gateway's
own answer for a route the template does not have."""

import http.client
import json
import subprocess
import sys

import pytest

import store_scenarios as sc
from store_client import REPO, Client, Resp

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from sam_helpers import Server  # noqa: E402


@pytest.fixture
def api(host_bin, tmp_path):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"StoreFunction": {
        "STORE_TABLE": "", "STORE_TOKEN_SECRET_PARAM": "",
        "STORE_DB_PATH": str(tmp_path / "store.sqlite3")}}))
    s = Server(host_bin, "start-api", "-t", str(REPO / "template.yaml"), "--env-vars", str(env_file),
               cwd=str(tmp_path))
    yield s
    s.stop()


class StartApiClient(Client):
    name = "start-api"

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, token=None, headers=None, raw_body=None):
        hdrs = {"content-type": "application/json", "user-agent": "store-tests"}
        if token:
            hdrs["authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        self.conn.request(method, path, body=data, headers=hdrs)
        r = self.conn.getresponse()
        text = r.read().decode()
        return Resp({"statusCode": r.status, "headers": {k.lower(): v for k, v in r.getheaders()},
                     "body": text})


def test_whole_flow_over_http(api):
    c = StartApiClient(api.port)
    sc.happy_flow(c)
    sc.bad_input(c)
    sc.cart_failures(c)
    sc.declined_card(c)
    sc.idempotent_retry(c)
    assert api.log.count("START RequestId") >= 40
    assert "Memory Size: 512 MB" in api.log


def test_unknown_route_is_api_gateways_404(api):
    r = StartApiClient(api.port).call("GET", "/nope")
    assert r.status == 404 and r.json == {"message": "Not Found"}


def test_curl_session(api):
    def curl(*args):
        p = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}", *args], capture_output=True,
                           text=True, timeout=60)
        body, _, status = p.stdout.rpartition("\n")
        return int(status), json.loads(body) if body else None

    creds = json.dumps({"email": "curl@example.com", "password": sc.PASSWORD})
    assert curl("-X", "POST", api.url + "/users", "-H", "content-type: application/json", "-d", creds)[0] == 201
    status, doc = curl("-X", "POST", api.url + "/sessions", "-d", creds)
    assert status == 200
    auth = "authorization: Bearer " + doc["token"]
    status, doc = curl("-X", "POST", api.url + "/cart/items", "-H", auth, "-d", '{"sku": "MUG-001"}')
    assert status == 200 and doc["cart"]["item_count"] == 1
    status, doc = curl("-X", "DELETE", api.url + "/cart/items/MUG-001", "-H", auth)
    assert status == 200 and doc["cart"]["items"] == []
    status, doc = curl(api.url + "/hello?name=Curl")
    assert status == 200 and doc == {"message": "Hello, Curl!"}


def test_order_events_stream_through_the_function_url(host_bin, tmp_path):
    """template.yaml's OrderEventsFunction (FunctionUrlConfig, InvokeMode RESPONSE_STREAM)
    under /OrderEventsFunction/: its server-sent events come chunked, with its headers."""
    env = {"STORE_TABLE": "", "STORE_TOKEN_SECRET_PARAM": "", "STORE_DB_PATH": str(tmp_path / "store.sqlite3")}
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"StoreFunction": env, "OrderEventsFunction": env}))
    s = Server(host_bin, "start-api", "-t", str(REPO / "template.yaml"), "--env-vars", str(env_file),
               cwd=str(tmp_path))
    try:
        c = StartApiClient(s.port)
        token, _ = sc.sign_up(c)
        sc.expect(c.call("POST", "/cart/items", {"sku": "MUG-001"}, token), 200)
        order = sc.expect(c.call("POST", "/orders", {"card_token": "tok_visa"}, token), 201)["order"]
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        conn.request("GET", "/OrderEventsFunction/orders/%s/events" % order["order_id"],
                     headers={"authorization": "Bearer " + token})
        r = conn.getresponse()
        assert r.status == 200, (r.read(), s.log)
        assert r.getheader("Content-Type").startswith("text/event-stream")
        assert r.getheader("Transfer-Encoding") == "chunked"
        body = r.read().decode()
        assert body.startswith("retry: ") and "event: order" in body and "event: end" in body
        assert order["order_id"] in body
    finally:
        s.stop()
