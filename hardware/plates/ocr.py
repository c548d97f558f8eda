"""Reading plates from camera frames, offline, when the lane has no LPR camera.

Built on rapidocr-onnxruntime, whose wheel ships the PP-OCR Chinese detection and recognition
models (nothing is downloaded at run time). Steps:
  1. Find plate-shaped regions three ways: coloured rectangles of a plate's proportions (blue,
     yellow, green backgrounds), PP-OCR text boxes, and the whole picture when it already is a
     plate crop.
  2. Recognise each region with PP-OCR's recogniser (one batch).
  3. Keep only text that is a valid plate by core/plates.py (province, format, O/0 I/1), at
     a confidence floor, and whose colour fits the format (a green region cannot hold a 7-char
     plate). The best survivor is the read; no survivor means no plate. Nothing is guessed: a
     missing province character is not filled in.
Loading the models happens in PlateOCR(), never at import.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

from core.plates import KIND_COLOURS, PROVINCES, Plate, PlateError, normalise_plate

# PP-OCR's confidence for the whole string. High on purpose: a wrong plate charges another
# driver's account, while no plate only sends this driver to the pay-code screen.
MIN_SCORE = 0.90
PLATE_ASPECT = (2.0, 6.5)   # width / height of a single-row plate seen roughly front-on
REC_HEIGHT = 48             # PP-OCR rec input height

# HSV ranges (OpenCV: H 0..180) of plate backgrounds.
_HSV = {
    "blue": ((100, 90, 60), (125, 255, 255)),
    "yellow": ((15, 90, 90), (35, 255, 255)),
    "green": ((35, 40, 90), (90, 255, 255)),
}


@dataclass(frozen=True)
class PlateReading:
    plate: Plate
    score: float              # recogniser confidence, 0..1
    box: tuple[int, int, int, int]   # x, y, w, h in the frame
    source: str               # colour | text_box | whole


@dataclass(frozen=True)
class _Candidate:
    crop: np.ndarray
    box: tuple[int, int, int, int]
    source: str


def light_text(crop: np.ndarray) -> bool:
    """True when the characters are lighter than the background (blue and black plates);
    yellow, green and white plates carry dark characters. Brightness order survives the colour
    casts of street lighting far better than hue does."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    inner = gray[int(h * 0.12):max(int(h * 0.88), 1), int(w * 0.03):max(int(w * 0.97), 1)]
    _, binary = cv2.threshold(inner, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.countNonZero(binary) < binary.size * 0.5     # bright pixels are the minority


def plate_colour(crop: np.ndarray) -> str:
    """blue for light characters; yellow or green for dark ones (green only on clear evidence;
    white and black plates are told apart by their format, not by this guess)."""
    if light_text(crop):
        return "blue"
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    total = hsv.shape[0] * hsv.shape[1]
    green, yellow = (cv2.countNonZero(cv2.inRange(hsv, np.array(lo), np.array(hi))) / total
                     for lo, hi in (_HSV["green"], _HSV["yellow"]))
    return "green" if green >= 0.25 and green > 2 * yellow else "yellow"


def _order(points: np.ndarray) -> np.ndarray:
    pts = points.reshape(4, 2).astype(np.float32)
    s, d = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
                    dtype=np.float32)


def _warp(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    tl, tr, br, bl = _order(quad)
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    width, height = max(width, 8), max(height, 8)
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.array([tl, tr, br, bl]), dst)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def _grow(rect: tuple, by: float) -> tuple:
    (cx, cy), (w, h), angle = rect
    return (cx, cy), (w * (1 + by), h * (1 + by * 2)), angle


def colour_regions(image: np.ndarray, limit: int = 4) -> list[_Candidate]:
    """Plate-shaped blobs of a plate background colour, largest first."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    area_min = image.shape[0] * image.shape[1] * 0.002
    found: list[tuple[float, _Candidate]] = []
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3))
    for lo, hi in _HSV.values():
        mask = cv2.inRange(hsv, np.array(lo), np.array(hi))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            rect = cv2.minAreaRect(contour)
            (w, h) = rect[1]
            long, short = max(w, h), min(w, h)
            if short < 8 or long * short < area_min:
                continue
            if not PLATE_ASPECT[0] <= long / short <= PLATE_ASPECT[1]:
                continue
            if cv2.contourArea(contour) < 0.5 * long * short:   # a plate is a filled rectangle
                continue
            quad = cv2.boxPoints(_grow(rect, 0.06))
            crop = _warp(image, quad)
            if crop.shape[0] > crop.shape[1]:
                crop = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE)
            found.append((long * short, _Candidate(crop, cv2.boundingRect(contour), "colour")))
    found.sort(key=lambda item: -item[0])
    return [c for _, c in found[:limit]]


_TOKEN = re.compile(f"[{PROVINCES}使][A-Z0-9]+[学挂警港澳领]?")


def plate_texts(text: str) -> list[str]:
    """The plate-like tokens of a recognised string: a province character and the run of plate
    characters after it. PP-OCR often adds a border stroke or a dealer's frame text around the
    plate, so the token is cut out; but never shortened — a 7-character prefix of an 8-character
    read is a different car."""
    chars = unicodedata.normalize("NFKC", text).upper()
    chars = "".join(ch for ch in chars if not ch.isspace() and ch not in "·•・.-_—|")
    return [t for t in _TOKEN.findall(chars) if len(t) in (7, 8)]


# Which plate kinds fit what the crop shows. Light characters: blue (and black) plates; dark
# characters: yellow, white and green ones. Clear green rules out the fuel-car formats.
_KINDS_ON = {
    "blue": {"ordinary", "consulate", "hk_macau", "embassy"},
    "yellow": {"ordinary", "coach", "trailer", "police", "new_energy_small", "new_energy_large"},
    "green": {"new_energy_small", "new_energy_large"},
}


def pick_plate(text: str, colour: str) -> Plate | None:
    """The first valid plate in `text` that can sit on a plate of `colour`."""
    for window in plate_texts(text):
        try:
            plate = normalise_plate(window)
        except PlateError:
            continue
        if plate.kind not in _KINDS_ON[colour]:
            continue                      # e.g. a 7-char read off a green new-energy plate
        if plate.colour is None and colour in KIND_COLOURS[plate.kind]:
            plate = Plate(plate.text, plate.kind, colour)
        return plate
    return None


class PlateOCR:
    """Loads PP-OCR once; `read(frame)` returns the best plate reading or None."""

    def __init__(self, min_score: float = MIN_SCORE, det_side: int = 736) -> None:
        from rapidocr_onnxruntime import RapidOCR   # loads ONNX sessions: only when built

        self.min_score = min_score
        # The detector's own default size, applied to the longer side: a lane camera frames the
        # plate large, and a 1080p frame at full size costs the detector several times more.
        self.engine = RapidOCR(det_limit_side_len=det_side, det_limit_type="max")

    def _text_regions(self, image: np.ndarray, limit: int = 8) -> list[_Candidate]:
        boxes, _ = self.engine.text_det(image)
        if boxes is None:
            return []
        out = []
        for quad in boxes:
            x, y, w, h = cv2.boundingRect(quad.astype(np.int32))
            if h < 8 or w < 2 * h:                   # plate text is a wide single row
                continue
            out.append(_Candidate(_warp(image, _grow_quad(quad)), (x, y, w, h), "text_box"))
        return out[:limit]

    def _recognise(self, candidates: list[_Candidate]) -> list[tuple[str, float]]:
        if not candidates:
            return []
        crops = [_rec_ready(c.crop) for c in candidates]
        results, _ = self.engine.text_rec(crops)
        return [(str(text), float(score)) for text, score in results]

    def _best(self, candidates: list[_Candidate]) -> PlateReading | None:
        best: PlateReading | None = None
        for cand, (text, score) in zip(candidates, self._recognise(candidates)):
            if score < self.min_score:
                continue
            plate = pick_plate(text, plate_colour(cand.crop))
            if plate is not None and (best is None or score > best.score):
                best = PlateReading(plate, score, cand.box, cand.source)
        return best

    def read(self, image: np.ndarray) -> PlateReading | None:
        if image is None or image.ndim not in (2, 3) or min(image.shape[:2]) < 8:
            return None
        if image.ndim == 2:                  # an infrared or mono camera
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        if PLATE_ASPECT[0] <= w / h <= PLATE_ASPECT[1] and h <= 160:
            # Already a plate crop. Crops cut tight to the plate edge lose the outer characters
            # in PP-OCR, so a failed read is retried with a margin.
            margin = max(2, h // 6)
            padded = cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
            # Searching inside a crop only finds parts of the plate: read it whole or not at all.
            return (self._best([_Candidate(image, (0, 0, w, h), "whole")])
                    or self._best([_Candidate(padded, (0, 0, w, h), "whole")]))
        found = self._best(colour_regions(image))
        if found and found.score >= 0.95:
            return found                                 # a clear read: skip the detector
        by_text = self._best(self._text_regions(image))
        if found is None or (by_text is not None and by_text.score > found.score):
            return by_text
        return found


def _grow_quad(quad: np.ndarray, by: float = 0.08) -> np.ndarray:
    pts = quad.reshape(4, 2).astype(np.float32)
    centre = pts.mean(axis=0)
    return centre + (pts - centre) * np.array([1 + by, 1 + by * 2], np.float32)


def _rec_ready(crop: np.ndarray) -> np.ndarray:
    """Small crops are upscaled so PP-OCR's 48-pixel-high input keeps the strokes."""
    if crop.shape[0] < REC_HEIGHT:
        scale = REC_HEIGHT / crop.shape[0]
        crop = cv2.resize(crop, (int(crop.shape[1] * scale), REC_HEIGHT), interpolation=cv2.INTER_CUBIC)
    return crop
