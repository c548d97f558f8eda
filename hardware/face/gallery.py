"""The gallery of signed faces and its 1:N search.

All templates live in one float32 matrix, rows grouped by person (contiguous). Every template,
centroid and query is scaled to the same length (SCALE, the mean length of a dlib encoding), so
only the direction counts: a centroid of several templates is not pulled towards the middle of
face space (where it would sit nearer to everyone), distances stay on face_recognition's
familiar scale, and |t - q|² = 2·SCALE² - 2·t·q — a search is one matrix-vector product, a
few milliseconds at 100,000 rows.

Scores are per PERSON, not per template: a person's score is the distance to the mean of
their templates (`centroid`, default: one row per person, measured best in docs/FACE.md) or
to their nearest template (`min`: one `maximum.reduceat` over the template similarities).
The decision compares the best person with the second-best PERSON, so two photos of one
person never make a margin of 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Scoring = Literal["centroid", "min"]
SCALE = 1.41   # mean L2 norm of dlib 128-d encodings measured on the sample photos


def normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors * (SCALE / np.maximum(norms, 1e-12))).astype(np.float32)


@dataclass(frozen=True)
class Candidate:
    person_id: int
    distance: float


@dataclass(frozen=True)
class Match:
    """Outcome of a 1:N search. `decision` is match | no_match | ambiguous."""
    decision: str
    person_id: int | None       # set only when decision == "match"
    distance: float             # best person's distance (inf with an empty gallery)
    margin: float               # second-best person's distance minus the best (inf if alone)
    best_person: int | None     # the nearest person even when not accepted (for enrolment checks)


class Gallery:
    def __init__(self, dimension: int = 128, scoring: Scoring = "centroid"):
        self.dimension = dimension
        self.scoring = scoring
        self._templates: dict[int, np.ndarray] = {}
        self._dirty = True
        self._matrix = np.zeros((0, dimension), np.float32)
        self._starts = np.zeros(0, np.intp)
        self._ids = np.zeros(0, np.int64)

    def _check(self, templates: np.ndarray) -> np.ndarray:
        arr = np.asarray(templates, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dimension or arr.shape[0] == 0:
            raise ValueError(f"templates must be (k, {self.dimension}), got {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(np.linalg.norm(arr, axis=1) < 1e-6):
            raise ValueError("templates contain NaN, infinite or all-zero rows")
        return normalised(arr)

    def set_person(self, person_id: int, templates: np.ndarray) -> None:
        """Replace a person's templates (a signing synced from the backend)."""
        self._templates[int(person_id)] = self._check(templates).copy()
        self._dirty = True

    def add_templates(self, person_id: int, templates: np.ndarray) -> None:
        arr = self._check(templates)
        old = self._templates.get(int(person_id))
        self._templates[int(person_id)] = arr.copy() if old is None else np.vstack([old, arr])
        self._dirty = True

    def remove_person(self, person_id: int) -> None:
        if self._templates.pop(int(person_id), None) is not None:
            self._dirty = True

    def load(self, person_ids: np.ndarray, templates: np.ndarray) -> None:
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
            self._matrix = np.ascontiguousarray(normalised(np.vstack([b.mean(axis=0) for b in blocks])))
            counts = np.ones(len(blocks), dtype=np.intp)
        else:
            self._matrix = np.ascontiguousarray(np.vstack(blocks))
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp) if blocks \
            else np.zeros(0, np.intp)
        self._ids = np.array(ids, dtype=np.int64)
        self._dirty = False

    def _similarities(self, query: np.ndarray) -> np.ndarray:
        """Per-person dot product with the normalised query (higher = nearer). Every row has
        length SCALE, so |t - q|² = 2·SCALE² - 2·t·q: one matrix-vector product is the search."""
        self._rebuild()
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dimension or not np.all(np.isfinite(q)) or not np.any(q):
            raise ValueError(f"query must be a finite non-zero vector of length {self.dimension}")
        if not len(self._ids):
            return np.zeros(0, np.float32)
        sims = self._matrix @ normalised(q)
        return sims if self.scoring == "centroid" else np.maximum.reduceat(sims, self._starts)

    @staticmethod
    def _distance(sims: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(2 * SCALE * SCALE - 2 * sims, 0.0))

    def person_distances(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(person ids, their distances to the query), one entry per person."""
        dist = self._distance(self._similarities(query)).astype(np.float32)   # rebuilds first
        return self._ids, dist

    def nearest(self, query: np.ndarray, k: int = 2) -> list[Candidate]:
        sims = self._similarities(query)
        if not len(sims):
            return []
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if len(sims) > k else np.arange(len(sims))
        top = top[np.argsort(-sims[top])]
        dist = self._distance(sims[top])
        return [Candidate(int(self._ids[i]), float(d)) for i, d in zip(top, dist)]

    def identify(self, query: np.ndarray, threshold: float, margin: float) -> Match:
        """Accept the best person only if near enough AND clearly nearer than anyone else."""
        top = self.nearest(query, 2)
        if not top:
            return Match("no_match", None, float("inf"), float("inf"), None)
        best = top[0]
        gap = top[1].distance - best.distance if len(top) > 1 else float("inf")
        if best.distance > threshold:
            decision = "no_match"
        elif gap < margin:
            decision = "ambiguous"
        else:
            decision = "match"
        return Match(decision, best.person_id if decision == "match" else None,
                     best.distance, gap, best.person_id)


def template_to_bytes(template: np.ndarray) -> bytes:
    """float32 little-endian bytes (to seal with FieldCipher before storing or sending)."""
    arr = np.asarray(template, dtype="<f4").reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError("template contains NaN or infinite values")
    return arr.tobytes()


def template_from_bytes(data: bytes, dimension: int = 128) -> np.ndarray:
    if len(data) != dimension * 4:
        raise ValueError(f"a face template is {dimension * 4} bytes, got {len(data)}")
    arr = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("template contains NaN or infinite values")
    return arr
