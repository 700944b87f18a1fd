"""host's event loop for async handlers: one per process, created when the first awaitable
result or async iterator appears (a sync handler never imports asyncio), and kept across
invocations, so the aiohttp sessions, aioboto3 clients and database pools a handler creates at
import or in its first invocation are reused. The loop runs only while host waits for the
handler: between invocations, and while a streamed chunk is being sent, it is paused.

In local mode the deadline raises TimeoutInterrupt while the loop waits: the handler's task is
then cancelled and the loop run until the cancellation has been handled (the handler's
`except asyncio.CancelledError` and `finally` blocks run), and TimeoutInterrupt goes on.
"""

import asyncio
import warnings

_loop = None
_ASYNCIO_DIR = asyncio.__file__.rsplit("/", 1)[0] + "/"
_HOST_PREFIX = "<host>/"


def _get_loop():
    """The process's loop: one the handler's module already set (asyncio.set_event_loop, or
    a get_event_loop() at import), else a new one, which becomes the current loop."""
    global _loop
    if _loop is None or _loop.is_closed():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                loop = asyncio.get_event_loop_policy().get_event_loop()
            except RuntimeError:
                loop = None
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _loop = loop
    return _loop


async def _await(awaitable):
    return await awaitable


def _handler_frames(tb):
    """The traceback from the first frame that is neither asyncio's nor host's: an error
    document shows the handler's frames, as for a sync handler."""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith(_ASYNCIO_DIR) or name.startswith(_HOST_PREFIX)):
            return tb
        tb = tb.tb_next
    return None


def _cancel(loop, task):
    task.cancel()
    try:
        loop.run_until_complete(task)
    except BaseException:
        pass


def run(awaitable, context=None):
    """Runs `awaitable` to completion on the process's loop and returns its result; its
    exception propagates with the handler's frames first. `context` (a contextvars.Context)
    lets the steps of one stream share their context variables."""
    loop = _get_loop()
    coro = awaitable if asyncio.iscoroutine(awaitable) else _await(awaitable)
    task = loop.create_task(coro, context=context)
    try:
        return loop.run_until_complete(task)
    except Exception as e:
        raise e.with_traceback(_handler_frames(e.__traceback__))
    except BaseException:
        # TimeoutInterrupt (local mode's deadline), KeyboardInterrupt, SystemExit: the task
        # learns of it as a cancellation before the exception goes on.
        if not task.done():
            _cancel(loop, task)
        raise
