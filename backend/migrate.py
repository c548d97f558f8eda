"""Alembic, configured in code so it works from an installed package without an alembic.ini."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, rev_id: str) -> None:
    """Autogenerate a migration (developer use): gatepay backend make-migration."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True, rev_id=rev_id)
