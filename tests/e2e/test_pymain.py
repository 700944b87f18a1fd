"""host as the Python interpreter (issue 8, item 5; host/pymain.c, host/interp.c).

A handler's sys.executable names a python3 entry that is host itself (build/python3 here);
host started under a python name runs CPython's own main. So `subprocess.run([sys.executable,
...])` and multiprocessing (spawn, forkserver, fork) work from a handler, in runtime mode and
in local mode, and a child never runs host's Lambda machinery although AWS_LAMBDA_RUNTIME_API
and _HANDLER are in its environment. Each command line is run twice from the handler, by the
child and by the Python host embeds (the one these tests run under), with the same environment
and directory: output and exit status must be the same.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_helpers import write
from rapi_server import base_env, run_local, start_host

REFERENCE = os.path.realpath(sys.executable)   # the Python host embeds (Makefile: PYTHON)

APP = """
    import multiprocessing
    import os
    import subprocess
    import sys

    def square(x):
        return x * x, os.getpid(), sys.executable

    def run(exe, args, stdin):
        r = subprocess.run([exe] + args, input=stdin, capture_output=True, text=True,
                           timeout=60)
        return {"rc": r.returncode, "out": r.stdout.replace(exe, "PYTHON"),
                "err": r.stderr.replace(exe, "PYTHON")}

    def handler(event, context):
        if event["kind"] == "executable":
            return {"executable": sys.executable, "base": sys._base_executable}
        if event["kind"] == "run":
            return {"child": run(sys.executable, event["args"], event.get("stdin")),
                    "reference": run(event["reference"], event["args"], event.get("stdin"))}
        ctx = multiprocessing.get_context(event["method"])
        with ctx.Pool(2) as pool:
            rows = pool.map(square, range(8))
        return {"squares": [r[0] for r in rows], "pids": sorted({r[1] for r in rows}),
                "executables": sorted({r[2] for r in rows}), "parent": os.getpid()}
"""

CHILD_MODULE = """
    import sys
    print("module", __name__, sys.argv[1:])
    sys.exit(4)
"""

SCRIPT = """
    import os, sys
    print("script", os.path.basename(sys.argv[0]), sys.argv[1:], repr(sys.path[0][-4:]))
    sys.exit(5)
"""

FLAGS = ("import sys; f = sys.flags; "
         "print(f.isolated, f.no_site, f.ignore_environment, f.dont_write_bytecode, "
         "sys.stdout.write_through, sys.warnoptions, sys._xoptions, 'site' in sys.modules)")

# Command lines run by the child and by the reference Python.
COMMAND_LINES = {
    "exit-3": ["-c", "import sys; sys.exit(3)"],
    "exception": ["-c", "def f():\n    raise ValueError('boom')\nf()"],
    "exit-message": ["-c", "import sys; sys.exit('going away')"],
    "keyboard-interrupt": ["-c", "raise KeyboardInterrupt"],
    "argv": ["-c", "import sys; print(sys.argv)", "a", "-b"],
    "stdlib-module": ["-m", "json.tool", "--compact"],
    "module": ["-m", "childmod", "x"],
    "script": ["script.py", "y"],
    "stdin-dash": ["-", "z"],
    "stdin": [],
    "options": ["-I", "-S", "-E", "-B", "-u", "-W", "error::DeprecationWarning", "-X", "utf8",
                "-c", FLAGS],
    "environment": ["-c", "import os; print(os.environ.get('_HANDLER'), "
                          "'AWS_LAMBDA_RUNTIME_API' in os.environ)"],
    "sys-path": ["-c", "import sys; print(sys.path)"],
    "version": ["--version"],
    "usage-error": ["-Z"],
    "missing-argument": ["-c"],
}
STDIN = {"stdlib-module": '{"a": [1, 2]}', "stdin-dash": "import sys; print('stdin', sys.argv)",
         "stdin": "print('from stdin'); raise SystemExit(6)"}


@pytest.fixture
def task(tmp_task_root):
    write(tmp_task_root, "app.py", APP)
    write(tmp_task_root, "childmod.py", CHILD_MODULE)
    write(tmp_task_root, "script.py", SCRIPT)
    return tmp_task_root


class Runtime(object):
    """The handler served by host in runtime mode, one host process for the test."""

    def __init__(self, host_bin, rapi, task):
        self.rapi = rapi
        self.proc = start_host(host_bin, rapi, task, "app.handler")
        self.calls = 0

    def __call__(self, event):
        self.calls += 1
        rid = self.rapi.enqueue(event)
        try:
            res = self.rapi.wait_for_result(rid, timeout=60)
        except AssertionError:
            raise AssertionError("no result; host exit=%s\n%s" % (
                self.proc.poll(), self.proc.output_text()[-4000:])) from None
        assert res.kind == "response", (res, self.proc.output_text()[-4000:])
        return res.json()

    def check_only_the_parent_talked(self):
        """Every request the server saw came from host's one connection: a GET next per
        invocation (and the one parked now) and a response per invocation."""
        self.rapi.wait_for_next_calls(self.calls + 1)
        reqs = list(self.rapi.requests)
        assert len({r.client_port for r in reqs}) == 1, reqs
        assert self.rapi.count("next") == self.calls + 1, reqs
        assert self.rapi.count("response") == self.calls, reqs
        assert len(reqs) == 2 * self.calls + 1, reqs
        assert self.proc.poll() is None


class Local(object):
    """The handler run by `host --local`, one host process per event."""

    def __init__(self, host_bin, rapi, task):
        self.host_bin, self.task, self.rapi = host_bin, task, rapi

    def __call__(self, event):
        (self.task / "event.json").write_text(json.dumps(event))
        # The Runtime API variables are there, as a child on Lambda would find them: a child
        # that ran host's runtime would contact the server.
        cp = run_local(self.host_bin, ["--local", "event.json", "--handler", "app.handler"],
                       cwd=self.task, env={"AWS_LAMBDA_RUNTIME_API": self.rapi.address,
                                            "_HANDLER": "app.handler"},
                       timeout=90)
        assert cp.returncode == 0, cp.stderr.decode()
        return json.loads(cp.stdout.decode().splitlines()[0])

    def check_only_the_parent_talked(self):
        assert self.rapi.requests == []


@pytest.fixture(params=["runtime", "local"])
def handler(request, host_bin, rapi, task):
    return {"runtime": Runtime, "local": Local}[request.param](host_bin, rapi, task)


def test_sys_executable_is_the_python3_entry_beside_host(handler, host_bin):
    out = handler({"kind": "executable"})
    entry = os.path.join(os.path.dirname(host_bin), "python3")
    assert out == {"executable": entry, "base": entry}
    assert os.path.samefile(entry, host_bin)
    handler.check_only_the_parent_talked()


@pytest.mark.parametrize("name", sorted(COMMAND_LINES))
def test_child_behaves_as_python3(handler, name):
    out = handler({"kind": "run", "args": COMMAND_LINES[name], "stdin": STDIN.get(name),
                   "reference": REFERENCE})
    assert out["child"] == out["reference"]
    handler.check_only_the_parent_talked()


def test_exit_statuses_and_output(handler):
    """What the comparisons above compare, spelled out for the cases the brief names."""
    def run(name):
        return handler({"kind": "run", "args": COMMAND_LINES[name], "stdin": STDIN.get(name),
                        "reference": REFERENCE})["child"]

    assert run("exit-3") == {"rc": 3, "out": "", "err": ""}
    exc = run("exception")
    assert exc["rc"] == 1 and exc["out"] == ""
    assert exc["err"].startswith("Traceback (most recent call last):\n")
    assert exc["err"].endswith("ValueError: boom\n")
    assert run("keyboard-interrupt")["rc"] == -signal.SIGINT
    assert run("module") == {"rc": 4, "out": "module __main__ ['x']\n", "err": ""}
    assert run("script") == {"rc": 5, "out": "script script.py ['y'] 'task'\n", "err": ""}
    assert run("stdin") == {"rc": 6, "out": "from stdin\n", "err": ""}
    assert run("stdin-dash")["out"] == "stdin ['-', 'z']\n"
    assert run("options")["out"] == \
        "1 1 1 1 True ['error::DeprecationWarning'] {'utf8': True} False\n"
    assert run("environment")["out"] == "app.handler True\n"
    assert run("usage-error")["rc"] == 2
    handler.check_only_the_parent_talked()


def test_child_sys_path_is_the_managed_runtimes(handler):
    """A child python3 on the managed runtime sees PYTHONPATH=/var/runtime (its bootstrap
    exports it, and so does host in runtime mode), then the standard library and
    site-packages; not the task root or /opt/python."""
    out = handler({"kind": "run", "args": COMMAND_LINES["sys-path"], "reference": REFERENCE})
    path = eval(out["child"]["out"])
    assert path[0] == ""
    if isinstance(handler, Runtime):
        assert path[1] == "/var/runtime"
    else:
        assert "/var/runtime" not in path
    assert not [p for p in path if "/opt/python" in p or p.endswith("/task")], path
    assert os.path.dirname(os.__file__) in path


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_multiprocessing_pool(handler, method, host_bin):
    out = handler({"kind": "pool", "method": method})
    assert out["squares"] == [x * x for x in range(8)]
    assert out["pids"] and out["parent"] not in out["pids"]
    assert out["executables"] == [os.path.join(os.path.dirname(host_bin), "python3")]
    handler.check_only_the_parent_talked()


# ---------------------------------------------------------------------------------------------
# Where the python3 entry is found, and the command line's switch

def _copy_host(host_bin, folder):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(host_bin, folder / "host")
    return folder / "host"


def _executable_of(host, tmp_path):
    """sys.executable as a handler run by this host binary sees it (local mode)."""
    write(tmp_path, "exe.py", "import sys\ndef handler(e, c):\n    return sys.executable\n")
    (tmp_path / "ev.json").write_text("{}")
    cp = run_local(host, ["--local", "ev.json", "--handler", "exe.handler"], cwd=tmp_path)
    assert cp.returncode == 0, cp.stderr.decode()
    return json.loads(cp.stdout.decode().splitlines()[0])


def test_entry_in_bin_beside_host(host_bin, tmp_path):
    """The layer's layout: bin/python3 -> ../bootstrap."""
    host = _copy_host(host_bin, tmp_path / "opt")
    (tmp_path / "opt" / "bin").mkdir()
    os.symlink("../host", tmp_path / "opt" / "bin" / "python3")
    assert _executable_of(host, tmp_path) == str(tmp_path / "opt" / "bin" / "python3")


def test_entry_of_make_install(host_bin, tmp_path):
    """make install: $(PREFIX)/bin/host and $(PREFIX)/lib/host/python3 -> ../../bin/host."""
    host = _copy_host(host_bin, tmp_path / "usr" / "bin")
    (tmp_path / "usr" / "lib" / "host").mkdir(parents=True)
    os.symlink("../../bin/host", tmp_path / "usr" / "lib" / "host" / "python3")
    assert _executable_of(host, tmp_path) == str(tmp_path / "usr" / "lib" / "host" / "python3")


def test_a_python3_that_is_another_program_is_not_taken(host_bin, tmp_path):
    """host installed beside the machine's python3 (/usr/bin): that python3 is not host."""
    host = _copy_host(host_bin, tmp_path / "d")
    os.symlink(REFERENCE, tmp_path / "d" / "python3")
    assert _executable_of(host, tmp_path) == ""
    (tmp_path / "d" / "bin").mkdir()
    os.link(host, tmp_path / "d" / "bin" / "python3")          # a hard link is host too
    assert _executable_of(host, tmp_path) == str(tmp_path / "d" / "bin" / "python3")


def test_no_entry_gives_an_empty_sys_executable(host_bin, tmp_path):
    """Never host's own path: a child started through it would be a second runtime."""
    host = _copy_host(host_bin, tmp_path / "alone")
    assert _executable_of(host, tmp_path) == ""
    cp = run_local(host, ["--python", "-c", "import sys; print(repr(sys.executable))"],
                   cwd=tmp_path)
    assert (cp.returncode, cp.stdout) == (0, b"''\n")


def test_python_option(host_bin, tmp_path, rapi):
    env = {"AWS_LAMBDA_RUNTIME_API": rapi.address, "_HANDLER": "app.handler"}
    cp = run_local(host_bin, ["--python", "-c", "import sys; print(sys.argv, sys.executable); "
                              "sys.exit(7)", "--python"], cwd=tmp_path, env=env)
    entry = os.path.join(os.path.dirname(host_bin), "python3")
    assert (cp.returncode, cp.stdout, cp.stderr) == (7, b"['-c', '--python'] %s\n"
                                                     % entry.encode(), b"")
    assert rapi.requests == []


@pytest.mark.parametrize("name", ["python", "python3", "python3.11", "python3.13"])
def test_python_names(host_bin, tmp_path, rapi, name):
    os.symlink(host_bin, tmp_path / name)
    env = base_env()
    env.update({"AWS_LAMBDA_RUNTIME_API": rapi.address, "_HANDLER": "app.handler"})
    cp = subprocess.run([str(tmp_path / name), "-c", "import sys; print(sys.executable)"],
                        env=env, capture_output=True, timeout=30)
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, b"%s\n" % str(tmp_path / name).encode(),
                                                     b"")
    assert rapi.requests == []


@pytest.mark.parametrize("name", ["python3-config", "pythonx", "python3.", "python3.1a", "bootstrap"])
def test_other_names_are_host(host_bin, tmp_path, name):
    os.symlink(host_bin, tmp_path / name)
    cp = subprocess.run([str(tmp_path / name), "-c", "print(1)"], env=base_env(),
                        capture_output=True, timeout=30)
    assert cp.returncode == 2
    assert b"host: unknown option '-c'" in cp.stderr


def test_python3_link_is_built(host_bin):
    link = Path(host_bin).with_name("python3")
    assert link.is_symlink() and os.readlink(link) == "host"
