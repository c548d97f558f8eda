"""End to end by face: the real backend on loopback, a registered terminal process whose
simulated camera plays a real photo of a signed diner. The runner's face loop recognises him
once, the payment is committed, the gate opens and the backend books it against his wallet."""
from __future__ import annotations

import base64
import signal
import subprocess
import sys
import time

import cv2
import yaml

from hardware.face.config import FaceConfig
from hardware.face.engine import FaceEngine
from hardware.face.frames import to_rgb
from hardware.face.gallery import template_to_bytes
from terminal.store import load_data_key
from tests.backend.helpers import wait_for
from tests.backend.money_helpers import CONSENT_AT
from tests.sync.rig import Canteen
from tests.terminal.test_face_loop import FACES
from tests.terminal.test_runner import ROOT


def jackie_template() -> str:
    # The signings API takes dlib templates (512 bare bytes): this is also the upgrade path, a
    # terminal configured for sface that runs dlib while every signing has only dlib templates.
    engine = FaceEngine(FaceConfig(encoder="dlib", enrol_jitters=1))
    rgb = to_rgb(cv2.imread(str(FACES / "Jackie_Chan_0001.jpg")))
    return base64.b64encode(template_to_bytes(engine.enrol_template(rgb, engine.observe(rgb)))).decode()


def test_a_signed_diner_pays_by_face_through_the_runner_and_the_backend_books_it(tmp_path):
    rig = Canteen(tmp_path)
    proc = None
    try:
        stranger = rig.diner()                              # someone else signed at the site
        template = jackie_template()
        cid = rig.post("/api/v1/customers", {"name": "成龙"})["id"]
        rig.post(f"/api/v1/customers/{cid}/signings/face", {
            "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template],
            "per_payment_limit_fen": 100_000, "per_day_limit_fen": 1_000_000})
        rig.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": "dep-jackie", "amount_fen": 10_000})
        data_dir = tmp_path / "terminal"
        rig.terminal(data_dir, key=load_data_key(data_dir)).close()    # registered, cache pulled
        devices = [{"type": "simulated_camera", "name": "camera", "files": [str(FACES / "Jackie_Chan_0002.jpg")],
                    "fps": 4},
                   {"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50, "travel_ms": 100}]
        config = rig.core_config(data_dir, liveness_required=False, devices=devices, sync_interval_s=0.5)
        path = tmp_path / "terminal.yaml"
        path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
        proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "terminal", "--headless", "--config", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = proc.stdout.readline()                        # blocks until the first approval
        assert line.startswith("APPROVED"), line
        payment_id, amount = line.split()[1], int(line.split()[2])
        assert amount == 500
        wait_for(lambda: payment_id in {str(k) for k in rig.payments()}, 60, every_s=0.3)
        time.sleep(1.5)                                      # the diner lingers past the 1 s debounce
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        assert "failed for payment" not in err               # the gate opened
        # once per visit: the photo stays in front of the camera (longer than the 1 s debounce), no second charge
        assert out.count("APPROVED") == 0
        assert payment_id in {str(k) for k in rig.payments()}
        assert rig.wallet(cid) == 10_000 - 500 and rig.wallet(stranger) == 100_000
        assert rig.ledger_problems() == []
        assert template[:24] not in err and template[:24] not in out       # logs hold no templates
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        rig.close()
