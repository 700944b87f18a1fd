/* event: which content types select JSON, and event_decode against spec §3.4: the official
 * runtime decodes with simplejson.loads(body_bytes) (BOM tolerated, big ints exact,
 * NaN/Infinity accepted, last duplicate key wins) and reports simplejson's message. */
#include <string.h>

#include "event.h"
#include "unit.h"

static event_decoder dec;

/* Decodes body as JSON and stores the result as __main__.ev; fails on an error. */
static void decode_ok(const char *body, size_t len)
{
    PyObject *ev = event_decode(&dec, body, len, 1);
    char *err = ev ? NULL : unit_py_take_error();
    static char msg[512];
    snprintf(msg, sizeof msg, "%s", err ? err : "");
    free(err);
    ck_assert_msg(ev != NULL, "event_decode failed: %s", msg);
    int rc = unit_py_set("ev", ev);
    Py_DECREF(ev);
    ck_assert_int_eq(rc, 0);
}

#define DECODE_OK(lit) decode_ok((lit), sizeof(lit) - 1)

/* Fails unless decoding body raises a ValueError whose str() is exactly want. */
static void decode_fails(const char *body, size_t len, const char *want)
{
    PyObject *ev = event_decode(&dec, body, len, 1);
    Py_XDECREF(ev);
    int is_value_error = ev == NULL && PyErr_ExceptionMatches(PyExc_ValueError);
    char *err = unit_py_take_error();
    static char got[1024];
    const char *text = err ? strchr(err, ':') : NULL; /* "Type: message" */
    snprintf(got, sizeof got, "%s", text ? text + 2 : "(no exception)");
    static char type[128];
    snprintf(type, sizeof type, "%.*s", err && text ? (int)(text - err) : 6, err ? err : "(none)");
    free(err);
    ck_assert_msg(ev == NULL, "decoding succeeded, want error %s", want);
    ck_assert_msg(is_value_error, "the error is a %s, not a ValueError", type);
    ck_assert_msg(strcmp(got, want) == 0, "error message\n  got  %s\n  want %s", got, want);
}

#define DECODE_FAILS(lit, want) decode_fails((lit), sizeof(lit) - 1, (want))

START_TEST(json_only_for_exact_content_type)
{
    ck_assert_int_eq(event_is_json("application/json"), 1);
    ck_assert_int_eq(event_is_json(NULL), 0);
    ck_assert_int_eq(event_is_json(""), 0);
    ck_assert_int_eq(event_is_json("application/json; charset=utf-8"), 0);
    ck_assert_int_eq(event_is_json("application/json;charset=UTF-8"), 0);
    ck_assert_int_eq(event_is_json("Application/JSON"), 0);
    ck_assert_int_eq(event_is_json("application/json "), 0);
    ck_assert_int_eq(event_is_json("application/jsonx"), 0);
    ck_assert_int_eq(event_is_json("text/plain"), 0);
    ck_assert_int_eq(event_is_json("application/octet-stream"), 0);
}
END_TEST

START_TEST(other_content_types_give_raw_bytes)
{
    static const char body[] = "{\"a\": 1}\0\xff raw";
    PyObject *ev = event_decode(&dec, body, sizeof body - 1, 0);
    ck_assert_ptr_nonnull(ev);
    ck_assert(PyBytes_CheckExact(ev));
    ck_assert_bytes(PyBytes_AS_STRING(ev), (size_t)PyBytes_GET_SIZE(ev), body, sizeof body - 1);
    Py_DECREF(ev);
    ev = event_decode(&dec, "", 0, 0);
    ck_assert_ptr_nonnull(ev);
    ck_assert(PyBytes_CheckExact(ev));
    ck_assert_int_eq(PyBytes_GET_SIZE(ev), 0);
    Py_DECREF(ev);
}
END_TEST

START_TEST(decodes_values_and_types)
{
    DECODE_OK("{\"s\": \"x\", \"i\": -3, \"f\": 2.5, \"e\": 1E2, \"t\": true, \"n\": null, "
              "\"l\": [false, {}], \"o\": {\"k\": []}}");
    ck_assert_py("ev == {'s': 'x', 'i': -3, 'f': 2.5, 'e': 100.0, 't': True, 'n': None, "
                 "'l': [False, {}], 'o': {'k': []}}");
    ck_assert_py("type(ev['i']) is int and type(ev['f']) is float and type(ev['e']) is float");
    ck_assert_py("list(ev) == ['s', 'i', 'f', 'e', 't', 'n', 'l', 'o']");
    DECODE_OK("\"top\"");
    ck_assert_py("ev == 'top'");
    DECODE_OK("7");
    ck_assert_py("ev == 7 and type(ev) is int");
    DECODE_OK("[]");
    ck_assert_py("ev == []");
}
END_TEST

START_TEST(big_ints_exact_floats_float)
{
    DECODE_OK("[123456789012345678901234567890, -98765432109876543210987654321, 0.1, 1e400, -1e400]");
    ck_assert_py("ev[0] == 123456789012345678901234567890 and type(ev[0]) is int");
    ck_assert_py("ev[1] == -98765432109876543210987654321");
    ck_assert_py("type(ev[2]) is float and ev[2] == 0.1");
    ck_assert_py("ev[3] == float('inf') and ev[4] == float('-inf')");
}
END_TEST

START_TEST(nan_and_infinity_accepted)
{
    DECODE_OK("{\"a\": NaN, \"b\": Infinity, \"c\": -Infinity}");
    ck_assert_py("ev['a'] != ev['a'] and type(ev['a']) is float");
    ck_assert_py("ev['b'] == float('inf') and ev['c'] == float('-inf')");
}
END_TEST

START_TEST(duplicate_keys_last_wins)
{
    DECODE_OK("{\"a\": 1, \"b\": 2, \"a\": 3}");
    ck_assert_py("ev == {'a': 3, 'b': 2}");
    ck_assert_py("list(ev) == ['a', 'b']");
}
END_TEST

START_TEST(strings_escapes_and_utf8)
{
    DECODE_OK("{\"e\": \"\\u00e9\\ud83d\\ude00\\n\\\"\", \"r\": \"\xc3\xa9\xe2\x80\xa8\"}");
    ck_assert_py("ev == {'e': '\\u00e9\\U0001F600\\n\"', 'r': '\\u00e9\\u2028'}");
}
END_TEST

START_TEST(bom_and_whitespace_tolerated)
{
    DECODE_OK("\xef\xbb\xbf{\"a\": 1}");
    ck_assert_py("ev == {'a': 1}");
    DECODE_OK("\xef\xbb\xbf \r\n\t[1] \n");
    ck_assert_py("ev == [1]");
    DECODE_OK(" \n {\"a\": 1}\r\n ");
    ck_assert_py("ev == {'a': 1}");
}
END_TEST

START_TEST(error_empty_body)
{
    DECODE_FAILS("", "Expecting value: line 1 column 1 (char 0)");
    DECODE_FAILS("   ", "Expecting value: line 1 column 4 (char 3)");
    DECODE_FAILS("\n\n  x", "Expecting value: line 3 column 3 (char 4)");
}
END_TEST

/* Regression (host/py/bootstrap.py make_scanner, fixed): while nothing has imported json.decoder,
 * CPython's _json scanner cannot raise its own syntax errors (it looks JSONDecodeError up
 * in sys.modules without importing it): "SystemError: <_json.Scanner object at 0x...>
 * returned NULL without setting an exception". See test_invoke.c for the posted body. */
START_TEST(error_syntax_messages_shared_with_stdlib)
{
    DECODE_FAILS("{\"a\": }", "Expecting value: line 1 column 7 (char 6)");
    DECODE_FAILS("{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)");
    DECODE_FAILS("\"abc", "Unterminated string starting at: line 1 column 1 (char 0)");
    DECODE_FAILS("nul", "Expecting value: line 1 column 1 (char 0)");
    DECODE_FAILS("[1,]", "Expecting value: line 1 column 4 (char 3)");
}
END_TEST

START_TEST(error_invalid_utf8)
{
    DECODE_FAILS("\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte");
    DECODE_FAILS("{\"a\": \"\xc3(\"}",
                 "'utf-8' codec can't decode byte 0xc3 in position 7: invalid continuation byte");
}
END_TEST

/* simplejson (spec §3.4's decoder) reports trailing data as a range up to the end of the
 * document; stdlib json would say "Extra data: line 1 column 10 (char 9)". */
START_TEST(error_extra_data_simplejson_wording)
{
    DECODE_FAILS("{\"a\": 1} x",
                 "Extra data: line 1 column 10 - line 1 column 11 (char 9 - 10)");
    DECODE_FAILS("[1]\n[2]\n", "Extra data: line 2 column 1 - line 3 column 1 (char 4 - 8)");
}
END_TEST

/* Regression (host/py/bootstrap.py make_scanner, host/event.c, fixed): errors raised inside
 * CPython's _json scanner keep stdlib's wording, "Expecting ',' delimiter"; simplejson's
 * scanner says "Expecting ',' delimiter or ']'" (and "or '}'", "Expecting property name
 * enclosed in double quotes or '}'", "Invalid control character '\x01' at"). Today this
 * test first trips over the SystemError bug above. */
START_TEST(error_delimiter_simplejson_wording)
{
    DECODE_FAILS("[1 2]", "Expecting ',' delimiter or ']': line 1 column 4 (char 3)");
    DECODE_FAILS("{\"a\": 1 \"b\": 2}", "Expecting ',' delimiter or '}': line 1 column 9 (char 8)");
    DECODE_FAILS("{", "Expecting property name enclosed in double quotes or '}': line 1 column 2 (char 1)");
}
END_TEST

/* simplejson decodes the whole body and then skips U+FEFF, so positions count the BOM: one
 * character in syntax errors, three bytes in UTF-8 errors. */
START_TEST(error_positions_count_the_bom)
{
    DECODE_FAILS("\xef\xbb\xbf", "Expecting value: line 1 column 2 (char 1)");
    DECODE_FAILS("\xef\xbb\xbfx", "Expecting value: line 1 column 2 (char 1)");
    DECODE_FAILS("\xef\xbb\xbf\xff",
                 "'utf-8' codec can't decode byte 0xff in position 3: invalid start byte");
}
END_TEST

static void decode_once(void *body)
{
    PyObject *ev = event_decode(&dec, body, strlen(body), 1);
    if (ev)
        Py_DECREF(ev);
    else
        PyErr_Clear();
}

START_TEST(no_reference_leaks)
{
    static const char *bodies[] = {
        "{\"a\": [1, 2.5, \"x\", null, true, NaN, 123456789012345678901234567890]}",
        "", "  x", "{\"a\": 1} x", "[1 2]", "\xff", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        Py_ssize_t g = unit_py_growth(decode_once, (void *)bodies[i], 1000);
        ck_assert_msg(g < 100, "event_decode(\"%s\") keeps %zd blocks after 1000 calls",
                      bodies[i], g);
    }
}
END_TEST

START_TEST(decoder_init_failure_and_clear)
{
    event_decoder d = {NULL, NULL, NULL};
    event_decoder_clear(&d); /* clearing an empty decoder is fine */
    /* The _json scanner is built on the first document the native parser gives up on:
     * a failing builder does not fail init, and valid documents never call it. */
    PyObject *bad = unit_py_eval("lambda: 1 / 0");
    ck_assert_ptr_nonnull(bad);
    ck_assert_int_eq(event_decoder_init(&d, bad, unit_rt.unmarshal_error_message), 0);
    PyObject *ok = event_decode(&d, "{\"a\": [1, 2.5]}", 15, 1);
    ck_assert_ptr_nonnull(ok);
    Py_DECREF(ok);
    ck_assert_ptr_null(d.scan_once);
    ck_assert_ptr_null(event_decode(&d, "{\"a\": ", 6, 1));
    ck_assert(PyErr_ExceptionMatches(PyExc_ZeroDivisionError));
    PyErr_Clear();
    event_decoder_clear(&d);
    Py_DECREF(bad);
    ck_assert_int_eq(event_decoder_init(&d, unit_rt.make_scanner, unit_rt.unmarshal_error_message), 0);
    event_decoder_clear(&d);
    ck_assert_ptr_null(d.scan_once);
    ck_assert_ptr_null(d.error_message);
    event_decoder_clear(&d);
}
END_TEST

static Suite *event_suite(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("event");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_only_for_exact_content_type);
    tcase_add_test(tc, other_content_types_give_raw_bytes);
    tcase_add_test(tc, decodes_values_and_types);
    tcase_add_test(tc, big_ints_exact_floats_float);
    tcase_add_test(tc, nan_and_infinity_accepted);
    tcase_add_test(tc, duplicate_keys_last_wins);
    tcase_add_test(tc, strings_escapes_and_utf8);
    tcase_add_test(tc, bom_and_whitespace_tolerated);
    tcase_add_test(tc, error_empty_body);
    tcase_add_test(tc, error_syntax_messages_shared_with_stdlib);
    tcase_add_test(tc, error_invalid_utf8);
    tcase_add_test(tc, error_extra_data_simplejson_wording);
    tcase_add_test(tc, error_delimiter_simplejson_wording);
    tcase_add_test(tc, error_positions_count_the_bom);
    tcase_add_test(tc, no_reference_leaks);
    tcase_add_test(tc, decoder_init_failure_and_clear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (event_decoder_init(&dec, unit_rt.make_scanner, unit_rt.unmarshal_error_message) < 0) {
        PyErr_Print();
        return 2;
    }
    int rc = unit_main(event_suite());
    event_decoder_clear(&dec);
    unit_py_stop();
    return rc;
}
