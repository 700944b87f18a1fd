/* session: the life of one runtime process, the same in runtime and local mode: start
 * CPython and the Python half, build sys.path and logging, import the handler, prepare
 * the invoker, run the mode's loop, finalize. The mode supplies what differs: how an init
 * failure is reported and the loop itself. */
#ifndef HOST_SESSION_H
#define HOST_SESSION_H

#include "invoke.h"
#include "pyrt.h"

typedef struct {
    const char *argv0;
    const char *task_root; /* first on sys.path */
    const char *handler;   /* MODULE.FUNCTION */
    int is_runtime;        /* runtime mode: PYTHONPATH set for child processes */
    int terminal;          /* local mode with stderr on a terminal (see TerminalLogSink) */
} session_config;

typedef struct {
    /* After CPython and the Python half started, before the handler's import (may be NULL);
     * -1 stops with start_failed. */
    int (*before_import)(void *ctx);
    /* Init failed (already logged as the official runtime logs it): report it; returns
     * the exit status. */
    int (*init_failed)(void *ctx, const pyrt_init_failure *f);
    /* The handler's module ended the process while importing (already printed): returns
     * the exit status. */
    int (*init_exited)(void *ctx, int status);
    /* Serves invocations; returns the exit status. */
    int (*serve)(void *ctx, pyrt_t *rt, invoker *iv);
    void *ctx;
    int start_failed; /* the exit status when CPython or the Python half cannot start */
} session_mode;

/* Runs the whole sequence; returns the process's exit status. */
int session_run(const session_config *c, const session_mode *m);

#endif
