"""Plate benchmarks: push -> answer latency of the camera endpoint, and the software reader.

    .venv/bin/python bench/bench_plates.py [--pushes 300] [--ccpd DIR] [--crops DIR]

1. A real PlatePushServer on 127.0.0.1 with a scene that answers at once; a simulated Vzenith
   camera posts real AlarmInfoPlate JSON carrying a ~55 KB photo (tests/data/plates), each push
   a different car, over a new TCP connection as the camera does. Prints p50/p95 of the round
   trip (build body excluded), the image saved each time.
2. PlateOCR.read per image on the CCPD sample and the plate crops (manifests in the format of
   tests/data/plates/MANIFEST.csv), after one warm-up read: median and p95 ms, exact counts.
Nothing is asserted: figures go to docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402

from bench.stats import percentile  # noqa: E402
from hardware.plates.evaluate import read_manifest  # noqa: E402
from hardware.plates.ocr import PlateOCR  # noqa: E402
from hardware.plates.push import LaneAnswer  # noqa: E402
from hardware.plates.server import PlatePushServer, PlatePushServerConfig  # noqa: E402
from hardware.plates.simulator import SimulatedVzenithCamera, read_reply  # noqa: E402
from hardware.plates.vzenith import build_push  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "plates" / "rpnet_demo_3.jpg"


def bench_push(pushes: int) -> None:
    photo = PHOTO.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        config = PlatePushServerConfig(name="plates", host="127.0.0.1", port=0, image_dir=Path(tmp), secret="k",
                                       duplicate_window_s=0,
                                       cameras=[{"name": "exit-1", "serialno": "bench-cam",
                                                 "address": "127.0.0.1", "direction": "out"}])
        scene = lambda read: LaneAnswer(True, (read.plate, "一路顺风"), "一路顺风")  # noqa: E731
        with PlatePushServer(config, scene) as server:
            camera = SimulatedVzenithCamera(server.url + "?key=k", "bench-cam", photo)
            times, opened = [], 0
            for i in range(pushes + 10):
                plate = "皖A" + f"{i:05d}"
                body = build_push("bench-cam", plate, plateid=i + 1, image=photo,
                                  seen_at=datetime.now(timezone.utc))
                start = time.perf_counter()
                status, answer = camera.post(body)
                elapsed = (time.perf_counter() - start) * 1000
                if i >= 10:                                  # the first few warm things up
                    times.append(elapsed)
                    opened += read_reply(status, answer).opened
    print(f"push->answer pushes={len(times)} body_kb={len(body) / 1024:.0f} opened={opened} "
          f"p50_ms={statistics.median(times):.2f} p95_ms={percentile(times, 95):.2f} "
          f"max_ms={max(times):.2f}")


def bench_ocr(ocr: PlateOCR, manifest: Path, label: str) -> None:
    rows = read_manifest(manifest)
    ocr.read(cv2.imread(str(rows[0][0])))                   # warm-up
    times, exact, wrong = [], 0, 0
    for path, expected in rows:
        image = cv2.imread(str(path))
        start = time.perf_counter()
        reading = ocr.read(image)
        times.append((time.perf_counter() - start) * 1000)
        got = reading.plate.text if reading else ""
        exact += got == expected
        wrong += bool(got) and got != expected
    print(f"ocr[{label}] images={len(rows)} exact={exact}/{len(rows)} wrong={wrong} "
          f"median_ms={statistics.median(times):.0f} p95_ms={percentile(times, 95):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--ccpd", type=Path, default=None, help="folder with MANIFEST.csv")
    parser.add_argument("--crops", type=Path, default=None, help="folder with MANIFEST.csv")
    args = parser.parse_args()
    print(f"machine={platform.node()} python={platform.python_version()} "
          f"date={datetime.now(timezone.utc):%Y-%m-%d}")
    bench_push(args.pushes)
    ocr = PlateOCR()
    bench_ocr(ocr, ROOT / "tests" / "data" / "plates" / "MANIFEST.csv", "tests/data")
    for label, folder in (("ccpd", args.ccpd), ("crops", args.crops)):
        if folder is not None:
            bench_ocr(ocr, folder / "MANIFEST.csv", label)


if __name__ == "__main__":
    main()
