"""Failed admin logins, counted in the database so every worker process shares the count.

Each attempt is recorded (committed) before its token is checked, then counted: so however many
workers take attempts at once, no more than PER_CLIENT attempts from one address, and no more
than EVERYONE from all addresses together, are checked in any WINDOW. A refused attempt is not
counted (hammering does not extend the wait); a right token removes its own record but not the
earlier failures (else a guesser holding any valid token could reset its own count).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.models.admin_web import AdminLoginFailure

WINDOW = timedelta(minutes=15)
PER_CLIENT = 10         # failed logins from one address per WINDOW
EVERYONE = 100          # failed logins from all addresses together per WINDOW (a spread-out guesser)


class TooManyFailures(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed logins; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


def client_of(request: Request) -> str:
    """The address an attempt came from. Behind a load balancer this is the browser's only when
    uvicorn trusts the balancer's X-Forwarded-For (FORWARDED_ALLOW_IPS; docs/DEPLOY.md)."""
    return (request.client.host if request.client else "unknown")[:64]


def begin(session: Session, client: str, now: datetime) -> int:
    """Record an attempt (committed) before its token is checked. Raises TooManyFailures, with
    the seconds until the next attempt may be checked, when over a limit. Returns the record's id."""
    cutoff = now - WINDOW
    session.execute(delete(AdminLoginFailure).where(AdminLoginFailure.at <= cutoff))
    attempt = AdminLoginFailure(client=client, at=now)
    session.add(attempt)
    session.commit()
    waits = []
    for where, limit in (((AdminLoginFailure.client == client,), PER_CLIENT), ((), EVERYONE)):
        count = session.scalar(select(func.count()).select_from(AdminLoginFailure)
                               .where(AdminLoginFailure.at > cutoff, *where))
        if count > limit:
            waits.append(_wait(session, where, limit, attempt.id, cutoff, now))
    if waits:
        session.delete(attempt)
        session.commit()
        raise TooManyFailures(max(waits))
    return attempt.id


def _wait(session: Session, where: tuple, limit: int, mine: int, cutoff: datetime, now: datetime) -> int:
    # The limit-th newest other failure: once it leaves the window, one more attempt fits.
    at = session.scalar(select(AdminLoginFailure.at).where(AdminLoginFailure.at > cutoff, AdminLoginFailure.id != mine,
                                                           *where)
                        .order_by(AdminLoginFailure.at.desc()).offset(limit - 1).limit(1))
    return max(1, math.ceil(((at or now) + WINDOW - now).total_seconds()))


def succeeded(session: Session, attempt_id: int) -> None:
    """The token was right: this attempt was not a failure."""
    session.execute(delete(AdminLoginFailure).where(AdminLoginFailure.id == attempt_id))
    session.commit()
