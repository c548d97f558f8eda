"""A terminal process for the demo: the real terminal Runner (store, core, sync thread and the
devices of its config from hardware.registry: simulated serial scanner, card reader and Modbus
gate at a canteen; the plate push endpoint and gate at a parking lane) on the demo's clock.
Driven by JSON lines on stdin, one answer line per command on stdout; a SIGKILL at any moment is
a power cut.

    python -m terminal.demo.worker CONFIG.json START_ISO

Commands: time, face, card, code, view, sync, refund, close, quit (see `answer`).

Adapter, said plainly: the terminal's runner has no camera-to-face-pipeline device yet, so a
canteen process runs hardware.face.FacePipeline itself, with the gallery loaded from the
terminal's own cache of signed faces (Cache.face_gallery), and hands its events to the core.
"""
from __future__ import annotations

import base64
import json
import logging
import pickle
import queue
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from core.clock import to_iso
from terminal.config import load_config
from terminal.demo.clock import DemoClock
from terminal.runner import Runner
from terminal.state import CanteenView

ANSWER_WAIT_S = 15.0


class Worker:
    def __init__(self, config_path: Path, start: datetime):
        self.config = load_config(config_path)
        self.clock = DemoClock(start)
        self.runner = Runner(self.config, clock=self.clock, out=sys.stderr)
        if self.runner.store.get_meta("shift_opened_at") is None:
            # The cashier opens the day's shift when the terminal first starts (the demo's day lies
            # before the registration time, which close_shift would otherwise count from).
            self.runner.store.set_meta(shift_opened_at=to_iso(start))
        self.outcomes: queue.Queue = queue.Queue()
        self.runner.core.subscribe(self._view)
        self.engine = self.pipeline = None
        if self.config.scene == "canteen":
            from hardware.face.config import FaceConfig, LivenessConfig   # OpenCV and dlib: canteens only
            from hardware.face.engine import FaceEngine
            from hardware.face.pipeline import FacePipeline

            # IR liveness (an RGB+IR camera pair); the photos cannot blink.
            face_config = FaceConfig(liveness=LivenessConfig(mode="required", blink=False, infrared=True))
            self.engine = FaceEngine(face_config)
            self.pipeline = FacePipeline(self.engine, self.clock, device="gate_camera")
        self.frame_t = 0.0
        self.loop = threading.Thread(target=self.runner.run, name="gatepay-core", daemon=True)

    def _view(self, view: object) -> None:
        if isinstance(view, CanteenView) and view.outcome is not None:
            self.outcomes.put(view)

    def _drain(self) -> None:
        while not self.outcomes.empty():
            self.outcomes.get_nowait()

    def _wait_view(self) -> CanteenView | None:
        try:
            return self.outcomes.get(timeout=ANSWER_WAIT_S)
        except queue.Empty:
            return None

    def _load_gallery(self) -> None:
        import numpy as np

        from hardware.face.gallery import template_from_bytes

        people = self.runner.store.cache.face_gallery(self.engine.model.id)   # this engine's model only
        ids = [cid for cid, blobs in people for _ in blobs]
        blobs = [template_from_bytes(b) for _, found in people for b in found]
        if blobs:
            self.engine.gallery.load(np.array(ids), np.vstack(blobs))

    def _frame(self, image):  # noqa: ANN001, ANN202 - numpy image -> hardware.camera.Frame
        from hardware.camera import Frame

        self.frame_t += 1 / 15
        return Frame(image, self.clock.now(), self.frame_t, int(self.frame_t * 15))

    def face(self, photo: str, live: bool) -> list[CanteenView]:
        from terminal.demo.faces import blank_frame, camera_frame, ir_frame

        self._load_gallery()
        self.frame_t += 2.0                                     # the last diner walked away
        self.pipeline.process(self._frame(blank_frame()))
        image = camera_frame(photo)
        views = []
        for _ in range(8):                                     # about half a second of video
            for event in self.pipeline.process(self._frame(image), ir_frame(image, live)):
                self._drain()
                self.runner.core.handle_event(event)
                view = self._wait_view()
                if view is not None:
                    views.append(view)
            if views:
                break
        return views

    def device_event(self, send) -> list[CanteenView]:  # noqa: ANN001
        self._drain()
        send()
        view = self._wait_view()
        return [view] if view is not None else []

    def answer(self, cmd: dict) -> dict:
        op = cmd.get("op")
        core = self.runner.core
        if op == "time":
            self.clock.set(datetime.fromisoformat(cmd["at"]))
            return {"ok": True}
        if op == "face":
            return self._views(self.face(cmd["photo"], bool(cmd.get("live", True))))
        if op == "card":
            sim = self.runner.devices["card_reader"].simulator
            return self._views(self.device_event(lambda: sim.tap(cmd["number"])))
        if op == "code":
            sim = self.runner.devices["scanner"].simulator
            return self._views(self.device_event(lambda: sim.scan(cmd["text"])))
        if op == "view":
            view = core.current_view()
            gate = next((d for d in self.runner.devices.values() if hasattr(d, "simulator")
                         and hasattr(d.simulator, "barrier")), None)
            return {"ok": True, "view": base64.b64encode(pickle.dumps(view)).decode(),
                    "barrier_openings": gate.simulator.barrier.triggers if gate is not None else None}
        if op == "sync":
            if core.config.scene == "parking":
                core.scene.flush_events()            # lane events (entries, exits) before the outbox
            status = core.sync_now()
            return {"ok": True, "online": status.online, "queue": status.queue_depth}
        if op == "refund":
            outcome = core.refund(cmd["payment_id"], int(cmd["amount_fen"]), cmd.get("reason", ""), cmd["pin"])
            return {"ok": True, "message_zh": outcome.message_zh, "message_en": outcome.message_en}
        if op == "close":
            totals = core.close_shift(cmd["pin"])
            return {"ok": True, "totals": {"count_by_method": totals.count_by_method,
                                           "fen_by_method": totals.fen_by_method, "refunds": totals.refunds_count,
                                           "refunds_fen": totals.refunds_fen, "queued": totals.queued}}
        return {"ok": False, "error": f"unknown op {op!r}"}

    @staticmethod
    def _views(views: list[CanteenView]) -> dict:
        out = []
        for v in views:
            o = v.outcome
            out.append({"status": o.status, "payment_id": o.payment_id, "amount_fen": o.amount_fen,
                        "method": o.method, "offline": o.offline, "reason": o.reason,
                        "message_zh": o.message_zh, "message_en": o.message_en,
                        "discount_fen": getattr(o, "discount_fen", 0),   # a campaign's or coupon's (issue 17)
                        "view": base64.b64encode(pickle.dumps(v)).decode()})
        return {"ok": True, "outcomes": out}

    def serve(self) -> int:
        self.loop.start()
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                print(json.dumps({"ok": False, "error": "not JSON"}), flush=True)
                continue
            if cmd.get("op") == "quit":
                break
            try:
                reply = self.answer(cmd)
            except Exception as exc:  # noqa: BLE001 - the orchestrator reports it; the terminal keeps going
                logging.getLogger("gatepay.demo").exception("command %s failed", cmd.get("op"))
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply, default=str), flush=True)
        self.runner.stop_event.set()
        self.loop.join(15)
        return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    started = time.monotonic()
    worker = Worker(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]))
    logging.getLogger("gatepay.demo").info("canteen terminal ready in %.1fs", time.monotonic() - started)
    return worker.serve()


if __name__ == "__main__":
    raise SystemExit(main())
