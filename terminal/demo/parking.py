"""The car park's four lanes (two entries, two exits) for the demo: each a terminal process
(terminal.demo.worker: the terminal's Runner with scene parking, its plate push endpoint and a
simulated relay gate driven by the real Modbus driver), registered with its own one-time code. A
simulated Vzenith camera per lane pushes the vendor's AlarmInfoPlate JSON, with a real sample
photo, to that lane's endpoint over loopback."""
from __future__ import annotations

import base64
import pickle
from dataclasses import dataclass
from pathlib import Path

from hardware.plates.simulator import CameraReply, SimulatedVzenithCamera
from terminal.demo.backend_process import free_port
from terminal.demo.clock import DemoClock
from terminal.demo.terminal_process import TerminalProcess, parking_config
from terminal.state import ParkingView

PLATES = Path(__file__).resolve().parents[2] / "tests" / "data" / "plates"
PLATE_PHOTOS = {"皖AMK620": "rpnet_demo_3.jpg", "浙G857PM": "sample_fn_fn5.jpg", "皖AF05568": "green_ccpd_22.jpg",
                "沪AMS087": "lprnet_0004.jpg", "皖GC2689": "lprnet_0923.jpg"}
COLOUR_CODES = {"blue": 1, "yellow": 2, "white": 3, "black": 4, "green": 5}


@dataclass
class Lane:
    name: str
    direction: str
    terminal: TerminalProcess
    camera: SimulatedVzenithCamera

    def car(self, plate: str, colour: str) -> CameraReply | None:
        self.camera.photo = (PLATES / PLATE_PHOTOS[plate]).read_bytes() if plate in PLATE_PHOTOS else None
        return self.camera.see(plate, colour_code=COLOUR_CODES.get(colour, 1))

    def view(self) -> tuple[ParkingView, int | None]:
        reply = self.terminal.send(op="view")
        return pickle.loads(base64.b64decode(reply["view"])), reply["barrier_openings"]

    def sync(self) -> None:
        self.terminal.send(op="sync")


def make_lane(name: str, direction: str, lane_id: int, backend_url: str, folder: Path, logs: Path,
              clock: DemoClock) -> Lane:
    """Configure the lane's terminal (registered by `register_all`, started by `start_all`)."""
    port, serial = free_port(), f"demo-{name}"
    config = parking_config(backend_url, folder / name / "data", direction, lane_id, port, serial)
    terminal = TerminalProcess(f"parking-{name}", folder / name, config, logs)
    camera = SimulatedVzenithCamera(f"http://127.0.0.1:{port}/plates/push", serial, clock=clock.now, timeout_s=10)
    return Lane(name, direction, terminal, camera)
