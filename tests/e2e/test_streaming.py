"""Response streaming (issue 11; runtime-api.md §3): a handler that is a generator function,
or that returns a generator, streams its chunks in one chunked POST with
Lambda-Runtime-Function-Response-Mode: streaming and the Trailer header announced; a first
dict item is the HTTP prelude; an error after the first byte ends the stream with the error
trailers; an error before it is the ordinary error post. Local mode writes each chunk to
stdout as it comes. The test Runtime API server records every HTTP chunk with its arrival
time, live."""

import base64
import json
import time

from e2e_helpers import dumps, error_body, frame, invoke_one, run_invokes, write
from rapi_server import run_local, start_host

TRAILER = "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
LIMIT = 200 * 1024 * 1024
MIB = 1024 * 1024


def assert_streamed(res, content_type="application/octet-stream"):
    """The POST is a streaming one, exactly as runtime-api.md §3 asks."""
    h = res.headers
    assert res.kind == "response" and res.status == 202, res
    assert h["lambda-runtime-function-response-mode"] == "streaming"
    assert h["transfer-encoding"] == "chunked"
    assert "content-length" not in h
    assert h["trailer"] == TRAILER
    assert h["content-type"] == content_type
    assert res.stream is not None and res.stream.done


def test_chunks_arrive_as_yielded(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b"one"
            yield "two"
            yield b""
            yield b"three"
            yield "\u00e9t\u00e9"
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert_streamed(res)
    # One HTTP chunk per yielded chunk (an empty one sends nothing), str as UTF-8.
    assert res.stream.sizes() == [3, 3, 5, 5]
    assert res.body == "onetwothree\u00e9t\u00e9".encode()
    assert res.trailers == {}
    assert rapi.count("error") == 0


def test_returned_generator_streams_then_buffered_post_on_same_connection(host_bin, rapi,
                                                                         tmp_task_root):
    """A plain function that returns a generator streams; the next invocation's ordinary
    POST on the same keep-alive connection is unchanged."""
    write(tmp_task_root, "app.py", """
        def chunks(n):
            for i in range(n):
                yield b"%d;" % i

        def handler(event, context):
            if event.get("stream"):
                return chunks(event["stream"])
            return {"plain": True}
    """)
    proc, (first, second, third) = run_invokes(
        host_bin, rapi, tmp_task_root, "app.handler",
        [{"stream": 4}, {}, {"stream": 1}])
    assert_streamed(first)
    assert first.body == b"0;1;2;3;" and first.stream.sizes() == [2, 2, 2, 2]
    assert second.body == b'{"plain": true}' and second.stream is None
    assert second.headers["content-type"] == "application/json"
    assert "lambda-runtime-function-response-mode" not in second.headers
    assert third.body == b"0;"
    ports = {r.request.client_port for r in (first, second, third)}
    assert len(ports) == 1, "the stream must ride the one keep-alive connection"


def test_http_prelude(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield {"statusCode": 201, "headers": {"Content-Type": "text/event-stream",
                                                  "X-\u00e9": "v"},
                   "cookies": ["a=1; Secure", "b=2"]}
            yield "data: hi\\n\\n"
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert_streamed(res, "application/vnd.awslambda.http-integration-response")
    meta = {"statusCode": 201, "headers": {"Content-Type": "text/event-stream", "X-\u00e9": "v"},
            "cookies": ["a=1; Secure", "b=2"]}
    prelude = dumps(meta) + b"\0" * 8
    assert res.body == prelude + b"data: hi\n\n"
    assert res.stream.sizes() == [len(prelude), 10]


def test_content_type_helper(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b"x"

        handler.stream_content_type = "text/plain; charset=utf-8"
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert_streamed(res, "text/plain; charset=utf-8")


def test_error_after_first_byte_ends_with_trailers(host_bin, rapi, tmp_task_root):
    path = write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b"first,"
            yield b"second"
            raise ValueError("mid-stream " + context.aws_request_id)
    """)
    rid = rapi.enqueue({})
    rid2 = rapi.enqueue({})
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    res = rapi.wait_for_result(rid)
    assert rapi.wait_for_result(rid2).trailers  # the process goes on serving
    assert_streamed(res)
    assert res.body == b"first,second" and res.stream.sizes() == [6, 6]
    assert res.trailers["lambda-runtime-function-error-type"] == "ValueError"
    doc = base64.b64decode(res.trailers["lambda-runtime-function-error-body"], validate=True)
    assert doc == error_body("mid-stream " + rid, "ValueError", rid,
                             [frame(path, 4, "handler",
                                    'raise ValueError("mid-stream " + context.aws_request_id)')])
    assert rapi.count("error") == 0
    # Logged as an ordinary error.
    proc.wait_for_output("[ERROR] ValueError: mid-stream " + rid, stream="stdout")


def test_error_before_first_byte_is_an_ordinary_error_post(host_bin, rapi, tmp_task_root):
    path = write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b""
            raise KeyError("early")
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.kind == "error" and res.stream is None
    assert res.body == error_body("'early'", "KeyError", res.request_id,
                                  [frame(path, 3, "handler", 'raise KeyError("early")')])
    assert not rapi.streams


def test_bad_chunk_type_mid_stream(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b"ok"
            yield 42
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert_streamed(res)
    assert res.body == b"ok"
    assert res.trailers["lambda-runtime-function-error-type"] == "TypeError"
    doc = json.loads(base64.b64decode(res.trailers["lambda-runtime-function-error-body"]))
    assert doc["errorMessage"] == ("a streaming handler yields bytes or str chunks (and a dict, "
                                   "the HTTP prelude, only as its first item); item 2 is a int")


def test_200_mb_limit(host_bin, rapi, tmp_task_root):
    """Past 200 MB the stream fails as Lambda fails it: before the first byte an ordinary
    error, after it the trailers; the chunk that would pass the limit is not sent. (bytes(n)
    is calloc'd: the big chunks cost no memory.)"""
    write(tmp_task_root, "app.py", """
        LIMIT = 200 * 1024 * 1024

        def handler(event, context):
            if event["first"]:
                yield bytes(LIMIT + 1)
            yield b"a"
            yield bytes(LIMIT)
    """)
    message = "Response payload size exceeded maximum allowed payload size (%d bytes)." % LIMIT
    _, (early, late) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                   [{"first": True}, {"first": False}])
    assert early.kind == "error"
    assert early.body == error_body(message, "Function.ResponseSizeTooLarge", early.request_id, [])
    assert_streamed(late)
    assert late.body == b"a"
    assert late.trailers["lambda-runtime-function-error-type"] == "Function.ResponseSizeTooLarge"
    doc = base64.b64decode(late.trailers["lambda-runtime-function-error-body"])
    assert doc == error_body(message, "Function.ResponseSizeTooLarge", late.request_id, [])


def test_first_chunk_arrives_while_the_handler_waits(host_bin, rapi, tmp_task_root):
    """No buffering: the handler yields chunk 1, then waits for a file that the test creates
    only once the server has received chunk 1. If host held chunk 1 back, it would never
    arrive before the handler gives up (and yields "late" instead of "go")."""
    go = tmp_task_root / "go"
    write(tmp_task_root, "app.py", """
        import os, time

        def handler(event, context):
            yield b"chunk 1;"
            deadline = time.monotonic() + 20
            while not os.path.exists(event["go"]) and time.monotonic() < deadline:
                time.sleep(0.01)
            yield b"go" if os.path.exists(event["go"]) else b"late"
    """)
    rid = rapi.enqueue({"go": str(go)})
    start_host(host_bin, rapi, tmp_task_root, "app.handler")
    stream = rapi.wait_for_stream_chunks(rid, 1, timeout=15)
    assert not stream.done
    released = time.time()
    go.write_text("")
    res = rapi.wait_for_result(rid, timeout=30)
    assert res.body == b"chunk 1;go"
    (t1, n1), (t2, n2) = res.stream.chunks
    assert (n1, n2) == (8, 2)
    assert t1 <= released <= t2


def test_slow_reader_slows_the_handler(host_bin, rapi, tmp_task_root):
    """Back-pressure: while the server reads nothing past 1 MiB, the handler of a 64 MiB
    stream stops being resumed once the bounded buffers between them (libcurl's upload
    buffer, the sockets') are full; it goes on when the reader does."""
    progress = tmp_task_root / "progress"
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            for i in range(1024):
                with open(event["progress"], "w") as f:
                    f.write(str(i))
                yield bytes(65536)
    """)
    rapi.pause_streams_after(1 * MIB)
    rid = rapi.enqueue({"progress": str(progress)})
    start_host(host_bin, rapi, tmp_task_root, "app.handler")
    rapi.wait_for_stream_chunks(rid, 1, timeout=15)
    seen = []
    for _ in range(3):  # until the handler stands still
        time.sleep(0.5)
        seen.append(int(progress.read_text()))
    assert seen[-1] == seen[-2], "the handler kept running while nothing was read: %r" % seen
    held = seen[-1] * 65536
    print("yielded while the reader was stopped at 1 MiB: %d bytes" % held)
    assert held < 32 * MIB, "%d bytes yielded while the reader was stopped at 1 MiB" % held
    rapi.resume_streams()
    res = rapi.wait_for_result(rid, timeout=60)
    assert res.stream.total == 64 * MIB
    assert int(progress.read_text()) == 1023


def vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


def test_100_mb_stream_with_flat_memory(host_bin, rapi, tmp_task_root):
    """100 chunks of 1 MiB: host holds one chunk at a time, so its peak RSS stays far below
    the stream's size."""
    write(tmp_task_root, "app.py", """
        MIB = 1024 * 1024

        def handler(event, context):
            for i in range(100):
                yield bytes([i]) * MIB
    """)
    import hashlib
    expected = hashlib.sha256()
    for i in range(100):
        expected.update(bytes([i]) * MIB)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {}, timeout=120)
    assert_streamed(res)
    assert res.stream.total == 100 * MIB
    assert res.stream.sha256() == expected.hexdigest()
    peak = vmhwm_kb(proc.pid)
    print("host VmHWM after a 100 MB stream: %d kB" % peak)
    assert peak < 48 * 1024, "host's peak RSS %d kB grew with the stream" % peak


# ---- local mode ---------------------------------------------------------------------------

def local(host_bin, root, handler, *extra, timeout=30):
    (root / "ev.json").write_text("{}")
    return run_local(host_bin, ["--local", "ev.json", "--handler", handler] + list(extra),
                     cwd=root, timeout=timeout)


def test_local_writes_chunks_and_prelude(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield {"statusCode": 200, "headers": {"content-type": "text/event-stream"},
                   "cookies": ["s=1"]}
            yield "data: 1\\n\\n"
            yield b"data: 2\\n\\n"
    """)
    cp = local(host_bin, tmp_task_root, "app.handler")
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == b"data: 1\n\ndata: 2\n\n"
    err = cp.stderr.decode()
    assert "HTTP 200\ncontent-type: text/event-stream\nSet-Cookie: s=1\n" in err


def test_local_stdout_gets_each_chunk_as_it_comes(host_bin, tmp_task_root):
    """The handler waits for a file the test creates after reading chunk 1 from host's
    stdout (a pipe): a buffered stdout would never show chunk 1 in time."""
    import subprocess
    go = tmp_task_root / "go"
    write(tmp_task_root, "app.py", """
        import os, time

        def handler(event, context):
            yield b"one\\n"
            deadline = time.monotonic() + 20
            while not os.path.exists(%r) and time.monotonic() < deadline:
                time.sleep(0.01)
            yield b"two\\n" if os.path.exists(%r) else b"late\\n"
    """ % (str(go), str(go)))
    (tmp_task_root / "ev.json").write_text("{}")
    from rapi_server import base_env
    p = subprocess.Popen([host_bin, "--local", "ev.json", "--handler", "app.handler",
                          "--timeout", "30"], cwd=tmp_task_root, env=base_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert p.stdout.readline() == b"one\n"
        go.write_text("")
        assert p.stdout.read() == b"two\n"
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_local_timeout_mid_stream(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import time

        def handler(event, context):
            yield b"partial"
            time.sleep(30)
            yield b"never"
    """)
    cp = local(host_bin, tmp_task_root, "app.handler", "--timeout", "1")
    assert cp.returncode == 1, cp.stderr
    out = cp.stdout.decode()
    first, doc = out.split("\n", 1)
    assert first == "partial"
    doc = json.loads(doc)
    assert doc["errorType"] == "Sandbox.Timedout"
    assert doc["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in cp.stderr.decode()


def test_local_error_mid_stream(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            yield b"partial"
            raise RuntimeError("broken")
    """)
    cp = local(host_bin, tmp_task_root, "app.handler")
    assert cp.returncode == 1
    first, doc = cp.stdout.decode().split("\n", 1)
    assert first == "partial"
    assert json.loads(doc)["errorType"] == "RuntimeError"
