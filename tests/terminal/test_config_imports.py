"""Reading the terminal config must stay light: the doctor, the wizard and `hash-pin` import
terminal.config without a camera, a network client or the parking scene (issue 14)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# OpenCV stays out: the face checks' limits the config reads are plain values (hardware/face/limits.py).
MUST_NOT_LOAD = ("cv2", "httpx", "sync.client", "terminal.parking", "terminal.parking_link", "terminal.app")


def test_importing_the_terminal_config_loads_no_camera_library_network_client_or_parking_scene():
    code = ("import json, sys, terminal.config; "
            f"print(json.dumps([m for m in {list(MUST_NOT_LOAD)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
