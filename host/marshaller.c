/* marshaller: the response marshaller, simplejson 3.20.1's C encoder with awslambdaric's options. */
#include "marshaller.h"

#include "floattext.h"
#include "pyrt.h"

#include <string.h>

/* The order of the checks in encode() and encode_other() is the C encoder's
 * (encoder_listencode_obj): constants, str/bytes, int, float, then for anything else
 * _asdict(), list/tuple (subclasses too), dict (subclasses too), and last the default()
 * hook of awslambdaric's Encoder (Decimal, else "not JSON serializable"). */

/* Containers on the current path, for circular-reference detection. Depth is bounded by
 * Py_EnterRecursiveCall, so a linear scan is cheap. */
typedef struct {
    PyObject **items;
    size_t len, cap;
} path_t;

/* An exact dict being written: walked in place, until Python code is about to run (see
 * before_user_code); then what is left of it is copied into `rest`. Lives on the stack of
 * encode_dict; the walks in progress form a list, innermost first. */
typedef struct walk {
    PyObject *dict;
    Py_ssize_t pos;   /* PyDict_Next position, then the index into rest */
    PyObject *rest;   /* NULL while walked in place; else [key, value, key, value, ...] */
    struct walk *outer;
} walk_t;

typedef struct {
    buf_t *out;
    path_t path;
    walk_t *walks;
} enc_t;

static int encode(enc_t *e, PyObject *obj);

/* Paths that only unusual values take: kept out of line so that the hot loop over plain
 * dicts, lists, strings and numbers stays small. */
#define SLOW_PATH __attribute__((noinline, cold))

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

/* ---------------------------------------------------------------- user code and the path */

/* simplejson walks an exact dict over a copy of its items taken when the dict's "{" is
 * written (PyDict_Items), so Python code run meanwhile (an _asdict(), a subclass's __iter__,
 * a Decimal subclass's __str__) that changes the dict does not change what is written.
 * host walks the dict in place, and copies what is left of it only when Python code is
 * about to run: until then nothing can have changed it. */
static int freeze(walk_t *w)
{
    PyObject *rest = PyList_New(0);
    if (!rest)
        return -1;
    PyObject *key, *value;
    while (PyDict_Next(w->dict, &w->pos, &key, &value)) {
        if (PyList_Append(rest, key) < 0 || PyList_Append(rest, value) < 0) {
            Py_DECREF(rest);
            return -1;
        }
    }
    w->rest = rest;
    w->pos = 0;
    return 0;
}

/* Called before anything that may run Python code a user wrote. Every walk is copied at
 * once, so the ones still in place are the innermost few: stop at the first copy. */
SLOW_PATH static int before_user_code(enc_t *e)
{
    for (walk_t *w = e->walks; w && !w->rest; w = w->outer)
        if (freeze(w) < 0)
            return -1;
    return 0;
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

/* ---------------------------------------------------------------- scalars */

static int encode_str(enc_t *e, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u)
        return -1;
    return put_utf8_string(e, u, n);
}

/* bytes (and subclasses: their own bytes) are decoded with the encoder's encoding, UTF-8. */
static int encode_bytes_as_str(enc_t *e, PyObject *b)
{
    PyObject *s = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), "strict");
    if (!s)
        return -1;
    int rc = encode_str(e, s);
    Py_DECREF(s);
    return rc;
}

/* float.__repr__ exactly: shortest round-trip digits, ".0" kept ("nan"/"inf" too, which
 * only a float subclass's __float__ can bring here); known without the search when the
 * value came from the event's text (see floattext.h). */
static int put_float_repr(enc_t *e, double v)
{
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

/* allow_nan is off (simplejson >= 3.19's default; awslambdaric does not set it), and the
 * test reads the float's own value; a subclass is then written as float(obj), whose
 * __float__ may say something else ("do not trust custom str/repr"). */
static int encode_float(enc_t *e, PyObject *obj)
{
    double v = PyFloat_AS_DOUBLE(obj);
    if (!Py_IS_FINITE(v)) {
        PyErr_SetString(PyExc_ValueError, "Out of range float values are not JSON compliant");
        return -1;
    }
    if (PyFloat_CheckExact(obj))
        return put_float_repr(e, v);
    if (before_user_code(e) < 0)
        return -1;
    PyObject *f = PyNumber_Float(obj);
    if (!f)
        return -1;
    v = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return put_float_repr(e, v);
}

/* str(int(obj)): an int subclass (IntEnum, ...) is written as int(obj), its __int__ if it
 * has one, never its own str/repr. */
static int encode_int(enc_t *e, PyObject *obj)
{
    PyObject *exact = obj;
    if (!PyLong_CheckExact(obj)) {
        if (before_user_code(e) < 0 || !(exact = PyNumber_Long(obj)))
            return -1;
    } else {
        Py_INCREF(exact);
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(exact, &overflow);
    int rc;
    if (v == -1 && PyErr_Occurred()) {
        rc = -1;
    } else if (!overflow) {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%lld", v);
        rc = put(e, tmp, (size_t)n);
    } else {
        rc = put_text(e, PyLong_Type.tp_repr(exact));
    }
    Py_DECREF(exact);
    return rc;
}

/* ---------------------------------------------------------------- dicts */

static int is_exact_scalar(PyObject *key)
{
    return PyUnicode_CheckExact(key) || PyLong_CheckExact(key) || PyFloat_CheckExact(key) ||
           PyBytes_CheckExact(key) || PyBool_Check(key) || key == Py_None;
}

/* encoder_stringify_key: str, bytes (decoded), float, True/False/None, int; quoted. */
static int encode_key_text(enc_t *e, PyObject *key)
{
    if (PyUnicode_Check(key))
        return encode_str(e, key);
    if (PyBytes_Check(key))
        return encode_bytes_as_str(e, key);
    if (key == Py_True)
        return PUT_LIT(e, "\"true\"");
    if (key == Py_False)
        return PUT_LIT(e, "\"false\"");
    if (key == Py_None)
        return PUT_LIT(e, "\"null\"");
    if (PyFloat_Check(key) || PyLong_Check(key)) {
        if (PUT_LIT(e, "\"") < 0)
            return -1;
        int rc = PyFloat_Check(key) ? encode_float(e, key) : encode_int(e, key);
        return rc < 0 ? -1 : PUT_LIT(e, "\"");
    }
    PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.100s",
                 Py_TYPE(key)->tp_name);
    return -1;
}

/* simplejson also files each key in a memo dict (hashing it): a key of a subclass whose
 * __hash__ fails fails there. (Which text a memo hit gives differs from the key's own only
 * for str subclasses that redefine __eq__ and __hash__; host writes the key's own.) */
__attribute__((noinline)) static int encode_other_key(enc_t *e, PyObject *key)
{
    if (encode_key_text(e, key) < 0)
        return -1;
    if (is_exact_scalar(key))
        return 0;
    if (before_user_code(e) < 0)
        return -1;
    return PyObject_Hash(key) == -1 ? -1 : 0;
}

static int encode_key(enc_t *e, PyObject *key)
{
    if (PyUnicode_CheckExact(key))
        return encode_str(e, key);
    return encode_other_key(e, key);
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

/* The next member of a walk: new references in *key and *value; 0 at the end. */
static int next_member(walk_t *w, PyObject **key, PyObject **value)
{
    if (w->rest) {
        if (w->pos + 1 >= PyList_GET_SIZE(w->rest))
            return 0;
        *key = PyList_GET_ITEM(w->rest, w->pos);
        *value = PyList_GET_ITEM(w->rest, w->pos + 1);
        w->pos += 2;
    } else if (!PyDict_Next(w->dict, &w->pos, key, value)) {
        return 0;
    }
    Py_INCREF(*key);
    Py_INCREF(*value);
    return 1;
}

/* An exact dict. */
__attribute__((noinline)) static int encode_dict(enc_t *e, PyObject *dict)
{
    if (PyDict_GET_SIZE(dict) == 0)
        return PUT_LIT(e, "{}");
    if (path_push(e, dict) < 0)
        return -1;
    walk_t w = {.dict = dict, .outer = e->walks};
    e->walks = &w;
    int rc = PUT_LIT(e, "{");
    PyObject *key, *value;
    for (int first = 1; rc == 0 && next_member(&w, &key, &value); first = 0) {
        rc = encode_member(e, key, value, first);
        Py_DECREF(key);
        Py_DECREF(value);
    }
    e->walks = w.outer;
    Py_XDECREF(w.rest);
    path_pop(e);
    return rc < 0 ? -1 : PUT_LIT(e, "}");
}

/* One entry of an items() list: it must be a 2-tuple. */
static int encode_item(enc_t *e, PyObject *item, int first)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
        PyErr_SetString(PyExc_ValueError, "items must return 2-tuples");
        return -1;
    }
    return encode_member(e, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1), first);
}

/* A dict subclass (OrderedDict, ...): empty by its own storage, as PyDict_Size says, and
 * otherwise its items() in their order. items() may hand back a list it keeps, which
 * Python code run while it is written may change: read it as a list iterator does. */
static int encode_dict_items(enc_t *e, PyObject *dict)
{
    if (PyDict_GET_SIZE(dict) == 0)
        return PUT_LIT(e, "{}");
    if (path_push(e, dict) < 0)
        return -1;
    int rc = -1;
    PyObject *items = NULL;
    if (PUT_LIT(e, "{") < 0 || before_user_code(e) < 0 || !(items = PyMapping_Items(dict)))
        goto done;
    rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        Py_INCREF(item);
        rc = encode_item(e, item, i == 0);
        Py_DECREF(item);
    }
    if (rc == 0)
        rc = PUT_LIT(e, "}");
done:
    Py_XDECREF(items);
    path_pop(e);
    return rc;
}

/* ---------------------------------------------------------------- lists and tuples */

/* An exact list or tuple. The size is read again each time and the item held while it is
 * encoded: Python code (an _asdict(), a Decimal subclass's __str__) may change a list while
 * it is written, and a list iterator, which simplejson uses, stops at its current end. */
__attribute__((noinline)) static int encode_list(enc_t *e, PyObject *seq)
{
    if (Py_SIZE(seq) == 0)
        return PUT_LIT(e, "[]");
    if (path_push(e, seq) < 0)
        return -1;
    int rc = PUT_LIT(e, "[");
    int is_list = PyList_CheckExact(seq);
    for (Py_ssize_t i = 0; rc == 0 && i < Py_SIZE(seq); i++) {
        if (i)
            rc = PUT_LIT(e, ", ");
        PyObject *item = is_list ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i);
        Py_INCREF(item);
        if (rc == 0)
            rc = encode(e, item);
        Py_DECREF(item);
    }
    path_pop(e);
    return rc < 0 ? -1 : PUT_LIT(e, "]");
}

/* Writes the next item from iterator `it`: 1, or 0 at its end, or -1 on error. */
static int encode_next(enc_t *e, PyObject *it, int first)
{
    if (before_user_code(e) < 0)
        return -1;
    PyObject *item = PyIter_Next(it);
    if (!item)
        return PyErr_Occurred() ? -1 : 0;
    int rc = first ? 0 : PUT_LIT(e, ", ");
    if (rc == 0)
        rc = encode(e, item);
    Py_DECREF(item);
    return rc < 0 ? -1 : 1;
}

/* A list or tuple subclass: empty when its truth value says so (__bool__, __len__), and
 * otherwise what its __iter__ yields. */
static int encode_iterable(enc_t *e, PyObject *seq)
{
    if (before_user_code(e) < 0)
        return -1;
    int truth = PyObject_IsTrue(seq);
    if (truth <= 0)
        return truth < 0 ? -1 : PUT_LIT(e, "[]");
    if (path_push(e, seq) < 0)
        return -1;
    int rc = -1;
    PyObject *it = PyObject_GetIter(seq);
    if (!it || PUT_LIT(e, "[") < 0)
        goto done;
    int more = 1;
    for (int first = 1; more == 1; first = 0)
        more = encode_next(e, it, first);
    if (more == 0)
        rc = PUT_LIT(e, "]");
done:
    Py_XDECREF(it);
    path_pop(e);
    return rc;
}

/* ---------------------------------------------------------------- everything else */

/* _asdict (simplejson's namedtuple_as_object, on for any object): used when getting it
 * works (any error there is dropped), it is callable, and calling it does not raise
 * TypeError (dropped too); any other error from the call stands, and the result must be a
 * dict. Returns 1 when obj was written as that dict, 0 when _asdict does not apply. */
static int try_asdict(enc_t *e, PyObject *obj)
{
    if (before_user_code(e) < 0)
        return -1;
    PyObject *fn = PyObject_GetAttrString(obj, "_asdict");
    if (!fn) {
        PyErr_Clear();
        return 0;
    }
    if (!PyCallable_Check(fn)) {
        Py_DECREF(fn);
        return 0;
    }
    PyObject *d = PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    if (!d) {
        if (!PyErr_ExceptionMatches(PyExc_TypeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    int rc;
    if (PyDict_CheckExact(d)) {
        rc = encode_dict(e, d);
    } else if (PyDict_Check(d)) {
        rc = encode_dict_items(e, d);
    } else {
        PyErr_Format(PyExc_TypeError, "_asdict() must return a dict, not %.80s",
                     Py_TYPE(d)->tp_name);
        rc = -1;
    }
    Py_DECREF(d);
    return rc < 0 ? -1 : 1;
}

/* decimal.Decimal as awslambdaric's marshaller imported it at start-up, which no later
 * change to sys.modules affects (simplejson's encoder likewise holds the class it got).
 * Kept once found; host does not import decimal for it (that costs milliseconds of cold
 * start): while no decimal module is loaded no value can be a Decimal. */
static PyObject *decimal_class;

/* _decimal's type is named "decimal.Decimal" whatever sys.modules says now; without one in
 * obj's own type, sys.modules["decimal"].Decimal (a proxy's __class__ may still say
 * Decimal). New reference, or NULL (no error) when neither is there. */
static PyObject *find_decimal_class(PyObject *obj)
{
    PyObject *mro = Py_TYPE(obj)->tp_mro;
    for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (strcmp(t->tp_name, "decimal.Decimal") == 0) {
            Py_INCREF(t);
            return (PyObject *)t;
        }
    }
    PyObject *mod = PyDict_GetItemString(PyImport_GetModuleDict(), "decimal");
    PyObject *cls = mod ? PyObject_GetAttrString(mod, "Decimal") : NULL;
    if (cls && PyType_Check(cls))
        return cls;
    Py_XDECREF(cls);
    PyErr_Clear();
    return NULL;
}

/* isinstance(obj, decimal.Decimal), as awslambdaric's Encoder.default asks it. */
static int is_decimal(PyObject *obj)
{
    if (!decimal_class)
        decimal_class = find_decimal_class(obj);
    return decimal_class ? PyObject_IsInstance(obj, decimal_class) : 0;
}

/* awslambdaric's Encoder.default for a Decimal: NaN as float('nan') (which allow_nan off
 * then refuses), anything else as the raw text of str(d). */
static int encode_decimal(enc_t *e, PyObject *d)
{
    PyObject *nan = PyObject_CallMethod(d, "is_nan", NULL);
    if (!nan)
        return -1;
    int is_nan = PyObject_IsTrue(nan);
    Py_DECREF(nan);
    if (is_nan < 0)
        return -1;
    if (is_nan) {
        PyErr_SetString(PyExc_ValueError, "Out of range float values are not JSON compliant");
        return -1;
    }
    return put_text(e, PyObject_Str(d));
}

/* JSONEncoder.default: 'Object of type %s is not JSON serializable' % o.__class__.__name__
 * (a proxy's __class__ names what it stands for). */
static int not_serializable(PyObject *obj)
{
    PyObject *name = NULL, *fmt = NULL, *msg = NULL;
    PyObject *cls = PyObject_GetAttrString(obj, "__class__");
    if (!cls || !(name = PyObject_GetAttrString(cls, "__name__")))
        goto done;
    fmt = PyUnicode_FromString("Object of type %s is not JSON serializable");
    if (fmt && (msg = PyUnicode_Format(fmt, name)))
        PyErr_SetObject(PyExc_TypeError, msg);
done:
    Py_XDECREF(msg);
    Py_XDECREF(fmt);
    Py_XDECREF(name);
    Py_XDECREF(cls);
    return -1;
}

/* simplejson asks isinstance(obj, RawJSON) before default(), and isinstance reads
 * obj.__class__. When that fails (other than with AttributeError), simplejson 3.20.1 goes on
 * as if obj were a RawJSON and reads obj.encoded_json: that attribute's error is then the one
 * reported, or the first error when it has none. (The official runtime then writes the
 * attribute as raw text with an error pending, or aborts on an assertion if it is no str.) */
static int rawjson_probe(PyObject *obj)
{
    PyObject *cls = PyObject_GetAttrString(obj, "__class__");
    if (cls || PyErr_ExceptionMatches(PyExc_AttributeError)) {
        Py_XDECREF(cls);
        PyErr_Clear();
        return 0;
    }
    PyObject *pending = pyrt_take_exception();
    PyObject *raw = PyObject_GetAttrString(obj, "encoded_json");
    if (raw) {
        Py_DECREF(raw);
        pyrt_restore_exception(pending);
    } else {
        Py_XDECREF(pending);
    }
    return -1;
}

/* awslambdaric's Encoder.default: isinstance(obj, decimal.Decimal), else the TypeError. */
static int encode_default(enc_t *e, PyObject *obj)
{
    if (before_user_code(e) < 0 || rawjson_probe(obj) < 0)
        return -1;
    int r = is_decimal(obj);
    if (r < 0)
        return -1;
    return r ? encode_decimal(e, obj) : not_serializable(obj);
}

SLOW_PATH static int encode_other(enc_t *e, PyObject *obj)
{
    /* An exact Decimal has no _asdict and its own __class__: straight to default(). */
    if (decimal_class && Py_TYPE(obj) == (PyTypeObject *)decimal_class)
        return encode_decimal(e, obj);
    int r = try_asdict(e, obj);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (PyList_Check(obj) || PyTuple_Check(obj))
        return encode_iterable(e, obj);
    if (PyDict_Check(obj))
        return encode_dict_items(e, obj);
    return encode_default(e, obj);
}

/* Containers and everything else, one recursion level deeper. */
__attribute__((noinline)) static int encode_nested(enc_t *e, PyObject *obj)
{
    if (Py_EnterRecursiveCall(" while encoding a JSON object"))
        return -1;
    int rc;
    if (PyDict_CheckExact(obj))
        rc = encode_dict(e, obj);
    else if (PyList_CheckExact(obj) || PyTuple_CheckExact(obj))
        rc = encode_list(e, obj);
    else
        rc = encode_other(e, obj);
    Py_LeaveRecursiveCall();
    return rc;
}

/* Scalars here, each a tail call, so that this dispatch needs no stack frame of its own. */
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
        return encode_float(e, obj);
    if (PyBytes_Check(obj))
        return encode_bytes_as_str(e, obj);
    return encode_nested(e, obj);
}

int marshal_dumps(PyObject *obj, buf_t *out)
{
    enc_t e = {.out = out};
    int rc = encode(&e, obj);
    PyMem_Free(e.path.items);
    return rc;
}
