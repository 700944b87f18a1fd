"""Bad input and crashes (awslambdaric.md §3.5, §8.1, §13; runtime-api.md §4, §6, §7.2)."""

import os
import signal

from e2e_helpers import Ev, run_invokes, settle, write
from rapi_server import start_host


def test_handler_printing_50mb(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.1: output is written through (stdout is a file here, never a pipe
    # that fills up); host keeps going and posts the result.
    write(tmp_task_root, "app.py", """
        import sys
        def handler(event, context):
            chunk = "x" * 1023 + "\\n"
            for _ in range(50 * 1024):
                sys.stdout.write(chunk)
            print("END-OF-OUTPUT")
            return "done"
    """)
    proc, (res, res2) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}, {}],
                                    timeout=90)
    assert res.kind == "response" and res.body == b'"done"'
    assert res2.body == b'"done"'
    assert os.path.getsize(proc.stdout_path) >= 2 * 50 * 1024 * 1024
    assert "END-OF-OUTPUT" in proc.stdout_text()[-200:]


def test_sys_exit_in_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: SystemExit is not caught: exit 3, nothing posted.
    write(tmp_task_root, "app.py", """
        import sys
        def handler(event, context):
            print("exiting now")
            sys.exit(3)
    """)
    rapi.enqueue({})
    rapi.enqueue({})
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    assert proc.wait_exit(10) == 3
    settle(proc)
    assert rapi.results == []
    assert rapi.count("next") == 1
    assert "exiting now" in proc.stdout_text()


def test_os_abort_in_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §13 / runtime-api.md §7.2: the process dies (SIGABRT); host must not
    # hang. No success is posted; if anything is posted it is a Runtime.ExitError for that
    # request (what the platform reports for a runtime that died).
    write(tmp_task_root, "app.py", """
        import os
        def handler(event, context):
            print("about to abort")
            os.abort()
    """)
    rapi.enqueue({}, request_id="rid-abort")
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rc = proc.wait_exit(10)
    assert rc in (-signal.SIGABRT, 128 + signal.SIGABRT), rc
    settle(proc)
    assert "about to abort" in proc.stdout_text()
    for r in rapi.results:
        assert r.kind == "error", r
        body = r.json()
        assert body["errorType"] == "Runtime.ExitError"
        assert body["requestId"] == "rid-abort"
        assert body["stackTrace"] == []
        assert body["errorMessage"].startswith("RequestId: rid-abort Error: Runtime exited")


def test_response_over_6mb_gets_413_and_next_is_served(host_bin, rapi, tmp_task_root):
    # runtime-api.md §4: over 6,291,556 bytes -> 413 RequestEntityTooLarge; the runtime logs
    # it and goes on to next (§1 item 2, §8 item 5).
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            return "y" * event["size"]
    """)
    proc, (big, small, edge) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                           [{"size": 6291556}, {"size": 3},
                                            {"size": 6291556 - 2}], timeout=30)
    assert big.kind == "response" and big.status == 413
    assert len(big.body) == 6291558
    assert small.status == 202 and small.body == b'"yyy"'
    assert edge.status == 202 and len(edge.body) == 6291556
    assert "413" in proc.output_text()


def test_async_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §13: the official runtime fails with MarshalError "Object of type
    # coroutine is not JSON serializable"; host awaits it (issue 11).
    write(tmp_task_root, "app.py", """
        async def handler(event, context):
            return 1
    """)
    proc, (res,) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                               [Ev({}, request_id="rid-co")])
    assert res.kind == "response" and res.body == b"1"


def test_non_callable_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: no callability check; TypeError at invoke.
    write(tmp_task_root, "app.py", "handler = {'not': 'callable'}\n")
    proc, (res,) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}])
    assert res.kind == "error"
    assert res.json()["errorType"] == "TypeError"
    assert res.json()["errorMessage"] == "'dict' object is not callable"


def test_keyboard_interrupt_in_handler_not_posted(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: only Exception subclasses are caught; KeyboardInterrupt ends the
    # process with nothing posted.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            raise KeyboardInterrupt()
    """)
    rapi.enqueue({})
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rc = proc.wait_exit(10)
    assert rc != 0
    settle(proc)
    assert rapi.results == []


def test_handler_thread_and_globals_survive_between_invokes(host_bin, rapi, tmp_task_root):
    # runtime-api.md §6: warm invokes keep globals, /tmp and threads.
    write(tmp_task_root, "app.py", """
        import threading
        STATE = {"n": 0}
        T = threading.Thread(target=lambda: None)
        def handler(event, context):
            STATE["n"] += 1
            return STATE["n"]
    """)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}, {}, {}])
    assert [r.json() for r in results] == [1, 2, 3]


def test_missing_content_type_does_not_crash(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.2 / §14 item 10: the official client segfaults without Content-Type;
    # a faithful-but-improved runtime must at least not hang. Accept raw bytes or JSON.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            return type(event).__name__
    """)
    proc, (res,) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                               [Ev(b'{"a": 1}', content_type=None)])
    assert res.kind == "response"
    assert res.json() in ("bytes", "dict")
