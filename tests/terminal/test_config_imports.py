"""Reading the terminal config must stay light: the doctor, the wizard and `hash-pin` import
terminal.config without a camera, a network client or the parking scene (issue 14)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# cv2 is not listed yet: hardware.face.config still loads it (through hardware.face.liveness).
MUST_NOT_LOAD = ("httpx", "sync.client", "terminal.parking", "terminal.parking_link", "terminal.app")


def test_importing_the_terminal_config_loads_no_network_client_and_no_parking_scene():
    code = ("import json, sys, terminal.config; "
            f"print(json.dumps([m for m in {list(MUST_NOT_LOAD)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
