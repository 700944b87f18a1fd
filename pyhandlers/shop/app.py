"""The application object: settings, storage, payments and metrics, and handle(event, context)."""

import time

from . import accounts
from .errors import ApiError
from .http import error_response, parse_event, response
from .metrics import Metrics
from .payments import default_provider
from .routes import router


class App:
    def __init__(self, settings, store=None, payments=None, metrics=None, clock=time.time):
        self.settings = settings
        self._store = store
        self.payments = payments or default_provider()
        self.metrics = metrics or Metrics(namespace=settings.metrics_namespace)
        self.clock = clock

    @property
    def store(self):
        # opened on first use and kept for the life of the execution environment
        if self._store is None:
            from .storage import open_store
            self._store = open_store(self.settings)
        return self._store

    def now(self):
        return self.clock()

    def now_ms(self):
        return int(self.clock() * 1000)

    def handle(self, event, context=None):
        request_id = getattr(context, "aws_request_id", "") or ""
        try:
            req = parse_event(event)
            if not req.request_id:
                req.request_id = request_id
            func, auth, params = router.match(req)
            req.path_params = params
            if auth:
                req.user = accounts.authenticate(self.settings, req.header("authorization"),
                                                 now=self.now())
            result = func(self, req)
            status, doc = result[0], result[1]
            headers = result[2] if len(result) > 2 else None
            return response(status, doc, headers)
        except ApiError as err:
            return error_response(err)
        except Exception:
            # the traceback goes to the log (no request body, no headers: nothing secret);
            # the client gets a 500 without internals. logging is imported here, on the first
            # error, not at init: a store that has nothing to log does not pay for it
            import logging
            logging.getLogger("store").exception("unhandled error in request %s", request_id)
            return response(500, {"error": "internal_error",
                                  "message": "internal server error", "request_id": request_id})
