"""Async handlers (issue 11): an `async def` handler (or any awaitable result) is awaited on
one event loop per process that lives across invocations, created only when the first one
comes; context methods and the logging request id work inside tasks; an async generator
streams; an async handler's error is the same document as a sync one's (the handler's frames
only); local mode's timeout cancels the handler's task."""

import asyncio
import base64
import json
import threading

import pytest

from e2e_helpers import TS_MS, error_body, frame, invoke_one, run_invokes, write
from rapi_server import run_local

aiohttp = pytest.importorskip("aiohttp")  # python3-aiohttp, installed by scripts/deps.sh


@pytest.fixture
def aio_server():
    """A local aiohttp server (its own loop, in a thread): GET /ping answers the number of
    requests so far; `peers` records each request's client port."""
    from aiohttp import web
    peers = []

    async def ping(request):
        peers.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"n": len(peers)})

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/ping" % port, peers
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_client_session_lives_across_invocations(host_bin, rapi, tmp_task_root, aio_server):
    url, peers = aio_server
    write(tmp_task_root, "app.py", """
        import asyncio
        import aiohttp

        session = None

        async def handler(event, context):
            global session
            if session is None:
                session = aiohttp.ClientSession()
            async with session.get(event["url"]) as r:
                doc = await r.json()
            return {"n": doc["n"], "session": id(session),
                    "loop": id(asyncio.get_running_loop())}
    """)
    _, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                             [{"url": url}] * 3)
    docs = [r.json() for r in results]
    assert [r.kind for r in results] == ["response"] * 3, results
    assert [d["n"] for d in docs] == [1, 2, 3]
    assert len({d["session"] for d in docs}) == 1
    assert len({d["loop"] for d in docs}) == 1
    # One keep-alive connection for all three: the session's pool survived on the one loop.
    assert len(set(peers)) == 1, peers


def test_context_and_log_stamps_inside_tasks(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import asyncio
        import logging

        async def child(context):
            await asyncio.sleep(0)
            logging.getLogger().warning("from a task")
            return context.get_remaining_time_in_millis()

        async def handler(event, context):
            left = await asyncio.gather(asyncio.create_task(child(context)),
                                        asyncio.create_task(child(context)))
            return {"left": left, "rid": context.aws_request_id}
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    doc = res.json()
    assert doc["rid"] == res.request_id
    assert all(50000 < left <= 60000 for left in doc["left"]), doc
    out = proc.wait_for_output("from a task", stream="stdout")
    import re
    lines = re.findall(r"\[WARNING\]\t%s\t(\S+)\tfrom a task" % TS_MS, out)
    assert lines == [res.request_id, res.request_id], out


def test_async_handler_raises(host_bin, rapi, tmp_task_root):
    path = write(tmp_task_root, "app.py", """
        import asyncio

        async def inner():
            await asyncio.sleep(0)
            raise ValueError("async boom")

        async def handler(event, context):
            await inner()
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.kind == "error"
    # The handler's frames only, as for a sync handler: none of asyncio's or host's.
    assert res.body == error_body("async boom", "ValueError", res.request_id, [
        frame(path, 8, "handler", "await inner()"),
        frame(path, 5, "inner", 'raise ValueError("async boom")'),
    ])
    proc.wait_for_output("[ERROR] ValueError: async boom", stream="stdout")


def test_sync_handler_never_imports_asyncio(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import sys

        def handler(event, context):
            return {"asyncio": "asyncio" in sys.modules}
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.json() == {"asyncio": False}


def test_async_generator_streams_with_one_context(host_bin, rapi, tmp_task_root):
    """Each chunk is one step of the loop; a context variable set before a yield is still
    set after it, as in one task. A raise after the first byte ends with the trailers."""
    path = write(tmp_task_root, "app.py", """
        import asyncio
        import contextvars

        var = contextvars.ContextVar("v", default="unset")

        async def handler(event, context):
            var.set("kept")
            yield b"a"
            await asyncio.sleep(0.01)
            yield var.get()
            if event.get("fail"):
                raise ValueError("late")
    """)
    _, (ok, failed) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                  [{}, {"fail": True}])
    assert ok.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert ok.body == b"akept" and ok.stream.sizes() == [1, 4] and ok.trailers == {}
    assert failed.body == b"akept"
    assert failed.trailers["lambda-runtime-function-error-type"] == "ValueError"
    doc = base64.b64decode(failed.trailers["lambda-runtime-function-error-body"])
    assert doc == error_body("late", "ValueError", failed.request_id,
                             [frame(path, 12, "handler", 'raise ValueError("late")')])


def test_async_handler_returning_an_async_iterator_streams(host_bin, rapi, tmp_task_root):
    write(tmp_task_root, "app.py", """
        async def numbers(n):
            for i in range(n):
                yield "%d\\n" % i

        async def handler(event, context):
            return numbers(3)
    """)
    _, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.body == b"0\n1\n2\n" and res.stream.sizes() == [2, 2, 2]


def test_timeout_cancels_the_task(host_bin, tmp_task_root):
    """Local mode: at the deadline the handler's task is cancelled (its except and finally
    blocks run) and the timeout is reported; the next event gets a fresh sandbox whose new
    loop works."""
    write(tmp_task_root, "app.py", """
        import asyncio

        async def handler(event, context):
            if not event.get("slow"):
                await asyncio.sleep(0)
                return {"ok": True}
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                print("cancelled")
                raise
            finally:
                print("finally ran")
    """)
    (tmp_task_root / "ev.jsonl").write_text('{"slow": true}\n{}\n')
    cp = run_local(host_bin, ["--local", "ev.jsonl", "--handler", "app.handler",
                              "--timeout", "1"], cwd=tmp_task_root, timeout=30)
    out = cp.stdout.decode().splitlines()
    assert cp.returncode == 1, cp.stderr
    assert json.loads(out[0])["errorType"] == "Sandbox.Timedout"
    assert json.loads(out[1]) == {"ok": True}
    err = cp.stderr.decode()
    assert "cancelled\n" in err and "finally ran\n" in err
    assert err.index("cancelled") < err.index("Task timed out after 1.00 seconds")


def test_timeout_mid_async_stream(host_bin, tmp_task_root):
    write(tmp_task_root, "app.py", """
        import asyncio

        async def handler(event, context):
            yield b"tick\\n"
            try:
                await asyncio.sleep(30)
            finally:
                print("stream finally ran")
            yield b"never"
    """)
    (tmp_task_root / "ev.json").write_text("{}")
    cp = run_local(host_bin, ["--local", "ev.json", "--handler", "app.handler",
                              "--timeout", "1"], cwd=tmp_task_root, timeout=30)
    assert cp.returncode == 1
    out = cp.stdout.decode().splitlines()
    assert out[0] == "tick" and json.loads(out[1])["errorType"] == "Sandbox.Timedout"
    assert "stream finally ran" in cp.stderr.decode()
