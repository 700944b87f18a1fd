#include "pyrt.h"

#include <marshal.h>
#include <string.h>

#include "context.h"
#include "hostpy.h"
#include "marshal.h"

/* _host.dumps(obj) -> bytes: the response marshaller, for the Python half's documents. */
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

static PyObject *exec_embedded(const hostpy_module *m);

/* _host.load_embedded(name): runs one of host's embedded Python modules (they are loaded
 * when first needed, not at start-up) and returns it. */
static PyObject *host_load_embedded(PyObject *self, PyObject *name)
{
    (void)self;
    const char *n = PyUnicode_AsUTF8(name);
    if (!n)
        return NULL;
    for (const hostpy_module *m = hostpy_modules; m->name; m++)
        if (strcmp(m->name, n) == 0)
            return exec_embedded(m);
    PyErr_Format(PyExc_ImportError, "host has no embedded module %s", n);
    return NULL;
}

static PyMethodDef host_methods[] = {
    {"dumps", host_dumps, METH_O, "Serialize like the official runtime's marshaller."},
    {"load_embedded", host_load_embedded, METH_O, "Run one of host's embedded modules."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef host_module = {
    PyModuleDef_HEAD_INIT, "_host", "Native helpers of the host runtime.", -1, host_methods,
    NULL, NULL, NULL, NULL,
};

PyObject *pyrt_init_host_module(void)
{
    PyObject *m = PyModule_Create(&host_module);
    if (m && context_add_type(m) < 0)
        Py_CLEAR(m);
    return m;
}

static PyObject *exec_embedded(const hostpy_module *m)
{
    PyObject *code = PyMarshal_ReadObjectFromString((const char *)m->code, (Py_ssize_t)m->len);
    if (!code)
        return NULL;
    PyObject *mod = PyImport_ExecCodeModule(m->name, code);
    Py_DECREF(code);
    return mod;
}

static int resolve(pyrt_t *rt, PyObject **slot, const char *name)
{
    *slot = PyObject_GetAttrString(rt->module, name);
    return *slot ? 0 : -1;
}

int pyrt_load(pyrt_t *rt)
{
    memset(rt, 0, sizeof *rt);
    for (const hostpy_module *m = hostpy_modules; m->name; m++) {
        if (strcmp(m->name, "hostrt_bootstrap") == 0)
            rt->module = exec_embedded(m);
    }
    if (!rt->module) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ImportError, "hostrt_bootstrap is not embedded");
        return -1;
    }
    if (resolve(rt, &rt->setup, "setup") < 0 ||
        resolve(rt, &rt->load_handler, "load_handler") < 0 ||
        resolve(rt, &rt->start_invoke, "start_invoke") < 0 ||
        resolve(rt, &rt->handler_error, "handler_error") < 0 ||
        resolve(rt, &rt->fault_error, "fault_error") < 0 ||
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
    Py_CLEAR(rt->start_invoke);
    Py_CLEAR(rt->handler_error);
    Py_CLEAR(rt->fault_error);
    Py_CLEAR(rt->init_failure);
    Py_CLEAR(rt->timeout_interrupt);
    Py_CLEAR(rt->environ_data);
    Py_CLEAR(rt->module);
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

static char *attr_text(PyObject *obj, const char *name)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    char *s = pyrt_exception_text(v);
    if (!v)
        PyErr_Clear();
    Py_XDECREF(v);
    return s;
}

int pyrt_exit_code(PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_SystemExit))
        return 130; /* KeyboardInterrupt, as an interrupted Python process */
    PyObject *code = PyObject_GetAttrString(exc, "code");
    int rc = 1;
    if (!code) {
        PyErr_Clear();
    } else if (code == Py_None) {
        rc = 0;
    } else if (PyLong_Check(code)) {
        rc = (int)PyLong_AsLong(code);
    } else {
        /* sys.exit("message"): Python prints the message and exits 1. */
        PyObject_Print(code, stderr, Py_PRINT_RAW);
        fputc('\n', stderr);
    }
    Py_XDECREF(code);
    return rc;
}

pyrt_init_status pyrt_load_handler(pyrt_t *rt, const char *name, PyObject **handler,
                                   pyrt_init_failure *f)
{
    memset(f, 0, sizeof *f);
    *handler = PyObject_CallFunction(rt->load_handler, "s", name);
    if (*handler)
        return PYRT_INIT_OK;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    pyrt_init_status st = PYRT_INIT_FAILED;
    if (value && PyErr_GivenExceptionMatches(value, rt->init_failure)) {
        f->error_type = attr_text(value, "error_type");
        f->message = attr_text(value, "message");
        f->body = PyObject_GetAttrString(value, "body");
        if (!f->body || !PyBytes_Check(f->body)) {
            PyErr_Clear();
            Py_CLEAR(f->body);
            f->body = PyBytes_FromString("{\"errorMessage\": \"host could not format the init error\", "
                                         "\"errorType\": \"Runtime.HostError\", \"requestId\": \"\", "
                                         "\"stackTrace\": []}");
        }
    } else if (value && !PyErr_GivenExceptionMatches(value, PyExc_Exception)) {
        st = PYRT_INIT_EXIT;
        f->exit_code = pyrt_exit_code(value);
    } else {
        /* A failure of host's own Python half: show it, report it as an init error. */
        PyErr_Restore(type, value, tb);
        type = value = tb = NULL;
        PyErr_Print();
        f->error_type = strdup("Runtime.HostError");
        f->message = strdup("host failed while loading the handler; see the log");
        f->body = PyBytes_FromString("{\"errorMessage\": \"host failed while loading the handler\", "
                                     "\"errorType\": \"Runtime.HostError\", \"requestId\": \"\", "
                                     "\"stackTrace\": []}");
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return st;
}

void pyrt_init_failure_clear(pyrt_init_failure *f)
{
    free(f->error_type);
    free(f->message);
    Py_CLEAR(f->body);
    memset(f, 0, sizeof *f);
}
