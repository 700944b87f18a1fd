/* invoke: one invocation (context, event, handler call, result or error), and the
 * per-invocation state it owns: the request and tenant ids log records carry and the
 * _X_AMZN_TRACE_ID variable. */
#include "invoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "crash.h"
#include "event.h"
#include "floattext.h"
#include "marshaller.h"
#include "stream.h"

/* The stamps of the current invocation, read by the logging filter through
 * _host.request_id() and _host.tenant_id(). As in the official runtime they are not
 * cleared after an invoke (a background thread logs the last request id); before the
 * first one they are "" and None. Strong references; NULL means not set yet. */
static PyObject *current_request_id, *current_tenant_id;

/* Borrowed. */
PyObject *invoke_current_request_id(void)
{
    if (!current_request_id)
        current_request_id = PyUnicode_FromStringAndSize("", 0); /* an immortal singleton */
    return current_request_id ? current_request_id : Py_None;
}

/* Borrowed. */
PyObject *invoke_current_tenant_id(void)
{
    return current_tenant_id ? current_tenant_id : Py_None;
}

void invoke_state_clear(void)
{
    Py_CLEAR(current_request_id);
    Py_CLEAR(current_tenant_id);
}

int invoker_init(invoker *iv, pyrt_t *rt, PyObject *handler)
{
    memset(iv, 0, sizeof *iv);
    iv->rt = rt;
    iv->handler = Py_NewRef(handler);
    iv->trace_key = PyBytes_FromString("_X_AMZN_TRACE_ID");
    iv->client_context_what = PyUnicode_InternFromString("Client Context");
    iv->cognito_what = PyUnicode_InternFromString("Cognito Identity");
    return iv->trace_key && iv->client_context_what && iv->cognito_what ? 0 : -1;
}

void invoker_clear(invoker *iv)
{
    Py_CLEAR(iv->handler);
    Py_CLEAR(iv->trace_key);
    Py_CLEAR(iv->client_context_what);
    Py_CLEAR(iv->cognito_what);
    buf_free(&iv->payload);
}

void invoke_result_clear(invoke_result *r)
{
    if (r->stream) {
        stream_free(r->stream);
        crash_set_request(NULL);
    }
    Py_CLEAR(r->keep_data);
    Py_CLEAR(r->keep_cause);
    memset(r, 0, sizeof *r);
}

/* out's data is the bytes `body`. Steals it. */
static void set_body(invoke_result *out, PyObject *body)
{
    out->keep_data = body;
    out->data = PyBytes_AS_STRING(body);
    out->len = (size_t)PyBytes_GET_SIZE(body);
}

/* Fills `out` from a (body, cause) pair returned by host/py/errors.py, or, when that
 * failed, from host's own error document. Steals `pair`. */
static void set_error(invoke_result *out, PyObject *pair, const char *request_id)
{
    out->kind = INVOKE_ERROR;
    if (!pair || !PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
        !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))) {
        Py_XDECREF(pair);
        set_body(out, pyrt_host_error(request_id, "host could not format the error; see the log"));
        return;
    }
    set_body(out, Py_NewRef(PyTuple_GET_ITEM(pair, 0)));
    PyObject *cause = PyTuple_GET_ITEM(pair, 1);
    if (PyBytes_Check(cause)) {
        out->keep_cause = Py_NewRef(cause);
        out->xray_cause = PyBytes_AS_STRING(cause);
    }
    Py_DECREF(pair);
}

/* errors.NAME(a, request_id) into `out`. Steals `a`. */
static void error_from(const char *name, PyObject *a, const char *request_id,
                       invoke_result *out)
{
    PyObject *pair = a ? pyrt_errors_call(name, "(Os)", a, request_id) : NULL;
    Py_XDECREF(a);
    set_error(out, pair, request_id);
}

void invoke_fault(const char *error_type, const char *message, const char *request_id,
                  invoke_result *out)
{
    memset(out, 0, sizeof *out);
    PyObject *pair = pyrt_errors_call("fault_error", "(sss)", error_type, message, request_id);
    set_error(out, pair, request_id);
}

/* A fault whose message is `prefix` + str(pending exception). */
static void fault_from_exception(const char *error_type, const char *prefix,
                                 const char *request_id, invoke_result *out)
{
    PyObject *exc = pyrt_take_exception();
    PyObject *msg = exc ? PyUnicode_FromFormat("%s%S", prefix, exc) : NULL;
    Py_XDECREF(exc);
    PyObject *pair = msg ? pyrt_errors_call("fault_error", "(sOs)", error_type, msg, request_id)
                         : NULL;
    Py_XDECREF(msg);
    set_error(out, pair, request_id);
}

invoke_kind invoke_classify(invoker *iv, PyObject *exc, int *exit_code)
{
    if (PyErr_GivenExceptionMatches(exc, iv->rt->timeout_interrupt))
        return INVOKE_TIMEOUT;
    if (PyErr_GivenExceptionMatches(exc, PyExc_Exception))
        return INVOKE_ERROR;
    /* Only Exception is caught, as in the official runtime: the rest ends the process as it
     * would end a Python program, with nothing posted. */
    *exit_code = pyrt_exit_status(exc);
    return PyErr_GivenExceptionMatches(exc, PyExc_KeyboardInterrupt) ? INVOKE_INTERRUPT
                                                                     : INVOKE_EXIT;
}

/* The handler (or the context) raised: an error post, an exit, or a timeout. */
static void handle_exception(invoker *iv, const invoke_request *req, invoke_result *out)
{
    PyObject *exc = pyrt_take_exception();
    if (!exc) { /* a NULL result without an exception: a broken extension */
        PyErr_SetString(PyExc_SystemError, "the handler returned NULL without an exception");
        fault_from_exception("Runtime.HostError", "", req->request_id, out);
        return;
    }
    out->kind = invoke_classify(iv, exc, &out->exit_code);
    if (out->kind == INVOKE_ERROR)
        error_from("handler_error", exc, req->request_id, out);
    else
        Py_DECREF(exc);
}

/* A str for s, or None when s is NULL. New reference. */
static PyObject *str_or_none(const char *s)
{
    return s ? PyUnicode_FromString(s) : Py_NewRef(Py_None);
}

/* A client-context or Cognito header parsed by the Python half (stdlib json, as the
 * official runtime), or None without one (an empty header is an absent one). New
 * reference. */
static PyObject *header_json(invoker *iv, const char *raw, PyObject *what)
{
    if (!raw || !*raw)
        return Py_NewRef(Py_None);
    PyObject *text = PyUnicode_FromString(raw);
    PyObject *args[2] = {text, what};
    PyObject *obj = text ? PyObject_Vectorcall(iv->rt->parse_header_json, args, 2, NULL) : NULL;
    Py_XDECREF(text);
    return obj;
}

/* os.environ["_X_AMZN_TRACE_ID"] = trace, or its removal: the C environment and the
 * dict os.environ wraps, as os.environ's own __setitem__/__delitem__ update both. */
static int set_trace_env(invoker *iv, const char *trace)
{
    PyObject *key = iv->trace_key;
    if (!trace) {
        if (!PyDict_Contains(iv->rt->environ_data, key))
            return 0;
        unsetenv("_X_AMZN_TRACE_ID");
        return PyDict_DelItem(iv->rt->environ_data, key);
    }
    PyObject *value = PyBytes_FromString(trace);
    if (!value)
        return -1;
    setenv("_X_AMZN_TRACE_ID", trace, 1);
    int rc = PyDict_SetItem(iv->rt->environ_data, key, value);
    Py_DECREF(value);
    return rc;
}

/* New reference. */
PyObject *invoke_begin(invoker *iv, const invoke_request *req)
{
    PyObject *rid = PyUnicode_FromString(req->request_id);
    PyObject *tenant = rid ? str_or_none(req->tenant_id) : NULL;
    if (!tenant) {
        Py_XDECREF(rid);
        return NULL;
    }
    Py_XSETREF(current_request_id, rid);
    Py_XSETREF(current_tenant_id, tenant);
    if (set_trace_env(iv, req->trace_id) < 0)
        return NULL;
    PyObject *arn = PyUnicode_FromString(req->function_arn ? req->function_arn : "");
    PyObject *cc = arn ? header_json(iv, req->client_context, iv->client_context_what) : NULL;
    PyObject *cog = cc ? header_json(iv, req->cognito_identity, iv->cognito_what) : NULL;
    PyObject *ctx = cog ? context_create(rid, req->deadline_ms, arn, tenant, cc, cog) : NULL;
    Py_XDECREF(arn);
    Py_XDECREF(cc);
    Py_XDECREF(cog);
    return ctx;
}

static void marshal_result(invoker *iv, PyObject *result, const char *request_id,
                           invoke_result *out)
{
    if (PyBytes_Check(result)) {
        /* bytes (subclasses too: the check is isinstance) go out raw, as the official
         * runtime posts them. */
        set_body(out, Py_NewRef(result));
        out->content_type = "application/unknown";
        out->kind = INVOKE_RESPONSE;
        return;
    }
    buf_reset(&iv->payload);
    if (marshal_dumps(result, &iv->payload) < 0) {
        fault_from_exception("Runtime.MarshalError", "Unable to marshal response: ", request_id,
                             out);
        return;
    }
    out->kind = INVOKE_RESPONSE;
    out->data = iv->payload.data ? iv->payload.data : "";
    out->len = iv->payload.len;
    out->content_type = "application/json";
}

/* A streaming result (host/stream.h): up to its first byte, or the error before it. */
static void start_stream(invoker *iv, const invoke_request *req, PyObject *result,
                         invoke_result *out)
{
    switch (stream_open(iv, req->request_id, result, out)) {
    case STREAM_OPEN_OK:
        break;
    case STREAM_OPEN_RAISED:
        handle_exception(iv, req, out);
        break;
    case STREAM_OPEN_PRELUDE:
        fault_from_exception("Runtime.MarshalError", "Unable to marshal the stream's HTTP "
                             "prelude: ", req->request_id, out);
        break;
    case STREAM_OPEN_TOO_LARGE: {
        char msg[128];
        snprintf(msg, sizeof msg, "Response payload size exceeded maximum allowed payload "
                 "size (%zu bytes).", STREAM_LIMIT_BYTES);
        invoke_fault("Function.ResponseSizeTooLarge", msg, req->request_id, out);
        break;
    }
    }
}

/* An async handler's coroutine (or another awaitable result), run on the process's event
 * loop (host/py/aio.py). Steals `result`; new reference, NULL with a Python error. */
static PyObject *await_result(PyObject *result)
{
    PyObject *value = pyrt_call("hostrt_aio", "run", &result, 1);
    Py_DECREF(result);
    return value;
}

/* What the handler returned: marshalled, or streamed. Only a result the official runtime
 * cannot marshal (a generator, a coroutine, an async iterator) takes the slow path. */
static void finish(invoker *iv, const invoke_request *req, PyObject *result, invoke_result *out)
{
    if (!PyDict_CheckExact(result) && stream_is_awaitable(result)) {
        result = await_result(result);
        if (!result) {
            handle_exception(iv, req, out);
            return;
        }
    }
    if (!PyDict_CheckExact(result) && stream_is_stream(result))
        start_stream(iv, req, result, out);
    else
        marshal_result(iv, result, req->request_id, out);
    Py_DECREF(result);
}

static void run(invoker *iv, const invoke_request *req, invoke_result *out)
{
    PyObject *ctx = invoke_begin(iv, req);
    if (!ctx) {
        handle_exception(iv, req, out);
        return;
    }
    PyObject *event = event_decode(req->body, req->body_len,
                                   event_is_json(req->content_type));
    if (!event) {
        fault_from_exception("Runtime.UnmarshalError", "Unable to unmarshal input: ",
                             req->request_id, out);
        Py_DECREF(ctx);
        return;
    }
    PyObject *args[2] = {event, ctx};
    PyObject *result = PyObject_Vectorcall(iv->handler, args, 2, NULL);
    Py_DECREF(event);
    Py_DECREF(ctx);
    if (!result) {
        handle_exception(iv, req, out);
        return;
    }
    finish(iv, req, result, out);
}

void invoke_run(invoker *iv, const invoke_request *req, invoke_result *out)
{
    memset(out, 0, sizeof *out);
    crash_set_request(req->request_id);
    run(iv, req, out);
    if (out->kind != INVOKE_STREAM) /* a stream goes on: stream_end clears it */
        crash_set_request(NULL);
    floattext_reset();
}
