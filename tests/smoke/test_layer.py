"""The deployable layer (`make layer`: dist/pythonX.Y/host-layer.zip), run as Lambda runs it.

Lambda unpacks the layer zip at /opt and the function zip at /var/task on Amazon Linux 2023
(glibc 2.34, no Python installed) and execs /opt/bootstrap with a fixed environment. Here:

- in the old-glibc build root (build/root, Debian 11: glibc 2.31, no Python either), in a private
  mount namespace (layer/inroot.sh): the layer bind-mounted at /opt, the function at /var/task,
  `env -i` and only the variables Lambda sets. That proves the layer needs nothing newer than the
  root's glibc and nothing from the machine that built it;
- on this machine itself (a newer glibc), unpacked in a temporary folder: host's relocation (its
  Python home is the folder of /proc/self/exe when lib/python3.X/os.py is there) makes it work
  anywhere.

Both drive the real bootstrap against the test Runtime API server and look at the replies and at
what the process mapped (/proc/PID/maps). Inside the root, the root's files are never changed.
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import rapi_server

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = (ROOT / "layer" / "python-version").read_text().strip()
DIST = Path(os.environ.get("LAYER_DIST") or ROOT / "dist" / f"python{DEFAULT_PYTHON}")
LAYER_ZIP = DIST / "host-layer.zip"
MANIFEST = DIST / "host-layer.json"
FUNCTIONS = DIST / "functions"
BUILDROOT = Path(os.environ.get("LAYER_BUILDROOT") or ROOT / "build" / "root")
INROOT = ROOT / "layer" / "inroot.sh"
PROBE = Path(__file__).with_name("probe.py")

sys.path.insert(0, str(ROOT / "layer"))
import mklayer  # noqa: E402  (unpack: extract keeping file modes and links, as Lambda does)

# What provided.al2023 sets (runtime-api.md §5).
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
LAMBDA_LD_LIBRARY_PATH = "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
AL2023_CA_DIR = "/etc/pki/tls/certs"          # ca-bundle.crt: AL2023's CA bundle

# Shared objects that must come from the system: glibc itself (libc.so.6, or libc-2.31.so as
# older glibc names the files its sonames link to).
GLIBC = re.compile(r"^(ld-linux[-\w.]*|ld|libc|libm|libmvec|libpthread|libdl|librt|libresolv|"
                   r"libutil|libanl|libnss_\w+)(-\d+\.\d+)?\.so(\.\d+)*$")
# The budget for the start path: bootstrap's own libraries and whatever the interpreter
# loads before host asks for the first event.
MAX_SHARED_OBJECTS_AT_FIRST_NEXT = 8

STDLIB_PROBES = ["os", "json", "ssl", "sqlite3", "ctypes", "decimal", "uuid", "lzma", "bz2",
                 "zoneinfo", "hashlib", "asyncio", "xml.parsers.expat", "csv", "zlib",
                 "http.client", "urllib.request", "email.parser", "logging.handlers"]
SECRET = "smoke-test-secret-" + "s" * 32


def _need(path):
    if path.exists():
        return path
    msg = f"{path} is missing: run `make layer` first"
    if os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def manifest():
    return json.loads(_need(MANIFEST).read_text())


@pytest.fixture(scope="module")
def py(manifest):
    """python3.X: the layer's own version, not the one running these tests."""
    return manifest["python_dir"]


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """The layer unpacked into <tmp>/opt, as Lambda unpacks it into /opt."""
    opt = tmp_path_factory.mktemp("layer") / "opt"
    mklayer.unpack(str(_need(LAYER_ZIP)), str(opt))
    return opt


def _task_root(tmp_path, *zips):
    root = tmp_path / "task"
    for name in zips:
        mklayer.unpack(str(_need(FUNCTIONS / f"{name}.zip")), str(root))
    root.mkdir(exist_ok=True)
    shutil.copyfile(PROBE, root / "probe.py")
    return root


def _lambda_vars(srv, handler):
    return {
        "AWS_LAMBDA_RUNTIME_API": srv.address,
        "_HANDLER": handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": "smoke",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/smoke",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
    }


def _can_use_buildroot():
    return (os.geteuid() == 0 and shutil.which("unshare") and shutil.which("chroot")
            and (BUILDROOT / "bin" / "sh").exists())


class OldRoot:
    """Runs the layer in the old-glibc root: layer at /opt, task at /var/task, exact env."""
    opt = "/opt"
    task = "/var/task"

    def __init__(self, layer, tmp_path):
        if not _can_use_buildroot():
            msg = f"needs root, unshare, chroot and the build root {BUILDROOT} (make layer)"
            if os.environ.get("CI"):
                pytest.fail(msg, pytrace=False)
            pytest.skip(msg)
        self.layer = layer
        self.tmp = tmp_path / "roottmp"        # the root's /tmp for this test
        self.tmp.mkdir()
        self.ca_dir = None                     # a folder to mount at /etc/pki/tls/certs

    def start(self, srv, task_root, handler, extra=None):
        env = _lambda_vars(srv, handler)
        env.update({"LAMBDA_TASK_ROOT": self.task, "LAMBDA_RUNTIME_DIR": "/var/runtime",
                    "PATH": LAMBDA_PATH, "LD_LIBRARY_PATH": LAMBDA_LD_LIBRARY_PATH})
        env.update(extra or {})
        binds = [f"{self.layer}:/opt", f"{task_root}:/var/task", f"{self.tmp}:/tmp"]
        if self.ca_dir:
            binds.append(f"{self.ca_dir}:{AL2023_CA_DIR}")
        args = [str(BUILDROOT)]
        for b in binds:
            args += ["--bind", b]
        args += ["--cwd", self.task, "--", "/usr/bin/env", "-i"]
        args += [f"{k}={v}" for k, v in env.items()] + ["/opt/bootstrap"]
        return rapi_server.spawn_host(str(INROOT), args, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

    def outside(self, path):
        """Where a path inside the root is on this machine (for reading files)."""
        for inside, out in (("/tmp", self.tmp),):
            if path == inside or path.startswith(inside + "/"):
                return str(out) + path[len(inside):]
        return path


class BuildMachine:
    """Runs the layer on this machine, unpacked in a temporary folder (its paths swapped in)."""

    def __init__(self, layer, tmp_path):
        self.layer = layer
        self.opt = str(layer)
        self.tmp = tmp_path
        self.task = None

    def start(self, srv, task_root, handler, extra=None):
        self.task = str(task_root)

        def here(value):
            return value.replace("/opt/", f"{self.opt}/").replace("/var/task", self.task)
        env = _lambda_vars(srv, handler)
        env.update({"LAMBDA_TASK_ROOT": self.task, "PATH": here(LAMBDA_PATH),
                    "LD_LIBRARY_PATH": here(LAMBDA_LD_LIBRARY_PATH)})
        env.update(extra or {})
        return rapi_server.spawn_host(str(self.layer / "bootstrap"), env=env, cwd=task_root)

    def outside(self, path):
        return path


@pytest.fixture
def oldroot(layer, tmp_path):
    return OldRoot(layer, tmp_path)


@pytest.fixture(params=["oldroot", "buildmachine"])
def where(request, layer, tmp_path):
    return (OldRoot if request.param == "oldroot" else BuildMachine)(layer, tmp_path)


def invoke(srv, proc, event, timeout=30, kind="response"):
    rid = srv.enqueue(event)
    try:
        res = srv.wait_for_result(rid, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"no result; bootstrap exit={proc.poll()} output:\n"
                             f"{proc.output_text()[-4000:]}") from None
    assert res.kind == kind, f"{res!r}\n{proc.output_text()[-4000:]}"
    return res.json()


def mapped_files(pid):
    """Files mapped into process `pid` (from outside the process: /proc/PID/maps)."""
    with open(f"/proc/{pid}/maps") as f:
        return sorted({line.split()[-1] for line in f
                       if len(line.split()) >= 6 and line.split()[-1].startswith("/")})


def shared_objects(paths):
    return [p for p in paths if re.search(r"\.so(\.\d+)*$", os.path.basename(p))]


def assert_only_layer_and_glibc(objects, opt):
    outside = [p for p in objects if not p.startswith(str(opt) + "/")
               and not GLIBC.match(os.path.basename(p))]
    assert not outside, f"mapped from outside the layer: {outside}"
    leaks = [p for p in objects if re.match(r"/usr/(local/)?lib/python3", p)
             or re.match(r"/usr/lib/\S*/libpython", p)]
    assert not leaks, leaks


# ---------------------------------------------------------------------------------------------
# The zip itself

def test_layer_zip_layout(py, manifest):
    with zipfile.ZipFile(_need(LAYER_ZIP)) as z:
        infos = {i.filename: i for i in z.infolist()}
        boot = infos.get("bootstrap")
        assert boot, "bootstrap must be at the layer root (it becomes /opt/bootstrap)"
        assert (boot.external_attr >> 16) & 0o111, "bootstrap must be executable"
        assert z.read("bootstrap")[:4] == b"\x7fELF", "bootstrap is host's ELF, not a script"
        link = infos.get("bin/python3")
        assert link, "bin/python3 (sys.executable) is missing"
        assert (link.external_attr >> 16) & 0o170000 == 0o120000, "bin/python3 must be a symlink"
        assert z.read(link) == b"../bootstrap"
        names = set(infos)
    for must in [f"lib/{py}/os.py", f"lib/{py}/lib-dynload/", f"lib/{py}/encodings/__init__.py"]:
        assert must in names, must
    libpython = [n for n in names if re.match(r"lib/libpython3\.\d+\.so", n)]
    assert bool(libpython) == (manifest["libpython"] == "shared"), libpython
    assert not [n for n in names if GLIBC.match(os.path.basename(n)) and n.startswith("lib/")]
    pruned = [n for n in names if re.match(rf"lib/{py}/(test|idlelib|tkinter|ensurepip)/", n)]
    assert not pruned, pruned[:5]
    assert not [n for n in names if n.startswith("python/") or "/site-packages/" in n], \
        "packages (boto3) belong in the function zip or a layer of their own"


def test_layer_fits_al2023_glibc():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_glibc.py"), "--quiet",
                          "--max", "2.34", str(_need(LAYER_ZIP))], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_stdlib_is_precompiled_with_unchecked_hashes(layer, py, manifest):
    """/opt is read-only on Lambda: .pyc files that would need a rewrite cost every cold start."""
    tag = "cpython-" + py[len("python"):].replace(".", "")
    for pyc in [layer / "lib" / py / "__pycache__" / f"os.{tag}.pyc",
                layer / "lib" / py / "json" / "__pycache__" / f"decoder.{tag}.pyc"]:
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc}: expected an unchecked-hash .pyc (flags 1), got {flags}"


def test_function_zips_hold_the_handlers_compiled_for_the_layer(py):
    tag = "cpython-" + py[len("python"):].replace(".", "")
    with zipfile.ZipFile(_need(FUNCTIONS / "hello.zip")) as z:
        assert "hello.py" in z.namelist()
        pyc = z.read(f"__pycache__/hello.{tag}.pyc")
        assert int.from_bytes(pyc[4:8], "little") == 0b01, "hello.pyc is not unchecked-hash"
    with zipfile.ZipFile(_need(FUNCTIONS / "store.zip")) as z:
        names = z.namelist()
        assert "store.py" in names and "shop/__init__.py" in names
        assert f"shop/__pycache__/__init__.{tag}.pyc" in names
        assert "hello.py" not in names


def test_build_root_has_old_glibc_and_no_python():
    """What makes the old-root tests mean something: glibc older than AL2023's, no Python."""
    if not _can_use_buildroot():
        pytest.skip(f"no build root at {BUILDROOT}")
    libc = BUILDROOT / "lib" / "x86_64-linux-gnu"
    versions = [re.match(r"libc-(\d+)\.(\d+)\.so", p.name) for p in libc.glob("libc-*.so")]
    versions = [tuple(map(int, m.groups())) for m in versions if m]
    assert versions and max(versions) <= (2, 34), versions
    assert not list((BUILDROOT / "usr" / "bin").glob("python3*"))


# ---------------------------------------------------------------------------------------------
# Running bootstrap: in the old-glibc root, and on this machine

def test_hello(where, tmp_path, rapi):
    task = _task_root(tmp_path, "hello")
    proc = where.start(rapi, task, "hello.lambda_handler")
    out = invoke(rapi, proc, {"name": "Layer"})
    assert out["statusCode"] == 200
    assert json.loads(out["body"]) == {"message": "Hello, Layer!"}
    out = invoke(rapi, proc, {})
    assert out["statusCode"] == 400
    assert json.loads(out["body"])["error"] == "missing_name"
    assert proc.poll() is None, "bootstrap must keep serving"


def test_interpreter_and_libraries_come_from_the_layer(where, tmp_path, rapi, manifest, py):
    task = _task_root(tmp_path)
    proc = where.start(rapi, task, "probe.handler")
    out = invoke(rapi, proc, {"imports": STDLIB_PROBES})
    opt = where.opt
    assert out["version"].split()[0] == manifest["python"]
    assert out["prefix"] == out["base_prefix"] == out["exec_prefix"] == opt
    for entry in out["path"]:
        # (host adds the literal /opt/python paths of layers that carry packages)
        assert entry.startswith((opt + "/", "/opt/python")) or entry == where.task, \
            f"sys.path entry outside the layer: {entry}"
    assert where.task in out["path"]
    for name, file in out["modules"].items():
        assert not file.startswith("!"), f"import {name} failed: {file}"
        if file != "<built-in>":
            assert file.startswith(f"{opt}/lib/{py}/"), (name, file)
    objects = shared_objects(out["maps"])
    assert_only_layer_and_glibc(objects, opt)
    assert [p for p in objects if "/lib-dynload/" in p], "the probe imports extension modules"
    if isinstance(where, OldRoot):
        glibc = [p for p in objects if GLIBC.match(os.path.basename(p))]
        assert glibc and all(p.startswith(("/lib/", "/usr/lib/")) for p in glibc), glibc
    else:
        assert_only_layer_and_glibc(shared_objects(mapped_files(proc.pid)), opt)


def test_few_shared_objects_when_the_first_next_is_sent(where, tmp_path, rapi):
    """Every shared object on the start path is a file a cold page cache reads and a set of
    relocations ld.so does: host asks for its first event with at most 8 mapped."""
    task = _task_root(tmp_path, "hello")
    proc = where.start(rapi, task, "hello.lambda_handler")
    rapi.wait_for_next_calls(1, timeout=20)   # no event queued: host waits inside that GET
    objects = shared_objects(mapped_files(proc.pid))
    assert len(objects) <= MAX_SHARED_OBJECTS_AT_FIRST_NEXT, objects


def test_handler_error_and_init_error(where, tmp_path, rapi):
    task = _task_root(tmp_path)
    proc = where.start(rapi, task, "probe.handler")
    err = invoke(rapi, proc, {"raise": "boom"}, kind="error")
    assert err["errorType"] == "ValueError" and err["errorMessage"] == "boom", err
    assert any("probe.py" in line for line in err["stackTrace"]), err
    assert proc.poll() is None

    with rapi_server.RuntimeAPIServer() as rapi2:
        proc2 = where.start(rapi2, task, "no_such_module.handler")
        doc = rapi2.wait_for_init_error(timeout=20).json()
        assert doc["errorType"] == "Runtime.ImportModuleError", doc
        assert "no_such_module" in doc["errorMessage"], doc
        assert proc2.wait_exit(10) != 0


def test_five_megabyte_echo(where, tmp_path, rapi):
    task = _task_root(tmp_path)
    proc = where.start(rapi, task, "probe.handler")
    payload = "".join(chr(0x41 + i % 26) for i in range(5 * 1024 * 1024))
    assert invoke(rapi, proc, {"echo": payload}) == payload
    assert invoke(rapi, proc, {"echo": {"n": [1, 2.5, None, "é"]}}) == {"n": [1, 2.5, None, "é"]}


def test_subprocess_with_sys_executable(where, tmp_path, rapi, manifest):
    """A handler that runs `sys.executable -c ...` gets the layer's interpreter: bin/python3 is
    host, which acts as CPython under that name."""
    task = _task_root(tmp_path)
    proc = where.start(rapi, task, "probe.handler")
    code = "import sys, ssl, sqlite3; print(sys.version.split()[0], sys.prefix)"
    out = invoke(rapi, proc, {"subprocess": code})
    assert out["executable"] == f"{where.opt}/bin/python3", out
    assert out["returncode"] == 0, out
    assert out["stdout"].split() == [manifest["python"], where.opt], out


def test_store_on_sqlite(where, tmp_path, rapi):
    task = _task_root(tmp_path, "store")
    db = "/tmp/store.sqlite3" if isinstance(where, OldRoot) else str(tmp_path / "store.sqlite3")
    proc = where.start(rapi, task, "store.handler",
                       {"STORE_TOKEN_SECRET": SECRET, "STORE_DB_PATH": db})

    def call(method, path, body=None, token=None):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
                 "rawQueryString": "", "headers": headers,
                 "requestContext": {"http": {"method": method, "path": path},
                                    "requestId": str(uuid.uuid4()), "stage": "$default"},
                 "isBase64Encoded": False}
        if body is not None:
            event["body"] = json.dumps(body)
        out = invoke(rapi, proc, event)
        return out["statusCode"], json.loads(out["body"])

    status, doc = call("GET", "/products")
    assert status == 200 and doc["products"], doc
    sku = doc["products"][0]["sku"]
    email = f"smoke-{uuid.uuid4().hex[:8]}@example.com"
    status, doc = call("POST", "/users", {"email": email, "password": "correct horse battery"})
    assert status == 201, doc
    status, doc = call("POST", "/sessions", {"email": email, "password": "correct horse battery"})
    assert status == 200, doc
    token = doc["token"]
    status, doc = call("POST", "/cart/items", {"sku": sku, "quantity": 2}, token)
    assert status == 200, doc
    status, doc = call("GET", "/cart", token=token)
    assert status == 200 and json.dumps(doc).count(sku) >= 1, doc
    status, doc = call("POST", "/orders", {"card_token": "tok_visa"}, token)
    assert status == 201, doc
    status, doc = call("GET", "/orders", token=token)
    assert status == 200 and len(doc["orders"]) == 1, doc
    status, doc = call("GET", "/cart")
    assert status == 401, doc
    assert os.path.exists(where.outside(db))


def test_store_refuses_to_start_without_its_secret(oldroot, tmp_path, rapi):
    task = _task_root(tmp_path, "store")
    proc = oldroot.start(rapi, task, "store.handler", {"STORE_DB_PATH": "/tmp/s.db"})
    err = rapi.wait_for_init_error(timeout=20)
    assert "STORE_TOKEN_SECRET" in err.text(), err
    assert proc.wait_exit(10) != 0


# ---------------------------------------------------------------------------------------------
# HTTPS from a handler, verified against AL2023's CA bundle path

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate from a throw-away CA; yields
    (url, CA certificate path)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test CA")
    d = tmp_path / "pki"
    d.mkdir()
    # The extensions Python 3.13's default context (VERIFY_X509_STRICT) insists on.
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=smoke CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "srv.key", "-out", "srv.csr", cwd=d)
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\n"
                           "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                           "authorityKeyIdentifier=keyid\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "srv.crt", cwd=d)

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"verified hello"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "srv.crt", d / "srv.key")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"https://127.0.0.1:{srv.server_address[1]}/", d / "ca.crt"
    finally:
        srv.shutdown()
        srv.server_close()


def test_https_verifies_against_al2023_ca_bundle(oldroot, tmp_path, rapi, tls_server):
    url, ca = tls_server
    certs = tmp_path / "certs"
    certs.mkdir()
    oldroot.ca_dir = certs
    task = _task_root(tmp_path)

    # No bundle at AL2023's path: the certificate cannot be verified.
    proc = oldroot.start(rapi, task, "probe.handler")
    out = invoke(rapi, proc, {"fetch": url})
    assert "CERTIFICATE_VERIFY_FAILED" in out.get("error", ""), out
    # ssl.get_default_verify_paths(): OpenSSL's compiled-in CA file and folder are AL2023's
    _cafile, _capath, _env, openssl_cafile, _env_dir, openssl_capath = out["verify_paths"]
    assert (openssl_cafile, openssl_capath) == (f"{AL2023_CA_DIR}/ca-bundle.crt", AL2023_CA_DIR), out
    proc.kill()

    # The CA in /etc/pki/tls/certs/ca-bundle.crt, as on Amazon Linux 2023. (A server of its own:
    # the killed bootstrap's pending GET next must not take the event.)
    shutil.copyfile(ca, certs / "ca-bundle.crt")
    with rapi_server.RuntimeAPIServer() as rapi2:
        proc = oldroot.start(rapi2, task, "probe.handler")
        out = invoke(rapi2, proc, {"fetch": url})
    assert out.get("status") == 200 and out["body"] == "verified hello", out


def test_bootstrap_carries_rpath_to_its_lib_folder(layer):
    """DT_RPATH ($ORIGIN/lib), not RUNPATH: on Lambda /lib64 comes first on LD_LIBRARY_PATH, and
    AL2023 has its own libssl.so.3 there; the layer's must win, for indirect dependencies too."""
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not installed")
    out = subprocess.run(["readelf", "-d", str(layer / "bootstrap")], capture_output=True,
                         text=True).stdout
    assert re.search(r"\(RPATH\).*\[\$ORIGIN/lib\]", out), out
    assert "(RUNPATH)" not in out
