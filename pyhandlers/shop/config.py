"""Settings, all from the environment. Read once at init by store.py.

The token secret comes from STORE_TOKEN_SECRET, else from the SSM Parameter Store
SecureString named by STORE_TOKEN_SECRET_PARAM (read once at init, as template.yaml deploys
it). Without either, a deployed function refuses to start instead of signing tokens with a
known key; only under `host --local` (HOST_LOCAL=1) is a built-in development secret used.
"""

import os

from .errors import ConfigError

DEFAULT_DB_PATH = "/tmp/store.sqlite3"
DEFAULT_TOKEN_TTL = 3600
MIN_SECRET_LENGTH = 32
# Only ever used in local mode. Public on purpose: anything signed with it is worthless.
LOCAL_DEV_SECRET = "host-local-development-secret-not-for-deployment"


class Settings:
    __slots__ = ("token_secret", "token_ttl", "backend", "db_path", "table", "dynamodb_endpoint",
                 "create_table", "local", "metrics_namespace", "service")

    def __init__(self, token_secret, token_ttl=DEFAULT_TOKEN_TTL, backend="sqlite",
                 db_path=DEFAULT_DB_PATH, table="", dynamodb_endpoint="", create_table=False,
                 local=False, metrics_namespace="Store", service="store"):
        self.token_secret = token_secret            # bytes
        self.token_ttl = token_ttl                  # seconds
        self.backend = backend                      # "sqlite" or "dynamodb"
        self.db_path = db_path
        self.table = table
        self.dynamodb_endpoint = dynamodb_endpoint
        self.create_table = create_table
        self.local = local
        self.metrics_namespace = metrics_namespace
        self.service = service

    def __repr__(self):  # never show the secret, not even in a traceback or a debug print
        return (f"Settings(backend={self.backend!r}, db_path={self.db_path!r}, "
                f"table={self.table!r}, local={self.local}, token_ttl={self.token_ttl})")

    __str__ = __repr__


def _flag(value):
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def region(env):
    """AWS_REGION (which Lambda sets), else None: boto3's own resolution then applies
    (AWS_DEFAULT_REGION, the profile's region), and without any region it fails with its
    NoRegionError rather than working on a table in some default region."""
    return env.get("AWS_REGION") or None


def secret_from_ssm(name, env, client=None):
    """The value of the SecureString parameter `name`; ConfigError if it can't be read."""
    try:
        if client is None:
            import boto3   # only on this path: boto3 stays out of a SQLite function's init
            client = boto3.client("ssm", region_name=region(env))
        return client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except Exception as err:   # the message names the parameter, never a value
        raise ConfigError(f"could not read the token secret from SSM parameter {name!r} "
                          f"(STORE_TOKEN_SECRET_PARAM): {type(err).__name__}: {err}") from None


def load(environ=None, ssm_client=None):
    env = os.environ if environ is None else environ
    local = env.get("HOST_LOCAL") == "1"

    secret = env.get("STORE_TOKEN_SECRET", "")
    param = env.get("STORE_TOKEN_SECRET_PARAM", "").strip()
    if not secret and param:
        secret = secret_from_ssm(param, env, ssm_client)
        if not secret:
            raise ConfigError(f"SSM parameter {param!r} is empty")
    if not secret:
        if not local:
            raise ConfigError(
                "STORE_TOKEN_SECRET is not set: refusing to start. Set it to a random string of "
                f"at least {MIN_SECRET_LENGTH} characters, or STORE_TOKEN_SECRET_PARAM to the name "
                "of an SSM SecureString that holds one (a built-in development secret is only "
                "used under `host --local`).")
        # logging is imported only when there is something to log: it costs milliseconds,
        # and a deployed function (which always has a secret) logs nothing at init
        import logging
        logging.getLogger("store").warning(
            "STORE_TOKEN_SECRET is not set: local mode, signing tokens with the built-in "
            "development secret; tokens it signs are not secure")
        secret = LOCAL_DEV_SECRET
    elif len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"STORE_TOKEN_SECRET is too short: use at least {MIN_SECRET_LENGTH} "
                          "random characters")

    ttl_text = env.get("STORE_TOKEN_TTL_SECONDS", "") or str(DEFAULT_TOKEN_TTL)
    try:
        ttl = int(ttl_text)
    except ValueError:
        ttl = 0
    if not 1 <= ttl <= 30 * 86400:
        raise ConfigError("STORE_TOKEN_TTL_SECONDS must be a whole number of seconds "
                          "between 1 and 2592000")

    table = env.get("STORE_TABLE", "").strip()
    return Settings(
        token_secret=secret.encode(),
        token_ttl=ttl,
        backend="dynamodb" if table else "sqlite",
        db_path=env.get("STORE_DB_PATH", "") or DEFAULT_DB_PATH,
        table=table,
        dynamodb_endpoint=env.get("STORE_DYNAMODB_ENDPOINT", "").strip(),
        create_table=_flag(env.get("STORE_CREATE_TABLE")),
        local=local,
        metrics_namespace=env.get("STORE_METRICS_NAMESPACE", "") or "Store",
    )
