"""A parking lane whose plates are read by software from a camera's frames (no LPR camera fitted),
run by the real Runner: real photo frames through the simulated camera, the real plate OCR, the
lane's scene and its gate. The core loop used to end at the reader's first poll (it was called
with an argument it did not take, and only DeviceError was caught)."""
from __future__ import annotations

import io
import threading
from pathlib import Path

from core.clock import SystemClock
from terminal.runner import Runner
from terminal.store import Store, load_data_key
from tests.backend.helpers import wait_for
from tests.terminal.helpers import Page, make_config, register_fake

CAR = Path(__file__).parents[1] / "data" / "plates" / "rpnet_demo_3.jpg"


def test_a_lane_with_a_software_plate_reader_opens_for_the_car_and_keeps_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register_fake(store)
    Page().limits().apply(store)
    store.close()
    devices = [{"type": "simulated_camera", "name": "cam", "files": [str(CAR)], "fps": 30, "loop": True},
               {"type": "camera_plate_reader", "name": "lpr", "camera": "cam", "direction": "in",
                "image_dir": str(tmp_path / "img"), "every_nth_frame": 1, "confirm_reads": 2},
               {"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50}]
    config = make_config(data_dir, scene="parking", backend_url="http://127.0.0.1:9",
                         parking={"direction": "entry", "lane_id": 1}, devices=devices)
    runner = Runner(config, out=io.StringIO())
    ended: list[object] = []

    def loop() -> None:
        try:
            ended.append(runner.run())
        except BaseException as exc:  # noqa: BLE001 - what the kiosk's core thread would die of
            ended.append(exc)
            raise

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: runner.core.current_view().plate == "皖AMK620" or ended, 120), "no plate read"
        assert ended == [], f"the core loop ended: {ended}"
        view = runner.core.current_view()
        assert view.phase == "entry_open", view
        assert wait_for(lambda: runner.devices["gate"].simulator.barrier.triggers == 1)
        assert thread.is_alive()                       # the loop goes on for the next car
    finally:
        runner.stop_event.set()
        thread.join(30)
    assert ended == [0]
