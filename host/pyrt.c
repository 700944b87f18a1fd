/* pyrt: loading host's embedded Python half, the `_host` module, and the C side's calls
 * into it (handler import, error documents, exit statuses). */
#include "pyrt.h"

#include <marshal.h>
#include <stdarg.h>
#include <string.h>

#include "context.h"
#include "hostpy.h"
#include "invoke.h"
#include "marshaller.h"

#define BOOTSTRAP_MODULE "hostrt_bootstrap"
#define ERRORS_MODULE "hostrt_errors"

/* Every embedded module once loaded (name -> module), held here rather than looked up in
 * sys.modules, which a handler may clear. */
static PyObject *embedded_cache;

/* PYRT_LAST_RESORT_ERROR as bytes, made at load time: the document for when memory has
 * run out must not need memory. */
static PyObject *last_resort;

/* _host.dumps(obj) -> bytes: the response marshaller, for the Python half's documents. */
/* New reference. */
static PyObject *host_dumps(PyObject *self, PyObject *obj)
{
    (void)self;
    buf_t out = BUF_INIT;
    PyObject *res = NULL;
    if (marshal_dumps(obj, &out) == 0)
        res = PyBytes_FromStringAndSize(out.data ? out.data : "", (Py_ssize_t)out.len);
    buf_free(&out);
    return res;
}

static PyObject *load_embedded(const char *name); /* New reference. */

/* _host.load_embedded(name): one of host's embedded Python modules (they are loaded when
 * first needed, not at start-up). */
/* New reference. */
static PyObject *host_load_embedded(PyObject *self, PyObject *name)
{
    (void)self;
    const char *n = PyUnicode_AsUTF8(name);
    return n ? load_embedded(n) : NULL;
}

/* _host.request_id(), _host.tenant_id(): the invocation's stamps for log records. */
/* New reference. */
static PyObject *host_request_id(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return Py_NewRef(invoke_current_request_id());
}

/* New reference. */
static PyObject *host_tenant_id(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return Py_NewRef(invoke_current_tenant_id());
}

static PyMethodDef host_methods[] = {
    {"dumps", host_dumps, METH_O, "Serialize like the official runtime's marshaller."},
    {"load_embedded", host_load_embedded, METH_O, "One of host's embedded modules."},
    {"request_id", host_request_id, METH_NOARGS, "The current (or last) request id."},
    {"tenant_id", host_tenant_id, METH_NOARGS, "The current (or last) tenant id, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef host_module = {
    PyModuleDef_HEAD_INIT, "_host", "Native helpers of the host runtime.", -1, host_methods,
    NULL, NULL, NULL, NULL,
};

/* New reference. */
PyObject *pyrt_init_host_module(void)
{
    PyObject *m = PyModule_Create(&host_module);
    if (m && context_add_type(m) < 0)
        Py_CLEAR(m);
    return m;
}

/* What a module of the Python half (and the stdlib modules it imports, such as traceback)
 * needs in sys.modules, put back if a handler emptied it: hostrt_bootstrap, builtins and sys
 * cannot be imported afresh. */
static const char *const core_modules[] = {BOOTSTRAP_MODULE, "builtins", "sys"};

static int keep_core_modules(void)
{
    PyObject *modules = PyImport_GetModuleDict();
    for (size_t i = 0; i < sizeof core_modules / sizeof *core_modules; i++) {
        PyObject *mod = embedded_cache ? PyDict_GetItemString(embedded_cache, core_modules[i])
                                       : NULL;
        if (mod && !PyDict_GetItemString(modules, core_modules[i]) &&
            PyDict_SetItemString(modules, core_modules[i], mod) < 0)
            return -1;
    }
    return 0;
}

/* Remembers builtins and sys (imported long before any handler runs). */
static int remember_core_modules(void)
{
    for (size_t i = 1; i < sizeof core_modules / sizeof *core_modules; i++) {
        PyObject *mod = PyImport_ImportModule(core_modules[i]);
        int rc = mod ? PyDict_SetItemString(embedded_cache, core_modules[i], mod) : -1;
        Py_XDECREF(mod);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Borrowed (the cache owns it). */
static PyObject *exec_embedded(const hostpy_module *m)
{
    if (keep_core_modules() < 0)
        return NULL;
    PyObject *code = PyMarshal_ReadObjectFromString((const char *)m->code, (Py_ssize_t)m->len);
    if (!code)
        return NULL;
    PyObject *mod = PyImport_ExecCodeModule(m->name, code);
    Py_DECREF(code);
    if (!mod)
        return NULL;
    int rc = PyDict_SetItemString(embedded_cache, m->name, mod);
    Py_DECREF(mod);
    return rc < 0 ? NULL : mod;
}

/* New reference. */
static PyObject *load_embedded(const char *name)
{
    if (!embedded_cache && !(embedded_cache = PyDict_New()))
        return NULL;
    PyObject *mod = PyDict_GetItemString(embedded_cache, name);
    if (mod)
        return Py_NewRef(mod);
    for (const hostpy_module *m = hostpy_modules; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return Py_XNewRef(exec_embedded(m));
    PyErr_Format(PyExc_ImportError, "host has no embedded module %s", name);
    return NULL;
}

static int resolve(pyrt_t *rt, PyObject **slot, const char *name)
{
    *slot = PyObject_GetAttrString(rt->module, name);
    return *slot ? 0 : -1;
}

int pyrt_load(pyrt_t *rt)
{
    memset(rt, 0, sizeof *rt);
    rt->module = load_embedded(BOOTSTRAP_MODULE);
    if (!last_resort)
        last_resort = PyBytes_FromString(PYRT_LAST_RESORT_ERROR);
    if (!rt->module || !last_resort || remember_core_modules() < 0) {
        pyrt_unload(rt);
        return -1;
    }
    if (resolve(rt, &rt->setup, "setup") < 0 ||
        resolve(rt, &rt->load_handler, "load_handler") < 0 ||
        resolve(rt, &rt->parse_header_json, "parse_header_json") < 0 ||
        resolve(rt, &rt->init_failure, "InitFailure") < 0 ||
        resolve(rt, &rt->timeout_interrupt, "TimeoutInterrupt") < 0 ||
        resolve(rt, &rt->environ_data, "_env_data") < 0) {
        pyrt_unload(rt);
        return -1;
    }
    return 0;
}

void pyrt_unload(pyrt_t *rt)
{
    Py_CLEAR(rt->setup);
    Py_CLEAR(rt->load_handler);
    Py_CLEAR(rt->parse_header_json);
    Py_CLEAR(rt->init_failure);
    Py_CLEAR(rt->timeout_interrupt);
    Py_CLEAR(rt->environ_data);
    Py_CLEAR(rt->module);
    Py_CLEAR(embedded_cache);
    Py_CLEAR(last_resort);
    invoke_state_clear();
}

/* New reference. */
PyObject *pyrt_take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

void pyrt_restore_exception(PyObject *exc)
{
    if (!exc)
        return;
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

char *pyrt_exception_text(PyObject *exc)
{
    PyObject *s = exc ? PyObject_Str(exc) : NULL;
    const char *u = s ? PyUnicode_AsUTF8(s) : NULL;
    if (!u) {
        PyErr_Clear();
        u = "<exception text unavailable>";
    }
    char *copy = strdup(u);
    Py_XDECREF(s);
    return copy;
}

/* New reference. */
PyObject *pyrt_errors_call(const char *name, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    PyObject *args = Py_VaBuildValue(format, ap);
    va_end(ap);
    PyObject *mod = args ? load_embedded(ERRORS_MODULE) : NULL;
    PyObject *fn = mod ? PyObject_GetAttrString(mod, name) : NULL;
    Py_XDECREF(mod);
    PyObject *res = fn ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(fn);
    Py_XDECREF(args);
    return res;
}

/* New reference. */
PyObject *pyrt_call(const char *module, const char *name, PyObject *const *args, size_t nargs)
{
    PyObject *mod = load_embedded(module);
    PyObject *fn = mod ? PyObject_GetAttrString(mod, name) : NULL;
    Py_XDECREF(mod);
    PyObject *res = fn ? PyObject_Vectorcall(fn, args, nargs, NULL) : NULL;
    Py_XDECREF(fn);
    return res;
}

/* New reference. */
PyObject *pyrt_host_error(const char *request_id, const char *message)
{
    if (PyErr_Occurred())
        PyErr_Print();
    PyObject *body = pyrt_errors_call("host_error", "(ss)", request_id ? request_id : "",
                                      message);
    if (body && PyBytes_Check(body))
        return body;
    Py_XDECREF(body);
    PyErr_Clear();
    return Py_NewRef(last_resort);
}

/* SystemExit's status, as Python's own top level computes it. */
static int system_exit_status(PyObject *exc)
{
    PyObject *code = PyObject_GetAttrString(exc, "code");
    int status = 1;
    if (!code) {
        PyErr_Clear();
    } else if (code == Py_None) {
        status = 0;
    } else if (PyLong_Check(code)) {
        status = (int)PyLong_AsLong(code);
        if (status == -1 && PyErr_Occurred())
            PyErr_Clear();
    } else {
        /* sys.exit("message"): Python prints the message to sys.stderr and exits 1. */
        PyObject *err = PySys_GetObject("stderr");
        if (!err || err == Py_None || PyFile_WriteObject(code, err, Py_PRINT_RAW) < 0 ||
            PyFile_WriteString("\n", err) < 0) {
            PyErr_Clear();
            PyObject_Print(code, stderr, Py_PRINT_RAW);
            fputc('\n', stderr);
        }
    }
    Py_XDECREF(code);
    return status;
}

int pyrt_exit_status(PyObject *exc)
{
    if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit))
        return system_exit_status(exc);
    int status = PyErr_GivenExceptionMatches(exc, PyExc_KeyboardInterrupt) ? 130 : 1;
    pyrt_restore_exception(Py_NewRef(exc));
    PyErr_PrintEx(0);
    return status;
}

static char *attr_text(PyObject *obj, const char *name)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    char *s = pyrt_exception_text(v);
    if (!v)
        PyErr_Clear();
    Py_XDECREF(v);
    return s;
}

/* A failure of host's own Python half while importing: shown, and reported as an init
 * error of its own. */
static void host_init_failure(pyrt_init_failure *f)
{
    static const char message[] = "host failed while loading the handler; see the log";
    f->error_type = strdup("Runtime.HostError");
    f->message = strdup(message);
    f->body = pyrt_host_error("", message);
}

pyrt_init_status pyrt_load_handler(pyrt_t *rt, const char *name, PyObject **handler,
                                   pyrt_init_failure *f)
{
    memset(f, 0, sizeof *f);
    *handler = PyObject_CallFunction(rt->load_handler, "s", name);
    if (*handler)
        return PYRT_INIT_OK;
    PyObject *exc = pyrt_take_exception();
    pyrt_init_status st = PYRT_INIT_FAILED;
    if (exc && PyErr_GivenExceptionMatches(exc, rt->init_failure)) {
        f->error_type = attr_text(exc, "error_type");
        f->message = attr_text(exc, "message");
        f->body = PyObject_GetAttrString(exc, "body");
        if (!f->body || !PyBytes_Check(f->body)) {
            Py_CLEAR(f->body);
            f->body = pyrt_host_error("", "host could not format the init error");
        }
    } else if (exc && !PyErr_GivenExceptionMatches(exc, PyExc_Exception)) {
        st = PYRT_INIT_EXIT;
        f->exit_code = pyrt_exit_status(exc);
    } else {
        if (exc)
            pyrt_restore_exception(Py_NewRef(exc));
        host_init_failure(f);
    }
    Py_XDECREF(exc);
    return st;
}

void pyrt_init_failure_clear(pyrt_init_failure *f)
{
    free(f->error_type);
    free(f->message);
    Py_CLEAR(f->body);
    memset(f, 0, sizeof *f);
}
