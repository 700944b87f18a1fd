"""Storage: one interface (base.Store), two backends.

open_store(settings) picks SQLite (the embedded default) or, when STORE_TABLE is set,
DynamoDB; boto3 is imported only in the second case.
"""

from .base import (CartLocked, Conflict, EmailTaken, OutOfStock, Store,
                   StoreError)

__all__ = ["CartLocked", "Conflict", "EmailTaken", "OutOfStock", "Store", "StoreError",
           "open_store"]


def open_store(settings):
    if settings.backend == "dynamodb":
        from .dynamo_store import DynamoStore
        return DynamoStore.from_settings(settings)
    from .sqlite_store import SqliteStore
    return SqliteStore(settings.db_path)
