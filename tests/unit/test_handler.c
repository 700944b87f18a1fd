/* handler: pyrt_load_handler against spec §2.2/§2.3: the handler string split at its last
 * '.', '/' as package separator, the built-in module check, and every init error with its
 * type, message, init/error body and logged copy. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "pyrt.h"
#include "unit.h"

static char *task_root;

static pyrt_init_status st;
static PyObject *handler;
static pyrt_init_failure f;
static char *log_out;
static size_t log_len;

static void fixture_setup(void)
{
    handler = NULL;
    memset(&f, 0, sizeof f);
    log_out = NULL;
}

static void fixture_teardown(void)
{
    Py_CLEAR(handler);
    pyrt_init_failure_clear(&f);
    free(log_out);
    log_out = NULL;
}

static void write_module(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", task_root, rel);
    ck_assert_int_eq(unit_write_file(path, text), 0);
}

static void make_dir(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", task_root, rel);
    ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* pyrt_load_handler(name) with stdout (the logged copy) captured. */
static void load(const char *name)
{
    Py_CLEAR(handler);
    pyrt_init_failure_clear(&f);
    free(log_out);
    /* files written since the last import: the import system caches directory listings */
    ck_assert_int_eq(unit_py_exec("importlib.invalidate_caches()"), 0);
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    st = pyrt_load_handler(&unit_rt, name, &handler, &f);
    log_out = unit_capture_end(&cap, &log_len);
}

/* Fails unless the load failed with exactly this type, message and init/error body
 * {"errorMessage": message, "errorType": type, "requestId": "", "stackTrace": stack_json}. */
static void assert_failure(const char *type, const char *message, const char *body)
{
    ck_assert_msg(st == PYRT_INIT_FAILED, "status %d, want PYRT_INIT_FAILED", (int)st);
    ck_assert_ptr_null(handler);
    ck_assert_str_eq(f.error_type, type);
    ck_assert_str_eq(f.message, message);
    ck_assert_ptr_nonnull(f.body);
    ck_assert(PyBytes_Check(f.body));
    ck_assert_bytes_str(PyBytes_AS_STRING(f.body), (size_t)PyBytes_GET_SIZE(f.body), body);
}

START_TEST(loads_a_function)
{
    write_module("app_ok.py", "def handler(event, context):\n    return 1\nCONST = 5\n");
    load("app_ok.handler");
    ck_assert_int_eq(st, PYRT_INIT_OK);
    ck_assert_ptr_nonnull(handler);
    ck_assert(PyCallable_Check(handler));
    ck_assert_uint_eq(log_len, 0);
    /* no callability check at load time */
    load("app_ok.CONST");
    ck_assert_int_eq(st, PYRT_INIT_OK);
    ck_assert_int_eq(PyLong_AsLong(handler), 5);
}
END_TEST

START_TEST(package_paths_equivalent)
{
    make_dir("pkg");
    make_dir("pkg/sub");
    write_module("pkg/__init__.py", "");
    write_module("pkg/sub/__init__.py", "");
    write_module("pkg/sub/mod.py", "def fn(e, c):\n    return 'pkg'\n");
    static const char *const names[] = {"pkg/sub/mod.fn", "pkg.sub.mod.fn", "pkg/sub.mod.fn"};
    for (size_t i = 0; i < 3; i++) {
        load(names[i]);
        ck_assert_msg(st == PYRT_INIT_OK, "%s: status %d", names[i], (int)st);
        ck_assert_int_eq(unit_py_set("loaded", handler), 0);
        ck_assert_py("loaded(None, None) == 'pkg'");
    }
    /* the split is at the last dot: the module path keeps its dots */
    load("pkg.sub.mod.nope");
    assert_failure("Runtime.HandlerNotFound", "Handler 'nope' missing on module 'pkg.sub.mod'",
                   "{\"errorMessage\": \"Handler 'nope' missing on module 'pkg.sub.mod'\", "
                   "\"errorType\": \"Runtime.HandlerNotFound\", \"requestId\": \"\", "
                   "\"stackTrace\": []}");
}
END_TEST

START_TEST(namespace_package)
{
    make_dir("nspkg");
    write_module("nspkg/mod.py", "def fn(e, c):\n    return 'ns'\n");
    load("nspkg/mod.fn");
    ck_assert_int_eq(st, PYRT_INIT_OK);
}
END_TEST

START_TEST(malformed_handler_name)
{
    load("nodot");
    assert_failure("Runtime.MalformedHandlerName",
                   "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)",
                   "{\"errorMessage\": \"Bad handler 'nodot': not enough values to unpack "
                   "(expected 2, got 1)\", \"errorType\": \"Runtime.MalformedHandlerName\", "
                   "\"requestId\": \"\", \"stackTrace\": []}");
}
END_TEST

START_TEST(builtin_module_conflict)
{
    load("sys.fn");
    assert_failure("Runtime.BuiltInModuleConflict",
                   "Cannot use built-in module sys as a handler module",
                   "{\"errorMessage\": \"Cannot use built-in module sys as a handler module\", "
                   "\"errorType\": \"Runtime.BuiltInModuleConflict\", \"requestId\": \"\", "
                   "\"stackTrace\": []}");
    load("builtins.sub.fn");
    ck_assert_str_eq(f.message, "Cannot use built-in module builtins.sub as a handler module");
    /* the check looks at the first component before '/' becomes '.' */
    load("a/sys.fn");
    assert_failure("Runtime.ImportModuleError", "Unable to import module 'a/sys': No module named 'a'",
                   "{\"errorMessage\": \"Unable to import module 'a/sys': No module named 'a'\", "
                   "\"errorType\": \"Runtime.ImportModuleError\", \"requestId\": \"\", "
                   "\"stackTrace\": []}");
}
END_TEST

START_TEST(import_module_error)
{
    load("missing_mod.fn");
    assert_failure("Runtime.ImportModuleError",
                   "Unable to import module 'missing_mod': No module named 'missing_mod'",
                   "{\"errorMessage\": \"Unable to import module 'missing_mod': No module named "
                   "'missing_mod'\", \"errorType\": \"Runtime.ImportModuleError\", \"requestId\": "
                   "\"\", \"stackTrace\": []}");
    write_module("needs_dep.py", "import requests_not_installed_xyz\n");
    load("needs_dep.fn");
    ck_assert_str_eq(f.message, "Unable to import module 'needs_dep': No module named "
                                "'requests_not_installed_xyz'");
    /* the original path, slashes included */
    load("pkg_missing/sub/nomod.fn");
    ck_assert_str_eq(f.message, "Unable to import module 'pkg_missing/sub/nomod': No module "
                                "named 'pkg_missing'");
}
END_TEST

START_TEST(syntax_error)
{
    write_module("badsyn.py", "if True\n");
    load("badsyn.fn");
    char body[3 * PATH_MAX];
    snprintf(body, sizeof body,
             "{\"errorMessage\": \"Syntax error in module 'badsyn': expected ':' (badsyn.py, line "
             "1)\", \"errorType\": \"Runtime.UserCodeSyntaxError\", \"requestId\": \"\", "
             "\"stackTrace\": [\"  File \\\"%s/badsyn.py\\\" Line 1\\n    if True\\n\"]}",
             task_root);
    assert_failure("Runtime.UserCodeSyntaxError",
                   "Syntax error in module 'badsyn': expected ':' (badsyn.py, line 1)", body);
    /* also from a module imported by the handler's */
    write_module("imports_bad.py", "import badsyn2\n");
    write_module("badsyn2.py", "def f(:\n    pass\n");
    load("imports_bad.fn");
    ck_assert_str_eq(f.error_type, "Runtime.UserCodeSyntaxError");
    ck_assert_str_eq(f.message, "Syntax error in module 'imports_bad': invalid syntax (badsyn2.py, "
                                "line 1)");
}
END_TEST

START_TEST(handler_not_found)
{
    write_module("app_nf.py", "x = 1\n");
    load("app_nf.missing");
    assert_failure("Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app_nf'",
                   "{\"errorMessage\": \"Handler 'missing' missing on module 'app_nf'\", "
                   "\"errorType\": \"Runtime.HandlerNotFound\", \"requestId\": \"\", "
                   "\"stackTrace\": []}");
}
END_TEST

START_TEST(exception_at_import)
{
    write_module("raiser.py", "x = 1\nraise RuntimeError('boom')\n");
    load("raiser.fn");
    ck_assert_int_eq(st, PYRT_INIT_FAILED);
    ck_assert_str_eq(f.error_type, "RuntimeError");
    ck_assert_str_eq(f.message, "boom");
    ck_assert_int_eq(unit_py_set("body", f.body), 0);
    ck_assert_py("json.loads(body)['errorType'] == 'RuntimeError'");
    ck_assert_py("list(json.loads(body)) == ['errorMessage', 'errorType', 'requestId', 'stackTrace']");
    /* host's own frames are dropped, importlib's stay, the module's frame is last */
    ck_assert_py("'importlib/__init__.py' in json.loads(body)['stackTrace'][0]");
    ck_assert_py("', in import_module\\n' in json.loads(body)['stackTrace'][0]");
    ck_assert_py("not any('bootstrap.py' in s for s in json.loads(body)['stackTrace'])");
    ck_assert_py("any('<frozen importlib._bootstrap>' in s for s in json.loads(body)['stackTrace'])");
    char last[PATH_MAX + 128];
    snprintf(last, sizeof last, "json.loads(body)['stackTrace'][-1] == '  File \"%s/raiser.py\", "
                                "line 2, in <module>\\n    raise RuntimeError(\\'boom\\')\\n'",
             task_root);
    ck_assert_py(last);
}
END_TEST

START_TEST(system_exit_at_import)
{
    write_module("exiter.py", "raise SystemExit(7)\n");
    load("exiter.fn");
    ck_assert_int_eq(st, PYRT_INIT_EXIT);
    ck_assert_int_eq(f.exit_code, 7);
    ck_assert_ptr_null(handler);
    ck_assert_uint_eq(log_len, 0); /* nothing logged, nothing to post */
    ck_assert(!PyErr_Occurred());
}
END_TEST

START_TEST(init_error_logged_with_warning)
{
    load("missing_for_log.fn");
    ck_assert_int_eq(st, PYRT_INIT_FAILED);
    PyObject *text = PyUnicode_DecodeUTF8(log_out, (Py_ssize_t)log_len, "strict");
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(unit_py_set("logged", text), 0);
    Py_DECREF(text);
    ck_assert_py("re.fullmatch(r\"\\[WARNING\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t\\t"
                 "LAMBDA_WARNING: Unhandled exception\\. The most likely cause is an issue in the "
                 "function code\\. However, in rare cases, a Lambda runtime update can cause "
                 "unexpected function behavior\\. For functions using managed runtimes, runtime "
                 "updates can be triggered by a function change, or can be applied automatically\\. "
                 "To determine if the runtime has been updated, check the runtime version in the "
                 "INIT_START log entry\\. If this error correlates with a change in the runtime "
                 "version, you may be able to mitigate this error by temporarily rolling back to the "
                 "previous runtime version\\. For more information, see "
                 "https://docs\\.aws\\.amazon\\.com/lambda/latest/dg/runtimes-update\\.html\\r\\n"
                 "\\[ERROR\\] Runtime\\.ImportModuleError: Unable to import module "
                 "'missing_for_log': No module named 'missing_for_log'\\rTraceback \\(most recent "
                 "call last\\):\\n\", logged)");
}
END_TEST

static Suite *handler_suite(void)
{
    Suite *s = suite_create("handler");
    TCase *tc = tcase_create("pyrt_load_handler");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, loads_a_function);
    tcase_add_test(tc, package_paths_equivalent);
    tcase_add_test(tc, namespace_package);
    tcase_add_test(tc, malformed_handler_name);
    tcase_add_test(tc, builtin_module_conflict);
    tcase_add_test(tc, import_module_error);
    tcase_add_test(tc, syntax_error);
    tcase_add_test(tc, handler_not_found);
    tcase_add_test(tc, exception_at_import);
    tcase_add_test(tc, system_exit_at_import);
    tcase_add_test(tc, init_error_logged_with_warning);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    if (!(task_root = unit_task_root(NULL, NULL, "import importlib, json, re, sys\n")))
        return 2;
    int rc = unit_main(handler_suite());
    unit_py_stop();
    unit_task_root_free(task_root);
    return rc;
}
