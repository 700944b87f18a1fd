#include "jsonparse.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "floattext.h"

/* Keys seen in this document, so that the objects of a list share their key strs (as
 * json.loads's memo does) at the cost of a hash and a memcmp, not a dict operation. */
#define KEY_CACHE_SIZE 512

typedef struct {
    const unsigned char *p, *end;
    PyObject *keys[KEY_CACHE_SIZE]; /* owned; ASCII strs */
    buf_t scratch;                  /* strings with escapes, long numbers */
} parser;

static PyObject *parse_value(parser *ps);

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int take(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return 0;
    ps->p += n;
    return 1;
}

static int hex4(const unsigned char *h, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = h[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(buf_t *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return buf_append(b, u, n);
}

/* One escape after the backslash (ps->p at the escape letter) into scratch as UTF-8. */
static int unescape(parser *ps)
{
    static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
    unsigned char c = *ps->p;
    const char *hit = c ? strchr(simple, c) : NULL;
    if (hit) {
        ps->p++;
        return buf_append_char(&ps->scratch, value[hit - simple]);
    }
    unsigned cp, lo;
    if (c != 'u' || ps->end - ps->p < 5 || hex4(ps->p + 1, &cp) < 0)
        return -1;
    ps->p += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* A high surrogate makes a pair only with a low one; a lone one needs the
         * fallback (the str holds a surrogate, which UTF-8 cannot carry). */
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
            hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return -1;
    }
    return put_utf8(&ps->scratch, cp);
}

/* ps->p just past the opening quote. Raw bytes must be valid UTF-8 (strict), as when
 * the whole body is decoded before scanning. */
static PyObject *parse_string(parser *ps)
{
    const unsigned char *s = ps->p, *q = s;
    int ascii = 1;
    while (q < ps->end && *q != '"' && *q != '\\') {
        if (*q < 0x20)
            return NULL;
        ascii &= *q < 0x80;
        q++;
    }
    if (q >= ps->end)
        return NULL;
    if (*q == '"') {
        ps->p = q + 1;
        if (!ascii)
            return PyUnicode_DecodeUTF8((const char *)s, q - s, NULL);
        PyObject *str = PyUnicode_New(q - s, 127);
        if (str)
            memcpy(PyUnicode_DATA(str), s, (size_t)(q - s));
        return str;
    }
    buf_reset(&ps->scratch);
    ps->p = s;
    while (ps->p < ps->end && *ps->p != '"') {
        const unsigned char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p >= 0x20)
            ps->p++;
        if (buf_append(&ps->scratch, run, (size_t)(ps->p - run)) < 0)
            return NULL;
        if (ps->p < ps->end && *ps->p < 0x20)
            return NULL;
        if (ps->p < ps->end && *ps->p == '\\') {
            ps->p++;
            if (ps->p >= ps->end || unescape(ps) < 0)
                return NULL;
        }
    }
    if (ps->p >= ps->end)
        return NULL;
    ps->p++;
    return PyUnicode_DecodeUTF8(ps->scratch.data ? ps->scratch.data : "",
                                (Py_ssize_t)ps->scratch.len, NULL);
}

/* A key: a cached str when the same ASCII key was seen before. New reference. */
static PyObject *parse_key(parser *ps)
{
    const unsigned char *s = ps->p, *q = s;
    uint32_t h = 2166136261u; /* FNV-1a over the key's bytes */
    while (q < ps->end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80) {
        h = (h ^ *q) * 16777619u;
        q++;
    }
    if (q >= ps->end || *q != '"')
        return parse_string(ps); /* escapes or non-ASCII: not cached */
    size_t n = (size_t)(q - s);
    PyObject **slot = &ps->keys[h % KEY_CACHE_SIZE];
    if (*slot && (size_t)PyUnicode_GET_LENGTH(*slot) == n && memcmp(PyUnicode_DATA(*slot), s, n) == 0) {
        ps->p = q + 1;
        return Py_NewRef(*slot);
    }
    PyObject *key = parse_string(ps);
    if (key) {
        Py_XSETREF(*slot, key);
        Py_INCREF(key);
    }
    return key;
}

static int is_digit(const parser *ps, const unsigned char *q)
{
    return q < ps->end && *q >= '0' && *q <= '9';
}

static PyObject *parse_number(parser *ps)
{
    const unsigned char *start = ps->p, *q = ps->p;
    if (q < ps->end && *q == '-')
        q++;
    if (!is_digit(ps, q))
        return NULL;
    if (*q == '0')
        q++;
    else
        while (is_digit(ps, q))
            q++;
    int is_float = 0;
    if (q + 1 < ps->end && *q == '.' && is_digit(ps, q + 1)) {
        is_float = 1;
        q += 2;
        while (is_digit(ps, q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        const unsigned char *e = q + 1;
        if (e < ps->end && (*e == '+' || *e == '-'))
            e++;
        if (is_digit(ps, e)) {
            is_float = 1;
            while (is_digit(ps, e))
                e++;
            q = e;
        }
    }
    size_t n = (size_t)(q - start);
    ps->p = q;
    if (!is_float && n <= 18) {
        long long v = 0;
        const unsigned char *d = start + (*start == '-');
        for (; d < q; d++)
            v = v * 10 + (*d - '0');
        return PyLong_FromLongLong(*start == '-' ? -v : v);
    }
    /* The conversions want a NUL-terminated copy: on the stack when it fits. */
    char small[64];
    char *text = small;
    if (n >= sizeof small) {
        buf_reset(&ps->scratch);
        if (buf_append(&ps->scratch, start, n) < 0)
            return NULL;
        text = ps->scratch.data;
    } else {
        memcpy(small, start, n);
        small[n] = '\0';
    }
    if (!is_float)
        return PyLong_FromString(text, NULL, 10);
    /* As float(text): correctly rounded, 1e400 is inf. */
    double v = PyOS_string_to_double(text, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred())
        return NULL;
    floattext_remember(v, text, n);
    return PyFloat_FromDouble(v);
}

static PyObject *parse_object(parser *ps)
{
    PyObject *dict = PyDict_New();
    if (!dict)
        return NULL;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return dict;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"')
            goto fail;
        ps->p++;
        PyObject *shared = parse_key(ps);
        if (!shared)
            goto fail;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            Py_DECREF(shared);
            goto fail;
        }
        ps->p++;
        skip_ws(ps);
        PyObject *value = parse_value(ps);
        int rc = value ? PyDict_SetItem(dict, shared, value) : -1;
        Py_DECREF(shared);
        Py_XDECREF(value);
        if (rc < 0)
            goto fail;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return dict;
        }
        if (ps->p >= ps->end || *ps->p != ',')
            goto fail;
        ps->p++;
        skip_ws(ps);
    }
fail:
    Py_DECREF(dict);
    return NULL;
}

static PyObject *parse_array(parser *ps)
{
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return list;
    }
    for (;;) {
        PyObject *value = parse_value(ps);
        int rc = value ? PyList_Append(list, value) : -1;
        Py_XDECREF(value);
        if (rc < 0)
            goto fail;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return list;
        }
        if (ps->p >= ps->end || *ps->p != ',')
            goto fail;
        ps->p++;
        skip_ws(ps);
    }
fail:
    Py_DECREF(list);
    return NULL;
}

static PyObject *parse_container(parser *ps, int object)
{
    if (Py_EnterRecursiveCall(" while decoding a JSON document"))
        return NULL;
    ps->p++;
    PyObject *v = object ? parse_object(ps) : parse_array(ps);
    Py_LeaveRecursiveCall();
    return v;
}

static PyObject *parse_value(parser *ps)
{
    if (ps->p >= ps->end)
        return NULL;
    switch (*ps->p) {
    case '"':
        ps->p++;
        return parse_string(ps);
    case '{':
        return parse_container(ps, 1);
    case '[':
        return parse_container(ps, 0);
    case 'n':
        return take(ps, "null") ? Py_NewRef(Py_None) : NULL;
    case 't':
        return take(ps, "true") ? Py_NewRef(Py_True) : NULL;
    case 'f':
        return take(ps, "false") ? Py_NewRef(Py_False) : NULL;
    case 'N':
        return take(ps, "NaN") ? PyFloat_FromDouble(Py_NAN) : NULL;
    case 'I':
        return take(ps, "Infinity") ? PyFloat_FromDouble(Py_HUGE_VAL) : NULL;
    case '-':
        if (take(ps, "-Infinity"))
            return PyFloat_FromDouble(-Py_HUGE_VAL);
        return parse_number(ps);
    default:
        return parse_number(ps);
    }
}

PyObject *jsonparse(const char *data, size_t len)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.p = (const unsigned char *)data;
    ps.end = ps.p + len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    skip_ws(&ps);
    PyObject *v = parse_value(&ps);
    skip_ws(&ps);
    if (v && ps.p != ps.end)
        Py_CLEAR(v);
    for (int i = 0; i < KEY_CACHE_SIZE; i++)
        Py_XDECREF(ps.keys[i]);
    buf_free(&ps.scratch);
    if (!v)
        PyErr_Clear(); /* the fallback decodes again and words the error exactly */
    return v;
}
