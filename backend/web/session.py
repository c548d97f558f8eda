"""Who is using the admin page. Logging in with an operator token (checked exactly as the API
checks a bearer token: same hash, same roles) gives a session cookie, HttpOnly and
SameSite=strict, holding a random session id and nothing else. The session itself is a row in
admin_sessions (shared by every worker process; only a keyed hash of the id is stored): the
operator, the operator's token hash at login, and when it expires (ADMIN_SESSION_S). A cookie is
good only while its row is unexpired and not revoked, and the operator is active with the same
token: logging out revokes the row, so a copied cookie stops working everywhere at once.

Forms of a logged-in page carry a CSRF token derived from the session (an HMAC of its id), so a
token from another session - or planted in a cookie - is refused. The login form, which has no
session yet, uses a double-submit cookie.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.auth import OperatorPrincipal, _bearer
from backend.deps import get_session, request_now
from backend.models.admin_web import AdminSession
from backend.models.operators import Operator
from backend.services.operators import token_hash

TOKEN_COOKIE = "gp_admin"       # the session id (not the token, despite the historical name)
CSRF_COOKIE = "gp_csrf"         # the login form's double-submit token
MAX_TOKEN = 200
ADMIN_SESSION_S = 8 * 3600      # a working day; then log in again
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{40,64}")


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


def _key(request: Request, purpose: bytes) -> bytes:
    return hmac.new(request.app.state.settings.keys["hash"], b"gatepay admin " + purpose, hashlib.sha256).digest()


def _id_hash(request: Request, cookie: str) -> str:
    return hmac.new(_key(request, b"session id v2"), cookie.encode(), hashlib.sha256).hexdigest()


def new_session(request: Request, session: Session, who: OperatorPrincipal) -> str:
    """Store a session for an operator who just logged in (committed); the cookie value."""
    now = request_now(request)
    cookie = secrets.token_urlsafe(32)
    session.execute(delete(AdminSession).where(AdminSession.expires_at < now - timedelta(days=1)))
    session.add(AdminSession(id_hash=_id_hash(request, cookie), operator_id=who.operator_id,
                             token_hash=session.get(Operator, who.operator_id).token_hash,
                             created_at=now, expires_at=now + timedelta(seconds=ADMIN_SESSION_S)))
    session.commit()
    return cookie


def _live_session(request: Request, session: Session, cookie: str | None) -> AdminSession | None:
    if not cookie or not _SESSION_ID.fullmatch(cookie):
        return None
    row = session.get(AdminSession, _id_hash(request, cookie))
    if row is None or row.revoked_at is not None or not row.created_at <= request_now(request) < row.expires_at:
        return None
    operator = session.get(Operator, row.operator_id)
    if operator is None or not operator.active or operator.token_hash != row.token_hash:
        return None
    return row


def operator_for_session(request: Request, session: Session, cookie: str | None) -> OperatorPrincipal | None:
    """The operator a session cookie names, if its session is stored, unexpired, not logged out and
    the operator still active with the same token; None for anything else (the page then asks to
    log in). Remembers the session on the request, for its CSRF token."""
    row = _live_session(request, session, cookie)
    if row is None:
        return None
    request.state.admin_session = row.id_hash
    operator = session.get(Operator, row.operator_id)
    return OperatorPrincipal(operator.id, operator.role, operator.merchant_id)


def revoke_session(request: Request, session: Session, cookie: str | None) -> bool:
    """Log out: the session the cookie names can no longer be used, by any copy of the cookie."""
    row = _live_session(request, session, cookie)
    if row is None:
        return False
    row.revoked_at = request_now(request)
    session.commit()
    return True


def _bound_csrf(request: Request, id_hash: str) -> str:
    digest = hmac.new(_key(request, b"csrf v2"), id_hash.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_token(request: Request) -> str:
    """The token forms on this page must carry: bound to the session when there is one."""
    id_hash = getattr(request.state, "admin_session", None)
    return _bound_csrf(request, id_hash) if id_hash else request.cookies.get(CSRF_COOKIE) or ""


def session_bound(request: Request) -> bool:
    return getattr(request.state, "admin_session", None) is not None


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = csrf_token(request)
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
