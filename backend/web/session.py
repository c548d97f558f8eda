"""Who is using the admin page. Logging in with an operator token (checked exactly as the API
checks a bearer token: same hash, same roles) gives a session cookie, HttpOnly and
SameSite=strict, that holds no token: the operator id, when it was issued and when it expires
(ADMIN_SESSION_S), signed with a key derived from the backend's hash key and bound to the
operator's current token hash, so a stolen cookie dies at expiry and at once when the operator
is deactivated or given a new token. Forms carry a CSRF token that must equal the one in a
second cookie (double submit), so another site cannot post a form with the operator's cookie.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import OperatorPrincipal, _bearer
from backend.deps import get_session
from backend.models.operators import Operator
from backend.services.operators import token_hash

TOKEN_COOKIE = "gp_admin"       # the session (not the token, despite the historical name)
CSRF_COOKIE = "gp_csrf"
MAX_TOKEN = 200
ADMIN_SESSION_S = 8 * 3600      # a working day; then log in again


class NotAllowed(Exception):
    """The logged-in role may not see this page or do this."""


def operator_for_token(request: Request, session: Session, token: str | None) -> OperatorPrincipal | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    operator = session.scalar(select(Operator).where(
        Operator.token_hash == token_hash(request.app.state.settings.keys["hash"], token)))
    if operator is None or not operator.active:
        return None
    return OperatorPrincipal(operator.id, operator.role, operator.merchant_id)


def _session_key(request: Request) -> bytes:
    return hmac.new(request.app.state.settings.keys["hash"], b"gatepay admin session v1", hashlib.sha256).digest()


def _now(request: Request) -> float:
    return (getattr(request.app.state, "clock", None) or time.time)()


def _tag(key: bytes, body: str, token_hash_: str) -> str:
    digest = hmac.new(key, f"{body}|{token_hash_}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_session(request: Request, session: Session, who: OperatorPrincipal) -> str:
    """The cookie value for an operator who just logged in."""
    issued = int(_now(request))
    body = f"{who.operator_id}.{issued}.{issued + ADMIN_SESSION_S}"
    return f"{body}.{_tag(_session_key(request), body, session.get(Operator, who.operator_id).token_hash)}"


def operator_for_session(request: Request, session: Session, cookie: str | None) -> OperatorPrincipal | None:
    """The operator a session cookie names, if it is ours, unexpired and the operator still active
    with the same token; None for anything else (the page then asks to log in)."""
    parts = (cookie or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]) or len(cookie or "") > MAX_TOKEN:
        return None
    operator_id, issued, expires = (int(p) for p in parts[:3])
    if not issued <= _now(request) < expires or expires - issued > ADMIN_SESSION_S or operator_id >= 2**31:
        return None
    operator = session.get(Operator, operator_id)
    if operator is None or not operator.active:
        return None
    expected = _tag(_session_key(request), ".".join(parts[:3]), operator.token_hash)
    if not hmac.compare_digest(expected, parts[3]):
        return None
    return OperatorPrincipal(operator.id, operator.role, operator.merchant_id)


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or ""


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, str(submitted)):
        raise NotAllowed


def set_cookie(response, request: Request, name: str, value: str, max_age: int | None = None) -> None:  # noqa: ANN001
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/admin", max_age=max_age,
                        secure=request.url.scheme == "https")


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def to_login() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


@dataclass(frozen=True)
class PageUser:
    """Who asked for a page: `who` None means nobody valid is logged in; `allowed` whether the
    role may; `by_bearer` when the token came in an Authorization header (a script, not a
    browser: no cookie was sent, so no CSRF check is needed)."""
    who: OperatorPrincipal | None
    allowed: bool
    by_bearer: bool

    def check_csrf(self, request: Request, submitted: str | None) -> None:
        if not self.by_bearer:
            check_csrf(request, submitted)


def admin_roles(*roles: str):  # noqa: ANN201
    """Page dependency: the operator behind the admin cookie (or a bearer token), and whether one
    of `roles` is held. Its inner function has auth.require_roles' name, so tools that walk the
    routes for guards see admin pages as operator-guarded, which they are (backend.web.render.page
    turns 'nobody' into the login page (401) and 'not allowed' into a 403 page)."""
    allowed_roles = frozenset(roles)

    def operator_principal(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
                           session: Session = Depends(get_session)) -> PageUser:
        if credentials is not None:
            who = operator_for_token(request, session, credentials.credentials)
        else:
            who = operator_for_session(request, session, request.cookies.get(TOKEN_COOKIE))
        return PageUser(who, who is not None and who.role in allowed_roles, credentials is not None)

    return operator_principal
