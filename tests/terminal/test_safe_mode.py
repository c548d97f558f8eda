"""A kiosk terminal with a config it cannot use shows the safe-mode screen (what is wrong, and the
installer wizard) instead of exiting; headless still exits 2 naming the field."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.terminal.test_runner import ROOT


def start(config, *args: str) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", "terminal", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def test_an_invalid_config_on_the_kiosk_opens_safe_mode_and_headless_exits_2(tmp_path):
    path = tmp_path / "terminal.yaml"
    path.write_text(f"scene: canteen\nbackend_url: nope\ndata_dir: {tmp_path / 'data'}\n")
    headless = start(path, "--headless")
    kiosk = start(path)
    try:
        _, err = headless.communicate(timeout=60)
        assert headless.returncode == 2 and "backend_url" in err
        said = ""
        while "safe-mode" not in said and kiosk.poll() is None:
            said += kiosk.stderr.readline()
        assert "backend_url" in said and "safe-mode screen" in said
        time.sleep(1.0)                      # the screen is up and waiting, not exited
        assert kiosk.poll() is None
        assert (tmp_path / "data" / "terminal.db").exists()   # the wizard's store, for registering
    finally:
        kiosk.send_signal(signal.SIGTERM)
        kiosk.communicate(timeout=30)
