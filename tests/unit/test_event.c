/* event: which content types select JSON, and event_decode (host/jsonparse.c) against
 * spec §3.4 and issue 8: the official runtime decodes with simplejson.loads(body_bytes)
 * (simplejson 3.20.1: BOM tolerated, big ints exact, NaN/Infinity rejected, last duplicate
 * key wins) and reports simplejson's message for the first error. The data-driven cases
 * in tests/json/ hold simplejson's own results (see tests/json/expected.py). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "unit.h"

#define JSON_CASES_DEFAULT "tests/json" /* `make unit` runs from the repository root */

/* Decodes body as JSON and stores the result as __main__.ev; fails on an error. */
static void decode_ok(const char *body, size_t len)
{
    PyObject *ev = event_decode(body, len, 1);
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
    PyObject *ev = event_decode(body, len, 1);
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
    PyObject *ev = event_decode(body, sizeof body - 1, 0);
    ck_assert_ptr_nonnull(ev);
    ck_assert(PyBytes_CheckExact(ev));
    ck_assert_bytes(PyBytes_AS_STRING(ev), (size_t)PyBytes_GET_SIZE(ev), body, sizeof body - 1);
    Py_DECREF(ev);
    ev = event_decode("", 0, 0);
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

/* simplejson 3.19+ loads with allow_nan=False: the literals are not values. */
START_TEST(nan_and_infinity_rejected)
{
    DECODE_FAILS("{\"n\": NaN}", "Expecting value: line 1 column 7 (char 6)");
    DECODE_FAILS("[Infinity]", "Expecting value: line 1 column 2 (char 1)");
    DECODE_FAILS("[1, -Infinity]", "Expecting value: line 1 column 5 (char 4)");
}
END_TEST

/* The first error met from the left is the one reported: the int digit limit (int()'s own
 * ValueError) before a later syntax error; a syntax error before a later long int. */
START_TEST(first_error_reported)
{
    buf_t doc = BUF_INIT;
    ck_assert_int_eq(buf_append_char(&doc, '['), 0);
    for (int i = 0; i < 5000; i++)
        ck_assert_int_eq(buf_append_char(&doc, '7'), 0);
    ck_assert_int_eq(buf_append_str(&doc, " x"), 0);
    decode_fails(doc.data, doc.len,
                 "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 "
                 "digits; use sys.set_int_max_str_digits() to increase the limit");
    buf_reset(&doc);
    ck_assert_int_eq(buf_append_str(&doc, "[1 2, "), 0);
    for (int i = 0; i < 5000; i++)
        ck_assert_int_eq(buf_append_char(&doc, '7'), 0);
    decode_fails(doc.data, doc.len, "Expecting ',' delimiter or ']': line 1 column 4 (char 3)");
    buf_free(&doc);
}
END_TEST

/* "\ud800" alone is kept as a lone surrogate, as simplejson keeps it; raw bytes that
 * UTF-8-encode a surrogate are still invalid UTF-8 in the same string. */
START_TEST(lone_surrogates_kept)
{
    DECODE_OK("[\"\\ud800\", \"\xc3\xa9\\udc00x\", \"\\ud800\\u0041\"]");
    ck_assert_py("ev == ['\\ud800', '\\xe9\\udc00x', '\\ud800A']");
    DECODE_FAILS("\"\xed\xa0\x80\\ud800\"",
                 "'utf-8' codec can't decode byte 0xed in position 1: invalid continuation byte");
}
END_TEST

/* Nesting costs one recursion level per container, as in simplejson's C scanner. */
START_TEST(deep_nesting_is_recursion_error)
{
    enum { DEPTH = 200000 };
    char *doc = malloc(DEPTH);
    ck_assert_ptr_nonnull(doc);
    memset(doc, '[', DEPTH);
    PyObject *ev = event_decode(doc, DEPTH, 1);
    free(doc);
    ck_assert_ptr_null(ev);
    ck_assert(PyErr_ExceptionMatches(PyExc_RecursionError));
    char *err = unit_py_take_error();
    ck_assert_str_eq(err, "RecursionError: maximum recursion depth exceeded while decoding a "
                          "JSON array from a unicode string");
    free(err);
}
END_TEST

/* ---- the data-driven cases (tests/json/{valid,invalid}/NAME/{input,output|error}) ---- */

static int read_file(const char *path, buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_append(out, chunk, n);
    fclose(f);
    return rc;
}

/* What the case's expected file says about decoding `input`: ascii(value) under valid/,
 * str(exception) under invalid/. Returns NULL when it matches, else a malloc'd report. */
static char *check_case(const char *dir, const char *name, int valid)
{
    buf_t in_path = BUF_INIT, want_path = BUF_INIT;
    buf_t input = BUF_INIT, want = BUF_INIT, report = BUF_INIT;
    int rc = buf_printf(&in_path, "%s/%s/input", dir, name) < 0 ||
             buf_printf(&want_path, "%s/%s/%s", dir, name, valid ? "output" : "error") < 0 ||
             read_file(in_path.data, &input) < 0 || read_file(want_path.data, &want) < 0;
    buf_free(&in_path);
    buf_free(&want_path);
    if (rc || want.len == 0) {
        buf_printf(&report, "%s: cannot read its files", name);
        goto done;
    }
    want.data[--want.len] = '\0'; /* the trailing newline */
    PyObject *ev = event_decode(input.data ? input.data : "", input.len, 1);
    PyObject *got = NULL;
    if (ev) {
        got = PyObject_ASCII(ev);
        Py_DECREF(ev);
    } else {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        got = value ? PyObject_Str(value) : NULL;
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    const char *text = got ? PyUnicode_AsUTF8(got) : NULL;
    if ((ev != NULL) != valid || !text || strcmp(text, want.data) != 0)
        buf_printf(&report, "%s: decoding %s\n  got  %.300s\n  want %.300s", name,
                   ev ? "succeeded" : "failed", text ? text : "(no text)", want.data);
    Py_XDECREF(got);
    PyErr_Clear();
done:
    buf_free(&input);
    buf_free(&want);
    return report.data;
}

static void check_cases(const char *kind, int valid)
{
    const char *root = getenv("HOST_JSON_CASES") ? getenv("HOST_JSON_CASES") : JSON_CASES_DEFAULT;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.2000s/%s", root, kind);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s (run from the repository root, or set HOST_JSON_CASES)", dir);
    int cases = 0, failed = 0;
    buf_t reports = BUF_INIT;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cases++;
        char *report = check_case(dir, e->d_name, valid);
        if (report) {
            failed++;
            buf_printf(&reports, "\n%s", report);
            free(report);
        }
    }
    closedir(d);
    static char msg[8192];
    snprintf(msg, sizeof msg, "%d of %d %s cases differ from simplejson:%s", failed, cases, kind,
             reports.data ? reports.data : "");
    buf_free(&reports);
    ck_assert_msg(cases > 0, "no cases in %s", dir);
    ck_assert_msg(failed == 0, "%s", msg);
}

START_TEST(valid_cases_decode_as_simplejson)
{
    check_cases("valid", 1);
}
END_TEST

START_TEST(invalid_cases_fail_as_simplejson)
{
    check_cases("invalid", 0);
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

/* simplejson's scanner says "Expecting ',' delimiter or ']'" where stdlib json says
 * "Expecting ',' delimiter" (and "or '}'", "... double quotes or '}'"). */
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
    PyObject *ev = event_decode(body, strlen(body), 1);
    if (ev)
        Py_DECREF(ev);
    else
        PyErr_Clear();
}

START_TEST(no_reference_leaks)
{
    static const char *bodies[] = {
        "{\"a\": [1, 2.5, \"x\", null, true, 123456789012345678901234567890]}",
        "", "  x", "{\"a\": 1} x", "[1 2]", "\xff", "\xef\xbb\xbf{}", "{\"n\": NaN}",
        "[\"\\ud800\", \"\\x\"]", "[\"\\ud800\xc3\xa9\"]", "{\"a\": [\"\\u00e9\", {\"b\" 1}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        Py_ssize_t g = unit_py_growth(decode_once, (void *)bodies[i], 1000);
        ck_assert_msg(g < 100, "event_decode(\"%s\") keeps %zd blocks after 1000 calls",
                      bodies[i], g);
    }
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
    tcase_add_test(tc, nan_and_infinity_rejected);
    tcase_add_test(tc, first_error_reported);
    tcase_add_test(tc, lone_surrogates_kept);
    tcase_add_test(tc, deep_nesting_is_recursion_error);
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
    tcase_add_test(tc, valid_cases_decode_as_simplejson);
    tcase_add_test(tc, invalid_cases_fail_as_simplejson);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    int rc = unit_main(event_suite());
    unit_py_stop();
    return rc;
}
