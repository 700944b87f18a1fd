/* stream: a streamed response: the handler's chunks pulled one by one, the HTTP prelude, the
 * size limit, and the outcome (done, failed with trailers, timed out, exited). */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "crash.h"

#define STREAM_MODULE "hostrt_stream"
#define CONTENT_TYPE_ATTR "stream_content_type" /* the documented helper: handler.ATTR = "..." */

typedef enum { STREAM_LIVE, STREAM_DONE, STREAM_FAILED, STREAM_TIMED_OUT, STREAM_EXITED } stream_state;

struct stream {
    invoker *iv;              /* borrowed */
    const char *request_id;   /* borrowed: lives as long as the invocation */
    PyObject *iter;           /* owned: the handler's chunks as an iterator */
    PyObject *chunk;          /* owned: the object behind data, or NULL */
    PyObject *meta;           /* owned: the prelude dict, or NULL */
    PyObject *content_type;   /* owned: the str behind content_type_text, or NULL */
    const char *content_type_text;
    const char *data;         /* the current chunk */
    size_t len;
    int pending;              /* data/len pulled but not handed to the sender yet */
    size_t total;             /* bytes pulled so far */
    size_t items;             /* items taken so far, for messages */
    stream_state state;
    invoke_kind end_kind;     /* STREAM_EXITED: INVOKE_EXIT or INVOKE_INTERRUPT */
    int exit_code;
    PyObject *error;          /* owned: errors.stream_error's (body, type, base64 body) */
};

enum { TAKE_OK = 0, TAKE_FAILED = -1, TAKE_TOO_LARGE = -2 };

/* Makes `item` the current chunk: bytes and str (UTF-8) pass through as they are, another
 * bytes-like object is copied once into bytes. Steals item. */
static int take_chunk(struct stream *s, PyObject *item)
{
    s->items++;
    Py_CLEAR(s->chunk);
    if (!PyBytes_Check(item) && !PyUnicode_Check(item)) {
        PyObject *b = PyObject_CheckBuffer(item) ? PyBytes_FromObject(item) : NULL;
        if (!b && !PyErr_Occurred())
            PyErr_Format(PyExc_TypeError,
                         "a streaming handler yields bytes or str chunks (and a dict, the HTTP "
                         "prelude, only as its first item); item %zu is a %.200s",
                         s->items, Py_TYPE(item)->tp_name);
        Py_DECREF(item);
        if (!b)
            return TAKE_FAILED;
        item = b;
    }
    Py_ssize_t n;
    const char *p;
    if (PyBytes_Check(item)) {
        p = PyBytes_AS_STRING(item);
        n = PyBytes_GET_SIZE(item);
    } else if (!(p = PyUnicode_AsUTF8AndSize(item, &n))) {
        Py_DECREF(item);
        return TAKE_FAILED;
    }
    if ((size_t)n > STREAM_LIMIT_BYTES - s->total) {
        Py_DECREF(item);
        return TAKE_TOO_LARGE;
    }
    s->chunk = item;
    s->data = p;
    s->len = (size_t)n;
    s->total += (size_t)n;
    return TAKE_OK;
}

/* The first item, when it is a dict: the prelude bytes become the first chunk. */
static int take_prelude(struct stream *s, PyObject *meta)
{
    s->meta = meta;
    PyObject *bytes = pyrt_call(STREAM_MODULE, "prelude", &meta, 1);
    if (!bytes)
        return TAKE_FAILED;
    s->content_type_text = STREAM_HTTP_CONTENT_TYPE;
    return take_chunk(s, bytes);
}

/* obj.name, or NULL (no error pending) when it has none. New reference. */
static PyObject *optional_attr(PyObject *obj, const char *name)
{
    PyObject *v = PyObject_HasAttrString(obj, name) ? PyObject_GetAttrString(obj, name) : NULL;
    PyErr_Clear();
    return v;
}

/* The helper that names a plain stream's content type: handler.stream_content_type. */
static void choose_content_type(struct stream *s)
{
    s->content_type_text = STREAM_CONTENT_TYPE;
    PyObject *ct = optional_attr(s->iv->handler, CONTENT_TYPE_ATTR);
    const char *text = ct && PyUnicode_Check(ct) ? PyUnicode_AsUTF8(ct) : NULL;
    if (text && !strpbrk(text, "\r\n")) {
        s->content_type = ct;
        s->content_type_text = text;
        return;
    }
    PyErr_Clear();
    Py_XDECREF(ct);
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    Py_XDECREF(s->iter);
    Py_XDECREF(s->chunk);
    Py_XDECREF(s->meta);
    Py_XDECREF(s->content_type);
    Py_XDECREF(s->error);
    free(s);
}

/* The handler's next item into *item (new reference; NULL at the end); -1 when it raised. */
static int pull_item(struct stream *s, PyObject **item)
{
    *item = PyIter_Next(s->iter);
    return *item || !PyErr_Occurred() ? 0 : -1;
}

stream_open_status stream_open(invoker *iv, const char *request_id, PyObject *result,
                               invoke_result *out)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s) {
        PyErr_NoMemory();
        return STREAM_OPEN_RAISED;
    }
    s->iv = iv;
    s->request_id = request_id;
    stream_open_status st = STREAM_OPEN_RAISED;
    s->iter = PyGen_Check(result) ? Py_NewRef(result)
                                  : pyrt_call(STREAM_MODULE, "chunks", &result, 1);
    if (!s->iter)
        goto err;
    choose_content_type(s);
    PyObject *item;
    if (pull_item(s, &item) < 0)
        goto err;
    int taken = TAKE_OK;
    if (item && PyDict_Check(item)) {
        if ((taken = take_prelude(s, item)) == TAKE_FAILED) {
            st = STREAM_OPEN_PRELUDE;
            goto err;
        }
    } else {
        /* Empty chunks before the first byte are skipped: the first byte decides. */
        while (item && (taken = take_chunk(s, item)) == TAKE_OK && s->len == 0)
            if (pull_item(s, &item) < 0)
                goto err;
    }
    if (taken == TAKE_FAILED)
        goto err;
    if (taken == TAKE_TOO_LARGE) {
        st = STREAM_OPEN_TOO_LARGE;
        goto err;
    }
    s->pending = s->chunk != NULL && s->len > 0;
    s->state = s->pending ? STREAM_LIVE : STREAM_DONE;
    out->kind = INVOKE_STREAM;
    out->stream = s;
    out->content_type = s->content_type_text;
    return STREAM_OPEN_OK;
err:
    stream_free(s);
    return st;
}

/* The handler failed after the first byte: the outcome, for the trailers and stream_end. */
static void fail(struct stream *s)
{
    PyObject *exc = pyrt_take_exception();
    if (!exc) {
        s->state = STREAM_FAILED;
        return;
    }
    invoke_kind kind = invoke_classify(s->iv, exc, &s->exit_code);
    if (kind == INVOKE_TIMEOUT) {
        s->state = STREAM_TIMED_OUT;
    } else if (kind != INVOKE_ERROR) {
        s->state = STREAM_EXITED;
        s->end_kind = kind;
    } else {
        s->error = pyrt_errors_call("stream_error", "(Os)", exc, s->request_id);
        s->state = STREAM_FAILED;
    }
    Py_DECREF(exc);
}

/* The next chunk went past the limit: the stream fails as Lambda fails it. */
static void fail_too_large(struct stream *s)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Response payload size exceeded maximum allowed payload size "
             "(%zu bytes).", STREAM_LIMIT_BYTES);
    s->error = pyrt_errors_call("stream_fault", "(sss)", "Function.ResponseSizeTooLarge", msg,
                                s->request_id);
    s->state = STREAM_FAILED;
}

/* With the GIL: resumes the handler for its next non-empty chunk. */
static int next_chunk(struct stream *s)
{
    Py_CLEAR(s->chunk);
    s->len = 0;
    for (;;) {
        PyObject *item;
        if (pull_item(s, &item) < 0) {
            fail(s);
            return 0;
        }
        if (!item) {
            s->state = STREAM_DONE;
            return 0;
        }
        int taken = take_chunk(s, item);
        if (taken == TAKE_TOO_LARGE) {
            fail_too_large(s);
            return 0;
        }
        if (taken == TAKE_FAILED) {
            fail(s);
            return 0;
        }
        if (s->len > 0)
            return 1;
    }
}

int stream_pull(void *ctx, const char **data, size_t *len)
{
    struct stream *s = ctx;
    int rc = 1;
    if (s->pending) {
        s->pending = 0;
    } else if (s->state != STREAM_LIVE) {
        rc = 0;
    } else {
        PyGILState_STATE g = PyGILState_Ensure();
        rc = next_chunk(s);
        PyGILState_Release(g);
    }
    if (rc == 0 && s->state == STREAM_EXITED)
        return -1;
    *data = rc ? s->data : "";
    *len = rc ? s->len : 0;
    return rc;
}

/* Borrowed: item i of the error tuple when it is bytes, else NULL. */
static const char *error_item(const struct stream *s, Py_ssize_t i)
{
    if (!s->error || !PyTuple_Check(s->error) || PyTuple_GET_SIZE(s->error) != 3)
        return NULL;
    PyObject *v = PyTuple_GET_ITEM(s->error, i);
    return PyBytes_Check(v) ? PyBytes_AS_STRING(v) : NULL;
}

int stream_trailers(void *ctx, const char **error_type, const char **error_body)
{
    const struct stream *s = ctx;
    if (s->state != STREAM_FAILED)
        return 0;
    /* Without a document (memory ran out while building it) the type alone says it failed. */
    *error_type = error_item(s, 1) ? error_item(s, 1) : "Runtime.HostError";
    *error_body = error_item(s, 2);
    return 1;
}

PyObject *stream_take_prelude_text(invoke_result *r)
{
    struct stream *s = r->stream;
    if (!s || !s->meta)
        return NULL;
    PyObject *text = pyrt_call(STREAM_MODULE, "prelude_text", &s->meta, 1);
    /* The prelude is the first chunk while it is pending: dropped, the body comes next. */
    if (s->pending && s->total == s->len) {
        s->pending = 0;
        Py_CLEAR(s->chunk);
        s->len = 0;
    }
    return text;
}

/* An iterator the sender did not finish: closed, so the handler's finally blocks run now. */
static void close_iterator(struct stream *s)
{
    PyObject *close = optional_attr(s->iter, "close");
    if (close) {
        PyObject *r = PyObject_CallNoArgs(close);
        if (!r)
            PyErr_WriteUnraisable(close);
        Py_XDECREF(r);
    }
    PyErr_Clear();
    Py_XDECREF(close);
}

void stream_end(invoke_result *r)
{
    struct stream *s = r->stream;
    if (s->state != STREAM_DONE)
        close_iterator(s);
    r->stream = NULL;
    r->streamed = 1;
    switch (s->state) {
    case STREAM_LIVE: /* the sender stopped: its own status says why */
    case STREAM_DONE:
        r->kind = INVOKE_STREAMED;
        break;
    case STREAM_TIMED_OUT:
        r->kind = INVOKE_TIMEOUT;
        break;
    case STREAM_EXITED:
        r->kind = s->end_kind;
        r->exit_code = s->exit_code;
        break;
    case STREAM_FAILED:
        r->kind = INVOKE_ERROR;
        if (s->error && error_item(s, 0)) {
            r->keep_data = Py_NewRef(PyTuple_GET_ITEM(s->error, 0));
        } else {
            r->keep_data = pyrt_host_error(s->request_id, "host could not format the error; "
                                                          "see the log");
        }
        r->data = PyBytes_AS_STRING(r->keep_data);
        r->len = (size_t)PyBytes_GET_SIZE(r->keep_data);
        break;
    }
    stream_free(s);
    crash_set_request(NULL);
}
