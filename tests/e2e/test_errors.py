"""Handler errors (awslambdaric.md §5; runtime-api.md §1 item 3, §2.2)."""

import json

import pytest

from e2e_helpers import (Ev, error_body, frame, invoke_one, keys_of, reference_stack, run_invokes,
                         settle, write)

APP = """
import helper

class MyError(Exception):
    pass

def handler(event, context):
    kind = event["kind"]
    if kind == "value":
        raise ValueError("bad")
    if kind == "key":
        raise KeyError("missing")
    if kind == "empty":
        raise RuntimeError()
    if kind == "custom":
        raise MyError("mine")
    if kind == "nested":
        helper.outer(event)
    if kind == "chained":
        try:
            {}["x"]
        except KeyError as e:
            raise ValueError("wrapped") from e
    if kind == "unicode":
        raise ValueError("h\\u00e9llo \\u2713 \\U0001F600")
    if kind == "subscript":
        return event["nope"]["deeper"]
    if kind == "multi":
        raise ValueError("line one\\nline two")
    return "ok"
"""

HELPER = """
def outer(event):
    inner(event)

def inner(event):
    raise TypeError("deep")
"""


@pytest.fixture
def app(tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    write(tmp_task_root, "helper.py", HELPER)
    return tmp_task_root


def run_kind(host_bin, rapi, root, kind, rid="rid-err"):
    proc, res = invoke_one(host_bin, rapi, root, "app.handler", {"kind": kind},
                           request_id=rid)
    assert res.kind == "error", res
    return proc, res


def test_value_error_exact_body(host_bin, rapi, app):
    # awslambdaric.md §5.1: key order errorMessage, errorType, requestId, stackTrace; frames in
    # traceback.format_list form; runtime frames dropped; `", "`/`": "` separators.
    proc, res = run_kind(host_bin, rapi, app, "value")
    path = str(app / "app.py")
    assert res.body == error_body("bad", "ValueError", "rid-err",
                                  [frame(path, 9, "handler", 'raise ValueError("bad")')])
    assert keys_of(res.body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert res.headers.get("content-type") == "application/json"


def test_no_error_type_header_on_invoke_errors(host_bin, rapi, app):
    # awslambdaric.md §5.1: no Lambda-Runtime-Function-Error-Type header on invoke errors.
    proc, res = run_kind(host_bin, rapi, app, "value")
    assert "lambda-runtime-function-error-type" not in res.headers


def test_key_error_message_keeps_quotes(host_bin, rapi, app):
    # awslambdaric.md §5.1: a KeyError gives "'missing'" (quotes included).
    proc, res = run_kind(host_bin, rapi, app, "key")
    assert res.json()["errorMessage"] == "'missing'"
    assert res.json()["errorType"] == "KeyError"


def test_empty_message(host_bin, rapi, app):
    # awslambdaric.md §5.1: empty string if falsy.
    proc, res = run_kind(host_bin, rapi, app, "empty")
    assert res.json()["errorMessage"] == ""
    assert res.json()["errorType"] == "RuntimeError"


def test_custom_exception_bare_class_name(host_bin, rapi, app):
    # awslambdaric.md §5.1: the bare class __name__, never module-qualified.
    proc, res = run_kind(host_bin, rapi, app, "custom")
    assert res.json()["errorType"] == "MyError"
    assert res.json()["errorMessage"] == "mine"


def test_nested_frames_in_order(host_bin, rapi, app):
    # awslambdaric.md §5.1: one element per frame, outermost first.
    proc, res = run_kind(host_bin, rapi, app, "nested")
    a, h = str(app / "app.py"), str(app / "helper.py")
    assert res.json()["stackTrace"] == [
        frame(a, 17, "handler", "helper.outer(event)"),
        frame(h, 2, "outer", "inner(event)"),
        frame(h, 5, "inner", 'raise TypeError("deep")'),
    ]
    assert res.json()["errorType"] == "TypeError"


def test_stack_trace_equals_traceback_format_list(host_bin, rapi, app):
    # awslambdaric.md §5.1: traceback.format_list of plain tuples: no 3.11+ caret lines,
    # neither in stackTrace nor in the logged [ERROR] line.
    proc, res = run_kind(host_bin, rapi, app, "subscript")
    assert not any("^" in line for line in res.json()["stackTrace"])
    settle(proc)
    logged = proc.stdout_text()
    assert "[ERROR] KeyError: 'nope'" in logged and '["deeper"]' in logged
    assert "^" not in logged
    assert res.json()["stackTrace"] == reference_stack(app, "app", "handler",
                                                       {"kind": "subscript"})
    assert res.json()["errorMessage"] == "'nope'"


def test_chained_exception_not_included(host_bin, rapi, app):
    # awslambdaric.md §5.1 (issue #25): __cause__/__context__ are dropped.
    proc, res = run_kind(host_bin, rapi, app, "chained")
    body = res.json()
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "wrapped"
    assert body["stackTrace"] == [frame(str(app / "app.py"), 22, "handler",
                                        'raise ValueError("wrapped") from e')]


def test_unicode_error_body_raw_utf8(host_bin, rapi, app):
    # awslambdaric.md §4/§9: error bodies use the response encoder, ensure_ascii off.
    proc, res = run_kind(host_bin, rapi, app, "unicode")
    assert res.body.startswith(b'{"errorMessage": "' +
                               "h\u00e9llo \u2713 \U0001F600".encode("utf-8") + b'", ')
    assert res.json()["errorMessage"] == "h\u00e9llo \u2713 \U0001F600"


def test_xray_cause_header(host_bin, rapi, app):
    # awslambdaric.md §5.2 / runtime-api.md §2.2: working_directory, exceptions[{message, type,
    # stack[{label, path, line}]}], paths (unique files, any order).
    proc, res = run_kind(host_bin, rapi, app, "nested")
    raw = res.headers["lambda-runtime-function-xray-error-cause"]
    assert keys_of(raw) == ["working_directory", "exceptions", "paths"]
    cause = json.loads(raw)
    a, h = str(app / "app.py"), str(app / "helper.py")
    assert cause["working_directory"] == str(app)
    assert cause["exceptions"] == [{"message": "deep", "type": "TypeError", "stack": [
        {"label": "handler", "path": a, "line": 17},
        {"label": "outer", "path": h, "line": 2},
        {"label": "inner", "path": h, "line": 5},
    ]}]
    exc_pairs = json.loads(raw, object_pairs_hook=lambda kv: kv)[1][1][0]
    assert [k for k, _ in exc_pairs] == ["message", "type", "stack"]
    assert [k for k, _ in exc_pairs[2][1][0]] == ["label", "path", "line"]
    assert sorted(cause["paths"]) == sorted([a, h])


def test_loop_continues_after_error(host_bin, rapi, app):
    # awslambdaric.md §5.3: after an error the next invocation is served.
    proc, results = run_invokes(host_bin, rapi, app, "app.handler", [
        {"kind": "value"}, {"kind": "none"}, {"kind": "key"}, {"kind": "none"}])
    assert [r.kind for r in results] == ["error", "response", "error", "response"]
    assert results[1].body == b'"ok"'
    assert proc.poll() is None


def test_error_logged_text_format(host_bin, rapi, app):
    # awslambdaric.md §8.4: [ERROR] <type>: <msg>\rTraceback (most recent call last):\r
    # <frames with leading spaces -> U+00A0, "\r" joins>\n on stdout.
    proc, res = run_kind(host_bin, rapi, app, "value")
    path = str(app / "app.py")
    expected = ("[ERROR] ValueError: bad\rTraceback (most recent call last):\r"
                "\u00a0\u00a0File \"%s\", line 9, in handler\r"
                "\u00a0\u00a0\u00a0\u00a0raise ValueError(\"bad\")\n" % path)
    assert expected in proc.stdout_text()


def test_error_logged_empty_message(host_bin, rapi, app):
    # awslambdaric.md §8.4: no ":" when the message is empty.
    proc, res = run_kind(host_bin, rapi, app, "empty")
    assert "[ERROR] RuntimeError\rTraceback (most recent call last):\r" in proc.stdout_text()


def test_error_logged_multiline_message(host_bin, rapi, app):
    # awslambdaric.md §8.4: the message goes as is into the first line (its own "\n" kept).
    proc, res = run_kind(host_bin, rapi, app, "multi")
    assert "[ERROR] ValueError: line one\nline two\rTraceback (most recent call last):\r" \
        in proc.stdout_text()
    assert res.json()["errorMessage"] == "line one\nline two"


def test_non_callable_handler_is_type_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: no callability check at init; a non-callable handler fails at
    # invoke time as TypeError.
    write(tmp_task_root, "app.py", "handler = 5\n")
    proc, (res, res2) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                    [Ev({}, request_id="rid-nc"), Ev({})])
    assert rapi.count("init_error") == 0
    body = res.json()
    assert res.kind == "error"
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "'int' object is not callable"
    assert body["requestId"] == "rid-nc"
    assert keys_of(res.body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert res2.kind == "error"


def test_handler_with_wrong_arity(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: handler(event, context) is called; a TypeError from the call
    # is an ordinary handler error.
    write(tmp_task_root, "app.py", "def handler(event):\n    return 1\n")
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.kind == "error"
    assert res.json()["errorType"] == "TypeError"
    assert res.json()["errorMessage"] == \
        "handler() takes 1 positional argument but 2 were given"


def test_recursion_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: any Exception subclass is caught and posted.
    write(tmp_task_root, "app.py", """
        def f(n):
            return f(n + 1)
        def handler(event, context):
            return f(0)
    """)
    proc, (res, ok) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}, {}])
    assert res.kind == "error"
    assert res.json()["errorType"] == "RecursionError"
    assert res.json()["errorMessage"] == "maximum recursion depth exceeded"
    assert ok.kind == "error"



def test_huge_error_message_body_intact_cause_bounded(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §5.2 / runtime-api.md §2.2: the error body carries the whole message;
    # the X-Ray cause is never what breaks the post: the official runtime omits a cause of
    # 1 MiB or more, RAPID crops causes to 64 KiB. Accept an omitted cause or a valid JSON
    # one of at most 64 KiB naming the exception type.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            raise ValueError("m" * (1024 * 1024 + 10))
    """)
    proc, (res, ok) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}, {}])
    assert res.kind == "error" and res.status == 202
    assert res.json()["errorMessage"] == "m" * (1024 * 1024 + 10)
    raw = res.headers.get("lambda-runtime-function-xray-error-cause")
    if raw is not None:
        assert len(raw.encode()) <= 64 * 1024
        assert json.loads(raw)["exceptions"][0]["type"] == "ValueError"
    assert ok.kind == "error"
