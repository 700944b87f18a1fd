"""The store's Lambda handler: an API Gateway HTTP API (payload v2) proxy integration.

    handler: store.handler   (store.lambda_handler is the same function)

Init (this import) reads the settings, refusing to start without a token secret outside
`host --local`, and opens the storage: the SQLite file, or a boto3 DynamoDB client (boto3 is
imported only then). Both are reused while the execution environment stays warm. See
README.md for routes and settings.
"""

from shop import config
from shop.app import App

app = App(config.load())
app.store  # open it during init, not in the first request


def handler(event, context):
    return app.handle(event, context)


lambda_handler = handler
