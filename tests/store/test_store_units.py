"""Unit tests of the shop package's pieces: tokens, passwords, validation, settings, the
HTTP layer, metrics, payments, and the hello handler. No storage, no host."""

import base64
import hashlib
import io
import json
import logging
import time

import pytest

from shop import config, http, passwords, tokens, validation
from shop.errors import ApiError, ConfigError
from shop.metrics import Metrics
from shop.payments import OfflineTestProvider

SECRET = b"k" * 40


# --- tokens ----------------------------------------------------------------------------

def test_token_round_trip():
    token, claims = tokens.issue(SECRET, "usr_1", "a@b.co", 60, now=1000)
    assert claims == {"iss": "store", "sub": "usr_1", "email": "a@b.co", "iat": 1000, "exp": 1060}
    assert tokens.verify(SECRET, token, now=1059) == claims
    header = json.loads(tokens._b64d(token.split(".")[0]))
    assert header == {"alg": "HS256", "typ": "JWT"}


def test_token_is_a_standard_hs256_jwt():
    import hmac
    token, _ = tokens.issue(SECRET, "usr_1", "a@b.co", 60)
    h, p, s = token.split(".")
    expected = hmac.new(SECRET, f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert tokens._b64d(s) == expected


def test_token_expiry():
    token, _ = tokens.issue(SECRET, "usr_1", "a@b.co", 60, now=1000)
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(SECRET, token, now=1060)


@pytest.mark.parametrize("mangle", [
    lambda t: t + "x",
    lambda t: ".".join(t.split(".")[:2]),
    lambda t: "a.b.c",
    lambda t: "",
    lambda t: t.replace(t.split(".")[1], tokens._b64e(b'{"sub":"usr_2","iss":"store","exp":9999999999}')),
])
def test_token_tampering(mangle):
    token, _ = tokens.issue(SECRET, "usr_1", "a@b.co", 60)
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, mangle(token))


def test_token_rejects_alg_none_and_other_keys():
    token, claims = tokens.issue(SECRET, "usr_1", "a@b.co", 60)
    none = tokens._b64e(b'{"alg":"none","typ":"JWT"}') + "." + token.split(".")[1] + "."
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, none)
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify(b"z" * 40, token)


# --- passwords -------------------------------------------------------------------------

def test_password_hash_is_salted_scrypt():
    a = passwords.hash_password("correct horse")
    b = passwords.hash_password("correct horse")
    assert a != b                                  # per-user salt
    scheme, n, r, p, salt, key = a.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2 ** 14), "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(key)) == 32
    assert hashlib.scrypt(b"correct horse", salt=base64.b64decode(salt), n=2 ** 14, r=8, p=1,
                          dklen=32) == base64.b64decode(key)
    assert "correct horse" not in a
    assert passwords.verify_password("correct horse", a)
    assert not passwords.verify_password("correct horsf", a)


@pytest.mark.parametrize("stored", ["", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA==$AA=="])
def test_password_verify_garbage(stored):
    assert passwords.verify_password("pw", stored) is False


# --- validation ------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("ada@example.com", "ada@example.com"), ("  Ada.L+shop@Example.COM ", "ada.l+shop@example.com"),
])
def test_email_ok(value, expected):
    assert validation.email(value) == expected


@pytest.mark.parametrize("value", ["", "ada", "ada@", "@example.com", "ada@example", "a b@c.de",
                                   "ada@ex ample.com", 42, None, ["a@b.co"], "a" * 250 + "@b.co"])
def test_email_bad(value):
    with pytest.raises(ApiError) as e:
        validation.email(value)
    assert e.value.status == 400 and "email" in e.value.message


def test_password_rules():
    assert validation.password("12345678") == "12345678"
    for bad in ("1234567", "x" * 129, None, 12345678):
        with pytest.raises(ApiError):
            validation.password(bad)


def test_sku_quantity_card_key_order_id():
    assert validation.sku("MUG-001") == "MUG-001"
    for bad in ("mug-001", "", "-X", "A" * 33, "A/B", 1, "MUG 001"):
        with pytest.raises(ApiError):
            validation.sku(bad)
    assert validation.quantity(99) == 99
    for bad in (0, 100, -3, 1.0, "1", True, None):
        with pytest.raises(ApiError):
            validation.quantity(bad)
    assert validation.card_token("tok_visa") == "tok_visa"
    for bad in ("visa", "tok_", "tok_a b", None, "tok_" + "a" * 65):
        with pytest.raises(ApiError):
            validation.card_token(bad)
    assert validation.idempotency_key(None) is None
    assert validation.idempotency_key("order-2024:01.a_b") == "order-2024:01.a_b"
    for bad in ("", "a b", "x" * 129, "ü"):
        with pytest.raises(ApiError):
            validation.idempotency_key(bad)
    assert validation.order_id("ord_" + "a1" * 13)
    for bad in ("ord_x", "ORD_" + "a" * 26, "1; DROP TABLE orders"):
        with pytest.raises(ApiError):
            validation.order_id(bad)


def test_body_object():
    assert validation.body_object({"a": 1}, ("a", "b"), required=("a",)) == {"a": 1}
    with pytest.raises(ApiError, match="unknown field 'c'"):
        validation.body_object({"a": 1, "c": 2}, ("a", "b"))
    with pytest.raises(ApiError, match="'a' is required"):
        validation.body_object({"b": 1}, ("a", "b"), required=("a",))
    with pytest.raises(ApiError, match="'a' is required"):
        validation.body_object({"a": None}, ("a",), required=("a",))
    for bad in ([], "x", 1, None):
        with pytest.raises(ApiError, match="JSON object"):
            validation.body_object(bad, ("a",))


# --- settings --------------------------------------------------------------------------

def test_settings_deployed_needs_a_secret():
    with pytest.raises(ConfigError, match="STORE_TOKEN_SECRET is not set"):
        config.load({})
    with pytest.raises(ConfigError, match="too short"):
        config.load({"STORE_TOKEN_SECRET": "short"})
    s = config.load({"STORE_TOKEN_SECRET": "s" * 32})
    assert s.token_secret == b"s" * 32 and not s.local and s.backend == "sqlite"
    assert s.db_path == "/tmp/store.sqlite3" and s.token_ttl == 3600


def test_settings_local_mode_dev_secret(caplog):
    with caplog.at_level(logging.WARNING, logger="store"):
        s = config.load({"HOST_LOCAL": "1"})
    assert s.local and s.token_secret == config.LOCAL_DEV_SECRET.encode()
    assert "STORE_TOKEN_SECRET is not set" in caplog.text
    assert config.LOCAL_DEV_SECRET not in caplog.text
    assert config.load({"HOST_LOCAL": "0", "STORE_TOKEN_SECRET": "s" * 32}).local is False


def test_settings_backend_and_values():
    s = config.load({"STORE_TOKEN_SECRET": "s" * 32, "STORE_TABLE": "shop",
                     "STORE_DYNAMODB_ENDPOINT": "http://127.0.0.1:1", "STORE_CREATE_TABLE": "true",
                     "STORE_TOKEN_TTL_SECONDS": "120", "STORE_DB_PATH": "/tmp/x.db"})
    assert (s.backend, s.table, s.dynamodb_endpoint, s.create_table, s.token_ttl) == \
        ("dynamodb", "shop", "http://127.0.0.1:1", True, 120)
    for ttl in ("0", "-5", "abc", "99999999"):
        with pytest.raises(ConfigError, match="STORE_TOKEN_TTL_SECONDS"):
            config.load({"STORE_TOKEN_SECRET": "s" * 32, "STORE_TOKEN_TTL_SECONDS": ttl})


def test_settings_never_show_the_secret():
    s = config.load({"STORE_TOKEN_SECRET": "topsecret" * 4})
    assert "topsecret" not in repr(s) and "topsecret" not in str(s) and "topsecret" not in f"{s}"


def test_handler_import_is_cheap_and_refuses_without_secret(tmp_path):
    """Importing store.py opens the SQLite store without loading boto3, creates a DynamoDB
    client (no request yet) when STORE_TABLE is set, and fails init without a secret."""
    import subprocess
    import sys
    from store_client import PYHANDLERS
    code = "import sys, store; print('boto3' in sys.modules, store.app.store.backend)"
    env = {"PATH": "/usr/bin:/bin", "STORE_TOKEN_SECRET": "s" * 32,
           "STORE_DB_PATH": str(tmp_path / "x.db")}
    out = subprocess.run([sys.executable, "-c", code], cwd=PYHANDLERS, env=env,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["False", "sqlite"], out
    assert (tmp_path / "x.db").exists()
    dyn = dict(env, STORE_TABLE="t-never-called", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
               AWS_REGION="eu-west-1",   # as Lambda sets it
               STORE_DYNAMODB_ENDPOINT="http://127.0.0.1:9")   # nothing listens: no call is made
    out = subprocess.run([sys.executable, "-c", code], cwd=PYHANDLERS, env=dyn,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["True", "dynamodb"], out
    del env["STORE_TOKEN_SECRET"]
    out = subprocess.run([sys.executable, "-c", "import store"], cwd=PYHANDLERS, env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "ConfigError: STORE_TOKEN_SECRET is not set" in out.stderr


# --- http --------------------------------------------------------------------------------

def test_response_shape():
    r = http.response(201, {"a": 1}, {"x-y": "z"})
    assert r == {"statusCode": 201, "headers": {"content-type": "application/json", "x-y": "z"},
                 "body": '{"a":1}', "isBase64Encoded": False}


def test_parse_event_v2_and_v1():
    from store_client import api_event
    ev = api_event("post", "/cart/items/", {"sku": "MUG-001"}, token="t", headers={"X-Mixed": "1"})
    req = http.parse_event(ev)
    assert (req.method, req.path, req.header("Authorization"), req.header("x-mixed")) == \
        ("POST", "/cart/items", "Bearer t", "1")
    assert req.json() == {"sku": "MUG-001"}
    v1 = {"httpMethod": "DELETE", "path": "/cart/items/X", "headers": {"Authorization": "Bearer q"}}
    req = http.parse_event(v1)
    assert (req.method, req.path, req.header("authorization")) == ("DELETE", "/cart/items/X", "Bearer q")


def test_router_404_405():
    r = http.Router()
    r.route("GET", "/a/{id}")(lambda app, req: None)
    r.route("POST", "/a/{id}")(lambda app, req: None)
    req = http.Request("GET", "/a/7", {}, {}, b"", "")
    func, auth, params = r.match(req)
    assert params == {"id": "7"} and auth is True
    with pytest.raises(ApiError) as e:
        r.match(http.Request("PUT", "/a/7", {}, {}, b"", ""))
    assert e.value.status == 405 and e.value.headers == {"allow": "GET, POST"}
    with pytest.raises(ApiError) as e:
        r.match(http.Request("GET", "/a/7/b", {}, {}, b"", ""))
    assert e.value.status == 404


# --- metrics -----------------------------------------------------------------------------

def test_emf_record_format():
    out = io.StringIO()
    m = Metrics(namespace="Shop", stream=out)
    m.order({"order_id": "ord_1", "user_id": "usr_1", "currency": "USD", "total_cents": 1999,
             "lines": [{"quantity": 2}, {"quantity": 1}]}, "paid", "req-1")
    m.sign_up("usr_2")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    order, signup = (json.loads(l) for l in lines)
    aws = order["_aws"]
    assert isinstance(aws["Timestamp"], int) and abs(aws["Timestamp"] / 1000 - time.time()) < 60
    directive = aws["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Shop"
    assert directive["Dimensions"] == [["Service", "Outcome"]]
    assert directive["Metrics"] == [{"Name": "Orders", "Unit": "Count"},
                                    {"Name": "OrderValue", "Unit": "None"},
                                    {"Name": "ItemsSold", "Unit": "Count"}]
    # every declared dimension and metric is a top-level member (the EMF rule)
    assert order["Service"] == "store" and order["Outcome"] == "paid"
    assert (order["Orders"], order["OrderValue"], order["ItemsSold"]) == (1, 19.99, 3)
    assert order["orderId"] == "ord_1" and order["requestId"] == "req-1"
    assert signup["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service"]]
    assert signup["SignUps"] == 1


# --- payments ----------------------------------------------------------------------------

def test_offline_provider_is_deterministic_and_idempotent():
    p = OfflineTestProvider()
    kw = dict(amount_cents=500, currency="USD", idempotency_key="ord_a")
    first = p.charge(card_token="tok_visa", **kw)
    assert first.approved and first.charge_id.startswith("ch_") and first.brand == "visa"
    assert p.charge(card_token="tok_visa", **kw) == first
    assert len(p.ledger) == 1 and p.calls == 2
    assert OfflineTestProvider().charge(card_token="tok_visa", **kw) == first   # deterministic
    d = p.charge(amount_cents=500, currency="USD", card_token="tok_chargeDeclinedExpiredCard",
                 idempotency_key="ord_b")
    assert not d.approved and d.decline_code == "expired_card" and not d.charge_id
    assert p.supports("tok_mastercard") and p.supports("tok_chargeDeclined")
    assert not p.supports("tok_unknown")


# --- hello ---------------------------------------------------------------------------------

def test_hello_handler():
    import hello
    ok = hello.lambda_handler({"name": "Ada"}, None)
    assert ok["statusCode"] == 200 and json.loads(ok["body"]) == {"message": "Hello, Ada!"}
    assert json.loads(hello.lambda_handler({"queryStringParameters": {"name": "Bo"}}, None)["body"]) \
        == {"message": "Hello, Bo!"}
    assert json.loads(hello.lambda_handler({"body": '{"name": "Cy"}'}, None)["body"]) \
        == {"message": "Hello, Cy!"}
    for event in ({}, {"name": ""}, {"name": "  "}, {"name": None}, {"name": 5}, [], None, "x",
                  {"body": "{bad"}):
        res = hello.lambda_handler(event, None)
        assert res["statusCode"] == 400, event
        assert json.loads(res["body"])["error"] == "missing_name"
    assert hello.lambda_handler({"name": "x" * 101}, None)["statusCode"] == 400


class FakeSSM:
    def __init__(self, value=None, error=None):
        self.value, self.error, self.calls = value, error, []

    def get_parameter(self, Name, WithDecryption):
        self.calls.append((Name, WithDecryption))
        if self.error:
            raise self.error
        return {"Parameter": {"Name": Name, "Type": "SecureString", "Value": self.value}}


def test_secret_from_ssm_parameter():
    ssm = FakeSSM("p" * 48)
    s = config.load({"STORE_TOKEN_SECRET_PARAM": "/host-store/token-secret"}, ssm_client=ssm)
    assert s.token_secret == b"p" * 48
    assert ssm.calls == [("/host-store/token-secret", True)]
    # an explicit STORE_TOKEN_SECRET wins and SSM is not asked
    ssm = FakeSSM("p" * 48)
    assert config.load({"STORE_TOKEN_SECRET": "e" * 32, "STORE_TOKEN_SECRET_PARAM": "/x"},
                       ssm_client=ssm).token_secret == b"e" * 32
    assert ssm.calls == []


def test_secret_from_ssm_failures_refuse_to_start():
    with pytest.raises(ConfigError, match="could not read the token secret from SSM parameter '/x'"):
        config.load({"STORE_TOKEN_SECRET_PARAM": "/x"},
                    ssm_client=FakeSSM(error=RuntimeError("ParameterNotFound")))
    with pytest.raises(ConfigError, match="too short"):
        config.load({"STORE_TOKEN_SECRET_PARAM": "/x"}, ssm_client=FakeSSM("tiny"))
    with pytest.raises(ConfigError, match="empty"):
        config.load({"STORE_TOKEN_SECRET_PARAM": "/x"}, ssm_client=FakeSSM(""))
    # even in local mode a named parameter that can't be read is an error, not a silent fallback
    with pytest.raises(ConfigError):
        config.load({"HOST_LOCAL": "1", "STORE_TOKEN_SECRET_PARAM": "/x"},
                    ssm_client=FakeSSM(error=RuntimeError("AccessDenied")))


# --- region: boto3's own resolution, no hard-coded fallback (issue 8, item 6) -------------

def _dynamo_region(monkeypatch, tmp_path, env, config_text=None):
    import boto3
    from shop.storage.dynamo_store import DynamoStore
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # re-reads the environment
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    cfg = tmp_path / "config"
    cfg.write_text(config_text or "")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = config.load({"STORE_TABLE": "t", "STORE_TOKEN_SECRET": "x" * 40})
    return DynamoStore.from_settings(settings).client.meta.region_name


def test_store_region_follows_lambda_then_boto3(monkeypatch, tmp_path):
    assert _dynamo_region(monkeypatch, tmp_path, {"AWS_REGION": "eu-west-3",
                                                  "AWS_DEFAULT_REGION": "us-west-2"}) == "eu-west-3"
    assert _dynamo_region(monkeypatch, tmp_path, {"AWS_DEFAULT_REGION": "ap-south-1"}) == "ap-south-1"
    assert _dynamo_region(monkeypatch, tmp_path, {"AWS_PROFILE": "p"},
                          "[profile p]\nregion = ca-central-1\n") == "ca-central-1"


def test_store_without_any_region_fails_clearly(monkeypatch, tmp_path):
    import botocore.exceptions
    with pytest.raises(botocore.exceptions.NoRegionError):
        _dynamo_region(monkeypatch, tmp_path, {})
