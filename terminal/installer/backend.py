"""The installer's calls to the backend: registration (through terminal/enrol.py and the sync
client) and which field a failed one points at; whether the backend answers at all (doctor).
"""
from __future__ import annotations

from typing import Any, Callable

import httpx

from terminal.installer.results import DoctorLine, Errors, FieldError


def registration(store: Any) -> Callable[[str, str], Any]:
    """The wizard's `register(url, code)`: enrol this terminal, its device key kept in `store`
    (a terminal.store.Store); raises sync.client.SyncFailure on any failure."""
    from terminal.enrol import register

    return lambda url, code: register(store, url, code)


def backend_line(backend_url: str, timeout_s: float = 3.0) -> DoctorLine:
    """Doctor's first line: does the backend at this address answer its health check."""
    url = str(backend_url or "").rstrip("/")
    try:
        ok = httpx.get(f"{url}/health", timeout=timeout_s).status_code == 200
    except (httpx.HTTPError, ValueError):
        return DoctorLine("backend", False, "连不上后台", "cannot reach the backend",
                          "请检查网线和后台地址", "check the network cable and the address")
    return DoctorLine("backend", ok, "后台正常" if ok else "后台回答异常",
                      "backend answers" if ok else "backend answered with an error",
                      "" if ok else "请联系银行技术支持", "" if ok else "call the bank's support")


def _backend_words(response: httpx.Response) -> tuple[str, str]:
    """The backend's own error sentence ({"detail": {"message_zh", "message_en"}}), if any."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        return "", ""
    if isinstance(detail, dict):
        return str(detail.get("message_zh") or ""), str(detail.get("message_en") or "")
    return "", ""


# sync.client.SyncFailure reasons -> the field the installer should look at
SYNC_FAILURE_FIELD = {"unreachable": ("url", "err.cannot_connect"), "timeout": ("url", "err.cannot_connect"),
                      "refused": ("code", "err.code_rejected"), "unauthorised": ("code", "err.code_rejected")}


def registration_error(exc: BaseException) -> Errors:
    """Which field a failed registration points at, in words the installer can act on."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and hasattr(exc, "maybe_sent"):      # sync.client.SyncFailure
        if reason in SYNC_FAILURE_FIELD:
            name, key = SYNC_FAILURE_FIELD[reason]
            return {name: FieldError(key)}
        zh, en = getattr(exc, "words", ("", ""))
        return {"url": FieldError("err.register_failed", {"error": en or reason}, zh and f"注册失败：{zh}",
                                  en and f"Registration failed: {en}")}
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout,
                        httpx.RemoteProtocolError, ConnectionError, TimeoutError)):
        return {"url": FieldError("err.cannot_connect")}
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        zh, en = _backend_words(response)
        if 400 <= response.status_code < 500:
            return {"code": FieldError("err.code_rejected", zh=zh, en=en)}
        return {"url": FieldError("err.register_failed", {"error": f"HTTP {response.status_code}"}, zh, en)}
    if isinstance(exc, httpx.TransportError):
        return {"url": FieldError("err.cannot_connect")}
    zh = str(getattr(exc, "zh", "") or getattr(exc, "message_zh", ""))
    en = str(getattr(exc, "en", "") or getattr(exc, "message_en", ""))
    return {"": FieldError("err.register_failed", {"error": str(exc) or type(exc).__name__}, zh, en)}
