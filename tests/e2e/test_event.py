"""Event decoding (awslambdaric.md §3.4, corrected by issue 8: simplejson 3.20.1 rejects
NaN/Infinity; runtime-api.md §1 item 1). tests/e2e/test_json_cases.py runs simplejson's own
results for 124 documents in both modes."""

import json

import pytest

from e2e_helpers import Ev, copy_handlers, dumps, invoke_one, run_invokes, write
from rapi_server import run_local


def decoded(host_bin, rapi, root, body, **kw):
    write(root, "app.py", """
        import math
        def handler(event, context):
            def desc(v):
                if isinstance(v, float):
                    if math.isnan(v):
                        return "float:nan"
                    if math.isinf(v):
                        return "float:inf" if v > 0 else "float:-inf"
                    return "float:" + repr(v)
                if isinstance(v, bool):
                    return "bool:" + repr(v)
                if isinstance(v, int):
                    return "int:" + str(v)
                if isinstance(v, bytes):
                    return "bytes:" + v.hex()
                if isinstance(v, dict):
                    return {k: desc(x) for k, x in v.items()}
                if isinstance(v, list):
                    return [desc(x) for x in v]
                return type(v).__name__ + ":" + str(v)
            return desc(event)
    """)
    proc, res = invoke_one(host_bin, rapi, root, "app.handler", body, **kw)
    assert res.kind == "response", (res, proc.stdout_text())
    return res.json()


def test_json_object(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: exactly application/json -> parsed.
    assert decoded(host_bin, rapi, tmp_task_root, b'{"a": "x", "b": [1, 2.5, true, null]}') \
        == {"a": "str:x", "b": ["int:1", "float:2.5", "bool:True", "NoneType:None"]}


def test_big_ints_exact(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: big ints are exact; floats are float (not Decimal).
    assert decoded(host_bin, rapi, tmp_task_root,
                   b'[123456789012345678901234567890, -98765432109876543210, 0.1, 1e2]') \
        == ["int:123456789012345678901234567890", "int:-98765432109876543210",
            "float:0.1", "float:100.0"]


def test_out_of_range_floats(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: 1e400 becomes inf, 1e-400 0.0, as float() reads them.
    assert decoded(host_bin, rapi, tmp_task_root, b'[1e400, -1e10000, 1.5e-10000]') \
        == ["float:inf", "float:-inf", "float:0.0"]


ECHO_HANDLER = """
def handler(event, context):
    return event
"""

# Issue 8 item 7: exponents of 10000 and more. 0.<9999 zeros>15e10000 is 1.5; host wrote
# its remembered digits with an overflowed exponent: 1.5e-\x8a00, not UTF-8.
# (1e10000 is inf, which the marshaller refuses as simplejson 3.20.1 does: see
# test_huge_exponent_overflows_to_inf)
HUGE_EXPONENTS = (b"[1.5e-10000, 0." + b"0" * 9999 + b"15e10000, 0." + b"0" * 10009
                  + b"25e10010, 1" + b"0" * 30 + b"e-10000, -0." + b"0" * 20000 + b"3e20001]")
HUGE_EXPONENTS_ECHO = b"[0.0, 1.5, 2.5, 0.0, -3.0]"


def test_huge_exponent_overflows_to_inf(host_bin, rapi, tmp_task_root):
    assert decoded(host_bin, rapi, tmp_task_root, b'{"x": 1e10000}') == {"x": "float:inf"}


def test_huge_exponents_echo_as_repr(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "echo.py", ECHO_HANDLER)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "echo.handler", HUGE_EXPONENTS)
    assert res.kind == "response" and res.body == HUGE_EXPONENTS_ECHO


def test_huge_exponents_echo_as_repr_local(host_bin, tmp_task_root):
    write(tmp_task_root, "echo.py", ECHO_HANDLER)
    (tmp_task_root / "ev.json").write_bytes(HUGE_EXPONENTS)
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "echo.handler"],
                   cwd=tmp_task_root)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == HUGE_EXPONENTS_ECHO + b"\n"


def test_duplicate_keys_last_wins(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4.
    assert decoded(host_bin, rapi, tmp_task_root, b'{"k": 1, "j": 0, "k": 2}') \
        == {"k": "int:2", "j": "int:0"}


def test_bom_tolerated(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: UTF-8 with a leading BOM.
    assert decoded(host_bin, rapi, tmp_task_root, b'\xef\xbb\xbf{"a": 1}') == {"a": "int:1"}


def test_unicode_event(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: UTF-8 decoding; escapes decoded.
    body = '{"s": "£😀", "e": "\\u00e9\\ud83d\\ude00"}'.encode("utf-8")
    assert decoded(host_bin, rapi, tmp_task_root, body) == {"s": "str:£😀", "e": "str:é😀"}


def test_scalar_events(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: any JSON document, not only objects.
    copy_handlers(tmp_task_root)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "probe.echo",
                                [b'"text"', b"42", b"null", b" [ ] "])
    assert [r.json() for r in results] == [{"type": "str", "value": "text"},
                                           {"type": "int", "value": 42},
                                           {"type": "NoneType", "value": None},
                                           {"type": "list", "value": []}]


@pytest.mark.parametrize("ctype", [
    "text/plain", "application/json; charset=utf-8", "application/octet-stream",
    "Application/JSON", "application/x-amz-json-1.1",
])
def test_other_content_types_give_raw_bytes(host_bin, rapi, tmp_task_root, ctype):
    # awslambdaric.md §3.4: any content type other than exactly application/json -> bytes.
    assert decoded(host_bin, rapi, tmp_task_root, b'{"a": 1}', content_type=ctype) \
        == "bytes:" + b'{"a": 1}'.hex()


def test_raw_bytes_binary(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.4: raw body, byte for byte.
    body = bytes(range(256))
    assert decoded(host_bin, rapi, tmp_task_root, body, content_type="image/png") \
        == "bytes:" + body.hex()


@pytest.mark.parametrize("body,message", [
    (b"not json", "Expecting value: line 1 column 1 (char 0)"),
    (b"", "Expecting value: line 1 column 1 (char 0)"),
    (b'{"a": }', "Expecting value: line 1 column 7 (char 6)"),
    (b"[1,", "Expecting value: line 1 column 4 (char 3)"),
    (b'{"a": 1} x', "Extra data: line 1 column 10 - line 1 column 11 (char 9 - 10)"),
    (b"\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (b'{"n": NaN}', "Expecting value: line 1 column 7 (char 6)"),
    (b"[1, -Infinity]", "Expecting value: line 1 column 5 (char 4)"),
    (b"[" + b"1" * 5000 + b" x", "Exceeds the limit (4300 digits) for integer string "
     "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
])
def test_malformed_json_is_unmarshal_error(host_bin, rapi, tmp_task_root, body, message):
    # awslambdaric.md §3.4 (simplejson messages) / §5.1-5.2: Runtime.UnmarshalError,
    # "Unable to unmarshal input: <decoder message>", stackTrace [], the handler is not called,
    # X-Ray cause type LambdaValidationError, no error-type header; the loop goes on.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            print("HANDLER-CALLED")
            return "ok"
    """)
    proc, (err, ok) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                  [Ev(body, request_id="rid-bad"), Ev({})])
    assert err.kind == "error"
    assert err.body == dumps({"errorMessage": "Unable to unmarshal input: " + message,
                              "errorType": "Runtime.UnmarshalError", "requestId": "rid-bad",
                              "stackTrace": []})
    assert "lambda-runtime-function-error-type" not in err.headers
    cause = json.loads(err.headers["lambda-runtime-function-xray-error-cause"])
    assert cause == {"working_directory": str(tmp_task_root),
                     "exceptions": [{"message": "Unable to unmarshal input: " + message,
                                     "type": "LambdaValidationError", "stack": []}],
                     "paths": []}
    assert ok.kind == "response" and ok.body == b'"ok"'
    assert proc.stdout_text().count("HANDLER-CALLED") == 1


@pytest.mark.parametrize("body,message", [
    (b'{"n": NaN}', "Expecting value: line 1 column 7 (char 6)"),
    (b"[\"\\x\"]", "Invalid \\X escape sequence '\\\\': line 1 column 3 (char 2)"),
    (b"\xef\xbb\xbf[1,] \xff", "'utf-8' codec can't decode byte 0xff in position 8: invalid start byte"),
])
def test_malformed_json_is_unmarshal_error_local(host_bin, tmp_task_root, body, message):
    # Issue 8 item 4: local mode prints runtime mode's document, then runs the next event;
    # exit status 1, as for a handler error.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            return "ok"
    """)
    (tmp_task_root / "bad.json").write_bytes(body)
    (tmp_task_root / "ok.json").write_bytes(b"{}")
    cp = run_local(host_bin, ["--local", "bad.json", "--local", "ok.json", "--handler",
                              "app.handler"], cwd=tmp_task_root)
    assert cp.returncode == 1, cp.stderr
    err, ok = cp.stdout.split(b"\n")[:2]
    rid = json.loads(err)["requestId"]
    assert err == dumps({"errorMessage": "Unable to unmarshal input: " + message,
                         "errorType": "Runtime.UnmarshalError", "requestId": rid,
                         "stackTrace": []})
    assert ok == b'"ok"'
    assert cp.stdout.count(b"\n") == 2


def test_deep_nesting_same_in_both_modes(host_bin, rapi, tmp_task_root):
    # Nesting costs one recursion level per container, as in simplejson's C scanner; local
    # mode's pre-check refused anything over 2048 levels. Both modes give the same answer.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            depth = 0
            while isinstance(event, list) and event:
                event, depth = event[0], depth + 1
            return depth
    """)
    docs = [b"[" * n + b"]" * n for n in (300, 2100, 50000)]
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", docs)
    runtime = [(r.kind, json.loads(r.body).get("errorMessage") if r.kind == "error" else r.body)
               for r in results]
    assert runtime[0] == ("response", b"299")
    assert runtime[2] == ("error", "Unable to unmarshal input: maximum recursion depth "
                                   "exceeded while decoding a JSON array from a unicode string")
    for i, doc in enumerate(docs):
        (tmp_task_root / ("d%d.json" % i)).write_bytes(doc)
    cp = run_local(host_bin, [a for i in range(len(docs)) for a in ("--local", "d%d.json" % i)]
                   + ["--handler", "app.handler"], cwd=tmp_task_root)
    local = []
    for line in cp.stdout.splitlines():
        doc = json.loads(line)
        local.append(("error", doc["errorMessage"]) if isinstance(doc, dict) and "errorType" in doc
                     else ("response", line))
    assert local == runtime


def test_chunked_event_decoded(host_bin, rapi, tmp_task_root):
    # runtime-api.md §1 item 1: the event may come chunked (the RIE chunks anything over a
    # couple of KB).
    copy_handlers(tmp_task_root)
    event = {"data": ["x" * 100 + str(i) for i in range(200)]}
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.ret", event, chunked=True)
    assert res.json() == event


def test_large_event_5mb(host_bin, rapi, tmp_task_root):
    # runtime-api.md §4: events up to 6 MB.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            return [len(event["blob"]), event["blob"][:3], event["tail"]]
    """)
    event = {"blob": "abc" * (5 * 1024 * 1024 // 3), "tail": 7}
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", event,
                           timeout=30)
    assert res.json() == [len(event["blob"]), "abc", 7]


def test_large_chunked_event(host_bin, rapi, tmp_task_root):
    # runtime-api.md §1 item 1: a 6 MB event arrived chunked from the RIE.
    write(tmp_task_root, "app.py", """
        import hashlib
        def handler(event, context):
            return hashlib.sha256(event).hexdigest()
    """)
    import hashlib
    body = bytes(range(256)) * (6 * 1024 * 1024 // 256)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", body,
                           content_type="application/octet-stream", chunked=True, timeout=30)
    assert res.json() == hashlib.sha256(body).hexdigest()
