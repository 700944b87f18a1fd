"""plain_runtime: what a straightforward Python Lambda runtime costs, standard library only.

http.client with one keep-alive connection, json.loads / json.dumps, the handler imported with
importlib and called with a minimal context. Run as `python3 -I plain_runtime.py` with _HANDLER,
LAMBDA_TASK_ROOT and AWS_LAMBDA_RUNTIME_API set (rapi_bench_server sets the last one)."""

import http.client
import importlib
import json
import os
import sys
import time


class Context:
    __slots__ = ("aws_request_id", "invoked_function_arn", "_deadline_ms", "function_name",
                 "function_version", "memory_limit_in_mb", "log_group_name", "log_stream_name")

    def __init__(self, request_id, arn, deadline_ms):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self._deadline_ms = deadline_ms
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    module_name, _, fn_name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), fn_name)

    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80))
    base = "/2018-06-01/runtime/invocation/"
    json_headers = {"Content-Type": "application/json"}
    while True:
        conn.request("GET", base + "next")
        r = conn.getresponse()
        body = r.read()
        request_id = r.getheader("Lambda-Runtime-Aws-Request-Id")
        ctx = Context(request_id, r.getheader("Lambda-Runtime-Invoked-Function-Arn"),
                      int(r.getheader("Lambda-Runtime-Deadline-Ms") or 0))
        try:
            result = json.dumps(handler(json.loads(body), ctx)).encode()
            path = base + request_id + "/response"
        except Exception as e:  # noqa: BLE001 - report any handler failure
            result = json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                                 "stackTrace": []}).encode()
            path = base + request_id + "/error"
        conn.request("POST", path, body=result, headers=json_headers)
        conn.getresponse().read()


if __name__ == "__main__":
    main()
