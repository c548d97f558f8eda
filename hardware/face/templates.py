"""Face templates that say which model made them, and the rule for when a terminal may switch model.

A template's bytes carry its model id and dimension:

    b"GPFT" | 1 byte: length of the model id | model id (ASCII) | uint16 LE: dimension | float32 LE × dimension

Templates made before model ids existed are 512 bare bytes (128 little-endian float32 from dlib):
they read as model "dlib", dimension 128, wherever they rest — the terminal store, the backend's
sealed rows, the sync wire (base64 of these bytes). So old templates keep working without being
rewritten, and a new one is never mistaken for an old one (it is never 512 bytes long and starts
with the magic). Seal the bytes (FieldCipher / Vault) before storing or sending.

Switching model (`choose_model`): a terminal runs the model it is told to prefer only once every
active signing has templates for it; until then it keeps the model every signing has, so nobody
is locked out while `gatepay backend retemplate --model M` is still making templates.
"""
from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from hardware.face.models import DEFAULT_MODEL, LEGACY_MODEL, MODELS

MAGIC = b"GPFT"
LEGACY_BYTES = 128 * 4
MAX_DIMENSION = 4096


class TemplateError(ValueError):
    """Bytes that are not a face template (wrong length, unknown layout, NaN or all-zero values)."""


@dataclass(frozen=True)
class Template:
    model: str
    vector: np.ndarray      # float32 (dimension,)

    @property
    def dimension(self) -> int:
        return int(self.vector.shape[0])


def _checked(vector: np.ndarray) -> np.ndarray:
    arr = np.asarray(vector, dtype="<f4").reshape(-1)
    if not arr.size or not np.all(np.isfinite(arr)) or not np.any(arr):
        raise TemplateError("face template is empty, all zero, or holds NaN/infinite values")
    return arr


def pack(model: str, vector: np.ndarray) -> bytes:
    """The template's bytes, tagged with its model id and dimension."""
    arr = _checked(vector)
    mid = model.encode("ascii")
    if not 0 < len(mid) < 256 or arr.size > MAX_DIMENSION:
        raise TemplateError(f"bad model id {model!r} or dimension {arr.size}")
    return MAGIC + bytes([len(mid)]) + mid + struct.pack("<H", arr.size) + arr.tobytes()


def unpack(data: bytes) -> Template:
    """A template from its bytes; 512 bare bytes are an old dlib template."""
    if data[:4] == MAGIC and len(data) > 5:
        n = data[4]
        head = 5 + n + 2
        if len(data) >= head:
            model = data[5:5 + n].decode("ascii", "replace")
            (dim,) = struct.unpack("<H", data[5 + n:head])
            if dim and len(data) == head + dim * 4:
                return Template(model, _checked(np.frombuffer(data, "<f4", offset=head)).astype(np.float32))
        raise TemplateError("face template bytes are damaged (header and length disagree)")
    if len(data) == LEGACY_BYTES:
        return Template(LEGACY_MODEL, _checked(np.frombuffer(data, "<f4")).astype(np.float32))
    raise TemplateError(f"not a face template: {len(data)} bytes, no model header, and not a "
                        f"{LEGACY_BYTES}-byte dlib template")


def to_text(model: str, vector: np.ndarray) -> str:
    """The wire form: base64 of `pack`."""
    return base64.b64encode(pack(model, vector)).decode()


def from_text(text: str) -> Template:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TemplateError("face template is not valid base64") from exc
    return unpack(raw)


@dataclass(frozen=True)
class ModelChoice:
    """Which model a terminal runs. `complete`: every active signing has templates for it;
    `missing`: the signings that cannot pay by face with it (empty when complete)."""
    model: str
    complete: bool
    missing: tuple[int, ...]


def choose_model(models_by_person: Mapping[int, Iterable[str]], preferred: str = DEFAULT_MODEL,
                 known: Iterable[str] = tuple(MODELS)) -> ModelChoice:
    """The model to run for these signings (person id -> the models it has templates for).

    1. `preferred` (the configured / backend-announced model) if every signing has it;
    2. else another known model every signing has (the one in use before; dlib for old sites);
    3. else the model most signings have (ties: `preferred`), with the others listed as missing.
    An empty gallery (a new install) runs `preferred`."""
    people = {int(p): set(ms) for p, ms in models_by_person.items()}
    order = [preferred] + [m for m in known if m != preferred]

    def missing(model: str) -> tuple[int, ...]:
        return tuple(sorted(p for p, ms in people.items() if model not in ms))

    for model in order:
        if not missing(model):
            return ModelChoice(model, True, ())
    best = max(order, key=lambda m: (len(people) - len(missing(m)), m == preferred))
    return ModelChoice(best, False, missing(best))
