/* pyrt: the Python half of the runtime (host/py/ modules, linked in as bytecode), the `_host`
 * built-in module it uses, and the C side's access to it: the handler import, the error
 * documents (host/py/errors.py is their one home) and how an uncaught exception ends the
 * process. Every field is a strong reference owned by the pyrt_t, released by pyrt_unload.
 *
 * Out of memory, host's one policy: an allocation that fails while Python runs becomes a
 * MemoryError where it failed and travels the ordinary error path, so an invocation still
 * ends with a document to post (at worst PYRT_LAST_RESORT_ERROR, made at load time);
 * before Python starts, a failed allocation is a usage error (exit 2). tests/unit/test_oom.c
 * fails every allocation in turn to prove it. */
#ifndef HOST_PYRT_H
#define HOST_PYRT_H

#include <Python.h>

typedef struct {
    PyObject *module;                  /* hostrt_bootstrap */
    PyObject *setup;                   /* setup(task_root, is_runtime, terminal) */
    PyObject *load_handler;            /* load_handler(name) -> callable | raises InitFailure */
    PyObject *parse_header_json;       /* (raw, what) -> object | raises FaultError */
    PyObject *init_failure;            /* exception classes */
    PyObject *timeout_interrupt;
    PyObject *environ_data;            /* posix.environ, the dict os.environ wraps */
} pyrt_t;

/* The error document used when even host's Python half cannot build one (memory ran
 * out while building it): valid JSON in the official key order. */
#define PYRT_LAST_RESORT_ERROR                                                              \
    "{\"errorMessage\": \"host could not build the error document; see the log\", "        \
    "\"errorType\": \"Runtime.HostError\", \"requestId\": \"\", \"stackTrace\": []}"

/* The `_host` module's init function, registered with PyImport_AppendInittab. New reference. */
PyObject *pyrt_init_host_module(void);

/* Loads bootstrap.py's bytecode and resolves its entry points. -1 with a Python error. */
int pyrt_load(pyrt_t *rt);
void pyrt_unload(pyrt_t *rt);

/* The pending exception, normalized, with its traceback attached, and the error indicator
 * cleared; NULL when none is pending. New reference. */
PyObject *pyrt_take_exception(void);
/* Makes exc (from pyrt_take_exception) the pending exception again; nothing when NULL.
 * Steals the reference. The pair saves and restores an error around a call that may raise. */
void pyrt_restore_exception(PyObject *exc);

/* str(exc) as UTF-8 into a malloc'd string (never NULL unless out of memory). */
char *pyrt_exception_text(PyObject *exc);

/* errors.NAME(*args) (host/py/errors.py, loaded on first use and held by C, so a handler
 * that clears sys.modules does not unload it), the arguments built as Py_BuildValue builds
 * them from format, a tuple's ("(Os)": an object, borrowed, and a C string). NULL with a
 * Python error. New reference. */
PyObject *pyrt_errors_call(const char *name, const char *format, ...);

/* MODULE.NAME(*args) for another embedded module ("hostrt_stream", "hostrt_aio"), loaded on
 * first use and held in the same way. NULL with a Python error. New reference. */
PyObject *pyrt_call(const char *module, const char *name, PyObject *const *args, size_t nargs);

/* errors.host_error(request_id, message): the document for a failure of host's own Python
 * half, after printing the pending exception (if any) as Python prints it. Never NULL:
 * falls back to PYRT_LAST_RESORT_ERROR. New reference (bytes). */
PyObject *pyrt_host_error(const char *request_id, const char *message);

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
 * raised a BaseException that is not an Exception (SystemExit, KeyboardInterrupt...):
 * already printed as Python prints it, f->exit_code is the status. */
pyrt_init_status pyrt_load_handler(pyrt_t *rt, const char *name, PyObject **handler,
                                   pyrt_init_failure *f);
void pyrt_init_failure_clear(pyrt_init_failure *f);

/* An exception that is not an Exception escaped the handler (or a signal handler): what
 * Python does with it at the top level. SystemExit: its status (None 0, an int as is, any
 * other value printed to stderr and 1); anything else (KeyboardInterrupt, GeneratorExit,
 * a custom BaseException): the traceback printed to stderr, then 130 for a
 * KeyboardInterrupt and 1 for the rest. Consumes nothing. */
int pyrt_exit_status(PyObject *exc);

#endif
