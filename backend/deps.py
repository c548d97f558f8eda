"""FastAPI dependencies shared by every router."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

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
    """Now, on the backend's one clock (`app.state.clock`, a core.clock.Clock)."""
    return request.app.state.clock.now()
