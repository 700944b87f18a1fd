"""A Python signal handler runs while host waits for the next invocation.

awslambdaric.md §9/§10: in the python3.12+ runtimes the /next wait runs off the main
thread, so a SIGTERM handler (the graceful-shutdown pattern) runs as soon as the signal
arrives. host follows that mode; its wait watches Python's signal wake-up fd.
"""

import signal
import time

from e2e_helpers import write
from rapi_server import start_host


GRACEFUL = """
    import signal, sys

    def on_term(signum, frame):
        print("graceful shutdown: flushing", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)

    def handler(event, context):
        return {"ok": True}
"""


def test_sigterm_handler_runs_while_waiting_for_next(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", GRACEFUL)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rid = rapi.enqueue({})
    assert rapi.wait_for_result(rid).json() == {"ok": True}
    rapi.wait_for_next_calls(2)       # parked in the second next: nothing queued
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait_exit(timeout=5) == 0
    assert "graceful shutdown: flushing" in proc.stdout_text()
    # issue 8: nothing of host's own on stdout or stderr after a signal handler's exit
    assert proc.stdout_text() == "graceful shutdown: flushing\n"
    assert proc.stderr_text() == ""


def test_signal_handler_that_returns_keeps_the_loop_going(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import signal
        SEEN = []
        signal.signal(signal.SIGUSR1, lambda s, f: SEEN.append(s))

        def handler(event, context):
            return {"seen": len(SEEN)}
    """)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rapi.wait_for_next_calls(1)
    time.sleep(0.2)
    proc.send_signal(signal.SIGUSR1)
    time.sleep(0.3)
    rid = rapi.enqueue({})
    assert rapi.wait_for_result(rid).json() == {"seen": 1}
    assert proc.poll() is None


def test_handler_raising_in_signal_handler_exits_with_traceback(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import signal
        def boom(s, f):
            raise RuntimeError("from the signal handler")
        signal.signal(signal.SIGUSR1, boom)

        def handler(event, context):
            return {}
    """)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rapi.wait_for_next_calls(1)
    time.sleep(0.2)
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait_exit(timeout=5) == 1
    assert "RuntimeError: from the signal handler" in proc.stderr_text()
