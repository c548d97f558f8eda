"""Browser protection headers on every /admin answer (pages, redirects, the stylesheet, errors),
as a plain ASGI middleware like backend.request_log: the admin page may not be framed
(clickjacking), loads nothing but its own stylesheet, posts forms only to itself, and is never
sniffed, cached or named in a Referer. The API (/api/...) is left as it is: no browser reads it.
"""
from __future__ import annotations

ADMIN_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
_RAW = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ADMIN_HEADERS.items()]
_NAMES = {k for k, _ in _RAW}


class AdminSecurityHeaders:
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != "/admin" and not path.startswith("/admin/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _NAMES]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers + _RAW}
            await send(message)

        await self.app(scope, receive, send_with_headers)
