"""The gallery of signed faces and its 1:N search.

A gallery belongs to ONE face model (`Gallery.model`): templates of another model, or of another
length, are refused with `MixedModels` — distances between two models' templates mean nothing.

All templates live in one float32 matrix, rows grouped by person (contiguous). Every template,
centroid and query is scaled to the same length (the model's `scale`: dlib 1.41, its natural
length; SFace 1.0), so only the direction counts: a centroid of several templates is not pulled
towards the middle of face space (where it would sit nearer to everyone), and
|t - q|² = 2·scale² - 2·t·q — a search is one matrix-vector product (int8 first, then exact for
the few rows that can be the answer: hardware/face/search.py; about half a millisecond at
100,000, bit-identical to scoring every row).

Scores are per PERSON, not per template: a person's score is the distance to the mean of
their templates (`centroid`, default: one row per person, measured best in docs/FACE.md) or
to their nearest template (`min`: one `maximum.reduceat` over the template similarities).
The decision compares the best person with the second-best PERSON, so two photos of one
person never make a margin of 0.

`identify` answers accept / confirm / reject (see `Match`); the numbers come from the model
(hardware/face/models.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from hardware.face.models import DEFAULT_MODEL, MAX_CONFIRM_CANDIDATES, get_model
from hardware.face.search import SMALL, ExactRows, Int8Index, best_k
from hardware.face.templates import Template

Scoring = Literal["centroid", "min"]
Decision = Literal["accept", "confirm", "reject"]


class MixedModels(ValueError):
    """Templates of another face model than the gallery's (or of another length)."""


def normalised(vectors: np.ndarray, scale: float) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors * (scale / np.maximum(norms, 1e-12))).astype(np.float32)


@dataclass(frozen=True)
class Candidate:
    person_id: int
    distance: float


@dataclass(frozen=True)
class Match:
    """Outcome of a 1:N search.

    decision  accept:  `person_id` is the diner (near enough, and clearly nearer than anyone else);
              confirm: a close call — `candidates` (1..5 people, nearest first) must be told apart
                       by the diner keying the last 4 digits of their phone; accept only if exactly
                       one candidate's digits match;
              reject:  nobody is near enough.
    reason    why it is not an accept, in the words of a refusal when no digit check is
              available: no_match (too far) | ambiguous (two people too close to call); None on accept.
    """
    decision: Decision
    person_id: int | None       # set only on accept
    distance: float             # best person's distance (inf with an empty gallery)
    margin: float               # second-best person's distance minus the best (inf if alone)
    best_person: int | None     # the nearest person even when not accepted (for enrolment checks)
    candidates: tuple[Candidate, ...] = ()   # on confirm: who it may be
    reason: str | None = None
    model: str = ""

    @property
    def candidate_ids(self) -> tuple[int, ...]:
        return tuple(c.person_id for c in self.candidates)


class Gallery:
    def __init__(self, dimension: int | None = None, scoring: Scoring = "centroid", model: str = DEFAULT_MODEL):
        spec = get_model(model)
        self.model = spec.id
        self.scale = spec.scale
        self.dimension = dimension if dimension is not None else spec.dimension
        self.scoring = scoring
        self._templates: dict[int, np.ndarray] = {}
        self._dirty = True
        self._matrix = np.zeros((0, self.dimension), np.float32)
        self._starts = np.zeros(0, np.intp)
        self._ids = np.zeros(0, np.int64)
        self._exact = ExactRows(self._matrix)
        self._index: Int8Index | None = None

    def _check(self, templates: np.ndarray | Template | list[Template]) -> np.ndarray:
        """Templates as a normalised (k, dimension) matrix. `Template`s (bytes that carry their
        model) are checked against the gallery's model; a bare array is taken as this model's."""
        if isinstance(templates, Template):
            templates = [templates]
        if isinstance(templates, list | tuple) and templates and isinstance(templates[0], Template):
            other = {t.model for t in templates} - {self.model}
            if other:
                raise MixedModels(f"a {self.model} gallery cannot hold {', '.join(sorted(other))} templates: "
                                  "one gallery, one face model")
            templates = [t.vector for t in templates]
        arr = np.asarray(templates, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim == 2 and arr.shape[0] and arr.shape[1] != self.dimension:
            raise MixedModels(f"a {self.model} gallery holds {self.dimension}-number templates, "
                              f"got {arr.shape[1]}: one gallery, one face model")
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"templates must be (k, {self.dimension}), got {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(np.linalg.norm(arr, axis=1) < 1e-6):
            raise ValueError("templates contain NaN, infinite or all-zero rows")
        return normalised(arr, self.scale)

    def set_person(self, person_id: int, templates: np.ndarray | list[Template]) -> None:
        """Replace a person's templates (a signing synced from the backend)."""
        self._templates[int(person_id)] = self._check(templates).copy()
        self._dirty = True

    def add_templates(self, person_id: int, templates: np.ndarray | list[Template]) -> None:
        arr = self._check(templates)
        old = self._templates.get(int(person_id))
        self._templates[int(person_id)] = arr.copy() if old is None else np.vstack([old, arr])
        self._dirty = True

    def load(self, person_ids: np.ndarray, templates: np.ndarray | list[Template]) -> None:
        """Bulk load (start-up, full sync): one row per template, any order."""
        ids = np.asarray(person_ids, dtype=np.int64)
        arr = self._check(templates)
        if ids.shape != (arr.shape[0],):
            raise ValueError("one person id per template row is needed")
        order = np.argsort(ids, kind="stable")
        ids, arr = ids[order], arr[order]
        uniq, starts = np.unique(ids, return_index=True)
        bounds = list(starts) + [len(ids)]
        self._templates = {int(p): arr[bounds[i]:bounds[i + 1]] for i, p in enumerate(uniq)}
        self._dirty = True

    @property
    def persons(self) -> int:
        return len(self._templates)

    @property
    def templates(self) -> int:
        return sum(len(t) for t in self._templates.values())

    def __len__(self) -> int:
        return self.templates

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._templates

    def _rebuild(self) -> None:
        if not self._dirty:
            return
        ids = sorted(self._templates)
        blocks = [self._templates[p] for p in ids]
        counts = np.array([len(b) for b in blocks], dtype=np.intp)
        if not blocks:
            self._matrix = np.zeros((0, self.dimension), np.float32)
        elif self.scoring == "centroid":
            self._matrix = np.ascontiguousarray(normalised(np.vstack([b.mean(axis=0) for b in blocks]), self.scale))
            counts = np.ones(len(blocks), dtype=np.intp)
        else:
            self._matrix = np.ascontiguousarray(np.vstack(blocks))
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp) if blocks \
            else np.zeros(0, np.intp)
        self._ids = np.array(ids, dtype=np.int64)
        # Big galleries get an int8 first pass (hardware/face/search.py); answers stay exact.
        self._exact = ExactRows(self._matrix)
        self._matrix = self._exact.view          # one float32 copy, not two
        self._index = Int8Index(self._exact, self._matrix, self.scale) \
            if self.scoring == "centroid" and len(self._matrix) >= SMALL else None
        self._dirty = False

    def _query(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dimension or not np.all(np.isfinite(q)) or not np.any(q):
            raise ValueError(f"query must be a finite non-zero vector of length {self.dimension}")
        return normalised(q, self.scale)

    def _similarities(self, query: np.ndarray) -> np.ndarray:
        """Per-person dot product with the normalised query (higher = nearer). Every row has
        length `scale`, so |t - q|² = 2·scale² - 2·t·q: one matrix-vector product is the search."""
        self._rebuild()
        q = self._query(query)
        if not len(self._ids):
            return np.zeros(0, np.float32)
        sims = self._exact.all(q)
        return sims if self.scoring == "centroid" else np.maximum.reduceat(sims, self._starts)

    def _distance(self, sims: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(2 * self.scale * self.scale - 2 * sims, 0.0))

    def person_distances(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person ids, their distances to the query), one entry per person."""
        dist = self._distance(self._similarities(query)).astype(np.float32)   # rebuilds first
        return self._ids, dist

    def nearest(self, query: np.ndarray, k: int = 2) -> list[Candidate]:
        """The k nearest people, nearest first (exact distances)."""
        self._rebuild()
        if self._index is not None:
            rows, sims = self._index.top(self._query(query), k)
            return [Candidate(int(self._ids[i]), float(d)) for i, d in zip(rows, self._distance(sims))]
        sims = self._similarities(query)
        top, best = best_k(np.arange(len(sims)), sims, k)      # ties: lower person id first
        return [Candidate(int(self._ids[i]), float(d)) for i, d in zip(top, self._distance(best))]

    def identify(self, query: np.ndarray, threshold: float, margin: float,
                 confirm_threshold: float | None = None) -> Match:
        """accept the best person only if near enough AND clearly nearer than anyone else;
        confirm (with the candidates) when the best is within `confirm_threshold` but that is
        not the case; reject otherwise. `confirm_threshold` None: no digit check, so every
        non-accept is a reject."""
        loose = threshold if confirm_threshold is None else max(threshold, confirm_threshold)
        top = self.nearest(query, MAX_CONFIRM_CANDIDATES)
        if not top:
            return Match("reject", None, float("inf"), float("inf"), None, reason="no_match", model=self.model)
        best = top[0]
        gap = top[1].distance - best.distance if len(top) > 1 else float("inf")
        near = tuple(c for c in top if c.distance <= loose)
        if best.distance <= threshold and gap >= margin:
            return Match("accept", best.person_id, best.distance, gap, best.person_id, model=self.model)
        reason = "ambiguous" if best.distance <= threshold else "no_match"
        if confirm_threshold is None or not near:
            return Match("reject", None, best.distance, gap, best.person_id, reason=reason, model=self.model)
        return Match("confirm", None, best.distance, gap, best.person_id, near, reason, self.model)


def template_to_bytes(template: np.ndarray) -> bytes:
    """Bare float32 little-endian bytes. To store or send a template use
    hardware.face.templates.pack, which also records the model that made it."""
    arr = np.asarray(template, dtype="<f4").reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError("template contains NaN or infinite values")
    return arr.tobytes()


def template_from_bytes(data: bytes, dimension: int = 128) -> np.ndarray:
    """The vector of `dimension` bare float32 in `data` (hardware.face.templates.unpack reads
    templates that carry their model)."""
    if len(data) != dimension * 4:
        raise ValueError(f"a face template is {dimension * 4} bytes, got {len(data)}")
    arr = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("template contains NaN or infinite values")
    return arr
