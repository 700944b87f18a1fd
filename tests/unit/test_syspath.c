/* sys.path: the Python half's setup(task_root, is_runtime) against spec §2.1 (what the
 * managed runtime's bootstrap.py does): task root first, then the layer directories when
 * PYTHONPATH is unset, .pth files in the task root processed, PYTHONPATH exported for
 * children in runtime mode. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

static char *root;

/* setup() changes process-wide state; every test gets it back as it was (CK_FORK=no runs
 * them all in one process). */
static void fixture_setup(void)
{
    root = unit_mkdtemp();
    PyObject *r = PyUnicode_FromString(root);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(unit_py_set("root", r), 0);
    Py_DECREF(r);
    ck_assert_int_eq(unit_py_exec("import os, sys\n"
                                  "saved_path = list(sys.path)\n"
                                  "saved_meta = list(sys.meta_path)\n"
                                  "saved_env = dict(os.environ)\n"
                                  "for k in ('PYTHONPATH', 'LAMBDA_RUNTIME_DIR', 'HOST_PTH_RAN'):\n"
                                  "    os.environ.pop(k, None)\n"),
                     0);
}

static void fixture_teardown(void)
{
    unit_py_exec("sys.path[:] = saved_path\n"
                 "sys.meta_path[:] = saved_meta\n"
                 "for k in set(os.environ) - set(saved_env):\n"
                 "    del os.environ[k]\n"
                 "os.environ.update(saved_env)\n"
                 "for m in ('calendar', 'hostunit_pth_mod'):\n"
                 "    sys.modules.pop(m, None)\n");
    unit_rmtree(root);
    free(root);
    root = NULL;
}

static void run_setup(int is_runtime)
{
    PyObject *r = PyObject_CallFunction(unit_rt.setup, "sii", root, is_runtime, 0);
    if (!r)
        PyErr_Print();
    ck_assert_ptr_nonnull(r);
    Py_DECREF(r);
}

static void write_in_root(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, name);
    ck_assert_int_eq(unit_write_file(path, text), 0);
}

START_TEST(task_root_then_layer_dirs)
{
    run_setup(0);
    ck_assert_py("sys.path[:3] == [root, '/opt/python/lib/python3.11/site-packages', '/opt/python']");
    ck_assert_py("sys.path.count(root) == 1");
    /* ahead of the standard library */
    ck_assert_py("all(sys.path.index(p) > 2 for p in saved_path if p.endswith('/python3.11'))");
    /* local mode does not export PYTHONPATH */
    ck_assert_py("'PYTHONPATH' not in os.environ");
}
END_TEST

START_TEST(runtime_mode_exports_pythonpath)
{
    run_setup(1);
    ck_assert_py("sys.path[:3] == [root, '/opt/python/lib/python3.11/site-packages', '/opt/python']");
    ck_assert_py("os.environ.get('PYTHONPATH') == '/var/runtime'");
    ck_assert_str_eq(getenv("PYTHONPATH"), "/var/runtime");
}
END_TEST

START_TEST(runtime_dir_from_env)
{
    ck_assert_int_eq(unit_py_exec("os.environ['LAMBDA_RUNTIME_DIR'] = '/my/runtime'"), 0);
    run_setup(1);
    ck_assert_py("os.environ.get('PYTHONPATH') == '/my/runtime'");
}
END_TEST

START_TEST(pythonpath_set_skips_layer_dirs)
{
    ck_assert_int_eq(unit_py_exec("os.environ['PYTHONPATH'] = '/custom'"), 0);
    run_setup(1);
    ck_assert_py("sys.path[0] == root");
    ck_assert_py("'/opt/python' not in sys.path[:sys.path.index(root) + 3]");
    ck_assert_py("sys.path.count('/opt/python') == saved_path.count('/opt/python')");
    ck_assert_py("os.environ['PYTHONPATH'] == '/custom'");
}
END_TEST

START_TEST(pth_files_in_task_root)
{
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/sub", root);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(sub, sizeof sub, "%s/sub/hostunit_pth_mod.py", root);
    ck_assert_int_eq(unit_write_file(sub, "FOUND = 'via pth'\n"), 0);
    write_in_root("extra.pth", "# a comment\n"
                               "sub\n"
                               "missing-dir\n"
                               "import os; os.environ['HOST_PTH_RAN'] = '1'\n");
    run_setup(0);
    ck_assert_py("os.path.join(root, 'sub') in sys.path");
    ck_assert_py("os.path.join(root, 'missing-dir') not in sys.path");
    ck_assert_py("os.environ.get('HOST_PTH_RAN') == '1'");
    ck_assert_py("sys.path[0] == root and sys.path.count(root) == 1");
    ck_assert_py("__import__('hostunit_pth_mod').FOUND == 'via pth'");
}
END_TEST

START_TEST(task_root_shadows_stdlib)
{
    write_in_root("calendar.py", "SHADOWED = True\n");
    run_setup(0);
    ck_assert_py("getattr(__import__('calendar'), 'SHADOWED', False)");
}
END_TEST

START_TEST(awslambdaric_context_importable)
{
    run_setup(0);
    ck_assert_int_eq(unit_py_exec("from awslambdaric.lambda_context import LambdaContext, "
                                  "CognitoIdentity, Client, ClientContext\n"),
                     0);
    ck_assert_py("LambdaContext is sys.modules['hostrt_bootstrap'].LambdaContext");
    ck_assert_py("isinstance(LambdaContext('r', None, None, 0), LambdaContext)");
}
END_TEST

START_TEST(logging_configured_as_official)
{
    run_setup(0);
    unit_capture cap;
    unit_capture_begin(&cap, 1);
    int rc = unit_py_exec("import logging\n"
                          "logging.getLogger('x').warning('warn %s', 'msg')\n"
                          "logging.getLogger('x').info('dropped: root level is WARNING')\n"
                          "logging.basicConfig(level=logging.DEBUG)  # a no-op, issue #38\n"
                          "logging.getLogger().info('still dropped')\n");
    size_t len;
    char *out = unit_capture_end(&cap, &len);
    PyObject *text = PyUnicode_DecodeUTF8(out, (Py_ssize_t)len, "strict");
    free(out);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(unit_py_set("logged", text), 0);
    Py_DECREF(text);
    ck_assert_py("__import__('re').fullmatch(r'\\[WARNING\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:"
                 "\\d\\d\\.\\d{3}Z\\t\\twarn msg\\n', logged)");
    ck_assert_py("len([h for h in logging.getLogger().handlers if hasattr(h, 'log_sink')]) >= 1");
}
END_TEST

static Suite *syspath_suite(void)
{
    Suite *s = suite_create("syspath");
    TCase *tc = tcase_create("setup");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, task_root_then_layer_dirs);
    tcase_add_test(tc, runtime_mode_exports_pythonpath);
    tcase_add_test(tc, runtime_dir_from_env);
    tcase_add_test(tc, pythonpath_set_skips_layer_dirs);
    tcase_add_test(tc, pth_files_in_task_root);
    tcase_add_test(tc, task_root_shadows_stdlib);
    tcase_add_test(tc, awslambdaric_context_importable);
    tcase_add_test(tc, logging_configured_as_official);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    unit_py_start();
    int rc = unit_main(syspath_suite());
    unit_py_stop();
    return rc;
}
