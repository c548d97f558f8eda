"""Request id and access log, as a plain ASGI middleware.

Every HTTP answer carries X-Request-Id (the caller's, cut to 64 characters, or a new one), the id
is bound in structlog's context while the request runs, and one access-log line names method,
path, status and milliseconds. A plain ASGI class, not `@app.middleware("http")`: Starlette's
BaseHTTPMiddleware runs the app in a second task with stream plumbing, which cost measurable CPU
on every payment (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import time
import uuid

import structlog

from backend.logging import log

REQUEST_ID_HEADER = "X-Request-Id"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
MAX_REQUEST_ID = 64


class RequestIdAccessLog:
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for key, value in scope["headers"]:
            if key == _HEADER_KEY:
                rid = value.decode("latin-1")
                break
        rid = (rid or uuid.uuid4().hex)[:MAX_REQUEST_ID]
        rid_bytes = rid.encode("latin-1")
        status = 500      # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message) -> None:  # noqa: ANN001
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_KEY]
                headers.append((_HEADER_KEY, rid_bytes))
                message = {**message, "headers": headers}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            log.info("request", request_id=rid, method=scope["method"], path=scope["path"],
                     status=status, ms=round((time.perf_counter() - started) * 1000, 1))
