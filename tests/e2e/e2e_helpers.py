"""Helpers shared by the e2e tests of host (not a test module)."""

import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rapi_server import start_host

HANDLERS_DIR = Path(__file__).resolve().parent / "handlers"

TS_MS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
TS_S = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"

LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function "
    "code. However, in rare cases, a Lambda runtime update can cause unexpected function "
    "behavior. For functions using managed runtimes, runtime updates can be triggered by a "
    "function change, or can be applied automatically. To determine if the runtime has been "
    "updated, check the runtime version in the INIT_START log entry. If this error correlates "
    "with a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

PY_XY = "%d.%d" % sys.version_info[:2]


def copy_handlers(task_root):
    """Copies tests/e2e/handlers/* into the task root."""
    shutil.copytree(HANDLERS_DIR, task_root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))


def write(task_root, rel, text):
    """Writes a (dedented) file under the task root; returns its path as str."""
    p = Path(task_root) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(p)


def dumps(obj):
    """The official encoder's text form for plain JSON values (", "/": " separators,
    ensure_ascii off, as in python3.12+ envs: awslambdaric.md §4, §9)."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def error_body(message, etype, request_id, stack):
    return dumps({"errorMessage": message, "errorType": etype, "requestId": request_id,
                  "stackTrace": stack})


def frame(path, lineno, func, line):
    """One stackTrace element in traceback.format_list form (no caret line)."""
    return '  File "%s", line %d, in %s\n    %s\n' % (path, lineno, func, line)


def ordered(body):
    """JSON-decodes keeping key order: returns (value, list-of-keys-at-top)."""
    pairs = json.loads(body, object_pairs_hook=lambda kv: kv)
    return pairs


def keys_of(body):
    return [k for k, _ in json.loads(body, object_pairs_hook=lambda kv: kv)]


def run_invokes(host_bin, rapi, task_root, handler, events, env=None, timeout=10,
                args=(), wait_exit=False, **popen_kwargs):
    """Queues `events` (each a body, or a dict {"body": ..., <enqueue kwargs>} when given
    as Ev(...)), starts host, waits for every result. Returns (proc, [Result, ...])."""
    rids = []
    for ev in events:
        if isinstance(ev, Ev):
            rids.append(rapi.enqueue(ev.body, **ev.kwargs))
        else:
            rids.append(rapi.enqueue(ev))
    proc = start_host(host_bin, rapi, task_root, handler, env=env, args=args, **popen_kwargs)
    results = []
    for rid in rids:
        try:
            results.append(rapi.wait_for_result(rid, timeout=timeout))
        except AssertionError as e:
            raise AssertionError("%s\nhost exit code: %s\nstdout: %s\nstderr: %s" % (
                e, proc.poll(), proc.stdout_text()[-4000:], proc.stderr_text()[-4000:]))
    return proc, results


def invoke_one(host_bin, rapi, task_root, handler, event, env=None, timeout=10, **kw):
    proc, results = run_invokes(host_bin, rapi, task_root, handler,
                                [Ev(event, **kw)], env=env, timeout=timeout)
    return proc, results[0]


class Ev(object):
    """An event with enqueue() keyword arguments (content_type, headers, request_id, ...)."""

    def __init__(self, body, **kwargs):
        self.body = body
        self.kwargs = kwargs


def wait_init_error(host_bin, rapi, task_root, handler, env=None, timeout=10, args=()):
    """Starts host expecting an init failure: returns (proc, init-error Result, exit code)."""
    proc = start_host(host_bin, rapi, task_root, handler, env=env, args=args)
    try:
        ie = rapi.wait_for_init_error(timeout=timeout)
    except AssertionError as e:
        raise AssertionError("%s\nhost exit code: %s\nstdout: %s\nstderr: %s" % (
            e, proc.poll(), proc.stdout_text()[-4000:], proc.stderr_text()[-4000:]))
    rc = proc.wait_exit(timeout)
    return proc, ie, rc


def settle(proc, seconds=0.3):
    """Gives host a moment to do (or not do) something more."""
    time.sleep(seconds)


def reference_stack(task_root, module, func, event=None):
    """The stackTrace awslambdaric would post for `module.func(event, None)`: run the handler
    in a plain /usr/bin/python3 (the same Python host embeds), take the traceback frames below
    the caller, format them as plain (filename, lineno, name, line) tuples with
    traceback.format_list, as the official client does: no column carets (awslambdaric.md
    §5.1)."""
    code = textwrap.dedent("""
        import json, sys, traceback, importlib
        sys.path.insert(0, sys.argv[1])
        mod = importlib.import_module(sys.argv[2])
        try:
            getattr(mod, sys.argv[3])(json.loads(sys.argv[4]), None)
        except Exception as e:
            frames = traceback.extract_tb(e.__traceback__)[1:]
            tuples = [(f.filename, f.lineno, f.name, f.line) for f in frames]
            print(json.dumps(traceback.format_list(tuples)))
    """)
    out = subprocess.run([sys.executable, "-c", code, str(task_root), module, func,
                          json.dumps(event)], capture_output=True, text=True, timeout=30,
                         cwd=str(task_root))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def parse_frames(data):
    """Parses telemetry frames (awslambdaric.md §8.5): [(type, timestamp_us, message)]."""
    frames = []
    i = 0
    while i < len(data):
        assert len(data) - i >= 16, "truncated frame header at %d: %r" % (i, data[i:])
        ftype = int.from_bytes(data[i:i + 4], "big")
        length = int.from_bytes(data[i + 4:i + 8], "big")
        ts = int.from_bytes(data[i + 8:i + 16], "big")
        msg = data[i + 16:i + 16 + length]
        assert len(msg) == length, "truncated frame body"
        frames.append((ftype, ts, msg.decode("utf-8")))
        i += 16 + length
    return frames


def log_lines(text, level):
    """Runtime log lines `[LEVEL]\\t<ts>\\t<rid>\\t<msg>` found in text: [(rid, msg)]."""
    pat = re.compile(r"^\[%s\]\t(%s)\t([^\t\n]*)\t(.*)$" % (re.escape(level), TS_MS), re.M)
    return [(m.group(2), m.group(3)) for m in pat.finditer(text)]
