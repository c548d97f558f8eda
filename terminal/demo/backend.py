"""The backend for the demo: a real `gatepay backend serve` process on loopback, with its own keys
(so the demo's card desk can hash card numbers the way terminals do) and its own database:
a SQLite file under --out, or a fresh database on the PostgreSQL server GATEPAY_DATABASE_URL
names (the demo never writes into an existing database)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from backend.channels.compose import simulated_env
from core.crypto import key_to_text, new_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class DemoBackend:
    def __init__(self, out: Path, database_url: str):
        self.out = out
        self.database_url = database_url
        self.port = free_port()
        self.keys = {"data": new_key(), "hash": new_key(), "card": new_key()}
        self.log_path = out / "logs" / "backend.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "GATEPAY_DATABASE_URL": self.database_url,
                "GATEPAY_KEY_FILE": str(self.out / "backend-keys.json"),
                "GATEPAY_DATA_KEY": key_to_text(self.keys["data"]), "GATEPAY_HASH_KEY": key_to_text(self.keys["hash"]),
                "GATEPAY_CARD_HASH_KEY": key_to_text(self.keys["card"]), "GATEPAY_PORT": str(self.port),
                **simulated_env()}     # the demo chooses the channel and bank simulators, explicitly

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`gatepay backend ARGS` against the demo's database, as an operator would type it."""
        return subprocess.run([sys.executable, "-m", "terminal.cli", "backend", *args], env=self.env(),
                              cwd=self.out, capture_output=True, text=True, timeout=120)

    def start(self, timeout_s: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "backend", "serve", "--port",
                                      str(self.port)], env=self.env(), cwd=self.out, stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"后台启动失败 / the backend exited ({self.proc.returncode}); see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"后台未响应 / the backend did not answer in {timeout_s:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
