#include "marshal.h"

#include "floattext.h"

#include <string.h>

/* Containers on the current path, for circular-reference detection. Depth is
 * bounded by Py_EnterRecursiveCall, so a linear scan is cheap. */
typedef struct {
    PyObject **items;
    size_t len, cap;
} path_t;

typedef struct {
    buf_t *out;
    path_t path;
} enc_t;

static int encode(enc_t *e, PyObject *obj);

static int oom(void)
{
    PyErr_NoMemory();
    return -1;
}

static int put(enc_t *e, const char *s, size_t n)
{
    return buf_append(e->out, s, n) < 0 ? oom() : 0;
}

#define PUT_LIT(e, lit) put((e), (lit), sizeof(lit) - 1)

/* escape[c]: 0 = copy as is; otherwise the char after '\' ('u' = \u00XX). */
static const char escape[256] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
    [0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
    [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
    [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

static int put_utf8_string(enc_t *e, const char *s, Py_ssize_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX: reserve once, then write directly. */
    if (buf_reserve(e->out, (size_t)n * 6 + 2) < 0)
        return oom();
    char *w = e->out->data + e->out->len;
    *w++ = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !escape[*p])
            p++;
        memcpy(w, run, (size_t)(p - run));
        w += p - run;
        if (p == end)
            break;
        char c = escape[*p];
        *w++ = '\\';
        if (c == 'u') {
            *w++ = 'u'; *w++ = '0'; *w++ = '0';
            *w++ = hex[*p >> 4]; *w++ = hex[*p & 15];
        } else {
            *w++ = c;
        }
        p++;
    }
    *w++ = '"';
    e->out->len = (size_t)(w - e->out->data);
    e->out->data[e->out->len] = '\0';
    return 0;
}

/* Writes str `s` as raw JSON text (digits already formatted by Python). Steals `s`. */
static int put_text(enc_t *e, PyObject *s)
{
    if (!s)
        return -1;
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    int rc = u ? put(e, u, (size_t)n) : -1;
    Py_DECREF(s);
    return rc;
}

static int encode_str(enc_t *e, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u)
        return -1;
    return put_utf8_string(e, u, n);
}

static int encode_bytes_as_str(enc_t *e, PyObject *b)
{
    PyObject *s = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), "strict");
    if (!s)
        return -1;
    int rc = encode_str(e, s);
    Py_DECREF(s);
    return rc;
}

static int encode_float_value(enc_t *e, double v)
{
    if (Py_IS_NAN(v))
        return PUT_LIT(e, "NaN");
    if (Py_IS_INFINITY(v))
        return v > 0 ? PUT_LIT(e, "Infinity") : PUT_LIT(e, "-Infinity");
    /* float.__repr__ exactly: shortest round-trip digits, ".0" kept; known without the
     * search when the value came from the event's text (see floattext.h). */
    char known[32];
    size_t n = floattext_format(v, known);
    if (n)
        return put(e, known, n);
    char *r = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!r)
        return -1;
    int rc = put(e, r, strlen(r));
    PyMem_Free(r);
    return rc;
}

static int encode_int(enc_t *e, PyObject *obj)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (!overflow) {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%lld", v);
        return put(e, tmp, (size_t)n);
    }
    /* int.__repr__ on the int part, so IntEnum members give their value. */
    return put_text(e, PyLong_Type.tp_repr(obj));
}

static int path_push(enc_t *e, PyObject *container)
{
    for (size_t i = 0; i < e->path.len; i++) {
        if (e->path.items[i] == container) {
            PyErr_SetString(PyExc_ValueError, "Circular reference detected");
            return -1;
        }
    }
    if (e->path.len == e->path.cap) {
        size_t cap = e->path.cap ? e->path.cap * 2 : 16;
        PyObject **p = PyMem_Realloc(e->path.items, cap * sizeof *p);
        if (!p)
            return oom();
        e->path.items = p;
        e->path.cap = cap;
    }
    e->path.items[e->path.len++] = container;
    return 0;
}

static void path_pop(enc_t *e)
{
    e->path.len--;
}

static int encode_key(enc_t *e, PyObject *key)
{
    if (PyUnicode_Check(key))
        return encode_str(e, key);
    if (key == Py_True)
        return PUT_LIT(e, "\"true\"");
    if (key == Py_False)
        return PUT_LIT(e, "\"false\"");
    if (key == Py_None)
        return PUT_LIT(e, "\"null\"");
    if (PyLong_Check(key) || PyFloat_Check(key)) {
        if (PUT_LIT(e, "\"") < 0)
            return -1;
        int rc = PyLong_Check(key) ? encode_int(e, key)
                                   : encode_float_value(e, PyFloat_AS_DOUBLE(key));
        return rc < 0 ? -1 : PUT_LIT(e, "\"");
    }
    PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.100s",
                 Py_TYPE(key)->tp_name);
    return -1;
}

/* `, "key": value` (no comma before the first member). */
static int encode_member(enc_t *e, PyObject *key, PyObject *value, int first)
{
    if (!first && PUT_LIT(e, ", ") < 0)
        return -1;
    if (encode_key(e, key) < 0 || PUT_LIT(e, ": ") < 0)
        return -1;
    return encode(e, value);
}

static int encode_dict(enc_t *e, PyObject *dict)
{
    if (PyDict_GET_SIZE(dict) == 0)
        return PUT_LIT(e, "{}");
    if (path_push(e, dict) < 0)
        return -1;
    int rc = PUT_LIT(e, "{");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    int first = 1;
    while (rc == 0 && PyDict_Next(dict, &pos, &key, &value)) {
        /* Borrowed references: hold them while user code (default hooks) may run. */
        Py_INCREF(key);
        Py_INCREF(value);
        rc = encode_member(e, key, value, first);
        first = 0;
        Py_DECREF(key);
        Py_DECREF(value);
    }
    path_pop(e);
    return rc < 0 ? -1 : PUT_LIT(e, "}");
}

/* A dict subclass (OrderedDict, ...): its items() order, which may differ from the
 * storage order PyDict_Next walks. */
static int encode_dict_items(enc_t *e, PyObject *dict)
{
    PyObject *items = PyMapping_Items(dict);
    if (!items)
        return -1;
    Py_ssize_t n = PyList_GET_SIZE(items);
    int rc = n == 0 ? PUT_LIT(e, "{}") : path_push(e, dict);
    if (n == 0 || rc < 0)
        goto done;
    rc = PUT_LIT(e, "{");
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(items, i);
        rc = encode_member(e, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1), i == 0);
    }
    path_pop(e);
    if (rc == 0)
        rc = PUT_LIT(e, "}");
done:
    Py_DECREF(items);
    return rc;
}

static int encode_sequence(enc_t *e, PyObject *seq)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence");
    if (!fast)
        return -1;
    int rc = 0;
    if (PySequence_Fast_GET_SIZE(fast) == 0) {
        rc = PUT_LIT(e, "[]");
        goto done;
    }
    if ((rc = path_push(e, seq)) < 0)
        goto done;
    rc = PUT_LIT(e, "[");
    /* The size is read again each time and the item held while it is encoded: user code
     * (an _asdict(), a Decimal's str) may change a list while it is being written. */
    for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(fast); i++) {
        if (i)
            rc = PUT_LIT(e, ", ");
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        Py_INCREF(item);
        if (rc == 0)
            rc = encode(e, item);
        Py_DECREF(item);
    }
    path_pop(e);
    if (rc == 0)
        rc = PUT_LIT(e, "]");
done:
    Py_DECREF(fast);
    return rc;
}

/* Decimal without importing decimal: only a module that created one can own it. */
static int is_decimal(PyObject *obj)
{
    PyObject *modules = PyImport_GetModuleDict();
    PyObject *mod = PyDict_GetItemString(modules, "decimal");
    if (!mod)
        return 0;
    PyObject *cls = PyObject_GetAttrString(mod, "Decimal");
    if (!cls) {
        PyErr_Clear();
        return 0;
    }
    int r = PyObject_IsInstance(obj, cls);
    Py_DECREF(cls);
    return r;
}

static int encode_decimal(enc_t *e, PyObject *d)
{
    PyObject *nan = PyObject_CallMethod(d, "is_nan", NULL);
    if (!nan)
        return -1;
    int is_nan = PyObject_IsTrue(nan);
    Py_DECREF(nan);
    if (is_nan < 0)
        return -1;
    if (is_nan)
        return PUT_LIT(e, "NaN");
    return put_text(e, PyObject_Str(d));
}

/* Returns 1 and encodes obj._asdict() if obj has a callable _asdict, 0 if not, -1 on error. */
static int try_asdict(enc_t *e, PyObject *obj)
{
    PyObject *fn = PyObject_GetAttrString(obj, "_asdict");
    if (!fn) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    if (!PyCallable_Check(fn)) {
        Py_DECREF(fn);
        return 0;
    }
    PyObject *d = PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    if (!d)
        return -1;
    int rc = PyDict_Check(d) ? encode_dict(e, d) : encode(e, d);
    Py_DECREF(d);
    return rc < 0 ? -1 : 1;
}

static int encode_other(enc_t *e, PyObject *obj)
{
    if (PyList_Check(obj))
        return encode_sequence(e, obj);
    int r = try_asdict(e, obj);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (PyTuple_Check(obj))
        return encode_sequence(e, obj);
    if (PyDict_Check(obj))
        return encode_dict_items(e, obj);
    r = is_decimal(obj);
    if (r < 0)
        return -1;
    if (r)
        return encode_decimal(e, obj);
    PyErr_Format(PyExc_TypeError, "Object of type %.200s is not JSON serializable",
                 _PyType_Name(Py_TYPE(obj)));
    return -1;
}

static int encode(enc_t *e, PyObject *obj)
{
    if (obj == Py_None)
        return PUT_LIT(e, "null");
    if (obj == Py_True)
        return PUT_LIT(e, "true");
    if (obj == Py_False)
        return PUT_LIT(e, "false");
    if (PyUnicode_Check(obj))
        return encode_str(e, obj);
    if (PyLong_Check(obj))
        return encode_int(e, obj);
    if (PyFloat_Check(obj))
        return encode_float_value(e, PyFloat_AS_DOUBLE(obj));
    if (PyBytes_Check(obj))
        return encode_bytes_as_str(e, obj);
    if (Py_EnterRecursiveCall(" while encoding a JSON object"))
        return -1;
    int rc;
    if (PyDict_CheckExact(obj))
        rc = encode_dict(e, obj);
    else if (PyList_CheckExact(obj) || PyTuple_CheckExact(obj))
        rc = encode_sequence(e, obj);
    else
        rc = encode_other(e, obj);
    Py_LeaveRecursiveCall();
    return rc;
}

int marshal_dumps(PyObject *obj, buf_t *out)
{
    enc_t e = {.out = out, .path = {NULL, 0, 0}};
    int rc = encode(&e, obj);
    PyMem_Free(e.path.items);
    return rc;
}
