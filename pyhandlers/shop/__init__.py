"""The store's application code: an online shop served by one Lambda handler (store.py).

Modules, one concern each:
  config      settings read from the environment (and the refusal to start without a secret)
  errors      ApiError: an error that becomes a proxy response with a status and a message
  http        API Gateway proxy events in, proxy responses out, and the router
  validation  checks for every input field, each failing with 400 and a clear message
  passwords   scrypt password hashing with a per-user salt
  tokens      HMAC-SHA256 signed, expiring bearer tokens (JWT, HS256)
  catalogue   the seeded products
  payments    the payment provider interface and the offline test-card provider
  metrics     CloudWatch Embedded Metric Format records
  storage     the storage interface and its SQLite and DynamoDB backends
  accounts, carts, orders   the use cases; routes maps HTTP routes onto them
  app         ties it together: App.handle(event, context)
  setup       `python3 -m shop.setup`: creates the DynamoDB table / SQLite schema and seeds it
"""
