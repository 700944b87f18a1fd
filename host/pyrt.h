/* pyrt: the Python half of the runtime (host/py/bootstrap.py, linked in as bytecode)
 * and the `_host` built-in module it uses. Every field is a strong reference owned by
 * the pyrt_t and released by pyrt_unload. */
#ifndef HOST_PYRT_H
#define HOST_PYRT_H

#include <Python.h>

typedef struct {
    PyObject *module;
    PyObject *setup;                   /* setup(task_root, is_runtime) */
    PyObject *load_handler;            /* load_handler(name) -> callable | raises InitFailure */
    PyObject *start_invoke;            /* start_invoke(rid, deadline, arn, trace, cc, cog, tenant) -> context */
    PyObject *handler_error;           /* handler_error(exc, rid) -> (body, cause|None) */
    PyObject *fault_error;             /* fault_error(type, msg, rid) -> (body, cause) */
    PyObject *init_failure;            /* exception classes */
    PyObject *timeout_interrupt;
    PyObject *environ_data;            /* posix.environ, the dict os.environ wraps */
} pyrt_t;

/* The `_host` module's init function, registered with PyImport_AppendInittab. */
PyObject *pyrt_init_host_module(void);

/* Loads bootstrap.py's bytecode and resolves its entry points. -1 with a Python error. */
int pyrt_load(pyrt_t *rt);
void pyrt_unload(pyrt_t *rt);

/* str(exc) as UTF-8 into a malloc'd string (never NULL unless out of memory). */
char *pyrt_exception_text(PyObject *exc);

/* Why the handler could not be loaded. Owned strings/objects; pyrt_init_failure_clear frees. */
typedef struct {
    char *error_type;  /* e.g. "Runtime.ImportModuleError" */
    char *message;     /* errorMessage */
    PyObject *body;    /* bytes: the init/error document */
    int exit_code;     /* for PYRT_INIT_EXIT */
} pyrt_init_failure;

typedef enum { PYRT_INIT_OK, PYRT_INIT_FAILED, PYRT_INIT_EXIT } pyrt_init_status;

/* Imports the handler named `name` (already logged on failure, as the official runtime
 * logs it). PYRT_INIT_OK sets *handler (new reference); PYRT_INIT_EXIT means the module
 * raised SystemExit/KeyboardInterrupt while importing. */
pyrt_init_status pyrt_load_handler(pyrt_t *rt, const char *name, PyObject **handler,
                                   pyrt_init_failure *f);
void pyrt_init_failure_clear(pyrt_init_failure *f);

/* The process exit status a SystemExit (or KeyboardInterrupt: 130) asks for. */
int pyrt_exit_code(PyObject *exc);

#endif
