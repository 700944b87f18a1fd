"""Differential test: realistic handlers (an error deep in library code, logging through
several loggers, an exception at import, sys.exit) run under host, and everything host
posts and prints is compared byte for byte with what the spec says the official runtime
produces (awslambdaric.md §2.3, §5.1, §8.2, §8.4, §8.6). The expected bytes are built here
from the spec's rules and from tracebacks taken in a plain python3 (the same interpreter
host embeds); only timestamps are matched by pattern."""

import json
import re

import pytest

from e2e_helpers import LAMBDA_WARNING, PY_XY, TS_MS, TS_S, write
from rapi_server import start_host

SHOP = """
import json
import logging
import sys

import orders

log = logging.getLogger("shop")
db_log = logging.getLogger("shop.db")
quiet = logging.getLogger("shop.quiet")
quiet.propagate = False


def handler(event, context):
    kind = event["kind"]
    if kind == "parse":
        log.warning("parsing %d bytes", len(event["body"]))
        return json.loads(event["body"])        # raises deep in the json package
    if kind == "order":
        return orders.place(event)
    if kind == "logs":
        log.warning("checkout started")
        db_log.error("slow query: %s", "SELECT 1")
        quiet.error("no handler, no propagation: logging's last resort")
        logging.getLogger().critical("root says\\nsecond line")
        try:
            {}["missing"]
        except KeyError:
            db_log.exception("lookup failed")
        context.log("raw context log")
        return {"ok": True}
    if kind == "exit":
        sys.exit(event["code"])
"""

ORDERS = """
from decimal import Decimal


def _price(item):
    return Decimal(item["price"]) * item["qty"]


def place(event):
    return {"total": str(sum(_price(i) for i in event["items"]))}
"""

BROKEN_AT_IMPORT = """
import json
SETTINGS = json.loads('{"region": }')
"""


def ascii_nbsp(line):
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def official_error_log(doc):
    """§8.4, text mode, on stdout: \\r-joined lines, NBSP indentation, one \\n."""
    line = "[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"])
    lines = [line, "Traceback (most recent call last):"]
    for element in doc["stackTrace"]:
        lines.extend(ascii_nbsp(x) for x in element.splitlines())
    return "\r".join(lines) + "\n"


def official_body(message, etype, rid, stack):
    """§5.1: key order, ", "/": " separators, raw UTF-8 (python3.12+ envs)."""
    return json.dumps({"errorMessage": message, "errorType": etype, "requestId": rid,
                       "stackTrace": stack}, ensure_ascii=False).encode("utf-8")


def reference(task_root, code):
    """Runs `code` in a plain python3 with the task root on sys.path; it must raise. Returns
    (type name, str(exc), the stackTrace awslambdaric builds: plain 4-tuples through
    traceback.format_list, the two frames of this harness dropped)."""
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent("""
        import json, sys, traceback
        sys.path.insert(0, sys.argv[1])
        try:
            exec(sys.argv[2], {})
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)[2:]
            stack = traceback.format_list([(f.filename, f.lineno, f.name, f.line)
                                           for f in frames])
            print(json.dumps([type(e).__name__, str(e), stack]))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(task_root), code],
                         capture_output=True, text=True, cwd=str(task_root), timeout=30)
    assert out.returncode == 0 and out.stdout, out.stderr
    return json.loads(out.stdout)


def official_exc_text(task_root):
    """What the official root handler's stdlib Formatter appends for the
    db_log.exception("lookup failed") record (§8.2): Python's own traceback text, taken from
    a plain python3 running the same handler."""
    import subprocess
    import sys
    script = (
        "import logging, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import app\n"
        "class Grab(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        if record.exc_info:\n"
        "            sys.stdout.write(logging.Formatter().formatException(record.exc_info))\n"
        "logging.getLogger().addHandler(Grab())\n"
        "class Ctx:\n"
        "    def log(self, msg): pass\n"
        "app.handler({'kind': 'logs'}, Ctx())\n")
    out = subprocess.run([sys.executable, "-c", script, str(task_root)], capture_output=True,
                         text=True, cwd=str(task_root), timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("Traceback"), out.stderr
    return out.stdout


def line_of(source, text):
    return source.lstrip("\n").splitlines().index(text) + 1


@pytest.fixture
def shop(tmp_task_root):
    write(tmp_task_root, "app.py", SHOP)
    write(tmp_task_root, "orders.py", ORDERS)
    write(tmp_task_root, "broken.py", BROKEN_AT_IMPORT)
    return tmp_task_root


def test_invocations_byte_for_byte(host_bin, rapi, shop):
    events = [
        ({"kind": "parse", "body": '{"a": [1, 2,]}'}, "rid-parse"),
        ({"kind": "order", "items": [{"price": "2.50", "qty": 2}, {"price": "abc", "qty": 1}]},
         "rid-order"),
        ({"kind": "logs"}, "rid-logs"),
        ({"kind": "exit", "code": 2}, "rid-exit"),
    ]
    for body, rid in events:
        rapi.enqueue(body, request_id=rid)
    proc = start_host(host_bin, rapi, shop, "app.handler")
    assert proc.wait_exit(20) == 2            # sys.exit(2): the process ends with 2
    parse = rapi.wait_for_result("rid-parse")
    order = rapi.wait_for_result("rid-order")
    logs = rapi.wait_for_result("rid-logs")
    assert rapi.results_for("rid-exit") == []  # nothing posted for an exit

    # 1. an error deep in the json package
    etype, msg, stack = reference(shop, "import app; app.handler({'kind': 'parse', "
                                        "'body': '{\"a\": [1, 2,]}'}, None)")
    assert any("/json/decoder.py" in s for s in stack)
    assert parse.kind == "error"
    assert parse.body == official_body(msg, etype, "rid-parse", stack)
    # 2. an error two modules down (decimal's C code raises InvalidOperation)
    etype2, msg2, stack2 = reference(shop, "import app; app.handler({'kind': 'order', 'items': "
                                           "[{'price': '2.50', 'qty': 2}, "
                                           "{'price': 'abc', 'qty': 1}]}, None)")
    assert order.body == official_body(msg2, etype2, "rid-order", stack2)
    assert [s.split(", in ")[1].split("\n")[0] for s in stack2] == [
        "handler", "place", "<genexpr>", "_price"]
    # 3. logging through several loggers
    assert logs.body == b'{"ok": true}'

    expected_stdout = (
        "[WARNING]\t{ts}\trid-parse\tparsing 14 bytes\n"
        + official_error_log(json.loads(parse.body))
        + official_error_log(json.loads(order.body))
        + "[WARNING]\t{ts}\trid-logs\tcheckout started\n"
        + "[ERROR]\t{ts}\trid-logs\tslow query: SELECT 1\n"
        + "[CRITICAL]\t{ts}\trid-logs\troot says\nsecond line\n"
        + "[ERROR]\t{ts}\trid-logs\tlookup failed\n"
        + official_exc_text(shop)            # exc_info: no newline after the traceback
        + "raw context log"                  # context.log: raw, no newline (§7)
    )
    got = re.sub(TS_MS, "{ts}", proc.stdout_text())
    assert got == expected_stdout
    # stderr: only what Python's logging itself writes there (logging.lastResort for a
    # logger without handlers that does not propagate); nothing of host's own
    assert proc.stderr_text() == "no handler, no propagation: logging's last resort\n"


def test_init_error_byte_for_byte(host_bin, rapi, shop):
    proc = start_host(host_bin, rapi, shop, "broken.handler")
    ie = rapi.wait_for_init_error(timeout=10)
    assert proc.wait_exit(10) == 1
    etype, msg, stack = reference(shop, "import importlib; importlib.import_module('broken')")
    # importlib's frames stay (§2.3)
    assert stack[0].startswith('  File "/usr/lib/python%s/importlib/__init__.py"' % PY_XY)
    assert ie.body == official_body(msg, etype, "", stack)
    assert ie.headers.get("lambda-runtime-function-error-type") == etype
    expected = ("[WARNING]\t{ts}\t\t" + LAMBDA_WARNING + "\n"
                + official_error_log(json.loads(ie.body)))
    assert re.sub(TS_MS, "{ts}", proc.stdout_text()) == expected
    assert proc.stderr_text() == ""


def test_json_logs_byte_for_byte(host_bin, rapi, shop):
    rapi.enqueue({"kind": "logs"}, request_id="rid-json")
    rapi.enqueue({"kind": "parse", "body": "[1,"}, request_id="rid-json-err")
    rapi.enqueue({"kind": "exit", "code": 0}, request_id="rid-end")
    proc = start_host(host_bin, rapi, shop, "app.handler",
                      env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    assert proc.wait_exit(20) == 0
    err = rapi.wait_for_result("rid-json-err")
    lines = proc.stdout_text().split("\n")
    # context.log writes raw text with no newline (§7): the next record follows it directly
    glued = [i for i, l in enumerate(lines) if l.startswith("raw context log{")]
    assert len(glued) == 1
    lines[glued[0]] = lines[glued[0]][len("raw context log"):]
    records = [json.loads(l) for l in lines if l]
    # §8.6: key order, seconds-only timestamps, the logger's name, requestId
    first = records[0]
    assert list(first) == ["timestamp", "level", "message", "logger", "requestId"]
    assert re.fullmatch(TS_S, first["timestamp"])
    assert [(r.get("level") or r.get("log_level"), r.get("logger"),
             r.get("message") or r.get("errorType")) for r in records] == [
        ("WARNING", "shop", "checkout started"),
        ("ERROR", "shop.db", "slow query: SELECT 1"),
        ("CRITICAL", "root", "root says\nsecond line"),
        ("ERROR", "shop.db", "lookup failed"),
        ("WARNING", "shop", "parsing 3 bytes"),
        ("ERROR", None, "JSONDecodeError"),
    ]
    exc = records[3]
    assert list(exc) == ["timestamp", "level", "message", "logger", "stackTrace", "errorType",
                         "errorMessage", "requestId", "location"]
    assert exc["location"].endswith(
        "/app.py:handler:%d" % line_of(SHOP, '            db_log.exception("lookup failed")'))
    # §8.4 JSON mode: the error log is the error document with timestamp and log_level
    logged = records[5]
    assert list(logged) == ["timestamp", "log_level", "errorMessage", "errorType", "requestId",
                            "stackTrace"]
    assert {k: logged[k] for k in list(logged)[2:]} == json.loads(err.body)
    assert proc.stderr_text() == "no handler, no propagation: logging's last resort\n"
