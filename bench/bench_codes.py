"""Decode rate and time of hardware.scanner.decode_frame (pyzbar) on a labelled set of photos.

    .venv/bin/python bench/bench_codes.py tests/data/codes/MANIFEST.csv

The manifest has the columns of the sample set: file, label_or_expected_text, ..., format,
..., image_kind. A read counts when any decoded text equals the label after CRLF->LF and
strip (UPC-A may carry a leading 0 as EAN-13). Last line:
`decoded=<n>/<m> rate=<0..1> median_ms=<ms> p95_ms=<ms>`.
"""
from __future__ import annotations

import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402

from bench.stats import percentile  # noqa: E402
from hardware.scanner import decode_frame  # noqa: E402


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def matches(found: list[str], expected: str, fmt: str) -> bool:
    want = _norm(expected)
    for text in found:
        got = _norm(text)
        if got == want or (fmt == "UPC_A" and got == "0" + want):
            return True
    return False


def main(manifest: Path) -> int:
    base = manifest.parent
    times, ok, rows = [], 0, list(csv.DictReader(manifest.open(encoding="utf-8")))
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        image = cv2.imread(str(base / row["file"]))
        if image is None:
            print(f"{row['file']}: unreadable image")
            continue
        start = time.perf_counter()
        found = decode_frame(image)
        times.append((time.perf_counter() - start) * 1000)
        hit = matches(found, row["label_or_expected_text"], row["format"])
        ok += hit
        tally = by_kind.setdefault(f"{row['format']}/{row['image_kind']}", [0, 0])
        tally[0] += hit
        tally[1] += 1
        print(f"{row['file']}: {'ok' if hit else 'MISS'} ({len(found)} symbols)")
    for kind, (hits, n) in sorted(by_kind.items()):
        print(f"  {kind}: {hits}/{n}")
    times.sort()
    p95 = percentile(times, 95)
    median = statistics.median(times) if times else 0.0
    print(f"decoded={ok}/{len(rows)} rate={ok / max(1, len(rows)):.3f} median_ms={median:.1f} p95_ms={p95:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/codes/MANIFEST.csv")))
