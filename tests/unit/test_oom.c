/* oom: every out-of-memory path of the marshaller, event decoding (the native parser, its
 * error path) and one
 * whole invocation, proven as jansson proves its own: an allocator (PyMem_SetAllocator, all
 * three domains) that fails the k-th allocation, for k = 1, 2, ... until the operation no
 * longer reaches a k-th allocation. Each run must end in a result or in a Python exception
 * (MemoryError, or the error document an invocation makes of it): never a crash, an
 * assertion, a leak (valgrind runs this suite too) or a result and an exception at once.
 *
 * host's policy, which this checks: an allocation that fails while Python runs becomes a
 * MemoryError at the point of failure and travels the ordinary error path; an invocation
 * always ends with a document to post. */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "invoke.h"
#include "marshaller.h"
#include "unit.h"

#define MAX_ROUNDS 20000 /* far more allocations than any operation here makes */

static PyMemAllocatorEx real[3];
static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                PYMEM_DOMAIN_OBJ};
static long countdown = -1; /* allocations left before the one that fails; -1: none fails */
static int hit;             /* the failing allocation was reached */

static int fail_now(void)
{
    if (countdown < 0)
        return 0;
    if (countdown-- > 0)
        return 0;
    hit = 1;
    return 1;
}

static void *f_malloc(void *ctx, size_t n)
{
    PyMemAllocatorEx *a = ctx;
    return fail_now() ? NULL : a->malloc(a->ctx, n);
}

static void *f_calloc(void *ctx, size_t n, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    return fail_now() ? NULL : a->calloc(a->ctx, n, size);
}

static void *f_realloc(void *ctx, void *p, size_t n)
{
    PyMemAllocatorEx *a = ctx;
    return fail_now() ? NULL : a->realloc(a->ctx, p, n);
}

static void f_free(void *ctx, void *p)
{
    PyMemAllocatorEx *a = ctx;
    a->free(a->ctx, p);
}

static void install(void)
{
    for (int d = 0; d < 3; d++) {
        PyMem_GetAllocator(domains[d], &real[d]);
        PyMemAllocatorEx hook = {&real[d], f_malloc, f_calloc, f_realloc, f_free};
        PyMem_SetAllocator(domains[d], &hook);
    }
}

static void uninstall(void)
{
    for (int d = 0; d < 3; d++)
        PyMem_SetAllocator(domains[d], &real[d]);
}

/* One attempt of an operation: returns 1 when it succeeded, 0 when it failed with a Python
 * exception set. */
typedef int (*operation)(void *arg);

/* Runs op with the k-th allocation failing for every k until a run no longer reaches it;
 * returns how many allocations a clean run makes. */
static long sweep(operation op, void *arg, const char *what)
{
    for (long k = 0; k < MAX_ROUNDS; k++) {
        hit = 0;
        countdown = k;
        install();
        int ok = op(arg);
        uninstall();
        countdown = -1;
        int raised = PyErr_Occurred() != NULL;
        PyErr_Clear();
        ck_assert_msg(ok != raised, "%s: allocation %ld failing gave %s", what, k + 1,
                      ok ? "a result and an exception" : "no result and no exception");
        if (!hit) {
            ck_assert_msg(ok, "%s fails without any allocation failing", what);
            fprintf(stderr, "oom: %s: %ld allocations, each failed once\n", what, k);
            return k;
        }
    }
    ck_abort_msg("%s: still allocating after %d rounds", what, MAX_ROUNDS);
    return -1;
}

/* ---- the operations -------------------------------------------------------------------- */

static int marshal_op(void *arg)
{
    buf_t out = BUF_INIT;
    int rc = marshal_dumps((PyObject *)arg, &out);
    buf_free(&out);
    return rc == 0;
}

static const char event_json[] =
    "{\"a\": [1, -2, 3.25, 1e300, 12345678901234567890123, true, false, null],"
    " \"s\": \"caf\\u00e9 \\ud83d\\ude00 \\n\", \"nested\": {\"k\": {\"deep\": [[], {}]}},"
    " \"dup\": 1, \"dup\": 2, \"\\u00fcnicode-key\": \"v\"}";

static int decode_op(void *arg)
{
    const char *text = arg;
    PyObject *obj = event_decode(text, strlen(text), 1);
    Py_XDECREF(obj);
    return obj != NULL;
}

typedef struct {
    invoker iv;
    const char *event;
} invocation;

/* An invocation always ends with something to post (a response or an error document);
 * the "exception" case cannot happen, so this reports 1 with nothing pending. */
static int invoke_op(void *arg)
{
    invocation *c = arg;
    invoke_request req = {.request_id = "rid-oom", .deadline_ms = 0, .function_arn = "arn",
                          .content_type = "application/json", .body = c->event,
                          .body_len = strlen(c->event)};
    invoke_result out;
    unit_capture log, err;
    unit_capture_begin(&log, 1); /* the logged [ERROR] copies */
    unit_capture_begin(&err, 2); /* host's own failures, printed as Python prints them */
    invoke_run(&c->iv, &req, &out);
    size_t n;
    free(unit_capture_end(&err, &n));
    free(unit_capture_end(&log, &n));
    int ok = (out.kind == INVOKE_RESPONSE || out.kind == INVOKE_ERROR) && out.data && out.len;
    invoke_result_clear(&out);
    if (!ok)
        PyErr_SetString(PyExc_AssertionError, "an invocation ended without a document");
    return ok && !PyErr_Occurred();
}

/* ---- the tests ----------------------------------------------------------------------- */

START_TEST(marshaller)
{
    PyObject *obj = unit_py_eval("{'a': [1, 2.5, None, True, 'caf\\u00e9', b'raw'], "
                                 "'d': decimal.Decimal('1.10'), 'big': 10**30, "
                                 "'t': (1, {'x': -0.0}), 3: 'int key'}");
    ck_assert_ptr_nonnull(obj);
    long n = sweep(marshal_op, obj, "marshal_dumps");
    ck_assert_int_gt(n, 0);
    Py_DECREF(obj);
}
END_TEST

START_TEST(event_decoding)
{
    /* a first run of the error path loads what is loaded once (host's error module): its
     * loading under a failed allocation would only show CPython's own unmarshal leaks */
    ck_assert_int_eq(decode_op("{\"a\": [1, 2,, 3]}"), 0);
    PyErr_Clear();
    ck_assert_int_gt(sweep(decode_op, (void *)event_json, "event_decode (valid)"), 0);
    long n = 0;
    for (long k = 0; k < MAX_ROUNDS; k++) {
        hit = 0;
        countdown = k;
        install();
        int ok = decode_op("{\"a\": [1, 2,, 3]}");
        uninstall();
        countdown = -1;
        ck_assert_msg(!ok && PyErr_Occurred(), "an invalid event decoded at allocation %ld", k);
        PyErr_Clear();
        if (!hit) {
            n = k;
            break;
        }
    }
    ck_assert_int_gt(n, 0);
}
END_TEST

static void one_invocation(const char *handler, const char *event)
{
    PyObject *fn = unit_py_eval(handler);
    ck_assert_ptr_nonnull(fn);
    invocation c = {.event = event};
    ck_assert_int_eq(invoker_init(&c.iv, &unit_rt, fn), 0);
    Py_DECREF(fn);
    /* the first run loads what is loaded once (the error module, caches) */
    ck_assert_int_eq(invoke_op(&c), 1);
    ck_assert_int_gt(sweep(invoke_op, &c, handler), 0);
    invoker_clear(&c.iv);
}

START_TEST(invocation_success)
{
    one_invocation("echo", event_json);
}
END_TEST

START_TEST(invocation_error)
{
    one_invocation("fails", "{\"k\": 1}");
}
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("kth_allocation_fails");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, marshaller);
    tcase_add_test(tc, event_decoding);
    tcase_add_test(tc, invocation_success);
    tcase_add_test(tc, invocation_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    PyObject *r = PyObject_CallFunction(unit_rt.setup, "sii", ".", 0, 0); /* the log sink */
    if (!r)
        return 2;
    Py_DECREF(r);
    if (unit_py_exec("import decimal\n"
                     "def echo(event, context):\n"
                     "    return {'event': event, 'rid': context.aws_request_id}\n"
                     "def fails(event, context):\n"
                     "    raise ValueError('bad %s' % event['k'])\n") < 0)
        return 2;
    int rc = unit_main(oom_suite());
    unit_py_stop();
    return rc;
}
