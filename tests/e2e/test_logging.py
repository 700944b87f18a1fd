"""Logging (awslambdaric.md §8: stdout/stderr, root logger, levels, JSON format, log_error,
telemetry fd framing)."""

import calendar
import json
import os
import re
import time

import pytest

from e2e_helpers import LAMBDA_WARNING, TS_MS, TS_S, invoke_one, parse_frames, write
from rapi_server import start_host


def ts_to_epoch(ts):
    # "YYYY-MM-DDTHH:MM:SS[.mmm]Z" as UTC
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


# -------------------------------------------------------------------------------------------
# stdout / stderr (§8.1)


def test_print_before_crash_is_not_lost(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.1: sys.stdout/sys.stderr flush after every write.
    write(tmp_task_root, "app.py", """
        import os, sys
        def handler(event, context):
            print("before-crash")
            sys.stdout.write("no-newline")
            sys.stderr.write("err-no-newline")
            sys.stdout.writelines(["w1", "w2"])
            os._exit(5)
    """)
    rid = rapi.enqueue({})
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    assert proc.wait_exit(10) == 5
    assert "before-crash\nno-newlinew1w2" in proc.stdout_text()
    assert "err-no-newline" in proc.stderr_text()
    assert rapi.results_for(rid) == []


def test_print_goes_to_stdout_unframed_and_stderr(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.1: the same fds 1/2 are kept.
    write(tmp_task_root, "app.py", """
        import sys
        def handler(event, context):
            print("to-stdout")
            print("to-stderr", file=sys.stderr)
            return [sys.stdout.fileno(), sys.stderr.fileno()]
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.json() == [1, 2]
    assert "to-stdout\n" in proc.stdout_text()
    assert "to-stderr\n" in proc.stderr_text()


# -------------------------------------------------------------------------------------------
# Root logger, text format (§8.2, §8.3)

LOG_APP = """
import logging, os, sys, time
logging.warning("at import")

def handler(event, context):
    logging.debug("debug-msg")
    logging.info("info-msg")
    logging.warning("warn msg")
    logging.getLogger("app.mod").error("named %s", "logger")
    logging.critical("crit-msg")
    logging.warning("two\\nlines")
    return logging.getLogger().level
"""


def test_text_format_and_request_id(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.2: [LEVEL]\t<UTC ts>.mmmZ\t<request id>\t<msg>\n; "" before the first
    # invoke; default level WARNING (info/debug dropped).
    write(tmp_task_root, "app.py", LOG_APP)
    t0 = time.time()
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, request_id="req-1")
    assert res.json() == 30
    out = proc.stdout_text()
    assert re.search(r"^\[WARNING\]\t%s\t\tat import\n" % TS_MS, out, re.M), out
    m = re.search(r"^\[WARNING\]\t(%s)\treq-1\twarn msg\n" % TS_MS, out, re.M)
    assert m, out
    assert abs(ts_to_epoch(m.group(1)) - t0) < 60  # UTC
    assert re.search(r"^\[ERROR\]\t%s\treq-1\tnamed logger\n" % TS_MS, out, re.M), out
    assert re.search(r"^\[CRITICAL\]\t%s\treq-1\tcrit-msg\n" % TS_MS, out, re.M), out
    assert re.search(r"^\[WARNING\]\t%s\treq-1\ttwo\nlines\n" % TS_MS, out, re.M), out
    assert "debug-msg" not in out and "info-msg" not in out


def test_basic_config_is_noop(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.2 (issue #38): basicConfig is a no-op; info still dropped.
    write(tmp_task_root, "app.py", """
        import logging
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        def handler(event, context):
            logging.info("after-basic-config")
            logging.warning("warn-after")
            return [logging.getLogger().level, len(logging.getLogger().handlers)]
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, request_id="r")
    assert res.json() == [30, 1]
    out = proc.stdout_text()
    assert "after-basic-config" not in out
    assert re.search(r"^\[WARNING\]\t%s\tr\twarn-after\n" % TS_MS, out, re.M)


@pytest.mark.parametrize("value,level", [
    ("INFO", 20), ("info", 20), ("DEBUG", 10), ("TRACE", 10), ("ERROR", 40), ("WARN", 30),
    ("CRITICAL", 50), ("VERBOSE", 30),
])
def test_aws_lambda_log_level(host_bin, rapi, tmp_task_root, value, level):
    # awslambdaric.md §8.3: upper-cased; TRACE -> DEBUG; unknown values leave WARNING.
    write(tmp_task_root, "app.py", LOG_APP)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {},
                           env={"AWS_LAMBDA_LOG_LEVEL": value})
    assert res.json() == level
    out = proc.stdout_text()
    levels = {"debug-msg": 10, "info-msg": 20, "warn msg": 30, "named logger": 40,
              "crit-msg": 50}
    for msg, lvl in levels.items():
        assert (msg in out) == (lvl >= level), (msg, out)


def test_user_can_change_level(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.3: setLevel later is respected.
    write(tmp_task_root, "app.py", """
        import logging
        logging.getLogger().setLevel(logging.INFO)
        def handler(event, context):
            logging.info("now-visible")
            return 1
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, request_id="r9")
    assert re.search(r"^\[INFO\]\t%s\tr9\tnow-visible\n" % TS_MS, proc.stdout_text(), re.M)


def test_formatters_use_utc_process_wide(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.2: logging.Formatter.converter = time.gmtime (user formatters too).
    write(tmp_task_root, "app.py", """
        import logging
        def handler(event, context):
            rec = logging.LogRecord("x", logging.WARNING, __file__, 1, "m", None, None)
            rec.created = 0.0
            rec.msecs = 0
            return logging.Formatter("%(asctime)s").format(rec)
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {},
                           env={"TZ": "Asia/Tokyo"})
    assert res.json() == "1970-01-01 00:00:00,000"


def test_exc_info_text_and_glued_next_write(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.2: with exc_info the traceback follows the format's "\n" and has no
    # final newline, so the next write is glued on.
    write(tmp_task_root, "app.py", """
        import logging
        def handler(event, context):
            try:
                1 / 0
            except ZeroDivisionError:
                logging.exception("oops")
            context.log("ctxline")
            return 1
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, request_id="rx")
    out = proc.stdout_text()
    assert re.search(r"\[ERROR\]\t%s\trx\toops\nTraceback \(most recent call last\):\n"
                     r"  File \"%s\", line 4, in handler\n.*"
                     r"ZeroDivisionError: division by zeroctxline"
                     % (TS_MS, re.escape(str(tmp_task_root / "app.py"))), out, re.S), out


def test_context_log_raw(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: context.log(msg) writes str(msg) raw: no newline, level, timestamp.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            context.log("A")
            context.log("B\\n")
            context.log(42)
            print("")
            return 1
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert "AB\n42\n" in proc.stdout_text()


def test_logs_from_thread_after_invoke_keep_last_request_id(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.3: the request id is not cleared after an invoke.
    write(tmp_task_root, "app.py", """
        import logging, threading, time
        def later():
            time.sleep(0.3)
            logging.warning("from-thread")
        def handler(event, context):
            threading.Thread(target=later, daemon=True).start()
            return 1
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, request_id="r-bg")
    out = proc.wait_for_output("from-thread", timeout=5, stream="stdout")
    assert re.search(r"^\[WARNING\]\t%s\tr-bg\tfrom-thread\n" % TS_MS, out, re.M), out


# -------------------------------------------------------------------------------------------
# JSON format (§8.6) and JSON log_error (§8.4)

JSON_APP = """
import logging
logging.warning("at import")

def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad")
    logging.warning("warn msg\\nsecond line")
    logging.getLogger("app.mod").error("with extra",
                                       extra={"custom_key": "cv", "gone": None, "n": 1})
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("boom")
    logging.log(25, "custom level")
    logging.info("info %s", "merged")
    logging.debug("dropped-debug")
    context.log("raw ctx\\n")
    return 1
"""


def json_lines(text):
    return [json.loads(l) for l in text.split("\n") if l.startswith("{")]


def test_json_log_records(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.6: key order timestamp, level, message, logger, [stackTrace,
    # errorType, errorMessage], requestId, [location], tenantId, extras; None removed;
    # seconds-only UTC timestamp.
    write(tmp_task_root, "app.py", JSON_APP)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {},
                           request_id="rid-logs",
                           headers={"Lambda-Runtime-Aws-Tenant-Id": "ten-1"},
                           env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    assert res.kind == "response"
    out = proc.stdout_text()
    raw = [l for l in out.split("\n") if l.startswith("{")]
    docs = [json.loads(l, object_pairs_hook=lambda kv: kv) for l in raw]
    by_msg = {dict(d)["message"]: d for d in docs}
    for d in docs:
        assert re.fullmatch(TS_S, dict(d)["timestamp"])

    imp = by_msg["at import"]
    assert [k for k, _ in imp] == ["timestamp", "level", "message", "logger", "requestId"]
    assert dict(imp)["requestId"] == ""

    w = by_msg["warn msg\nsecond line"]
    assert [(k, v) for k, v in w][1:] == [("level", "WARNING"),
                                           ("message", "warn msg\nsecond line"),
                                           ("logger", "root"), ("requestId", "rid-logs"),
                                           ("tenantId", "ten-1")]
    # the exact line, ensure_ascii off, ", " separators
    line = [l for l in raw if '"warn msg' in l][0]
    assert line == ('{"timestamp": "%s", "level": "WARNING", "message": "warn msg\\nsecond line", '
                    '"logger": "root", "requestId": "rid-logs", "tenantId": "ten-1"}'
                    % dict(w)["timestamp"])

    e = by_msg["with extra"]
    assert [(k, v) for k, v in e][1:] == [("level", "ERROR"), ("message", "with extra"),
                                           ("logger", "app.mod"), ("requestId", "rid-logs"),
                                           ("tenantId", "ten-1"), ("custom_key", "cv"),
                                           ("n", 1)]

    b = dict(by_msg["boom"])
    assert [k for k, _ in by_msg["boom"]] == ["timestamp", "level", "message", "logger",
                                              "stackTrace", "errorType", "errorMessage",
                                              "requestId", "location", "tenantId"]
    assert b["level"] == "ERROR" and b["errorType"] == "ZeroDivisionError"
    assert b["errorMessage"] == "division by zero"
    assert isinstance(b["stackTrace"], list) and len(b["stackTrace"]) == 1
    assert b["stackTrace"][0].startswith('  File "%s", line 11, in handler\n'
                                         % (tmp_task_root / "app.py"))
    assert b["location"] == "%s:handler:13" % (tmp_task_root / "app.py")

    assert dict(by_msg["custom level"])["level"] == "INFO"   # 25 floored to INFO
    assert "info merged" in by_msg
    assert "dropped-debug" not in out
    assert "raw ctx\n" in out  # context.log stays raw in JSON mode
    # every record is one line ending in "\n"
    assert all(l + "\n" in out for l in raw)


def test_json_format_case_insensitive(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §6: AWS_LAMBDA_LOG_FORMAT=JSON case-insensitive.
    write(tmp_task_root, "app.py", JSON_APP)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {},
                           env={"AWS_LAMBDA_LOG_FORMAT": "json"})
    msgs = [d.get("message") for d in json_lines(proc.stdout_text())]
    assert "warn msg\nsecond line" in msgs
    assert "custom level" not in msgs  # default level WARNING in JSON mode too


def test_json_log_error_document(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.4 JSON mode: {"timestamp", "log_level": "ERROR", "errorMessage",
    # "errorType", "requestId", "stackTrace"} + "\n" on stdout; stack strings keep spaces.
    write(tmp_task_root, "app.py", JSON_APP)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {"fail": 1},
                           request_id="rid-j", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    assert res.kind == "error"
    out = proc.stdout_text()
    docs = [l for l in out.split("\n") if '"log_level"' in l]
    assert len(docs) == 1, out
    d = json.loads(docs[0], object_pairs_hook=lambda kv: kv)
    assert [k for k, _ in d] == ["timestamp", "log_level", "errorMessage", "errorType",
                                 "requestId", "stackTrace"]
    d = dict(d)
    assert re.fullmatch(TS_S, d["timestamp"])
    assert d["log_level"] == "ERROR" and d["errorMessage"] == "bad"
    assert d["errorType"] == "ValueError" and d["requestId"] == "rid-j"
    assert d["stackTrace"] == ['  File "%s", line 6, in handler\n    raise ValueError("bad")\n'
                               % (tmp_task_root / "app.py")]
    assert docs[0] + "\n" in out


# -------------------------------------------------------------------------------------------
# Telemetry fd (§8.5)

FD_APP = """
import logging, os, sys
logging.warning("at import")

def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad")
    logging.debug("d-msg")
    logging.info("i-msg")
    logging.warning("w-msg")
    logging.error("e-msg")
    logging.critical("crit-msg")
    logging.log(25, "l25-msg")
    print("printed-msg")
    context.log("ctx-msg")
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("exc-msg")
    return "_LAMBDA_TELEMETRY_LOG_FD" in os.environ
"""


def run_with_fd(host_bin, rapi, root, tmp_path, env, events):
    write(root, "app.py", FD_APP)
    path = tmp_path / "telemetry.bin"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        e = dict(env)
        e["_LAMBDA_TELEMETRY_LOG_FD"] = str(fd)
        t0 = time.time_ns() // 1000
        rids = [rapi.enqueue(ev, request_id="rid-%d" % i) for i, ev in enumerate(events)]
        proc = start_host(host_bin, rapi, root, "app.handler", env=e, pass_fds=(fd,))
    finally:
        os.close(fd)
    results = [rapi.wait_for_result(r) for r in rids]
    time.sleep(0.2)
    t1 = time.time_ns() // 1000
    frames = parse_frames(path.read_bytes())
    for ftype, ts, msg in frames:
        assert t0 <= ts <= t1, (ts, t0, t1)
    return proc, results, frames


def frame_for(frames, text):
    found = [f for f in frames if text in f[2]]
    assert len(found) == 1, (text, frames)
    return found[0]


def test_telemetry_fd_text_default(host_bin, rapi, tmp_task_root, tmp_path):
    # awslambdaric.md §8.5: TEXT without AWS_LAMBDA_LOG_LEVEL: every record 0xA55A0003;
    # context.log 0xA55A0003; log_error 0xA55A0017 with "\n" joins and no trailing newline;
    # print not framed; a multi-line traceback is one frame; env var removed.
    proc, (ok, err), frames = run_with_fd(host_bin, rapi, tmp_task_root, tmp_path, {},
                                          [{}, {"fail": 1}])
    assert ok.json() is False  # _LAMBDA_TELEMETRY_LOG_FD removed from os.environ
    f = frame_for(frames, "w-msg")
    assert f[0] == 0xA55A0003
    assert re.fullmatch(r"\[WARNING\]\t%s\trid-0\tw-msg\n" % TS_MS, f[2]), f
    assert frame_for(frames, "e-msg")[0] == 0xA55A0003
    assert frame_for(frames, "crit-msg")[0] == 0xA55A0003
    assert frame_for(frames, "at import")[0] == 0xA55A0003
    ctx = frame_for(frames, "ctx-msg")
    assert ctx[0] == 0xA55A0003 and ctx[2] == "ctx-msg"
    exc = frame_for(frames, "exc-msg")
    assert exc[0] == 0xA55A0003
    assert "Traceback (most recent call last):\n" in exc[2]
    assert exc[2].endswith("ZeroDivisionError: division by zero")
    assert not any("d-msg" in m or "i-msg" in m or "l25-msg" in m for _, _, m in frames)
    assert not any("printed-msg" in m for _, _, m in frames)
    assert "printed-msg\n" in proc.stdout_text()
    assert "w-msg" not in proc.stdout_text()
    errf = frame_for(frames, "ValueError: bad")
    assert errf[0] == 0xA55A0017
    assert errf[2] == ("[ERROR] ValueError: bad\nTraceback (most recent call last):\n"
                       "\u00a0\u00a0File \"%s\", line 6, in handler\n"
                       "\u00a0\u00a0\u00a0\u00a0raise ValueError(\"bad\")"
                       % (tmp_task_root / "app.py"))
    assert "[ERROR] ValueError: bad" not in proc.stdout_text()


def test_telemetry_fd_text_with_level(host_bin, rapi, tmp_task_root, tmp_path):
    # awslambdaric.md §8.5: TEXT with AWS_LAMBDA_LOG_LEVEL: per-level TEXT types; level 25
    # counts as INFO; context.log stays 0xA55A0003; log_error 0xA55A0017.
    proc, (ok, err), frames = run_with_fd(host_bin, rapi, tmp_task_root, tmp_path,
                                          {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
                                          [{}, {"fail": 1}])
    got = {m: frame_for(frames, m)[0] for m in
           ("d-msg", "i-msg", "w-msg", "e-msg", "crit-msg", "l25-msg", "ctx-msg", "exc-msg",
            "ValueError: bad")}
    assert got == {"d-msg": 0xA55A000B, "i-msg": 0xA55A000F, "w-msg": 0xA55A0013,
                   "e-msg": 0xA55A0017, "crit-msg": 0xA55A001B, "l25-msg": 0xA55A000F,
                   "ctx-msg": 0xA55A0003, "exc-msg": 0xA55A0017,
                   "ValueError: bad": 0xA55A0017}


def test_telemetry_fd_json(host_bin, rapi, tmp_task_root, tmp_path):
    # awslambdaric.md §8.5/§8.6: JSON per-level types; records end in "\n"; log_error is
    # 0xA55A0016 without a trailing newline; context.log 0xA55A0003.
    proc, (ok, err), frames = run_with_fd(host_bin, rapi, tmp_task_root, tmp_path,
                                          {"AWS_LAMBDA_LOG_FORMAT": "JSON",
                                           "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
                                          [{}, {"fail": 1}])
    got = {m: frame_for(frames, m)[0] for m in
           ("d-msg", "i-msg", "w-msg", "e-msg", "crit-msg", "l25-msg", "ctx-msg", "exc-msg",
            '"errorMessage": "bad"')}
    assert got == {"d-msg": 0xA55A000A, "i-msg": 0xA55A000E, "w-msg": 0xA55A0012,
                   "e-msg": 0xA55A0016, "crit-msg": 0xA55A001A, "l25-msg": 0xA55A000E,
                   "ctx-msg": 0xA55A0003, "exc-msg": 0xA55A0016,
                   '"errorMessage": "bad"': 0xA55A0016}
    w = frame_for(frames, "w-msg")[2]
    assert w.endswith("}\n")
    assert json.loads(w)["requestId"] == "rid-0"
    e = frame_for(frames, '"errorMessage": "bad"')[2]
    assert not e.endswith("\n")
    assert json.loads(e)["log_level"] == "ERROR"


def test_telemetry_fd_init_error(host_bin, rapi, tmp_task_root, tmp_path):
    # awslambdaric.md §2.3 + §8.5: the LAMBDA_WARNING (logging, 0xA55A0003) and the log_error
    # copy (0xA55A0017) go to the fd.
    path = tmp_path / "telemetry.bin"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = start_host(host_bin, rapi, tmp_task_root, "missing.handler",
                          env={"_LAMBDA_TELEMETRY_LOG_FD": str(fd)}, pass_fds=(fd,))
    finally:
        os.close(fd)
    rapi.wait_for_init_error()
    assert proc.wait_exit(10) == 1
    frames = parse_frames(path.read_bytes())
    warn = frame_for(frames, "LAMBDA_WARNING")
    assert warn[0] == 0xA55A0003
    assert re.fullmatch(r"\[WARNING\]\t%s\t\t%s\n" % (TS_MS, re.escape(LAMBDA_WARNING)),
                        warn[2])
    err = frame_for(frames, "Runtime.ImportModuleError")
    assert err[0] == 0xA55A0017
    assert err[2] == ("[ERROR] Runtime.ImportModuleError: Unable to import module 'missing': "
                      "No module named 'missing'\nTraceback (most recent call last):")

