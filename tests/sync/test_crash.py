"""Crash: the terminal process is killed with SIGKILL at random points of a payment loop, again
and again, some runs online and some with the backend out of reach. After a restart every
payment whose approval line was printed (the runner prints it only after the commit) exists in
the store and on the backend exactly once, and the backend holds no charge the terminal does
not know as approved (an interrupted online attempt is refunded)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from backend.models.payments import Payment
from sync.client import SyncClient
from terminal.app import TerminalCore
from core.clock import SystemClock
from terminal.enrol import device_auth, register
from terminal.schema import APPROVED_STATUSES
from terminal.store import Store, load_data_key
from tests.backend.helpers import wait_for
from terminal.demo.backend_process import free_port
from tests.sync.rig import Canteen

KILLS = 20
ROOT = Path(__file__).resolve().parents[2]


def start_terminal(config_path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", "terminal", "--headless", "--config",
                             str(config_path), "--events", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=ROOT, text=True, bufsize=1)


def feed(proc: subprocess.Popen, diners: list[int], counter: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            proc.stdin.write(json.dumps({"face": diners[counter[0] % len(diners)]}) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return
        counter[0] += 1
        time.sleep(0.06)          # 20 diners x 60 ms > the 1 s debounce


@pytest.mark.slow
def test_kill_dash_nine_during_payments_loses_nothing_and_books_nothing_twice(tmp_path):
    site = Canteen(tmp_path)
    try:
        run_crash_loop(site, tmp_path)
    finally:
        site.close()


def run_crash_loop(site: Canteen, tmp_path: Path) -> None:
    rng = random.Random(20260302)
    diners = [site.diner(wallet_fen=1_000_000, name=f"王小{i}") for i in range(20)]
    data_dir = tmp_path / "terminal"
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register(store, site.url, site.code())
    store.close()
    config = site.core_config(data_dir, sync_interval_s=0.3, authorise_timeout_ms=800)
    config_path = tmp_path / "terminal.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    dead_url = f"http://127.0.0.1:{free_port()}"

    shown: list[str] = []
    counter = [0]
    for run in range(KILLS):
        env = {**os.environ}
        if run % 3 == 2:
            env["GATEPAY_TERMINAL_BACKEND_URL"] = dead_url        # this run is offline the whole time
        proc = start_terminal(config_path, env)
        stop = threading.Event()
        writer = threading.Thread(target=feed, args=(proc, diners, counter, stop), daemon=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda p=proc, out=lines: out.extend(iter(p.stdout.readline, "")),
                                  daemon=True)
        reader.start()
        writer.start()
        # The first approval comes once the process has started (imports, store, first sync):
        # seconds on a quiet box, much longer on a loaded one; the kill point is after it.
        wait_for(lambda: any(l.startswith("APPROVED") for l in lines), 90, every_s=0.02)
        time.sleep(rng.uniform(0.0, 0.6))                          # somewhere inside the payment loop
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        reader.join(5)
        approved = [l.split()[1] for l in lines if l.startswith("APPROVED")]
        assert approved, f"run {run}: no payment was approved before the kill"
        shown += approved

    # restart once more and let it catch up with the backend
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    client = SyncClient(site.url, device_auth(store))
    core = TerminalCore(config, store, SystemClock(), client=client)
    core.recover_interrupted()                                    # as the runner does at its start
    for _ in range(10):
        if core.sync_now().queue_depth == 0:
            break
    assert store.outbox.queue_depth() == 0

    assert len(shown) == len(set(shown)) and len(shown) > KILLS
    for pid in shown:                                             # every approval shown is in the store ...
        item = store.outbox.get(pid)
        assert item is not None and item.status in APPROVED_STATUSES, (pid, item)
    with site.app.state.sessions() as s:
        rows = s.execute(select(Payment.payment_uuid, Payment.status, Payment.refunded_fen, Payment.amount_fen)
                         .where(Payment.terminal_id == store.identity().terminal_id)).all()
    backend = {r[0]: r for r in rows}
    assert len(backend) == len(rows)                              # payment_uuid is unique: booked once
    for pid in shown:                                             # ... and on the backend, approved
        assert backend[pid][1] == "approved" and backend[pid][2] == 0, backend.get(pid)
    for pid, status, refunded, amount in rows:                    # no charge the terminal does not know of
        if status == "approved" and refunded < amount:
            assert store.outbox.get(pid).status in APPROVED_STATUSES, pid
    assert site.ledger_problems() == []
    offline = [pid for pid in shown if store.outbox.get(pid).offline]
    assert offline and len(offline) < len(shown)                  # both paths were crashed through
    recovered = sum(e.detail.get("count", 0) for e in store.audit.entries(action="recovered_in_flight"))
    print(f"crash loop: {KILLS} kills, {len(shown)} approvals shown ({len(offline)} offline), "
          f"{recovered} interrupted online attempts recovered, {len(rows)} payments on the backend")
    client.close()
    store.close()
