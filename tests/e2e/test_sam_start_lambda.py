"""`host local start-lambda`: the Invoke API in front of real host runtime workers, driven by
boto3's lambda client and by the AWS CLI's request shape; the RIE's URL with --handler;
concurrency, timeouts that reset a worker, code reload, Ctrl-C and a port in use."""

import base64
import http.client
import json
import os
import subprocess
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from sam_helpers import Server, lambda_client

APP = '''
import os, time
print("init", os.getpid())
def handler(event, context):
    print("handling", event)
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("touch"):
        open(event["touch"], "w").write(context.aws_request_id)
    return {"pid": os.getpid(), "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            "version": VERSION, "arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis()}
VERSION = 1
'''


@pytest.fixture
def code(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


@pytest.fixture
def server(host_bin, code):
    s = Server(host_bin, "start-lambda", "--handler", "app.handler", "--timeout", "2",
               "--workers", "4", cwd=code)
    yield s
    s.stop()


def client(server):
    return lambda_client(server, max_pool_connections=64)


def test_boto3_request_response_tail_and_errors(server):
    lam = client(server)
    r = lam.invoke(FunctionName="function", Payload=json.dumps({"a": 1}), LogType="Tail")
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in r
    body = json.loads(r["Payload"].read())
    assert body["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:function"
    assert 0 < body["remaining"] <= 2000
    log = base64.b64decode(r["LogResult"]).decode()
    assert log.startswith("START RequestId: ")
    assert "handling {'a': 1}" in log
    assert "\nREPORT RequestId: " in log and "Init Duration" in log

    r = lam.invoke(FunctionName="function", Payload=b'{"fail": true}')
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorType"] == "ValueError" and err["errorMessage"] == "boom"

    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="nope", Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName="function", Payload=b"{not json")


def test_event_runs_in_background_and_dry_run(server, tmp_path):
    lam = client(server)
    marker = tmp_path / "ran"
    r = lam.invoke(FunctionName="function", InvocationType="Event",
                   Payload=json.dumps({"sleep": 0.3, "touch": str(marker)}))
    assert r["StatusCode"] == 202
    assert not marker.exists()            # answered before the function ran to its end
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    assert lam.invoke(FunctionName="function", InvocationType="DryRun")["StatusCode"] == 204


def test_aws_cli_request_shape(server):
    """What `aws lambda invoke --function-name ARN --qualifier '$LATEST' --log-type Tail` sends."""
    arn = urllib.parse.quote("arn:aws:lambda:us-east-1:123456789012:function:function", safe="")
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    c.request("POST", "/2015-03-31/functions/%s/invocations?Qualifier=%%24LATEST" % arn, body=b'{"k":"v"}',
              headers={"X-Amz-Invocation-Type": "RequestResponse", "X-Amz-Log-Type": "Tail",
                       "Content-Type": "application/octet-stream",
                       "X-Amz-Client-Context": base64.b64encode(b'{"custom": {"a": "b"}}').decode()})
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("X-Amz-Executed-Version") == "$LATEST"
    assert r.getheader("X-Amz-Log-Result")
    assert json.loads(r.read())["version"] == 1


def test_trace_id_passes_through(server):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    c.request("POST", "/2015-03-31/functions/function/invocations", body=b"{}",
              headers={"X-Amzn-Trace-Id": trace})
    r = c.getresponse()
    assert json.loads(r.read())["trace"] == trace


def test_rie_url_50_concurrent_requests(server):
    def one(i):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        c.request("POST", "/2015-03-31/functions/function/invocations",
                  body=json.dumps({"i": i, "sleep": 0.02}))
        r = c.getresponse()
        return r.status, json.loads(r.read())

    with ThreadPoolExecutor(50) as ex:
        results = list(ex.map(one, range(50)))
    assert [s for s, _ in results] == [200] * 50
    pids = {b["pid"] for _, b in results}
    assert 1 < len(pids) <= 4             # spread over warm workers, never more than --workers
    assert server.log.count("START RequestId") == 50
    assert server.log.count("\nREPORT RequestId") + server.log.startswith("REPORT") == 50


def test_timeout_resets_the_worker(server):
    lam = client(server)
    first = json.loads(lam.invoke(FunctionName="function", Payload=b"{}")["Payload"].read())
    r = lam.invoke(FunctionName="function", Payload=b'{"sleep": 5}')
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in err["errorMessage"]
    server.wait_log(r"Status: timeout")
    after = json.loads(lam.invoke(FunctionName="function", Payload=b"{}")["Payload"].read())
    assert after["version"] == 1          # a fresh worker answers
    assert first["pid"] != after["pid"] or server.log.count("init ") >= 2


def test_code_change_is_picked_up_by_the_next_request(server, code):
    lam = client(server)
    assert json.loads(lam.invoke(FunctionName="function", Payload=b"{}")["Payload"].read())["version"] == 1
    (code / "app.py").write_text(APP.replace("VERSION = 1", "VERSION = 2"))
    assert json.loads(lam.invoke(FunctionName="function", Payload=b"{}")["Payload"].read())["version"] == 2


def test_ctrl_c_stops_cleanly_and_port_in_use(host_bin, code, server):
    p = subprocess.run([host_bin, "local", "start-lambda", "--handler", "app.handler", "-p", str(server.port)],
                       cwd=code, capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "Address already in use" in p.stderr and "pick another with -p PORT" in p.stderr
    client(server).invoke(FunctionName="function", Payload=b"{}")
    pid = json.loads(client(server).invoke(FunctionName="function", Payload=b"{}")["Payload"].read())["pid"]
    assert server.stop() == 0
    assert "stopping" in server.log
    time.sleep(0.2)
    assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_template_functions_by_logical_id(host_bin):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    s = Server(host_bin, "start-lambda", cwd=repo)
    try:
        lam = client(s)
        r = lam.invoke(FunctionName="HelloFunction",
                       Payload=open(os.path.join(repo, "pyhandlers/events/hello.json"), "rb").read())
        assert json.loads(json.loads(r["Payload"].read())["body"]) == {"message": "Hello, Ada!"}
    finally:
        s.stop()


def test_server_is_clean_under_valgrind(host_bin, code, tmp_path):
    """Every path of the pool (results, errors, Tail, Event, a timeout, a reload, shutdown)
    with the server under memcheck: no invalid access, no definite leak."""
    log = tmp_path / "vg.log"
    import sam_helpers
    port = sam_helpers.free_port()
    proc = subprocess.Popen(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                             "--show-leak-kinds=definite", "--log-file=%s" % log, host_bin, "local",
                             "start-lambda", "--handler", "app.handler", "--timeout", "1", "-p", str(port)],
                            cwd=code, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.2)

        def call(body, **headers):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/2015-03-31/functions/function/invocations", body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read()

        assert call(b'{"a": 1}', **{"X-Amz-Log-Type": "Tail"})[0] == 200
        assert b"boom" in call(b'{"fail": 1}')[1]
        assert b"Sandbox.Timedout" in call(b'{"sleep": 3}')[1]
        assert call(b"{}", **{"X-Amz-Invocation-Type": "Event"})[0] == 202
        (code / "app.py").write_text(APP.replace("VERSION = 1", "VERSION = 3"))
        assert json.loads(call(b"{}")[1])["version"] == 3
    finally:
        proc.send_signal(2)
        proc.wait(60)
    assert proc.returncode == 0
    assert log.read_text() == ""
