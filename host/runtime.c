/* runtime: runtime mode: the Runtime API loop, its status-code policy and init/error. */
#include "runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h" /* HOST_VERSION */
#include "diag.h"
#include "invoke.h"
#include "rapi.h"
#include "session.h"
#include "stream.h"
#include "workers.h"

#define NEXT_ATTEMPTS 4        /* the first try and 3 retries, as aws-lambda-cpp */
#define WORKER_NEXT_ATTEMPTS 5 /* a Managed Instances worker: 4 retries, as the official one */

/* The official client's log line, on stdout, so it lands in the function's log. */
__attribute__((format(printf, 1, 2))) static void log_runtime_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[ERROR] [%lld] LAMBDA_RUNTIME ", rapi_now_ms());
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    va_end(ap);
}

/* Exit status 1, with host's reason as a diagnostic (HOST_DEBUG=1): on Lambda the
 * official "[ERROR] ... LAMBDA_RUNTIME" line already says what failed. */
static int fatal(const char *why)
{
    diag("exiting: %s", why);
    return 1;
}

/* A back-off pause; the handler's background threads run meanwhile. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    Py_BEGIN_ALLOW_THREADS
    nanosleep(&ts, NULL);
    Py_END_ALLOW_THREADS
}

/* A Python signal handler (SIGTERM for a graceful shutdown) runs while host waits for
 * the Runtime API, as in the python3.12+ runtime: Python's C-level handler writes to its
 * wake-up fd, the wait watches that fd, and this runs the Python handler. */
static int run_signal_handlers(void *ctx)
{
    int fd = *(int *)ctx;
    char drain[64];
    while (read(fd, drain, sizeof drain) > 0)
        ;
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = PyErr_CheckSignals();
    PyGILState_Release(g);
    return rc;
}

static int wake_pipe[2] = {-1, -1};

/* signal.set_wakeup_fd(fd) (the C-level PySignal_SetWakeupFd is not exported). */
static int set_wakeup_fd(int fd)
{
    PyObject *mod = PyImport_ImportModule("_signal");
    PyObject *r = mod ? PyObject_CallMethod(mod, "set_wakeup_fd", "i", fd) : NULL;
    Py_XDECREF(mod);
    if (!r) {
        PyErr_Clear();
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static void watch_signals(rapi_client *c)
{
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return;
    if (set_wakeup_fd(wake_pipe[1]) < 0)
        return;
    rapi_set_wake(c, wake_pipe[0], run_signal_handlers, &wake_pipe[0]);
}

/* A signal handler raised while host waited: the process ends as Python would end it
 * (an Exception is printed with its traceback and exits 1). */
static int exit_for_signal_handler(void)
{
    PyObject *exc = pyrt_take_exception();
    int code = exc ? pyrt_exit_status(exc) : 1;
    Py_XDECREF(exc);
    diag("exiting (status %d): a signal handler ended the process", code);
    return code;
}

/* GET next, retrying a lost connection; 0 with an invocation, or -1 (already logged),
 * or -2 when a signal handler raised (the exception is pending). */
static int next_invocation(rapi_client *c)
{
    for (int attempt = 1;; attempt++) {
        rapi_status st;
        Py_BEGIN_ALLOW_THREADS
        st = rapi_next(c);
        Py_END_ALLOW_THREADS
        switch (st) {
        case RAPI_OK:
            return 0;
        case RAPI_INTERRUPTED:
            return -2;
        case RAPI_NO_REQUEST_ID:
            log_runtime_error("Failed to find header lambda-runtime-aws-request-id in response");
            if (!workers_is_worker() || attempt >= WORKER_NEXT_ATTEMPTS)
                return -1;
            sleep_ms(100L << (attempt - 1));
            break;
        case RAPI_HTTP_ERROR:
            log_runtime_error("Failed to get next invocation. Http Response code: %ld", c->status);
            if (!workers_is_worker() || attempt >= WORKER_NEXT_ATTEMPTS)
                return -1;
            sleep_ms(100L << (attempt - 1));
            break;
        case RAPI_TRANSPORT_ERROR:
            if (attempt >= (workers_is_worker() ? WORKER_NEXT_ATTEMPTS : NEXT_ATTEMPTS)) {
                log_runtime_error("Failed to get next invocation. No Response from endpoint (%s)",
                                  c->errbuf);
                return -1;
            }
            sleep_ms(100L << (attempt - 1));
            break;
        }
    }
}

static const char *header_or_null(const buf_t *b)
{
    return b->len ? b->data : NULL;
}

static void request_from_headers(const rapi_client *c, invoke_request *req)
{
    const rapi_headers *h = &c->hdr;
    memset(req, 0, sizeof *req);
    req->request_id = h->request_id.data;
    req->deadline_ms = rapi_deadline_ms(h); /* missing or unparsable: 0 */
    req->function_arn = h->function_arn.len ? h->function_arn.data : "";
    req->trace_id = header_or_null(&h->trace_id);
    req->client_context = header_or_null(&h->client_context);
    req->cognito_identity = header_or_null(&h->cognito_identity);
    req->tenant_id = header_or_null(&h->tenant_id);
    /* No Content-Type at all: raw bytes (the official client crashes here). */
    req->content_type = h->has_content_type ? h->content_type.data : NULL;
    if (req->content_type == NULL && h->has_content_type)
        req->content_type = "";
    req->body = c->body.data ? c->body.data : "";
    req->body_len = c->body.len;
}

/* Decides what a non-2xx answer to a POST means: 0 go on, -1 exit. */
static int after_post(rapi_client *c, rapi_status st, const char *what)
{
    if (st == RAPI_OK)
        return 0;
    if (st == RAPI_INTERRUPTED)
        return -2;
    if (workers_is_worker()) {
        /* A Managed Instances worker logs a failed post and goes on, as the official one. */
        if (st == RAPI_TRANSPORT_ERROR)
            log_runtime_error("Failed to post %s. %s: This won't kill the Runtime loop", what,
                              c->errbuf);
        else
            log_runtime_error("Failed to post %s. Http response code: %ld: This won't kill the "
                              "Runtime loop", what, c->status);
        return 0;
    }
    if (st == RAPI_TRANSPORT_ERROR) {
        log_runtime_error("Failed to post %s. No Response from endpoint (%s)", what, c->errbuf);
        diag("exiting: lost the Runtime API connection while posting the %s: %s", what,
             c->errbuf);
        return -1;
    }
    log_runtime_error("Failed to post %s. Http response code: %ld. %s", what, c->status,
                      c->reply.data ? c->reply.data : "");
    /* 4xx rejects this one post: 400 not the current invocation, 403 already answered,
     * 410 a stale attempt, 413 too large (Lambda has failed the invocation already).
     * The next invocation is unaffected. 5xx means the environment is broken. */
    if (c->status >= 400 && c->status < 500)
        return 0;
    diag("exiting: the Runtime API answered %ld to the %s", c->status, what);
    return -1;
}

static int post_result(rapi_client *c, const invoke_result *r)
{
    rapi_status st;
    if (r->kind == INVOKE_RESPONSE) {
        Py_BEGIN_ALLOW_THREADS
        st = rapi_post_response(c, r->data, r->len, r->content_type);
        Py_END_ALLOW_THREADS
        return after_post(c, st, "handler success response");
    }
    Py_BEGIN_ALLOW_THREADS
    st = rapi_post_error(c, r->data, r->len, r->xray_cause);
    Py_END_ALLOW_THREADS
    return after_post(c, st, "handler error response");
}

/* A streamed response: one POST that carries each chunk as the handler yields it (the GIL
 * is released while libcurl sends, and taken back to resume the handler); an error after the
 * first byte ends it with the error trailers. Leaves the outcome in r (stream_end). */
static int post_stream(rapi_client *c, invoke_result *r)
{
    rapi_status st;
    Py_BEGIN_ALLOW_THREADS
    st = rapi_post_stream(c, r->content_type, stream_pull, stream_trailers, r->stream);
    Py_END_ALLOW_THREADS
    stream_end(r);
    if (r->kind == INVOKE_EXIT || r->kind == INVOKE_INTERRUPT)
        return 0; /* the handler ended the process mid-stream: the request was aborted */
    return after_post(c, st, "handler streamed response");
}

static int report_init_failure(void *ctx, const pyrt_init_failure *f)
{
    rapi_client *c = ctx;
    rapi_status st = rapi_post_init_error(c, f->error_type, PyBytes_AS_STRING(f->body),
                                          (size_t)PyBytes_GET_SIZE(f->body));
    if (st == RAPI_TRANSPORT_ERROR)
        diag("could not post the init error: %s", c->errbuf);
    else if (st == RAPI_HTTP_ERROR && c->status == 403 && workers_is_worker())
        ; /* another worker has reported init already */
    else if (st != RAPI_OK)
        diag("the Runtime API answered %ld to the init error: %s", c->status,
             c->reply.data ? c->reply.data : "");
    diag("exiting: init failed: %s: %s", f->error_type, f->message);
    return 1;
}

static int init_exited(void *ctx, int status)
{
    (void)ctx;
    diag("exiting (status %d): the handler's module ended the process while being imported",
         status);
    return status;
}

/* Before the handler's import, so that a handler that takes Python's wake-up fd for
 * itself (asyncio) keeps it. */
static int before_import(void *ctx)
{
    watch_signals(ctx);
    return 0;
}

static int serve(void *ctx, pyrt_t *rt, invoker *iv)
{
    (void)rt;
    rapi_client *c = ctx;
    for (;;) {
        int got = next_invocation(c);
        if (got == -2)
            return exit_for_signal_handler();
        if (got < 0)
            return fatal("could not get the next invocation from the Runtime API");
        invoke_request req;
        invoke_result res;
        request_from_headers(c, &req);
        invoke_run(iv, &req, &res);
        int rc = res.kind == INVOKE_STREAM ? post_stream(c, &res) : 0;
        if (res.kind == INVOKE_EXIT || res.kind == INVOKE_INTERRUPT) {
            int code = res.exit_code;
            invoke_result_clear(&res);
            diag("exiting (status %d): the handler ended the process during request %s", code,
                 req.request_id);
            return code;
        }
        if (!res.streamed)
            rc = post_result(c, &res);
        invoke_result_clear(&res);
        if (rc == -2)
            return exit_for_signal_handler();
        if (rc < 0)
            return 1;
    }
}

int runtime_main(const session_config *cfg)
{
    const char *endpoint = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!endpoint || !*endpoint)
        return fatal("AWS_LAMBDA_RUNTIME_API is not set; it names the Runtime API as HOST:PORT");
    char ua[128];
    snprintf(ua, sizeof ua, "host/" HOST_VERSION " aws-lambda-python/%s", PY_VERSION);
    rapi_client c;
    if (rapi_init(&c, endpoint, ua) < 0)
        return fatal("libcurl could not start");
    session_mode mode = {
        .before_import = before_import, .init_failed = report_init_failure,
        .init_exited = init_exited, .serve = serve, .ctx = &c, .start_failed = 1,
    };
    int rc = session_run(cfg, &mode);
    rapi_free(&c);
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
    }
    return rc;
}
