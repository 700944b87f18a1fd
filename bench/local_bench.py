"""`host local start-api` benchmarks: request overhead (p50/p99 at 1 and 16 concurrent
clients), requests/s with 4 workers, and the first request of a started server, beside the
same handler run directly by host (`host --local`, and runtime mode via rapi_bench_server).

    python3 local_bench.py --host /abs/build/host [--quick]

Clients are http_load.c's threads (HTTP/1.1 keep-alive, one connection each; Python http.client
processes if it is not built), on the same machine as the server. Prints a Markdown table and writes it to build/local.md."""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")

ECHO = '''
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": event["rawPath"]}
def noop(event, context):
    return {"ok": True}
'''

TEMPLATE = '''
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: app.handler
      Runtime: python3.11
      Events:
        Echo: {Type: HttpApi, Properties: {Method: GET, Path: /echo}}
  Noop:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: app.noop
      Runtime: python3.11
      Events:
        Noop: {Type: HttpApi, Properties: {Method: GET, Path: /noop}}
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(host, root, *args):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([host, "local", "start-api", "-p", str(port), "--no-watch", *args], cwd=root,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "listening on" in line:
            break
    listening = time.monotonic() - t0
    # keep draining the log so the server never blocks on a full pipe
    import threading
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p, port, listening


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def client(args):
    port, path, n, warm = args
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat = []
    for i in range(n + warm):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("status %d" % r.status)
        if i >= warm:
            lat.append(time.perf_counter() - t)
    return lat


def load(port, path, clients, n, warm):
    tool = os.path.join(BUILD, "http_load")
    if os.path.exists(tool):  # the C client: its own cost stays out of the figures
        p = subprocess.run([tool, str(port), path, str(clients), str(n), str(warm)], capture_output=True,
                           text=True, timeout=600)
        return json.loads(p.stdout)
    with multiprocessing.Pool(clients) as pool:
        t0 = time.perf_counter()
        parts = pool.map(client, [(port, path, n, warm)] * clients)
        wall = time.perf_counter() - t0
    lat = sorted(x for p in parts for x in p)
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1e6
    return {"p50_us": q(0.50), "p99_us": q(0.99), "rps": len(lat) / wall, "n": len(lat)}


def direct_local_ms(host, root, runs):
    """`host --local EVENT --handler app.noop`: spawn to exit, the handler run directly by host."""
    ev = os.path.join(root, "ev.json")
    out = []
    for _ in range(runs):
        t = time.monotonic()
        subprocess.run([host, "--local", ev, "--handler", "app.noop", "--task-root", root],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append((time.monotonic() - t) * 1000)
    return statistics.median(out)


def direct_runtime_us(host, root, n):
    """The same handler in runtime mode behind the C Runtime API server: us per invoke."""
    server = os.path.join(BUILD, "rapi_bench_server")
    if not os.path.exists(server):
        return None
    ev = os.path.join(root, "ev.json")
    p = subprocess.run([server, "--event", ev, "-n", str(n), "-w", str(n // 10), "--cwd", root,
                        "-e", "_HANDLER=app.noop", "-e", "LAMBDA_TASK_ROOT=" + root, "--", host],
                       capture_output=True, text=True, cwd=root, timeout=300)
    m = re.search(r"\{.*\}", p.stdout)
    if not m:
        return None
    doc = json.loads(m.group(0))
    for key in ("us_per_invoke", "mean_us", "per_invoke_us"):
        if key in doc:
            return doc[key]
    return None


def first_request_ms(host, root, runs, warm):
    out = []
    import http.client
    for _ in range(runs):
        t0 = time.monotonic()
        p, port, _ = start(host, root, *(["--warm"] if warm else []))
        if warm:
            time.sleep(0.5)
            t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/noop")
        c.getresponse().read()
        out.append((time.monotonic() - t0) * 1000)
        stop(p)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.host):
        print("host local bench: %s missing; skipped" % a.host)
        return
    os.makedirs(BUILD, exist_ok=True)
    n1, n16 = (500, 150) if a.quick else (3000, 600)
    runs = 3 if a.quick else 7
    root = tempfile.mkdtemp(prefix="host-local-bench-")
    with open(os.path.join(root, "app.py"), "w") as f:
        f.write(ECHO)
    with open(os.path.join(root, "template.yaml"), "w") as f:
        f.write(TEMPLATE)
    with open(os.path.join(root, "ev.json"), "w") as f:
        f.write('{"rawPath": "/echo"}')

    rows = []
    p, port, listening_s = start(a.host, root, "--workers", "4")
    try:
        one = load(port, "/echo", 1, n1, 50)
        sixteen = load(port, "/echo", 16, n16, 20)
        noop16 = load(port, "/noop", 16, n16, 20)
    finally:
        stop(p)
    direct_us = direct_runtime_us(a.host, root, 2000 if a.quick else 10000)
    local_ms = direct_local_ms(a.host, root, runs)
    lazy = first_request_ms(a.host, root, runs, warm=False)
    warm = first_request_ms(a.host, root, runs, warm=True)

    base = direct_us or 0.0
    shutil.rmtree(root, ignore_errors=True)
    rows.append(("start-api echo, 1 client: p50 / p99 latency", "%.0f / %.0f us" % (one["p50_us"], one["p99_us"]),
                 "overhead p50 %.0f us over runtime mode's %s" % (one["p50_us"] - base,
                                                                  "%.0f us" % base if direct_us else "n/a"),
                 "<= 1000 us overhead"))
    rows.append(("start-api echo, 16 clients: p50 / p99 latency",
                 "%.0f / %.0f us" % (sixteen["p50_us"], sixteen["p99_us"]), "%.0f req/s" % sixteen["rps"], ""))
    rows.append(("start-api noop, 16 clients, 4 workers: requests/s", "%.0f req/s" % noop16["rps"],
                 "p50 %.0f us" % noop16["p50_us"], ">= 2000 req/s"))
    rows.append(("server start to listening", "%.1f ms" % (listening_s * 1000), "", ""))
    rows.append(("first request of a started server (lazy: spawn + init)", "%.1f ms" % lazy,
                 "host --local of the same handler, spawn to exit: %.1f ms" % local_ms, "<= 50 ms"))
    rows.append(("first request with --warm (worker started at launch)", "%.1f ms" % warm, "", "<= 50 ms"))
    lines = ["## host local start-api (%s)" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "",
             "| measure | host local | beside | target |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    lines += ["", "Clients: http_load.c threads, keep-alive, on the same %d-core machine as the server; "
              "'overhead' is start-api's p50 minus the same handler's per-invoke time in runtime mode "
              "behind rapi_bench_server." % os.cpu_count()]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(BUILD, "local.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
