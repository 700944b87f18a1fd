#!/usr/bin/env python3
"""Fill the ${NAME} placeholders of an event file and print it (standard library only).

Events that need a bearer token or an order id carry "${TOKEN}" / "${ORDER_ID}", since
those are only known once the store has answered. Values come from NAME=VALUE arguments,
else from the environment; a placeholder left without a value is an error.

    TOKEN=$(host --local pyhandlers/events/login.json --handler store.handler \\
              --task-root pyhandlers | python3 pyhandlers/events/fill.py --get token)
    python3 pyhandlers/events/fill.py pyhandlers/events/cart.json TOKEN="$TOKEN" \\
      | host --local - --handler store.handler --task-root pyhandlers

`--get FIELD` reads a host result line on stdin and prints FIELD of its JSON body
(a dotted path such as order.order_id), so a shell can keep what a step returned.
"""

import json
import os
import re
import sys

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def fill(text, values):
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise SystemExit("fill.py: no value for " + ", ".join("${%s}" % m for m in missing)
                         + " (pass NAME=VALUE or set it in the environment)")
    # the values land inside JSON strings: escape them as JSON would
    return PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text)


def get(field, line):
    result = json.loads(line)
    doc = json.loads(result["body"]) if isinstance(result.get("body"), str) else result
    for part in field.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc if isinstance(doc, str) else json.dumps(doc)


def main(argv):
    if len(argv) == 2 and argv[0] == "--get":
        line = sys.stdin.readline()
        try:
            print(get(argv[1], line))
        except (ValueError, KeyError, IndexError, TypeError):
            raise SystemExit("fill.py: no %r in the result %s" % (argv[1], line.strip()[:300]))
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    path, assignments = argv[0], argv[1:]
    values = {k: v for k, v in os.environ.items() if re.fullmatch(r"[A-Z][A-Z0-9_]*", k)}
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep:
            raise SystemExit("fill.py: expected NAME=VALUE, got %r" % a)
        values[name] = value
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = fill(text, values)
    json.loads(out)   # still valid JSON
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
