"""FastAPI dependencies shared by every router."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from fastapi import Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. Routes commit explicitly; anything not committed is rolled back."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def request_now(request: Request) -> datetime:
    """The backend's clock: `app.state.clock` (unix seconds) when a test sets one, else real time."""
    clock = getattr(request.app.state, "clock", None)
    return datetime.fromtimestamp(clock(), timezone.utc) if clock else datetime.now(timezone.utc)
