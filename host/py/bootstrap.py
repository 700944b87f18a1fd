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

_sink = None          # where runtime logs go: stdout, or the telemetry fd as frames
_json_logs = False    # AWS_LAMBDA_LOG_FORMAT=JSON
_log_level = ""       # AWS_LAMBDA_LOG_LEVEL after the official mapping

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
    """stdout. A logged error is one line: its lines joined by \\r, which CloudWatch keeps
    in one event (the platform splits fd 1 at \\n)."""

    def log(self, msg, frame_type=None):
        sys.stdout.write(msg)

    def join(self, message_lines):
        return "\r".join(message_lines)

    def log_error(self, message_lines):
        sys.stdout.write(self.join(message_lines) + "\n")


class TerminalLogSink(StandardLogSink):
    """Local mode with stderr on a terminal: a person reads it, not CloudWatch. Tracebacks
    on real lines, and every record ends with a newline (a record with exc_info has none)."""

    def log(self, msg, frame_type=None):
        sys.stdout.write(msg if msg.endswith("\n") else msg + "\n")

    def join(self, message_lines):
        return "\n".join(message_lines)


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

    def join(self, message_lines):
        return "\n".join(message_lines)

    def log_error(self, message_lines):
        self.log(self.join(message_lines), 0xA55A0016 if _json_logs else 0xA55A0017)


# ---------------------------------------------------------------------------------------
# The logging module, configured as the official runtime configures it. `import logging`
# costs milliseconds, so it is done when the handler first imports logging, not at init.

class _ConfiguringLoader(object):
    """Wraps the real loader of `logging` and configures the module once it has run."""

    def __init__(self, real):
        self._real = real

    def create_module(self, spec):
        return self._real.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._real
        self._real.exec_module(module)
        _embedded("hostrt_logconfig").configure(module)


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


def _embedded(name):
    """A module of host's Python half that is loaded when first needed (error paths,
    logging), not at start-up. C holds it once loaded: a handler that clears sys.modules
    does not unload it."""
    return _host.load_embedded(name)


def _setup_logging(terminal):
    global _sink, _json_logs, _log_level
    fd = _getenv("_LAMBDA_TELEMETRY_LOG_FD")
    _unsetenv("_LAMBDA_TELEMETRY_LOG_FD")
    if fd:
        _sink = FramedTelemetryLogSink(int(fd))
    else:
        _sink = TerminalLogSink() if terminal else StandardLogSink()
    _json_logs = _getenv("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    raw = _getenv("AWS_LAMBDA_LOG_LEVEL")
    _log_level = {None: "", "TRACE": "DEBUG"}.get(raw, raw).upper()
    if "logging" in sys.modules:
        _embedded("hostrt_logconfig").configure(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


def _import_logging():
    import logging
    return logging


# ---------------------------------------------------------------------------------------
# Errors: their documents and logged copies live in hostrt_errors (host/py/errors.py),
# which C calls directly.

def _fault(error_type, message, stack=None):
    return _embedded("hostrt_errors").init_fault(error_type, message, stack)


# ---------------------------------------------------------------------------------------
# Handler import, with the official init error types and messages.

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
    if _is_dir(packages) and _getenv("_HOST_NO_SYSTEM_SITE") is None:
        sys.path.append(packages)
        if _has_pth_files(packages):
            import site
            site.addsitedir(packages)


def setup(task_root, is_runtime, terminal):
    """Once, before the handler import: sys.path as the managed runtime builds it, logging
    (terminal: local mode with stderr on a terminal, see TerminalLogSink)."""
    if sys.flags.no_site:
        _site_for_layer()
    opt = [f"/opt/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages",
           "/opt/python"]
    use_opt = _getenv("PYTHONPATH") is None
    dirs = [task_root] + (opt if use_opt else [])
    # `host local`: the function's layers and virtualenv, where Lambda's /opt would be.
    dirs += [d for d in (_getenv("_HOST_EXTRA_PATH") or "").split(":") if _is_dir(d)]
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
    _setup_logging(terminal)
    if _getenv("_HOST_DEBUGPY_PORT"):
        _wait_for_debugger(int(_getenv("_HOST_DEBUGPY_PORT")))


def _wait_for_debugger(port):
    """`host local ... --debug-port P`: debugpy listens and init waits for the editor."""
    try:
        import debugpy
    except ImportError:
        sys.stderr.write("host: --debug-port: debugpy is not importable; install it in the "
                         "function's virtualenv (pip install debugpy) or pass --system-packages\n")
        return
    debugpy.listen(("127.0.0.1", port))
    sys.stderr.write(f"host: debugpy listening on 127.0.0.1:{port}; waiting for the debugger\n")
    debugpy.wait_for_client()


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
        raise _embedded("hostrt_errors").init_exception(e) from None


def parse_header_json(raw, what):
    """A client-context or Cognito-identity header, parsed as the official runtime parses
    it (stdlib json); C builds the context from the result."""
    import json
    try:
        return json.loads(raw)
    except Exception as e:
        raise FaultError("Runtime.LambdaContextUnmarshalError",
                         f"Unable to parse {what} JSON: {e}") from None


def set_alarm(seconds):
    """Local mode's deadline: TimeoutInterrupt in the main thread after `seconds` (0 disarms)."""
    import _signal
    if seconds > 0:
        _signal.signal(_signal.SIGALRM, _on_alarm)
    _signal.setitimer(_signal.ITIMER_REAL, seconds)


def _on_alarm(signum, frame):
    raise TimeoutInterrupt()
