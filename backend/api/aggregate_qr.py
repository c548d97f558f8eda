"""GET /pay/q/{token}: the aggregate QR (聚合码) a payer's phone opens. Public by design — a payer's
app carries no credential of ours; the unguessable token bound to one live order is the only key,
and all it can do is start a payment of that order's fixed amount to the merchant (docs/SECURITY.md).
Rate-limited per client address and size-limited (a token is exactly 54 characters).

The answer is a small mobile page, zh first: in WeChat it hands WeixinJSBridge the JSAPI payment,
in Alipay, UnionPay QuickPass and the bank's app it opens that channel's order, in any other
browser it says which apps can pay.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from backend.channels import ChannelError
from backend.channels.aggregate import MAX_TOKEN_CHARS, app_of
from backend.deps import get_session, request_now
from backend.logging import log
from backend.services import aggregate_qr as qr_svc
from backend.web.render import templates

router = APIRouter(tags=["aggregate QR"])

PER_CLIENT_PER_MINUTE = 30        # a payer opens the page a few times; a scanner of tokens is slowed
MAX_CLIENTS_TRACKED = 10_000      # memory bound: the oldest addresses are forgotten first
MAX_OAUTH_CODE = 128
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY"}


class ClientWindow:
    """Requests per client address in the last minute, in this worker (each worker counts its own:
    the limit is per worker, docs/SECURITY.md)."""

    def __init__(self, limit: int = PER_CLIENT_PER_MINUTE, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._seen.pop(client, None) or deque()
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            self._seen[client] = hits
            while len(self._seen) > MAX_CLIENTS_TRACKED:
                self._seen.popitem(last=False)
            return allowed


def _window(request: Request) -> ClientWindow:
    state = request.app.state
    if not hasattr(state, "aggregate_qr_window"):
        state.aggregate_qr_window = ClientWindow()
    return state.aggregate_qr_window


def _page(request: Request, status: int, kind: str, **ctx) -> HTMLResponse:  # noqa: ANN003
    nonce = secrets.token_urlsafe(12)
    response = templates.TemplateResponse(request, "pay_q.html", {"kind": kind, "nonce": nonce, **ctx},
                                          status_code=status)
    response.headers.update(PAGE_HEADERS)
    response.headers["Content-Security-Policy"] = (f"default-src 'none'; script-src 'nonce-{nonce}'; "
                                                   "style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
    return response


def _refused(request: Request, status: int, zh: str, en: str) -> HTMLResponse:
    return _page(request, status, "refused", zh=zh, en=en)


def _notify_url(request: Request, channel: str) -> str:
    path = "/api/v1/parking/channel/notify" if channel == "wechat" else f"/api/v1/parking/channel/{channel}/notify"
    return str(request.base_url).rstrip("/") + path


@router.get("/pay/q/{token}", response_class=HTMLResponse, include_in_schema=False)
def open_aggregate_qr(token: str, request: Request, code: str | None = Query(None),
                      session: Session = Depends(get_session)) -> Response:
    """A payer's app opened the aggregate QR: start its channel's payment of the order, or say
    which apps can pay. 404 unknown or malformed token, 410 expired, 429 too many tries."""
    client = (request.client.host if request.client else "unknown")[:64]
    if not _window(request).allow(client):
        response = _refused(request, 429, "请求过于频繁，请一分钟后再扫码", "Too many tries: scan again in a minute")
        response.headers["Retry-After"] = "60"
        return response
    if len(token) > MAX_TOKEN_CHARS or (code is not None and len(code) > MAX_OAUTH_CODE):
        return _refused(request, 404, *qr_svc.UNKNOWN[1:])
    channels = request.app.state.channels
    try:
        order = qr_svc.find_order(session, channels, token, request_now(request))
        app = app_of(request.headers.get("user-agent", ""), channels.bank_app_markers)
        handover = qr_svc.start_payment(session, channels, order, app, lambda ch: _notify_url(request, ch),
                                        qr_svc.aggregate_of(channels).url_of(token), code)
    except qr_svc.QrRefused as exc:
        return _refused(request, exc.status, exc.zh, exc.en)
    except ChannelError as exc:
        log.warning("aggregate_qr_channel_error", code=exc.code)
        return _refused(request, 502, "支付渠道暂时不可用，请稍后重新扫码，或在车道出示付款码",
                        "The payment channel is unavailable: scan again shortly, or show a pay code at the lane")
    if handover.kind == "oauth":
        return RedirectResponse(handover.url, status_code=302, headers=PAGE_HEADERS)
    return _page(request, 200, handover.kind, handover=handover, fen=handover.order.amount_fen,
                 yuan=f"{handover.order.amount_fen // 100}.{handover.order.amount_fen % 100:02d}")
