"""Init: sys.path, handler resolution and init errors (awslambdaric.md §2; runtime-api.md §1
item 4, §5, §8 items 1-2)."""

import json
import re
import sys

import pytest

from e2e_helpers import (LAMBDA_WARNING, PY_XY, TS_MS, TS_S, copy_handlers, dumps, frame,
                         invoke_one, keys_of, run_invokes, settle, wait_init_error, write)
from rapi_server import start_host

OPT_SITE = "/opt/python/lib/python%s/site-packages" % PY_XY


# -------------------------------------------------------------------------------------------
# sys.path


def test_sys_path_task_root_then_opt_layers(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.1 / runtime-api.md §5: task root first, then
    # /opt/python/lib/pythonX.Y/site-packages, then /opt/python (PYTHONPATH unset).
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.syspath", {})
    assert res.kind == "response", res
    path = res.json()
    assert path[:3] == [str(tmp_task_root), OPT_SITE, "/opt/python"]
    stdlib = "/usr/lib/python%s" % PY_XY
    if stdlib in path:
        assert path.index(stdlib) > 2


def test_sys_path_with_pythonpath_set_skips_opt(host_bin, rapi, tmp_task_root, tmp_path):
    # awslambdaric.md §2.1: the /opt directories are added only when PYTHONPATH is unset;
    # LAMBDA_TASK_ROOT is always at position 0.
    copy_handlers(tmp_task_root)
    extra = tmp_path / "extra"
    extra.mkdir()
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.syspath", {},
                           env={"PYTHONPATH": str(extra)})
    path = res.json()
    assert path[0] == str(tmp_task_root)
    assert OPT_SITE not in path and "/opt/python" not in path
    assert str(extra) in path


def test_pythonpath_env_set_to_runtime_dir(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.1 [base image]: with PYTHONPATH unset, os.environ["PYTHONPATH"] is
    # set to LAMBDA_RUNTIME_DIR so that child processes inherit it.
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.env",
                           {"keys": ["PYTHONPATH"]}, env={"LAMBDA_RUNTIME_DIR": "/var/runtime"})
    assert res.json() == {"PYTHONPATH": "/var/runtime"}


def test_pth_files_in_task_root_are_processed(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.1: site.addsitedir(LAMBDA_TASK_ROOT) processes customer .pth files.
    write(tmp_task_root, "vendor/vendmod.py", "VALUE = 'from vendor'\n")
    write(tmp_task_root, "deps.pth", "vendor\n")
    write(tmp_task_root, "app.py", """
        import sys
        import vendmod
        def handler(event, context):
            return [vendmod.VALUE, vendmod.__file__]
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert res.json() == ["from vendor", str(tmp_task_root / "vendor" / "vendmod.py")]


def test_task_root_module_shadows_stdlib(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: a user json.py in the task root shadows stdlib (sys.path[0]).
    write(tmp_task_root, "json.py", "def fn(event, context):\n    return 'user json'\n")
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "json.fn", {})
    assert res.body == b'"user json"'


def test_lambda_task_root_defaults_to_cwd(host_bin, rapi, tmp_task_root):
    # Brief / runtime-api.md §5: LAMBDA_TASK_ROOT defaults to the working directory.
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.syspath", {},
                           env={"LAMBDA_TASK_ROOT": None})
    assert res.kind == "response", res
    assert res.json()[0] == str(tmp_task_root)


# -------------------------------------------------------------------------------------------
# Handler resolution (awslambdaric.md §2.2)


@pytest.mark.parametrize("handler,where", [
    ("pkg.sub.mod.fn", "pkg.sub.mod"),
    ("pkg/sub/mod.fn", "pkg.sub.mod"),
    ("pkg/sub.mod.fn", "pkg.sub.mod"),
    ("nspkg.inner.mod.fn", "nspkg.inner.mod"),
    ("nspkg/inner/mod.fn", "nspkg.inner.mod"),
])
def test_handler_resolution_forms(host_bin, rapi, tmp_task_root, handler, where):
    # awslambdaric.md §2.2: split at the last ".", "/" -> ".", namespace packages work.
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, handler, {})
    assert res.kind == "response", res
    assert res.json() == {"where": where, "name": where}


def test_simple_module_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: "mod.fn".
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.ret", {"x": 1})
    assert res.kind == "response"
    assert res.body == b'{"x": 1}'


def test_positional_handler_argument_overrides_env(host_bin, rapi, tmp_task_root):
    # Brief: a positional HANDLER argument overrides _HANDLER.
    copy_handlers(tmp_task_root)
    rid = rapi.enqueue({})
    start_host(host_bin, rapi, tmp_task_root, "missing.nothing", args=["pkg.sub.mod.fn"])
    res = rapi.wait_for_result(rid)
    assert res.json()["where"] == "pkg.sub.mod"


# -------------------------------------------------------------------------------------------
# Init errors (awslambdaric.md §2.3; runtime-api.md §1 item 4)


def check_init_error(proc, rapi, ie, rc, etype, message, stack=()):
    """The exact init/error post, header, exit code 1, and nothing else sent."""
    expected = dumps({"errorMessage": message, "errorType": etype, "requestId": "",
                      "stackTrace": list(stack)})
    assert ie.body == expected, (ie.body, expected)
    assert keys_of(ie.body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert ie.headers.get("lambda-runtime-function-error-type") == etype
    assert rc == 1, (rc, proc.stdout_text(), proc.stderr_text())
    # init/error comes before any GET next (runtime-api.md §1 item 4, §6)
    assert rapi.count("next") == 0


@pytest.mark.parametrize("handler,message", [
    ("nodot", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"),
    ("lambda_function", "Bad handler 'lambda_function': not enough values to unpack "
                        "(expected 2, got 1)"),
])
def test_init_error_malformed_handler_name(host_bin, rapi, tmp_task_root, handler, message):
    # awslambdaric.md §2.3: no "." -> Runtime.MalformedHandlerName, stackTrace [].
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, handler)
    check_init_error(proc, rapi, ie, rc, "Runtime.MalformedHandlerName", message)


def test_init_error_missing_module(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: ImportError -> Runtime.ImportModuleError.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "missing.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'missing': No module named 'missing'")


def test_init_error_missing_dependency_inside_module(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: a missing dependency inside the module is an ImportModuleError
    # naming the handler module and the dependency.
    write(tmp_task_root, "app.py", """
        import requestsxyz
        def handler(event, context):
            return 1
    """)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'app': No module named 'requestsxyz'")


def test_init_error_import_error_name_keeps_slashes(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: error messages show the original module path, slashes included.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "nodir/app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'nodir/app': No module named 'nodir'")


def test_init_error_import_error_subclass_from_code(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: *any* ImportError during import (here raised by user code).
    write(tmp_task_root, "app.py", "raise ImportError('cannot load native lib')\n")
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'app': cannot load native lib")


def test_init_error_nested_attribute_is_an_import(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: no nested attributes: "app.Cls.method" imports module "app.Cls".
    write(tmp_task_root, "app.py", """
        class Cls:
            def method(event, context):
                return 1
    """)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.Cls.method")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'app.Cls': No module named 'app.Cls'; "
                     "'app' is not a package")


def syntax_error_of(path):
    src = open(path).read()
    try:
        compile(src, path, "exec")
    except SyntaxError as e:
        return e
    raise AssertionError("no syntax error in %s" % path)


def test_init_error_syntax_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: Runtime.UserCodeSyntaxError, message
    # "Syntax error in module '<mod>': <str(e)>", one stackTrace element
    # '  File "<filename>" Line <lineno>\n    <text>' (capital Line, no comma).
    path = write(tmp_task_root, "app.py", """
        def handler(event, context)
            return 1
    """)
    e = syntax_error_of(path)
    assert str(e) == "expected ':' (app.py, line 1)"
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.UserCodeSyntaxError",
                     "Syntax error in module 'app': expected ':' (app.py, line 1)",
                     ['  File "%s" Line 1\n    def handler(event, context)\n' % path])


def test_init_error_indentation_error_in_nested_import(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: IndentationError counts too, also in nested imports; the
    # element names the file that has the error.
    helper = write(tmp_task_root, "helper.py", "def f():\nreturn 1\n")
    write(tmp_task_root, "app.py", """
        import helper
        def handler(event, context):
            return 1
    """)
    e = syntax_error_of(helper)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.UserCodeSyntaxError",
                     "Syntax error in module 'app': %s" % e,
                     ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)])
    assert "expected an indented block" in str(e)


def test_init_error_handler_not_found(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: Runtime.HandlerNotFound.
    write(tmp_task_root, "app.py", "def other(event, context):\n    return 1\n")
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    check_init_error(proc, rapi, ie, rc, "Runtime.HandlerNotFound",
                     "Handler 'handler' missing on module 'app'")


def test_init_error_handler_not_found_slash_path(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2-2.3: message shows the original module path.
    copy_handlers(tmp_task_root)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "pkg/sub/mod.nope")
    check_init_error(proc, rapi, ie, rc, "Runtime.HandlerNotFound",
                     "Handler 'nope' missing on module 'pkg/sub/mod'")


def test_init_error_stdlib_module_without_handler(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: json.fn without a user json.py -> HandlerNotFound on stdlib json.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "json.fn")
    check_init_error(proc, rapi, ie, rc, "Runtime.HandlerNotFound",
                     "Handler 'fn' missing on module 'json'")


@pytest.mark.parametrize("handler,mod", [
    ("sys.handler", "sys"),
    ("time.sleep", "time"),
    ("builtins.x.fn", "builtins.x"),
])
def test_init_error_builtin_module_conflict(host_bin, rapi, tmp_task_root, handler, mod):
    # awslambdaric.md §2.2-2.3: first component in sys.builtin_module_names.
    assert mod.split(".")[0] in sys.builtin_module_names
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, handler)
    check_init_error(proc, rapi, ie, rc, "Runtime.BuiltInModuleConflict",
                     "Cannot use built-in module %s as a handler module" % mod)


def test_builtin_check_uses_component_before_slash_replacement(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.2: "a/sys.fn" passes the builtin check (first component "a/sys").
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "a/sys.fn")
    check_init_error(proc, rapi, ie, rc, "Runtime.ImportModuleError",
                     "Unable to import module 'a/sys': No module named 'a'")


def test_init_error_other_exception_at_import(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: any other Exception -> errorType = class __name__, message str(e),
    # stackTrace = traceback.format_list strings, importlib frames kept, runtime frames
    # dropped.
    path = write(tmp_task_root, "app.py", """
        import os
        raise RuntimeError("boom at import")
    """)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    body = ie.json()
    assert keys_of(ie.body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "boom at import"
    assert body["errorType"] == "RuntimeError"
    assert body["requestId"] == ""
    stack = body["stackTrace"]
    assert stack[-1] == frame(path, 2, "<module>", 'raise RuntimeError("boom at import")')
    assert re.match(r'  File "[^"]*/importlib/__init__\.py", line \d+, in import_module\n',
                    stack[0]), stack
    assert any(s.startswith('  File "<frozen importlib._bootstrap>"') for s in stack), stack
    assert not any("/bootstrap.py" in s for s in stack), stack
    assert ie.headers.get("lambda-runtime-function-error-type") == "RuntimeError"
    assert rc == 1


def test_init_error_custom_exception_class_name(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: bare class __name__, no module prefix.
    write(tmp_task_root, "app.py", """
        class ConfigError(Exception):
            pass
        raise ConfigError("missing TABLE_NAME")
    """)
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    assert ie.json()["errorType"] == "ConfigError"
    assert ie.json()["errorMessage"] == "missing TABLE_NAME"
    assert ie.headers.get("lambda-runtime-function-error-type") == "ConfigError"
    assert rc == 1


def test_system_exit_at_import_exits_with_code_nothing_posted(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: SystemExit at import is not caught: exit with that code,
    # nothing posted.
    write(tmp_task_root, "app.py", "import sys\nsys.exit(7)\n")
    proc = start_host(host_bin, rapi, tmp_task_root, "app.handler")
    assert proc.wait_exit(10) == 7
    settle(proc)
    assert rapi.results == []
    assert [r.endpoint for r in rapi.requests] == []


def test_init_error_log_lines_text(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3 + §8.2/§8.4: the LAMBDA_WARNING through logging (requestId "")
    # then the log_error copy, on stdout.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "missing.handler")
    out = proc.stdout_text()
    warn = re.search(r"\[WARNING\]\t(%s)\t\t%s\n" % (TS_MS, re.escape(LAMBDA_WARNING)), out)
    assert warn, out
    err = ("[ERROR] Runtime.ImportModuleError: Unable to import module 'missing': "
           "No module named 'missing'\rTraceback (most recent call last):\n")
    assert err in out
    assert out.index(err) > warn.start()


def test_init_error_log_lines_syntax_error_text(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.4: the stack element's lines, leading spaces -> U+00A0, "\r" joins.
    path = write(tmp_task_root, "app.py", "def handler(event, context)\n    return 1\n")
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "app.handler")
    expected = ("[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'app': "
                "expected ':' (app.py, line 1)\rTraceback (most recent call last):\r"
                "\u00a0\u00a0File \"%s\" Line 1\r\u00a0\u00a0\u00a0\u00a0def handler(event, context)\n"
                % path)
    assert expected in proc.stdout_text()


def test_init_error_warning_suppressed_at_log_level_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: the LAMBDA_WARNING is suppressed if AWS_LAMBDA_LOG_LEVEL >= ERROR;
    # the error itself is still logged and posted.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "missing.handler",
                                   env={"AWS_LAMBDA_LOG_LEVEL": "ERROR"})
    out = proc.stdout_text()
    assert "LAMBDA_WARNING" not in out
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'missing'" in out
    assert ie.json()["errorType"] == "Runtime.ImportModuleError"


def test_init_error_log_lines_json(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §8.4/§8.6: JSON mode: the warning as a JSON record (requestId ""),
    # the error as {"timestamp","log_level","errorMessage","errorType","requestId","stackTrace"}.
    proc, ie, rc = wait_init_error(host_bin, rapi, tmp_task_root, "missing.handler",
                                   env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    lines = [l for l in proc.stdout_text().split("\n") if l.startswith("{")]
    docs = [json.loads(l) for l in lines]
    warn = [d for d in docs if d.get("level") == "WARNING"]
    assert len(warn) == 1, lines
    assert list(warn[0]) == ["timestamp", "level", "message", "logger", "requestId"]
    assert re.fullmatch(TS_S, warn[0]["timestamp"])
    assert warn[0]["message"] == LAMBDA_WARNING
    assert warn[0]["logger"] == "root" and warn[0]["requestId"] == ""
    err = [d for d in docs if d.get("log_level") == "ERROR"]
    assert len(err) == 1, lines
    assert list(err[0]) == ["timestamp", "log_level", "errorMessage", "errorType",
                            "requestId", "stackTrace"]
    assert re.fullmatch(TS_S, err[0]["timestamp"])
    assert err[0]["errorType"] == "Runtime.ImportModuleError"
    assert err[0]["errorMessage"] == ("Unable to import module 'missing': "
                                      "No module named 'missing'")
    assert err[0]["requestId"] == "" and err[0]["stackTrace"] == []


def test_init_error_post_rejected_exits_nonzero(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §2.3: a non-202 answer to init/error is fatal (exit 1): host must not
    # hang or go on to GET next.
    rapi.respond_with("init_error", 500)
    proc = start_host(host_bin, rapi, tmp_task_root, "missing.handler")
    rc = proc.wait_exit(10)
    assert rc != 0
    assert rapi.count("next") == 0


def test_init_runs_once_then_loop_serves_invocations(host_bin, rapi, tmp_task_root):
    # runtime-api.md §6 / awslambdaric.md §1: init once, then GET next -> handler -> POST.
    copy_handlers(tmp_task_root)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "probe.counter",
                                [{"i": 1}, {"i": 2}, {"i": 3}])
    assert [r.json() for r in results] == [
        {"init_count": 1, "calls": n, "event": {"i": n}} for n in (1, 2, 3)]
    assert all(r.kind == "response" and r.status == 202 for r in results)
