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
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, DROP, rename); with foreign keys enforced, the
            # DROP of a table others refer to fails on any database holding data. The pragma only
            # takes effect outside a transaction, so it goes to the driver before alembic begins;
            # the references are checked once the migrations are done.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=sqlite, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing at nothing: {broken[:5]}")
    engine.dispose()


run_migrations_online()
