"""The Python half of host: what the official runtime (awslambdaric) does in Python and a
handler can observe: the context object, the logging set-up, the error documents and the
handler import. The C half (host/*.c) owns the process, the Runtime API loop, event
decoding and result marshalling, and calls in here through the functions at the bottom.

This file is compiled into the host binary as `hostrt.bootstrap`; its frames carry the
file name "<host>/bootstrap.py", so the official rule that drops the runtime's leading
"/bootstrap.py" frames from stack traces applies to ours unchanged.
"""

import posix
import sys
import time

import _host  # built into the host binary: dumps() is the response marshaller

# The environment through `posix`, not `os`: `import os` costs more start-up than the rest
# of this file, and a handler that never imports os should not pay it. posix.environ is
# the very dict os.environ wraps (os.environ._data), so both views always agree.
_env_data = posix.environ
_FS_ENCODING = sys.getfilesystemencoding()


def _getenv(key, default=None):
    value = _env_data.get(key.encode(_FS_ENCODING, "surrogateescape"))
    return default if value is None else value.decode(_FS_ENCODING, "surrogateescape")


def _setenv(key, value):
    """os.environ[key] = value."""
    posix.putenv(key, value)
    _env_data[key.encode(_FS_ENCODING, "surrogateescape")] = value.encode(
        _FS_ENCODING, "surrogateescape")


def _unsetenv(key):
    """os.environ.pop(key, None)."""
    bkey = key.encode(_FS_ENCODING, "surrogateescape")
    if bkey in _env_data:
        posix.unsetenv(key)
        del _env_data[bkey]


def _is_dir(path):
    try:
        return (posix.stat(path).st_mode & 0o170000) == 0o040000
    except OSError:
        return False


def _has_pth_files(path):
    try:
        return any(name.endswith(".pth") for name in posix.listdir(path))
    except OSError:
        return False

# Stamped on every log record by the logging filter; like the official runtime, they
# are not cleared after an invoke, so background threads log the last request id.
_request_id = ""
_tenant_id = None

_sink = None          # where runtime logs go: stdout, or the telemetry fd as frames
_json_logs = False    # AWS_LAMBDA_LOG_FORMAT=JSON
_log_level = ""       # AWS_LAMBDA_LOG_LEVEL after the official mapping

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

# Telemetry frame types: 0xA55A0000 | level_index << 2 | fmt (3 text, 2 JSON), with the
# indexes the official frames carry: DEBUG 0xA55A000B, INFO ...0F, ..., CRITICAL ...1B.
_FRAME_BASE = 0xA55A0000
_TEXT_DEFAULT_FRAME = 0xA55A0003
_LEVEL_INDEX = {0: 0, 10: 2, 20: 3, 30: 4, 40: 5, 50: 6}


def _frame_type(levelno, fmt):
    level = min(50, max(0, levelno)) // 10 * 10
    return _FRAME_BASE | (_LEVEL_INDEX[level] << 2) | fmt


class FaultError(Exception):
    """A runtime fault (Runtime.UnmarshalError, ...): reported with an empty stack."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class InitFailure(Exception):
    """Init failed; already logged. error_type and body are what init/error is posted."""

    def __init__(self, error_type, body, message):
        super().__init__(message)
        self.error_type = error_type
        self.body = body
        self.message = message


class TimeoutInterrupt(BaseException):
    """Raised in a handler that outlived its --timeout in local mode. Not an Exception,
    so a handler's own `except Exception` cannot swallow it."""


# ---------------------------------------------------------------------------------------
# The context object: awslambdaric.lambda_context's classes, same attributes and reprs.

def _from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}([cognito_identity_id={self.cognito_identity_id}"
            f",cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}([installation_id={self.installation_id}"
            f",app_title={self.app_title},app_version_name={self.app_version_name}"
            f",app_version_code={self.app_version_code}"
            f",app_package_name={self.app_package_name}])"
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}([custom={self.custom},env={self.env}"
            f",client={self.client}])"
        )


def _make_client_context(d):
    cc = _from_dict(ClientContext, d)
    cc.client = _from_dict(Client, cc.client)
    return cc


def _make_identity(d):
    identity = CognitoIdentity()
    identity.cognito_identity_id = d.get("cognitoIdentityId")
    identity.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")
    return identity


def _context_log(msg):
    """context.log(msg): str(msg) as is to the runtime's log sink (the root logger's
    handler that has one), else to sys.stdout."""
    logging = sys.modules.get("logging")
    if logging is None:
        _sink.log(str(msg))
        return None
    for handler in logging.getLogger().handlers:
        if hasattr(handler, "log_sink"):
            handler.log_sink.log(str(msg))
            return None
    sys.stdout.write(str(msg))
    return None


# LambdaContext(invoke_id, client_context, cognito_identity, epoch_deadline_time_in_ms,
#               invoked_function_arn=None, tenant_id=None): the official class's signature,
# attributes, methods and repr, implemented in C (host/context.c) for speed.
LambdaContext = _host.LambdaContext
_host._context_helpers(CognitoIdentity, _make_client_context, _make_identity, _context_log,
                       _env_data)


# ---------------------------------------------------------------------------------------
# Log sinks: stdout, or length-prefixed frames on _LAMBDA_TELEMETRY_LOG_FD.

class StandardLogSink(object):
    def log(self, msg, frame_type=None):
        sys.stdout.write(msg)

    def log_error(self, message_lines):
        sys.stdout.write("\r".join(message_lines) + "\n")


class FramedTelemetryLogSink(object):
    def __init__(self, fd):
        self._fd = fd

    def log(self, msg, frame_type=None):
        data = msg.encode("utf-8")
        header = ((frame_type or _TEXT_DEFAULT_FRAME).to_bytes(4, "big")
                  + len(data).to_bytes(4, "big")
                  + (time.time_ns() // 1000).to_bytes(8, "big"))
        # One write() per frame, so a multi-line record stays one CloudWatch event.
        posix.write(self._fd, header + data)

    def log_error(self, message_lines):
        self.log("\n".join(message_lines), 0xA55A0016 if _json_logs else 0xA55A0017)


def _nbsp_indent(line):
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


def log_error(result):
    """The official runtime's copy of an error in the logs (text: \\r-joined lines)."""
    if _json_logs:
        doc = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "log_level": "ERROR"}
        doc.update(result)
        _sink.log_error([_host.dumps(doc).decode("utf-8")])
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
    _sink.log_error(lines)


# ---------------------------------------------------------------------------------------
# The logging module, configured as the official runtime configures it. `import logging`
# costs milliseconds, so it is done when the handler first imports logging, not at init.

_RESERVED_LOG_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
    "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
    "relativeCreated", "thread", "threadName", "processName", "process", "aws_request_id",
    "tenant_id", "_frame_type",
))


def _configure_logging(logging):
    logging.Formatter.converter = time.gmtime

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id
            record.tenant_id = _tenant_id
            return True

    class JsonFormatter(logging.Formatter):
        def __init__(self):
            super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")

        def format(self, record):
            import json
            record.levelno = min(50, max(0, record.levelno)) // 10 * 10
            record.levelname = logging.getLevelName(record.levelno)
            exc = record.exc_info
            if exc:
                import traceback
            result = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "stackTrace": traceback.format_tb(exc[2]) if exc else None,
                "errorType": exc[0].__name__ if exc else None,
                "errorMessage": str(exc[1]) if exc else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": (f"{record.pathname}:{record.funcName}:{record.lineno}"
                             if exc else None),
            }
            if getattr(record, "tenant_id", None) is not None:
                result["tenantId"] = record.tenant_id
            for key, value in record.__dict__.items():
                if key not in _RESERVED_LOG_FIELDS and key not in result:
                    result[key] = value
            result = {k: v for k, v in result.items() if v is not None}
            return json.dumps(result, ensure_ascii=False) + "\n"

    class LambdaLoggerHandler(logging.Handler):
        def __init__(self, log_sink):
            logging.Handler.__init__(self)
            self.log_sink = log_sink

        def emit(self, record):
            msg = self.format(record)
            if _json_logs:
                frame = _frame_type(record.levelno, 2)
            elif _log_level:
                frame = _frame_type(record.levelno, 3)
            else:
                frame = _TEXT_DEFAULT_FRAME
            self.log_sink.log(msg, frame)

    handler = LambdaLoggerHandler(_sink)
    if _json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if _log_level in logging._nameToLevel:
        root.setLevel(_log_level)


class _ConfiguringLoader(object):
    """Wraps the real loader of `logging` and configures the module once it has run."""

    def __init__(self, real):
        self._real = real

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._real
        self._real.exec_module(module)
        _configure_logging(module)


class _LoggingImportHook(object):
    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                spec.loader = _ConfiguringLoader(spec.loader)
                return spec
        return None


def _setup_logging():
    global _sink, _json_logs, _log_level
    fd = _getenv("_LAMBDA_TELEMETRY_LOG_FD")
    _unsetenv("_LAMBDA_TELEMETRY_LOG_FD")
    _sink = FramedTelemetryLogSink(int(fd)) if fd else StandardLogSink()
    _json_logs = _getenv("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    raw = _getenv("AWS_LAMBDA_LOG_LEVEL")
    _log_level = {None: "", "TRACE": "DEBUG"}.get(raw, raw).upper()
    if "logging" in sys.modules:
        _configure_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


def _import_logging():
    import logging
    return logging


# ---------------------------------------------------------------------------------------
# Error documents: the official body, its logged copy, and the X-Ray cause header.

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
    if isinstance(exc, FaultError):
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


# ---------------------------------------------------------------------------------------
# Handler import, with the official init error types and messages.

def _init_failure(result):
    logging = _import_logging()
    logging.warning(LAMBDA_WARNING)
    log_error(result)
    return InitFailure(result["errorType"], _host.dumps(result), result["errorMessage"])


def _fault(error_type, message, stack=None):
    return _init_failure({"errorMessage": message, "errorType": error_type,
                          "requestId": "", "stackTrace": stack or []})


def _import_handler(handler):
    import importlib
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}")
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _fault("Runtime.BuiltInModuleConflict",
                         f"Cannot use built-in module {modname} as a handler module")
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}")
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _fault("Runtime.UserCodeSyntaxError",
                     f"Syntax error in module '{modname}': {e}", trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _fault("Runtime.HandlerNotFound",
                     f"Handler '{fname}' missing on module '{modname}'")


# ---------------------------------------------------------------------------------------
# Entry points called from C.

def _site_for_layer():
    """What `site` gives a Python started from a layer, without `site`'s search for
    sitecustomize/usercustomize modules that a layer does not have: the builtins exit,
    quit and help, and the stdlib site-packages with its .pth files. (The interactive
    copyright/credits/license banners are left out: building them imports os.)"""
    import builtins
    import _sitebuiltins
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()
    packages = f"{sys.prefix}/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
    if _is_dir(packages):
        sys.path.append(packages)
        if _has_pth_files(packages):
            import site
            site.addsitedir(packages)


def setup(task_root, is_runtime):
    """Once, before the handler import: sys.path as the managed runtime builds it, logging."""
    if sys.flags.no_site:
        _site_for_layer()
    opt = [f"/opt/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages",
           "/opt/python"]
    use_opt = _getenv("PYTHONPATH") is None
    dirs = [task_root] + (opt if use_opt else [])
    sys.path[0:0] = dirs
    # site.addsitedir() on each, as the managed runtime's bootstrap does; it only adds
    # .pth files' entries here, so `site` (and os) are imported only when there are some.
    for d in dirs:
        if _has_pth_files(d):
            import site
            site.addsitedir(d)
    if use_opt and is_runtime:
        _setenv("PYTHONPATH", _getenv("LAMBDA_RUNTIME_DIR", "/var/runtime"))
    _register_awslambdaric()
    _setup_logging()


def _register_awslambdaric():
    """`from awslambdaric.lambda_context import LambdaContext` keeps working for handlers
    that import it for isinstance checks or typing."""
    if "awslambdaric" in sys.modules:
        return
    mod_type = type(sys)
    pkg = mod_type("awslambdaric")
    pkg.__path__ = []
    ctx = mod_type("awslambdaric.lambda_context")
    for cls in (LambdaContext, CognitoIdentity, Client, ClientContext):
        setattr(ctx, cls.__name__, cls)
    pkg.lambda_context = ctx
    sys.modules["awslambdaric"] = pkg
    sys.modules["awslambdaric.lambda_context"] = ctx


def load_handler(handler):
    """Returns the handler callable, or raises InitFailure (already logged).
    SystemExit and KeyboardInterrupt at import propagate, as in the official runtime."""
    try:
        return _import_handler(handler)
    except InitFailure:
        raise
    except Exception as e:
        result, _ = _exception_result(e, "")
        raise _init_failure(result) from None


def _parse_header_json(raw, what):
    import json
    try:
        return json.loads(raw)
    except Exception as e:
        raise FaultError("Runtime.LambdaContextUnmarshalError",
                         f"Unable to parse {what} JSON: {e}") from None


def start_invoke(request_id, deadline_ms, function_arn, trace_id, client_context,
                 cognito_identity, tenant_id):
    """Per invoke, before the event is decoded: log stamps, trace env, the context."""
    global _request_id, _tenant_id
    _request_id = request_id
    _tenant_id = tenant_id
    if trace_id is not None:
        _setenv("_X_AMZN_TRACE_ID", trace_id)
    elif b"_X_AMZN_TRACE_ID" in _env_data:
        _unsetenv("_X_AMZN_TRACE_ID")
    cc = _parse_header_json(client_context, "Client Context") if client_context else None
    ci = _parse_header_json(cognito_identity, "Cognito Identity") if cognito_identity else None
    return LambdaContext(request_id, cc, ci, deadline_ms, function_arn, tenant_id)


class _SyntaxError(Exception):
    def __init__(self, msg, pos):
        self.msg = msg
        self.pos = pos


_JSON_WS = " \t\n\r"
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = '"\\/bfnrt'


def _skip_ws(s, i):
    n = len(s)
    while i < n and s[i] in _JSON_WS:
        i += 1
    return i


def _check_string(s, i):
    """i is just past the opening quote; returns the index past the closing one."""
    begin, n = i - 1, len(s)
    while True:
        while i < n and s[i] != '"' and s[i] != "\\":
            if s[i] <= "\x1f":
                raise _SyntaxError("Invalid control character %r at", i)
            i += 1
        if i >= n:
            raise _SyntaxError("Unterminated string starting at", begin)
        if s[i] == '"':
            return i + 1
        i += 1  # past the backslash
        if i >= n:
            raise _SyntaxError("Unterminated string starting at", begin)
        if s[i] != "u":
            if s[i] not in _ESCAPES:
                raise _SyntaxError("Invalid \\X escape sequence %r", i - 1)
            i += 1
            continue
        digits = i + 1
        if digits + 4 >= n or any(c not in _HEX for c in s[digits:digits + 4]):
            raise _SyntaxError("Invalid \\uXXXX escape sequence", i)
        i = digits + 4


def _check_number(s, i):
    n, start = len(s), i
    if i < n and s[i] == "-":
        i += 1
    if i < n and s[i] == "0":
        i += 1
    elif i < n and "1" <= s[i] <= "9":
        while i < n and "0" <= s[i] <= "9":
            i += 1
    else:
        raise _SyntaxError("Expecting value", start)
    if i + 1 < n and s[i] == "." and "0" <= s[i + 1] <= "9":
        i += 2
        while i < n and "0" <= s[i] <= "9":
            i += 1
    if i < n and s[i] in "eE":
        j = i + 1
        if j < n and s[j] in "+-":
            j += 1
        if j < n and "0" <= s[j] <= "9":
            while j < n and "0" <= s[j] <= "9":
                j += 1
            i = j
    return i


def _check_object(s, i):
    n = len(s)
    i = _skip_ws(s, i)
    parsed = trailing = False
    if i < n and s[i] != "}":
        while i < n:
            trailing = False
            if s[i] != '"':
                raise _SyntaxError("Expecting property name enclosed in double quotes", i)
            i = _skip_ws(s, _check_string(s, i + 1))
            if i >= n or s[i] != ":":
                raise _SyntaxError("Expecting ':' delimiter", i)
            i = _skip_ws(s, _check_value(s, _skip_ws(s, i + 1)))
            parsed = True
            if i < n and s[i] == "}":
                break
            if i >= n or s[i] != ",":
                raise _SyntaxError("Expecting ',' delimiter or '}'", i)
            i = _skip_ws(s, i + 1)
            trailing = True
        if trailing:
            raise _SyntaxError("Expecting property name enclosed in double quotes", i)
    if i >= n or s[i] != "}":
        raise _SyntaxError("Expecting ',' delimiter or '}'" if parsed else
                           "Expecting property name enclosed in double quotes or '}'", i)
    return i + 1


def _check_array(s, i):
    n = len(s)
    i = _skip_ws(s, i)
    count, trailing = 0, False
    if i < n and s[i] != "]":
        while i < n:
            trailing = False
            i = _skip_ws(s, _check_value(s, i))
            count += 1
            if i < n and s[i] == "]":
                break
            if i >= n or s[i] != ",":
                raise _SyntaxError("Expecting ',' delimiter or ']'", i)
            i = _skip_ws(s, i + 1)
            trailing = True
        if trailing:
            raise _SyntaxError("Expecting value", i)
    if i >= n or s[i] != "]":
        raise _SyntaxError("Expecting ',' delimiter or ']'" if count else
                           "Expecting value or ']'", i)
    return i + 1


def _check_value(s, i):
    if i >= len(s):
        raise _SyntaxError("Expecting value", i)
    c = s[i]
    if c == '"':
        return _check_string(s, i + 1)
    if c == "{":
        return _check_object(s, i + 1)
    if c == "[":
        return _check_array(s, i + 1)
    for word in ("null", "true", "false", "NaN", "Infinity", "-Infinity"):
        if s.startswith(word, i):
            return i + len(word)
    return _check_number(s, i)


def _errmsg(doc, msg, pos, end=None):
    def linecol(p):
        line = doc.count("\n", 0, p) + 1
        return line, (p + 1 if line == 1 else p - doc.rindex("\n", 0, p))
    msg = msg.replace("%r", repr(doc[pos:pos + 1]))
    lineno, colno = linecol(pos)
    if end is None:
        return "%s: line %d column %d (char %d)" % (msg, lineno, colno, pos)
    endlineno, endcolno = linecol(end)
    return "%s: line %d column %d - line %d column %d (char %d - %d)" % (
        msg, lineno, colno, endlineno, endcolno, pos, end)


def unmarshal_error_message(doc, start, fallback):
    """The official runtime decodes events with simplejson; CPython's scanner found a
    syntax error, and this finds it again the way simplejson reports it (wording and
    position), e.g. "Expecting value: line 1 column 1 (char 0)", "Expecting ',' delimiter
    or ']': ...", "Extra data: line 1 column 10 - line 1 column 11 (char 9 - 10)". Only the
    error path runs this; `fallback` is used if the document is too deep to re-check."""
    try:
        end = _skip_ws(doc, _check_value(doc, start))
        if end != len(doc):
            return _errmsg(doc, "Extra data", end, len(doc))
        return fallback
    except _SyntaxError as e:
        return _errmsg(doc, e.msg, e.pos)
    except RecursionError:
        return fallback


def make_scanner():
    """CPython's C JSON scanner with stdlib json.loads semantics (NaN and Infinity
    accepted, big ints exact, last duplicate key wins)."""
    import _json

    class _Options(object):
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {"NaN": float("nan"), "Infinity": float("inf"),
                          "-Infinity": float("-inf")}.__getitem__
        memo = {}

    return _json.make_scanner(_Options())


def set_alarm(seconds):
    """Local mode's deadline: TimeoutInterrupt in the main thread after `seconds` (0 disarms)."""
    import _signal
    if seconds > 0:
        _signal.signal(_signal.SIGALRM, _on_alarm)
    _signal.setitimer(_signal.ITIMER_REAL, seconds)


def _on_alarm(signum, frame):
    raise TimeoutInterrupt()
