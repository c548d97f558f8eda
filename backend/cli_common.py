"""What the `gatepay backend` commands share: a session on an engine of their own (disposed when the
command is done) and a refusal printed in zh and en with exit code 2."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from backend.errors import ApiError


@contextmanager
def command_session(database_url: str) -> Iterator["Session"]:
    from backend.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def exit_refused(exc: "ApiError") -> NoReturn:
    typer.echo(f"{exc.detail['message_zh']}\n{exc.detail['message_en']}", err=True)
    raise typer.Exit(2) from None
