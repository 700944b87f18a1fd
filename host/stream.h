/* stream: a streamed response, for a handler that is (or returns) a generator or an async
 * iterator. The mode's sender (rapi's read callback in runtime mode, local mode's stdout
 * writer) pulls the chunks one at a time; each is handed on as its bytes object's own buffer
 * and released when the sender asks for the next one, so one chunk at most is held, memory
 * does not grow with the stream, and a slow reader slows the handler (the handler is resumed
 * only when the sender asks again, that is once the last chunk has been written).
 * Invariant: the first byte is pulled before the sender starts (stream_open), so an error
 * before it is an ordinary error post; one after it is recorded for the trailers. */
#ifndef HOST_STREAM_H
#define HOST_STREAM_H

#include <Python.h>

#include "invoke.h"

#define STREAM_LIMIT_BYTES ((size_t)200 * 1024 * 1024) /* Lambda's limit for one stream */
#define STREAM_CONTENT_TYPE "application/octet-stream"
#define STREAM_HTTP_CONTENT_TYPE "application/vnd.awslambda.http-integration-response"

/* A generator, or an async iterator (an async generator): the result streams. */
static inline int stream_is_stream(PyObject *r)
{
    PyAsyncMethods *a = Py_TYPE(r)->tp_as_async;
    return PyGen_Check(r) || (a && a->am_anext);
}

/* A coroutine or another awaitable that is not an async iterator: the result is awaited. */
static inline int stream_is_awaitable(PyObject *r)
{
    PyAsyncMethods *a = Py_TYPE(r)->tp_as_async;
    return a && a->am_await && !a->am_anext;
}

typedef enum {
    STREAM_OPEN_OK = 0,
    STREAM_OPEN_RAISED = -1,   /* the handler raised before the first byte (pending) */
    STREAM_OPEN_PRELUDE = -2,  /* the prelude dict could not be marshalled (pending) */
    STREAM_OPEN_TOO_LARGE = -3 /* the first chunk alone is past STREAM_LIMIT_BYTES */
} stream_open_status;

/* Makes `result` (a stream, see stream_is_stream) out's stream and pulls up to its first
 * byte; out->kind becomes INVOKE_STREAM. Otherwise out is untouched and the status says
 * why. Steals nothing. */
stream_open_status stream_open(invoker *iv, const char *request_id, PyObject *result,
                               invoke_result *out);

/* The sender's pull, called without the GIL (it takes it to resume the handler): 1 with
 * the next chunk in data/len (valid until the next call), 0 at the end of the stream (a
 * failure is then in the trailers), -1 when the sender must abort (the handler ended the
 * process). ctx is out->stream. */
int stream_pull(void *ctx, const char **data, size_t *len);

/* After the end: 1 with the error trailers' values (valid until stream_end), 0 when the
 * stream succeeded. Needs no GIL. */
int stream_trailers(void *ctx, const char **error_type, const char **error_body);

/* The HTTP prelude as text for a person (local mode), or NULL when there is none. Its bytes
 * are then dropped from the stream. New reference (str); NULL with a Python error too. */
PyObject *stream_take_prelude_text(invoke_result *r);

/* Once the sender is done (whether or not it reached the end): the handler's iterator is
 * closed if it did not finish, and r becomes the outcome: INVOKE_STREAMED, INVOKE_ERROR
 * with streamed set (data: the error document, already in the trailers), INVOKE_TIMEOUT,
 * INVOKE_EXIT or INVOKE_INTERRUPT. With the GIL. */
void stream_end(invoke_result *r);

/* Frees a stream that was never ended (invoke_result_clear). */
void stream_free(struct stream *s);

#endif
