"""Who is calling: a terminal (signed request, core.signing) or an operator (bearer token + role).

Terminal requests: the signature covers method, path and query exactly as sent, timestamp,
nonce and the SHA-256 of the raw body. A timestamp outside the window or a nonce seen before is
refused; each nonce is stored (and the terminal's last_seen_at updated) in a transaction committed
before the route runs, so a replay racing the original is refused by the unique key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.models.operators import Operator
from backend.models.terminals import Terminal, UsedNonce
from backend.services.operators import token_hash
from core.signing import H_NONCE, H_SIGNATURE, H_TERMINAL, H_TIMESTAMP, verify

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")
_NONCE = re.compile(r"[0-9a-fA-F]{32}")
_B64 = re.compile(r"[A-Za-z0-9+/]{86}==")   # an Ed25519 signature is 64 bytes
NONCE_PURGE_EVERY_S = 60
# A full push (500 items) is well under 1 MiB; more is a fault or an attack, refused before hashing.
MAX_SIGNED_BODY = 4 * 1024 * 1024
LAST_SEEN_RESOLUTION = timedelta(seconds=30)
# Built once: a statement built per request costs ~4x the CPU of executing a prebuilt one.
_T = Terminal.__table__.c
_TERMINAL_ROW = select(_T.id, _T.public_key, _T.status, _T.last_seen_at, _T.merchant_id, _T.site_id, _T.lane_id,
                       _T.scene).where(_T.id == bindparam("terminal_id"))
# PostgreSQL: the nonce's transaction commits without waiting for the WAL flush (set in this
# select, so no extra round trip; it ends with the transaction). A route that changes anything
# commits synchronously after it, and PostgreSQL flushes the WAL in order, so the nonce is on disk
# before such a route answers. What a database crash can lose is the nonce of a request that
# changed nothing (a pull, a refused call), whose replay changes nothing either. Replays racing
# the original are refused as before: a commit is visible at once, flushed or not.
_TERMINAL_ROW_NO_FLUSH_WAIT = _TERMINAL_ROW.add_columns(func.set_config("synchronous_commit", "off", True))
_INSERT_NONCE = insert(UsedNonce.__table__)


@dataclass(frozen=True)
class SignedHeaders:
    terminal_id: int
    timestamp: int
    nonce: str
    signature: str


def parse_signed_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The four signing headers, strictly checked; ValueError names what is wrong."""
    values = {}
    for name in (H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE):
        value = headers.get(name)
        if value is None:
            raise ValueError(f"missing header {name}")
        values[name] = value
    if not _DIGITS.fullmatch(values[H_TERMINAL]) or not 1 <= int(values[H_TERMINAL]) <= MAX_ID:
        raise ValueError(f"{H_TERMINAL} is not a terminal id")
    if not _DIGITS.fullmatch(values[H_TIMESTAMP]):
        raise ValueError(f"{H_TIMESTAMP} is not unix seconds")
    if not _NONCE.fullmatch(values[H_NONCE]):
        raise ValueError(f"{H_NONCE} is not 32 hex characters")
    if not _B64.fullmatch(values[H_SIGNATURE]):
        raise ValueError(f"{H_SIGNATURE} is not a base64 Ed25519 signature")
    return SignedHeaders(int(values[H_TERMINAL]), int(values[H_TIMESTAMP]),
                         values[H_NONCE].lower(), values[H_SIGNATURE])


@dataclass(frozen=True)
class TerminalPrincipal:
    terminal_id: int
    merchant_id: int
    site_id: int
    lane_id: int | None
    scene: str


def _path_and_query(request: Request) -> str:
    """Path and query exactly as the client sent them (what TerminalAuth signs: url.raw_path)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _unauthorised(code: str, zh: str, en: str):  # noqa: ANN202
    return api_error(401, code, zh, en)


def _authenticate_terminal(request: Request, session: Session, signed: SignedHeaders, body: bytes,
                           path_and_query: str) -> TerminalPrincipal:
    settings = request.app.state.settings
    now = request_now(request).timestamp()
    if abs(now - signed.timestamp) > settings.signature_window_s:
        raise _unauthorised("clock", "终端时钟与服务器相差过大，请校准终端时间后重试",
                            "The terminal clock is too far from the server's; set the time and retry")
    terminal = _terminal_row(session, signed.terminal_id)
    if terminal is None or not verify(terminal.public_key, signed.signature, request.method,
                                      path_and_query, signed.timestamp, signed.nonce, body):
        raise _unauthorised("bad_signature", "终端签名无效，请重新注册终端",
                            "The terminal signature is not valid; register the terminal again")
    if terminal.status != "active":
        raise api_error(403, "terminal_disabled", "此终端已被停用，请联系运营人员",
                        "This terminal has been disabled; contact the operator")
    seen_at = datetime.fromtimestamp(now, timezone.utc)
    try:
        session.execute(_INSERT_NONCE, dict(terminal_id=terminal.id, nonce=signed.nonce, seen_at=seen_at))
        # "Last seen" to the half minute is enough, and spares a row lock on every request.
        if terminal.last_seen_at is None or seen_at - terminal.last_seen_at > LAST_SEEN_RESOLUTION:
            session.execute(update(Terminal).where(Terminal.id == terminal.id).values(last_seen_at=seen_at))
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _unauthorised("replay", "重复的请求已被拒绝", "A replayed request was refused") from None
    _purge_old_nonces(request, session, now)
    return TerminalPrincipal(terminal.id, terminal.merchant_id, terminal.site_id, terminal.lane_id,
                             terminal.scene)


def _terminal_row(session: Session, terminal_id: int):  # noqa: ANN202
    """The columns a signed request needs, as a row: every terminal call pays for this, and an
    ORM object costs several times the query's own CPU. Read each time (never cached), so a
    disabled terminal is refused at once."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return session.execute(_TERMINAL_ROW_NO_FLUSH_WAIT if postgres else _TERMINAL_ROW, {"terminal_id": terminal_id}).first()


def _purge_old_nonces(request: Request, session: Session, now: float) -> None:
    """A nonce older than twice the window can never be accepted again; drop it (once a minute)."""
    state = request.app.state
    if now - getattr(state, "nonces_purged_at", 0.0) < NONCE_PURGE_EVERY_S:
        return
    state.nonces_purged_at = now
    window = request.app.state.settings.signature_window_s
    cutoff = datetime.fromtimestamp(now, timezone.utc) - timedelta(seconds=2 * window)
    session.execute(delete(UsedNonce).where(UsedNonce.seen_at < cutoff))
    session.commit()


async def current_terminal(request: Request, session: Session = Depends(get_session)) -> TerminalPrincipal:
    """Dependency for every signed terminal endpoint."""
    try:
        signed = parse_signed_headers(request.headers)
    except ValueError as exc:
        raise _unauthorised("unsigned", f"请求未签名或签名头有误：{exc}",
                            f"The request is not signed or a signing header is wrong: {exc}") from None
    declared = request.headers.get("content-length", "0")
    too_large = api_error(413, "body_too_large", "请求内容过大，请分批发送",
                          f"The request body is too large (at most {MAX_SIGNED_BODY} bytes); send it in parts")
    if not declared.isdigit() or int(declared) > MAX_SIGNED_BODY:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():     # chunked bodies are capped while read, not after
        size += len(chunk)
        if size > MAX_SIGNED_BODY:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body   # starlette's cache of the body: the route parses the bytes we verified
    return await run_in_threadpool(_authenticate_terminal, request, session, signed, body,
                                   _path_and_query(request))


@dataclass(frozen=True)
class OperatorPrincipal:
    operator_id: int
    role: str
    merchant_id: int | None

    def can_see(self, merchant_id: int | None) -> bool:
        """A merchant admin sees only its own merchant; operators and auditors see all."""
        return self.role != "merchant_admin" or (merchant_id is not None and merchant_id == self.merchant_id)


_bearer = HTTPBearer(auto_error=False, description="Operator token from `gatepay backend create-operator`")


def require_roles(*roles: str) -> Callable[..., OperatorPrincipal]:
    """Dependency factory: the caller must hold a valid operator token with one of `roles`."""
    allowed = frozenset(roles)

    def operator_principal(request: Request,
                           credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
                           session: Session = Depends(get_session)) -> OperatorPrincipal:
        if credentials is None or not credentials.credentials or len(credentials.credentials) > 200:
            raise api_error(401, "no_token", "请提供操作员令牌（Authorization: Bearer …）",
                            "Send an operator token (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})
        digest = token_hash(request.app.state.settings.keys["hash"], credentials.credentials)
        operator = session.scalar(select(Operator).where(Operator.token_hash == digest))
        if operator is None or not operator.active:
            raise api_error(401, "bad_token", "操作员令牌无效或已停用，请向管理员申请新令牌",
                            "The operator token is not valid or was deactivated; ask for a new one",
                            headers={"WWW-Authenticate": "Bearer"})
        if operator.role not in allowed:
            raise api_error(403, "forbidden_role", "您的角色无权执行此操作",
                            f"Your role ({operator.role}) may not do this")
        return OperatorPrincipal(operator.id, operator.role, operator.merchant_id)

    return operator_principal


def ensure_visible(principal: OperatorPrincipal, merchant_id: int | None, what_zh: str, what_en: str) -> None:
    """404 (not 403) for another merchant's object, so a merchant admin cannot probe ids."""
    if not principal.can_see(merchant_id):
        raise api_error(404, "not_found", f"找不到该{what_zh}", f"No such {what_en}")
