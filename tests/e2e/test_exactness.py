"""Issue 8's exactness items: what host writes where the official runtime writes nothing, the
error document surviving a broken logging path, uncaught BaseExceptions, local mode's exits,
regions, terminal output and the sandbox reset after a timeout (awslambdaric.md §2.3, §3.5,
§5.1, §10)."""

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from e2e_helpers import LAMBDA_WARNING, dumps, run_invokes, settle, write
from rapi_server import base_env, run_local, start_host

APP = """
import sys


class Custom(BaseException):
    pass


def handler(event, context):
    kind = event.get("kind")
    if kind == "surrogate":
        raise ValueError("bad \\ud800 text")
    if kind == "close_stdout":
        sys.stdout.close()
        raise ValueError("after closing stdout")
    if kind == "clear_modules":
        sys.modules.clear()
        raise KeyError("after clearing sys.modules")
    if kind == "generator_exit":
        raise GeneratorExit("gen")
    if kind == "custom_base":
        raise Custom("custom")
    if kind == "exit":
        sys.exit(event["status"])
    if kind == "plain":
        raise ValueError("plain " + event.get("tag", ""))
    return {"ok": kind}
"""


@pytest.fixture
def app(tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    return tmp_task_root


def error_of(res):
    doc = json.loads(res.body)
    return doc["errorType"], doc["errorMessage"]


# ---- the error document survives a broken logging path (runtime mode) ----------------

@pytest.mark.parametrize("kind, first", [
    ("surrogate", ("ValueError", "bad \ud800 text")),
    ("close_stdout", ("ValueError", "after closing stdout")),
    ("clear_modules", ("KeyError", "'after clearing sys.modules'")),
])
def test_error_document_survives_broken_logging(host_bin, rapi, app, kind, first):
    proc, results = run_invokes(host_bin, rapi, app, "app.handler",
                                [{"kind": kind}, {"kind": "plain", "tag": "next"},
                                 {"kind": "ok"}])
    assert [r.kind for r in results] == ["error", "error", "response"]
    assert error_of(results[0]) == first
    # every later error keeps its real type and message
    assert error_of(results[1]) == ("ValueError", "plain next")
    assert json.loads(results[1].body)["stackTrace"][0].endswith(
        'raise ValueError("plain " + event.get("tag", ""))\n')
    assert results[2].body == dumps({"ok": "ok"})


def test_surrogate_message_is_valid_json_and_logged(host_bin, rapi, app):
    proc, results = run_invokes(host_bin, rapi, app, "app.handler", [{"kind": "surrogate"}])
    body = results[0].body
    body.decode("utf-8")  # valid UTF-8: the lone surrogate is written as its JSON escape
    assert b'"errorMessage": "bad \\ud800 text"' in body
    settle(proc)
    assert "[ERROR] ValueError: bad \\ud800 text\rTraceback" in proc.stdout_text()


# ---- BaseException escaping the handler: Python's own exit ----------------------------

@pytest.mark.parametrize("kind, name", [("generator_exit", "GeneratorExit: gen"),
                                        ("custom_base", "Custom: custom")])
def test_base_exception_prints_traceback_and_exits_1(host_bin, rapi, app, kind, name):
    rapi.enqueue({"kind": kind})
    proc = start_host(host_bin, rapi, app, "app.handler")
    assert proc.wait_exit(10) == 1
    err = proc.stderr_text()
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert err.rstrip("\n").endswith(name)
    assert "host:" not in err
    assert rapi.count("response") == 0 and rapi.count("error") == 0


# ---- nothing of host's own on stdout/stderr in runtime mode ----------------------------

def test_init_failure_writes_only_the_official_lines(host_bin, rapi, app):
    proc = start_host(host_bin, rapi, app, "missing_module.handler")
    assert proc.wait_exit(10) == 1
    assert proc.stderr_text() == ""
    out = proc.stdout_text()
    assert out.startswith("[WARNING]\t")
    assert LAMBDA_WARNING in out
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'missing_module'" in out
    assert "host:" not in out


@pytest.mark.parametrize("status, code", [(3, 3), (0, 0), (-1, 255)])
def test_sys_exit_in_handler_is_silent(host_bin, rapi, app, status, code):
    rapi.enqueue({"kind": "exit", "status": status})
    proc = start_host(host_bin, rapi, app, "app.handler")
    assert proc.wait_exit(10) == code
    assert proc.stderr_text() == ""
    assert proc.stdout_text() == ""


def test_lost_connection_leaves_only_the_official_line(host_bin, app):
    # Nothing listens on this port: GET next fails 4 times, then the official line, exit 1.
    proc = start_host(host_bin, "127.0.0.1:9", app, "app.handler")
    assert proc.wait_exit(20) == 1
    assert proc.stderr_text() == ""
    assert "[ERROR] [" in proc.stdout_text()
    assert "LAMBDA_RUNTIME Failed to get next invocation. No Response from endpoint" in \
        proc.stdout_text()


def test_host_debug_shows_host_diagnostics(host_bin, rapi, app):
    proc = start_host(host_bin, rapi, app, "missing_module.handler", env={"HOST_DEBUG": "1"})
    assert proc.wait_exit(10) == 1
    assert "host: exiting: init failed: Runtime.ImportModuleError" in proc.stderr_text()


def test_init_error_stack_has_no_carets(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "boom.py", "data = {}\nvalue = data['missing']['deeper']\n")
    proc = start_host(host_bin, rapi, tmp_task_root, "boom.handler")
    ie = rapi.wait_for_init_error(timeout=10)
    assert proc.wait_exit(10) == 1
    stack = json.loads(ie.body)["stackTrace"]
    assert stack and stack[-1].endswith("value = data['missing']['deeper']\n")
    assert not any("^" in line or "~" in line for line in stack), stack
    assert "^" not in proc.stdout_text()


# ---- local mode ------------------------------------------------------------------------

def local(host_bin, root, events, *args, env=None, timeout=30):
    paths = []
    for i, ev in enumerate(events):
        write(root, "ev%d.json" % i, json.dumps(ev))
        paths += ["--local", "ev%d.json" % i]
    return run_local(host_bin, paths + ["--handler", "app.handler"] + list(args), cwd=root,
                     env=env, timeout=timeout)


@pytest.mark.parametrize("status, shown", [(-1, 255), (-2, 254), (3, 3)])
def test_local_sys_exit_stops_and_fails(host_bin, app, status, shown):
    cp = local(host_bin, app, [{"kind": "exit", "status": status}, {"kind": "ok"}])
    assert cp.returncode == 1
    lines = cp.stdout.decode().splitlines()
    assert len(lines) == 1, lines  # the next event did not run
    doc = json.loads(lines[0], object_pairs_hook=list)
    assert [k for k, _ in doc] == ["errorMessage", "errorType"]
    assert dict(doc)["errorType"] == "Runtime.ExitError"
    assert dict(doc)["errorMessage"].endswith(
        "Error: Runtime exited with error: exit status %d" % shown)
    assert b"1 remaining event(s) not run" in cp.stderr


def test_local_base_exception_is_an_exit(host_bin, app):
    cp = local(host_bin, app, [{"kind": "generator_exit"}, {"kind": "ok"}])
    assert cp.returncode == 1
    assert b"Traceback (most recent call last):" in cp.stderr
    assert b"GeneratorExit: gen" in cp.stderr
    assert json.loads(cp.stdout.decode().splitlines()[0])["errorType"] == "Runtime.ExitError"


COUNTER = """
import os, time
RUNS = 0

def handler(event, context):
    global RUNS
    RUNS += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"runs_in_this_init": RUNS, "pid": os.getpid()}
"""


def test_local_timeout_gives_the_next_event_a_fresh_init(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", COUNTER)
    cp = local(host_bin, tmp_task_root, [{}, {}, {"sleep": 5}, {}, {}], "--timeout", "1")
    assert cp.returncode == 1
    docs = [json.loads(l) for l in cp.stdout.decode().splitlines()]
    assert [d.get("runs_in_this_init") for d in docs] == [1, 2, None, 1, 2]
    assert docs[2]["errorType"] == "Sandbox.Timedout"
    assert docs[0]["pid"] == docs[1]["pid"] != docs[3]["pid"] == docs[4]["pid"]
    # Init Duration on the first REPORT of each init
    reports = [l for l in cp.stderr.decode().splitlines() if l.startswith("REPORT")]
    assert ["Init Duration" in r for r in reports] == [True, False, False, True, False]


def test_local_timeout_stuck_in_c_code_goes_on(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import ctypes, os
        def handler(event, context):
            if event.get("stuck"):
                ctypes.CDLL(None).sleep(30)   # C code: never returns to Python in time
            return {"pid": os.getpid()}
    """)
    cp = local(host_bin, tmp_task_root, [{"stuck": True}, {}], "--timeout", "1", timeout=20)
    docs = [json.loads(l) for l in cp.stdout.decode().splitlines()]
    assert docs[0]["errorType"] == "Sandbox.Timedout"
    assert "pid" in docs[1]
    assert cp.returncode == 1


# ---- region -----------------------------------------------------------------------------

REGION_APP = """
import os
def handler(event, context):
    return [os.environ.get("AWS_REGION"), os.environ.get("AWS_DEFAULT_REGION"),
            context.invoked_function_arn.split(":")[3]]
"""


def region_run(host_bin, root, *args, env=None):
    write(root, "app.py", REGION_APP)
    cp = local(host_bin, root, [{}], *args, env=env)
    assert cp.returncode == 0, cp.stderr
    return json.loads(cp.stdout)


def test_region_flag_wins(host_bin, tmp_task_root):
    assert region_run(host_bin, tmp_task_root, "--region", "eu-west-3",
                      env={"AWS_REGION": "ap-south-1"}) == ["eu-west-3"] * 3


@pytest.mark.parametrize("var", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_region_from_environment(host_bin, tmp_task_root, var):
    assert region_run(host_bin, tmp_task_root, env={var: "ca-central-1"}) == ["ca-central-1"] * 3


def test_region_from_env_vars_file(host_bin, tmp_task_root):
    write(tmp_task_root, "env.json", '{"AWS_REGION": "sa-east-1"}')
    assert region_run(host_bin, tmp_task_root, "--env-vars", "env.json") == ["sa-east-1"] * 3


def test_region_from_profile(host_bin, tmp_task_root):
    cfg = write(tmp_task_root, "aws-config", """
        [default]
        region = us-west-1
        [profile work]
        # a comment
        output = json
        region = eu-north-1
    """)
    env = {"AWS_CONFIG_FILE": cfg, "AWS_REGION": None, "AWS_DEFAULT_REGION": None}
    assert region_run(host_bin, tmp_task_root, env=env) == ["us-west-1"] * 3
    env["AWS_PROFILE"] = "work"
    assert region_run(host_bin, tmp_task_root, env=env) == ["eu-north-1"] * 3


def test_region_default(host_bin, tmp_task_root):
    env = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_REGION": None, "AWS_DEFAULT_REGION": None}
    assert region_run(host_bin, tmp_task_root, env=env) == ["us-east-1"] * 3


# ---- local mode at a terminal ------------------------------------------------------------

TERM_APP = """
import logging, time
def handler(event, context):
    if event.get("sleep"):
        print("sleeping", flush=True)
        time.sleep(event["sleep"])
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("caught")
    raise ValueError("shown")
"""


def run_on_pty(host_bin, root, args, interrupt_after=None, timeout=20):
    """Runs host with stderr (and stdin) on a pseudo-terminal, stdout on a pipe. The test keeps
    the terminal's slave side open until host has exited and the output is drained: Linux may
    drop what is buffered in a pty once its last slave fd closes."""
    master, slave = pty.openpty()
    env = base_env()
    proc = subprocess.Popen([host_bin] + args, cwd=str(root), env=env, stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave, start_new_session=True)
    data, deadline = b"", time.time() + timeout
    sent = False
    exited_at = None
    while time.time() < deadline:
        if interrupt_after and not sent and interrupt_after.encode() in data:
            # The handler prints its marker just before time.sleep(): a SIGINT that lands
            # between CPython's signal check and the sleep's system call is seen only when
            # the sleep ends (CPython's own race), so let it get into the sleep first.
            time.sleep(0.3)
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
            sent = True
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            data += os.read(master, 65536)
            continue
        if proc.poll() is not None:
            if exited_at is None:
                exited_at = time.time()
            elif time.time() - exited_at > 0.3:   # drained
                break
    out = proc.stdout.read()
    rc = proc.wait(timeout=10)
    os.close(slave)
    os.close(master)
    return rc, out, data.decode("utf-8", "replace").replace("\r\n", "\n")


def test_terminal_tracebacks_on_real_lines(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", TERM_APP)
    write(tmp_task_root, "ev.json", "{}")
    rc, out, term = run_on_pty(host_bin, tmp_task_root, ["--local", "ev.json", "--handler",
                                                         "app.handler"])
    assert rc == 1
    assert "[ERROR] ValueError: shown\nTraceback (most recent call last):\n" in term
    assert "\r" not in term.replace("\r\n", "\n")
    # the logging.exception record ends with a newline: END starts its own line
    assert "ZeroDivisionError: division by zero\n" in term
    assert "\nEND RequestId: " in term
    assert json.loads(out)["errorType"] == "ValueError"


def test_not_a_terminal_keeps_the_exact_bytes(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", TERM_APP)
    write(tmp_task_root, "ev.json", "{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.handler"],
                   cwd=tmp_task_root)
    assert b"[ERROR] ValueError: shown\rTraceback (most recent call last):\r" in cp.stderr
    assert b"ZeroDivisionError: division by zeroEND RequestId" not in cp.stderr  # END has its own line
    assert b"ZeroDivisionError: division by zero[ERROR] ValueError" in cp.stderr  # the quirk


def test_ctrl_c_says_interrupted(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", TERM_APP)
    write(tmp_task_root, "a.json", '{"sleep": 30}')
    write(tmp_task_root, "b.json", '{}')
    rc, out, term = run_on_pty(host_bin, tmp_task_root,
                               ["--local", "a.json", "--local", "b.json", "--handler",
                                "app.handler", "--timeout", "60"], interrupt_after="sleeping")
    assert rc == 130
    assert "host: interrupted; 1 remaining event(s) not run" in term
    assert "exited" not in term
    assert out == b""


def test_crash_of_a_forked_child_is_not_the_invocations(host_bin, rapi, tmp_task_root):
    # A multiprocessing child (fork) inherits host's fatal-signal handlers; its crash must
    # not post Runtime.ExitError for the parent's invocation, which goes on and answers.
    write(tmp_task_root, "app.py", """
        import multiprocessing, os
        def crash():
            os.abort()
        def handler(event, context):
            p = multiprocessing.get_context("fork").Process(target=crash)
            p.start()
            p.join()
            return {"child_exit": p.exitcode}
    """)
    rid = rapi.enqueue({})
    rapi.enqueue({"second": True})
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    res = rapi.wait_for_result(rid)
    assert res.kind == "response" and json.loads(res.body) == {"child_exit": -6}
    settle(proc)
    assert [r.kind for r in rapi.results_for(rid)] == ["response"]
    assert "host:" not in proc.stderr_text()
