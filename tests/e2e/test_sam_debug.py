"""--debug (no timeout, one worker, stdin attached so breakpoint() works) and --debug-port
(debugpy listens and init waits for the editor) for invoke and the servers."""

import http.client
import json
import subprocess
import sys
import time

from sam_helpers import free_port

PY_XY = "%d.%d" % sys.version_info[:2]

APP = '''
import os, time
def handler(event, context):
    x = 41
    breakpoint()
    time.sleep(1.5)           # past the template's Timeout: 1
    return {"x": x + 1, "pid": os.getpid()}
'''

TEMPLATE = ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      Handler: app.handler\n      Runtime: python3.11\n      Timeout: 1\n")


def project(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


def test_invoke_debug_has_pdb_on_stdin_and_no_timeout(host_bin, tmp_path):
    p = subprocess.run([host_bin, "local", "invoke", "--debug"], cwd=project(tmp_path), input="p x * 2\nc\n",
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["x"] == 42
    assert "(Pdb) 82" in p.stderr
    p = subprocess.run([host_bin, "local", "invoke"], cwd=tmp_path, input="c\n", capture_output=True,
                       text=True, timeout=30)
    assert json.loads(p.stdout)["errorType"] == "Sandbox.Timedout"   # without --debug


def test_server_debug_one_worker_stdin_no_timeout(host_bin, tmp_path):
    port = free_port()
    proc = subprocess.Popen([host_bin, "local", "start-lambda", "--debug", "-p", str(port)], cwd=project(tmp_path),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        proc.stdin.write("p x + 1\nc\np x + 2\nc\n")
        proc.stdin.flush()
        pids = set()
        for _ in range(2):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/2015-03-31/functions/Fn/invocations", body=b"{}")
            r = c.getresponse()
            body = json.loads(r.read())
            assert r.status == 200 and body["x"] == 42 and r.getheader("X-Amz-Function-Error") is None
            pids.add(body["pid"])
        assert len(pids) == 1               # one worker
    finally:
        proc.send_signal(2)
        out, err = proc.communicate(timeout=10)
    assert "(Pdb)" in out + err and "42" in out + err


def test_debug_port_starts_debugpy_and_waits(host_bin, tmp_path):
    site = tmp_path / ".venv" / "lib" / ("python" + PY_XY) / "site-packages" / "debugpy"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text(
        "import os\n"
        "def listen(addr):\n    open(os.environ['MARKER'], 'a').write('listen %s:%d\\n' % addr)\n"
        "def wait_for_client():\n    open(os.environ['MARKER'], 'a').write('waited\\n')\n")
    (tmp_path / "app.py").write_text("def handler(e, c):\n    return 'ok'\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE.replace("Timeout: 1", "Environment:\n        Variables:\n"
                                                             "          MARKER: " + str(tmp_path / "m.txt")))
    p = subprocess.run([host_bin, "local", "invoke", "--debug-port", "5890"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "m.txt").read_text() == "listen 127.0.0.1:5890\nwaited\n"
    assert "debugpy listening on 127.0.0.1:5890" in p.stderr
