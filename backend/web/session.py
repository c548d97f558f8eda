"""Who is using the admin page: the operator token kept in an HttpOnly, SameSite=strict cookie,
checked exactly as the API checks a bearer token (same hash, same roles). Forms carry a CSRF
token that must equal the one in a second cookie (double submit), so another site cannot post
a form with the operator's cookie.
"""
from __future__ import annotations

import hmac
import secrets
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

TOKEN_COOKIE = "gp_admin"
CSRF_COOKIE = "gp_csrf"
MAX_TOKEN = 200


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


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or ""


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, str(submitted)):
        raise NotAllowed


def set_cookie(response, request: Request, name: str, value: str) -> None:  # noqa: ANN001
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/admin",
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
        token = credentials.credentials if credentials else request.cookies.get(TOKEN_COOKIE)
        who = operator_for_token(request, session, token)
        return PageUser(who, who is not None and who.role in allowed_roles, credentials is not None)

    return operator_principal
