"""The seeded catalogue: a few goods with prices in cents and a starting stock.

Seeding never overwrites a product that is already there, so re-running set-up does not
reset stock that orders have used.
"""

CURRENCY = "USD"

PRODUCTS = [
    {"sku": "MUG-001", "name": "Lambda mug", "price_cents": 1200, "stock": 50,
     "description": "A 350 ml stoneware mug with the lambda logo."},
    {"sku": "TEE-001", "name": "Serverless T-shirt", "price_cents": 2500, "stock": 30,
     "description": "Organic cotton, 'There is no server' on the back."},
    {"sku": "STICKER-01", "name": "Sticker pack", "price_cents": 500, "stock": 200,
     "description": "Ten vinyl stickers for a laptop that deploys on Fridays."},
    {"sku": "HOODIE-01", "name": "Cold-start hoodie", "price_cents": 4900, "stock": 10,
     "description": "For the first request of the morning."},
    {"sku": "BOOK-001", "name": "Event-driven design", "price_cents": 3900, "stock": 15,
     "description": "A paperback on queues, streams and handlers."},
    {"sku": "LAMP-01", "name": "Warm-start desk lamp", "price_cents": 7900, "stock": 3,
     "description": "Limited run: stays warm between invocations."},
]


def seed_products():
    return [dict(p, currency=CURRENCY) for p in PRODUCTS]
