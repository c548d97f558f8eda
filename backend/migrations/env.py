"""Alembic environment: one migration chain for SQLite and PostgreSQL (batch mode on SQLite)."""
from __future__ import annotations

from alembic import context

import backend.models  # noqa: F401  - registers every table
from backend.db import make_engine
from backend.models.base import Base

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
