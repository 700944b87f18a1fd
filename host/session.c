/* session: interpreter start, handler import, the mode's loop, finalization. */
#include "session.h"

#include <stdio.h>

#include "interp.h"

/* The Python half, then sys.path and logging. -1 (printed) on failure. */
static int start_python(const session_config *c, pyrt_t *rt)
{
    if (interp_start(c->argv0) < 0)
        return -1;
    if (pyrt_load(rt) < 0) {
        PyErr_Print();
        fprintf(stderr, "host: cannot load the runtime's Python half\n");
        return -1;
    }
    PyObject *r = PyObject_CallFunction(rt->setup, "sii", c->task_root, c->is_runtime,
                                        c->terminal);
    if (!r) {
        PyErr_Print();
        fprintf(stderr, "host: cannot set up sys.path and logging\n");
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static int load_and_serve(const session_config *c, const session_mode *m, pyrt_t *rt)
{
    PyObject *handler = NULL;
    pyrt_init_failure f;
    int rc;
    switch (pyrt_load_handler(rt, c->handler, &handler, &f)) {
    case PYRT_INIT_FAILED:
        rc = m->init_failed(m->ctx, &f);
        break;
    case PYRT_INIT_EXIT:
        rc = m->init_exited(m->ctx, f.exit_code);
        break;
    default: {
        invoker iv;
        if (invoker_init(&iv, rt, handler) < 0) {
            PyErr_Print();
            fprintf(stderr, "host: could not prepare the invocation loop\n");
            rc = m->start_failed;
        } else {
            rc = m->serve(m->ctx, rt, &iv);
        }
        invoker_clear(&iv);
        Py_DECREF(handler);
    }
    }
    pyrt_init_failure_clear(&f);
    return rc;
}

int session_run(const session_config *c, const session_mode *m)
{
    pyrt_t rt = {0};
    int rc = m->start_failed;
    if (start_python(c, &rt) == 0 && (!m->before_import || m->before_import(m->ctx) == 0))
        rc = load_and_serve(c, m, &rt);
    fflush(stdout);
    fflush(stderr);
    /* Finalizing runs the handler's atexit hooks and flushes its files, as a Python
     * process that ends does. */
    if (Py_IsInitialized()) {
        pyrt_unload(&rt);
        if (Py_FinalizeEx() < 0 && rc == 0)
            rc = 120;
    }
    return rc;
}
