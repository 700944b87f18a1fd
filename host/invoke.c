#include "invoke.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "crash.h"
#include "floattext.h"
#include "marshal.h"

int invoker_init(invoker *iv, pyrt_t *rt, PyObject *handler)
{
    memset(iv, 0, sizeof *iv);
    iv->rt = rt;
    if (event_decoder_init(&iv->decoder, rt->make_scanner, rt->unmarshal_error_message) < 0)
        return -1;
    Py_INCREF(handler);
    iv->handler = handler;
    iv->globals = PyModule_GetDict(rt->module); /* borrowed: rt->module owns it */
    iv->request_id_key = PyUnicode_InternFromString("_request_id");
    iv->tenant_id_key = PyUnicode_InternFromString("_tenant_id");
    iv->trace_key = PyBytes_FromString("_X_AMZN_TRACE_ID");
    return iv->request_id_key && iv->tenant_id_key && iv->trace_key ? 0 : -1;
}

void invoker_clear(invoker *iv)
{
    Py_CLEAR(iv->handler);
    Py_CLEAR(iv->request_id_key);
    Py_CLEAR(iv->tenant_id_key);
    Py_CLEAR(iv->trace_key);
    event_decoder_clear(&iv->decoder);
    buf_free(&iv->payload);
}

void invoke_result_clear(invoke_result *r)
{
    Py_CLEAR(r->keep_data);
    Py_CLEAR(r->keep_cause);
    memset(r, 0, sizeof *r);
}

/* The pending exception, normalized, with its traceback attached. New reference. */
static PyObject *take_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* When the Python half cannot format an error, host still reports one (its own
 * document, through jansson). */
static void set_fallback_error(invoke_result *out, const char *request_id)
{
    PyErr_Print();
    json_t *doc = json_pack("{s:s, s:s, s:s, s:[]}", "errorMessage",
                            "host could not format the error; see the log", "errorType",
                            "Runtime.HostError", "requestId", request_id ? request_id : "",
                            "stackTrace");
    char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    PyObject *body = text ? PyBytes_FromString(text) : NULL;
    free(text);
    if (!body) {
        PyErr_Clear();
        static const char minimal[] = "{\"errorType\": \"Runtime.HostError\"}";
        out->data = minimal;
        out->len = sizeof minimal - 1;
        return;
    }
    out->keep_data = body;
    out->data = PyBytes_AS_STRING(body);
    out->len = (size_t)PyBytes_GET_SIZE(body);
}

/* Fills `out` from a (body, cause) pair returned by the Python half. Steals `pair`. */
static void set_error(invoke_result *out, PyObject *pair, const char *request_id)
{
    out->kind = INVOKE_ERROR;
    if (!pair || !PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
        !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))) {
        set_fallback_error(out, request_id);
        Py_XDECREF(pair);
        return;
    }
    PyObject *body = PyTuple_GET_ITEM(pair, 0), *cause = PyTuple_GET_ITEM(pair, 1);
    Py_INCREF(body);
    out->keep_data = body;
    out->data = PyBytes_AS_STRING(body);
    out->len = (size_t)PyBytes_GET_SIZE(body);
    if (PyBytes_Check(cause)) {
        Py_INCREF(cause);
        out->keep_cause = cause;
        out->xray_cause = PyBytes_AS_STRING(cause);
    }
    Py_DECREF(pair);
}

void invoke_fault(invoker *iv, const char *error_type, const char *message,
                  const char *request_id, invoke_result *out)
{
    set_error(out, PyObject_CallFunction(iv->rt->fault_error, "sss", error_type, message,
                                         request_id), request_id);
}

/* A fault whose message is `prefix` + str(pending exception). */
static void fault_from_exception(invoker *iv, const char *error_type, const char *prefix,
                                 const char *request_id, invoke_result *out)
{
    PyObject *exc = take_exception();
    char *text = pyrt_exception_text(exc);
    Py_XDECREF(exc);
    buf_t msg = BUF_INIT;
    if (buf_printf(&msg, "%s%s", prefix, text ? text : "") < 0) {
        free(text);
        out->kind = INVOKE_EXIT;
        out->exit_code = 1;
        return;
    }
    invoke_fault(iv, error_type, msg.data, request_id, out);
    buf_free(&msg);
    free(text);
}

/* The handler (or the context) raised: an error post, an exit, or a timeout. */
static void handle_exception(invoker *iv, const invoke_request *req, invoke_result *out)
{
    PyObject *exc = take_exception();
    if (!exc) {
        out->kind = INVOKE_EXIT;
        out->exit_code = 1;
        return;
    }
    if (PyErr_GivenExceptionMatches(exc, iv->rt->timeout_interrupt)) {
        out->kind = INVOKE_TIMEOUT;
    } else if (!PyErr_GivenExceptionMatches(exc, PyExc_Exception)) {
        /* Only Exception is caught, as in the official runtime: SystemExit ends the
         * process with its code and nothing is posted. */
        out->kind = INVOKE_EXIT;
        out->exit_code = pyrt_exit_code(exc);
    } else {
        set_error(out, PyObject_CallFunction(iv->rt->handler_error, "Os", exc, req->request_id),
                  req->request_id);
    }
    Py_DECREF(exc);
}

static PyObject *str_or_none(const char *s)
{
    if (!s) {
        Py_INCREF(Py_None);
        return Py_None;
    }
    return PyUnicode_FromString(s);
}

/* The Python half's start_invoke: parses client context / Cognito identity headers. */
static PyObject *make_context_slow(invoker *iv, const invoke_request *req)
{
    PyObject *args[7] = {
        PyUnicode_FromString(req->request_id), PyLong_FromLongLong(req->deadline_ms),
        PyUnicode_FromString(req->function_arn ? req->function_arn : ""),
        str_or_none(req->trace_id), str_or_none(req->client_context),
        str_or_none(req->cognito_identity), str_or_none(req->tenant_id),
    };
    PyObject *ctx = NULL;
    int ok = 1;
    for (int i = 0; i < 7; i++)
        ok = ok && args[i];
    if (ok)
        ctx = PyObject_Vectorcall(iv->rt->start_invoke, args, 7, NULL);
    for (int i = 0; i < 7; i++)
        Py_XDECREF(args[i]);
    return ctx;
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

/* Per invocation, before the event is decoded: the request id and tenant id the log
 * records carry, the trace id variable, and the context object. */
static PyObject *make_context(invoker *iv, const invoke_request *req)
{
    if (req->client_context || req->cognito_identity)
        return make_context_slow(iv, req);
    PyObject *rid = PyUnicode_FromString(req->request_id);
    PyObject *arn = PyUnicode_FromString(req->function_arn ? req->function_arn : "");
    PyObject *tenant = str_or_none(req->tenant_id);
    PyObject *ctx = NULL;
    if (rid && arn && tenant && PyDict_SetItem(iv->globals, iv->request_id_key, rid) == 0 &&
        PyDict_SetItem(iv->globals, iv->tenant_id_key, tenant) == 0 &&
        set_trace_env(iv, req->trace_id) == 0)
        ctx = context_create(rid, req->deadline_ms, arn, tenant);
    Py_XDECREF(rid);
    Py_XDECREF(arn);
    Py_XDECREF(tenant);
    return ctx;
}

static void marshal_result(invoker *iv, PyObject *result, const char *request_id,
                           invoke_result *out)
{
    if (PyBytes_Check(result)) {
        /* bytes (subclasses too: the check is isinstance) go out raw, as the official
         * runtime posts them. */
        Py_INCREF(result);
        out->keep_data = result;
        out->data = PyBytes_AS_STRING(result);
        out->len = (size_t)PyBytes_GET_SIZE(result);
        out->content_type = "application/unknown";
        out->kind = INVOKE_RESPONSE;
        return;
    }
    buf_reset(&iv->payload);
    if (marshal_dumps(result, &iv->payload) < 0) {
        fault_from_exception(iv, "Runtime.MarshalError", "Unable to marshal response: ",
                             request_id, out);
        return;
    }
    out->kind = INVOKE_RESPONSE;
    out->data = iv->payload.data ? iv->payload.data : "";
    out->len = iv->payload.len;
    out->content_type = "application/json";
}

static void run(invoker *iv, const invoke_request *req, invoke_result *out)
{
    PyObject *ctx = make_context(iv, req);
    if (!ctx) {
        handle_exception(iv, req, out);
        return;
    }
    PyObject *event = event_decode(&iv->decoder, req->body, req->body_len,
                                   event_is_json(req->content_type));
    if (!event) {
        fault_from_exception(iv, "Runtime.UnmarshalError", "Unable to unmarshal input: ",
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
    marshal_result(iv, result, req->request_id, out);
    Py_DECREF(result);
}

void invoke_run(invoker *iv, const invoke_request *req, invoke_result *out)
{
    memset(out, 0, sizeof *out);
    crash_set_request(req->request_id);
    run(iv, req, out);
    crash_set_request(NULL);
    floattext_reset();
}
