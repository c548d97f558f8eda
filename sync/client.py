"""The terminal's HTTP client for the backend (core.wire bodies, signed with sync.auth).

Every way a call can fail — refused connection, timeout, a 5xx, a body that does not parse —
becomes one `SyncFailure` with a reason code and plain words (the Home Assistant coordinator
pattern): callers decide on `failure.maybe_sent`, never on httpx exception types.
The test seam is the httpx transport; this class is always the real one.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar, get_args

import httpx
from pydantic import BaseModel, ValidationError

from core.reasons.scenes import SYNC
from sync.auth import TerminalAuth
from core.wire import (ChangeKind, PaymentRequest, PaymentResult, PullResponse, PushRequest, PushResponse,
                       RegisterRequest, RegisterResponse, ServerTime,
                       ShiftCloseRequest, ShiftCloseResult)

API = "/api/v1"
T = TypeVar("T", bound=BaseModel)
CHANGE_KINDS = frozenset(get_args(ChangeKind))
log = logging.getLogger("gatepay.sync")

class SyncFailure(Exception):
    """One failure type for every network problem."""

    def __init__(self, reason: str, detail: str = "", *, maybe_sent: bool, status_code: int | None = None,
                 said: tuple[str, str] | None = None):
        self.reason = reason
        self.detail = detail[:300]
        self.maybe_sent = maybe_sent      # the backend may have acted on it: keep the same key
        self.status_code = status_code
        self.said = said                  # the backend's own (zh, en) sentence, when it gave one
        super().__init__(f"{reason}: {self.detail}" if detail else reason)

    @property
    def words(self) -> tuple[str, str]:
        """(zh, en) for the admin screen and the doctor (core/reasons, the SYNC table)."""
        return SYNC.get(self.reason, SYNC["bad_answer"])

    @property
    def plain(self) -> str:
        """One line for a person: the backend's own sentence when it said one (it names the
        problem: "no such enrolment code"), else the reason's words."""
        zh, en = self.said or self.words
        return f"{zh} / {en}"


@dataclass(frozen=True)
class TimeSample:
    server_time: datetime
    local_time: datetime       # the local clock at the middle of the round trip
    round_trip_s: float

    @property
    def skew_s(self) -> float:
        """Backend minus terminal, seconds."""
        return (self.server_time - self.local_time).total_seconds()


class SyncClient:
    def __init__(self, base_url: str, auth: TerminalAuth | None = None, *, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None):
        self._auth = auth
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport,
                                  headers={"User-Agent": "gatepay-terminal"})

    def close(self) -> None:
        self._http.close()

    def with_auth(self, auth: TerminalAuth) -> "SyncClient":
        self._auth = auth
        return self

    # --- calls ---------------------------------------------------------------------------------

    def register(self, req: RegisterRequest) -> RegisterResponse:
        return self._call("POST", "/terminals/register", RegisterResponse, body=req, signed=False)

    def authorise(self, req: PaymentRequest, timeout_s: float) -> PaymentResult:
        result = self._call("POST", "/terminal/payments", PaymentResult, body=req, timeout_s=timeout_s)
        if result.payment_id != req.payment_id:
            raise SyncFailure("bad_answer", "answer is for another payment", maybe_sent=True)
        return result

    def push(self, req: PushRequest, timeout_s: float | None = None) -> PushResponse:
        return self._call("POST", "/terminal/sync/push", PushResponse, body=req, timeout_s=timeout_s)

    def pull(self, cursor: int, limit: int) -> PullResponse:
        """Changes since `cursor`. Kinds this terminal does not know (a backend upgraded before
        its terminals) are skipped and logged: refusing the page would also hold back the
        revocations in it, while the cursor still moves past what the backend sent."""
        return self._call("GET", f"/terminal/sync/pull?cursor={int(cursor)}&limit={int(limit)}", PullResponse,
                          prepare=_known_changes_only)

    def close_shift(self, req: ShiftCloseRequest, timeout_s: float | None = None) -> ShiftCloseResult:
        """Compare a shift with what the backend booked (safe to repeat: it re-compares)."""
        result = self._call("POST", "/terminal/shift-close", ShiftCloseResult, body=req, timeout_s=timeout_s)
        if result.shift_id != req.shift_id:
            raise SyncFailure("bad_answer", "answer is for another shift", maybe_sent=True)
        return result

    def server_time(self, local_now: Callable[[], datetime]) -> TimeSample:
        started, t0 = local_now(), time.monotonic()
        answer = self._call("GET", "/terminal/time", ServerTime)
        rtt = time.monotonic() - t0
        return TimeSample(answer.server_time, started + (local_now() - started) / 2, rtt)

    # --- plumbing ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, model: type[T], *, body: BaseModel | None = None,
              signed: bool = True, timeout_s: float | None = None,
              prepare: Callable[[object], object] | None = None) -> T:
        if signed and self._auth is None:
            raise SyncFailure("unauthorised", "terminal is not registered", maybe_sent=False)
        content = body.model_dump_json().encode() if body is not None else b""
        kwargs: dict = {"content": content, "headers": {"Content-Type": "application/json"}} if body else {}
        if timeout_s is not None:
            kwargs["timeout"] = timeout_s
        try:
            response = self._http.request(method, API + path, auth=self._auth if signed else None, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SyncFailure("unreachable", type(exc).__name__, maybe_sent=False) from None
        except httpx.TimeoutException as exc:
            raise SyncFailure("timeout", type(exc).__name__, maybe_sent=True) from None
        except httpx.HTTPError as exc:  # reset mid-answer, protocol errors: the request may have landed
            raise SyncFailure("unreachable", type(exc).__name__, maybe_sent=True) from None
        return _parse(response, model, prepare)


def _known_changes_only(answer: object) -> object:
    changes = answer.get("changes") if isinstance(answer, dict) else None
    if not isinstance(changes, list):
        return answer
    known = [c for c in changes if not isinstance(c, dict) or c.get("kind") in CHANGE_KINDS]
    if len(known) != len(changes):
        skipped = sorted({str(c.get("kind"))[:40] for c in changes if c not in known})
        log.warning("pull: skipped %d change(s) of kinds this terminal does not know: %s",
                    len(changes) - len(known), ", ".join(skipped))
    return {**answer, "changes": known}


def _parse(response: httpx.Response, model: type[T], prepare: Callable[[object], object] | None = None) -> T:
    code = response.status_code
    if code >= 500:
        raise SyncFailure("server_error", f"HTTP {code}", maybe_sent=True, status_code=code)
    if code in (401, 403):
        raise SyncFailure("unauthorised", _detail(response), maybe_sent=False, status_code=code,
                          said=_backend_said(response))
    if code >= 400:
        raise SyncFailure("refused", _detail(response), maybe_sent=False, status_code=code,
                          said=_backend_said(response))
    try:
        if prepare is None:
            return model.model_validate_json(response.content)
        # back through JSON: the same (JSON-mode) validation rules as every other answer
        return model.model_validate_json(json.dumps(prepare(json.loads(response.content))))
    except ValueError as exc:   # pydantic's ValidationError and json's JSONDecodeError
        if not isinstance(exc, ValidationError):
            raise SyncFailure("bad_answer", f"{model.__name__}: not JSON", maybe_sent=True, status_code=code) from None
        raise SyncFailure("bad_answer", f"{model.__name__}: {exc.error_count()} errors",
                          maybe_sent=True, status_code=code) from None


NOT_GATEPAY = ("这个地址不是 gatepay 后台，请检查后台地址（只写到端口，例如 https://pay.example.cn）",
               "This address is not a gatepay backend: check the backend URL (up to the port, "
               "e.g. https://pay.example.cn)")


def _error_body(response: httpx.Response) -> object:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("detail", data) if isinstance(data, dict) else data


def _backend_said(response: httpx.Response) -> tuple[str, str] | None:
    """The backend's own sentence ({"detail": {"code", "message_zh", "message_en"}}); a 404 without
    that shape came from something else at that address (a wrong path, another web server)."""
    detail = _error_body(response)
    if isinstance(detail, dict) and detail.get("message_zh"):
        return str(detail["message_zh"]), str(detail.get("message_en") or detail["message_zh"])
    if response.status_code in (404, 405):
        return NOT_GATEPAY
    return None


def _detail(response: httpx.Response) -> str:
    """For logs: the backend's error code (never its whole body), or the status."""
    detail = _error_body(response)
    if isinstance(detail, dict) and detail.get("code"):
        return str(detail["code"])[:300]
    if isinstance(detail, str):
        return detail[:300]
    return f"HTTP {response.status_code}"
