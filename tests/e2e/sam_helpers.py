"""Helpers for the `host local start-api / start-lambda` tests (not a test module)."""

import re
import signal
import socket
import subprocess
import threading
import time


def sam_project(root, app, template):
    """A SAM project in root: the handlers' app.py under src/, and template.yaml."""
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(app)
    (root / "template.yaml").write_text(template)
    return root


def lambda_client(server, **config):
    """boto3's Lambda client for a start-lambda server: local credentials, no retries."""
    import boto3
    import botocore.config
    return boto3.client("lambda", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=botocore.config.Config(retries={"max_attempts": 0},
                                                      read_timeout=30, **config))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `host local start-*` process; its stderr is collected in self.log."""

    def __init__(self, host_bin, command, *args, cwd=None, env=None, prefix=(), start_timeout=10):
        """prefix: words before host_bin (a valgrind command line)."""
        self.port = free_port()
        self.proc = subprocess.Popen([*prefix, host_bin, "local", command, "-p", str(self.port), *args],
                                     cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_timeout):
            self.stop()
            raise AssertionError("server did not start:\n" + self.log)

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on http://" in line:
                self._ready.set()
        self._ready.set()

    @property
    def log(self):
        return "".join(self.lines)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def wait_log(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log)
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError("%r not in the log:\n%s" % (pattern, self.log))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(5)
        return rc
