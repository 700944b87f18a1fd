/* host: a native AWS Lambda runtime for Python. This file only wires the pieces:
 * cli (arguments) -> local_prepare (local mode) -> interp (CPython) -> pyrt (the
 * Python half) -> runtime_run or local_run. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crash.h"
#include "interp.h"
#include "local.h"
#include "pyrt.h"
#include "runtime.h"
#include "sam_main.h"
#include "workers.h"

static const char *handler_name(const host_options *o)
{
    if (o->handler)
        return o->handler;
    const char *h = getenv("_HANDLER");
    if (h)
        return h;
    return o->mode == MODE_LOCAL ? "lambda_function.lambda_handler" : "";
}

static int setup_python(const host_options *o, const char *argv0, pyrt_t *rt)
{
    if (interp_start(argv0) < 0)
        return -1;
    if (pyrt_load(rt) < 0) {
        PyErr_Print();
        fprintf(stderr, "host: cannot load the runtime's Python half\n");
        return -1;
    }
    const char *root = o->mode == MODE_LOCAL ? getenv("LAMBDA_TASK_ROOT") : o->task_root;
    if (!root)
        root = getenv("LAMBDA_TASK_ROOT");
    char cwd[4096];
    if (!root)
        root = getcwd(cwd, sizeof cwd) ? cwd : ".";
    PyObject *r = PyObject_CallFunction(rt->setup, "si", root, o->mode == MODE_RUNTIME);
    if (!r) {
        PyErr_Print();
        fprintf(stderr, "host: cannot set up sys.path and logging\n");
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "local") == 0)
        return sam_main(argc - 1, argv + 1);
    double started = local_now_ms();
    host_options o;
    if (cli_parse(argc, argv, &o) < 0) {
        cli_free(&o);
        return 2;
    }
    if (o.mode == MODE_HELP || o.mode == MODE_VERSION) {
        if (o.mode == MODE_HELP)
            cli_print_help();
        else
            printf("host %s (embedded Python %s)\n", HOST_VERSION, PY_VERSION);
        cli_free(&o);
        return 0;
    }
    if (o.mode == MODE_RUNTIME) {
        int n = workers_requested(), is_parent = 0;
        if (n < 0) {
            cli_free(&o);
            return 1;
        }
        if (n > 0) {
            int rc = workers_run(n, &is_parent);
            if (is_parent) {
                cli_free(&o);
                return rc;
            }
        }
    }
    local_session session = {.result_fd = -1};
    if (o.mode == MODE_LOCAL && local_prepare(&o, &session, started) < 0) {
        local_session_free(&session);
        cli_free(&o);
        return 2;
    }
    crash_install(o.mode == MODE_RUNTIME ? getenv("AWS_LAMBDA_RUNTIME_API") : NULL,
                  session.result_fd);
    pyrt_t rt;
    int rc;
    if (setup_python(&o, argv[0], &rt) < 0)
        rc = o.mode == MODE_LOCAL ? 2 : 1;
    else if (o.mode == MODE_LOCAL)
        rc = local_run(&o, &session, &rt, handler_name(&o));
    else
        rc = runtime_run(&rt, handler_name(&o));
    fflush(stdout);
    fflush(stderr);
    /* Finalizing runs the handler's atexit hooks and flushes its files, as a Python
     * process that ends does. */
    if (Py_IsInitialized()) {
        pyrt_unload(&rt);
        if (Py_FinalizeEx() < 0 && rc == 0)
            rc = 120;
    }
    local_session_free(&session);
    cli_free(&o);
    return rc;
}
