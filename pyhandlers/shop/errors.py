"""Errors that end a request with a proper HTTP status and a message a client can act on."""


class ApiError(Exception):
    """Becomes {"error": code, "message": message, ...extra} with the given status."""

    def __init__(self, status, code, message, headers=None, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self):
        doc = {"error": self.code, "message": self.message}
        doc.update(self.extra)
        return doc


def bad_request(message, code="validation_error", **extra):
    return ApiError(400, code, message, **extra)


def unauthorized(message, code="unauthorized"):
    return ApiError(401, code, message, headers={"www-authenticate": 'Bearer realm="store"'})


def not_found(message, code="not_found", **extra):
    return ApiError(404, code, message, **extra)


def conflict(message, code="conflict", **extra):
    return ApiError(409, code, message, **extra)


class ConfigError(RuntimeError):
    """The function's configuration is unusable: raised at import, so init fails."""
