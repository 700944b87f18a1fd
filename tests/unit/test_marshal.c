/* marshal_dumps: byte-exact output for every case of spec §4 (awslambdaric.md) in the
 * python3.12+ mode host implements (ensure_ascii off, allow_nan on), and the exact
 * messages of the MarshalError cases. Values are built by Python snippets. */
#include <string.h>

/* host/marshal.h by path: -I order would find CPython's own marshal.h first. */
#include "../../host/marshal.h"
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
    "P = collections.namedtuple('P', 'x y')\n";

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

START_TEST(float_nonfinite_bare_tokens)
{
    DUMPS("float('nan')", "NaN");
    DUMPS("float('inf')", "Infinity");
    DUMPS("float('-inf')", "-Infinity");
    DUMPS("[float('nan'), 1e400, -1e400]", "[NaN, Infinity, -Infinity]");
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

START_TEST(decimal_nan_is_nan)
{
    DUMPS("Decimal('NaN')", "NaN");
    DUMPS("Decimal('-NaN')", "NaN");
    DUMPS("Decimal('sNaN')", "NaN");
    DUMPS("Decimal('NaN123')", "NaN");
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
    DUMPS("{float('nan'): 0}", "{\"NaN\": 0}");
    DUMPS("{float('-inf'): 0}", "{\"-Infinity\": 0}");
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
    tcase_add_test(tc, float_nonfinite_bare_tokens);
    tcase_add_test(tc, decimal_raw_text);
    tcase_add_test(tc, decimal_nan_is_nan);
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
