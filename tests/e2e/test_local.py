"""Local mode: `host --local EVENT ...` (the brief's local-mode contract; result/error bodies as
in runtime mode: awslambdaric.md §4, §5; REPORT line as Lambda prints it, runtime-api.md §7.2;
timeout: runtime-api.md §4)."""

import json
import math
import platform
import re
import time

import pytest

from e2e_helpers import dumps, frame, write
from rapi_server import run_local

REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<rid>[^\t\n]+)\tDuration: (?P<dur>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<mem>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?$", re.M)

LAMBDA_FUNCTION = """
import json, os, sys, logging
print("INIT-RAN", file=sys.stderr)
COUNT = 0
GREETING = os.environ.get("GREETING", "<unset>")

def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    print("handler-print", event)
    logging.warning("handler-log")
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("bad event")
    return {"count": COUNT, "event": event, "rid": context.aws_request_id,
            "greeting": GREETING}
"""


@pytest.fixture
def fn_root(tmp_task_root):
    write(tmp_task_root, "lambda_function.py", LAMBDA_FUNCTION)
    return tmp_task_root


def reports(stderr):
    return [m.groupdict() for m in REPORT_RE.finditer(stderr.decode("utf-8", "replace"))]


def out_lines(cp):
    text = cp.stdout.decode("utf-8")
    assert text.endswith("\n") or text == "", text
    return [json.loads(l) for l in text.splitlines()]


def test_single_event_default_handler(host_bin, fn_root):
    # Brief (local mode): --handler defaults to lambda_function.lambda_handler; stdout holds
    # one line per event; exit 0.
    write(fn_root, "ev.json", '{"a": 1}')
    cp = run_local(host_bin, ["--local", "ev.json"], cwd=fn_root)
    assert cp.returncode == 0, cp.stderr
    lines = out_lines(cp)
    assert len(lines) == 1
    assert lines[0]["count"] == 1 and lines[0]["event"] == {"a": 1}
    assert lines[0]["greeting"] == "<unset>"


def test_stdout_has_only_results_output_goes_to_stderr(host_bin, fn_root):
    # Brief: print and logging go to stderr in local mode; stdout is only result lines.
    write(fn_root, "ev.json", '{"a": 1}')
    cp = run_local(host_bin, ["--local", "ev.json"], cwd=fn_root)
    rid = out_lines(cp)[0]["rid"]
    assert cp.stdout == dumps({"count": 1, "event": {"a": 1}, "rid": rid,
                               "greeting": "<unset>"}) + b"\n"
    err = cp.stderr.decode()
    assert "handler-print {'a': 1}\n" in err
    assert re.search(r"^\[WARNING\]\t\S+\t%s\thandler-log$" % re.escape(rid), err, re.M), err


def test_report_line(host_bin, fn_root):
    # Brief: REPORT RequestId/Duration/Billed Duration/Memory Size/Max Memory Used, with
    # Init Duration on the first event only.
    write(fn_root, "ev.json", '{"a": 1}')
    cp = run_local(host_bin, ["--local", "ev.json", "--local", "ev.json"], cwd=fn_root)
    assert cp.returncode == 0, cp.stderr
    reps = reports(cp.stderr)
    assert len(reps) == 2, cp.stderr
    lines = out_lines(cp)
    assert [r["rid"] for r in reps] == [l["rid"] for l in lines]
    assert lines[0]["rid"] != lines[1]["rid"]
    assert reps[0]["init"] is not None and reps[1]["init"] is None
    for r in reps:
        dur = float(r["dur"])
        assert math.ceil(dur) <= int(r["billed"]) <= math.ceil(dur) + 1
        assert int(r["used"]) > 0
    # the REPORT line follows the event's own output
    err = cp.stderr.decode()
    assert err.index("handler-print") < err.index("REPORT RequestId")


def test_memory_size_and_function_name(host_bin, tmp_task_root):
    # Brief: --function-name / --memory-size feed the context and the REPORT line.
    write(tmp_task_root, "app.py", """
        import os
        def fn(event, context):
            return [context.function_name, context.memory_limit_in_mb,
                    os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                    os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")]
    """)
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.fn", "--function-name",
                              "orders", "--memory-size", "256"], cwd=tmp_task_root)
    assert cp.returncode == 0, cp.stderr
    assert out_lines(cp) == [["orders", "256", "orders", "256"]]
    assert reports(cp.stderr)[0]["mem"] == "256"


def test_stdin_event(host_bin, fn_root):
    # Brief: EVENT may be "-" (stdin).
    cp = run_local(host_bin, ["--local", "-"], cwd=fn_root, input=b'{"from": "stdin"}')
    assert cp.returncode == 0, cp.stderr
    assert out_lines(cp)[0]["event"] == {"from": "stdin"}


def test_jsonl_warm_process(host_bin, fn_root):
    # Brief: a .jsonl file holds one event per line; events run in one warm process:
    # module globals persist, init runs once.
    write(fn_root, "events.jsonl", '{"i": 1}\n{"i": 2}\n"three"\n')
    cp = run_local(host_bin, ["--local", "events.jsonl"], cwd=fn_root)
    assert cp.returncode == 0, cp.stderr
    lines = out_lines(cp)
    assert [l["count"] for l in lines] == [1, 2, 3]
    assert [l["event"] for l in lines] == [{"i": 1}, {"i": 2}, "three"]
    assert cp.stderr.decode().count("INIT-RAN") == 1
    reps = reports(cp.stderr)
    assert len(reps) == 3
    assert [r["init"] is not None for r in reps] == [True, False, False]


def test_several_local_flags(host_bin, fn_root):
    # Brief: --local EVENT [--local EVENT2 ...].
    write(fn_root, "a.json", '{"n": "a"}')
    write(fn_root, "b.jsonl", '{"n": "b1"}\n{"n": "b2"}\n')
    cp = run_local(host_bin, ["--local", "a.json", "--local", "b.jsonl"], cwd=fn_root)
    assert cp.returncode == 0, cp.stderr
    assert [l["event"]["n"] for l in out_lines(cp)] == ["a", "b1", "b2"]
    assert [l["count"] for l in out_lines(cp)] == [1, 2, 3]


def test_handler_flag_env_and_override(host_bin, fn_root):
    # Brief: --handler defaults to _HANDLER; --handler overrides it; slash form accepted.
    write(fn_root, "pkg/sub/mod.py", """
        def fn(event, context):
            return "pkg-fn"
    """)
    write(fn_root, "other.py", """
        def h(event, context):
            return "other-h"
    """)
    write(fn_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json"], cwd=fn_root, env={"_HANDLER": "other.h"})
    assert cp.stdout == b'"other-h"\n', cp.stderr
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "pkg/sub/mod.fn"],
                   cwd=fn_root, env={"_HANDLER": "other.h"})
    assert cp.stdout == b'"pkg-fn"\n', cp.stderr


def test_task_root_flag(host_bin, fn_root, tmp_path):
    # Brief: --task-root DIR (default cwd); the handler is imported from it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, "ev.json", '{"x": 1}')
    cp = run_local(host_bin, ["--local", "ev.json", "--task-root", str(fn_root)],
                   cwd=elsewhere)
    assert cp.returncode == 0, cp.stderr
    assert out_lines(cp)[0]["event"] == {"x": 1}


def test_env_vars_file_before_init(host_bin, fn_root):
    # Brief: --env-vars FILE is a JSON object of env vars set before init.
    write(fn_root, "env.json", '{"GREETING": "hello from env file"}')
    write(fn_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--env-vars", "env.json"], cwd=fn_root)
    assert cp.returncode == 0, cp.stderr
    assert out_lines(cp)[0]["greeting"] == "hello from env file"


def test_handler_error_exit_1_and_error_json(host_bin, fn_root):
    # Brief: on a handler error stdout gets the error JSON (same body as the runtime-mode
    # error post: awslambdaric.md §5.1), later events still run, exit 1.
    write(fn_root, "events.jsonl", '{"fail": 1}\n{"ok": 1}\n')
    cp = run_local(host_bin, ["--local", "events.jsonl"], cwd=fn_root)
    assert cp.returncode == 1, cp.stderr
    lines = cp.stdout.decode().splitlines()
    assert len(lines) == 2
    rid = reports(cp.stderr)[0]["rid"]
    path = str(fn_root / "lambda_function.py")
    assert lines[0].encode() == dumps({
        "errorMessage": "bad event", "errorType": "ValueError", "requestId": rid,
        "stackTrace": [frame(path, 12, "lambda_handler", 'raise ValueError("bad event")')]})
    assert json.loads(lines[1])["count"] == 2


def test_marshalling_same_as_runtime(host_bin, tmp_task_root):
    # awslambdaric.md §4: the same marshaller (str quoted, None null, Decimal, float repr,
    # raw UTF-8).
    write(tmp_task_root, "app.py", """
        from decimal import Decimal
        def fn(event, context):
            return [event["k"], None, Decimal("1.10"), 1e300, "\\u00e9\\U0001F600"]
    """)
    write(tmp_task_root, "ev.json", '{"k": "v"}')
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.fn"], cwd=tmp_task_root)
    assert cp.stdout == '["v", null, 1.10, 1e+300, "\u00e9\U0001F600"]\n'.encode("utf-8")


def test_init_error_exit_2(host_bin, tmp_task_root):
    # Brief: init errors -> exit 2 with a message on stderr naming the problem.
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "nomod.fn"],
                   cwd=tmp_task_root)
    assert cp.returncode == 2
    err = cp.stderr.decode()
    assert "nomod" in err and "Runtime.ImportModuleError" in err, err


def test_init_error_missing_default_handler(host_bin, tmp_task_root):
    # Brief: default lambda_function.lambda_handler absent -> exit 2, the message names it.
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json"], cwd=tmp_task_root)
    assert cp.returncode == 2
    assert "lambda_function" in cp.stderr.decode()


@pytest.mark.parametrize("args,needle", [
    (["--local"], "--local"),
    (["--local", "nope.json"], "nope.json"),
    (["--local", "ev.json", "--bogus-flag"], "--bogus-flag"),
    (["--local", "ev.json", "--timeout", "abc"], "--timeout"),
])
def test_usage_errors_exit_2(host_bin, fn_root, args, needle):
    # Brief: usage errors -> exit 2 with a message on stderr naming the problem. (An event
    # that is not valid JSON is not one: it gets runtime mode's Runtime.UnmarshalError
    # document, exit 1; tests/e2e/test_event.py, issue 8 item 4.)
    write(fn_root, "ev.json", "{}")
    cp = run_local(host_bin, args, cwd=fn_root)
    assert cp.returncode == 2, (cp.returncode, cp.stdout, cp.stderr)
    assert needle in cp.stderr.decode(), cp.stderr
    assert cp.stdout == b""


def test_timeout_stops_handler(host_bin, tmp_task_root):
    # Brief + runtime-api.md §4: a handler past --timeout is stopped, errorType
    # Sandbox.Timedout, message ending "Task timed out after N.00 seconds", exit 1.
    write(tmp_task_root, "app.py", """
        import time
        def fn(event, context):
            time.sleep(20)
            return "too late"
    """)
    write(tmp_task_root, "ev.json", "{}")
    t0 = time.monotonic()
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.fn", "--timeout", "1"],
                   cwd=tmp_task_root, timeout=15)
    elapsed = time.monotonic() - t0
    assert cp.returncode == 1, cp.stderr
    assert elapsed < 8
    doc = json.loads(cp.stdout.decode().splitlines()[0])
    assert doc["errorType"] == "Sandbox.Timedout"
    assert doc["errorMessage"].endswith("Task timed out after 1.00 seconds")


def test_timeout_in_busy_python_loop(host_bin, tmp_task_root):
    # Brief: also a CPU-bound handler that never sleeps is stopped.
    write(tmp_task_root, "app.py", """
        def fn(event, context):
            while True:
                pass
    """)
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.fn", "--timeout", "1"],
                   cwd=tmp_task_root, timeout=15)
    assert cp.returncode == 1
    doc = json.loads(cp.stdout.decode().splitlines()[0])
    assert doc["errorType"] == "Sandbox.Timedout"


def test_remaining_time_sees_timeout(host_bin, tmp_task_root):
    # Brief: get_remaining_time_in_millis sees the --timeout deadline.
    write(tmp_task_root, "app.py", """
        def fn(event, context):
            return context.get_remaining_time_in_millis()
    """)
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.fn", "--timeout", "5"],
                   cwd=tmp_task_root)
    assert cp.returncode == 0, cp.stderr
    assert 3500 < out_lines(cp)[0] <= 5000


def test_help(host_bin, tmp_task_root):
    # Brief: --help exits 0 and documents the flags.
    cp = run_local(host_bin, ["--help"], cwd=tmp_task_root)
    assert cp.returncode == 0
    text = (cp.stdout + cp.stderr).decode()
    for flag in ("--local", "--handler", "--task-root", "--env-vars", "--timeout",
                 "--function-name", "--memory-size", "--version"):
        assert flag in text, flag


def test_version(host_bin, tmp_task_root):
    # Brief: --version prints the host version and the embedded Python version.
    cp = run_local(host_bin, ["--version"], cwd=tmp_task_root)
    assert cp.returncode == 0
    text = (cp.stdout + cp.stderr).decode()
    assert platform.python_version() in text, text
    assert re.search(r"\d+\.\d+\.\d+", text.replace(platform.python_version(), ""))
