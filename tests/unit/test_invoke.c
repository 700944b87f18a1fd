/* invoke: one invocation end to end in-process (invoke_run): context, event decoding,
 * the handler call, and what gets posted: the marshalled result, raw bytes, the runtime
 * faults (§3.5, §4, §5), the handler's error, or an exit (SystemExit/KeyboardInterrupt). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invoke.h"
#include "unit.h"

static char *task_root;
static char h_path[PATH_MAX];

static const char h_source[] =
    "import os, sys\n"                                                         /* 1 */
    "def echo(event, context):\n"                                              /* 2 */
    "    return event\n"                                                       /* 3 */
    "def event_type(event, context):\n"                                        /* 4 */
    "    return type(event).__name__\n"                                        /* 5 */
    "def raw(event, context):\n"                                               /* 6 */
    "    return b'\\x00raw\\xff'\n"                                            /* 7 */
    "def text(event, context):\n"                                              /* 8 */
    "    return 'hello'\n"                                                     /* 9 */
    "def none_result(event, context):\n"                                       /* 10 */
    "    return None\n"                                                        /* 11 */
    "def set_result(event, context):\n"                                        /* 12 */
    "    return {'ok': {1, 2}}\n"                                              /* 13 */
    "def deep_result(event, context):\n"                                       /* 14 */
    "    x = []\n"                                                             /* 15 */
    "    for _ in range(100000):\n"                                            /* 16 */
    "        x = [x]\n"                                                        /* 17 */
    "    return x\n"                                                           /* 18 */
    "def fails(event, context):\n"                                             /* 19 */
    "    raise ValueError('bad')\n"                                            /* 20 */
    "def exits3(event, context):\n"                                            /* 21 */
    "    raise SystemExit(3)\n"                                                /* 22 */
    "def exits_none(event, context):\n"                                        /* 23 */
    "    sys.exit()\n"                                                         /* 24 */
    "def exits_text(event, context):\n"                                        /* 25 */
    "    sys.exit('bye')\n"                                                    /* 26 */
    "def interrupted(event, context):\n"                                       /* 27 */
    "    raise KeyboardInterrupt()\n"                                          /* 28 */
    "def timed_out(event, context):\n"                                         /* 29 */
    "    raise sys.modules['hostrt_bootstrap'].TimeoutInterrupt()\n"           /* 30 */
    "not_callable = 5\n"                                                       /* 31 */
    "def ctx_info(event, context):\n"                                          /* 32 */
    "    return {'rid': context.aws_request_id,\n"                             /* 33 */
    "            'arn': context.invoked_function_arn,\n"                       /* 34 */
    "            'tenant': context.tenant_id,\n"                               /* 35 */
    "            'trace': os.environ.get('_X_AMZN_TRACE_ID'),\n"               /* 36 */
    "            'deadline': context._epoch_deadline_time_in_ms,\n"            /* 37 */
    "            'remaining': type(context.get_remaining_time_in_millis()).__name__,\n"
    "            'cc': context.client_context and context.client_context.custom,\n"
    "            'cid': context.identity.cognito_identity_id,\n"
    "            'type': type(context).__name__,\n"
    "            'fn': context.function_name}\n";

static invoker iv;
static invoke_result out;
static char *log_out;
static size_t log_len;

static void fixture_setup(void)
{
    memset(&iv, 0, sizeof iv);
    memset(&out, 0, sizeof out);
    log_out = NULL;
}

static void fixture_teardown(void)
{
    invoke_result_clear(&out);
    invoker_clear(&iv);
    free(log_out);
    log_out = NULL;
}

static invoke_request request(const char *rid, const char *content_type, const char *body)
{
    invoke_request r = {
        .request_id = rid, .deadline_ms = 0, .function_arn = "", .content_type = content_type,
        .body = body, .body_len = strlen(body),
    };
    return r;
}

/* invoke_run with stdout (the logged copy of an error) captured into log_out. */
static void run(const invoke_request *req)
{
    invoke_result_clear(&out);
    free(log_out);
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    invoke_run(&iv, req, &out);
    log_out = unit_capture_end(&cap, &log_len);
}

static void assert_response(const char *content_type, const char *data, size_t len)
{
    ck_assert_msg(out.kind == INVOKE_RESPONSE, "kind %d, want a response; data: %.*s", out.kind,
                  (int)out.len, out.data ? out.data : "");
    ck_assert_str_eq(out.content_type, content_type);
    ck_assert_bytes(out.data, out.len, data, len);
}

#define RESPONSE_JSON(lit) assert_response("application/json", (lit), sizeof(lit) - 1)

static void assert_error_body(const char *want)
{
    ck_assert_msg(out.kind == INVOKE_ERROR, "kind %d, want an error", out.kind);
    ck_assert_bytes_str(out.data, out.len, want);
}

START_TEST(json_event_json_result)
{
    unit_use_handler(&iv, "h.echo");
    invoke_request req = request("r1", "application/json", "{\"a\": [1, 2.5, null], \"b\": \"\\u00e9\"}");
    run(&req);
    RESPONSE_JSON("{\"a\": [1, 2.5, null], \"b\": \"\xc3\xa9\"}");
    /* again: the payload buffer is reused */
    req = request("r2", "application/json", "[true]");
    run(&req);
    RESPONSE_JSON("[true]");
}
END_TEST

START_TEST(other_content_types_give_bytes)
{
    unit_use_handler(&iv, "h.event_type");
    invoke_request req = request("r", "application/json; charset=utf-8", "{}");
    run(&req);
    RESPONSE_JSON("\"bytes\"");
    req = request("r", NULL, "{}");
    run(&req);
    RESPONSE_JSON("\"bytes\"");
    req = request("r", "application/json", "{}");
    run(&req);
    RESPONSE_JSON("\"dict\"");
    /* a raw event handed back is posted raw */
    unit_use_handler(&iv, "h.echo");
    req = request("r", "text/plain", "plain text");
    run(&req);
    assert_response("application/unknown", "plain text", 10);
}
END_TEST

START_TEST(bytes_result_posted_raw)
{
    unit_use_handler(&iv, "h.raw");
    invoke_request req = request("r", "application/json", "{}");
    run(&req);
    assert_response("application/unknown", "\0raw\xff", 5);
}
END_TEST

START_TEST(str_and_none_results)
{
    unit_use_handler(&iv, "h.text");
    invoke_request req = request("r", "application/json", "{}");
    run(&req);
    RESPONSE_JSON("\"hello\"");
    unit_use_handler(&iv, "h.none_result");
    run(&req);
    RESPONSE_JSON("null");
}
END_TEST

START_TEST(marshal_error)
{
    unit_use_handler(&iv, "h.set_result");
    invoke_request req = request("rid-m", "application/json", "{}");
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to marshal response: Object of type set is not "
                      "JSON serializable\", \"errorType\": \"Runtime.MarshalError\", \"requestId\": "
                      "\"rid-m\", \"stackTrace\": []}");
    ck_assert_ptr_nonnull(out.xray_cause);
    ck_assert_ptr_nonnull(strstr(out.xray_cause, "\"type\": \"LambdaValidationError\""));
    ck_assert_bytes_str(log_out, log_len,
                        "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type "
                        "set is not JSON serializable\rTraceback (most recent call last):\n");
}
END_TEST

START_TEST(marshal_recursion_error)
{
    unit_use_handler(&iv, "h.deep_result");
    invoke_request req = request("r", "application/json", "{}");
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to marshal response: maximum recursion depth "
                      "exceeded while encoding a JSON object\", \"errorType\": "
                      "\"Runtime.MarshalError\", \"requestId\": \"r\", \"stackTrace\": []}");
}
END_TEST

START_TEST(unmarshal_error)
{
    unit_use_handler(&iv, "h.echo");
    invoke_request req = request("rid-u", "application/json", "");
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to unmarshal input: Expecting value: line 1 "
                      "column 1 (char 0)\", \"errorType\": \"Runtime.UnmarshalError\", "
                      "\"requestId\": \"rid-u\", \"stackTrace\": []}");
    req = request("rid-u", "application/json", "\xff");
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to unmarshal input: 'utf-8' codec can't decode "
                      "byte 0xff in position 0: invalid start byte\", \"errorType\": "
                      "\"Runtime.UnmarshalError\", \"requestId\": \"rid-u\", \"stackTrace\": []}");
}
END_TEST

/* Regression: CPython's _json scanner (host's fallback decoder until issue 8) raised its
 * syntax errors through json.decoder.JSONDecodeError, which it looks up in sys.modules
 * without importing it. In a process where nothing imported json, every such error became
 * "SystemError: <_json.Scanner object at 0x...> returned NULL without setting an
 * exception". host/jsonparse.c words its errors itself and needs no json module. */
START_TEST(unmarshal_error_without_json_imported)
{
    ck_assert_int_eq(unit_py_exec("for m in [m for m in sys.modules if m == 'json' or m.startswith('json.')]:\n"
                                  "    del sys.modules[m]\n"),
                     0);
    unit_use_handler(&iv, "h.echo");
    invoke_request req = request("r", "application/json", "{\"a\": [1 2]}");
    run(&req);
    ck_assert_int_eq(out.kind, INVOKE_ERROR);
    static const char head[] = "{\"errorMessage\": \"Unable to unmarshal input: Expecting ',' delimiter";
    ck_assert_msg(out.len > sizeof head && memcmp(out.data, head, sizeof head - 1) == 0,
                  "error body: %.*s", (int)out.len, out.data);
}
END_TEST

START_TEST(context_unmarshal_error)
{
    unit_use_handler(&iv, "h.echo");
    invoke_request req = request("rid-c", "application/json", "{}");
    req.client_context = "x";
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to parse Client Context JSON: Expecting value: "
                      "line 1 column 1 (char 0)\", \"errorType\": "
                      "\"Runtime.LambdaContextUnmarshalError\", \"requestId\": \"rid-c\", "
                      "\"stackTrace\": []}");
    req.client_context = NULL;
    req.cognito_identity = "{";
    run(&req);
    assert_error_body("{\"errorMessage\": \"Unable to parse Cognito Identity JSON: Expecting "
                      "property name enclosed in double quotes: line 1 column 2 (char 1)\", "
                      "\"errorType\": \"Runtime.LambdaContextUnmarshalError\", \"requestId\": "
                      "\"rid-c\", \"stackTrace\": []}");
}
END_TEST

START_TEST(handler_exception)
{
    unit_use_handler(&iv, "h.fails");
    invoke_request req = request("rid-f", "application/json", "{}");
    run(&req);
    char want[8192];
    snprintf(want, sizeof want,
             "{\"errorMessage\": \"bad\", \"errorType\": \"ValueError\", \"requestId\": \"rid-f\", "
             "\"stackTrace\": [\"  File \\\"%s\\\", line 20, in fails\\n"
             "    raise ValueError('bad')\\n\"]}",
             h_path);
    assert_error_body(want);
    ck_assert_ptr_nonnull(out.xray_cause);
    ck_assert_ptr_nonnull(strstr(out.xray_cause, "{\"label\": \"fails\", \"path\": \""));
    ck_assert_prefix(log_out, log_len, "[ERROR] ValueError: bad\rTraceback (most recent call last):\r");
}
END_TEST

START_TEST(handler_not_callable)
{
    unit_use_handler(&iv, "h.not_callable");
    invoke_request req = request("r", "application/json", "{}");
    run(&req);
    assert_error_body("{\"errorMessage\": \"'int' object is not callable\", \"errorType\": "
                      "\"TypeError\", \"requestId\": \"r\", \"stackTrace\": []}");
}
END_TEST

START_TEST(exits)
{
    invoke_request req = request("r", "application/json", "{}");
    unit_use_handler(&iv, "h.exits3");
    run(&req);
    ck_assert_int_eq(out.kind, INVOKE_EXIT);
    ck_assert_int_eq(out.exit_code, 3);
    unit_use_handler(&iv, "h.exits_none");
    run(&req);
    ck_assert_int_eq(out.kind, INVOKE_EXIT);
    ck_assert_int_eq(out.exit_code, 0);
    unit_use_handler(&iv, "h.interrupted");
    unit_capture tb;
    unit_capture_begin(&tb, 2);
    run(&req);
    size_t tb_len;
    char *tb_text = unit_capture_end(&tb, &tb_len);
    ck_assert_int_eq(out.kind, INVOKE_INTERRUPT);
    ck_assert_int_eq(out.exit_code, 130);
    /* Python prints the traceback of a KeyboardInterrupt on its way out */
    ck_assert_msg(strstr(tb_text, "Traceback (most recent call last):") &&
                  strstr(tb_text, "KeyboardInterrupt"), "stderr: %s", tb_text);
    free(tb_text);
    unit_use_handler(&iv, "h.exits_text");
    unit_capture cap;
    unit_capture_begin(&cap, 2);
    run(&req);
    size_t n;
    char *err = unit_capture_end(&cap, &n);
    ck_assert_int_eq(out.kind, INVOKE_EXIT);
    ck_assert_int_eq(out.exit_code, 1);
    int said_bye = unit_bytes_equal(err, n, "bye\n", 4);
    free(err);
    ck_assert_msg(said_bye, "stderr: %s", unit_last_diff);
    /* nothing logged for an exit */
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

START_TEST(timeout_interrupt)
{
    unit_use_handler(&iv, "h.timed_out");
    invoke_request req = request("r", "application/json", "{}");
    run(&req);
    ck_assert_int_eq(out.kind, INVOKE_TIMEOUT);
}
END_TEST

/* The context without client context / identity and with them (parsed by the Python
 * half) must look the same to the handler; the log stamps follow the invocation. */
START_TEST(context_both_paths)
{
    ck_assert_int_eq(unit_py_exec("os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'fn-x'"), 0);
    unit_use_handler(&iv, "h.ctx_info");
    long long deadline = (long long)time(NULL) * 1000 + 60000;
    invoke_request req = request("rid-fast", "application/json", "{}");
    req.deadline_ms = deadline;
    req.function_arn = "arn:aws:lambda:us-east-1:1:function:fn-x";
    req.trace_id = "Root=1-fast";
    req.tenant_id = "tenant-1";
    run(&req);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"rid\": \"rid-fast\", \"arn\": \"arn:aws:lambda:us-east-1:1:function:fn-x\", "
             "\"tenant\": \"tenant-1\", \"trace\": \"Root=1-fast\", \"deadline\": %lld, "
             "\"remaining\": \"int\", \"cc\": null, \"cid\": null, \"type\": \"LambdaContext\", "
             "\"fn\": \"fn-x\"}",
             deadline);
    assert_response("application/json", want, strlen(want));
    ck_assert_py("_host.request_id() == 'rid-fast' and _host.tenant_id() == 'tenant-1'");
    ck_assert_str_eq(getenv("_X_AMZN_TRACE_ID"), "Root=1-fast");

    req.request_id = "rid-slow";
    req.trace_id = "Root=1-slow";
    req.client_context = "{\"custom\": {\"k\": 1}}";
    req.cognito_identity = "{\"cognitoIdentityId\": \"cid\"}";
    run(&req);
    snprintf(want, sizeof want,
             "{\"rid\": \"rid-slow\", \"arn\": \"arn:aws:lambda:us-east-1:1:function:fn-x\", "
             "\"tenant\": \"tenant-1\", \"trace\": \"Root=1-slow\", \"deadline\": %lld, "
             "\"remaining\": \"int\", \"cc\": {\"k\": 1}, \"cid\": \"cid\", \"type\": "
             "\"LambdaContext\", \"fn\": \"fn-x\"}",
             deadline);
    assert_response("application/json", want, strlen(want));
    ck_assert_py("_host.request_id() == 'rid-slow'");

    /* no trace header: the variable goes, on both paths */
    req.trace_id = NULL;
    req.tenant_id = NULL;
    run(&req);
    ck_assert_py("'_X_AMZN_TRACE_ID' not in os.environ and _host.tenant_id() is None");
    ck_assert_ptr_null(getenv("_X_AMZN_TRACE_ID"));
    req.trace_id = "Root=again";
    run(&req);
    req.client_context = req.cognito_identity = NULL;
    req.trace_id = NULL;
    run(&req);
    ck_assert_py("'_X_AMZN_TRACE_ID' not in os.environ");
    ck_assert_ptr_null(getenv("_X_AMZN_TRACE_ID"));
    ck_assert_int_eq(unit_py_exec("del os.environ['AWS_LAMBDA_FUNCTION_NAME']"), 0);
}
END_TEST

static void invoke_once(void *req)
{
    invoke_result_clear(&out);
    invoke_run(&iv, req, &out);
    invoke_result_clear(&out);
}

START_TEST(no_reference_leaks)
{
    static const char *const handlers[] = {"h.echo", "h.ctx_info", "h.fails", "h.set_result",
                                           "h.raw"};
    Py_ssize_t growth[5][2];
    for (size_t k = 0; k < 5; k++) {
        unit_use_handler(&iv, handlers[k]);
        invoke_request req = request("rid", "application/json", "{\"a\": [1, 2, {\"b\": null}]}");
        req.trace_id = "Root=1";
        req.tenant_id = "t";
        if (k == 1)
            req.client_context = "{\"custom\": {}}";
        unit_capture cap;
        unit_capture_begin(&cap, 1); /* the logged copies of errors */
        growth[k][0] = unit_py_growth(invoke_once, &req, 300);
        req.body = "{"; /* a malformed event */
        req.body_len = 1;
        growth[k][1] = unit_py_growth(invoke_once, &req, 300);
        free(unit_capture_end(&cap, NULL));
    }
    unit_py_exec("os.environ.pop('_X_AMZN_TRACE_ID', None)");
    for (size_t k = 0; k < 5; k++)
        ck_assert_msg(growth[k][0] < 100 && growth[k][1] < 100,
                      "invoke_run(%s) keeps %zd / %zd blocks after 300 calls (good / bad event)",
                      handlers[k], growth[k][0], growth[k][1]);
}
END_TEST

static Suite *invoke_suite(void)
{
    Suite *s = suite_create("invoke");
    TCase *tc = tcase_create("invoke_run");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, json_event_json_result);
    tcase_add_test(tc, other_content_types_give_bytes);
    tcase_add_test(tc, bytes_result_posted_raw);
    tcase_add_test(tc, str_and_none_results);
    tcase_add_test(tc, marshal_error);
    tcase_add_test(tc, marshal_recursion_error);
    tcase_add_test(tc, unmarshal_error);
    tcase_add_test(tc, unmarshal_error_without_json_imported);
    tcase_add_test(tc, context_unmarshal_error);
    tcase_add_test(tc, handler_exception);
    tcase_add_test(tc, handler_not_callable);
    tcase_add_test(tc, exits);
    tcase_add_test(tc, timeout_interrupt);
    tcase_add_test(tc, context_both_paths);
    tcase_add_test(tc, no_reference_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (!(task_root = unit_task_root("h.py", h_source, "import os, sys\n"
                                                       "import h\n"
                                                       "import _host\n")))
        return 2;
    snprintf(h_path, sizeof h_path, "%s/h.py", task_root);
    int rc = unit_main(invoke_suite());
    unit_py_stop();
    unit_task_root_free(task_root);
    return rc;
}
