"""The JSON decoding cases of tests/json (simplejson 3.20.1's own results, see
tests/json/expected.py) through the built binary, in runtime mode and in local mode: the same
decoder, the same Runtime.UnmarshalError documents (awslambdaric.md §3.4 as corrected by
issue 8: NaN/Infinity rejected, the first error reported, BOM and lone surrogates as
simplejson takes them)."""

import json
from pathlib import Path

from e2e_helpers import dumps, write
from rapi_server import run_local, start_host

CASES = Path(__file__).resolve().parent.parent / "json"

# The handler reports what it was given as ascii(event), the form of the valid/ cases.
ASCII_HANDLER = """
def handler(event, context):
    return ascii(event)
"""


def load_cases():
    cases = []
    for kind, expected in (("valid", "output"), ("invalid", "error")):
        for d in sorted((CASES / kind).iterdir()):
            want = (d / expected).read_text(encoding="ascii")
            assert want.endswith("\n"), d
            cases.append((d.name, kind == "valid", (d / "input").read_bytes(), want[:-1]))
    assert len(cases) > 100
    return cases


def want_body(valid, want, request_id):
    """What host must post (or print) for a case."""
    if valid:
        return dumps(want)
    return dumps({"errorMessage": "Unable to unmarshal input: " + want,
                  "errorType": "Runtime.UnmarshalError", "requestId": request_id,
                  "stackTrace": []})


def test_cases_in_runtime_mode(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", ASCII_HANDLER)
    cases = load_cases()
    rids = [rapi.enqueue(body, request_id="rid-%s" % name) for name, _, body, _ in cases]
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    wrong = []
    for (name, valid, _, want), rid in zip(cases, rids):
        res = rapi.wait_for_result(rid, timeout=30)
        if res.kind != ("response" if valid else "error") or res.body != want_body(valid, want, rid):
            wrong.append("%s: %s %r" % (name, res.kind, res.body[:300]))
    assert not wrong, "\n".join(wrong)
    assert proc.poll() is None  # every error was reported and the loop went on


def test_cases_in_local_mode_as_in_runtime_mode(host_bin, tmp_task_root, tmp_path):
    # Issue 8 item 4: local mode decodes each event when it runs, with the decoder of
    # runtime mode (no pre-check of its own): a BOM, lone surrogates and everything
    # simplejson takes run; an invalid event prints runtime mode's error document on
    # stdout, the next events still run, and the exit status is 1 as for a handler error.
    write(tmp_task_root, "app.py", ASCII_HANDLER)
    cases = load_cases()
    args = []
    for name, _, body, _ in cases:
        path = tmp_path / (name + ".json")
        path.write_bytes(body)
        args += ["--local", str(path)]
    cp = run_local(host_bin, args + ["--handler", "app.handler"], cwd=tmp_task_root,
                   timeout=120)
    assert cp.returncode == 1, cp.stderr[-3000:]
    lines = cp.stdout.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(cases) + 1, cp.stdout[-3000:]
    wrong = []
    for (name, valid, _, want), line in zip(cases, lines):
        rid = "" if valid else json.loads(line).get("requestId", "")
        if line != want_body(valid, want, rid):
            wrong.append("%s: %r" % (name, line[:300]))
    assert not wrong, "\n".join(wrong)


def test_local_mode_only_valid_events_exit_zero(host_bin, tmp_task_root, tmp_path):
    # The events jansson's pre-check refused, though simplejson takes them.
    write(tmp_task_root, "app.py", ASCII_HANDLER)
    events = {"bom.json": b'\xef\xbb\xbf{"a": 1}', "lone.json": b'["\\ud800", "\\udc00"]',
              "latin1_bom.json": "\u00ef\u00bb\u00bf[1]".encode()}
    args = []
    for name, body in events.items():
        (tmp_path / name).write_bytes(body)
        args += ["--local", str(tmp_path / name)]
    cp = run_local(host_bin, args + ["--handler", "app.handler"], cwd=tmp_task_root)
    assert cp.returncode == 0, cp.stderr[-3000:]
    assert cp.stdout == b'"{\'a\': 1}"\n"[\'\\\\ud800\', \'\\\\udc00\']"\n"[1]"\n'
