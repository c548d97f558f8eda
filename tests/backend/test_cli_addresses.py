"""`gatepay backend serve` says where it listens (host:port, workers) as it starts, and
`gatepay backend seed-demo` prints the address that backend serves on. Real processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from terminal.demo.backend_process import free_port

GATEPAY = str(Path(sys.executable).with_name("gatepay"))


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "GATEPAY_DATABASE_URL": f"sqlite:///{tmp_path / 'backend.db'}",
            "GATEPAY_KEY_FILE": str(tmp_path / "keys.json"), **extra}


def test_serve_says_where_it_listens_and_answers_there(tmp_path) -> None:  # noqa: ANN001
    port = free_port()
    proc = subprocess.Popen([GATEPAY, "backend", "serve", "--port", str(port), "--no-jobs"], env=env_for(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        assert f"listening on 127.0.0.1:{port} (1 worker process)" in first and "后台监听" in first
        assert f"http://127.0.0.1:{port}/admin" in first
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("the backend did not answer where it said it listens")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_seed_demo_prints_the_port_the_backend_serves_on(tmp_path) -> None:  # noqa: ANN001
    seeded = subprocess.run([GATEPAY, "backend", "seed-demo"], env=env_for(tmp_path, GATEPAY_PORT="8911"),
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "backend: http://127.0.0.1:8911" in seeded.stdout and "serve --port 8911" in seeded.stdout
    assert "http://127.0.0.1:8700" not in seeded.stdout
    again = subprocess.run([GATEPAY, "backend", "seed-demo", "--port", "9123"], env=env_for(tmp_path),
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "already present" in again.stdout and "backend: http://127.0.0.1:9123" in again.stdout
