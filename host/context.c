/* context: the LambdaContext type (awslambdaric.lambda_context.LambdaContext) in C. */
#include "context.h"

#include <structmember.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    PyObject *dict;
} ContextObject;

/* Set once by _host._context_helpers(...) from the Python half. */
static PyObject *cognito_identity_type; /* CognitoIdentity */
static PyObject *make_client_context;   /* dict -> ClientContext */
static PyObject *make_identity;         /* dict -> CognitoIdentity */
static PyObject *context_log;           /* log(msg) */
static PyObject *env_data;              /* posix.environ: the dict os.environ wraps */

static PyObject *s_deadline; /* "_epoch_deadline_time_in_ms" */

/* The environment variables the context reads, and their last value, so that an
 * unchanged variable costs a dict lookup and no decoding. */
enum { ENV_LOG_GROUP, ENV_LOG_STREAM, ENV_FUNCTION, ENV_MEMORY, ENV_VERSION, ENV_COUNT };
static const char *const env_names[ENV_COUNT] = {
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
};
static const char *const attr_names[ENV_COUNT] = {
    "log_group_name", "log_stream_name", "function_name", "memory_limit_in_mb",
    "function_version",
};
static PyObject *env_keys[ENV_COUNT];    /* bytes */
static PyObject *env_raw[ENV_COUNT];     /* the bytes value last seen */
static PyObject *env_text[ENV_COUNT];    /* its decoded str */
static PyObject *attr_keys[ENV_COUNT];   /* interned attribute names */
static PyObject *s_request_id, *s_arn, *s_tenant_id, *s_client_context, *s_identity;
static PyObject *s_cognito_id, *s_cognito_pool_id;

static int intern_names(void)
{
    if (s_deadline)
        return 0;
    for (int i = 0; i < ENV_COUNT; i++) {
        env_keys[i] = PyBytes_FromString(env_names[i]);
        attr_keys[i] = PyUnicode_InternFromString(attr_names[i]);
        if (!env_keys[i] || !attr_keys[i])
            return -1;
    }
    s_request_id = PyUnicode_InternFromString("aws_request_id");
    s_arn = PyUnicode_InternFromString("invoked_function_arn");
    s_tenant_id = PyUnicode_InternFromString("tenant_id");
    s_client_context = PyUnicode_InternFromString("client_context");
    s_identity = PyUnicode_InternFromString("identity");
    s_deadline = PyUnicode_InternFromString("_epoch_deadline_time_in_ms");
    s_cognito_id = PyUnicode_InternFromString("cognito_identity_id");
    s_cognito_pool_id = PyUnicode_InternFromString("cognito_identity_pool_id");
    return s_request_id && s_arn && s_tenant_id && s_client_context && s_identity &&
                   s_deadline && s_cognito_id && s_cognito_pool_id
               ? 0 : -1;
}

/* os.environ.get(name) for one of the context's variables. New reference. */
static PyObject *env_get(int i)
{
    PyObject *raw = env_data ? PyDict_GetItemWithError(env_data, env_keys[i]) : NULL;
    if (!raw) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    if (raw != env_raw[i]) {
        PyObject *text = PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(raw),
                                                          PyBytes_GET_SIZE(raw));
        if (!text)
            return NULL;
        Py_INCREF(raw);
        Py_XSETREF(env_raw[i], raw);
        Py_XSETREF(env_text[i], text);
    }
    Py_INCREF(env_text[i]);
    return env_text[i];
}

static int set_item(PyObject *dict, PyObject *key, PyObject *value)
{
    return value ? PyDict_SetItem(dict, key, value) : -1;
}

static int set_item_steal(PyObject *dict, PyObject *key, PyObject *value)
{
    int rc = set_item(dict, key, value);
    Py_XDECREF(value);
    return rc;
}

/* New reference. */
static PyObject *empty_identity(void)
{
    if (!cognito_identity_type) {
        PyErr_SetString(PyExc_RuntimeError, "host: context helpers are not set");
        return NULL;
    }
    PyObject *ident = PyObject_CallNoArgs(cognito_identity_type);
    if (!ident)
        return NULL;
    if (PyObject_SetAttr(ident, s_cognito_id, Py_None) < 0 ||
        PyObject_SetAttr(ident, s_cognito_pool_id, Py_None) < 0) {
        Py_DECREF(ident);
        return NULL;
    }
    return ident;
}

/* Fills the instance dict in the official attribute order. */
static int fill(ContextObject *self, PyObject *request_id, PyObject *client_context,
                PyObject *cognito, PyObject *deadline, PyObject *arn, PyObject *tenant)
{
    PyObject *d = self->dict;
    if (!d && !(d = self->dict = PyDict_New()))
        return -1;
    if (set_item(d, s_request_id, request_id) < 0)
        return -1;
    for (int i = 0; i < ENV_COUNT; i++)
        if (set_item_steal(d, attr_keys[i], env_get(i)) < 0)
            return -1;
    if (set_item(d, s_arn, arn) < 0 || set_item(d, s_tenant_id, tenant) < 0)
        return -1;
    PyObject *cc = client_context == Py_None
                       ? (Py_INCREF(Py_None), Py_None)
                       : PyObject_CallOneArg(make_client_context, client_context);
    if (set_item_steal(d, s_client_context, cc) < 0)
        return -1;
    PyObject *ident = cognito == Py_None ? empty_identity()
                                         : PyObject_CallOneArg(make_identity, cognito);
    if (set_item_steal(d, s_identity, ident) < 0)
        return -1;
    return set_item(d, s_deadline, deadline);
}

static int context_init(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"invoke_id", "client_context", "cognito_identity",
                             "epoch_deadline_time_in_ms", "invoked_function_arn", "tenant_id",
                             NULL};
    PyObject *rid, *cc, *cog, *deadline, *arn = Py_None, *tenant = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|OO:LambdaContext", kwlist, &rid, &cc,
                                     &cog, &deadline, &arn, &tenant))
        return -1;
    if (intern_names() < 0)
        return -1;
    return fill((ContextObject *)op, rid, cc, cog, deadline, arn, tenant);
}

/* int(time.time() * 1000), as the official runtime computes it. */
static long long epoch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)(((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9) * 1000.0);
}

/* The official `delta = deadline - now; delta if delta > 0 else 0` in Python arithmetic,
 * for a deadline that is no C long long (a big int, a float a handler's own test passed).
 * New reference. */
static PyObject *remaining_by_python(PyObject *deadline, long long now)
{
    PyObject *now_obj = NULL, *delta = NULL, *zero = NULL;
    int positive;
    if (!(now_obj = PyLong_FromLongLong(now)))
        goto err;
    if (!(delta = PyNumber_Subtract(deadline, now_obj)))
        goto err;
    if (!(zero = PyLong_FromLong(0)))
        goto err;
    if ((positive = PyObject_RichCompareBool(delta, zero, Py_GT)) < 0)
        goto err;
    Py_DECREF(now_obj);
    if (positive) {
        Py_DECREF(zero);
        return delta;
    }
    Py_DECREF(delta);
    return zero;
err:
    Py_XDECREF(now_obj);
    Py_XDECREF(delta);
    Py_XDECREF(zero);
    return NULL;
}

/* New reference. */
static PyObject *get_remaining_time_in_millis(PyObject *op, PyObject *unused)
{
    (void)unused;
    PyObject *deadline = PyObject_GetAttr(op, s_deadline);
    if (!deadline)
        return NULL;
    long long now = epoch_now_ms(), d = 0, delta;
    int overflow = 1; /* stays 1 for anything but an exact int */
    if (PyLong_CheckExact(deadline))
        d = PyLong_AsLongLongAndOverflow(deadline, &overflow); /* cannot fail on an int */
    /* A deadline near either end of the 64-bit range must not wrap the subtraction. */
    PyObject *res;
    if (!overflow && !__builtin_sub_overflow(d, now, &delta))
        res = PyLong_FromLongLong(delta > 0 ? delta : 0);
    else
        res = remaining_by_python(deadline, now);
    Py_DECREF(deadline);
    return res;
}

/* New reference. */
static PyObject *context_log_method(PyObject *op, PyObject *msg)
{
    (void)op;
    return PyObject_CallOneArg(context_log, msg);
}

/* New reference. */
static PyObject *context_repr(PyObject *op)
{
    static const char *const names[] = {
        "aws_request_id", "log_group_name", "log_stream_name", "function_name",
        "memory_limit_in_mb", "function_version", "invoked_function_arn", "client_context",
        "identity", "tenant_id",
    };
    PyObject *v[10] = {0};
    PyObject *res = NULL;
    for (int i = 0; i < 10; i++)
        if (!(v[i] = PyObject_GetAttrString(op, names[i])))
            goto done;
    res = PyUnicode_FromFormat(
        "%s([aws_request_id=%S,log_group_name=%S,log_stream_name=%S,function_name=%S,"
        "memory_limit_in_mb=%S,function_version=%S,invoked_function_arn=%S,"
        "client_context=%S,identity=%S,tenant_id=%S])",
        _PyType_Name(Py_TYPE(op)), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
done:
    for (int i = 0; i < 10; i++)
        Py_XDECREF(v[i]);
    return res;
}

static int context_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(((ContextObject *)op)->dict);
    Py_VISIT(Py_TYPE(op));
    return 0;
}

static int context_clear(PyObject *op)
{
    Py_CLEAR(((ContextObject *)op)->dict);
    return 0;
}

static void context_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    context_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef context_methods[] = {
    {"get_remaining_time_in_millis", get_remaining_time_in_millis, METH_NOARGS,
     "Milliseconds left before the invocation's deadline (never below 0)."},
    {"log", context_log_method, METH_O, "Write str(msg) to the function's log as is."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef context_members[] = {
    /* The instance __dict__ lives at this offset (the type-spec way to ask for one). */
    {"__dictoffset__", T_PYSSIZET, offsetof(ContextObject, dict), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef context_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot context_slots[] = {
    {Py_tp_members, context_members},
    {Py_tp_getset, context_getset},
    {Py_tp_init, context_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_repr, context_repr},
    {Py_tp_methods, context_methods},
    {Py_tp_traverse, context_traverse},
    {Py_tp_clear, context_clear},
    {Py_tp_dealloc, context_dealloc},
    {Py_tp_doc, "The context object of one Lambda invocation."},
    {0, NULL},
};

static PyType_Spec context_spec = {
    "awslambdaric.lambda_context.LambdaContext", sizeof(ContextObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, context_slots,
};

static PyTypeObject *context_type;

/* _host._context_helpers(CognitoIdentity, make_client_context, make_identity, log, environ) */
/* New reference. */
static PyObject *set_helpers(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *a, *b, *c, *d, *e;
    if (!PyArg_ParseTuple(args, "OOOOO!", &a, &b, &c, &d, &PyDict_Type, &e))
        return NULL;
    Py_INCREF(a);
    Py_XSETREF(cognito_identity_type, a);
    Py_INCREF(b);
    Py_XSETREF(make_client_context, b);
    Py_INCREF(c);
    Py_XSETREF(make_identity, c);
    Py_INCREF(d);
    Py_XSETREF(context_log, d);
    Py_INCREF(e);
    Py_XSETREF(env_data, e);
    Py_RETURN_NONE;
}

static PyMethodDef helper_def = {"_context_helpers", set_helpers, METH_VARARGS, NULL};

int context_add_type(PyObject *module)
{
    if (intern_names() < 0)
        return -1;
    context_type = (PyTypeObject *)PyType_FromSpec(&context_spec);
    if (!context_type)
        return -1;
    PyObject *fn = PyCFunction_New(&helper_def, NULL);
    if (!fn || PyModule_AddObjectRef(module, "_context_helpers", fn) < 0) {
        Py_XDECREF(fn);
        return -1;
    }
    Py_DECREF(fn);
    return PyModule_AddObjectRef(module, "LambdaContext", (PyObject *)context_type);
}

/* New reference. */
PyObject *context_create(PyObject *request_id, long long deadline_ms, PyObject *function_arn,
                         PyObject *tenant_id, PyObject *client_context, PyObject *cognito)
{
    ContextObject *self = (ContextObject *)PyType_GenericAlloc(context_type, 0);
    if (!self)
        return NULL;
    PyObject *deadline = PyLong_FromLongLong(deadline_ms);
    int rc = deadline ? fill(self, request_id, client_context, cognito, deadline, function_arn,
                             tenant_id) : -1;
    Py_XDECREF(deadline);
    if (rc < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}
