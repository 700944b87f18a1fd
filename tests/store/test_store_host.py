"""The store under the built host binary: the whole flow and every failure path, in local
mode (`host --local`, a cold start per request) and in runtime mode (one warm host fed by
the test Runtime API server), on SQLite and on DynamoDB (dynalite); racing checkouts in
separate host processes; init refusing to start without a secret; the ready events."""

import json

import pytest

import rapi_server
import store_scenarios as sc
from conftest import SECRET
from store_client import PYHANDLERS, HostLocalClient, HostRuntimeClient, api_event

MODES = ["local", "runtime"]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def client(mode, host_bin, store_env):
    c = (HostLocalClient if mode == "local" else HostRuntimeClient)(host_bin, store_env)
    yield c
    c.close()


def emf_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            out.append(json.loads(line))
    return out


def test_happy_flow(client, mode):
    ctx = sc.happy_flow(client)
    logs = "\n".join(client.stderr) if mode == "local" else client.stdout_text()
    records = emf_lines(logs)
    assert [r["event"] for r in records] == ["sign_up", "order"], logs[-2000:]
    assert records[1]["orderId"] == ctx["order"]["order_id"] and records[1]["Outcome"] == "paid"
    if mode == "local":
        # local mode: stdout holds the results only; logs and EMF went to stderr
        assert all('"_aws"' not in out for out in client.stdout)
    # the logs (not the results, which carry the token to the client) hold no secret
    text = logs + ("" if mode == "local" else client.stderr_text())
    assert sc.PASSWORD not in text
    assert SECRET not in text
    assert ctx["token"] not in text


def test_failure_paths(client):
    sc.all_failure_paths(client, SECRET.encode())


def test_warm_batch_in_one_local_process(host_bin, store_env):
    """A .jsonl of events runs in one warm process: the store opened once, state kept."""
    c = HostLocalClient(host_bin, store_env)
    email = sc.new_email()
    creds = {"email": email, "password": sc.PASSWORD}
    results = c.run([api_event("POST", "/users", creds), api_event("POST", "/sessions", creds),
                     api_event("GET", "/products"), api_event("GET", "/nope")])
    assert [r["statusCode"] for r in results] == [201, 200, 200, 404]
    assert c.stderr[0].count("REPORT RequestId") == 4
    assert c.stderr[0].count("Init Duration") == 1


def _spawn_local(host_bin, store_env, event, tmp_path, name):
    path = tmp_path / (name + ".json")
    path.write_text(json.dumps(event))
    env = rapi_server.base_env()
    env.update(store_env)
    return rapi_server.spawn_host(host_bin, ["--local", str(path), "--handler", "store.handler",
                                             "--task-root", str(PYHANDLERS), "--timeout", "30"],
                                  env=env, cwd=str(PYHANDLERS))


def _buyers(host_bin, store_env, n, sku="LAMP-01"):
    c = HostLocalClient(host_bin, store_env)
    tokens = []
    for _ in range(n):
        token, _ = sc.sign_up(c)
        sc.expect(c.call("POST", "/cart/items", {"sku": sku}, token), 200)
        tokens.append(token)
    return c, tokens


def test_race_for_the_last_item_local(host_bin, store_env, store, tmp_path):
    """Two host processes check out the last lamp at the same moment: exactly one wins."""
    c, tokens = _buyers(host_bin, store_env, 2)
    store.put_product(dict(store.get_product("LAMP-01"), stock=1))
    procs = [_spawn_local(host_bin, store_env,
                          api_event("POST", "/orders", {"card_token": "tok_visa"}, t),
                          tmp_path, "order%d" % i) for i, t in enumerate(tokens)]
    results = []
    for p in procs:
        assert p.wait_exit(60) == 0, p.stderr_text()
        results.append(json.loads(p.stdout_text().strip()))
    statuses = sorted(r["statusCode"] for r in results)
    assert statuses == [201, 409], results
    loser = next(r for r in results if r["statusCode"] == 409)
    assert json.loads(loser["body"])["error"] == "insufficient_stock"
    assert sc.stock_of(c, "LAMP-01") == 0


def test_race_for_the_last_item_runtime(host_bin, store_env, store):
    """Two warm hosts polling one Runtime API get one checkout each: exactly one wins."""
    c, tokens = _buyers(host_bin, store_env, 2)
    store.put_product(dict(store.get_product("LAMP-01"), stock=1))
    srv = rapi_server.RuntimeAPIServer()
    try:
        procs = [rapi_server.start_host(host_bin, srv, str(PYHANDLERS), "store.handler", env=store_env)
                 for _ in range(2)]
        srv.wait_for_next_calls(2, timeout=30)   # both initialised and waiting
        rids = [srv.enqueue(api_event("POST", "/orders", {"card_token": "tok_visa"}, t)) for t in tokens]
        results = [srv.wait_for_result(rid, timeout=60).json() for rid in rids]
        statuses = sorted(r["statusCode"] for r in results)
        assert statuses == [201, 409], results
        for p in procs:
            p.kill_now()
    finally:
        srv.close()
    assert sc.stock_of(c, "LAMP-01") == 0


def test_deployed_without_secret_refuses_to_start(host_bin, store_env, rapi):
    env = dict(store_env, STORE_TOKEN_SECRET=None)
    proc = rapi_server.start_host(host_bin, rapi, str(PYHANDLERS), "store.handler", env=env)
    err = rapi.wait_for_init_error(timeout=30)
    doc = err.json()
    assert "STORE_TOKEN_SECRET is not set" in doc["errorMessage"], doc
    assert doc["errorType"].endswith("ConfigError"), doc
    proc.wait_exit(30)
    assert rapi.count("response") == 0


def test_local_mode_uses_dev_secret_with_a_warning(host_bin, store_env):
    env = dict(store_env)
    env.pop("STORE_TOKEN_SECRET")
    c = HostLocalClient(host_bin, env)
    token, _ = sc.sign_up(c)
    sc.expect(c.call("GET", "/cart", token=token), 200)
    err = "\n".join(c.stderr)
    assert "STORE_TOKEN_SECRET is not set" in err
    from shop.config import LOCAL_DEV_SECRET
    assert LOCAL_DEV_SECRET not in err and LOCAL_DEV_SECRET not in "\n".join(c.stdout)


def test_short_secret_refuses_to_start_locally(host_bin, store_env):
    proc = rapi_server.run_local(host_bin, ["--local", "-", "--handler", "store.handler",
                                            "--task-root", str(PYHANDLERS)],
                                 cwd=str(PYHANDLERS), env=dict(store_env, STORE_TOKEN_SECRET="short"),
                                 input=json.dumps(api_event("GET", "/products")).encode())
    assert proc.returncode == 2, proc
    assert b"STORE_TOKEN_SECRET is too short" in proc.stdout + proc.stderr
    assert b"short" not in proc.stderr.replace(b"too short", b"")


def test_create_table_on_first_use(host_bin, tmp_path, dynalite):
    """STORE_CREATE_TABLE=1: a brand-new table is created and seeded by the first cold start
    (DynamoDB only: SQLite always creates its schema)."""
    from conftest import store_env_for
    env = store_env_for("dynamodb", tmp_path, dynalite)
    env["STORE_CREATE_TABLE"] = "1"
    c = HostLocalClient(host_bin, env)
    products = sc.expect(c.call("GET", "/products"), 200)["products"]
    assert len(products) == 6


def test_hello(host_bin):
    def run(event):
        proc = rapi_server.run_local(host_bin, ["--local", "-", "--handler", "hello.lambda_handler",
                                                "--task-root", str(PYHANDLERS)],
                                     cwd=str(PYHANDLERS), input=json.dumps(event).encode())
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    ok = run({"name": "Ada"})
    assert ok["statusCode"] == 200 and json.loads(ok["body"]) == {"message": "Hello, Ada!"}
    for event in ({}, {"name": ""}, {"name": None}, {"name": 42}, []):
        res = run(event)
        assert res["statusCode"] == 400, (event, res)
        assert json.loads(res["body"])["error"] == "missing_name"
