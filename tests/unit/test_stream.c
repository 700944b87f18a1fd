/* stream: a streamed result through invoke_run and the sender's calls (stream_pull,
 * stream_trailers, stream_end): chunks handed on as the yielded objects' own buffers, the
 * HTTP prelude, empty chunks skipped, errors before and after the first byte, an exit
 * mid-stream, a sender that stops early (the generator is closed), and no reference kept. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "invoke.h"
#include "stream.h"
#include "unit.h"

static char *task_root;

static const char h_source[] =
    "import sys\n"                                                             /* 1 */
    "last = None\n"                                                            /* 2 */
    "closed = False\n"                                                         /* 3 */
    "def chunks(event, context):\n"                                            /* 4 */
    "    global last\n"                                                        /* 5 */
    "    last = b'ab' * 3\n"                                                   /* 6 */
    "    yield last\n"                                                         /* 7 */
    "    yield 'c\\u00e9'\n"                                                   /* 8 */
    "    yield b''\n"                                                          /* 9 */
    "    yield bytearray(b'xy')\n"                                             /* 10 */
    "def http(event, context):\n"                                              /* 11 */
    "    yield {'statusCode': 202, 'headers': {'a': 'b'}}\n"                   /* 12 */
    "    yield b'body'\n"                                                      /* 13 */
    "def late_error(event, context):\n"                                        /* 14 */
    "    yield b'x'\n"                                                         /* 15 */
    "    raise ValueError('late')\n"                                           /* 16 */
    "def early_error(event, context):\n"                                       /* 17 */
    "    yield b''\n"                                                          /* 18 */
    "    raise ValueError('early')\n"                                          /* 19 */
    "def exits(event, context):\n"                                             /* 20 */
    "    yield b'x'\n"                                                         /* 21 */
    "    raise SystemExit(4)\n"                                                /* 22 */
    "def endless(event, context):\n"                                           /* 23 */
    "    global closed\n"                                                      /* 24 */
    "    closed = False\n"                                                     /* 25 */
    "    try:\n"                                                               /* 26 */
    "        while True:\n"                                                    /* 27 */
    "            yield b'tick'\n"                                              /* 28 */
    "    finally:\n"                                                           /* 29 */
    "        closed = True\n"                                                  /* 30 */
    "def returns_gen(event, context):\n"                                       /* 31 */
    "    return (b'%d' % i for i in range(3))\n";                              /* 32 */

static invoker iv;
static invoke_result out;

static void fixture_setup(void)
{
    memset(&iv, 0, sizeof iv);
    memset(&out, 0, sizeof out);
}

static void fixture_teardown(void)
{
    invoke_result_clear(&out);
    invoker_clear(&iv);
}

static const invoke_request req = {
    .request_id = "rid-s", .function_arn = "", .content_type = "application/json",
    .body = "{}", .body_len = 2,
};

/* invoke_run, its logged errors (stdout) dropped. */
static void start(void)
{
    invoke_result_clear(&out);
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    invoke_run(&iv, &req, &out);
    free(unit_capture_end(&cap, NULL));
}

/* Every chunk the sender would get, concatenated with '|' between them; then stream_end. */
static char *drain(int *last_rc)
{
    static char joined[256];
    size_t n = 0;
    const char *p;
    size_t len;
    int rc;
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    while ((rc = stream_pull(out.stream, &p, &len)) > 0 && n + len + 1 < sizeof joined) {
        memcpy(joined + n, p, len);
        n += len;
        joined[n++] = '|';
    }
    joined[n] = '\0';
    free(unit_capture_end(&cap, NULL));
    *last_rc = rc;
    return joined;
}

START_TEST(chunks_pass_through)
{
    unit_use_handler(&iv, "h.chunks");
    start();
    ck_assert_int_eq(out.kind, INVOKE_STREAM);
    ck_assert_str_eq(out.content_type, STREAM_CONTENT_TYPE);
    const char *p;
    size_t len;
    ck_assert_int_eq(stream_pull(out.stream, &p, &len), 1);
    /* the yielded bytes object's own buffer, not a copy */
    PyObject *last = unit_py_eval("h.last");
    ck_assert_ptr_eq(p, PyBytes_AS_STRING(last));
    ck_assert_bytes_str(p, len, "ababab");
    Py_DECREF(last);
    int rc;
    ck_assert_str_eq(drain(&rc), "c\xc3\xa9|xy|");
    ck_assert_int_eq(rc, 0);
    const char *type, *body;
    ck_assert_int_eq(stream_trailers(out.stream, &type, &body), 0);
    stream_end(&out);
    ck_assert_int_eq(out.kind, INVOKE_STREAMED);
    ck_assert_ptr_null(out.stream);
}
END_TEST

START_TEST(returned_generator)
{
    unit_use_handler(&iv, "h.returns_gen");
    start();
    ck_assert_int_eq(out.kind, INVOKE_STREAM);
    int rc;
    ck_assert_str_eq(drain(&rc), "0|1|2|");
    stream_end(&out);
    ck_assert_int_eq(out.kind, INVOKE_STREAMED);
}
END_TEST

START_TEST(http_prelude)
{
    unit_use_handler(&iv, "h.http");
    start();
    ck_assert_int_eq(out.kind, INVOKE_STREAM);
    ck_assert_str_eq(out.content_type, STREAM_HTTP_CONTENT_TYPE);
    const char *p;
    size_t len;
    ck_assert_int_eq(stream_pull(out.stream, &p, &len), 1);
    static const char prelude[] = "{\"statusCode\": 202, \"headers\": {\"a\": \"b\"}}\0\0\0\0\0\0\0\0";
    ck_assert_bytes(p, len, prelude, sizeof prelude - 1);
    stream_end(&out);
    /* local mode: the prelude as text instead of its bytes */
    start();
    PyObject *text = stream_take_prelude_text(&out);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(PyUnicode_AsUTF8(text), "HTTP 202\na: b\n");
    Py_DECREF(text);
    int rc;
    ck_assert_str_eq(drain(&rc), "body|");
    stream_end(&out);
}
END_TEST

START_TEST(error_after_first_byte)
{
    unit_use_handler(&iv, "h.late_error");
    start();
    int rc;
    ck_assert_str_eq(drain(&rc), "x|");
    ck_assert_int_eq(rc, 0);
    const char *type, *body;
    ck_assert_int_eq(stream_trailers(out.stream, &type, &body), 1);
    ck_assert_str_eq(type, "ValueError");
    PyObject *base64 = unit_py_eval("__import__('base64')");
    PyObject *decoded = base64 ? PyObject_CallMethod(base64, "b64decode", "s", body) : NULL;
    Py_XDECREF(base64);
    ck_assert_ptr_nonnull(decoded);
    stream_end(&out);
    ck_assert_int_eq(out.kind, INVOKE_ERROR);
    ck_assert_int_eq(out.streamed, 1);
    ck_assert_bytes(out.data, out.len, PyBytes_AS_STRING(decoded),
                    (size_t)PyBytes_GET_SIZE(decoded));
    ck_assert_prefix(out.data, out.len, "{\"errorMessage\": \"late\", \"errorType\": \"ValueError\", "
                                        "\"requestId\": \"rid-s\", \"stackTrace\": [");
    Py_DECREF(decoded);
}
END_TEST

START_TEST(error_before_first_byte)
{
    unit_use_handler(&iv, "h.early_error");
    start();
    ck_assert_int_eq(out.kind, INVOKE_ERROR);
    ck_assert_int_eq(out.streamed, 0);
    ck_assert_ptr_null(out.stream);
    ck_assert_prefix(out.data, out.len, "{\"errorMessage\": \"early\", \"errorType\": \"ValueError\"");
}
END_TEST

START_TEST(exit_mid_stream)
{
    unit_use_handler(&iv, "h.exits");
    start();
    int rc;
    ck_assert_str_eq(drain(&rc), "x|");
    ck_assert_int_eq(rc, -1); /* the sender aborts its request */
    stream_end(&out);
    ck_assert_int_eq(out.kind, INVOKE_EXIT);
    ck_assert_int_eq(out.exit_code, 4);
}
END_TEST

START_TEST(sender_stops_early)
{
    unit_use_handler(&iv, "h.endless");
    start();
    const char *p;
    size_t len;
    ck_assert_int_eq(stream_pull(out.stream, &p, &len), 1);
    ck_assert_int_eq(stream_pull(out.stream, &p, &len), 1);
    ck_assert_py("not h.closed");
    stream_end(&out); /* the connection was lost, say */
    ck_assert_int_eq(out.kind, INVOKE_STREAMED);
    ck_assert_py("h.closed");
}
END_TEST

static void stream_once(void *unused)
{
    (void)unused;
    start();
    if (out.kind == INVOKE_STREAM) {
        int rc;
        drain(&rc);
        stream_end(&out);
    }
    invoke_result_clear(&out);
}

START_TEST(no_reference_leaks)
{
    static const char *const handlers[] = {"h.chunks", "h.http", "h.late_error",
                                           "h.early_error", "h.returns_gen"};
    for (size_t k = 0; k < sizeof handlers / sizeof *handlers; k++) {
        unit_use_handler(&iv, handlers[k]);
        Py_ssize_t growth = unit_py_growth(stream_once, NULL, 300);
        ck_assert_msg(growth < 100, "streaming %s keeps %zd blocks after 300 calls", handlers[k],
                      growth);
    }
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, chunks_pass_through);
    tcase_add_test(tc, returned_generator);
    tcase_add_test(tc, http_prelude);
    tcase_add_test(tc, error_after_first_byte);
    tcase_add_test(tc, error_before_first_byte);
    tcase_add_test(tc, exit_mid_stream);
    tcase_add_test(tc, sender_stops_early);
    tcase_add_test(tc, no_reference_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (!(task_root = unit_task_root("h.py", h_source, "import h\n")))
        return 2;
    int rc = unit_main(stream_suite());
    unit_py_stop();
    unit_task_root_free(task_root);
    return rc;
}
