"""A Lambda Runtime API server for tests (runtime-api.md §1, §2, §4).

    from rapi_server import RuntimeAPIServer, start_host
    srv = RuntimeAPIServer()                     # serving on 127.0.0.1:<free port>
    rid = srv.enqueue({"k": 1})                  # queue one invocation
    proc = start_host(host_bin, srv, task_root, "app.handler")
    res = srv.wait_for_result(rid)               # Result(kind, status, headers, body, path)
    srv.close()

A real threaded HTTP/1.1 keep-alive server (standard library only). Request bodies may be
sent with Content-Length or chunked (trailers are kept on the recorded request). A chunked
response POST (a streamed response, runtime-api.md §3) is also recorded live, chunk by chunk
with arrival times, as a Stream: wait_for_stream_chunks() sees chunk 1 while host is still
sending; Result.stream is the finished record. Streams are not held to the 6 MB limit, and
keep at most keep_stream_bytes of their body (the length and a SHA-256 of all of it are kept). Every reply
carries Content-Length. `GET next` long-polls until an invocation is queued or the server
closes. Scripted failures: respond_with(), close_connection_on(), cut_next_reply(), delay().
Request.path is the request target exactly as sent (still %-escaped, dot segments kept).
"""

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01"
DEFAULT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:test"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # 6,291,556 (runtime-api.md §4)
OK_BODY = b'{"status":"OK"}'

# The Runtime API's JSON error bodies (runtime-api.md §1, §2.1, §4).
ERROR_BODIES = {
    400: {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
    403: {"errorMessage": "State transition from Ready to InvocationErrorResponse failed "
                          "for runtime. Error: State transition is not allowed",
          "errorType": "InvalidStateTransition"},
    404: {"errorMessage": "Not Found", "errorType": "NotFound"},
    410: {"errorMessage": "Invocation timed out", "errorType": "ErrorRuntimeInvokeTimeout"},
    413: {"errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
          "errorType": "RequestEntityTooLarge"},
    500: {"errorMessage": "Internal Server Error", "errorType": "ServiceException"},
}

ENDPOINTS = ("next", "response", "error", "init_error")
CUT_PLACES = ("headers", "body")

# Lambda accepts (and crops) big X-Ray cause headers; http.server would answer 431 to a header
# line over 64 KiB, so allow long lines in this test process.
http.client._MAXLINE = max(getattr(http.client, "_MAXLINE", 65536), 8 * 1024 * 1024)


def error_body(status):
    doc = ERROR_BODIES.get(status, {"errorMessage": "Error %d" % status,
                                    "errorType": "Error%d" % status})
    return json.dumps(doc, separators=(",", ":")).encode()


class Request(object):
    """One HTTP request the server received."""

    def __init__(self, method, path, headers, body, client_port, trailers=None, chunked=False):
        self.method = method
        self.path = path                # the raw request target: %-escapes and dots as sent
        self.headers = headers          # dict, lowercase names
        self.body = body                # bytes
        self.client_port = client_port
        self.trailers = trailers or {}  # chunked trailers, lowercase names
        self.chunked = chunked
        self.time = time.time()
        self.endpoint = None            # "next" | "response" | "error" | "init_error" | None
        self.stream = None              # the Stream of a chunked POST

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return "Request(%s %s port=%s headers=%r body=%r)" % (
            self.method, self.path, self.client_port, self.headers, body)


class Stream(object):
    """A chunked response POST as it arrives: chunks [(arrival time, size)], the body (up to
    keep bytes), its total length and SHA-256, the trailers once it has ended."""

    def __init__(self, request_id, headers, keep):
        self.request_id = request_id
        self.headers = headers          # dict, lowercase names
        self.chunks = []                # [(time.time() at arrival, size)]
        self.total = 0
        self.trailers = {}
        self.done = False
        self._parts = []
        self._keep = keep
        self._sha = hashlib.sha256()

    def add(self, data):
        self.chunks.append((time.time(), len(data)))
        self.total += len(data)
        self._sha.update(data)
        if self.total <= self._keep:
            self._parts.append(data)

    @property
    def body(self):
        return b"".join(self._parts)

    @property
    def kept_all(self):
        return self.total <= self._keep

    def sha256(self):
        return self._sha.hexdigest()

    def sizes(self):
        return [n for _, n in self.chunks]


class Result(object):
    """A response/error/init-error POST from the runtime."""

    def __init__(self, kind, request_id, status, request):
        self.kind = kind                # "response" | "error" | "init_error"
        self.request_id = request_id
        self.status = status            # what the server answered (None: connection closed)
        self.headers = request.headers
        self.body = request.body
        self.path = request.path
        self.trailers = request.trailers
        self.request = request
        self.stream = request.stream    # a Stream for a chunked POST, else None

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        body = self.body if len(self.body) <= 500 else self.body[:500] + b"..."
        return "Result(kind=%s, status=%s, path=%s, headers=%r, body=%r)" % (
            self.kind, self.status, self.path, self.headers, body)


class Invocation(object):
    def __init__(self, request_id, body, headers, chunked):
        self.request_id = request_id
        self.body = body
        self.headers = headers          # list of (name, value), in order
        self.chunked = chunked
        self.delivered = 0
        self.finished = False


class _Closed(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rapi-test"
    sys_version = ""

    def log_message(self, format, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    # -- body reading ------------------------------------------------------------------
    def _read_body(self, stream=None):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        trailers = {}
        if "chunked" in te:
            parts = []
            owner = self.server.owner
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise _Closed()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                data = self.rfile.read(size)
                if len(data) < size:
                    raise _Closed()
                if stream is None:
                    parts.append(data)
                else:
                    owner._stream_chunk(stream, data)
                self.rfile.readline(65537)  # CRLF after the chunk
            while True:  # trailers
                line = self.rfile.readline(65537)
                if not line or line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                trailers[name.strip().lower()] = value.strip()
            if stream is not None:
                owner._stream_end(stream, trailers)
                return stream.body, trailers, True
            return b"".join(parts), trailers, True
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _Closed()
        return body, trailers, False

    def _reply(self, status, body=b"", headers=(), content_type="application/json"):
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _reply_chunked(self, status, body, headers):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = 1000
        for i in range(0, len(body), step):
            piece = body[i:i + step]
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _handle(self):
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        stream = owner._stream_begin(self.command, self.path, headers)
        try:
            body, trailers, chunked = self._read_body(stream)
        except (_Closed, ValueError, ConnectionError, OSError):
            self.close_connection = True
            return
        req = Request(self.command, self.path, headers, body, self.client_address[1],
                      trailers, chunked)
        req.stream = stream
        owner._dispatch(self, req)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class RuntimeAPIServer(object):
    """A scripted Lambda Runtime API (see the module docstring)."""

    def __init__(self, host="127.0.0.1", port=0, strict=True):
        self.strict = strict                # 400 on an unknown request id, 403 on a 2nd post
        self.requests = []                  # every Request, in arrival order
        self.results = []                   # every Result (response, error, init_error)
        self.max_response_bytes = MAX_RESPONSE_BYTES
        self.keep_stream_bytes = 16 * 1024 * 1024
        self._pause_after = None            # stop reading streams past this many bytes
        self._resume = threading.Event()
        self.streams = []                   # every Stream (chunked response POST), live
        self._cond = threading.Condition()
        self._queue = deque()
        self._invocations = {}
        self._scripted = {e: deque() for e in ENDPOINTS}   # [status, body, times]
        self._close_on = {e: 0 for e in ENDPOINTS}
        self._cuts = deque()                # where the next replies to GET next are cut off
        self._delay = {e: 0.0 for e in ENDPOINTS}
        self._closed = False
        self._conns = set()
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.address = "%s:%d" % (host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="rapi-server", daemon=True)
        self._thread.start()

    # -- public API --------------------------------------------------------------------
    def enqueue(self, body, content_type="application/json", headers=None, request_id=None,
                deadline_ms=None, chunked=False):
        """Queue one invocation; returns its request id. `headers` adds or overrides
        (None removes a default header). chunked=True sends the event chunked."""
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = json.dumps(body).encode("utf-8")
        rid = request_id if request_id is not None else str(uuid.uuid4())
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 60000
        hdrs = [("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", DEFAULT_ARN)]
        if content_type is not None:
            hdrs.append(("Content-Type", content_type))
        for name, value in (headers or {}).items():
            hdrs = [(n, v) for n, v in hdrs if n.lower() != name.lower()]
            if value is not None:
                hdrs.append((name, str(value)))
        with self._cond:
            inv = Invocation(rid, data, hdrs, chunked)
            self._queue.append(inv)
            self._invocations[rid] = inv
            self._cond.notify_all()
        return rid

    def wait_for_result(self, rid, timeout=10):
        """The first response/error POST for request id `rid`."""
        return self._wait(lambda r: r.kind in ("response", "error") and r.request_id == rid,
                          timeout, "a result for request id %r" % rid)

    def wait_for_init_error(self, timeout=10):
        return self._wait(lambda r: r.kind == "init_error", timeout, "POST /runtime/init/error")

    def results_for(self, rid):
        with self._cond:
            return [r for r in self.results if r.request_id == rid]

    def wait_for_request(self, predicate, timeout=10, what="a matching request"):
        """Waits until some received Request satisfies predicate; returns it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.requests:
                    if predicate(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %ss waiting for %s; requests: %r"
                                         % (timeout, what, self.requests))
                self._cond.wait(min(left, 0.1))

    def wait_for_next_calls(self, n, timeout=10):
        """Waits until the runtime has sent at least n GET next requests."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.count("next") < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for %d GET next; requests: %r"
                                         % (n, self.requests))
                self._cond.wait(min(left, 0.1))

    def wait_for_stream_chunks(self, rid, n, timeout=10):
        """Waits until the streamed response for `rid` has delivered n chunks (while host may
        still be sending); returns its Stream."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for s in self.streams:
                    if s.request_id == rid and (len(s.chunks) >= n or s.done):
                        if len(s.chunks) >= n:
                            return s
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %ss waiting for %d chunks of the "
                                         "stream for %r; streams: %r" % (
                                             timeout, n, rid,
                                             [(x.request_id, x.sizes()) for x in self.streams]))
                self._cond.wait(min(left, 0.1))

    def pause_streams_after(self, nbytes):
        """A slow reader: every stream is read up to nbytes, then not at all until
        resume_streams()."""
        self._resume.clear()
        self._pause_after = nbytes

    def resume_streams(self):
        self._pause_after = None
        self._resume.set()

    def count(self, endpoint):
        return sum(1 for r in self.requests if r.endpoint == endpoint)

    def respond_with(self, endpoint, status, body=None, times=1):
        """The next `times` requests to `endpoint` get `status` and `body` (default: the
        Runtime API's JSON error body for that status). For "next", the queued invocation
        stays queued."""
        assert endpoint in ENDPOINTS, endpoint
        if body is None:
            body = OK_BODY if status == 202 else error_body(status)
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        with self._cond:
            self._scripted[endpoint].append([status, body, times])

    def close_connection_on(self, endpoint, times=1):
        """The next `times` requests to `endpoint` are read, then the connection is closed
        without a reply."""
        assert endpoint in ENDPOINTS, endpoint
        with self._cond:
            self._close_on[endpoint] += times

    def cut_next_reply(self, at="headers", times=1):
        """The next `times` replies to GET next start to deliver the queued invocation, then
        the connection is closed mid-reply: at="headers" after the invocation's header lines,
        before Content-Length and the blank line that ends the headers (so an HTTP client may
        take the close as the end of a body-less reply); at="body" after the headers and half
        the body that Content-Length announces. The invocation stays queued for the next
        GET next."""
        assert at in CUT_PLACES, at
        with self._cond:
            self._cuts.extend([at] * times)

    def delay(self, endpoint, seconds):
        """Every later request to `endpoint` waits `seconds` before it is answered."""
        assert endpoint in ENDPOINTS, endpoint
        with self._cond:
            self._delay[endpoint] = float(seconds)

    def close(self):
        self._resume.set()
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _track(self, conn, add):
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for r in self.results:
                    if predicate(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out after %ss waiting for %s; requests so far: %r"
                                         % (timeout, what, self.requests))
                self._cond.wait(min(left, 0.1))

    def _stream_begin(self, method, path, headers):
        """A Stream for a chunked response POST, recorded live; None for any other request."""
        if "chunked" not in (headers.get("transfer-encoding") or "").lower():
            return None
        endpoint, rid = self._classify(method, path)
        if endpoint != "response":
            return None
        stream = Stream(rid, headers, self.keep_stream_bytes)
        with self._cond:
            self.streams.append(stream)
            self._cond.notify_all()
        return stream

    def _stream_chunk(self, stream, data):
        with self._cond:
            stream.add(data)
            self._cond.notify_all()
        pause = self._pause_after
        if pause is not None and stream.total >= pause:
            self._resume.wait(60)

    def _stream_end(self, stream, trailers):
        with self._cond:
            stream.trailers = trailers
            stream.done = True
            self._cond.notify_all()

    def _classify(self, method, path):
        """-> (endpoint, request id) or (None, None)."""
        p = urllib.parse.urlsplit(path).path
        if not p.startswith(PREFIX + "/"):
            return None, None
        rest = p[len(PREFIX):]
        if method == "GET" and rest == "/runtime/invocation/next":
            return "next", None
        if method == "POST" and rest == "/runtime/init/error":
            return "init_error", None
        if method == "POST" and rest.startswith("/runtime/invocation/"):
            tail = rest[len("/runtime/invocation/"):]
            rid, _, kind = tail.rpartition("/")
            if rid and kind in ("response", "error"):
                return kind, urllib.parse.unquote(rid)
        return None, None

    def _take_script(self, endpoint):
        """Under the lock: 'close', (status, body) or None."""
        if self._close_on[endpoint] > 0:
            self._close_on[endpoint] -= 1
            return "close"
        q = self._scripted[endpoint]
        if q:
            item = q[0]
            item[2] -= 1
            if item[2] <= 0:
                q.popleft()
            return item[0], item[1]
        return None

    def _dispatch(self, h, req):
        endpoint, rid = self._classify(req.method, req.path)
        req.endpoint = endpoint
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()
            delay = self._delay.get(endpoint, 0.0) if endpoint else 0.0
        if delay:
            time.sleep(delay)
        if endpoint is None:
            h._reply(404, error_body(404))
            return
        if endpoint == "next":
            self._do_next(h, req)
        else:
            self._do_post(h, req, endpoint, rid)

    def _do_next(self, h, req):
        with self._cond:
            script = self._take_script("next")
            if script == "close":
                h.close_connection = True
                return
            if script is not None:
                status, body = script
            else:
                while not self._queue and not self._closed:
                    self._cond.wait(0.1)
                if self._closed:
                    h.close_connection = True
                    return
                cut = self._cuts.popleft() if self._cuts else None
                inv = self._queue[0] if cut else self._queue.popleft()
                inv.delivered += 1
        if script is not None:
            h._reply(status, body)
            return
        if cut:
            self._send_cut_reply(h, inv, cut)
            return
        try:
            if inv.chunked:
                h._reply_chunked(200, inv.body, inv.headers)
            else:
                h._reply(200, inv.body, inv.headers, content_type=None)
        except OSError:
            h.close_connection = True

    @staticmethod
    def _send_cut_reply(h, inv, at):
        """A 200 reply for inv, cut off at `at` (see cut_next_reply), then the connection closed."""
        lines = ["HTTP/1.1 200 OK"] + ["%s: %s" % nv for nv in inv.headers]
        if at == "body":
            lines += ["Content-Length: %d" % len(inv.body), ""]
        data = "".join(line + "\r\n" for line in lines).encode("latin-1")
        if at == "body":
            data += inv.body[:len(inv.body) // 2]
        h.close_connection = True
        try:
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            pass

    def _do_post(self, h, req, endpoint, rid):
        with self._cond:
            script = self._take_script(endpoint)
            if script == "close":
                status, body = None, None
            elif script is not None:
                status, body = script
            elif (endpoint == "response" and req.stream is None
                  and len(req.body) > self.max_response_bytes):
                status, body = 413, error_body(413)
            elif endpoint != "init_error" and self.strict and rid not in self._invocations:
                status, body = 400, error_body(400)
            elif endpoint != "init_error" and self.strict and self._invocations[rid].finished:
                status, body = 403, error_body(403)
            else:
                status, body = 202, OK_BODY
            if endpoint != "init_error" and rid in self._invocations and status == 202:
                self._invocations[rid].finished = True
            self.results.append(Result(endpoint, rid, status, req))
            self._cond.notify_all()
        if status is None:
            h.close_connection = True
            return
        h._reply(status, body)


# -------------------------------------------------------------------------------------------
# Running host

_live_processes = []


class HostProcess(subprocess.Popen):
    """subprocess.Popen whose stdout/stderr go to temp files (never pipes)."""

    def _set_files(self, out_path, err_path, tmpdir):
        self.stdout_path = out_path
        self.stderr_path = err_path
        self._tmpdir = tmpdir

    def stdout_bytes(self):
        with open(self.stdout_path, "rb") as f:
            return f.read()

    def stderr_bytes(self):
        with open(self.stderr_path, "rb") as f:
            return f.read()

    def stdout_text(self):
        return self.stdout_bytes().decode("utf-8", "replace")

    def stderr_text(self):
        return self.stderr_bytes().decode("utf-8", "replace")

    def output_text(self):
        return self.stdout_text() + self.stderr_text()

    def wait_exit(self, timeout=10):
        """Waits for the process to exit; returns its exit code (negative = signal).
        On timeout, kills it and raises AssertionError."""
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_now()
            raise AssertionError("host did not exit within %ss\nstdout: %s\nstderr: %s"
                                 % (timeout, self.stdout_text()[-3000:],
                                    self.stderr_text()[-3000:]))

    def wait_for_output(self, text, timeout=10, stream="both"):
        """Waits until `text` appears in stdout/stderr; returns the combined output."""
        deadline = time.monotonic() + timeout
        while True:
            out = {"stdout": self.stdout_text, "stderr": self.stderr_text,
                   "both": self.output_text}[stream]()
            if text in out:
                return out
            if time.monotonic() > deadline:
                raise AssertionError("%r not seen in host output within %ss:\n%s"
                                     % (text, timeout, out[-3000:]))
            time.sleep(0.05)

    def kill_now(self):
        if self.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                try:
                    self.kill()
                except OSError:
                    pass
            try:
                self.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self.kill_now()
        for p in (self.stdout_path, self.stderr_path):
            try:
                os.unlink(p)
            except OSError:
                pass
        try:
            os.rmdir(self._tmpdir)
        except OSError:
            pass


def base_env():
    """A clean minimal environment."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/tmp"),
    }


def _merge_env(env, extra):
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def spawn_host(host_bin, args=(), env=None, cwd=None, **popen_kwargs):
    """Starts host with `args`; env is used as given (see base_env()). stdout/stderr go to
    temp files. The process is in its own process group and is killed by kill_all()."""
    host_bin = str(host_bin)
    if not os.path.exists(host_bin):
        raise AssertionError("host binary not found at %s (build it with `make -C /work/main`"
                             " or set HOST_BIN)" % host_bin)
    tmpdir = tempfile.mkdtemp(prefix="host-out-")
    out_path = os.path.join(tmpdir, "stdout")
    err_path = os.path.join(tmpdir, "stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = HostProcess([host_bin] + [str(a) for a in args], env=env,
                           cwd=str(cwd) if cwd else None, stdout=out, stderr=err,
                           start_new_session=True, **popen_kwargs)
    proc._set_files(out_path, err_path, tmpdir)
    _live_processes.append(proc)
    return proc


def start_host(host_bin, srv, task_root, handler, env=None, args=(), **popen_kwargs):
    """Runs host in runtime mode against `srv` (cwd = task_root). env adds/overrides the
    clean minimal env (a value None removes a variable); handler None leaves _HANDLER unset.
    Extra keyword arguments (pass_fds, ...) go to Popen."""
    e = base_env()
    e["AWS_LAMBDA_RUNTIME_API"] = srv.address if hasattr(srv, "address") else str(srv)
    if handler is not None:
        e["_HANDLER"] = handler
    e["LAMBDA_TASK_ROOT"] = str(task_root)
    _merge_env(e, env)
    return spawn_host(host_bin, args, env=e, cwd=task_root, **popen_kwargs)


def run_local(host_bin, args, cwd, env=None, input=None, timeout=30):
    """Runs host (local mode or any CLI use) to completion; returns CompletedProcess with
    bytes stdout/stderr. env adds/overrides the clean minimal env."""
    e = _merge_env(base_env(), env)
    host_bin = str(host_bin)
    if not os.path.exists(host_bin):
        raise AssertionError("host binary not found at %s" % host_bin)
    try:
        return subprocess.run([host_bin] + [str(a) for a in args], cwd=str(cwd), env=e,
                              input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as ex:
        raise AssertionError("host %s did not finish within %ss; stdout=%r stderr=%r"
                             % (args, timeout, ex.stdout, ex.stderr))


def kill_all():
    """Kills every host process started by spawn_host/start_host (test teardown)."""
    while _live_processes:
        _live_processes.pop().cleanup()
