"""The real backend as a separate process on loopback, for terminal and sync tests.

    with BackendProcess(db_url, tmp_path) as backend:
        backend.url            # http://127.0.0.1:PORT
        backend.stop()         # a partition: the terminal sees connection refused
        backend.start()        # same port, same database

`command` runs something else that serves the backend (it is given `--port PORT`), e.g. a launcher
that installs a bank core living in the test process (tests/reliability/bank_core.py).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.channels.compose import simulated_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackendProcess:
    def __init__(self, database_url: str, workdir: Path, port: int | None = None,
                 extra_env: dict[str, str] | None = None, command: list[str] | None = None):
        self.database_url = database_url
        self.command = command or [sys.executable, "-m", "terminal.cli", "backend", "serve"]
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / f"backend-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "BackendProcess":
        env = {**os.environ, "GATEPAY_DATABASE_URL": self.database_url,
               "GATEPAY_KEY_FILE": str(self.workdir / "backend-keys.json"),
               **simulated_env(query_every_s=0), **self.extra_env}     # the tests choose simulators
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [*self.command, "--port", str(self.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"backend did not answer in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

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

    def __enter__(self) -> "BackendProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
