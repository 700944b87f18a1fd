# Shared pytest set-up: tests/ is on sys.path, so every suite can `import rapi_server`.
import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import rapi_server  # noqa: E402

REPO_ROOT = TESTS_DIR.parent


def _host_bin_path():
    env = os.environ.get("HOST_BIN")
    if env:
        p = Path(env)
        if not p.is_absolute():
            p = (REPO_ROOT / p) if (REPO_ROOT / p).exists() else p.resolve()
        return p
    return Path(__file__).parent.parent / "build" / "host"


@pytest.fixture(scope="session")
def host_bin():
    """Path of the host binary (env HOST_BIN, default <repo>/build/host). Fails (does not
    skip) when it is missing."""
    p = _host_bin_path()
    if not p.exists():
        pytest.fail("host binary not found at %s: build it with `make -C %s` or set HOST_BIN"
                    % (p, REPO_ROOT), pytrace=False)
    return str(p.resolve())


@pytest.fixture
def rapi():
    """A fresh Runtime API server per test, closed at teardown."""
    srv = rapi_server.RuntimeAPIServer()
    try:
        yield srv
    finally:
        rapi_server.kill_all()
        srv.close()


@pytest.fixture
def tmp_task_root(tmp_path):
    """An empty directory to write handler files into (LAMBDA_TASK_ROOT)."""
    d = tmp_path / "task"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _kill_host_processes():
    """Every host process started through rapi_server is killed when the test ends."""
    yield
    rapi_server.kill_all()
