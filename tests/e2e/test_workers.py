"""Lambda Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY worker processes.

awslambdaric.md §12: with AWS_LAMBDA_MAX_CONCURRENCY=N the runtime runs N worker processes,
each with its own full init (handler import) and its own loop; a worker logs a failed post
and goes on.
"""

import os

from e2e_helpers import write
from rapi_server import start_host

APP = """
    import os
    INIT_PID = os.getpid()

    def handler(event, context):
        return {"pid": os.getpid(), "init_pid": INIT_PID}
"""


def test_n_workers_each_init_and_serve(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler",
                      env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"})
    rapi.wait_for_next_calls(3)  # three workers parked in next at once
    rids = [rapi.enqueue({"i": i}) for i in range(12)]
    results = [rapi.wait_for_result(r).json() for r in rids]
    pids = {r["pid"] for r in results}
    assert all(r["pid"] == r["init_pid"] for r in results)  # each worker imported itself
    assert os.getpid() not in pids and proc.pid not in pids
    ports = {q.client_port for q in rapi.requests if q.path.endswith("/next")}
    assert len(ports) == 3  # one keep-alive connection per worker
    assert proc.poll() is None


def test_worker_failed_post_does_not_end_the_loop(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler",
                      env={"AWS_LAMBDA_MAX_CONCURRENCY": "1"})
    rapi.respond_with("response", 500)
    first = rapi.enqueue({})
    rapi.wait_for_result(first)
    second = rapi.enqueue({})
    assert rapi.wait_for_result(second).status == 202
    assert "This won't kill the Runtime loop" in proc.stdout_text()
    assert proc.poll() is None


def test_invalid_concurrency_is_a_clear_error(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler",
                      env={"AWS_LAMBDA_MAX_CONCURRENCY": "many"})
    assert proc.wait_exit(timeout=5) == 1
    assert "AWS_LAMBDA_MAX_CONCURRENCY must be a positive integer" in proc.stderr_text()
