"""Enrolment (face signing): photos or live frames in, templates out — or a clear refusal.

Every image passes the same detector and quality gate as a payment. The new templates are
searched against everyone already signed: a face that is near another person is refused
(a second account for the same face, or a look-alike the matcher could confuse at the gate).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hardware.camera import Frame
from hardware.face.engine import FaceEngine
from hardware.face.frames import BadFrame, to_rgb


@dataclass(frozen=True)
class EnrolResult:
    ok: bool
    reason: str | None                  # None | no_usable_face | duplicate
    templates: np.ndarray | None = field(default=None, repr=False)
    duplicate_of: int | None = None     # the signed person the face is too near to
    distance: float | None = None
    rejected: tuple[tuple[int, str], ...] = ()   # (image index, reason) for refused images


class Enroller:
    def __init__(self, engine: FaceEngine):
        self.engine = engine

    def templates(self, images: list) -> tuple[list[np.ndarray], list[tuple[int, str]]]:
        """One template per usable image — BGR/grey arrays (decoded photos) or camera Frames
        (live enrolment); the reasons for the others."""
        templates, rejected = [], []
        for i, image in enumerate(images):
            try:
                rgb = to_rgb(image.image if isinstance(image, Frame) else image)
            except BadFrame:
                rejected.append((i, "bad_frame"))
                continue
            obs = self.engine.observe(rgb)
            if obs is None:
                rejected.append((i, "no_face"))
            elif obs.faces > 1:
                rejected.append((i, "several_faces"))
            elif not obs.quality.ok:
                rejected.append((i, obs.quality.reason))
            else:
                templates.append(self.engine.enrol_template(rgb, obs))
        return templates, rejected

    def check_duplicate(self, person_id: int, templates: np.ndarray) -> tuple[int, float] | None:
        """The nearest OTHER signed person within the duplicate distance, if any."""
        gallery = self.engine.gallery
        nearest: tuple[int, float] | None = None
        for probe in [templates.mean(axis=0), *templates]:
            ids, dist = gallery.person_distances(probe)
            others = ids != person_id
            if not others.any():
                continue
            i = int(np.argmin(np.where(others, dist, np.inf)))
            if dist[i] <= self.engine.model.duplicate_threshold and (nearest is None or dist[i] < nearest[1]):
                nearest = (int(ids[i]), float(dist[i]))
        return nearest

    def enrol(self, person_id: int, images: list, add: bool = True) -> EnrolResult:
        found, rejected = self.templates(images)
        if not found:
            return EnrolResult(False, "no_usable_face", rejected=tuple(rejected))
        templates = np.vstack(found).astype(np.float32)
        dup = self.check_duplicate(person_id, templates)
        if dup is not None:
            return EnrolResult(False, "duplicate", duplicate_of=dup[0], distance=round(dup[1], 4),
                               rejected=tuple(rejected))
        if add:
            self.engine.gallery.set_person(person_id, templates)
        return EnrolResult(True, None, templates, rejected=tuple(rejected))
