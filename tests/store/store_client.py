"""Ways to send the store an HTTP API (payload v2) request and read the proxy response:
in-process (App.handle), through `host --local` (one process per request, or a batch), and
through host in runtime mode against the test Runtime API server. The scenarios in
test_store_flow.py are written once against Client.call and run through each."""

import json
import os
import tempfile
import uuid
from pathlib import Path

import rapi_server

REPO = Path(__file__).resolve().parent.parent.parent
PYHANDLERS = REPO / "pyhandlers"


def api_event(method, path, body=None, token=None, headers=None, raw_body=None):
    hdrs = {"content-type": "application/json", "user-agent": "store-tests"}
    if token:
        hdrs["authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    rid = str(uuid.uuid4())
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012", "apiId": "store", "domainName": "store.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "store-tests"},
            "requestId": rid, "routeKey": "$default", "stage": "$default",
            "time": "27/Nov/2026:06:00:00 +0000", "timeEpoch": 1795759200000,
        },
        "isBase64Encoded": False,
    }
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


class Resp:
    def __init__(self, proxy):
        assert isinstance(proxy, dict) and "statusCode" in proxy, proxy
        self.proxy = proxy
        self.status = proxy["statusCode"]
        self.headers = proxy.get("headers") or {}
        self.text = proxy.get("body") or ""
        self.json = json.loads(self.text) if self.text else None

    def __repr__(self):
        return "Resp(%s, %s)" % (self.status, self.text[:500])


class Client:
    name = "abstract"

    def invoke(self, event):
        """The handler's result (a dict) for one event."""
        raise NotImplementedError

    def call(self, method, path, body=None, token=None, headers=None, raw_body=None):
        return Resp(self.invoke(api_event(method, path, body, token, headers, raw_body)))

    def close(self):
        pass


class InProcessClient(Client):
    name = "in-process"

    def __init__(self, app):
        self.app = app

    def invoke(self, event):
        class Ctx:
            aws_request_id = event.get("requestContext", {}).get("requestId", "")
        return self.app.handle(json.loads(json.dumps(event)), Ctx())


def host_env(store_env, extra=None):
    env = dict(store_env)
    env.update(extra or {})
    return env


class HostLocalClient(Client):
    """One `host --local - --handler store.handler` process per request (a cold start each)."""
    name = "host-local"

    def __init__(self, host_bin, store_env, handler="store.handler"):
        self.host_bin = host_bin
        self.env = host_env(store_env)
        self.handler = handler
        self.stderr = []    # every run's stderr, for the no-secrets-logged checks
        self.stdout = []

    def run(self, events, timeout=60):
        """Runs the events in one warm process; a list of result dicts (one per event)."""
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
            path = f.name
        try:
            proc = rapi_server.run_local(
                self.host_bin, ["--local", path, "--handler", self.handler,
                                "--task-root", str(PYHANDLERS), "--timeout", "30"],
                cwd=str(PYHANDLERS), env=self.env, timeout=timeout)
        finally:
            os.unlink(path)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        self.stdout.append(out)
        self.stderr.append(err)
        lines = [l for l in out.splitlines() if l.strip()]
        assert proc.returncode == 0 and len(lines) == len(events), (
            "host --local exited %s with %d result lines for %d events\nstdout:\n%s\nstderr:\n%s"
            % (proc.returncode, len(lines), len(events), out[-3000:], err[-3000:]))
        return [json.loads(l) for l in lines]

    def invoke(self, event):
        return self.run([event])[0]


class HostRuntimeClient(Client):
    """One long-lived host in runtime mode, fed by the test Runtime API server."""
    name = "host-runtime"

    def __init__(self, host_bin, store_env, handler="store.handler"):
        self.srv = rapi_server.RuntimeAPIServer()
        self.proc = rapi_server.start_host(host_bin, self.srv, str(PYHANDLERS), handler,
                                           env=host_env(store_env))

    def invoke(self, event, timeout=30):
        rid = self.srv.enqueue(event)
        res = self.srv.wait_for_result(rid, timeout=timeout)
        assert res.kind == "response", "handler error: %r\nstderr:\n%s" % (
            res, self.proc.stderr_text()[-3000:])
        return res.json()

    def stdout_text(self):
        return self.proc.stdout_text()

    def stderr_text(self):
        return self.proc.stderr_text()

    def close(self):
        self.proc.kill_now()
        self.srv.close()
