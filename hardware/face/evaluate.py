"""`gatepay face evaluate`: accuracy of the shipped engine on any labelled photo set.

Manifest: CSV with columns file, identity, role (identity | single); images beside it.
Protocol: among identities with at least K+1 usable photos (a face found that passes the
quality gate), sorted by name, every other one is enrolled with its first K usable photos —
through the real enrolment path, duplicate check included — and probed with the rest. All
other identities and every `single` row are impostors. A probe is decided exactly as a payment
(engine.identify: accept / confirm / reject with the model's numbers). False accept = an
impostor accepted as anyone, or a genuine probe accepted as the wrong person.

The 4-digit check (`confirm_*`): every identity has 4 random digits (the last 4 of a phone;
fixed per identity name and `seed`, so runs repeat). A probe in the confirm band keys its OWN
identity's digits — a genuine diner their own, a stranger theirs — and is accepted iff exactly
one candidate has those digits (a genuine diner whose digits collide with another candidate's is
refused; a match on the wrong person is a false accept). confirm_TAR / confirm_FAR count these
together with the plain accepts.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware.face.engine import FaceEngine
from hardware.face.enrol import Enroller
from hardware.face.frames import BadFrame, decode_image, to_rgb
from hardware.face.gallery import Gallery


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Row:
    file: str
    identity: str
    role: str


@dataclass
class Photo:
    row: Row
    usable: bool
    reason: str | None
    probe: np.ndarray | None = None
    enrol: np.ndarray | None = None


@dataclass(frozen=True)
class Outcome:
    tar: float
    far: float
    confirm_tar: float
    confirm_far: float
    enrolled: int
    genuine: int
    impostor: int
    true_accepts: int
    false_accepts: int
    confirm_true: int = 0         # genuine probes accepted after the digit check
    confirm_false: int = 0        # false accepts through the digit check
    asked: int = 0                # probes that were asked for digits (genuine + impostor)

    def line(self) -> str:
        return (f"TAR={self.tar:.4f} FAR={self.far:.4f} confirm_TAR={self.confirm_tar:.4f} "
                f"confirm_FAR={self.confirm_far:.4f} enrolled={self.enrolled} "
                f"genuine={self.genuine} impostor={self.impostor}")


def phone_digits(identity: str, seed: int = 0) -> str:
    """An identity's 4 random digits (stable for a name and seed)."""
    value = int.from_bytes(hashlib.sha256(f"{seed}:{identity}".encode()).digest()[:4], "big") % 10_000
    return f"{value:04d}"


def read_manifest(path: Path) -> list[Row]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"file", "identity", "role"} - set(reader.fieldnames or [])
            if missing:
                raise ManifestError(f"manifest lacks column(s) {', '.join(sorted(missing))}")
            rows = []
            for n, rec in enumerate(reader, start=2):
                file, ident, role = ((rec.get(k) or "").strip() for k in ("file", "identity", "role"))
                if role not in ("identity", "single") or not file or not ident:
                    raise ManifestError(f"line {n}: need file, identity and role identity|single")
                rows.append(Row(file, ident, role))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    return rows


class PhotoCache:
    """Per-photo engine output keyed by file content and engine settings (json + npz beside)."""

    def __init__(self, path: Path | None, engine: FaceEngine):
        self.path = path
        settings = engine.config.model_dump(include={
            "encoder", "detect_max_side", "enrol_jitters", "probe_flip", "min_face_px",
            "min_sharpness", "max_asymmetry", "max_roll_deg"})
        settings["model"] = engine.encoder.name      # the encoder actually running decides
        self._salt = json.dumps(settings, sort_keys=True).encode()
        self._data: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            try:
                with np.load(path) as npz:
                    self._data = {k: npz[k] for k in npz.files}
            except (OSError, ValueError, zipfile.BadZipFile):
                self._data = {}   # a damaged cache is only a slower run, never wrong figures

    def key(self, data: bytes, kind: str) -> str:
        return kind + "_" + hashlib.sha256(self._salt + data).hexdigest()[:32]

    def get(self, key: str) -> np.ndarray | None:
        return self._data.get(key)

    def put(self, key: str, value: np.ndarray) -> None:
        self._data[key] = value

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:      # a file object: np.savez would append ".npz" to a name
            np.savez(fh, **self._data)
        os.replace(tmp, self.path)


class Evaluation:
    def __init__(self, manifest: Path, engine: FaceEngine, cache: Path | None = None, seed: int = 0):
        self.root = manifest.parent
        self.seed = seed
        self.rows = read_manifest(manifest)
        self.engine = engine
        self.cache = PhotoCache(cache, engine)

    def _photo(self, row: Row, want_enrol: bool) -> Photo:
        try:
            data = (self.root / row.file).read_bytes()
        except OSError:
            return Photo(row, False, "missing_file")
        pkey, ekey = self.cache.key(data, "probe"), self.cache.key(data, "enrol")
        cached = self.cache.get(pkey)
        if cached is not None and (not want_enrol or self.cache.get(ekey) is not None):
            ok = cached.size > 1
            return Photo(row, ok, None if ok else "unusable", cached if ok else None, self.cache.get(ekey))
        try:
            rgb = to_rgb(decode_image(data))
        except BadFrame:
            self.cache.put(pkey, np.zeros(1, np.float32))
            return Photo(row, False, "bad_image")
        obs = self.engine.observe(rgb)
        if obs is None or not obs.quality.ok:
            self.cache.put(pkey, np.zeros(1, np.float32))
            return Photo(row, False, "no_face" if obs is None else obs.quality.reason)
        probe = self.engine.probe_template(rgb, obs)
        self.cache.put(pkey, probe)
        enrol = None
        if want_enrol:
            enrol = self.engine.enrol_template(rgb, obs)
            self.cache.put(ekey, enrol)
        return Photo(row, True, None, probe, enrol)

    def run(self, k: int = 1, progress=None) -> tuple[Outcome, dict]:
        if k < 1:
            raise ValueError("--enroll must be at least 1")
        by_identity: dict[str, list[Row]] = {}
        for row in self.rows:
            if row.role == "identity":
                by_identity.setdefault(row.identity, []).append(row)
        photos: dict[Row, Photo] = {}
        for i, row in enumerate(self.rows):
            photos[row] = self._photo(row, want_enrol=False)
            if progress:
                progress(i + 1, len(self.rows))
        usable = {ident: [r for r in rows if photos[r].usable] for ident, rows in by_identity.items()}
        eligible = sorted(ident for ident, rows in usable.items() if len(rows) >= k + 1)
        chosen = eligible[::2]
        gallery = Gallery(self.engine.encoder.dimension, self.engine.config.scoring, model=self.engine.encoder.name)
        engine = FaceEngine(self.engine.config, self.engine.encoder, gallery)
        enroller = Enroller(engine)
        enrolled, refused = {}, []
        for pid, ident in enumerate(chosen, start=1):
            templates = np.vstack([self._photo(r, want_enrol=True).enrol for r in usable[ident][:k]])
            dup = enroller.check_duplicate(pid, templates)
            if dup is not None:
                refused.append(ident)
                continue
            gallery.set_person(pid, templates)
            enrolled[ident] = pid
        self.cache.save()
        genuine = [(enrolled[ident], photos[r].probe) for ident in enrolled for r in usable[ident][k:]]
        impostor = [photos[r].probe for r in self.rows
                    if photos[r].usable and r.identity not in enrolled]
        impostor_names = [r.identity for r in self.rows if photos[r].usable and r.identity not in enrolled]
        digits = {pid: phone_digits(ident, self.seed) for ident, pid in enrolled.items()}
        keyed = [phone_digits(name, self.seed) for name in impostor_names]
        outcome = self._score(engine, genuine, impostor, len(enrolled), digits, keyed)
        details = {
            "unusable": sum(1 for p in photos.values() if not p.usable),
            "refused_enrolment": refused,
            "genuine": genuine, "impostor": impostor, "engine": engine,
            "digits": digits, "keyed": keyed, "impostor_names": impostor_names,
        }
        return outcome, details

    @staticmethod
    def _score(engine: FaceEngine, genuine, impostor, enrolled: int, digits: dict[int, str] | None = None,
               keyed: list[str] | None = None) -> Outcome:
        digits = digits or {}
        keyed = keyed or ["" for _ in impostor]
        ta = fa = cta = cfa = asked = 0

        def digit_check(match, typed: str) -> int | None:
            """The one candidate whose digits are the typed ones, else None."""
            hits = [c for c in match.candidate_ids if digits.get(c) == typed]
            return hits[0] if len(hits) == 1 else None

        for pid, probe in genuine:
            m = engine.identify(probe)
            if m.decision == "accept":
                ta += m.person_id == pid
                fa += m.person_id != pid
            elif m.decision == "confirm":
                asked += 1
                chosen = digit_check(m, digits.get(pid, ""))
                cta += chosen == pid
                cfa += chosen is not None and chosen != pid
        for probe, typed in zip(impostor, keyed):
            m = engine.identify(probe)
            if m.decision == "accept":
                fa += 1
            elif m.decision == "confirm":
                asked += 1
                cfa += digit_check(m, typed) is not None
        attempts = len(genuine) + len(impostor)
        n = len(genuine)
        return Outcome(ta / n if n else 0.0, fa / attempts if attempts else 0.0,
                       (ta + cta) / n if n else 0.0, (fa + cfa) / attempts if attempts else 0.0,
                       enrolled, n, len(impostor), ta, fa, cta, cfa, asked)


def closest_impostor(details: dict) -> float:
    """The smallest distance any impostor probe (or a genuine probe to someone else) came to an
    enrolled person: the "highest impostor score" the threshold must stay below."""
    engine: FaceEngine = details["engine"]
    closest = float("inf")
    for probe in details["impostor"]:
        top = engine.gallery.nearest(probe, 1)
        if top:
            closest = min(closest, top[0].distance)
    for pid, probe in details["genuine"]:
        ids, dist = engine.gallery.person_distances(probe)
        others = dist[ids != pid]
        if others.size:
            closest = min(closest, float(others.min()))
    return closest


def curve(details: dict, thresholds: list[float]) -> list[tuple[float, Outcome]]:
    """The same decision at other thresholds (margin and confirm band unchanged), for docs and tuning."""
    base: FaceEngine = details["engine"]
    out = []
    for t in thresholds:
        cfg = base.config.model_copy(update={"threshold": t, "encoder": base.encoder.name})
        engine = FaceEngine(cfg, base.encoder, base.gallery)
        out.append((t, Evaluation._score(engine, details["genuine"], details["impostor"],
                                         base.gallery.persons, details["digits"], details["keyed"])))
    return out
