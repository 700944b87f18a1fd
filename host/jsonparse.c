/* jsonparse: JSON bytes to Python objects with simplejson.loads's results and errors. */
#include "jsonparse.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "floattext.h"
#include "pyrt.h"

/* Keys seen in this document, so that the objects of a list share their key strs (as
 * simplejson's memo does) at the cost of a hash and a memcmp, not a dict operation. */
#define KEY_CACHE_SIZE 512
/* Integers of up to this many digits fit a long long and skip PyLong_FromString. */
#define FAST_INT_DIGITS 18

/* simplejson's messages (its C scanner's wording, which the managed runtimes run). */
#define ERR_VALUE "Expecting value"
#define ERR_VALUE_OR_BRACKET "Expecting value or ']'"
#define ERR_ARRAY_DELIMITER "Expecting ',' delimiter or ']'"
#define ERR_OBJECT_DELIMITER "Expecting ',' delimiter or '}'"
#define ERR_PROPERTY "Expecting property name enclosed in double quotes"
#define ERR_PROPERTY_FIRST "Expecting property name enclosed in double quotes or '}'"
#define ERR_COLON "Expecting ':' delimiter"
#define ERR_UNTERMINATED "Unterminated string starting at"
#define ERR_CONTROL "Invalid control character %r at"
#define ERR_ESCAPE "Invalid \\X escape sequence %r"
#define ERR_ESCAPE_U "Invalid \\uXXXX escape sequence"
#define ERR_EXTRA "Extra data"
#define IN_OBJECT " while decoding a JSON object from a unicode string"
#define IN_ARRAY " while decoding a JSON array from a unicode string"

typedef struct {
    const unsigned char *start, *p, *end;
    PyObject *keys[KEY_CACHE_SIZE]; /* owned; ASCII strs */
    buf_t scratch;                  /* strings with escapes, long numbers */
    /* The syntax error met, if any (no Python exception is set for those). */
    const char *err;
    const unsigned char *err_at;
    int err_to_end;                 /* "Extra data": the position is a range to the end */
} parser;

static PyObject *parse_value(parser *ps);

/* Records a syntax error at `at`; returns NULL for the caller to return. */
static PyObject *syntax_error(parser *ps, const char *msg, const unsigned char *at)
{
    ps->err = msg;
    ps->err_at = at;
    return NULL;
}

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Inlined: it runs between every two tokens. */
static inline __attribute__((always_inline)) void skip_ws(parser *ps)
{
    while (ps->p < ps->end && is_ws(*ps->p))
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

/* Four hex digits at h (the caller checked they are inside the document). */
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

/* A code point as UTF-8; a surrogate gets the 3-byte form "surrogatepass" decodes. */
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

/* syntax_error for the int-returning escape readers. */
static int escape_error(parser *ps, const char *msg, const unsigned char *at)
{
    syntax_error(ps, msg, at);
    return -1;
}

static int is_surrogate(unsigned cp)
{
    return cp >= 0xD800 && cp <= 0xDFFF;
}

/* A \uXXXX escape, ps->p at the 'u'. As simplejson: the four digits and one more character
 * must be in the document; a high surrogate joins a following \uXXXX low surrogate; any
 * other surrogate is kept alone. Sets *lone when it wrote a lone surrogate. */
static int unescape_u(parser *ps, int *lone)
{
    const unsigned char *u = ps->p, *digits = u + 1;
    unsigned cp, lo;
    if (ps->end - digits <= 4 || hex4(digits, &cp) < 0)
        return escape_error(ps, ERR_ESCAPE_U, u);
    ps->p = digits + 4;
    if ((cp & 0xFC00) == 0xD800 && ps->end - ps->p > 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
        if (hex4(ps->p + 2, &lo) < 0)
            return escape_error(ps, ERR_ESCAPE_U, ps->p + 1);
        if ((lo & 0xFC00) == 0xDC00) {
            ps->p += 6;
            cp = 0x10000 + (((cp - 0xD800) << 10) | (lo - 0xDC00));
        }
    }
    *lone |= is_surrogate(cp);
    return put_utf8(&ps->scratch, cp);
}

/* One escape, ps->p at the backslash (followed by at least one byte), into scratch. */
static int unescape(parser *ps, int *lone)
{
    static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
    unsigned char c = ps->p[1];
    const char *hit = c ? strchr(simple, c) : NULL;
    if (hit) {
        ps->p += 2;
        return buf_append_char(&ps->scratch, value[hit - simple]);
    }
    if (c != 'u')
        return escape_error(ps, ERR_ESCAPE, ps->p);
    ps->p++;
    return unescape_u(ps, lone);
}

/* The raw bytes of a string must be valid UTF-8 (the whole body is decoded strictly
 * before simplejson scans it). New reference. */
static PyObject *str_from_raw(const unsigned char *s, size_t n, int ascii)
{
    if (!ascii)
        return PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, NULL);
    PyObject *str = PyUnicode_New((Py_ssize_t)n, 127);
    if (str)
        memcpy(PyUnicode_DATA(str), s, n);
    return str;
}

/* The str of a string with escapes, built in scratch. `raw` spans the string's source
 * (escapes included, which are ASCII). New reference. */
static PyObject *str_from_scratch(parser *ps, const unsigned char *raw, size_t raw_len, int lone)
{
    const char *data = ps->scratch.data ? ps->scratch.data : "";
    Py_ssize_t n = (Py_ssize_t)ps->scratch.len;
    if (!lone)
        return PyUnicode_DecodeUTF8(data, n, NULL); /* also checks the raw bytes */
    /* "surrogatepass" would also let raw UTF-8-encoded surrogates through: check the
     * source strictly first (rare: lone surrogate escapes). */
    PyObject *check = PyUnicode_DecodeUTF8((const char *)raw, (Py_ssize_t)raw_len, NULL);
    if (!check)
        return NULL;
    Py_DECREF(check);
    return PyUnicode_DecodeUTF8(data, n, "surrogatepass");
}

/* A string, ps->p at its opening quote. New reference. */
static PyObject *parse_string(parser *ps)
{
    const unsigned char *quote = ps->p, *s = quote + 1, *q = s;
    int ascii = 1, lone = 0;
    while (q < ps->end && *q != '"' && *q != '\\') {
        if (*q < 0x20)
            return syntax_error(ps, ERR_CONTROL, q);
        ascii &= *q < 0x80;
        q++;
    }
    if (q >= ps->end)
        return syntax_error(ps, ERR_UNTERMINATED, quote);
    if (*q == '"') {
        ps->p = q + 1;
        return str_from_raw(s, (size_t)(q - s), ascii);
    }
    buf_reset(&ps->scratch);
    ps->p = s;
    for (;;) {
        const unsigned char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p >= 0x20)
            ps->p++;
        if (buf_append(&ps->scratch, run, (size_t)(ps->p - run)) < 0)
            return PyErr_NoMemory();
        if (ps->p >= ps->end)
            return syntax_error(ps, ERR_UNTERMINATED, quote);
        if (*ps->p == '"')
            break;
        if (*ps->p < 0x20)
            return syntax_error(ps, ERR_CONTROL, ps->p);
        if (ps->end - ps->p < 2)
            return syntax_error(ps, ERR_UNTERMINATED, quote);
        if (unescape(ps, &lone) < 0)
            return ps->err ? NULL : PyErr_NoMemory();
    }
    ps->p++;
    return str_from_scratch(ps, s, (size_t)(ps->p - 1 - s), lone);
}

/* A key, ps->p at its opening quote: a cached str when the same ASCII key was seen
 * before. New reference. */
static PyObject *parse_key(parser *ps)
{
    const unsigned char *s = ps->p + 1, *q = s;
    uint32_t h = 2166136261u; /* FNV-1a over the key's bytes */
    while (q < ps->end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80) {
        h = (h ^ *q) * 16777619u;
        q++;
    }
    if (q >= ps->end || *q != '"')
        return parse_string(ps); /* escapes, non-ASCII or an error: not cached */
    size_t n = (size_t)(q - s);
    PyObject **slot = &ps->keys[h % KEY_CACHE_SIZE];
    if (*slot && (size_t)PyUnicode_GET_LENGTH(*slot) == n && memcmp(PyUnicode_DATA(*slot), s, n) == 0) {
        ps->p = q + 1;
        return Py_NewRef(*slot);
    }
    PyObject *key = parse_string(ps);
    if (key)
        Py_XSETREF(*slot, Py_NewRef(key));
    return key;
}

static int is_digit(const parser *ps, const unsigned char *q)
{
    return q < ps->end && *q >= '0' && *q <= '9';
}

/* The end of the number at ps->p, as simplejson's scanner reads one ("1." and "1e" end
 * before the dot or the e); NULL when there is no number there. */
static const unsigned char *number_end(const parser *ps, int *is_float)
{
    const unsigned char *q = ps->p;
    if (q < ps->end && *q == '-')
        q++;
    if (!is_digit(ps, q))
        return NULL;
    if (*q == '0')
        q++;
    else
        while (is_digit(ps, q))
            q++;
    *is_float = 0;
    if (q + 1 < ps->end && *q == '.' && is_digit(ps, q + 1)) {
        *is_float = 1;
        q += 2;
        while (is_digit(ps, q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        const unsigned char *e = q + 1;
        if (e < ps->end && (*e == '+' || *e == '-'))
            e++;
        if (is_digit(ps, e)) {
            *is_float = 1;
            while (is_digit(ps, e))
                e++;
            q = e;
        }
    }
    return q;
}

static PyObject *parse_number(parser *ps)
{
    const unsigned char *start = ps->p;
    int is_float;
    const unsigned char *q = number_end(ps, &is_float);
    if (!q)
        return syntax_error(ps, ERR_VALUE, start);
    size_t n = (size_t)(q - start);
    ps->p = q;
    if (!is_float && n <= FAST_INT_DIGITS) {
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
            return PyErr_NoMemory();
        text = ps->scratch.data;
    } else {
        memcpy(small, start, n);
        small[n] = '\0';
    }
    if (!is_float) /* as int(text): the digit limit's ValueError is simplejson's error too */
        return PyLong_FromString(text, NULL, 10);
    /* As float(text): correctly rounded, 1e400 is inf. */
    double v = PyOS_string_to_double(text, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred())
        return NULL;
    floattext_remember(v, text, n);
    return PyFloat_FromDouble(v);
}

/* ps->p just past the '{'. */
static PyObject *parse_object(parser *ps)
{
    PyObject *dict = PyDict_New();
    if (!dict)
        return NULL;
    int parsed = 0, trailing = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p != '}') {
        while (ps->p < ps->end) {
            trailing = 0;
            if (*ps->p != '"') {
                syntax_error(ps, ERR_PROPERTY, ps->p);
                goto err;
            }
            PyObject *key = parse_key(ps);
            if (!key)
                goto err;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                Py_DECREF(key);
                syntax_error(ps, ERR_COLON, ps->p);
                goto err;
            }
            ps->p++;
            skip_ws(ps);
            PyObject *value = parse_value(ps);
            int rc = value ? PyDict_SetItem(dict, key, value) : -1;
            Py_DECREF(key);
            Py_XDECREF(value);
            if (rc < 0)
                goto err;
            skip_ws(ps);
            parsed = 1;
            if (ps->p < ps->end && *ps->p == '}')
                break;
            if (ps->p >= ps->end || *ps->p != ',') {
                syntax_error(ps, ERR_OBJECT_DELIMITER, ps->p);
                goto err;
            }
            ps->p++;
            skip_ws(ps);
            trailing = 1;
        }
        if (trailing) {
            syntax_error(ps, ERR_PROPERTY, ps->p);
            goto err;
        }
    }
    if (ps->p >= ps->end || *ps->p != '}') {
        syntax_error(ps, parsed ? ERR_OBJECT_DELIMITER : ERR_PROPERTY_FIRST, ps->p);
        goto err;
    }
    ps->p++;
    return dict;
err:
    Py_DECREF(dict);
    return NULL;
}

/* ps->p just past the '['. */
static PyObject *parse_array(parser *ps)
{
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    int trailing = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p != ']') {
        while (ps->p < ps->end) {
            trailing = 0;
            PyObject *value = parse_value(ps);
            int rc = value ? PyList_Append(list, value) : -1;
            Py_XDECREF(value);
            if (rc < 0)
                goto err;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ']')
                break;
            if (ps->p >= ps->end || *ps->p != ',') {
                syntax_error(ps, ERR_ARRAY_DELIMITER, ps->p);
                goto err;
            }
            ps->p++;
            skip_ws(ps);
            trailing = 1;
        }
        if (trailing) {
            syntax_error(ps, ERR_VALUE, ps->p);
            goto err;
        }
    }
    if (ps->p >= ps->end || *ps->p != ']') {
        syntax_error(ps, PyList_GET_SIZE(list) ? ERR_ARRAY_DELIMITER : ERR_VALUE_OR_BRACKET, ps->p);
        goto err;
    }
    ps->p++;
    return list;
err:
    Py_DECREF(list);
    return NULL;
}

/* Each level counts against the recursion limit, with simplejson's wording. */
static PyObject *parse_container(parser *ps, int object)
{
    if (Py_EnterRecursiveCall(object ? IN_OBJECT : IN_ARRAY))
        return NULL;
    ps->p++;
    PyObject *v = object ? parse_object(ps) : parse_array(ps);
    Py_LeaveRecursiveCall();
    return v;
}

static PyObject *parse_value(parser *ps)
{
    if (ps->p >= ps->end)
        return syntax_error(ps, ERR_VALUE, ps->p);
    switch (*ps->p) {
    case '"':
        return parse_string(ps);
    case '{':
        return parse_container(ps, 1);
    case '[':
        return parse_container(ps, 0);
    case 'n':
        if (take(ps, "null"))
            return Py_NewRef(Py_None);
        break;
    case 't':
        if (take(ps, "true"))
            return Py_NewRef(Py_True);
        break;
    case 'f':
        if (take(ps, "false"))
            return Py_NewRef(Py_False);
        break;
    }
    return parse_number(ps);
}

/* simplejson skips U+FEFF, or the three characters a BOM mis-decoded as Latin-1 gives. */
static void skip_bom(parser *ps)
{
    static const char bom[] = "\xEF\xBB\xBF", latin1_bom[] = "\xC3\xAF\xC2\xBB\xC2\xBF";
    if (!take(ps, bom))
        take(ps, latin1_bom);
}

/* ---- errors ------------------------------------------------------------------------ */

/* Characters in [from, to) of a valid UTF-8 text: bytes that do not continue one. */
static Py_ssize_t chars_in(const unsigned char *from, const unsigned char *to)
{
    Py_ssize_t n = 0;
    for (; from < to; from++)
        n += (*from & 0xC0) != 0x80;
    return n;
}

/* simplejson's errmsg(): "line L column C (char P)" for a position, in characters. */
typedef struct {
    Py_ssize_t line, column, chr;
} position;

static position position_of(const parser *ps, const unsigned char *at)
{
    position where = {1, 0, chars_in(ps->start, at)};
    const unsigned char *last_nl = NULL;
    for (const unsigned char *q = ps->start; q < at; q++) {
        if (*q == '\n') {
            where.line++;
            last_nl = q;
        }
    }
    where.column = last_nl ? chars_in(last_nl, at) : where.chr + 1;
    return where;
}

/* The message of the recorded syntax error, as simplejson words it ("%r" is the repr of
 * the character at the position). New reference. */
static PyObject *syntax_message(const parser *ps)
{
    PyObject *msg = PyUnicode_FromString(ps->err), *text = NULL;
    if (msg && strstr(ps->err, "%r")) {
        PyObject *c = PyUnicode_FromStringAndSize((const char *)ps->err_at, 1); /* ASCII */
        PyObject *r = c ? PyObject_Repr(c) : NULL;
        PyObject *marker = PyUnicode_FromString("%r");
        Py_XSETREF(msg, r && marker ? PyUnicode_Replace(msg, marker, r, -1) : NULL);
        Py_XDECREF(marker);
        Py_XDECREF(r);
        Py_XDECREF(c);
    }
    if (!msg)
        return NULL;
    position at = position_of(ps, ps->err_at);
    if (ps->err_to_end) {
        position end = position_of(ps, ps->end);
        text = PyUnicode_FromFormat("%U: line %zd column %zd - line %zd column %zd (char %zd - %zd)",
                                    msg, at.line, at.column, end.line, end.column, at.chr, end.chr);
    } else {
        text = PyUnicode_FromFormat("%U: line %zd column %zd (char %zd)", msg, at.line,
                                    at.column, at.chr);
    }
    Py_DECREF(msg);
    return text;
}

/* The parse failed: sets the exception simplejson.loads raises for this body. */
static void set_error(const parser *ps)
{
    PyObject *pending = pyrt_take_exception();
    /* simplejson decodes the whole body before it scans: invalid UTF-8 anywhere comes
     * first. CPython's codec words that error (its message is part of the contract). */
    PyObject *doc = PyUnicode_DecodeUTF8((const char *)ps->start, ps->end - ps->start, NULL);
    if (!doc) {
        Py_XDECREF(pending);
        return;
    }
    Py_DECREF(doc);
    if (pending) {
        pyrt_restore_exception(pending); /* not a syntax error: the int limit, recursion, memory */
        return;
    }
    if (!ps->err) { /* every failing path records an error or raises: a bug if not */
        PyErr_SetString(PyExc_SystemError, "jsonparse failed without an error");
        return;
    }
    PyObject *text = syntax_message(ps);
    if (text) {
        PyErr_SetObject(PyExc_ValueError, text);
        Py_DECREF(text);
    }
}

PyObject *jsonparse(const char *data, size_t len)
{
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.start = ps.p = (const unsigned char *)data;
    ps.end = ps.p + len;
    skip_bom(&ps);
    skip_ws(&ps);
    PyObject *v = parse_value(&ps);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            Py_CLEAR(v);
            syntax_error(&ps, ERR_EXTRA, ps.p);
            ps.err_to_end = 1;
        }
    }
    for (int i = 0; i < KEY_CACHE_SIZE; i++)
        Py_XDECREF(ps.keys[i]);
    buf_free(&ps.scratch);
    if (!v)
        set_error(&ps);
    return v;
}
