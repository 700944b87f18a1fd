"""Result marshalling (awslambdaric.md §4, §9 python3.12+ column: ensure_ascii off, raw UTF-8;
§13 async handlers), as simplejson 3.20.1's C encoder writes it with awslambdaric 4.0.1's
options: allow_nan is off (simplejson >= 3.19's default), so NaN and infinities are a
MarshalError, not the bare tokens §4 describes for older simplejson."""

import json
import pathlib
import shutil
import sys

import pytest

from e2e_helpers import Ev, dumps, run_invokes, write

PRELUDE = """
import collections, datetime, decimal, enum, uuid
from decimal import Decimal
P = collections.namedtuple("P", "x y")
class Color(str, enum.Enum):
    RED = "red"
class Num(enum.IntEnum):
    ONE = 1
class Plain(enum.Enum):
    A = 1
class Foo:
    pass
def gen():
    yield 1
"""

# (expression returned by the handler, exact body posted)
OK_CASES = [
    ('{"a": 1, "b": [1, 2]}', b'{"a": 1, "b": [1, 2]}'),
    ('{"z": 1, "a": 2, "m": {"y": None, "b": True}}', b'{"z": 1, "a": 2, "m": {"y": null, "b": true}}'),
    ('"hello"', b'"hello"'),
    ('""', b'""'),
    ("None", b"null"),
    ("True", b"true"),
    ("0", b"0"),
    ("(1, (2, 3))", b"[1, [2, 3]]"),
    ("[]", b"[]"),
    ("{}", b"{}"),
    ("2**100", b"1267650600228229401496703205376"),
    ("-7", b"-7"),
    ("0.1", b"0.1"),
    ("1e300", b"1e+300"),
    ("1.0", b"1.0"),
    ("-0.0", b"-0.0"),
    ("Decimal('1.10')", b"1.10"),
    ("Decimal('1E+2')", b"1E+2"),
    ("Decimal('-0')", b"-0"),
    ("Decimal('Infinity')", b"Infinity"),
    ("{'price': Decimal('19.90'), 'qty': Decimal('3')}", b'{"price": 19.90, "qty": 3}'),
    ("{'b': b'abc'}", b'{"b": "abc"}'),
    ("[b'x', 'y']", b'["x", "y"]'),
    ("P(1, 2)", b'{"x": 1, "y": 2}'),
    ("[P('a', [P(1, 2), 3])]", b'[{"x": "a", "y": [{"x": 1, "y": 2}, 3]}]'),
    ("Color.RED", b'"red"'),
    ("Num.ONE", b"1"),
    ("{'c': Color.RED, 'n': [Num.ONE]}", b'{"c": "red", "n": [1]}'),
    ("{1: 'a', 2.5: 'b', False: 'c', None: 'd'}", b'{"1": "a", "2.5": "b", "false": "c", "null": "d"}'),
    ("{True: 1}", b'{"true": 1}'),
    ("collections.OrderedDict([('b', 1), ('a', 2)])", b'{"b": 1, "a": 2}'),
    ("'a\\x00b\\n\\t\\r\\x1f\"\\\\/\\x7f\\x08\\x0c'",
     b'"a\\u0000b\\n\\t\\r\\u001f\\"\\\\/\x7f\\b\\f"'),
    ("'\u00a3\U0001F600'", '"\u00a3\U0001F600"'.encode("utf-8")),
    ("'\u2028\u2029'", '"\u2028\u2029"'.encode("utf-8")),
    ("{'\u00e9t\u00e9': '\u65e5\u672c'}", '{"\u00e9t\u00e9": "\u65e5\u672c"}'.encode("utf-8")),
]


@pytest.fixture
def marshal_app(tmp_task_root):
    write(tmp_task_root, "app.py", PRELUDE + """
def handler(event, context):
    return eval(event["expr"])
""")
    return tmp_task_root


def run_exprs(host_bin, rapi, root, exprs, with_proc=False):
    proc, results = run_invokes(host_bin, rapi, root, "app.handler",
                                [{"expr": e} for e in exprs], timeout=15)
    return (proc, results) if with_proc else results


def test_json_results_exact_bytes(host_bin, rapi, marshal_app):
    # awslambdaric.md §4: separators ", "/": ", insertion order, str quoted, None -> null,
    # Decimal text kept (Infinity too: it is str(d)), nested bytes decoded, namedtuple -> object,
    # enums -> value, dict keys converted, control-char escapes, non-ASCII raw (§9: 3.12+).
    results = run_exprs(host_bin, rapi, marshal_app, [e for e, _ in OK_CASES])
    failures = []
    for (expr, expected), res in zip(OK_CASES, results):
        if res.kind != "response" or res.body != expected:
            failures.append((expr, expected, res.kind, res.body))
        elif res.headers.get("content-type") != "application/json":
            failures.append((expr, "content-type", res.headers.get("content-type")))
    assert not failures, "\n".join(repr(f) for f in failures)


@pytest.mark.parametrize("expr,expected", [c for c in OK_CASES if c[0] in (
    '{"a": 1, "b": [1, 2]}', '"hello"', "None", "Decimal('1.10')", "Decimal('Infinity')",
    "'\u00a3\U0001F600'")])
def test_json_result_single(host_bin, rapi, marshal_app, expr, expected):
    # awslambdaric.md §4 (one process per case, so a crash in one case is isolated).
    res = run_exprs(host_bin, rapi, marshal_app, [expr])[0]
    assert res.kind == "response", res
    assert res.body == expected
    assert res.headers.get("content-type") == "application/json"


@pytest.mark.parametrize("expr,body", [
    ("b'raw\\x00bytes\\xff'", b"raw\x00bytes\xff"),
    ("b''", b""),
])
def test_bytes_result_raw_application_unknown(host_bin, rapi, marshal_app, expr, body):
    # awslambdaric.md §4: a bytes return value is posted raw with application/unknown.
    res = run_exprs(host_bin, rapi, marshal_app, [expr])[0]
    assert res.kind == "response"
    assert res.body == body
    assert res.headers.get("content-type") == "application/unknown"


# A generator (the official runtime: "Object of type generator is not JSON serializable") and a
# coroutine are no marshal errors under host: they stream or are awaited (issue 11;
# test_streaming.py, test_async.py).
MARSHAL_ERRORS = [
    ("{(1, 2): 'v'}", "keys must be str, int, float, bool or None, not tuple"),
    ("{1, 2}", "Object of type set is not JSON serializable"),
    ("frozenset()", "Object of type frozenset is not JSON serializable"),
    ("datetime.datetime(2020, 1, 1)", "Object of type datetime is not JSON serializable"),
    ("datetime.date(2020, 1, 1)", "Object of type date is not JSON serializable"),
    ("uuid.UUID(int=1)", "Object of type UUID is not JSON serializable"),
    ("bytearray(b'x')", "Object of type bytearray is not JSON serializable"),
    ("Foo()", "Object of type Foo is not JSON serializable"),
    ("{'nested': [{'deep': {1, 2}}]}", "Object of type set is not JSON serializable"),
    ("Plain.A", "Object of type Plain is not JSON serializable"),
    ("object", "Object of type type is not JSON serializable"),
    ("float('nan')", "Out of range float values are not JSON compliant"),
    ("[1.0, {'x': float('inf')}]", "Out of range float values are not JSON compliant"),
    ("-float('inf')", "Out of range float values are not JSON compliant"),
    ("Decimal('NaN')", "Out of range float values are not JSON compliant"),
    ("[Decimal('-NaN'), Decimal('sNaN')]", "Out of range float values are not JSON compliant"),
]


def test_marshal_errors(host_bin, rapi, marshal_app):
    # awslambdaric.md §4 / §5.1-5.2: Runtime.MarshalError,
    # "Unable to marshal response: <msg>", stackTrace [], X-Ray cause type
    # LambdaValidationError with empty stack and paths, no error-type header.
    exprs = [e for e, _ in MARSHAL_ERRORS]
    rids = [rapi.enqueue({"expr": e}) for e in exprs]
    proc, _ = run_invokes(host_bin, rapi, marshal_app, "app.handler", [])
    failures = []
    for (expr, msg), rid in zip(MARSHAL_ERRORS, rids):
        res = rapi.wait_for_result(rid, timeout=10)
        expected = dumps({"errorMessage": "Unable to marshal response: " + msg,
                          "errorType": "Runtime.MarshalError", "requestId": rid,
                          "stackTrace": []})
        if res.kind != "error" or res.body != expected:
            failures.append((expr, res.kind, res.body))
            continue
        if "lambda-runtime-function-error-type" in res.headers:
            failures.append((expr, "error-type header sent"))
        cause = json.loads(res.headers.get("lambda-runtime-function-xray-error-cause", "null"))
        if cause != {"working_directory": str(marshal_app),
                     "exceptions": [{"message": "Unable to marshal response: " + msg,
                                     "type": "LambdaValidationError", "stack": []}],
                     "paths": []}:
            failures.append((expr, "cause", cause))
    assert not failures, "\n".join(repr(f) for f in failures)


def test_marshal_error_tuple_key_single(host_bin, rapi, marshal_app):
    # awslambdaric.md §4: the exact tuple-key message.
    res = run_exprs(host_bin, rapi, marshal_app, ["{(1, 2): 'v'}"])[0]
    assert res.kind == "error"
    assert res.json()["errorMessage"] == ("Unable to marshal response: keys must be str, int, "
                                          "float, bool or None, not tuple")
    assert res.json()["errorType"] == "Runtime.MarshalError"


def test_marshal_error_invalid_utf8_nested_bytes(host_bin, rapi, marshal_app):
    # awslambdaric.md §4: nested bytes with invalid UTF-8 -> MarshalError.
    res = run_exprs(host_bin, rapi, marshal_app, ["{'b': b'\\xff'}"])[0]
    assert res.kind == "error"
    body = res.json()
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"].startswith("Unable to marshal response: ")
    assert body["stackTrace"] == []


def test_async_handler_is_awaited(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §13: the official runtime posts "Object of type coroutine is not JSON
    # serializable"; host awaits the coroutine (issue 11) and marshals its value as usual.
    write(tmp_task_root, "app.py", """
        async def handler(event, context):
            return {"now": "awaited"}
    """)
    proc, (res, ok) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                  [Ev({}, request_id="rid-async"), Ev({})])
    assert res.kind == "response" and res.body == dumps({"now": "awaited"})
    assert res.headers["content-type"] == "application/json"
    assert ok.kind == "response"  # the loop continues


def test_marshal_error_is_logged(host_bin, rapi, marshal_app):
    # awslambdaric.md §5.3/§8.4: the fault is logged with log_error (text, stdout).
    proc, results = run_exprs(host_bin, rapi, marshal_app, ["{1, 2}"], with_proc=True)
    text = proc.stdout_text()
    assert ("[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set is "
            "not JSON serializable\rTraceback (most recent call last):\n") in text


def test_result_after_marshal_error_loop_continues(host_bin, rapi, marshal_app):
    # awslambdaric.md §5.3: after an error the loop goes on with the next GET.
    results = run_exprs(host_bin, rapi, marshal_app, ["{1}", "'fine'"])
    assert results[0].kind == "error"
    assert results[1].kind == "response" and results[1].body == b'"fine"'


# ---------------------------------------------------------------- differential: hostile values
# marshal_cases.py builds each value; marshal_oracle.json holds what the official encoder
# (simplejson 3.20.1's C encoder with awslambdaric 4.0.1's options) made of it, recorded by
# record_marshal_oracle.py (simplejson 3.20 cannot be installed where the tests run).
HERE = pathlib.Path(__file__).resolve().parent
ORACLE = {k: v for k, v in json.loads((HERE / "marshal_oracle.json").read_text()).items()
          if not k.startswith("_")}


def test_oracle_covers_every_case():
    # a case added to marshal_cases.py without re-recording the oracle would test nothing
    sys.path.insert(0, str(HERE))
    try:
        import marshal_cases
    finally:
        sys.path.remove(str(HERE))
    assert sorted(marshal_cases.CASES) == sorted(ORACLE)


def test_hostile_values_as_the_official_encoder(host_bin, rapi, tmp_task_root):
    shutil.copy(HERE / "marshal_cases.py", tmp_task_root / "marshal_cases.py")
    write(tmp_task_root, "app.py", """
        import marshal_cases
        def handler(event, context):
            marshal_cases.reset()
            return marshal_cases.CASES[event["case"]]()
    """)
    names = list(ORACLE)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                [{"case": n} for n in names], timeout=20)
    failures = []
    for name, res in zip(names, results):
        want = ORACLE[name]
        if want["kind"] == "error":
            got = res.json().get("errorMessage") if res.kind == "error" else None
            ok = got == want["message"] and res.json().get("errorType") == "Runtime.MarshalError"
        else:
            body = (bytes.fromhex(want["body"]) if want["kind"] == "raw"
                    else want["body"].encode("utf-8"))
            ctype = "application/unknown" if want["kind"] == "raw" else "application/json"
            got = res.body if res.kind == "response" else res.body[:300]
            ok = got == body and res.headers.get("content-type") == ctype
        if not ok:
            failures.append("%s: want %r, got %s %r" % (name, want, res.kind, got))
    assert not failures, "\n".join(failures)
    assert proc.poll() is None, "host exited: %s" % proc.stderr_text()[-2000:]
