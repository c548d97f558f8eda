"""What a load run proves afterwards: the backend booked exactly the payments the terminals saw
approved (no loss, no double), the ledger check passes, and memory stayed flat."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from backend.db import make_engine, make_sessionmaker
from backend.models.payments import Payment

ROOT = Path(__file__).resolve().parents[2]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples each backend process's resident memory every `every_s` in a daemon thread."""

    def __init__(self, pids: list[int], every_s: float = 5.0):
        self.pids = pids
        self.every_s = every_s
        self.samples: dict[int, list[tuple[float, float]]] = {p: [] for p in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rss-sampler")
        self._t0 = time.monotonic()

    def _loop(self) -> None:
        while True:
            for pid in self.pids:
                try:
                    self.samples[pid].append((time.monotonic() - self._t0, rss_mib(pid)))
                except OSError:
                    pass
            if self._stop.wait(self.every_s):
                return

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def growth(self, pid: int) -> tuple[float, float, float]:
        """(MiB after the first tenth of the run — warm, MiB at the end, MiB at peak)."""
        rows = self.samples[pid]
        if not rows:
            return 0.0, 0.0, 0.0
        warm = rows[min(len(rows) - 1, max(1, len(rows) // 10))][1]
        return warm, rows[-1][1], max(r for _, r in rows)


def compare_with_backend(url: str, approved: dict[str, int]) -> list[str]:
    """Terminal <-> backend: every payment a terminal saw approved is booked once with its amount,
    and the backend booked nothing the terminals did not see."""
    engine = make_engine(url)
    problems: list[str] = []
    try:
        with make_sessionmaker(engine)() as session:
            rows = dict(session.execute(select(Payment.payment_uuid, Payment.amount_fen)
                                        .where(Payment.status == "approved")).all())
            dupes = session.scalar(select(func.count()).select_from(
                select(Payment.payment_uuid).group_by(Payment.payment_uuid)
                .having(func.count() > 1).subquery()))
    finally:
        engine.dispose()
    missing = set(approved) - set(rows)
    extra = set(rows) - set(approved)
    wrong = [p for p in set(approved) & set(rows) if rows[p] != approved[p]]
    if missing:
        problems.append(f"{len(missing)} approved payment(s) missing in the backend, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} payment(s) booked that no terminal saw approved, e.g. {sorted(extra)[:3]}")
    if wrong:
        problems.append(f"{len(wrong)} payment(s) booked with another amount, e.g. {wrong[:3]}")
    if dupes:
        problems.append(f"{dupes} payment id(s) booked more than once")
    return problems


def check_ledger(url: str, keys: dict[str, str]) -> tuple[bool, str]:
    """The operator's own command: `gatepay backend check-ledger`."""
    env = {**os.environ, "GATEPAY_DATABASE_URL": url, **{f"GATEPAY_{k.upper()}": v for k, v in keys.items()}}
    done = subprocess.run([sys.executable, "-m", "terminal.cli", "backend", "check-ledger"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return done.returncode == 0, (done.stdout + done.stderr).strip()

