"""General-purpose handlers for the e2e tests (copied into the task root)."""
import os
import sys

INIT_COUNT = 0
INIT_COUNT += 1
CALLS = 0


def echo(event, context):
    """Returns the event and how the runtime decoded it."""
    return {"type": type(event).__name__,
            "value": event if not isinstance(event, bytes) else event.decode("latin-1")}


def ret(event, context):
    """Returns the event unchanged."""
    return event


def syspath(event, context):
    return sys.path


def env(event, context):
    return {k: os.environ.get(k, "<unset>") for k in event["keys"]}


def counter(event, context):
    global CALLS
    CALLS += 1
    return {"init_count": INIT_COUNT, "calls": CALLS, "event": event}


def request_id(event, context):
    return context.aws_request_id


def context_info(event, context):
    cc = context.client_context
    ident = context.identity
    return {
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_limit_type": type(context.memory_limit_in_mb).__name__,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "tenant_id": context.tenant_id,
        "remaining": context.get_remaining_time_in_millis(),
        "remaining_type": type(context.get_remaining_time_in_millis()).__name__,
        "deadline": context._epoch_deadline_time_in_ms,
        "client_context": None if cc is None else {
            "type": type(cc).__name__, "custom": cc.custom, "env": cc.env,
            "client": None if cc.client is None else {
                "type": type(cc.client).__name__,
                "installation_id": cc.client.installation_id,
                "app_title": cc.client.app_title,
                "app_version_name": cc.client.app_version_name,
                "app_version_code": cc.client.app_version_code,
                "app_package_name": cc.client.app_package_name,
            }},
        "identity": None if ident is None else {
            "type": type(ident).__name__,
            "cognito_identity_id": ident.cognito_identity_id,
            "cognito_identity_pool_id": ident.cognito_identity_pool_id,
        },
        "repr": repr(context),
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID", "<unset>"),
    }
