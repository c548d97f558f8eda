"""`gatepay backend serve --workers N`: connections are spread over the worker processes, a
worker that dies is replaced, SIGTERM stops them all, and first start makes one set of keys."""
from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from backend.config import BackendSettings
from tests.backend.helpers import wait_for
from terminal.demo.backend_process import BackendProcess


def request_pids(log: Path, path_part: str) -> set[int]:
    """The pids that wrote access-log lines for paths holding `path_part` (every line names its pid)."""
    pids = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and path_part in entry.get("path", ""):
            pids.add(entry["pid"])
    return pids


def _worker_pids(log: Path) -> set[int]:
    return request_pids(log, "/health")


def _health_on_new_connections(url: str, count: int) -> None:
    for _ in range(count):
        with httpx.Client(base_url=url, timeout=5) as client:   # a new connection, a new source port
            assert client.get("/health").json()["status"] == "ok"


def _all_answer_on_new_connections(url: str, count: int) -> bool:
    """False while some new connection is refused or reset: right after a worker dies, the
    connections the kernel had already queued on its socket are reset."""
    try:
        _health_on_new_connections(url, count)
    except httpx.HTTPError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"


@pytest.fixture
def served(tmp_path, sqlite_url):  # noqa: ANN001
    backend = BackendProcess(sqlite_url, tmp_path, serve_args=["--workers", "2"], log_path=tmp_path / "backend.log",
                             simulators={}).start(timeout=60)
    yield backend.proc, backend.url, backend.log_path
    backend.kill()


def test_connections_are_spread_over_the_workers(served):  # noqa: ANN001
    _proc, url, log = served
    _health_on_new_connections(url, 40)
    # the log lines are written after the answer; 40 connections all on one socket: 2**-39
    assert wait_for(lambda: len(_worker_pids(log)) == 2, 10), _worker_pids(log)


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(served):  # noqa: ANN001
    proc, url, log = served
    _health_on_new_connections(url, 40)
    assert wait_for(lambda: len(_worker_pids(log)) == 2, 10)     # both workers' log lines are written
    first = _worker_pids(log)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)                   # a worker crashes
    # a new worker replaces it, and every new connection is answered again
    assert wait_for(lambda: _all_answer_on_new_connections(url, 10) and bool(_worker_pids(log) - first), 30,
                    every_s=0.3), "no new worker answered after one was killed"

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not any(_alive(pid) for pid in _worker_pids(log))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=1)


def test_processes_starting_together_share_one_set_of_keys(tmp_path):  # noqa: ANN001
    key_file = tmp_path / "var" / "keys.json"
    seen: list[dict[str, bytes]] = []
    start = threading.Barrier(8)

    def first_start() -> None:
        start.wait()
        seen.append(BackendSettings(key_file=key_file).keys)

    threads = [threading.Thread(target=first_start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(keys == seen[0] for keys in seen)
    assert BackendSettings(key_file=key_file).keys == seen[0]          # and they are the stored ones
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["keys.json"]   # no temporary file left
