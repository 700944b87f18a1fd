"""Set-up: create the storage and seed the catalogue. Idempotent: safe to run on every deploy.

    cd pyhandlers && STORE_TABLE=store python3 -m shop.setup        # DynamoDB table
    cd pyhandlers && STORE_DB_PATH=/tmp/s.db python3 -m shop.setup  # SQLite file

Uses the same settings as the handler (STORE_TABLE, STORE_DYNAMODB_ENDPOINT, STORE_DB_PATH).
A function can also do it on its first cold start with STORE_CREATE_TABLE=1.
"""

import os
import sys

from . import catalogue, config


def setup(settings):
    if settings.backend == "dynamodb":
        from .storage.dynamo_store import DynamoStore
        store = DynamoStore.from_settings(settings)
        store.ensure_schema()
        store.seed(catalogue.seed_products())
        return store
    from .storage.sqlite_store import SqliteStore
    return SqliteStore(settings.db_path)   # creates the schema and seeds on open


def main(argv=None):
    env = dict(os.environ)
    # set-up signs no tokens: it needs no secret
    if not env.get("STORE_TOKEN_SECRET"):
        env["STORE_TOKEN_SECRET"] = "x" * config.MIN_SECRET_LENGTH
    settings = config.load(env)
    store = setup(settings)
    where = settings.table if settings.backend == "dynamodb" else settings.db_path
    print(f"store set up: {settings.backend} {where}, {len(store.list_products())} products")
    return 0


if __name__ == "__main__":
    sys.exit(main())
