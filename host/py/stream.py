"""The Python side of a streamed response (host/stream.c drives it): the HTTP prelude of a
function URL or API Gateway stream, and async iterators as plain iterators that host can pull
chunk by chunk.
"""

import contextvars

import _host

# runtime-api.md §3: the prelude is a JSON document followed by exactly 8 NUL bytes.
PRELUDE_DELIMITER = b"\0" * 8


def prelude(meta):
    """The bytes that open an HTTP integration stream for the metadata dict `meta`
    ({"statusCode": 200, "headers": {...}, "cookies": [...]}, as the handler wrote it)."""
    data = _host.dumps(meta)
    if b"\0" in data:
        raise ValueError("the HTTP prelude (the dict a stream yields first) must not contain "
                         "a NUL character")
    return data + PRELUDE_DELIMITER


def prelude_text(meta):
    """The prelude for a person (local mode prints it on stderr): the status line, then one
    line per header and cookie."""
    lines = ["HTTP %s" % meta.get("statusCode", 200)]
    for name, value in (meta.get("headers") or {}).items():
        lines.append("%s: %s" % (name, value))
    for cookie in meta.get("cookies") or ():
        lines.append("Set-Cookie: %s" % cookie)
    return "\n".join(lines) + "\n"


class AsyncChunks(object):
    """An async iterator (an async generator handler's result) as an iterator: each item is
    one step of the process's loop. The steps share one contextvars.Context, so a context
    variable set before one yield is still set after it, as in a single task."""

    __slots__ = ("_it", "_context", "_run")

    def __init__(self, it):
        self._it = it
        self._context = contextvars.copy_context()
        self._run = _host.load_embedded("hostrt_aio").run

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self._run(self._it.__anext__(), self._context)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self):
        """A stream that ended early (an error, the size limit, the reader gone): the async
        generator's finally blocks run on the loop, as `aclose()` runs them."""
        aclose = getattr(self._it, "aclose", None)
        if aclose is not None:
            self._run(aclose(), self._context)


def chunks(it):
    return AsyncChunks(it)
