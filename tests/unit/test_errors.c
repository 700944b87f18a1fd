/* errors: the Python half's handler_error(exc, rid) and fault_error(type, msg, rid), and
 * invoke_fault: the error body (spec §5.1: key order, bytes, stackTrace as
 * traceback.format_list renders it, runtime frames dropped), the X-Ray cause (§5.2) and
 * the logged copy (§8.4: text on stdout, JSON, telemetry frames). */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "invoke.h"
#include "unit.h"

static char *task_root;
static char app_path[PATH_MAX];
static char cwd[PATH_MAX];

/* Line numbers matter: the expected stack traces below name them. */
static const char app_source[] =
    "def handler():\n"                  /* 1 */
    "    raise ValueError(\"bad\")\n"   /* 2 */
    "\n"                                /* 3 */
    "def nested():\n"                   /* 4 */
    "    helper()\n"                    /* 5 */
    "\n"                                /* 6 */
    "def helper():\n"                   /* 7 */
    "    raise KeyError(\"missing\")\n" /* 8 */
    "\n"                                /* 9 */
    "def empty():\n"                    /* 10 */
    "    raise RuntimeError()\n"        /* 11 */
    "\n"                                /* 12 */
    "def non_ascii():\n"                /* 13 */
    "    raise ValueError(\"caf\\u00e9 \\u2603\")\n" /* 14 */
    "\n"                                /* 15 */
    "class MyErr(Exception):\n"         /* 16 */
    "    pass\n"                        /* 17 */
    "\n"                                /* 18 */
    "def custom():\n"                   /* 19 */
    "    raise MyErr(\"mine\")\n"       /* 20 */
    "\n"                                /* 21 */
    "def recurse(n=0):\n"               /* 22 */
    "    return recurse(n + 1)\n";      /* 23 */

/* Calls __main__.<callable_expr>(arg?) from C (so no caller frame of ours is in the
 * traceback) and returns the exception it raised, traceback attached. New reference. */
static PyObject *raised_by(const char *callable_expr, PyObject *arg)
{
    PyObject *fn = unit_py_eval(callable_expr);
    ck_assert_ptr_nonnull(fn);
    PyObject *r = arg ? PyObject_CallOneArg(fn, arg) : PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    ck_assert_msg(r == NULL, "%s did not raise", callable_expr);
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

typedef struct {
    char *log;        /* what went to stdout */
    size_t log_len;
    PyObject *body;   /* bytes */
    PyObject *cause;  /* bytes or None */
} error_doc;

static void doc_free(error_doc *d)
{
    free(d->log);
    Py_XDECREF(d->body);
    Py_XDECREF(d->cause);
    memset(d, 0, sizeof *d);
}

/* Unpacks a (body, cause) pair and keeps the captured log. Steals pair. */
static void unpack(error_doc *d, PyObject *pair, unit_capture *cap)
{
    d->log = unit_capture_end(cap, &d->log_len);
    if (!pair)
        PyErr_Print();
    ck_assert_ptr_nonnull(pair);
    ck_assert(PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2);
    d->body = PyTuple_GET_ITEM(pair, 0);
    d->cause = PyTuple_GET_ITEM(pair, 1);
    Py_INCREF(d->body);
    Py_INCREF(d->cause);
    Py_DECREF(pair);
    ck_assert(PyBytes_Check(d->body));
}

static void handler_error(error_doc *d, PyObject *exc, const char *rid)
{
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    PyObject *pair = pyrt_errors_call("handler_error", "(Os)", exc, rid);
    unpack(d, pair, &cap);
}

static void fault_error(error_doc *d, const char *type, const char *msg, const char *rid)
{
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    PyObject *pair = pyrt_errors_call("fault_error", "(sss)", type, msg, rid);
    unpack(d, pair, &cap);
}

static void assert_bytes_obj(PyObject *b, const char *want)
{
    ck_assert_msg(b && PyBytes_Check(b), "not bytes");
    ck_assert_bytes_str(PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), want);
}

START_TEST(handler_error_body_bytes)
{
    PyObject *exc = raised_by("app.handler", NULL);
    error_doc d;
    handler_error(&d, exc, "rid-1");
    Py_DECREF(exc);
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"errorMessage\": \"bad\", \"errorType\": \"ValueError\", \"requestId\": \"rid-1\", "
             "\"stackTrace\": [\"  File \\\"%s\\\", line 2, in handler\\n"
             "    raise ValueError(\\\"bad\\\")\\n\"]}",
             app_path);
    assert_bytes_obj(d.body, want);
    doc_free(&d);
}
END_TEST

START_TEST(handler_error_xray_cause)
{
    PyObject *exc = raised_by("app.handler", NULL);
    error_doc d;
    handler_error(&d, exc, "rid-1");
    Py_DECREF(exc);
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"working_directory\": \"%s\", \"exceptions\": [{\"message\": \"bad\", \"type\": "
             "\"ValueError\", \"stack\": [{\"label\": \"handler\", \"path\": \"%s\", \"line\": 2}]}], "
             "\"paths\": [\"%s\"]}",
             cwd, app_path, app_path);
    assert_bytes_obj(d.cause, want);
    doc_free(&d);
}
END_TEST

START_TEST(handler_error_logged_copy)
{
    PyObject *exc = raised_by("app.handler", NULL);
    error_doc d;
    handler_error(&d, exc, "rid-1");
    Py_DECREF(exc);
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "[ERROR] ValueError: bad\rTraceback (most recent call last):\r"
             "\xc2\xa0\xc2\xa0" "File \"%s\", line 2, in handler\r"
             "\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0" "raise ValueError(\"bad\")\n",
             app_path);
    ck_assert_bytes_str(d.log, d.log_len, want);
    doc_free(&d);
}
END_TEST

START_TEST(stack_trace_frames_in_order)
{
    PyObject *exc = raised_by("app.nested", NULL);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"errorMessage\": \"'missing'\", \"errorType\": \"KeyError\", \"requestId\": \"r\", "
             "\"stackTrace\": [\"  File \\\"%s\\\", line 5, in nested\\n    helper()\\n\", "
             "\"  File \\\"%s\\\", line 8, in helper\\n    raise KeyError(\\\"missing\\\")\\n\"]}",
             app_path, app_path);
    assert_bytes_obj(d.body, want);
    snprintf(want, sizeof want,
             "{\"working_directory\": \"%s\", \"exceptions\": [{\"message\": \"'missing'\", "
             "\"type\": \"KeyError\", \"stack\": [{\"label\": \"nested\", \"path\": \"%s\", "
             "\"line\": 5}, {\"label\": \"helper\", \"path\": \"%s\", \"line\": 8}]}], "
             "\"paths\": [\"%s\"]}",
             cwd, app_path, app_path, app_path);
    assert_bytes_obj(d.cause, want);
    doc_free(&d);
}
END_TEST

START_TEST(empty_message_and_bare_class_name)
{
    PyObject *exc = raised_by("app.empty", NULL);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    ck_assert_prefix(PyBytes_AS_STRING(d.body), (size_t)PyBytes_GET_SIZE(d.body),
                     "{\"errorMessage\": \"\", \"errorType\": \"RuntimeError\", \"requestId\": \"r\", ");
    ck_assert_prefix(d.log, d.log_len, "[ERROR] RuntimeError\rTraceback (most recent call last):\r");
    doc_free(&d);
    exc = raised_by("app.custom", NULL);
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    /* the bare class name, never module-qualified */
    ck_assert_prefix(PyBytes_AS_STRING(d.body), (size_t)PyBytes_GET_SIZE(d.body),
                     "{\"errorMessage\": \"mine\", \"errorType\": \"MyErr\", ");
    doc_free(&d);
}
END_TEST

START_TEST(non_ascii_message_raw_utf8)
{
    PyObject *exc = raised_by("app.non_ascii", NULL);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    static const char head[] = "{\"errorMessage\": \"caf\xc3\xa9 \xe2\x98\x83\", \"errorType\": ";
    ck_assert(PyBytes_GET_SIZE(d.body) > (Py_ssize_t)sizeof head);
    ck_assert_bytes(PyBytes_AS_STRING(d.body), sizeof head - 1, head, sizeof head - 1);
    static const char log_head[] = "[ERROR] ValueError: caf\xc3\xa9 \xe2\x98\x83\r";
    ck_assert_bytes(d.log, sizeof log_head - 1, log_head, sizeof log_head - 1);
    doc_free(&d);
}
END_TEST

START_TEST(runtime_frames_dropped)
{
    /* leading frames from a file named .../bootstrap.py are the runtime's own */
    PyObject *handler = unit_py_eval("app.handler");
    ck_assert_ptr_nonnull(handler);
    PyObject *exc = raised_by("rt_run", handler);
    Py_DECREF(handler);
    error_doc d;
    handler_error(&d, exc, "rid-1");
    Py_DECREF(exc);
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"errorMessage\": \"bad\", \"errorType\": \"ValueError\", \"requestId\": \"rid-1\", "
             "\"stackTrace\": [\"  File \\\"%s\\\", line 2, in handler\\n"
             "    raise ValueError(\\\"bad\\\")\\n\"]}",
             app_path);
    assert_bytes_obj(d.body, want);
    snprintf(want, sizeof want,
             "{\"working_directory\": \"%s\", \"exceptions\": [{\"message\": \"bad\", \"type\": "
             "\"ValueError\", \"stack\": [{\"label\": \"handler\", \"path\": \"%s\", \"line\": 2}]}], "
             "\"paths\": [\"%s\"]}",
             cwd, app_path, app_path);
    assert_bytes_obj(d.cause, want);
    doc_free(&d);
}
END_TEST

START_TEST(all_runtime_frames_kept)
{
    PyObject *exc = raised_by("rt_boom", NULL);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    assert_bytes_obj(d.body, "{\"errorMessage\": \"inside\", \"errorType\": \"ValueError\", "
                             "\"requestId\": \"r\", \"stackTrace\": [\"  File "
                             "\\\"/nonexistent/bootstrap.py\\\", line 2, in rt_boom\\n\"]}");
    doc_free(&d);
}
END_TEST

START_TEST(deep_stack_cause_stays_small)
{
    /* 3000 frames: the full cause would be ~110 KB */
    ck_assert_int_eq(unit_py_exec("saved_limit = sys.getrecursionlimit()\n"
                                  "sys.setrecursionlimit(3000)\n"),
                     0);
    PyObject *exc = raised_by("app.recurse", NULL);
    ck_assert_int_eq(unit_py_exec("sys.setrecursionlimit(saved_limit)"), 0);
    ck_assert(PyErr_GivenExceptionMatches(exc, PyExc_RecursionError));
    ck_assert_int_eq(unit_py_set("exc", exc), 0);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    ck_assert_int_eq(unit_py_set("body", d.body), 0);
    ck_assert_int_eq(unit_py_set("cause", d.cause), 0);
    doc_free(&d);
    /* traceback.format_list folds the repeats, as in the official runtime */
    ck_assert_py("len(json.loads(body)['stackTrace']) == 4");
    ck_assert_py("re.fullmatch(r'  \\[Previous line repeated \\d+ more times\\]\\n',"
                 " json.loads(body)['stackTrace'][3])");
    /* host keeps the cause under Lambda's 64 KiB (documented in bootstrap.py): the
     * innermost frames, cut from the outside */
    ck_assert_py("isinstance(cause, bytes) and len(cause) < 64 * 1024");
    ck_assert_py("0 < len(json.loads(cause)['exceptions'][0]['stack']) "
                 "< len(__import__('traceback').extract_tb(exc.__traceback__))");
    ck_assert_py("json.loads(cause)['exceptions'][0]['stack'][-1] == "
                 "{'label': 'recurse', 'path': app.__file__, 'line': 23}");
    ck_assert_py("json.loads(cause)['exceptions'][0]['type'] == 'RecursionError'");
    ck_assert_py("json.loads(cause)['paths'] == [app.__file__]");
    unit_py_exec("del exc");
}
END_TEST

START_TEST(fault_error_documents)
{
    error_doc d;
    fault_error(&d, "Runtime.MarshalError",
                "Unable to marshal response: Object of type set is not JSON serializable", "rid-7");
    assert_bytes_obj(d.body, "{\"errorMessage\": \"Unable to marshal response: Object of type set "
                             "is not JSON serializable\", \"errorType\": \"Runtime.MarshalError\", "
                             "\"requestId\": \"rid-7\", \"stackTrace\": []}");
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"working_directory\": \"%s\", \"exceptions\": [{\"message\": \"Unable to marshal "
             "response: Object of type set is not JSON serializable\", \"type\": "
             "\"LambdaValidationError\", \"stack\": []}], \"paths\": []}",
             cwd);
    assert_bytes_obj(d.cause, want);
    ck_assert_bytes_str(d.log, d.log_len,
                        "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type "
                        "set is not JSON serializable\rTraceback (most recent call last):\n");
    doc_free(&d);
}
END_TEST

START_TEST(handler_error_of_fault_is_fault)
{
    PyObject *exc = unit_py_eval("hb.FaultError('Runtime.LambdaContextUnmarshalError', "
                                 "'Unable to parse Client Context JSON: x')");
    ck_assert_ptr_nonnull(exc);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    assert_bytes_obj(d.body, "{\"errorMessage\": \"Unable to parse Client Context JSON: x\", "
                             "\"errorType\": \"Runtime.LambdaContextUnmarshalError\", "
                             "\"requestId\": \"r\", \"stackTrace\": []}");
    ck_assert_prefix(PyBytes_AS_STRING(d.cause), (size_t)PyBytes_GET_SIZE(d.cause),
                     "{\"working_directory\": ");
    ck_assert_ptr_nonnull(strstr(PyBytes_AS_STRING(d.cause),
                                 "\"type\": \"LambdaValidationError\", \"stack\": []}], \"paths\": []}"));
    doc_free(&d);
}
END_TEST

START_TEST(json_log_format)
{
    ck_assert_int_eq(unit_py_exec("hb._json_logs = True"), 0);
    error_doc d;
    fault_error(&d, "Runtime.UnmarshalError", "Unable to unmarshal input: x", "rid-j");
    ck_assert_int_eq(unit_py_exec("hb._json_logs = False"), 0);
    PyObject *log = PyUnicode_DecodeUTF8(d.log, (Py_ssize_t)d.log_len, "strict");
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(unit_py_set("log", log), 0);
    Py_DECREF(log);
    doc_free(&d);
    ck_assert_py("re.fullmatch(r'\\{\"timestamp\": \"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\", "
                 "\"log_level\": \"ERROR\", \"errorMessage\": \"Unable to unmarshal input: x\", "
                 "\"errorType\": \"Runtime.UnmarshalError\", \"requestId\": \"rid-j\", "
                 "\"stackTrace\": \\[\\]\\}\\n', log)");
}
END_TEST

START_TEST(telemetry_frame)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    char code[256];
    snprintf(code, sizeof code, "saved_sink = hb._sink\nhb._sink = hb.FramedTelemetryLogSink(%d)\n",
             fds[1]);
    ck_assert_int_eq(unit_py_exec(code), 0);
    PyObject *exc = raised_by("app.handler", NULL);
    error_doc d;
    handler_error(&d, exc, "r");
    Py_DECREF(exc);
    ck_assert_int_eq(unit_py_exec("hb._sink = saved_sink"), 0);
    close(fds[1]);
    char frame[8192];
    ssize_t n = read(fds[0], frame, sizeof frame);
    close(fds[0]);
    ck_assert_uint_eq(d.log_len, 0); /* nothing on stdout */
    doc_free(&d);
    char msg[8192];
    int mlen = snprintf(msg, sizeof msg,
                        "[ERROR] ValueError: bad\nTraceback (most recent call last):\n"
                        "\xc2\xa0\xc2\xa0" "File \"%s\", line 2, in handler\n"
                        "\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0" "raise ValueError(\"bad\")",
                        app_path);
    ck_assert_int_eq(n, 16 + mlen);
    ck_assert_mem_eq(frame, "\xa5\x5a\x00\x17", 4); /* ERROR, text */
    unsigned len = (unsigned)(unsigned char)frame[4] << 24 | (unsigned)(unsigned char)frame[5] << 16 |
                   (unsigned)(unsigned char)frame[6] << 8 | (unsigned)(unsigned char)frame[7];
    ck_assert_uint_eq(len, (unsigned)mlen);
    ck_assert_bytes(frame + 16, (size_t)(n - 16), msg, (size_t)mlen);
}
END_TEST

START_TEST(invoke_fault_result)
{
    invoke_result out;
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    invoke_fault("Runtime.UnmarshalError",
                 "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)", "rid-9",
                 &out);
    size_t log_len;
    char *log = unit_capture_end(&cap, &log_len);
    ck_assert_int_eq(out.kind, INVOKE_ERROR);
    ck_assert_bytes_str(out.data, out.len,
                        "{\"errorMessage\": \"Unable to unmarshal input: Expecting value: line 1 "
                        "column 1 (char 0)\", \"errorType\": \"Runtime.UnmarshalError\", "
                        "\"requestId\": \"rid-9\", \"stackTrace\": []}");
    char want[5 * PATH_MAX];
    snprintf(want, sizeof want,
             "{\"working_directory\": \"%s\", \"exceptions\": [{\"message\": \"Unable to unmarshal "
             "input: Expecting value: line 1 column 1 (char 0)\", \"type\": "
             "\"LambdaValidationError\", \"stack\": []}], \"paths\": []}",
             cwd);
    ck_assert_ptr_nonnull(out.xray_cause);
    ck_assert_bytes_str(out.xray_cause, strlen(out.xray_cause), want);
    ck_assert_bytes_str(log, log_len,
                        "[ERROR] Runtime.UnmarshalError: Unable to unmarshal input: Expecting value: "
                        "line 1 column 1 (char 0)\rTraceback (most recent call last):\n");
    free(log);
    invoke_result_clear(&out);
    ck_assert_ptr_null(out.keep_data);
    ck_assert_ptr_null(out.xray_cause);
}
END_TEST

static void errors_once(void *exc)
{
    PyObject *a = pyrt_errors_call("handler_error", "(Os)", (PyObject *)exc, "rid");
    PyObject *b = pyrt_errors_call("fault_error", "(sss)", "T", "m", "rid");
    if (!a || !b)
        PyErr_Clear();
    Py_XDECREF(a);
    Py_XDECREF(b);
}

START_TEST(no_reference_leaks)
{
    PyObject *exc = raised_by("app.nested", NULL);
    unit_capture cap;
    unit_capture_begin(&cap, 1); /* the logged copies */
    Py_ssize_t growth = unit_py_growth(errors_once, exc, 300);
    free(unit_capture_end(&cap, NULL));
    Py_DECREF(exc);
    ck_assert_msg(growth < 100, "handler_error/fault_error keep %zd blocks after 300 calls", growth);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handler_error_body_bytes);
    tcase_add_test(tc, handler_error_xray_cause);
    tcase_add_test(tc, handler_error_logged_copy);
    tcase_add_test(tc, stack_trace_frames_in_order);
    tcase_add_test(tc, empty_message_and_bare_class_name);
    tcase_add_test(tc, non_ascii_message_raw_utf8);
    tcase_add_test(tc, runtime_frames_dropped);
    tcase_add_test(tc, all_runtime_frames_kept);
    tcase_add_test(tc, deep_stack_cause_stays_small);
    tcase_add_test(tc, fault_error_documents);
    tcase_add_test(tc, handler_error_of_fault_is_fault);
    tcase_add_test(tc, json_log_format);
    tcase_add_test(tc, telemetry_frame);
    tcase_add_test(tc, invoke_fault_result);
    tcase_add_test(tc, no_reference_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (!getcwd(cwd, sizeof cwd))
        return 2;
    if (!(task_root = unit_task_root("app.py", app_source,
                                     "import json, re, sys\n"
                                     "import app\n"
                                     "hb = sys.modules['hostrt_bootstrap']\n"
                                     "ns = {}\n"
                                     "exec(compile('def rt_run(f):\\n    return f()\\n',"
                                     " '/var/runtime/bootstrap.py', 'exec'), ns)\n"
                                     "exec(compile('def rt_boom():\\n    raise ValueError(\"inside\")\\n',"
                                     " '/nonexistent/bootstrap.py', 'exec'), ns)\n"
                                     "rt_run, rt_boom = ns['rt_run'], ns['rt_boom']\n")))
        return 2;
    snprintf(app_path, sizeof app_path, "%s/app.py", task_root);
    int rc = unit_main(errors_suite());
    unit_py_stop();
    unit_task_root_free(task_root);
    return rc;
}
