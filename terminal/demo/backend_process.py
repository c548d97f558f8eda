"""The real backend as a separate process on loopback: the one launcher the demo, the tests and the
benchmarks share.

    with BackendProcess(db_url, tmp_path) as backend:
        backend.url            # http://127.0.0.1:PORT
        backend.stop()         # a partition: the terminal sees connection refused
        backend.start()        # same port, same database

It runs `gatepay backend serve --port PORT` (`command` runs something else that serves the
backend and is given `--port PORT`, e.g. a launcher that installs a bank core living in the
test process: tests/reliability/bank_core.py). The channels and the bank core are simulated,
answering at once, unless `simulators` says otherwise ({}: the backend's own settings).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import httpx

from backend.channels.compose import simulated_env


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackendProcess:
    def __init__(self, database_url: str, workdir: Path, port: int | None = None,
                 extra_env: dict[str, str] | None = None, command: list[str] | None = None, *,
                 serve_args: Sequence[str] = (), log_path: Path | None = None,
                 simulators: dict[str, str] | None = None):
        self.database_url = database_url
        self.command = command or [sys.executable, "-m", "terminal.cli", "backend", "serve"]
        self.serve_args = list(serve_args)
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.simulators = simulated_env(query_every_s=0) if simulators is None else simulators
        self.log_path = log_path or self.workdir / f"backend-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment the backend runs with (also right for `gatepay backend` commands)."""
        return {**os.environ, "GATEPAY_DATABASE_URL": self.database_url,
                "GATEPAY_KEY_FILE": str(self.workdir / "backend-keys.json"), "GATEPAY_PORT": str(self.port),
                **self.simulators, **self.extra_env}

    def start(self, timeout: float = 120.0) -> "BackendProcess":
        # Generous: a healthy backend answers in seconds, but on a loaded two-core machine its first
        # start (imports, migrations) has taken 30-40 s, and a shorter bound failed tests for nothing.
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen([*self.command, "--port", str(self.port), *self.serve_args],
                                     env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"后台启动失败 / the backend exited ({self.proc.returncode}); "
                                   f"{self.log_path}:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"后台未响应 / the backend did not answer in {timeout:.0f}s; "
                           f"{self.log_path}:\n{self._log_tail()}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an operator would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """kill -9: a crash or power cut of the backend."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def __enter__(self) -> "BackendProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
