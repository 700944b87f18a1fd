#include "event.h"

#include "jsonparse.h"

#include <string.h>

int event_decoder_init(event_decoder *d, PyObject *make_scanner, PyObject *error_message)
{
    d->scan_once = NULL;
    d->make_scanner = Py_NewRef(make_scanner);
    d->error_message = Py_NewRef(error_message);
    return 0;
}

void event_decoder_clear(event_decoder *d)
{
    Py_CLEAR(d->make_scanner);
    Py_CLEAR(d->scan_once);
    Py_CLEAR(d->error_message);
}

int event_is_json(const char *content_type)
{
    return content_type && strcmp(content_type, "application/json") == 0;
}

static Py_ssize_t skip_ws(PyObject *s, Py_ssize_t i)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        i++;
    }
    return i;
}

/* The scanner failed (a syntax error, or no value at all): replaces its exception by a
 * ValueError carrying simplejson's wording of the error. Errors that are not about syntax
 * (RecursionError on absurd nesting, MemoryError) keep their own text. */
static void reword_syntax_error(event_decoder *d, PyObject *doc, Py_ssize_t start)
{
    if (PyErr_ExceptionMatches(PyExc_RecursionError) || PyErr_ExceptionMatches(PyExc_MemoryError))
        return;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *fallback = value ? PyObject_Str(value) : NULL;
    if (!fallback) {
        PyErr_Clear();
        fallback = PyUnicode_FromString("invalid JSON");
    }
    PyObject *text = fallback ? PyObject_CallFunction(d->error_message, "OnO", doc, start, fallback)
                              : NULL;
    if (text)
        PyErr_SetObject(PyExc_ValueError, text);
    Py_XDECREF(text);
    Py_XDECREF(fallback);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

static PyObject *decode_json(event_decoder *d, PyObject *doc)
{
    if (!d->scan_once && !(d->scan_once = PyObject_CallNoArgs(d->make_scanner)))
        return NULL;
    /* A leading byte order mark is skipped, as simplejson does: positions count it. */
    Py_ssize_t start = 0;
    if (PyUnicode_GET_LENGTH(doc) > 0 && PyUnicode_READ_CHAR(doc, 0) == 0xFEFF)
        start = 1;
    start = skip_ws(doc, start);
    PyObject *idx = PyLong_FromSsize_t(start);
    if (!idx)
        return NULL;
    PyObject *args[2] = {doc, idx};
    PyObject *pair = PyObject_Vectorcall(d->scan_once, args, 2, NULL);
    Py_DECREF(idx);
    if (!pair) {
        reword_syntax_error(d, doc, start);
        return NULL;
    }
    PyObject *obj = NULL;
    Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
    if (end == -1 && PyErr_Occurred())
        goto done;
    if (skip_ws(doc, end) != PyUnicode_GET_LENGTH(doc)) {
        PyErr_SetString(PyExc_ValueError, "trailing data");
        reword_syntax_error(d, doc, start);
        goto done;
    }
    obj = PyTuple_GET_ITEM(pair, 0);
    Py_INCREF(obj);
done:
    Py_DECREF(pair);
    return obj;
}

PyObject *event_decode(event_decoder *d, const char *body, size_t len, int is_json)
{
    if (!is_json)
        return PyBytes_FromStringAndSize(body, (Py_ssize_t)len);
    PyObject *fast = jsonparse(body, len);
    if (fast)
        return fast;
    /* Not a plain valid document: CPython's scanner decodes it, or words its error. */
    PyObject *doc = PyUnicode_DecodeUTF8(body, (Py_ssize_t)len, "strict");
    if (!doc)
        return NULL;
    PyObject *obj = decode_json(d, doc);
    Py_DECREF(doc);
    return obj;
}
