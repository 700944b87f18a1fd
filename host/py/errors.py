"""host's error documents, the one place they are built: the official error body and its
logged copy, the X-Ray cause, init failures, runtime faults, and local mode's timeout and exit
documents. Loaded on the first error (not at start-up), and held by C once loaded, so a handler
that clears sys.modules or closes sys.stdout cannot take error reporting down with it: every
document is built before it is logged, and a log write that fails falls back to fd 1.
"""

import binascii
import posix
import re
import time
import traceback

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

_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(doc):
    """The document as the response marshaller writes it. A lone surrogate (an exception
    message holding "\\ud800") cannot be UTF-8: it is written as its JSON escape, which
    reads back as the same string (the official client, with ensure_ascii off, fails to
    post such a document at all; with it on, it writes this same escape)."""
    try:
        return _host.dumps(doc)
    except UnicodeEncodeError:
        import json
        text = json.dumps(doc, ensure_ascii=False)
        return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text).encode("utf-8")


def _nbsp_indent(line):
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def _write_raw(lines):
    """The last resort for a logged error when the sink failed (stdout closed, a message
    that the stream cannot encode): the lines straight to fd 1."""
    join = getattr(rt._sink, "join", "\r".join)
    data = (join(lines) + "\n").encode("utf-8", "backslashreplace")
    try:
        while data:
            data = data[posix.write(1, data):]
    except OSError:
        pass


def _log_lines(lines):
    try:
        rt._sink.log_error(lines)
    except Exception:
        try:
            _write_raw(lines)
        except Exception:
            pass


def log_error(result):
    """The official runtime's copy of an error in the logs (text: \\r-joined lines). Never
    raises: the document it copies is already built, and must reach the caller even when
    its copy cannot be written (memory ran out, a sink the handler broke)."""
    try:
        lines = _error_lines(result)
    except Exception:
        return
    _log_lines(lines)


def _error_lines(result):
    if rt._json_logs:
        doc = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "log_level": "ERROR"}
        doc.update(result)
        return [_dumps(doc).decode("utf-8")]
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
    return lines


def _drop_runtime_frames(frames):
    """The official rule drops the runtime's leading /bootstrap.py frames; host's own leading
    frames (its event loop's, for an async handler) go with them."""
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame.filename and not frame.filename.startswith("<host>/"):
            return frames[i:]
    return frames


_XRAY_CAUSE_LIMIT = 64 * 1024  # what Lambda keeps of the header; more is cropped there


def _xray_cause(error_type, message, frames):
    """The X-Ray cause header. A deep stack (RecursionError) would make a header Lambda
    crops to 64 KiB anyway and that HTTP servers may refuse, so host keeps the innermost
    frames that fit (the official runtime sends up to 1 MiB)."""
    stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames]
    while True:
        cause = _dumps({
            "working_directory": posix.getcwd(),
            "exceptions": [{"message": message[:_XRAY_CAUSE_LIMIT // 2], "type": error_type,
                            "stack": stack}],
            "paths": list({f["path"] for f in stack}),
        })
        if len(cause) < _XRAY_CAUSE_LIMIT or not stack:
            return cause if len(cause) < _XRAY_CAUSE_LIMIT else None
        stack = stack[len(stack) // 2:]


def _exception_result(exc, request_id):
    frames = _drop_runtime_frames(traceback.extract_tb(exc.__traceback__))
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    # Plain 4-tuples, as the official client formats them: a FrameSummary would add
    # Python 3.11's column carets (~~~^^^), which the official stack traces never show.
    stack = traceback.format_list([(f.filename, f.lineno, f.name, f.line) for f in frames])
    result = {"errorMessage": message or "", "errorType": type(exc).__name__,
              "requestId": request_id, "stackTrace": stack}
    return result, frames


def handler_error(exc, request_id):
    """An exception escaped the handler: log it; return (body, X-Ray cause or None)."""
    if isinstance(exc, rt.FaultError):
        return fault_error(exc.error_type, exc.message, request_id)
    result, frames = _exception_result(exc, request_id)
    body = _dumps(result)
    cause = _xray_cause(result["errorType"], result["errorMessage"], frames)
    log_error(result)
    return body, cause


def fault_error(error_type, message, request_id):
    """A runtime fault (marshal, unmarshal, context): empty stack trace."""
    result = {"errorMessage": message, "errorType": error_type, "requestId": request_id,
              "stackTrace": []}
    body = _dumps(result)
    cause = _dumps({
        "working_directory": posix.getcwd(),
        "exceptions": [{"message": message, "type": "LambdaValidationError", "stack": []}],
        "paths": [],
    })
    log_error(result)
    return body, cause


def _stream_trailers(body, error_type):
    """(body, Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body): the
    trailers that end a stream that failed after its first byte (runtime-api.md §3), the body
    in base64. Header values cannot hold a line break."""
    clean = error_type.replace("\r", " ").replace("\n", " ")
    return body, clean.encode("utf-8", "backslashreplace"), binascii.b2a_base64(body, newline=False)


def stream_error(exc, request_id):
    """An exception escaped a streaming handler after the stream's first byte: logged as any
    handler error; its document goes out in the stream's trailers."""
    if isinstance(exc, rt.FaultError):
        return stream_fault(exc.error_type, exc.message, request_id)
    body, _ = handler_error(exc, request_id)
    return _stream_trailers(body, type(exc).__name__)


def stream_fault(error_type, message, request_id):
    """A runtime fault that ends a stream after its first byte (the 200 MB limit)."""
    body, _ = fault_error(error_type, message, request_id)
    return _stream_trailers(body, error_type)


def timeout_error(request_id, seconds):
    """Local mode: what Lambda returns for an invocation that outlived its timeout."""
    return _dumps({"errorMessage": "RequestId: %s Error: Task timed out after %.2f seconds"
                   % (request_id, seconds), "errorType": "Sandbox.Timedout"})


def exit_error(request_id, status):
    """Local mode: what Lambda returns when the runtime process exited mid-invocation."""
    return _dumps({"errorMessage": "RequestId: %s Error: Runtime exited with error: exit "
                   "status %d" % (request_id, status), "errorType": "Runtime.ExitError"})


def host_error(request_id, message):
    """host's own Python half failed (a bug of host's, or memory ran out; the failure has
    been printed as Python prints it): the caller still gets an error document."""
    result = {"errorMessage": message, "errorType": "Runtime.HostError",
              "requestId": request_id, "stackTrace": []}
    body = _dumps(result)
    log_error(result)
    return body


def _init_failure(result):
    try:
        rt._import_logging().warning(LAMBDA_WARNING)
    except Exception:
        pass
    body = _dumps(result)
    log_error(result)
    return rt.InitFailure(result["errorType"], body, result["errorMessage"])


def init_fault(error_type, message, stack=None):
    return _init_failure({"errorMessage": message, "errorType": error_type,
                          "requestId": "", "stackTrace": stack or []})


def init_exception(exc):
    """Any other exception raised while importing the handler's module."""
    result, _ = _exception_result(exc, "")
    return _init_failure(result)
