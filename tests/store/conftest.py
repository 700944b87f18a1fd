"""Fixtures for the store's tests: the shop package on sys.path, a dynalite server (a real
DynamoDB implementation, from npm) for the DynamoDB backend, and a fresh store per test on
each backend."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYHANDLERS = REPO / "pyhandlers"
if str(PYHANDLERS) not in sys.path:
    sys.path.insert(0, str(PYHANDLERS))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from shop import config  # noqa: E402

SECRET = "test-secret-" + "s" * 40

# boto3 signs requests even for dynalite: any credentials do, but they must exist
AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true"}

BACKENDS = ["sqlite", "dynamodb"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_dynalite():
    cli = HERE / "node_modules" / "dynalite" / "cli.js"
    if cli.exists():
        return cli
    npm = shutil.which("npm")
    if not npm:
        pytest.fail("npm is not installed: it is needed to install dynalite for the DynamoDB "
                    "tests (apt-get install nodejs npm)", pytrace=False)
    cmd = [npm, "ci" if (HERE / "package-lock.json").exists() else "install",
           "--no-audit", "--no-fund", "--loglevel=error"]
    proc = subprocess.run(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300)
    if proc.returncode != 0 or not cli.exists():
        pytest.fail("installing dynalite failed (%s):\n%s"
                    % (" ".join(cmd), proc.stdout.decode(errors="replace")[-3000:]), pytrace=False)
    return cli


class Dynalite:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        self.endpoint = "http://127.0.0.1:%d" % port


@pytest.fixture(scope="session")
def dynalite():
    """dynalite on 127.0.0.1 at a free port, in memory, for the whole session."""
    if os.environ.get("STORE_SKIP_DYNAMODB") == "1":
        pytest.skip("STORE_SKIP_DYNAMODB=1")
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.fail("node is not installed: it runs dynalite for the DynamoDB tests "
                    "(apt-get install nodejs npm)", pytrace=False)
    cli = _ensure_dynalite()
    last = ""
    for _ in range(5):           # a free port can be taken between the probe and the bind
        port = _free_port()
        proc = subprocess.Popen([node, str(cli), "--host", "127.0.0.1", "--port", str(port),
                                 "--createTableMs", "20", "--deleteTableMs", "20"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            try:
                yield Dynalite(proc, port)
            finally:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            return
        last = proc.stdout.read().decode(errors="replace")
    pytest.fail("dynalite did not start:\n" + last[-3000:], pytrace=False)


@pytest.fixture
def aws_env(monkeypatch):
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    return dict(AWS_ENV)


def store_env_for(backend, tmp_path, dynalite=None):
    """The environment variables that point the handler at a fresh, empty store."""
    env = {"STORE_TOKEN_SECRET": SECRET}
    if backend == "sqlite":
        env["STORE_DB_PATH"] = str(tmp_path / ("store-%s.sqlite3" % uuid.uuid4().hex[:8]))
    else:
        env.update(AWS_ENV)
        env["STORE_TABLE"] = "store-test-" + uuid.uuid4().hex[:12]
        env["STORE_DYNAMODB_ENDPOINT"] = dynalite.endpoint
    return env


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def store_env(request, backend, tmp_path, aws_env):
    """Env for a fresh store on `backend`, set up by the code's own set-up path."""
    dyn = request.getfixturevalue("dynalite") if backend == "dynamodb" else None
    env = store_env_for(backend, tmp_path, dyn)
    from shop import setup
    store = setup.setup(config.load(env))
    if backend == "sqlite":
        store.close()
    return env


@pytest.fixture
def settings(store_env):
    return config.load(store_env)


@pytest.fixture
def store(settings):
    from shop.storage import open_store
    s = open_store(settings)
    yield s
    if hasattr(s, "close"):
        s.close()
