"""The orchestrator's handle on one terminal process (terminal.demo.worker): its config file,
registration with a one-time code through `gatepay terminal register`, start, commands, SIGKILL
and restart. `canteen_config` and `parking_config` are the two kinds the demo runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from terminal.config import hash_pin

PIN = "246810"
CARD_READER = {"type": "serial_card_reader", "name": "card_reader", "simulated": True}
SCANNER = {"type": "serial_scanner", "name": "scanner", "simulated": True}
GATE = {"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50}


class TerminalDown(RuntimeError):
    """The terminal process is gone (killed or crashed)."""


def start_all(terminals: list[TerminalProcess], now: datetime) -> None:
    """Start several terminal processes at once (each loads its libraries in parallel)."""
    for term in terminals:
        term.launch(now)
    for term in terminals:
        term.wait_ready()


def _common(backend_url: str, data_dir: Path) -> dict:
    return {"backend_url": backend_url, "admin_pin_hash": hash_pin(PIN, iterations=20_000),
            "data_dir": str(data_dir), "sync_interval_s": 5.0, "authorise_timeout_ms": 800}


def canteen_config(backend_url: str, data_dir: Path, meal_periods: list[dict]) -> dict:
    return {"scene": "canteen", **_common(backend_url, data_dir), "devices": [SCANNER, CARD_READER, GATE],
            "liveness_required": True, "meal_periods": meal_periods, "debounce_s": 60}


def parking_config(backend_url: str, data_dir: Path, direction: str, lane_id: int, push_port: int,
                   camera_serial: str) -> dict:
    plate_push = {"type": "plate_push", "name": "plate_push", "host": "127.0.0.1", "port": push_port,
                  "image_dir": str(data_dir / "plate-images"), "answer_timeout_s": 5.0,
                  "cameras": [{"name": f"{camera_serial}-cam", "serialno": camera_serial, "address": "127.0.0.1",
                               "direction": "in" if direction == "entry" else "out"}]}
    return {"scene": "parking", **_common(backend_url, data_dir), "parking": {"direction": direction,
                                                                               "lane_id": lane_id},
            "devices": [plate_push, GATE]}


@dataclass(eq=False)
class TerminalProcess:
    name: str
    folder: Path
    config: dict
    logs: Path

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(self.config["data_dir"])
        self.config_path = self.folder / "terminal.json"
        self.log_path = self.logs / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None
        self.config_path.write_text(json.dumps(self.config, ensure_ascii=False, indent=1))

    def register(self, code: str) -> str:
        """What `gatepay terminal register --config … --code …` does, without starting a Python
        process per terminal: the store from the config, a device key made here, the one-time code."""
        from sync.client import SyncFailure
        from core.clock import SystemClock
        from terminal.config import load_config
        from terminal.enrol import register
        from terminal.runner import open_store

        store = open_store(load_config(self.config_path), SystemClock())
        try:
            identity = register(store, self.config["backend_url"], code)
        except SyncFailure as failure:
            raise RuntimeError(f"{self.name}: 注册失败 / registration failed: {failure.plain}") from None
        finally:
            store.close()
        return f"terminal {identity.terminal_id} ({identity.name})"

    def start(self, now: datetime) -> None:
        self.launch(now)
        self.wait_ready()

    def launch(self, now: datetime) -> None:
        """Start the process (its clock at `now`); `wait_ready` waits for it to answer."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "terminal.demo.worker", str(self.config_path),
                                      now.isoformat()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, text=True, env=env)

    def wait_ready(self) -> None:
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError(f"{self.name}: 终端未启动 / the terminal did not start; see {self.log_path}")

    def send(self, **cmd: object) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            raise TerminalDown(self.name)
        self.proc.stdin.write(json.dumps(cmd, default=str) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise TerminalDown(self.name)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"{self.name}: {cmd.get('op')}: {reply.get('error')}")
        return reply

    def kill9(self) -> None:
        """A power cut: SIGKILL, no chance to flush or say goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None
