/* sam_pool: a local function's workers. Each worker is a real `host` runtime-mode process
 * (/proc/self/exe with AWS_LAMBDA_RUNTIME_API pointing at its own local Runtime API,
 * sam_rapid.c). Invocations go to an idle warm worker, else a new one is started (up to
 * max_workers), else they queue. A worker past the function's timeout is killed and
 * replaced (Sandbox.Timedout), as Lambda resets an execution environment. With watch on,
 * a change in the code folder retires every worker before the next invocation runs.
 *
 * Invariants: every field of a pool, its workers and their current invocations is guarded
 * by the pool's lock; an invocation belongs to its caller and is never touched by the pool
 * after `done` is set. */
#ifndef HOST_SAM_POOL_H
#define HOST_SAM_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "buf.h"
#include "sam_template.h"

typedef struct sam_pool sam_pool;
typedef struct sam_worker sam_worker;

typedef struct sam_invocation {
    /* in: set by the caller */
    const char *event;
    size_t event_len;
    const char *trace_id;        /* X-Amzn-Trace-Id, or NULL: one is made up */
    const char *client_context;  /* decoded JSON, or NULL */
    int want_log;                /* keep the invocation's log lines (X-Amz-Log-Type: Tail) */
    /* out: valid once sam_pool_invoke returns */
    char request_id[40];
    char trace_buf[128];         /* the made-up trace id, when trace_id was NULL */
    buf_t result;                /* the response, or the error document */
    int is_error;                /* a function error (X-Amz-Function-Error: Unhandled) */
    buf_t log;                   /* START ... REPORT, when want_log */
    /* a streamed response (the worker POSTs in Response-Mode streaming): sam_pool_invoke
     * returns once it starts; read it with sam_pool_read, then sam_pool_stream_close */
    int streaming;
    char content_type[128];
    buf_t pending;               /* arrived, not yet read */
    int holding;                 /* counted in the pool's callers until sam_pool_stream_close */
    /* the pool's */
    int done, started;
    double start_ms, deadline_ms;
    pthread_cond_t cond;
    struct sam_invocation *next; /* the queue */
} sam_invocation;

typedef struct {
    int max_workers;
    int watch;          /* retire workers when the code folder changes */
    int debug;          /* no timeout; the worker keeps the terminal (stdin) */
    const char *region; /* for the function ARN */
} sam_pool_options;

/* A pool for f (borrowed: it must outlive the pool); envp is the function's environment
 * (sam_env_build), borrowed too. NULL on failure, with a message on stderr. */
sam_pool *sam_pool_new(const sam_function *f, char *const *envp, const sam_pool_options *o);

/* Starts one worker now (--warm). */
void sam_pool_warm(sam_pool *p);

/* Runs inv and waits for its end (result, function error, timeout or a crashed worker). */
void sam_pool_invoke(sam_pool *p, sam_invocation *inv);

/* A streamed invocation's next bytes (at most max): > 0, or 0 at its end (result and
 * is_error then say how it ended; the timeout applies while waiting). */
size_t sam_pool_read(sam_pool *p, sam_invocation *inv, char *out, size_t max);
/* Waits for a streamed invocation's end; the caller may free inv afterwards. */
void sam_pool_stream_close(sam_pool *p, sam_invocation *inv);

/* Fails what is queued or running ("shutting down") and kills the workers; callers
 * blocked in sam_pool_invoke return. */
void sam_pool_close(sam_pool *p);

/* sam_pool_close, waits until every worker is reaped, frees the pool. No sam_pool_invoke
 * may be running. */
void sam_pool_free(sam_pool *p);

const sam_function *sam_pool_function(const sam_pool *p);

void sam_invocation_init(sam_invocation *inv);
void sam_invocation_free(sam_invocation *inv);

/* Called by the worker's Runtime API server (sam_rapid.c). */

/* GET next: blocks until an invocation is assigned to w (0, and inv) or w is retired (-1). */
int sam_pool_next(sam_worker *w, sam_invocation **inv, char *arn, size_t arnlen);
/* POST response / error for request_id; -1 when w holds no such invocation. */
int sam_pool_finish(sam_worker *w, const char *request_id, const char *body, size_t len, int is_error);
/* A streamed response starts / brings bytes; -1 when w holds no such invocation (it timed
 * out). It ends with sam_pool_finish (the error trailer's document, if any). */
int sam_pool_stream_begin(sam_worker *w, const char *request_id, const char *content_type);
int sam_pool_stream_write(sam_worker *w, const char *request_id, const char *data, size_t len);
/* POST init/error: kept as the answer to the invocation that started this worker. */
void sam_pool_init_error(sam_worker *w, const char *body, size_t len);

#endif
