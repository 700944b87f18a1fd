"""In-process cost of CPython's json.loads + json.dumps on a payload: the work any Python
runtime must do to echo it, with no I/O. timeit-style: `repeat` rounds of `number` calls each,
the median round per call. json.loads gets the bytes as read from the wire (it decodes them).

usage: json_cost.py [--repeat R] FILE... -> one JSON line per file"""

import json
import statistics
import sys
import time


def cost(data, repeat):
    loads, dumps = json.loads, json.dumps
    t0 = time.perf_counter()
    dumps(loads(data))
    one = time.perf_counter() - t0
    number = max(1, int(0.05 / max(one, 1e-9)))  # about 50 ms a round
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            dumps(loads(data))
        rounds.append((time.perf_counter() - t0) / number)
    loads_only = []
    for _ in range(repeat // 2 + 1):
        t0 = time.perf_counter()
        for _ in range(number):
            loads(data)
        loads_only.append((time.perf_counter() - t0) / number)
    return statistics.median(rounds), statistics.median(loads_only), number


def main():
    args = sys.argv[1:]
    repeat = 7
    if args[:1] == ["--repeat"]:
        repeat = int(args[1])
        args = args[2:]
    for path in args:
        with open(path, "rb") as f:
            data = f.read().rstrip(b"\r\n")
        total, loads_s, number = cost(data, repeat)
        print(json.dumps({"file": path, "bytes": len(data), "loads_dumps_us": round(total * 1e6, 1),
                          "loads_us": round(loads_s * 1e6, 1), "number": number, "repeat": repeat}))


if __name__ == "__main__":
    main()
