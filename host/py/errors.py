"""host's error documents, loaded on the first error (not at start-up): the official
error body and its logged copy, the X-Ray cause, and init failures. Shared state (the log
sink, the log format) lives in hostrt_bootstrap.
"""

import posix
import sys
import time

import _host
import hostrt_bootstrap as rt

LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function "
    "code. However, in rare cases, a Lambda runtime update can cause unexpected function "
    "behavior. For functions using managed runtimes, runtime updates can be triggered by a "
    "function change, or can be applied automatically. To determine if the runtime has been "
    "updated, check the runtime version in the INIT_START log entry. If this error correlates "
    "with a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


def _nbsp_indent(line):
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def log_error(result):
    """The official runtime's copy of an error in the logs (text: \\r-joined lines)."""
    if rt._json_logs:
        doc = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "log_level": "ERROR"}
        doc.update(result)
        rt._sink.log_error([_host.dumps(doc).decode("utf-8")])
        return
    line = "[ERROR]"
    if result["errorType"]:
        line += " " + result["errorType"]
    if result["errorMessage"]:
        if result["errorType"]:
            line += ":"
        line += " " + result["errorMessage"]
    lines = [line, "Traceback (most recent call last):"]
    for element in result["stackTrace"]:
        if element == "":
            lines.append("")
        else:
            lines.extend(_nbsp_indent(x) for x in element.splitlines())
    rt._sink.log_error(lines)


def _drop_runtime_frames(frames):
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame.filename:
            return frames[i:]
    return frames


_XRAY_CAUSE_LIMIT = 64 * 1024  # what Lambda keeps of the header; more is cropped there


def _xray_cause(error_type, message, frames):
    """The X-Ray cause header. A deep stack (RecursionError) would make a header Lambda
    crops to 64 KiB anyway and that HTTP servers may refuse, so host keeps the innermost
    frames that fit (the official runtime sends up to 1 MiB)."""
    stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames]
    while True:
        cause = _host.dumps({
            "working_directory": posix.getcwd(),
            "exceptions": [{"message": message[:_XRAY_CAUSE_LIMIT // 2], "type": error_type,
                            "stack": stack}],
            "paths": list({f["path"] for f in stack}),
        })
        if len(cause) < _XRAY_CAUSE_LIMIT or not stack:
            return cause if len(cause) < _XRAY_CAUSE_LIMIT else None
        stack = stack[len(stack) // 2:]


def _exception_result(exc, request_id):
    import traceback
    frames = _drop_runtime_frames(traceback.extract_tb(exc.__traceback__))
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    result = {"errorMessage": message or "", "errorType": type(exc).__name__,
              "requestId": request_id, "stackTrace": traceback.format_list(frames)}
    return result, frames


def handler_error(exc, request_id):
    """An exception escaped the handler: log it; return (body, X-Ray cause or None)."""
    if isinstance(exc, rt.FaultError):
        return fault_error(exc.error_type, exc.message, request_id)
    result, frames = _exception_result(exc, request_id)
    log_error(result)
    return (_host.dumps(result),
            _xray_cause(result["errorType"], result["errorMessage"], frames))


def fault_error(error_type, message, request_id):
    """A runtime fault (marshal, unmarshal, context): empty stack trace."""
    result = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
              "stackTrace": []}
    log_error(result)
    cause = _host.dumps({
        "working_directory": posix.getcwd(),
        "exceptions": [{"message": message, "type": "LambdaValidationError", "stack": []}],
        "paths": [],
    })
    return _host.dumps(result), cause


def _init_failure(result):
    logging = rt._import_logging()
    logging.warning(LAMBDA_WARNING)
    log_error(result)
    return rt.InitFailure(result["errorType"], _host.dumps(result), result["errorMessage"])


def init_fault(error_type, message, stack=None):
    return _init_failure({"errorMessage": message, "errorType": error_type,
                          "requestId": "", "stackTrace": stack or []})


def init_exception(exc):
    """Any other exception raised while importing the handler's module."""
    result, _ = _exception_result(exc, "")
    return _init_failure(result)
