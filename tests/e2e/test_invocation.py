"""Invocation headers, the context object and the connection (awslambdaric.md §3, §6, §7;
runtime-api.md §2)."""

import json
import re
import time

import pytest

from e2e_helpers import Ev, copy_handlers, dumps, invoke_one, run_invokes, write

ENV_ALL = {
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/myfn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/27/[$LATEST]abc",
    "AWS_LAMBDA_FUNCTION_NAME": "myfn",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
}


def ctx_of(host_bin, rapi, root, env=None, **enqueue_kw):
    copy_handlers(root)
    proc, res = invoke_one(host_bin, rapi, root, "probe.context_info", {}, env=env,
                           **enqueue_kw)
    assert res.kind == "response", res
    return res.json()


# -------------------------------------------------------------------------------------------
# Headers of GET next (runtime-api.md §2.1, awslambdaric.md §3.2)


def test_request_id_deadline_and_arn(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.2/§7: request id, deadline (remaining time from the wall clock, int),
    # invoked function ARN.
    deadline = int(time.time() * 1000) + 5000
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:f:prod"
    c = ctx_of(host_bin, rapi, tmp_task_root, request_id="req-abc-1", deadline_ms=deadline,
               headers={"Lambda-Runtime-Invoked-Function-Arn": arn})
    assert c["aws_request_id"] == "req-abc-1"
    assert c["invoked_function_arn"] == arn
    assert c["deadline"] == deadline
    assert c["remaining_type"] == "int"
    assert 2000 < c["remaining"] <= 5000


def test_deadline_in_the_past_gives_zero(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: remaining time is clamped to at least 0.
    c = ctx_of(host_bin, rapi, tmp_task_root, deadline_ms=int(time.time() * 1000) - 10000)
    assert c["remaining"] == 0


def test_missing_arn_header_gives_empty_string(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.2: invoked_function_arn is "" (not None) when the header is missing.
    c = ctx_of(host_bin, rapi, tmp_task_root,
               headers={"Lambda-Runtime-Invoked-Function-Arn": None})
    assert c["invoked_function_arn"] == ""


def test_missing_deadline_header_gives_zero_remaining(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.2: a missing deadline header reads as 0 -> remaining time 0.
    c = ctx_of(host_bin, rapi, tmp_task_root, headers={"Lambda-Runtime-Deadline-Ms": None})
    assert c["remaining"] == 0


def test_trace_id_set_then_removed(host_bin, rapi, tmp_task_root):
    # runtime-api.md §2.1 / awslambdaric.md §3.3: _X_AMZN_TRACE_ID set per invoke, deleted
    # when a later invoke has no trace header.
    copy_handlers(tmp_task_root)
    trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "probe.env", [
        Ev({"keys": ["_X_AMZN_TRACE_ID"]}, headers={"Lambda-Runtime-Trace-Id": trace}),
        Ev({"keys": ["_X_AMZN_TRACE_ID"]}),
        Ev({"keys": ["_X_AMZN_TRACE_ID"]}, headers={"Lambda-Runtime-Trace-Id": "Root=2"}),
    ], env={"_X_AMZN_TRACE_ID": "from-env"})
    assert [r.json()["_X_AMZN_TRACE_ID"] for r in results] == [trace, "<unset>", "Root=2"]


def test_client_context(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: ClientContext (custom/env dicts, client -> Client with the
    # snake_case slots, unknown keys dropped, missing ones None).
    cc = {"custom": {"a": 1}, "env": {"e": 2},
          "client": {"installation_id": "inst", "app_title": "T", "unknownKey": "x"}}
    c = ctx_of(host_bin, rapi, tmp_task_root,
               headers={"Lambda-Runtime-Client-Context": json.dumps(cc)})
    assert c["client_context"] == {
        "type": "ClientContext", "custom": {"a": 1}, "env": {"e": 2},
        "client": {"type": "Client", "installation_id": "inst", "app_title": "T",
                   "app_version_name": None, "app_version_code": None,
                   "app_package_name": None}}


def test_client_context_without_client_key(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: missing keys become None; client None.
    c = ctx_of(host_bin, rapi, tmp_task_root,
               headers={"Lambda-Runtime-Client-Context": '{"custom": {"k": "v"}}'})
    assert c["client_context"] == {"type": "ClientContext", "custom": {"k": "v"},
                                   "env": None, "client": None}


@pytest.mark.parametrize("value", [None, ""])
def test_client_context_absent_or_empty_is_none(host_bin, rapi, tmp_task_root, value):
    # runtime-api.md §2.1: an empty value is treated as absent.
    hdrs = {} if value is None else {"Lambda-Runtime-Client-Context": value}
    c = ctx_of(host_bin, rapi, tmp_task_root, headers=hdrs)
    assert c["client_context"] is None


def test_cognito_identity(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: identity slots filled from cognitoIdentityId/cognitoIdentityPoolId.
    ci = {"cognitoIdentityId": "cid-1", "cognitoIdentityPoolId": "pool-1"}
    c = ctx_of(host_bin, rapi, tmp_task_root,
               headers={"Lambda-Runtime-Cognito-Identity": json.dumps(ci)})
    assert c["identity"] == {"type": "CognitoIdentity", "cognito_identity_id": "cid-1",
                             "cognito_identity_pool_id": "pool-1"}


@pytest.mark.parametrize("value", [None, ""])
def test_identity_always_an_object(host_bin, rapi, tmp_task_root, value):
    # awslambdaric.md §7: identity is always an object, never None (fields None).
    hdrs = {} if value is None else {"Lambda-Runtime-Cognito-Identity": value}
    c = ctx_of(host_bin, rapi, tmp_task_root, headers=hdrs)
    assert c["identity"] == {"type": "CognitoIdentity", "cognito_identity_id": None,
                             "cognito_identity_pool_id": None}


def test_tenant_id(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.2/§7: Lambda-Runtime-Aws-Tenant-Id -> context.tenant_id; empty ->
    # None; absent -> None.
    copy_handlers(tmp_task_root)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "probe.context_info", [
        Ev({}, headers={"Lambda-Runtime-Aws-Tenant-Id": "tenant-A"}),
        Ev({}, headers={"Lambda-Runtime-Aws-Tenant-Id": ""}),
        Ev({}),
    ])
    assert [r.json()["tenant_id"] for r in results] == ["tenant-A", None, None]


def test_bad_client_context_json_is_context_unmarshal_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: invalid client-context JSON -> Runtime.LambdaContextUnmarshalError
    # "Unable to parse Client Context JSON: <msg>", stackTrace [].
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.context_info", {},
                           request_id="rid-cc",
                           headers={"Lambda-Runtime-Client-Context": "{not json"})
    assert res.kind == "error"
    assert res.body == dumps({
        "errorMessage": "Unable to parse Client Context JSON: Expecting property name "
                        "enclosed in double quotes: line 1 column 2 (char 1)",
        "errorType": "Runtime.LambdaContextUnmarshalError", "requestId": "rid-cc",
        "stackTrace": []})


def test_bad_cognito_json_is_context_unmarshal_error(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.5: "Unable to parse Cognito Identity JSON: <msg>".
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.context_info", {},
                           request_id="rid-ci",
                           headers={"Lambda-Runtime-Cognito-Identity": "nope"})
    assert res.kind == "error"
    assert res.json() == {
        "errorMessage": "Unable to parse Cognito Identity JSON: Expecting value: line 1 "
                        "column 1 (char 0)",
        "errorType": "Runtime.LambdaContextUnmarshalError", "requestId": "rid-ci",
        "stackTrace": []}


@pytest.mark.parametrize("with_id", [True, False])
def test_invocation_id_echoed_only_when_received(host_bin, rapi, tmp_task_root, with_id):
    # runtime-api.md §2.1/§2.2: Lambda-Runtime-Invocation-Id echoed as a request header on
    # /response and /error, only when it was received.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("x")
            return 1
    """)
    h1 = {"Lambda-Runtime-Invocation-Id": "inv-111"} if with_id else {}
    h2 = {"Lambda-Runtime-Invocation-Id": "inv-222"} if with_id else {}
    proc, (ok, err) = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                  [Ev({}, headers=h1), Ev({"fail": 1}, headers=h2)])
    assert ok.kind == "response" and err.kind == "error"
    if with_id:
        assert ok.headers.get("lambda-runtime-invocation-id") == "inv-111"
        assert err.headers.get("lambda-runtime-invocation-id") == "inv-222"
    else:
        assert "lambda-runtime-invocation-id" not in ok.headers
        assert "lambda-runtime-invocation-id" not in err.headers


def test_unknown_headers_ignored_and_case_insensitive(host_bin, rapi, tmp_task_root):
    # runtime-api.md §2.1, §8 item 4: headers read case-insensitively; unknown ones ignored.
    c = ctx_of(host_bin, rapi, tmp_task_root, request_id="lower-rid", headers={
        "Lambda-Runtime-Aws-Request-Id": None, "lambda-runtime-aws-request-id": "lower-rid",
        "Lambda-Runtime-Future-Thing": "whatever"})
    assert c["aws_request_id"] == "lower-rid"


def test_request_id_in_post_path(host_bin, rapi, tmp_task_root):
    # runtime-api.md §1: the result goes to /runtime/invocation/{AwsRequestId}/response.
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.ret", 1,
                           request_id="8f5e6c1e-1111-2222-3333-444455556666")
    assert res.path == ("/2018-06-01/runtime/invocation/"
                        "8f5e6c1e-1111-2222-3333-444455556666/response")


# A request id that is no UUID goes into the path as one %-escaped segment: "." and ".."
# escaped too, as libcurl would remove them as dot segments (issue 8). Pairs (id, segment).
ODD_REQUEST_IDS = [
    (".", "%2E"), ("..", "%2E%2E"), ("...", "..."), ("x.y", "x.y"), ("a/b", "a%2Fb"),
    ("../../init/error", "..%2F..%2Finit%2Ferror"), ("a?b", "a%3Fb"), ("a#b", "a%23b"),
    ("50%", "50%25"), ("%2E%2E", "%252E%252E"), ("a b", "a%20b"), ("a;b+c", "a%3Bb%2Bc"),
    ("A-Z_a~z.0-9", "A-Z_a~z.0-9"),
]

def hex_upper(path):
    """The path with its %-escapes' hex digits in upper case: libcurl's URL API writes them
    in one case of its own (7.88 lower, 8.x upper), which RFC 3986 §6.2.2.1 makes the same."""
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), path)


ODD_ID_APP = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("failing on purpose")
    return context.aws_request_id
"""


@pytest.mark.parametrize("fail", [False, True], ids=["response", "error"])
def test_request_id_escaped_as_one_path_segment(host_bin, rapi, tmp_task_root, fail):
    write(tmp_task_root, "app.py", ODD_ID_APP)
    events = [Ev({"fail": fail}, request_id=rid) for rid, _ in ODD_REQUEST_IDS]
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", events)
    kind = "error" if fail else "response"
    for (rid, segment), res in zip(ODD_REQUEST_IDS, results):
        assert hex_upper(res.path) == "/2018-06-01/runtime/invocation/%s/%s" % (segment, kind), rid
        assert res.kind == kind and res.status == 202, res
        if not fail:
            assert res.json() == rid
    assert [r.request_id for r in rapi.results] == [rid for rid, _ in ODD_REQUEST_IDS]


LLONG_MAX = 2 ** 63 - 1

# Deadline headers that are no plain decimal number read as 0; past 64 bits, as the largest
# 64-bit value (issue 8: the subtraction once overflowed). Pairs (header, deadline).
ODD_DEADLINES = [
    ("-99999999999999999999", 0), ("-1", 0), ("+5", 0), ("12 34", 0), ("0x10", 0),
    ("1800000000000abc", 0), ("1.8e12", 0), ("99999999999999999999", LLONG_MAX),
    ("9223372036854775808", LLONG_MAX), ("9223372036854775807", LLONG_MAX),
]


def test_out_of_range_or_malformed_deadline(host_bin, rapi, tmp_task_root):
    copy_handlers(tmp_task_root)
    events = [Ev({}, headers={"Lambda-Runtime-Deadline-Ms": v}) for v, _ in ODD_DEADLINES]
    before = int(time.time() * 1000)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "probe.context_info", events)
    after = int(time.time() * 1000)
    for (value, deadline), res in zip(ODD_DEADLINES, results):
        c = res.json()
        assert (c["deadline"], c["remaining_type"]) == (deadline, "int"), (value, c)
        if deadline == 0:
            assert c["remaining"] == 0, (value, c)
        else:
            assert deadline - after <= c["remaining"] <= deadline - before, (value, c)


# -------------------------------------------------------------------------------------------
# The context object (awslambdaric.md §7)


def test_context_attributes_and_types(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: attributes from env (memory_limit_in_mb is a str).
    c = ctx_of(host_bin, rapi, tmp_task_root, env=ENV_ALL)
    assert c["log_group_name"] == "/aws/lambda/myfn"
    assert c["log_stream_name"] == "2026/11/27/[$LATEST]abc"
    assert c["function_name"] == "myfn"
    assert c["memory_limit_in_mb"] == "128"
    assert c["memory_limit_type"] == "str"
    assert c["function_version"] == "$LATEST"


def test_context_attributes_none_without_env(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: str or None.
    c = ctx_of(host_bin, rapi, tmp_task_root)
    for k in ("log_group_name", "log_stream_name", "function_name", "memory_limit_in_mb",
              "function_version", "tenant_id", "client_context"):
        assert c[k] is None, k


def test_context_repr_exact(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: repr format, no spaces after commas.
    cc = {"custom": {"a": 1}, "env": {"e": 2}, "client": {"app_title": "T"}}
    ci = {"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pid"}
    c = ctx_of(host_bin, rapi, tmp_task_root,
               env={"AWS_LAMBDA_FUNCTION_NAME": "myfn",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"},
               request_id="req-1",
               headers={"Lambda-Runtime-Client-Context": json.dumps(cc),
                        "Lambda-Runtime-Cognito-Identity": json.dumps(ci),
                        "Lambda-Runtime-Aws-Tenant-Id": "tenant-A",
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:x"})
    assert c["repr"] == (
        "LambdaContext([aws_request_id=req-1,log_group_name=None,log_stream_name=None,"
        "function_name=myfn,memory_limit_in_mb=128,function_version=None,"
        "invoked_function_arn=arn:aws:lambda:x,client_context=ClientContext([custom={'a': 1},"
        "env={'e': 2},client=Client([installation_id=None,app_title=T,app_version_name=None,"
        "app_version_code=None,app_package_name=None])]),identity=CognitoIdentity("
        "[cognito_identity_id=cid,cognito_identity_pool_id=pid]),tenant_id=tenant-A])")


def test_context_class_and_slots(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: isinstance with awslambdaric.lambda_context.LambdaContext; slotted
    # helper objects reject other attributes; no callback_waits_for_empty_event_loop and no
    # get_remaining_time alias; attributes are plain (assignable).
    write(tmp_task_root, "app.py", """
        from awslambdaric.lambda_context import LambdaContext
        import awslambdaric.lambda_context as lc
        def handler(event, context):
            out = {"isinstance": isinstance(context, LambdaContext),
                   "class": type(context).__name__,
                   "has_cwfe": hasattr(context, "callback_waits_for_empty_event_loop"),
                   "has_grt": hasattr(context, "get_remaining_time"),
                   "classes": [hasattr(lc, n) for n in
                               ("CognitoIdentity", "Client", "ClientContext")]}
            try:
                context.identity.other = 1
                out["identity_other"] = "set"
            except AttributeError:
                out["identity_other"] = "AttributeError"
            try:
                context.client_context.foo = 1
                out["cc_other"] = "set"
            except AttributeError:
                out["cc_other"] = "AttributeError"
            context.function_name = "changed"
            out["assign"] = context.function_name
            return out
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {},
                           headers={"Lambda-Runtime-Client-Context": '{"custom": {}}'})
    assert res.json() == {"isinstance": True, "class": "LambdaContext", "has_cwfe": False,
                          "has_grt": False, "classes": [True, True, True],
                          "identity_other": "AttributeError", "cc_other": "AttributeError",
                          "assign": "changed"}


def test_context_env_reread_per_invoke(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §6/§7: context attributes re-read from os.environ on every invoke.
    write(tmp_task_root, "app.py", """
        import os
        def handler(event, context):
            name = context.function_name
            os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "renamed"
            os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512"
            return [name, context.memory_limit_in_mb]
    """)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler", [{}, {}],
                                env=ENV_ALL)
    assert [r.json() for r in results] == [["myfn", "128"], ["renamed", "512"]]


def test_context_fresh_per_invoke(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: a new LambdaContext for every invoke.
    write(tmp_task_root, "app.py", """
        SEEN = []
        def handler(event, context):
            SEEN.append(context)
            return [SEEN[0] is context, context.aws_request_id, SEEN[0].aws_request_id]
    """)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                [Ev({}, request_id="r1"), Ev({}, request_id="r2")])
    assert [r.json() for r in results] == [[True, "r1", "r1"], [False, "r2", "r1"]]


def test_remaining_time_computed_on_every_call(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §7: computed on every call from the wall clock.
    write(tmp_task_root, "app.py", """
        import time
        def handler(event, context):
            a = context.get_remaining_time_in_millis()
            time.sleep(0.3)
            b = context.get_remaining_time_in_millis()
            return a - b
    """)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "app.handler", {})
    assert 250 <= res.json() <= 1000


# -------------------------------------------------------------------------------------------
# The connection (awslambdaric.md §3.1; runtime-api.md §8 item 4)


def test_one_keep_alive_connection_and_user_agent(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.1: one keep-alive TCP connection for every GET next and POST;
    # GET next carries a User-Agent.
    write(tmp_task_root, "app.py", """
        def handler(event, context):
            if event.get("fail"):
                raise ValueError("x")
            return event
    """)
    proc, results = run_invokes(host_bin, rapi, tmp_task_root, "app.handler",
                                [{"a": 1}, {"fail": 1}, {"b": 2}, "not json"])
    rapi.wait_for_next_calls(5)
    reqs = list(rapi.requests)
    ports = {r.client_port for r in reqs}
    assert len(ports) == 1, [(r.endpoint, r.client_port) for r in reqs]
    assert [r.endpoint for r in reqs][:8] == ["next", "response", "next", "error",
                                               "next", "response", "next", "error"]
    for r in reqs:
        if r.endpoint == "next":
            assert r.method == "GET"
            assert r.headers.get("user-agent"), r.headers
            assert r.body == b""


def test_posts_are_sized_not_chunked(host_bin, rapi, tmp_task_root):
    # awslambdaric.md §3.1 / runtime-api.md §8 item 5: POSTs carry an explicit Content-Length
    # (no chunking); a JSON result is posted as application/json.
    copy_handlers(tmp_task_root)
    proc, res = invoke_one(host_bin, rapi, tmp_task_root, "probe.ret",
                           {"k": "v" * (2 * 1024 * 1024)})
    assert not res.request.chunked
    assert "expect" not in res.headers  # blank Expect: (no 100-continue wait)
    assert "transfer-encoding" not in res.headers
    assert res.headers.get("content-length") == str(len(res.body))
    assert res.headers.get("content-type") == "application/json"
    assert "lambda-runtime-function-xray-error-cause" not in res.headers
