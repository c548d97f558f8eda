"""What the bad-input tests (test_bad_input*.py) share: bad characters, a row count read straight
from the database, and what a clear 422 looks like."""
from __future__ import annotations

from sqlalchemy import create_engine, text

NUL, BELL, DEL = "a\x00b", "a\x07b", "a\x7fb"


def count(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def assert_clear_422(response) -> None:  # noqa: ANN001
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["message_zh"] and detail["message_en"]
