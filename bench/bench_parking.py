"""Parking benchmark: plate push -> barrier command at the exit, for signed plates.

    .venv/bin/python bench/bench_parking.py [--cars 30]

The real backend runs as a process on loopback (SQLite); an entry lane and an exit lane are real
terminals (store file, Decider, sync, parking scene, Modbus relay gate driver over its simulator).
Each car is signed to a driver with money in the wallet and entered 61 minutes earlier at the
entry lane (fee 7.00). At the exit a simulated Vzenith camera posts real AlarmInfoPlate JSON with
a photo to the real PlatePushServer; the time runs from just before the camera's POST to the
moment the scene commands the barrier (after the payment and the stay are committed on disk).
First `--cars` exits with the backend up (online authorisation), then `--cars` more with the
backend stopped (offline approval within the site's limits; as in production, the lane retries the
network only every 15 s while offline). Prints p50/p95/max in ms.
Nothing is asserted: figures go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hardware.events import PlateRead  # noqa: E402
from hardware.plates.server import PlatePushServer, PlatePushServerConfig  # noqa: E402
from hardware.plates.simulator import SimulatedVzenithCamera  # noqa: E402
from bench.stats import percentile  # noqa: E402
from terminal.parking_lane import ParkingLane  # noqa: E402
from tests.terminal.parking_rig import CarPark, Lane  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "plates" / "rpnet_demo_3.jpg"


def enter(entry: Lane, plates: list[str]) -> None:
    at = datetime.now(timezone.utc) - timedelta(minutes=61)
    entry.clock.set(at)
    for plate in plates:
        entry.handle(PlateRead(plate, "blue", 0.97, "in", at, "cam-in", None))
    entry.sync()


def exits(exit_lane: Lane, camera: SimulatedVzenithCamera, plates: list[str]) -> tuple[list[float], int]:
    times, opened = [], 0
    for plate in plates:
        exit_lane.clock.set(datetime.now(timezone.utc))
        exit_lane.output.barrier_commanded_at = None
        t0 = time.monotonic()
        camera.see(plate, colour_code=1)
        if exit_lane.output.barrier_commanded_at is not None:
            times.append((exit_lane.output.barrier_commanded_at - t0) * 1000)
            opened += exit_lane.scene.current_view().pay_kind == "contactless"
    return times, opened


def report(label: str, times: list[float], opened: int, cars: int) -> None:
    if not times:
        print(f"{label}: no barrier commands")
        return
    print(f"{label}: n={len(times)} contactless={opened}/{cars}  p50={statistics.median(times):.1f} ms  "
          f"p95={percentile(times, 95):.1f} ms  max={max(times):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=30, help="exits per mode (online, offline)")
    args = parser.parse_args()
    plates = [f"京A{10000 + i}" for i in range(2 * args.cars)]
    with tempfile.TemporaryDirectory() as tmp:
        park = CarPark(Path(tmp))
        try:
            for plate in plates:
                park.driver(plate, wallet_fen=100_000)
            entry, exit_lane = park.lane("entry", "in"), park.lane("exit", "out")
            exit_lane.tracker.probe_interval_s = 15.0   # the production default (tests use 0)
            enter(entry, plates)
            exit_lane.clock.set(datetime.now(timezone.utc))   # pulled now: the offline limits' cache age
            exit_lane.sync()
            config = PlatePushServerConfig(name="plates-out", host="127.0.0.1", port=0, cameras=[
                {"name": "cam-out", "serialno": "bench-out", "address": "127.0.0.1", "direction": "out"}],
                image_dir=Path(tmp) / "images", answer_timeout_s=5)
            with PlatePushServer(config, ParkingLane(exit_lane.scene, exit_lane.output).decide) as server:
                camera = SimulatedVzenithCamera(server.url, "bench-out", photo=PHOTO)
                camera.see(plates[0])            # warm-up: first connection, imports
                online, online_ok = exits(exit_lane, camera, plates[1:args.cars])
                park.backend.stop()
                offline, offline_ok = exits(exit_lane, camera, plates[args.cars:])
            print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}; "
                  f"date {datetime.now(timezone.utc):%Y-%m-%d}")
            report("online  (backend authorises)", online, online_ok, args.cars - 1)
            report("offline (backend stopped)   ", offline, offline_ok, args.cars)
        finally:
            park.close()


if __name__ == "__main__":
    main()
