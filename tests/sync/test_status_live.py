"""`gatepay terminal status` reads the running terminal's state: running or not, online, last
pull and push, queue, in the terminal's local time. Real processes: a headless terminal
registered with the real backend, and the status command run beside it."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from terminal.store import load_data_key

GATEPAY = str(Path(sys.executable).with_name("gatepay"))


def status(path: Path) -> str:
    done = subprocess.run([GATEPAY, "terminal", "status", "--config", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def printed_time(out: str, label: str) -> datetime:
    line = next(line for line in out.splitlines() if label in line)
    return datetime.strptime(line.rsplit(": ", 1)[1].strip(), "%Y-%m-%d %H:%M:%S")


def test_status_reads_the_running_terminal_in_local_time(canteen, tmp_path) -> None:  # noqa: ANN001
    data_dir = tmp_path / "data"
    canteen.terminal(data_dir, key=load_data_key(data_dir)).close()        # registered, as the installer left it
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(canteen.core_config(data_dir, timezone="Asia/Shanghai", sync_interval_s=1)
                                   .model_dump(mode="json"), allow_unicode=True))
    assert "未运行过 / terminal: has not run yet" in status(path)

    kiosk = subprocess.Popen([GATEPAY, "terminal", "--headless", "--config", str(path), "--events", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        out = status(path)
        while "在线 / online" not in out or "last pull: 从未" in out:
            assert time.monotonic() < deadline, out
            time.sleep(0.5)
            out = status(path)
        assert f"运行中 / terminal: running (pid {kiosk.pid}" in out
        assert "待上传 / queue: 0" in out and "时区 / time zone: Asia/Shanghai" in out
        shanghai_now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
        assert abs(printed_time(out, "last pull") - shanghai_now) < timedelta(seconds=60)   # local, not UTC
    finally:
        kiosk.send_signal(signal.SIGTERM)
        kiosk.wait(timeout=30)
    assert "未运行 / terminal: not running" in status(path)
