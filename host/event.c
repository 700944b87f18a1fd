#include "event.h"

#include <string.h>

int event_decoder_init(event_decoder *d, PyObject *make_scanner, PyObject *error_message)
{
    d->scan_once = PyObject_CallNoArgs(make_scanner);
    if (!d->scan_once)
        return -1;
    Py_INCREF(error_message);
    d->error_message = error_message;
    return 0;
}

void event_decoder_clear(event_decoder *d)
{
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

/* Raises ValueError with the json module's wording of a syntax error at pos. */
static void raise_syntax_error(event_decoder *d, PyObject *doc, Py_ssize_t pos, const char *msg)
{
    PyObject *text = PyObject_CallFunction(d->error_message, "Ons", doc, pos, msg);
    if (text) {
        PyErr_SetObject(PyExc_ValueError, text);
        Py_DECREF(text);
    }
}

static PyObject *decode_json(event_decoder *d, PyObject *doc)
{
    Py_ssize_t start = skip_ws(doc, 0);
    PyObject *pair = PyObject_CallFunction(d->scan_once, "On", doc, start);
    if (!pair) {
        if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
            PyErr_Clear();
            raise_syntax_error(d, doc, start, "Expecting value");
        }
        return NULL;
    }
    PyObject *obj = NULL;
    Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
    if (end == -1 && PyErr_Occurred())
        goto done;
    end = skip_ws(doc, end);
    if (end != PyUnicode_GET_LENGTH(doc)) {
        raise_syntax_error(d, doc, end, "Extra data");
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
    /* A leading UTF-8 byte order mark is tolerated, as simplejson does. */
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        body += 3;
        len -= 3;
    }
    PyObject *doc = PyUnicode_DecodeUTF8(body, (Py_ssize_t)len, "strict");
    if (!doc)
        return NULL;
    PyObject *obj = decode_json(d, doc);
    Py_DECREF(doc);
    return obj;
}
