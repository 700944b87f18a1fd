/* marshal_dumps: byte-exact output for every case of spec §4 (awslambdaric.md) in the
 * python3.12+ mode host implements (ensure_ascii off), as simplejson 3.20.1's C encoder
 * writes it with awslambdaric's options (allow_nan off: simplejson >= 3.19's default), and
 * the exact messages of the MarshalError cases. Values are built by Python snippets; the
 * expected texts of the hostile ones are the official encoder's (tests/e2e/marshal_oracle.json
 * has them all, recorded from it). */
#include <string.h>

#include "marshaller.h"
#include "unit.h"

static const char prelude[] =
    "import collections, datetime, decimal, enum, uuid\n"
    "from decimal import Decimal\n"
    "class IE(enum.IntEnum):\n"
    "    A = 5\n"
    "    BIG = 2**70\n"
    "class SE(str, enum.Enum):\n"
    "    X = 'x-value'\n"
    "class LoudInt(int):\n"
    "    def __repr__(self): return 'not-the-value'\n"
    "    __str__ = __repr__\n"
    "class LoudFloat(float):\n"
    "    def __repr__(self): return 'not-the-value'\n"
    "    __str__ = __repr__\n"
    "P = collections.namedtuple('P', 'x y')\n"
    /* hostile values (the official encoder's output for each is in the tests below) */
    "def with_asdict(fn):\n"
    "    return type('A', (), {'_asdict': fn})()\n"
    "def items_dict(result, storage=(('stored', 1),)):\n"
    "    return type('ItemsDict', (dict,), {'items': lambda self: result})(storage)\n"
    "class AsdictProperty:\n"
    "    @property\n"
    "    def _asdict(self): raise ValueError('get failed')\n"
    "class ListAsdict(list):\n"
    "    def _asdict(self): return {'from': '_asdict'}\n"
    "class FalsyList(list):\n"
    "    def __bool__(self): return False\n"
    "class ZeroLenList(list):\n"
    "    def __len__(self): return 0\n"
    "class OwnIterList(list):\n"
    "    def __iter__(self): return iter(['own'])\n"
    "class ZeroLenTuple(tuple):\n"
    "    def __len__(self): return 0\n"
    "class OwnInt(int):\n"
    "    def __int__(self): return 42\n"
    "class OwnFloat(float):\n"
    "    def __float__(self): return 9.5\n"
    "class NanFloat(float):\n"
    "    def __float__(self): return float('nan')\n"
    "class ProxyOD:\n"
    "    @property\n"
    "    def __class__(self): return collections.OrderedDict\n"
    "class ClassFails:\n"
    "    @property\n"
    "    def __class__(self): raise ValueError('class failed')\n"
    "class UnhashableStr(str):\n"
    "    __hash__ = None\n"
    "class Mutator:\n"
    "    def __init__(self, change): self.change = change\n"
    "    def _asdict(self):\n"
    "        self.change()\n"
    "        return {'m': 1}\n";

/* Fails unless marshal_dumps(eval(expr)) succeeds with exactly want[0..wlen). */
static void dumps_is(const char *expr, const char *want, size_t wlen)
{
    PyObject *obj = unit_py_eval(expr);
    ck_assert_msg(obj != NULL, "cannot build %s", expr);
    buf_t out = BUF_INIT;
    int rc = marshal_dumps(obj, &out);
    Py_DECREF(obj);
    char *err = rc < 0 ? unit_py_take_error() : NULL;
    int ok = rc == 0 && unit_bytes_equal(out.data ? out.data : "", out.len, want, wlen);
    int terminated = rc < 0 || (out.data && out.data[out.len] == '\0');
    buf_free(&out);
    if (err) {
        static char msg[1024];
        snprintf(msg, sizeof msg, "marshal_dumps(%s) failed: %s", expr, err);
        free(err);
        ck_abort_msg("%s", msg);
    }
    ck_assert_msg(ok, "marshal_dumps(%s): %s", expr, unit_last_diff);
    ck_assert_msg(terminated, "marshal_dumps(%s): output not NUL-terminated", expr);
}

#define DUMPS(expr, want) dumps_is((expr), (want), sizeof(want) - 1)

/* Fails unless marshal_dumps(eval(expr)) returns -1 with an exception reading exactly
 * "Type: message", and leaves no exception behind once it is taken. */
static void dumps_fails(const char *expr, const char *want)
{
    PyObject *obj = unit_py_eval(expr);
    ck_assert_msg(obj != NULL, "cannot build %s", expr);
    buf_t out = BUF_INIT;
    int rc = marshal_dumps(obj, &out);
    Py_DECREF(obj);
    buf_free(&out);
    char *err = unit_py_take_error();
    static char got[1024];
    snprintf(got, sizeof got, "%s", err ? err : "(no exception)");
    free(err);
    ck_assert_msg(rc == -1, "marshal_dumps(%s) returned %d, want -1", expr, rc);
    ck_assert_msg(strcmp(got, want) == 0, "marshal_dumps(%s)\n  got  %s\n  want %s", expr, got,
                  want);
}

START_TEST(separators_and_insertion_order)
{
    DUMPS("{'a': 1, 'b': [1, 2]}", "{\"a\": 1, \"b\": [1, 2]}");
    DUMPS("{'z': 1, 'a': {'y': [True, None]}, 'm': 'v'}",
          "{\"z\": 1, \"a\": {\"y\": [true, null]}, \"m\": \"v\"}");
    DUMPS("[1, [2, [3, []]], {}]", "[1, [2, [3, []]], {}]");
}
END_TEST

START_TEST(constants)
{
    DUMPS("None", "null");
    DUMPS("True", "true");
    DUMPS("False", "false");
    DUMPS("[None, True, False]", "[null, true, false]");
}
END_TEST

START_TEST(empty_containers)
{
    DUMPS("{}", "{}");
    DUMPS("[]", "[]");
    DUMPS("()", "[]");
    DUMPS("''", "\"\"");
    DUMPS("{'a': {}, 'b': [], 'c': (), 'd': ''}", "{\"a\": {}, \"b\": [], \"c\": [], \"d\": \"\"}");
}
END_TEST

START_TEST(str_is_quoted)
{
    DUMPS("'hello'", "\"hello\"");
    DUMPS("'a\"b\\\\c/d'", "\"a\\\"b\\\\c/d\"");
    DUMPS("SE.X", "\"x-value\"");
}
END_TEST

START_TEST(str_short_escapes)
{
    DUMPS("'\\b\\f\\n\\r\\t'", "\"\\b\\f\\n\\r\\t\"");
}
END_TEST

START_TEST(str_control_escapes_lowercase_hex)
{
    DUMPS("'\\x00'", "\"\\u0000\"");
    DUMPS("'a\\x01\\x0b\\x1fz'", "\"a\\u0001\\u000b\\u001fz\"");
    /* every control character at once */
    char want[512], *w = want;
    *w++ = '"';
    for (int c = 0; c < 0x20; c++) {
        const char *shortcut = c == '\b' ? "\\b" : c == '\t' ? "\\t" : c == '\n' ? "\\n"
                             : c == '\f' ? "\\f" : c == '\r' ? "\\r" : NULL;
        if (shortcut)
            w += sprintf(w, "%s", shortcut);
        else
            w += sprintf(w, "\\u%04x", c);
    }
    *w++ = '"';
    dumps_is("''.join(map(chr, range(32)))", want, (size_t)(w - want));
    /* DEL and everything above are not escaped */
    DUMPS("'\\x7f~'", "\"\x7f~\"");
}
END_TEST

START_TEST(str_raw_utf8)
{
    DUMPS("'\\u00a3\\U0001F600\\u00e9'", "\"\xc2\xa3\xf0\x9f\x98\x80\xc3\xa9\"");
    /* U+2028 and U+2029 go out raw too */
    DUMPS("'\\u2028\\u2029'", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
    DUMPS("{'\\u00e9': '\\ufeff'}", "{\"\xc3\xa9\": \"\xef\xbb\xbf\"}");
}
END_TEST

START_TEST(ints_exact)
{
    DUMPS("0", "0");
    DUMPS("-1", "-1");
    DUMPS("2**63 - 1", "9223372036854775807");
    DUMPS("2**63", "9223372036854775808");
    DUMPS("-2**63", "-9223372036854775808");
    DUMPS("-2**63 - 1", "-9223372036854775809");
    DUMPS("2**64", "18446744073709551616");
    DUMPS("10**40", "10000000000000000000000000000000000000000");
    DUMPS("-(10**40) - 7", "-10000000000000000000000000000000000000007");
}
END_TEST

START_TEST(int_enum_and_subclass_give_value)
{
    DUMPS("IE.A", "5");
    DUMPS("IE.BIG", "1180591620717411303424");
    DUMPS("[IE.A, SE.X]", "[5, \"x-value\"]");
    DUMPS("LoudInt(7)", "7");
    DUMPS("LoudInt(2**80)", "1208925819614629174706176");
}
END_TEST

START_TEST(float_repr)
{
    DUMPS("0.1", "0.1");
    DUMPS("1e300", "1e+300");
    DUMPS("1.0", "1.0");
    DUMPS("-0.0", "-0.0");
    DUMPS("1e16", "1e+16");
    DUMPS("1.5e-7", "1.5e-07");
    DUMPS("123456789.125", "123456789.125");
    DUMPS("5e-324", "5e-324");
    DUMPS("2.0**0.5", "1.4142135623730951");
    DUMPS("LoudFloat(2.5)", "2.5");
}
END_TEST

#define OUT_OF_RANGE "ValueError: Out of range float values are not JSON compliant"

/* Regression (host wrote NaN/Infinity/-Infinity, simplejson's behaviour before 3.19):
 * allow_nan is off by default since simplejson 3.19 and awslambdaric does not turn it on. */
START_TEST(float_nonfinite_rejected)
{
    dumps_fails("float('nan')", OUT_OF_RANGE);
    dumps_fails("float('inf')", OUT_OF_RANGE);
    dumps_fails("float('-inf')", OUT_OF_RANGE);
    dumps_fails("{'a': [1.5, 1e400]}", OUT_OF_RANGE);
    dumps_fails("{float('nan'): 0}", OUT_OF_RANGE);
    dumps_fails("{-1e400: 0}", OUT_OF_RANGE);
    dumps_fails("LoudFloat('nan')", OUT_OF_RANGE);
}
END_TEST

START_TEST(decimal_raw_text)
{
    DUMPS("Decimal('1.10')", "1.10");
    DUMPS("Decimal('1E+2')", "1E+2");
    DUMPS("Decimal('-0')", "-0");
    DUMPS("Decimal('Infinity')", "Infinity");
    DUMPS("Decimal('-Infinity')", "-Infinity");
    DUMPS("Decimal('0.000001')", "0.000001");
    DUMPS("Decimal('1E-7')", "1E-7");
    DUMPS("Decimal(10**30)", "1000000000000000000000000000000");
    DUMPS("{'price': Decimal('19.990')}", "{\"price\": 19.990}");
}
END_TEST

/* awslambdaric's default() turns a NaN Decimal into float('nan'), which allow_nan off refuses
 * (host wrote NaN). Infinity is str(d), written raw. */
START_TEST(decimal_nan_rejected)
{
    dumps_fails("Decimal('NaN')", OUT_OF_RANGE);
    dumps_fails("[Decimal('-NaN')]", OUT_OF_RANGE);
    dumps_fails("{'k': Decimal('sNaN')}", OUT_OF_RANGE);
    dumps_fails("Decimal('NaN123')", OUT_OF_RANGE);
}
END_TEST

START_TEST(nested_bytes_decoded)
{
    DUMPS("{'b': b'abc'}", "{\"b\": \"abc\"}");
    DUMPS("[b'\\xc2\\xa3\\n\"']", "[\"\xc2\xa3\\n\\\"\"]");
    DUMPS("b''", "\"\"");
    DUMPS("b'top'", "\"top\"");
}
END_TEST

START_TEST(nested_bytes_invalid_utf8)
{
    dumps_fails("{'b': b'\\xff'}",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: "
                "invalid start byte");
    dumps_fails("[b'ok\\xc3']",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xc3 in position 2: "
                "unexpected end of data");
}
END_TEST

START_TEST(namedtuple_is_object)
{
    DUMPS("P(1, 'a')", "{\"x\": 1, \"y\": \"a\"}");
    DUMPS("[P(P(1, 2), None)]", "[{\"x\": {\"x\": 1, \"y\": 2}, \"y\": null}]");
    DUMPS("{'p': P((), {})}", "{\"p\": {\"x\": [], \"y\": {}}}");
}
END_TEST

START_TEST(tuple_list_subclasses_are_arrays)
{
    DUMPS("(1, 'a', (2,))", "[1, \"a\", [2]]");
    DUMPS("type('L', (list,), {})([1, 2])", "[1, 2]");
    DUMPS("collections.OrderedDict([('b', 1), ('a', 2)])", "{\"b\": 1, \"a\": 2}");
    dumps_fails("collections.UserList([1])", /* a Sequence, but not a list */
                "TypeError: Object of type UserList is not JSON serializable");
}
END_TEST

/* Regression (host/marshal.c encode_other -> encode_dict, fixed): a dict subclass is walked with
 * PyDict_Next, which follows the underlying dict's storage order. OrderedDict keeps its own
 * order (move_to_end, popitem(last=False) reorder it without touching the storage), and
 * simplejson (like json) encodes non-exact dicts through .items(): {"b": 2, "a": 1} here.
 * Use PyDict_Next only for exact dicts, PyMapping_Items otherwise. */
START_TEST(ordered_dict_own_order)
{
    DUMPS("(lambda od: (od.move_to_end('a'), od)[1])(collections.OrderedDict([('a', 1), ('b', 2)]))",
          "{\"b\": 2, \"a\": 1}");
}
END_TEST

START_TEST(dict_keys_converted)
{
    DUMPS("{1: 0}", "{\"1\": 0}");
    DUMPS("{-5: 0}", "{\"-5\": 0}");
    DUMPS("{2**70: 0}", "{\"1180591620717411303424\": 0}");
    DUMPS("{2.5: 0}", "{\"2.5\": 0}");
    DUMPS("{1.0: 0}", "{\"1.0\": 0}");
    DUMPS("{1e300: 0}", "{\"1e+300\": 0}");
    DUMPS("{True: 0}", "{\"true\": 0}");
    DUMPS("{False: 0}", "{\"false\": 0}");
    DUMPS("{None: 0}", "{\"null\": 0}");
    DUMPS("{IE.A: 0}", "{\"5\": 0}");
    DUMPS("{SE.X: 0}", "{\"x-value\": 0}");
    DUMPS("{'a': 1, 2: 2, None: 3, 4.5: 4}", "{\"a\": 1, \"2\": 2, \"null\": 3, \"4.5\": 4}");
    DUMPS("{'q\"\\n': 1}", "{\"q\\\"\\n\": 1}");
}
END_TEST

START_TEST(dict_key_other_types_rejected)
{
    dumps_fails("{(1, 2): 0}", "TypeError: keys must be str, int, float, bool or None, not tuple");
    dumps_fails("{'ok': {frozenset(): 0}}",
                "TypeError: keys must be str, int, float, bool or None, not frozenset");
}
END_TEST

START_TEST(not_serializable)
{
    dumps_fails("{1, 2}", "TypeError: Object of type set is not JSON serializable");
    dumps_fails("{'a': [frozenset()]}",
                "TypeError: Object of type frozenset is not JSON serializable");
    dumps_fails("datetime.datetime(2020, 1, 1)",
                "TypeError: Object of type datetime is not JSON serializable");
    dumps_fails("datetime.date(2020, 1, 1)",
                "TypeError: Object of type date is not JSON serializable");
    dumps_fails("uuid.UUID(int=0)", "TypeError: Object of type UUID is not JSON serializable");
    dumps_fails("bytearray(b'x')", "TypeError: Object of type bytearray is not JSON serializable");
    dumps_fails("(i for i in ())", "TypeError: Object of type generator is not JSON serializable");
    dumps_fails("object()", "TypeError: Object of type object is not JSON serializable");
    dumps_fails("[1, {'k': type('Thing', (), {})()}]",
                "TypeError: Object of type Thing is not JSON serializable");
}
END_TEST

START_TEST(circular_reference)
{
    dumps_fails("(lambda a: (a.append(a), a)[1])([])", "ValueError: Circular reference detected");
    dumps_fails("(lambda d: (d.__setitem__('self', d), d)[1])({})",
                "ValueError: Circular reference detected");
    dumps_fails("(lambda d: (d.__setitem__('l', [1, {'back': d}]), d)[1])({'x': 1})",
                "ValueError: Circular reference detected");
    /* the same object twice, not inside itself, is fine */
    DUMPS("(lambda x: [x, {'again': x}])([1])", "[[1], {\"again\": [1]}]");
}
END_TEST

START_TEST(deep_nesting_is_recursion_error)
{
    ck_assert_int_eq(unit_py_exec("deep = []\n"
                                  "for _ in range(100000):\n"
                                  "    deep = [deep]\n"
                                  "deep_d = {}\n"
                                  "for _ in range(100000):\n"
                                  "    deep_d = {'k': deep_d}\n"),
                     0);
    PyObject *names[] = {unit_py_eval("deep"), unit_py_eval("deep_d")};
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(names[i]);
        buf_t out = BUF_INIT;
        int rc = marshal_dumps(names[i], &out);
        buf_free(&out);
        int is_recursion = rc < 0 && PyErr_ExceptionMatches(PyExc_RecursionError);
        char *err = unit_py_take_error();
        static char msg[256];
        snprintf(msg, sizeof msg, "%s", err ? err : "(no exception)");
        free(err);
        ck_assert_msg(is_recursion, "nesting %d: rc %d, %s", i, rc, msg);
    }
    Py_DECREF(names[0]);
    Py_DECREF(names[1]);
    ck_assert_int_eq(unit_py_exec("del deep, deep_d"), 0);
    /* the interpreter is fine afterwards, and moderate nesting encodes */
    DUMPS("[[[[[[[[[[1]]]]]]]]]]", "[[[[[[[[[[1]]]]]]]]]]");
    char want[2 * 400 + 2];
    memset(want, '[', 400);
    memset(want + 400, ']', 400);
    PyObject *r = unit_py_eval("__import__('functools').reduce(lambda a, _: [a], range(399), [])");
    ck_assert_ptr_nonnull(r);
    buf_t out = BUF_INIT;
    ck_assert_int_eq(marshal_dumps(r, &out), 0);
    Py_DECREF(r);
    int ok = unit_bytes_equal(out.data, out.len, want, 800);
    buf_free(&out);
    ck_assert_msg(ok, "%s", unit_last_diff);
}
END_TEST

START_TEST(appends_to_existing_output)
{
    buf_t out = BUF_INIT;
    ck_assert_int_eq(buf_append_str(&out, "prefix:"), 0);
    PyObject *obj = unit_py_eval("[1, 'two']");
    ck_assert_ptr_nonnull(obj);
    int rc = marshal_dumps(obj, &out);
    Py_DECREF(obj);
    int ok = rc == 0 && unit_bytes_equal(out.data, out.len, "prefix:[1, \"two\"]", 17);
    buf_free(&out);
    ck_assert_msg(ok, "%s", unit_last_diff);
}
END_TEST

START_TEST(long_string_with_escapes)
{
    /* one reservation covers the worst case: every byte a \u00XX escape */
    PyObject *obj = unit_py_eval("'\\x01' * 5000 + '\\u00e9' * 3000");
    ck_assert_ptr_nonnull(obj);
    buf_t out = BUF_INIT;
    ck_assert_int_eq(marshal_dumps(obj, &out), 0);
    Py_DECREF(obj);
    size_t want_len = 2 + 5000 * 6 + 3000 * 2;
    ck_assert_uint_eq(out.len, want_len);
    ck_assert_mem_eq(out.data, "\"\\u0001\\u0001", 13);
    ck_assert_mem_eq(out.data + out.len - 3, "\xc3\xa9\"", 3);
    ck_assert_int_eq(out.data[out.len], '\0');
    buf_free(&out);
}
END_TEST

static void dumps_once(void *obj)
{
    buf_t out = BUF_INIT;
    if (marshal_dumps(obj, &out) < 0)
        PyErr_Clear();
    buf_free(&out);
}

START_TEST(no_reference_leaks)
{
    const char *values[] = {
        "{'a': [1, 2.5, 'x', None, True, b'b', (1,), 2**80]}",
        "P(1, 2)",
        "Decimal('1.1')",
        "[IE.A, SE.X]",
        "{1: 'a', 2.5: 'b', None: 'c', IE.A: SE.X}",
        "[1, {2, 3}]",                         /* not serializable */
        "{(1,): 0}",                            /* bad key */
        "(lambda a: (a.append(a), a)[1])([])", /* circular */
        "[b'\\xff']",                         /* bad bytes */
        "Decimal('sNaN')",
        "items_dict([('a', [1]), ('b', {'c': OwnInt(2)})])",   /* items() path */
        "items_dict([1])",                                      /* not pairs */
        "(lambda d: (d.update(a=Mutator(lambda: None), b=[2]), d)[1])({})", /* frozen */
        "[with_asdict(lambda self: 1 + '')]",                   /* TypeError dropped */
        "[with_asdict(lambda self: [])]",                       /* non-dict _asdict */
        "OwnIterList([1, OwnFloat(1.0)])",
        "[ProxyOD(), ClassFails()]",
        "{b'k': Decimal('NaN')}",
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        PyObject *obj = unit_py_eval(values[i]);
        ck_assert_ptr_nonnull(obj);
        Py_ssize_t g = unit_py_growth(dumps_once, obj, 1000);
        Py_DECREF(obj);
        ck_assert_msg(g < 100, "marshal_dumps(%s) keeps %zd blocks after 1000 calls", values[i], g);
    }
}
END_TEST

/* Regression (host/marshal.c encode_sequence, fixed): the loop reads PySequence_Fast_GET_ITEM(fast,
 * i) for i < the length taken before encoding, but an element's _asdict() (user code) may
 * shrink the list meanwhile: a read of freed memory / NULL, and a crash. simplejson (and
 * CPython's json) iterate and stop at the list's current end: "[{}]". */
static int child_list_shrinks(void *arg)
{
    (void)arg;
    if (unit_py_exec("class Shrinker:\n"
                     "    def _asdict(self):\n"
                     "        victim.clear()\n"
                     "        return {}\n"
                     "victim = [Shrinker(), [1], [2], [3]]\n") < 0)
        return 3;
    PyObject *obj = unit_py_eval("victim");
    if (!obj)
        return 3;
    buf_t out = BUF_INIT;
    int rc = marshal_dumps(obj, &out);
    Py_DECREF(obj);
    if (rc < 0)
        PyErr_Clear();
    int ok = rc == 0 && unit_bytes_equal(out.data, out.len, "[{}]", 4);
    if (!ok)
        fprintf(stderr, "list_shrinks: rc %d, %s\n", rc, unit_last_diff);
    buf_free(&out);
    return ok ? 0 : 1;
}

START_TEST(list_shrunk_by_asdict_does_not_crash)
{
    int rc = unit_in_child(child_list_shrinks, NULL, 20);
    ck_assert_msg(rc == 0, "encoding a list that user code shrinks: %s", unit_child_outcome(rc));
}
END_TEST

/* Regression (host: "keys must be str, int, float, bool or None, not bytes"): simplejson
 * decodes a bytes key (a subclass's own bytes too) with the encoder's encoding, UTF-8. */
START_TEST(bytes_keys_decoded)
{
    DUMPS("{b'k': 1, b'\\xc3\\xa9': 2}", "{\"k\": 1, \"\xc3\xa9\": 2}");
    DUMPS("{type('B', (bytes,), {'__str__': lambda s: 'x'})(b'bk'): 1}", "{\"bk\": 1}");
    dumps_fails("{b'\\xff': 1}",
                "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: "
                "invalid start byte");
}
END_TEST

/* Regression (host let getting or calling _asdict fail the document, encoded a non-dict
 * result as whatever it was, and put list subclasses before _asdict): simplejson's
 * _call_json_method drops any error from getting _asdict and a TypeError from calling it,
 * ignores a non-callable one, and its encoder asks _asdict before list, tuple or dict. */
START_TEST(asdict_rules)
{
    dumps_fails("[AsdictProperty()]",
                "TypeError: Object of type AsdictProperty is not JSON serializable");
    dumps_fails("[with_asdict(lambda self: 1 + '')]",
                "TypeError: Object of type A is not JSON serializable");
    dumps_fails("[with_asdict(lambda self, extra: {})]",
                "TypeError: Object of type A is not JSON serializable");
    dumps_fails("type('N', (), {'_asdict': {'a': 1}})()",
                "TypeError: Object of type N is not JSON serializable");
    dumps_fails("[with_asdict(lambda self: int('x'))]",
                "ValueError: invalid literal for int() with base 10: 'x'");
    dumps_fails("[with_asdict(lambda self: [1, 2])]",
                "TypeError: _asdict() must return a dict, not list");
    dumps_fails("[with_asdict(lambda self: None)]",
                "TypeError: _asdict() must return a dict, not NoneType");
    dumps_fails("[with_asdict(lambda self: Decimal(1))]",
                "TypeError: _asdict() must return a dict, not decimal.Decimal");
    DUMPS("[with_asdict(lambda self: collections.OrderedDict([('b', 1), ('a', 2)]))]",
          "[{\"b\": 1, \"a\": 2}]");
    DUMPS("ListAsdict([1])", "{\"from\": \"_asdict\"}");
    /* a namedtuple whose _asdict raises TypeError is a tuple again */
    DUMPS("type('Q', (P,), {'_asdict': lambda self: 1 + ''})(1, 2)", "[1, 2]");
}
END_TEST

/* Regression (host took PySequence_Fast's size and storage): simplejson's
 * encoder_listencode_list asks PyObject_IsTrue (__bool__, __len__) and iterates. */
START_TEST(list_subclass_truth_and_iteration)
{
    DUMPS("{'a': FalsyList([1, 2])}", "{\"a\": []}");
    DUMPS("ZeroLenList([1, 2])", "[]");
    DUMPS("ZeroLenTuple([1])", "[]");
    DUMPS("OwnIterList([1, 2])", "[\"own\"]");
    DUMPS("(lambda l: (l.append(l), l)[1])(FalsyList())", "[]");
    dumps_fails("[type('L', (list,), {'__bool__': lambda s: 1 + ''})([1])]",
                "TypeError: unsupported operand type(s) for +: 'int' and 'str'");
}
END_TEST

/* Regression (host wrote an int or float subclass's own value): the C encoder writes
 * int(obj) and float(obj) ("do not trust custom str/repr"), but tests the float's own
 * value for NaN and infinities. */
START_TEST(number_subclasses_through_int_and_float)
{
    DUMPS("[OwnInt(7), {OwnInt(7): 0}]", "[42, {\"42\": 0}]");
    DUMPS("[OwnFloat(2.5), {OwnFloat(1.5): 0}]", "[9.5, {\"9.5\": 0}]");
    DUMPS("[NanFloat(1.5)]", "[nan]");
    dumps_fails("OwnFloat('inf')", OUT_OF_RANGE);
    dumps_fails("[type('I', (int,), {'__int__': lambda s: 's'})(1)]",
                "TypeError: __int__ returned non-int (type str)");
}
END_TEST

/* Regression (host named type(obj)): JSONEncoder.default says o.__class__.__name__, so a
 * proxy names what it stands for; a failing __class__ is simplejson's RawJSON probe. */
START_TEST(not_serializable_names_class_attribute)
{
    dumps_fails("[ProxyOD()]", "TypeError: Object of type OrderedDict is not JSON serializable");
    dumps_fails("[ClassFails()]",
                "AttributeError: 'ClassFails' object has no attribute 'encoded_json'");
    dumps_fails("[type('CE', (ClassFails,), {'encoded_json': 'x'})()]",
                "ValueError: class failed");
}
END_TEST

/* Regression (host looked decimal up in sys.modules on every value): the official encoder
 * compares with the class awslambdaric imported, whatever sys.modules says later. */
START_TEST(decimal_class_survives_sys_modules)
{
    ck_assert_int_eq(unit_py_exec("import sys\n"
                                  "saved_decimal = sys.modules.pop('decimal')\n"),
                     0);
    DUMPS("[Decimal('1.50'), {'k': Decimal('-0')}]", "[1.50, {\"k\": -0}]");
    ck_assert_int_eq(unit_py_exec("sys.modules['decimal'] = type(sys)('decimal')\n"), 0);
    DUMPS("Decimal('2.5')", "2.5");
    ck_assert_int_eq(unit_py_exec("sys.modules['decimal'] = saved_decimal\n"), 0);
    DUMPS("type('D', (Decimal,), {'__str__': lambda s: '7.70'})('1')", "7.70");
}
END_TEST

/* Regression (host read PyList_GET_ITEM of a stale length and PyTuple_GET_ITEM of whatever
 * items() returned: an assertion or a read out of bounds). simplejson: a ValueError. */
static int child_items_not_pairs(void *arg)
{
    (void)arg;
    static const char *const exprs[] = {
        "items_dict([1, 2])", "items_dict([(1,)])", "items_dict([('a', 1, 2)])",
        "items_dict([['a', 1]])", "items_dict([('a', 1), 'bad'])",
        "[with_asdict(lambda self: items_dict([None]))]",
    };
    for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++) {
        PyObject *obj = unit_py_eval(exprs[i]);
        buf_t out = BUF_INIT;
        int rc = obj ? marshal_dumps(obj, &out) : 0;
        Py_XDECREF(obj);
        buf_free(&out);
        char *err = unit_py_take_error();
        int ok = rc == -1 && err && strcmp(err, "ValueError: items must return 2-tuples") == 0;
        if (!ok)
            fprintf(stderr, "items_not_pairs: %s: rc %d, %s\n", exprs[i], rc, err ? err : "-");
        free(err);
        if (!ok)
            return 1;
    }
    return 0;
}

START_TEST(dict_subclass_items_not_pairs)
{
    int rc = unit_in_child(child_items_not_pairs, NULL, 20);
    ck_assert_msg(rc == 0, "items() giving non-pairs: %s", unit_child_outcome(rc));
}
END_TEST

START_TEST(dict_subclass_items_results)
{
    dumps_fails("items_dict(5)", "TypeError: ItemsDict.items() returned a non-iterable (type int)");
    DUMPS("items_dict(iter([('a', 1), ('b', 2)]))", "{\"a\": 1, \"b\": 2}");
    DUMPS("items_dict([type('T', (tuple,), {})(('a', 1))])", "{\"a\": 1}");
    /* empty by its own storage, whatever items() says */
    DUMPS("items_dict([('x', 1)], storage=())", "{}");
    DUMPS("type('Z', (dict,), {'__len__': lambda s: 0})(a=1)", "{\"a\": 1}");
    dumps_fails("items_dict([(UnhashableStr('k'), 1)])",
                "TypeError: unhashable type: 'UnhashableStr'");
    dumps_fails("(lambda od: (od.__setitem__('me', [od]), od)[1])(collections.OrderedDict())",
                "ValueError: Circular reference detected");
}
END_TEST

/* Regression (host walked an exact dict in place): simplejson writes an exact dict from a
 * copy of its items taken at its "{", so Python code run meanwhile does not change what is
 * written; lists are read live, as a list iterator reads them. */
START_TEST(containers_changed_while_written)
{
    DUMPS("(lambda d: (d.update(a=Mutator(d.clear), b=2, c=3), d)[1])({})",
          "{\"a\": {\"m\": 1}, \"b\": 2, \"c\": 3}");
    DUMPS("(lambda d: (d.update(a=Mutator(lambda: d.update(z=26)), b=2), d)[1])({})",
          "{\"a\": {\"m\": 1}, \"b\": 2}");
    DUMPS("(lambda d: (d.update(a={'i': [Mutator(lambda: d.update(b='new'))]}, b='old'), d)[1])({})",
          "{\"a\": {\"i\": [{\"m\": 1}]}, \"b\": \"old\"}");
    DUMPS("(lambda l: (l.extend([Mutator(lambda: l.append('added')), 2]), l)[1])([])",
          "[{\"m\": 1}, 2, \"added\"]");
    DUMPS("(lambda kept: (kept.__setitem__(0, ('a', Mutator(kept.pop))), items_dict(kept))[1])"
          "([('a', 0), ('b', 2), ('c', 3)])",
          "{\"a\": {\"m\": 1}, \"b\": 2}");
}
END_TEST

static Suite *marshal_suite(void)
{
    Suite *s = suite_create("marshal");
    TCase *tc = tcase_create("marshal_dumps");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, separators_and_insertion_order);
    tcase_add_test(tc, constants);
    tcase_add_test(tc, empty_containers);
    tcase_add_test(tc, str_is_quoted);
    tcase_add_test(tc, str_short_escapes);
    tcase_add_test(tc, str_control_escapes_lowercase_hex);
    tcase_add_test(tc, str_raw_utf8);
    tcase_add_test(tc, ints_exact);
    tcase_add_test(tc, int_enum_and_subclass_give_value);
    tcase_add_test(tc, float_repr);
    tcase_add_test(tc, float_nonfinite_rejected);
    tcase_add_test(tc, decimal_raw_text);
    tcase_add_test(tc, decimal_nan_rejected);
    tcase_add_test(tc, nested_bytes_decoded);
    tcase_add_test(tc, nested_bytes_invalid_utf8);
    tcase_add_test(tc, namedtuple_is_object);
    tcase_add_test(tc, tuple_list_subclasses_are_arrays);
    tcase_add_test(tc, ordered_dict_own_order);
    tcase_add_test(tc, dict_keys_converted);
    tcase_add_test(tc, dict_key_other_types_rejected);
    tcase_add_test(tc, not_serializable);
    tcase_add_test(tc, circular_reference);
    tcase_add_test(tc, deep_nesting_is_recursion_error);
    tcase_add_test(tc, appends_to_existing_output);
    tcase_add_test(tc, long_string_with_escapes);
    tcase_add_test(tc, no_reference_leaks);
    tcase_add_test(tc, list_shrunk_by_asdict_does_not_crash);
    tcase_add_test(tc, bytes_keys_decoded);
    tcase_add_test(tc, asdict_rules);
    tcase_add_test(tc, list_subclass_truth_and_iteration);
    tcase_add_test(tc, number_subclasses_through_int_and_float);
    tcase_add_test(tc, not_serializable_names_class_attribute);
    tcase_add_test(tc, decimal_class_survives_sys_modules);
    tcase_add_test(tc, dict_subclass_items_not_pairs);
    tcase_add_test(tc, dict_subclass_items_results);
    tcase_add_test(tc, containers_changed_while_written);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (unit_py_exec(prelude) < 0)
        return 2;
    int rc = unit_main(marshal_suite());
    unit_py_stop();
    return rc;
}
