"""Disk full on the terminal: the real terminal process (`gatepay terminal --headless`) runs with a
file-size limit (RLIMIT_FSIZE, the kernel's EFBIG, as on a full card) and the backend out of
reach, while diners keep coming. Once the store cannot grow, each payment is declined with plain
words (nothing approved without a durable commit, no gate), the process keeps running, and after
the space is back every approval it announced is in the store and is booked by the backend once."""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from terminal.schema import APPROVED_STATUSES
from terminal.store import load_data_key
from tests.backend.helpers import wait_for
from terminal.demo.backend_process import free_port

ROOT = Path(__file__).resolve().parents[2]
HEADROOM = 48 * 1024


def limited(max_bytes: int):  # noqa: ANN201
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def test_a_full_disk_declines_with_plain_words_and_loses_nothing(site, tmp_path):
    diners = [site.diner(wallet_fen=100_000, name=f"李小{i}") for i in range(40)]
    data_dir = tmp_path / "terminal"
    term = site.terminal(data_dir, key=load_data_key(data_dir))       # registered, cache pulled
    terminal_id = term.store.identity().terminal_id
    term.close()
    config = site.core_config(data_dir, sync_interval_s=600)
    config_path = tmp_path / "terminal.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    biggest = max(p.stat().st_size for p in data_dir.iterdir())
    env = {**os.environ, "GATEPAY_TERMINAL_BACKEND_URL": f"http://127.0.0.1:{free_port()}"}
    proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "terminal", "--headless", "--config",
                             str(config_path), "--events", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True,
                            preexec_fn=limited(biggest + HEADROOM))
    out_lines: list[str] = []
    err_lines: list[str] = []
    readers = [threading.Thread(target=lambda f=f, into=into: into.extend(iter(f.readline, "")), daemon=True)
               for f, into in ((proc.stdout, out_lines), (proc.stderr, err_lines))]
    for reader in readers:
        reader.start()
    decisions = lambda: [line for line in list(err_lines) if "decision payment_id=" in line]  # noqa: E731
    try:
        for cid in diners:
            proc.stdin.write(json.dumps({"face": cid}) + "\n")
            proc.stdin.flush()
        answered = wait_for(lambda: len(decisions()) == len(diners) or proc.poll() is not None, 120)
        assert answered and proc.poll() is None, ("the terminal keeps running on a full disk", err_lines[-20:])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        for reader in readers:
            reader.join(10)
    approved = [line.split()[1] for line in out_lines if line.startswith("APPROVED")]
    declined_for_space = [line for line in decisions() if "reason=store_write_failed" in line]
    assert approved and declined_for_space, (out_lines[-5:], err_lines[-20:])
    # every diner was answered: approved (and announced), or told the terminal cannot save
    assert len(approved) + len(declined_for_space) == len(diners), decisions()
    assert all("status=declined" in line for line in declined_for_space)

    # Space is back: the store opens, holds every announced approval and nothing else approved.
    term = site.terminal(data_dir, key=load_data_key(data_dir))        # pushes the queue on open
    held = {i.item_id: i.status for i in term.store.outbox.items(kind="payment")}
    term.close()
    assert sorted(p for p, s in held.items() if s in APPROVED_STATUSES) == sorted(approved)
    assert sorted(site.payments(terminal_id)) == sorted(approved)
    assert site.ledger_problems() == []
