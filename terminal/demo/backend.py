"""The backend for the demo: a real `gatepay backend serve` process on loopback, with its own keys
(so the demo's card desk can hash card numbers the way terminals do) and its own database:
a SQLite file under --out, or a fresh database on the PostgreSQL server GATEPAY_DATABASE_URL
names (the demo never writes into an existing database)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from backend.channels.compose import simulated_env
from core.crypto import key_to_text, new_key
from terminal.demo.backend_process import BackendProcess


def demo_database_url(out: Path, environ: dict[str, str]) -> str:
    given = environ.get("GATEPAY_DATABASE_URL")
    if not given:
        return f"sqlite:///{out / 'backend.db'}"
    url = make_url(given)
    if not url.drivername.startswith("postgresql"):
        return given
    import psycopg

    name = f"gatepay_demo_{datetime.now():%Y%m%d_%H%M%S}_{os.getpid()}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


class DemoBackend(BackendProcess):
    def __init__(self, out: Path, database_url: str):
        self.out = out
        self.keys = {"data": new_key(), "hash": new_key(), "card": new_key()}
        keys = {"GATEPAY_DATA_KEY": key_to_text(self.keys["data"]), "GATEPAY_HASH_KEY": key_to_text(self.keys["hash"]),
                "GATEPAY_CARD_HASH_KEY": key_to_text(self.keys["card"])}
        super().__init__(database_url, out, extra_env=keys, log_path=out / "logs" / "backend.log",
                         simulators=simulated_env())   # the demo chooses the channel and bank simulators, explicitly

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`gatepay backend ARGS` against the demo's database, as an operator would type it."""
        return subprocess.run([sys.executable, "-m", "terminal.cli", "backend", *args], env=self.env(),
                              cwd=self.out, capture_output=True, text=True, timeout=120)

    def start(self, timeout: float = 120.0) -> "DemoBackend":
        return super().start(timeout)
