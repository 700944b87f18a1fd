/* context: the LambdaContext that invoke_begin(...) builds (spec §7),
 * the _X_AMZN_TRACE_ID side effect (§3.3) and the header-JSON faults (§3.5). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invoke.h"
#include "unit.h"

static const char *const lambda_env[] = {
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "_X_AMZN_TRACE_ID",
};

/* Each test starts from an environment without the variables the context reads. */
static void clean_env(void)
{
    char code[256];
    for (size_t i = 0; i < sizeof lambda_env / sizeof *lambda_env; i++) {
        snprintf(code, sizeof code, "import os; os.environ.pop('%s', None)", lambda_env[i]);
        ck_assert_int_eq(unit_py_exec(code), 0);
    }
}

/* invoke_begin for a request with these headers (NULL: absent). New reference. */
static PyObject *begin(const char *rid, long long deadline, const char *arn, const char *trace,
                       const char *cc, const char *cog, const char *tenant)
{
    invoker iv;
    ck_assert_int_eq(invoker_init(&iv, &unit_rt, Py_None), 0);
    invoke_request req = {.request_id = rid, .deadline_ms = deadline, .function_arn = arn,
                          .trace_id = trace, .client_context = cc, .cognito_identity = cog,
                          .tenant_id = tenant};
    PyObject *ctx = invoke_begin(&iv, &req);
    invoker_clear(&iv);
    return ctx;
}

/* invoke_begin(...) -> __main__.ctx; NULL arguments are None. */
static void start(const char *rid, long long deadline, const char *arn, const char *trace,
                  const char *cc, const char *cog, const char *tenant)
{
    PyObject *ctx = begin(rid, deadline, arn, trace, cc, cog, tenant);
    char *err = ctx ? NULL : unit_py_take_error();
    static char msg[512];
    snprintf(msg, sizeof msg, "%s", err ? err : "");
    free(err);
    ck_assert_msg(ctx != NULL, "invoke_begin failed: %s", msg);
    int rc = unit_py_set("ctx", ctx);
    Py_DECREF(ctx);
    ck_assert_int_eq(rc, 0);
}

/* invoke_begin(...) must raise; the exception becomes __main__.exc. */
static void start_fails(const char *cc, const char *cog)
{
    PyObject *ctx = begin("rid", 0LL, "", NULL, cc, cog, NULL);
    Py_XDECREF(ctx);
    ck_assert_msg(ctx == NULL, "invoke_begin accepted client context %s / cognito %s",
                  cc ? cc : "-", cog ? cog : "-");
    PyObject *value = pyrt_take_exception();
    ck_assert_ptr_nonnull(value);
    ck_assert_int_eq(unit_py_set("exc", value), 0);
    Py_XDECREF(value);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(attributes_from_env_and_headers)
{
    clean_env();
    ck_assert_int_eq(unit_py_exec("import os\n"
                                  "os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'myfn'\n"
                                  "os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] = '128'\n"
                                  "os.environ['AWS_LAMBDA_FUNCTION_VERSION'] = '$LATEST'\n"
                                  "os.environ['AWS_LAMBDA_LOG_GROUP_NAME'] = '/aws/lambda/myfn'\n"
                                  "os.environ['AWS_LAMBDA_LOG_STREAM_NAME'] = '2026/01/01/[$LATEST]ab'\n"),
                     0);
    start("req-1", 1234567890123LL, "arn:aws:lambda:us-east-1:1:function:myfn", NULL, NULL, NULL,
          "tenant-A");
    ck_assert_py("type(ctx).__name__ == 'LambdaContext'");
    ck_assert_py("ctx.aws_request_id == 'req-1' and type(ctx.aws_request_id) is str");
    ck_assert_py("ctx.function_name == 'myfn'");
    ck_assert_py("ctx.memory_limit_in_mb == '128' and type(ctx.memory_limit_in_mb) is str");
    ck_assert_py("ctx.function_version == '$LATEST'");
    ck_assert_py("ctx.log_group_name == '/aws/lambda/myfn'");
    ck_assert_py("ctx.log_stream_name == '2026/01/01/[$LATEST]ab'");
    ck_assert_py("ctx.invoked_function_arn == 'arn:aws:lambda:us-east-1:1:function:myfn'");
    ck_assert_py("ctx.tenant_id == 'tenant-A'");
    ck_assert_py("ctx.client_context is None");
    ck_assert_py("ctx._epoch_deadline_time_in_ms == 1234567890123");
    ck_assert_py("type(ctx._epoch_deadline_time_in_ms) is int");
    clean_env();
}
END_TEST

START_TEST(absent_env_and_headers_give_none)
{
    clean_env();
    start("req-2", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.log_group_name is None and ctx.log_stream_name is None");
    ck_assert_py("ctx.function_name is None and ctx.memory_limit_in_mb is None");
    ck_assert_py("ctx.function_version is None");
    ck_assert_py("ctx.invoked_function_arn == ''");
    ck_assert_py("ctx.tenant_id is None and ctx.client_context is None");
}
END_TEST

START_TEST(env_read_again_for_every_invoke)
{
    clean_env();
    ck_assert_int_eq(unit_py_exec("import os; os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] = '128'"), 0);
    start("a", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.memory_limit_in_mb == '128'");
    ck_assert_int_eq(unit_py_exec("os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] = '2048'"), 0);
    start("b", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.memory_limit_in_mb == '2048'");
    ck_assert_int_eq(unit_py_exec("del os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']"), 0);
    start("c", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.memory_limit_in_mb is None");
    ck_assert_int_eq(unit_py_exec("os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'caf\\u00e9'"), 0);
    start("d", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.function_name == 'caf\\u00e9'");
    clean_env();
}
END_TEST

START_TEST(identity_is_always_an_object)
{
    start("r", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("type(ctx.identity).__name__ == 'CognitoIdentity'");
    ck_assert_py("ctx.identity.cognito_identity_id is None");
    ck_assert_py("ctx.identity.cognito_identity_pool_id is None");
    start("r", 0, "", NULL, NULL, "{\"cognitoIdentityId\": \"cid\", \"cognitoIdentityPoolId\": "
                                  "\"pid\", \"other\": 1}", NULL);
    ck_assert_py("type(ctx.identity).__name__ == 'CognitoIdentity'");
    ck_assert_py("ctx.identity.cognito_identity_id == 'cid'");
    ck_assert_py("ctx.identity.cognito_identity_pool_id == 'pid'");
    ck_assert_py("not hasattr(ctx.identity, 'other')");
    start("r", 0, "", NULL, NULL, "{}", NULL);
    ck_assert_py("ctx.identity.cognito_identity_id is None");
    ck_assert_int_eq(unit_py_exec("try:\n"
                                  "    ctx.identity.extra = 1\n"
                                  "    slot_error = None\n"
                                  "except AttributeError as e:\n"
                                  "    slot_error = e\n"),
                     0);
    ck_assert_py("slot_error is not None");
}
END_TEST

START_TEST(client_context_slots)
{
    start("r", 0, "", NULL,
          "{\"custom\": {\"a\": 1}, \"env\": {\"e\": 2}, \"client\": {\"installation_id\": \"i\", "
          "\"app_title\": \"T\", \"app_version_name\": \"n\", \"app_version_code\": \"c\", "
          "\"app_package_name\": \"p\", \"appTitle\": \"camel\", \"unknown\": 3}, \"extra\": 4}",
          NULL, NULL);
    ck_assert_py("type(ctx.client_context).__name__ == 'ClientContext'");
    ck_assert_py("ctx.client_context.custom == {'a': 1} and type(ctx.client_context.custom) is dict");
    ck_assert_py("ctx.client_context.env == {'e': 2} and type(ctx.client_context.env) is dict");
    ck_assert_py("type(ctx.client_context.client).__name__ == 'Client'");
    ck_assert_py("(ctx.client_context.client.installation_id, ctx.client_context.client.app_title,"
                 " ctx.client_context.client.app_version_name,"
                 " ctx.client_context.client.app_version_code,"
                 " ctx.client_context.client.app_package_name) == ('i', 'T', 'n', 'c', 'p')");
    ck_assert_py("not hasattr(ctx.client_context, 'extra')");
    ck_assert_py("not hasattr(ctx.client_context.client, 'unknown')");
    ck_assert_py("not hasattr(ctx.client_context.client, 'appTitle')");
    ck_assert_int_eq(unit_py_exec("try:\n"
                                  "    ctx.client_context.client.unknown = 1\n"
                                  "    slot_error = None\n"
                                  "except AttributeError as e:\n"
                                  "    slot_error = e\n"),
                     0);
    ck_assert_py("slot_error is not None");
}
END_TEST

START_TEST(client_context_missing_keys)
{
    start("r", 0, "", NULL, "{}", NULL, NULL);
    ck_assert_py("type(ctx.client_context).__name__ == 'ClientContext'");
    ck_assert_py("ctx.client_context.custom is None and ctx.client_context.env is None");
    ck_assert_py("ctx.client_context.client is None");
    start("r", 0, "", NULL, "{\"client\": {}}", NULL, NULL);
    ck_assert_py("ctx.client_context.client.app_title is None");
    /* an empty header is an absent one */
    start("r", 0, "", NULL, "", "", NULL);
    ck_assert_py("ctx.client_context is None and ctx.identity.cognito_identity_id is None");
}
END_TEST

START_TEST(invalid_client_context_json)
{
    start_fails("{bad", NULL);
    ck_assert_py("type(exc).__name__ == 'FaultError'");
    ck_assert_py("exc.error_type == 'Runtime.LambdaContextUnmarshalError'");
    ck_assert_py("exc.message == 'Unable to parse Client Context JSON: Expecting property name "
                 "enclosed in double quotes: line 1 column 2 (char 1)'");
    ck_assert_py("str(exc) == exc.message");
}
END_TEST

START_TEST(invalid_cognito_identity_json)
{
    start_fails(NULL, "nope");
    ck_assert_py("type(exc).__name__ == 'FaultError'");
    ck_assert_py("exc.error_type == 'Runtime.LambdaContextUnmarshalError'");
    ck_assert_py("exc.message == 'Unable to parse Cognito Identity JSON: Expecting value: "
                 "line 1 column 1 (char 0)'");
}
END_TEST

START_TEST(repr_exactly_as_official)
{
    clean_env();
    ck_assert_int_eq(unit_py_exec("import os\n"
                                  "os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'myfn'\n"
                                  "os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] = '128'\n"),
                     0);
    start("req-1", 0, "arn:...", NULL,
          "{\"custom\": {\"a\": 1}, \"env\": {\"e\": 2}, \"client\": {\"app_title\": \"T\"}}",
          "{\"cognitoIdentityId\": \"cid\", \"cognitoIdentityPoolId\": \"pid\"}", "tenant-A");
    PyObject *r = unit_py_eval("repr(ctx)");
    ck_assert_ptr_nonnull(r);
    const char *got = PyUnicode_AsUTF8(r);
    ck_assert_ptr_nonnull(got);
    static const char want[] =
        "LambdaContext([aws_request_id=req-1,log_group_name=None,log_stream_name=None,"
        "function_name=myfn,memory_limit_in_mb=128,function_version=None,"
        "invoked_function_arn=arn:...,client_context=ClientContext([custom={'a': 1},"
        "env={'e': 2},client=Client([installation_id=None,app_title=T,app_version_name=None,"
        "app_version_code=None,app_package_name=None])]),identity=CognitoIdentity("
        "[cognito_identity_id=cid,cognito_identity_pool_id=pid]),tenant_id=tenant-A])";
    int ok = unit_bytes_equal(got, strlen(got), want, sizeof want - 1);
    Py_DECREF(r);
    ck_assert_msg(ok, "%s", unit_last_diff);
    /* the no-header form */
    start("r2", 0, "", NULL, NULL, NULL, NULL);
    r = unit_py_eval("repr(ctx)");
    ck_assert_ptr_nonnull(r);
    got = PyUnicode_AsUTF8(r);
    static const char want2[] =
        "LambdaContext([aws_request_id=r2,log_group_name=None,log_stream_name=None,"
        "function_name=myfn,memory_limit_in_mb=128,function_version=None,"
        "invoked_function_arn=,client_context=None,identity=CognitoIdentity("
        "[cognito_identity_id=None,cognito_identity_pool_id=None]),tenant_id=None])";
    ok = unit_bytes_equal(got, strlen(got), want2, sizeof want2 - 1);
    Py_DECREF(r);
    ck_assert_msg(ok, "%s", unit_last_diff);
    clean_env();
}
END_TEST

START_TEST(remaining_time_clamped_at_zero)
{
    start("r", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.get_remaining_time_in_millis() == 0");
    ck_assert_py("type(ctx.get_remaining_time_in_millis()) is int");
    start("r", now_ms() - 5000, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.get_remaining_time_in_millis() == 0");
    start("r", now_ms() + 60000, "", NULL, NULL, NULL, NULL);
    ck_assert_py("55000 < ctx.get_remaining_time_in_millis() <= 60000");
    ck_assert_py("type(ctx.get_remaining_time_in_millis()) is int");
    /* computed from the clock on every call */
    ck_assert_int_eq(unit_py_exec("import time\n"
                                  "t1 = ctx.get_remaining_time_in_millis()\n"
                                  "time.sleep(0.05)\n"
                                  "t2 = ctx.get_remaining_time_in_millis()\n"),
                     0);
    ck_assert_py("t1 - t2 >= 40");
}
END_TEST

START_TEST(remaining_time_never_overflows)
{
    /* issue 8: a deadline at the ends of the 64-bit range once overflowed the subtraction */
    start("r", LLONG_MIN, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.get_remaining_time_in_millis() == 0");
    start("r", LLONG_MIN + 1, "", NULL, NULL, NULL, NULL);
    ck_assert_py("ctx.get_remaining_time_in_millis() == 0");
    start("r", LLONG_MAX, "", NULL, NULL, NULL, NULL);
    ck_assert_int_eq(unit_py_exec("import time\n"
                                  "before = int(time.time() * 1000)\n"
                                  "left = ctx.get_remaining_time_in_millis()\n"
                                  "after = int(time.time() * 1000)\n"),
                     0);
    ck_assert_py("type(left) is int and 2**63 - 1 - after <= left <= 2**63 - 1 - before");
    /* a deadline that is no C long long is computed as the official Python does */
    ck_assert_int_eq(unit_py_exec("import hostrt_bootstrap as hb\n"
                                  "def left_of(deadline):\n"
                                  "    before = int(time.time() * 1000)\n"
                                  "    left = hb.LambdaContext('id', None, None, deadline)"
                                  ".get_remaining_time_in_millis()\n"
                                  "    after = int(time.time() * 1000)\n"
                                  "    return left, deadline - after, deadline - before\n"
                                  "big = left_of(10**30)\n"
                                  "edge = left_of(2**63)\n"
                                  "fut = left_of(time.time() * 1000 + 60000)\n"),
                     0);
    ck_assert_py("type(big[0]) is int and big[1] <= big[0] <= big[2]");
    ck_assert_py("type(edge[0]) is int and edge[1] <= edge[0] <= edge[2]");
    ck_assert_py("type(fut[0]) is float and fut[1] <= fut[0] <= fut[2]");
    ck_assert_py("hb.LambdaContext('id', None, None, -10**30).get_remaining_time_in_millis() == 0");
    ck_assert_py("type(hb.LambdaContext('id', None, None, -10**30)"
                 ".get_remaining_time_in_millis()) is int");
    ck_assert_py("type(hb.LambdaContext('id', None, None, 1.5)"
                 ".get_remaining_time_in_millis()) is int");
    ck_assert_py("hb.LambdaContext('id', None, None, True).get_remaining_time_in_millis() == 0");
    /* a deadline the subtraction rejects raises as in Python */
    ck_assert_int_eq(unit_py_exec("try:\n"
                                  "    hb.LambdaContext('id', None, None, None)"
                                  ".get_remaining_time_in_millis()\n"
                                  "    raised = None\n"
                                  "except TypeError as e:\n"
                                  "    raised = str(e)\n"),
                     0);
    ck_assert_py("raised == \"unsupported operand type(s) for -: 'NoneType' and 'int'\"");
}
END_TEST

START_TEST(trace_id_set_and_removed)
{
    clean_env();
    start("r", 0, "", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
          NULL, NULL, NULL);
    ck_assert_py("os.environ['_X_AMZN_TRACE_ID'] == "
                 "'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'");
    const char *c_env = getenv("_X_AMZN_TRACE_ID");
    ck_assert_ptr_nonnull(c_env);
    ck_assert_str_eq(c_env, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    start("r", 0, "", "Root=2", NULL, NULL, NULL);
    ck_assert_py("os.environ['_X_AMZN_TRACE_ID'] == 'Root=2'");
    ck_assert_str_eq(getenv("_X_AMZN_TRACE_ID"), "Root=2");
    start("r", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("'_X_AMZN_TRACE_ID' not in os.environ");
    ck_assert_ptr_null(getenv("_X_AMZN_TRACE_ID"));
    start("r", 0, "", NULL, NULL, NULL, NULL); /* removing it twice is fine */
    ck_assert_py("'_X_AMZN_TRACE_ID' not in os.environ");
}
END_TEST

START_TEST(official_class_surface)
{
    start("r", 0, "", NULL, NULL, NULL, NULL);
    ck_assert_py("callable(ctx.get_remaining_time_in_millis) and callable(ctx.log)");
    ck_assert_py("not hasattr(ctx, 'callback_waits_for_empty_event_loop')");
    ck_assert_py("not hasattr(ctx, 'get_remaining_time')");
    /* a plain class: new attributes can be set, vars() works */
    ck_assert_int_eq(unit_py_exec("ctx.custom_attr = 5"), 0);
    ck_assert_py("ctx.custom_attr == 5");
    ck_assert_py("{'aws_request_id', 'log_group_name', 'log_stream_name', 'function_name', "
                 "'memory_limit_in_mb', 'function_version', 'invoked_function_arn', 'tenant_id', "
                 "'client_context', 'identity', '_epoch_deadline_time_in_ms'} <= set(vars(ctx))");
    /* handlers' own tests build one with the official signature */
    ck_assert_int_eq(unit_py_exec("import hostrt_bootstrap as hb\n"
                                  "made = hb.LambdaContext('id-9', None, None, 0)\n"
                                  "made_kw = hb.LambdaContext(invoke_id='id-8', client_context={'custom': {}},"
                                  " cognito_identity={'cognitoIdentityId': 'c'},"
                                  " epoch_deadline_time_in_ms=7, invoked_function_arn='arn',"
                                  " tenant_id='t')\n"),
                     0);
    ck_assert_py("made.aws_request_id == 'id-9' and made.invoked_function_arn is None");
    ck_assert_py("made.tenant_id is None and made.identity.cognito_identity_id is None");
    ck_assert_py("made_kw.client_context.custom == {} and made_kw.identity.cognito_identity_id == 'c'");
    ck_assert_py("made_kw._epoch_deadline_time_in_ms == 7 and made_kw.tenant_id == 't'");
    ck_assert_py("type(made) is type(ctx)");
    ck_assert_py("type(ctx).__module__ == 'awslambdaric.lambda_context'");
    /* copies and subclasses behave as with a plain Python class */
    ck_assert_int_eq(unit_py_exec("import copy\n"
                                  "shallow = copy.copy(ctx)\n"
                                  "deep = copy.deepcopy(ctx)\n"
                                  "class Sub(hb.LambdaContext):\n"
                                  "    extra = 'x'\n"
                                  "sub = Sub('id-s', None, None, 0)\n"),
                     0);
    ck_assert_py("shallow.aws_request_id == 'r' and shallow.custom_attr == 5");
    ck_assert_py("deep.identity is not ctx.identity and deep.aws_request_id == 'r'");
    ck_assert_py("deep.get_remaining_time_in_millis() == 0");
    ck_assert_py("sub.aws_request_id == 'id-s' and sub.extra == 'x'");
    ck_assert_py("repr(sub).startswith('Sub([aws_request_id=id-s,')");
}
END_TEST

static void invoke_once(void *unused)
{
    (void)unused;
    PyObject *ctx = begin("rid", 5LL, "arn", "Root=1",
                          "{\"custom\": {\"a\": 1}, \"client\": {\"app_title\": \"T\"}}",
                          "{\"cognitoIdentityId\": \"c\"}", "tenant");
    PyObject *r = ctx ? PyObject_Repr(ctx) : NULL;
    if (!r)
        PyErr_Clear();
    Py_XDECREF(r);
    Py_XDECREF(ctx);
    ctx = begin("rid", 5LL, "", NULL, NULL, NULL, NULL);
    Py_XDECREF(ctx);
    ctx = begin("rid", 5LL, "", NULL, "{bad", NULL, NULL);
    Py_XDECREF(ctx);
    PyErr_Clear();
}

/* get_remaining_time_in_millis() on each context of the tuple, errors cleared. */
static void remaining_of_each(void *contexts)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE((PyObject *)contexts); i++) {
        PyObject *ctx = PyTuple_GET_ITEM((PyObject *)contexts, i);
        PyObject *r = PyObject_CallMethod(ctx, "get_remaining_time_in_millis", NULL);
        if (!r)
            PyErr_Clear();
        Py_XDECREF(r);
    }
}

START_TEST(no_reference_leaks)
{
    Py_ssize_t growth = unit_py_growth(invoke_once, NULL, 1000);
    unit_py_exec("import os; os.environ.pop('_X_AMZN_TRACE_ID', None)");
    ck_assert_msg(growth < 100, "invoke_begin keeps %zd blocks after 1000 calls", growth);
    /* the Python-arithmetic path of the remaining time, its error path included */
    ck_assert_int_eq(unit_py_exec("import hostrt_bootstrap as hb, time\n"
                                  "odd = tuple(hb.LambdaContext('id', None, None, d) for d in "
                                  "(10**30, -10**30, time.time() * 1000 + 9e6, 2**63, None))\n"),
                     0);
    PyObject *odd = unit_py_eval("odd");
    ck_assert_ptr_nonnull(odd);
    growth = unit_py_growth(remaining_of_each, odd, 1000);
    Py_DECREF(odd);
    ck_assert_msg(growth < 100, "get_remaining_time_in_millis keeps %zd blocks", growth);
}
END_TEST

static Suite *context_suite(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("invoke_begin");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, attributes_from_env_and_headers);
    tcase_add_test(tc, absent_env_and_headers_give_none);
    tcase_add_test(tc, env_read_again_for_every_invoke);
    tcase_add_test(tc, identity_is_always_an_object);
    tcase_add_test(tc, client_context_slots);
    tcase_add_test(tc, client_context_missing_keys);
    tcase_add_test(tc, invalid_client_context_json);
    tcase_add_test(tc, invalid_cognito_identity_json);
    tcase_add_test(tc, repr_exactly_as_official);
    tcase_add_test(tc, remaining_time_clamped_at_zero);
    tcase_add_test(tc, remaining_time_never_overflows);
    tcase_add_test(tc, trace_id_set_and_removed);
    tcase_add_test(tc, official_class_surface);
    tcase_add_test(tc, no_reference_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    int rc = unit_main(context_suite());
    unit_py_stop();
    return rc;
}
