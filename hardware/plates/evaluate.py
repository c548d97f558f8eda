"""Accuracy of the software plate reader on any labelled photo set.

Manifest: CSV with at least the columns `file` and `plate` (images beside the manifest; an empty
plate means there is no plate in the picture, and reading nothing is then the right answer).
Extra columns (colour, source, note) are ignored. The same PlateOCR a lane would use reads
each picture; a read is exact when it equals the label after both are normalised.
"""
from __future__ import annotations

import csv
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2

from hardware.plates.ocr import PlateOCR
from core.plates import PlateError, normalise_plate


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class ImageResult:
    file: str
    expected: str        # "" = no plate
    read: str            # "" = nothing read
    score: float
    ms: float

    @property
    def exact(self) -> bool:
        return self.read == self.expected

    @property
    def verdict(self) -> str:
        if self.exact:
            return "ok"
        return "missed" if not self.read else "WRONG"

    def line(self) -> str:
        return (f"{self.file} expected={self.expected or '-'} read={self.read or '-'} "
                f"score={self.score:.3f} ms={self.ms:.0f} {self.verdict}")


def read_manifest(manifest: Path) -> list[tuple[Path, str]]:
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"file", "plate"} <= set(reader.fieldnames):
                raise ManifestError(f"{manifest} needs the columns file and plate")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ManifestError(f"cannot read {manifest}: {err}") from err
    out = []
    for number, row in enumerate(rows, start=2):
        image = manifest.parent / (row["file"] or "").strip()
        if not row["file"] or not image.is_file():
            raise ManifestError(f"line {number}: image {row['file']!r} not found beside the manifest")
        label = (row["plate"] or "").strip()
        if label:
            try:
                label = normalise_plate(label).text
            except PlateError as err:
                raise ManifestError(f"line {number}: label {label!r}: {err.en}") from err
        out.append((image, label))
    return out


def evaluate(manifest: Path, ocr: PlateOCR,
             timer: Callable[[], float] = time.perf_counter) -> Iterator[ImageResult]:
    for image_path, expected in read_manifest(manifest):
        image = cv2.imread(str(image_path))
        start = timer()
        reading = ocr.read(image) if image is not None else None
        ms = (timer() - start) * 1000
        yield ImageResult(image_path.name, expected, reading.plate.text if reading else "",
                          reading.score if reading else 0.0, ms)


def summary(results: list[ImageResult]) -> str:
    exact = sum(r.exact for r in results)
    median = statistics.median(r.ms for r in results) if results else 0.0
    return f"exact={exact}/{len(results)} median_ms={median:.0f}"
