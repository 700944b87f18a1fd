"""`host local generate-event`: SAM's service and event names, the shapes AWS documents, fields."""

import base64
import gzip
import json
import subprocess

import pytest

EVENTS = [("apigateway", "http-api-proxy"), ("apigateway", "aws-proxy"), ("sqs", "receive-message"),
          ("sns", "notification"), ("s3", "put"), ("dynamodb", "update"), ("kinesis", "get-records"),
          ("cloudwatch", "logs"), ("cloudwatch", "scheduled-event"), ("eventbridge", "event")]


def gen(host_bin, *args):
    return subprocess.run([host_bin, "local", "generate-event", *args], capture_output=True, text=True,
                          timeout=10)


@pytest.mark.parametrize("service,event", EVENTS)
def test_every_event_is_json(host_bin, service, event):
    p = gen(host_bin, service, event)
    assert p.returncode == 0, p.stderr
    assert isinstance(json.loads(p.stdout), dict)


def test_shapes_and_fields(host_bin):
    ev = json.loads(gen(host_bin, "apigateway", "http-api-proxy", "--path", "/users", "--method", "GET",
                        "--body", '{"q": "x"}').stdout)
    assert ev["version"] == "2.0" and ev["rawPath"] == "/users" and ev["body"] == '{"q": "x"}'
    assert ev["requestContext"]["http"]["method"] == "GET"
    ev = json.loads(gen(host_bin, "apigateway", "aws-proxy", "--stage", "dev").stdout)
    assert ev["httpMethod"] == "POST" and ev["requestContext"]["path"] == "/dev/path/to/resource"
    rec = json.loads(gen(host_bin, "s3", "put", "--bucket", "b1", "--key", 'we"ird').stdout)["Records"][0]
    assert rec["eventName"] == "ObjectCreated:Put"
    assert rec["s3"]["bucket"] == {"name": "b1", "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": "arn:aws:s3:::b1"}
    assert rec["s3"]["object"]["key"] == 'we"ird'
    rec = json.loads(gen(host_bin, "sqs", "receive-message", "--body", "hi", "--queue", "q1").stdout)["Records"][0]
    assert rec["body"] == "hi" and rec["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q1"
    assert [r["eventName"] for r in json.loads(gen(host_bin, "dynamodb", "update").stdout)["Records"]] == \
        ["INSERT", "MODIFY", "REMOVE"]
    rec = json.loads(gen(host_bin, "kinesis", "get-records", "--data", "payload").stdout)["Records"][0]
    assert base64.b64decode(rec["kinesis"]["data"]) == b"payload"
    logs = json.loads(gen(host_bin, "cloudwatch", "logs", "--message", "boom").stdout)
    inner = json.loads(gzip.decompress(base64.b64decode(logs["awslogs"]["data"])))
    assert inner["messageType"] == "DATA_MESSAGE" and inner["logEvents"][0]["message"] == "boom"
    ev = json.loads(gen(host_bin, "eventbridge", "event", "--detail", '{"n": 1}').stdout)
    assert ev["detail"] == {"n": 1}


def test_errors_and_listing(host_bin):
    p = gen(host_bin, "sqs", "receive-message", "--nope", "1")
    assert p.returncode == 2 and "has no field --nope" in p.stderr and "--body" in p.stderr
    p = gen(host_bin, "s3", "delete")
    assert p.returncode == 2 and "no event 's3 delete'" in p.stderr
    p = gen(host_bin)
    assert p.returncode == 0 and "http-api-proxy" in p.stdout and "get-records" in p.stdout


def test_piped_into_invoke(host_bin, tmp_path):
    (tmp_path / "app.py").write_text("def h(e, c):\n    return e['Records'][0]['s3']['object']['key']\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: app.h\n      Runtime: python3.11\n")
    ev = gen(host_bin, "s3", "put", "--key", "k/1").stdout
    p = subprocess.run([host_bin, "local", "invoke", "-e", "-"], input=ev, cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == "k/1"
