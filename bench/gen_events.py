"""Writes the large benchmark events: realistic nested JSON (records of dicts, lists, strings,
ints, floats, booleans, nulls, escaped characters), deterministic, compact as on the wire.
ASCII only, so every correct runtime's re-encoding equals the event modulo whitespace.

usage: gen_events.py OUT_DIR   -> OUT_DIR/event_1mb.json, OUT_DIR/event_5mb.json"""

import json
import os
import random
import sys

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu order item "
         "invoice customer shipping payment pending delivered refund warehouse").split()
CITIES = ["Berlin", "Lisbon", "Oslo", "Dublin", "Madrid", "Vienna", "Prague", "Warsaw"]


def record(rng, i):
    words = lambda n: " ".join(rng.choice(WORDS) for _ in range(n))
    return {
        "id": i,
        "uuid": "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                                 rng.getrandbits(12), rng.getrandbits(12),
                                                 rng.getrandbits(48)),
        "name": words(2).title(),
        "email": "%s.%s@example.com" % (rng.choice(WORDS), rng.choice(WORDS)),
        "active": rng.random() < 0.7,
        "score": round(rng.uniform(0, 100), 3),
        "balance": rng.randint(-100000, 10000000) / 100,
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 5))],
        "address": {
            "street": "%d %s Street" % (rng.randint(1, 999), rng.choice(WORDS).title()),
            "city": rng.choice(CITIES),
            "zip": "%05d" % rng.randint(0, 99999),
            "geo": {"lat": round(rng.uniform(-90, 90), 6), "lng": round(rng.uniform(-180, 180), 6)},
        },
        "orders": [
            {"sku": "SKU-%06d" % rng.randint(0, 999999), "qty": rng.randint(1, 9),
             "price": round(rng.uniform(1, 500), 2), "gift": rng.random() < 0.1}
            for _ in range(rng.randint(0, 4))
        ],
        "notes": words(rng.randint(3, 12)) + ("\n\t\"quoted\" \\ path/x" if rng.random() < 0.3 else ""),
        "parent": None if rng.random() < 0.5 else rng.randint(0, i + 1),
        "ratio": rng.random() * 10 ** rng.randint(-8, 8),
    }


def build(size, seed):
    rng = random.Random(seed)
    records, total, i = [], 0, 0
    while total < size - 200:
        r = record(rng, i)
        total += len(json.dumps(r, separators=(",", ":"))) + 1
        records.append(r)
        i += 1
    return {"source": "bench", "version": 3, "generatedBy": "gen_events.py",
            "count": len(records), "records": records}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, size, seed in (("event_1mb.json", 1 << 20, 1), ("event_5mb.json", 5 << 20, 5)):
        doc = build(size, seed)
        data = json.dumps(doc, separators=(",", ":"))
        assert data.isascii()
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
