/* invoke: one invocation, the same in runtime and local mode: build the context,
 * decode the event, call the handler, marshal the result or the error. It is the one
 * owner of the per-invocation state (the request and tenant ids that log records carry,
 * _X_AMZN_TRACE_ID, the context). */
#ifndef HOST_INVOKE_H
#define HOST_INVOKE_H

#include <Python.h>

#include "buf.h"
#include "pyrt.h"

typedef struct {
    pyrt_t *rt;           /* borrowed */
    PyObject *handler;    /* owned */
    buf_t payload;        /* the JSON result, reused across invocations */
    PyObject *trace_key;  /* owned: b"_X_AMZN_TRACE_ID" */
    PyObject *client_context_what, *cognito_what; /* owned: names for header errors */
} invoker;

typedef struct {
    const char *request_id;
    long long deadline_ms;
    const char *function_arn;     /* "" when absent */
    const char *trace_id;         /* NULL when absent (the env var is then removed) */
    const char *client_context;   /* NULL when absent */
    const char *cognito_identity; /* NULL when absent */
    const char *tenant_id;        /* NULL when absent */
    const char *content_type;     /* NULL when absent: the event is then raw bytes */
    const char *body;
    size_t body_len;
} invoke_request;

typedef enum {
    INVOKE_RESPONSE, /* post data/len with content_type */
    INVOKE_ERROR,    /* post data/len (error JSON) with xray_cause (may be NULL) */
    INVOKE_EXIT,     /* a BaseException that is not an Exception escaped (SystemExit,
                        GeneratorExit...): already printed as Python would; exit exit_code */
    INVOKE_INTERRUPT, /* KeyboardInterrupt (Ctrl-C): likewise, exit_code is 130 */
    INVOKE_TIMEOUT,  /* the handler was interrupted by its local-mode deadline */
    INVOKE_STREAM,   /* the result streams: the mode sends `stream` (host/stream.h) with
                        content_type, then calls stream_end, which sets the outcome */
    INVOKE_STREAMED, /* a stream went out to its end: nothing more to send */
} invoke_kind;

struct stream;

typedef struct {
    invoke_kind kind;
    const char *data;
    size_t len;
    const char *content_type;
    const char *xray_cause;
    int exit_code;
    PyObject *keep_data;  /* owned: the bytes behind data, when not the payload buffer */
    PyObject *keep_cause; /* owned: the bytes behind xray_cause */
    struct stream *stream; /* owned: INVOKE_STREAM's chunks */
    int streamed;         /* a stream was sent: an INVOKE_ERROR is already in its trailers */
} invoke_result;

/* Steals nothing; takes its own reference to handler. -1 with a Python error. */
int invoker_init(invoker *iv, pyrt_t *rt, PyObject *handler);
void invoker_clear(invoker *iv);

/* Always fills `out`; the caller releases it with invoke_result_clear. */
void invoke_run(invoker *iv, const invoke_request *req, invoke_result *out);
void invoke_result_clear(invoke_result *r);

/* What an exception that escaped the handler means: INVOKE_TIMEOUT (local mode's deadline),
 * INVOKE_EXIT or INVOKE_INTERRUPT (printed as Python prints it; *exit_code set), or
 * INVOKE_ERROR (the caller builds the document). Consumes nothing. */
invoke_kind invoke_classify(invoker *iv, PyObject *exc, int *exit_code);

/* Builds the official runtime-fault error (empty stack trace) into `out`, which it fills
 * whole (the caller releases it with invoke_result_clear). */
void invoke_fault(const char *error_type, const char *message, const char *request_id,
                  invoke_result *out);

/* Per invocation, before the event is decoded: the stamps log records carry, the trace id
 * variable, and the context object (NULL with a Python error). New reference. */
PyObject *invoke_begin(invoker *iv, const invoke_request *req);

/* Releases the stamps (at shutdown). */
void invoke_state_clear(void);

/* The request id ("" before the first invocation) and tenant id (or None) of the current
 * or last invocation. Borrowed. */
PyObject *invoke_current_request_id(void);
PyObject *invoke_current_tenant_id(void);

#endif
