"""The 4-digit check for close face calls, as Alipay and WeChat face pay do it.

The face pipeline says FaceConfirm(candidates) when the best match lies between the model's
strict threshold and its looser confirm threshold, or two people are too close to call. The
kiosk then asks the diner for the last 4 digits of their phone. This module decides, entirely
from the local store (so it works offline):

- the site's setting (backend, synced as `face_confirm`): off, or no key yet -> the close call is
  refused as before; the band narrows how far above the strict threshold a call may be confirmed;
- the digits are compared with each candidate's keyed digest (core.face_digits), never stored or
  logged; accepted only if EXACTLY one candidate matches (two would be a guess);
- three wrong tries refuse; every check and every try is written to the append-only audit log.

An accepted check becomes an ordinary FaceMatched for that candidate, so it is paid through the
scene's usual rules (meal periods, limits, already paid, offline limits).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hardware.events import FaceConfirm, FaceMatched, FaceRejected
from core.face_digits import DIGITS, digits_match

log = logging.getLogger("gatepay.terminal.face_confirm")

MAX_TRIES = 3
LOCKOUT = timedelta(minutes=10)   # after a refused check its candidates are not asked again for this long


@dataclass(frozen=True)
class ConfirmState:
    """What the digits screen shows: how many tries are left, whether the last one was wrong."""
    tries_left: int
    wrong: bool = False


def loose_threshold(model: Any, band_pct: int) -> float:  # noqa: ANN401 - hardware.face.models.FaceModel
    """The distance up to which a close call may be confirmed at this site."""
    return model.threshold + (model.confirm_threshold - model.threshold) * band_pct / 100


class CloseCalls:
    """One close call at a time (one diner stands at the camera)."""

    def __init__(self, store: Any, face_config: Any):  # noqa: ANN401 - hardware.face.config.FaceConfig
        self.store = store
        self.face_config = face_config
        self._event: FaceConfirm | None = None
        self._digests: dict[int, str | None] = {}
        self._key: bytes | None = None
        self._tries = 0
        self._refused_at: dict[int, datetime] = {}   # candidate -> when a check naming them was refused

    def running_model(self) -> Any:  # noqa: ANN401 - hardware.face.models.FaceModel
        """The model the face loop runs now (the same rule it switches by), whose thresholds the
        band is measured in: a terminal still on dlib while its SFace gallery fills uses dlib's."""
        from terminal.face_loop import choose_model

        return self.face_config.model(choose_model(self.store, self.face_config).model)

    @property
    def state(self) -> ConfirmState | None:
        if self._event is None:
            return None
        return ConfirmState(MAX_TRIES - self._tries, wrong=self._tries > 0)

    def _audit(self, action: str, **detail: Any) -> None:
        self.store.audit.record("kiosk", action, **detail)

    def start(self, event: FaceConfirm) -> FaceRejected | None:
        """A close call arrived: None when the digits screen should open, else the refusal.

        A diner looking down at the keypad loses the camera's track and may come back as a new
        close call: a check already running for any of the same people goes on with the tries it
        has used, and people a check was refused for are not asked again for LOCKOUT — walking
        away and back never buys more guesses."""
        candidates = [int(c) for c in event.candidates]
        if self._event is not None and set(candidates) & set(self._digests):
            self._audit("face_confirm_start", candidates=candidates, result="continued", attempt=self._tries)
            return None
        self._event = None
        locked = [c for c in candidates if c in self._refused_at and event.at - self._refused_at[c] < LOCKOUT]
        if locked:
            self._audit("face_confirm_start", candidates=candidates, result="locked", locked=locked)
            return FaceRejected(reason="digits_locked", at=event.at, device=event.device)
        found = self.store.cache.face_confirm()
        setting, key = found if found else (None, None)
        model = self.running_model()
        reason = "ambiguous" if event.distance <= model.threshold else "no_match"
        refusal = None
        if setting is None or not setting.enabled or key is None:
            refusal = "check_off"
        elif event.distance > loose_threshold(model, setting.band_pct):
            refusal = "outside_band"
        digests = self.store.cache.face_confirm_digits(candidates) if refusal is None else {}
        if refusal is None and not any(digests.values()):
            refusal = "no_digits"          # none of them has a phone on file: nothing to compare
        self._audit("face_confirm_start", candidates=candidates, distance=round(event.distance, 4),
                    margin=round(event.margin, 4) if event.margin != float("inf") else None,
                    result="asked" if refusal is None else refusal)
        if refusal is not None:
            return FaceRejected(reason=reason, at=event.at, device=event.device)
        self._event, self._digests, self._key, self._tries = event, digests, key, 0
        return None

    def key_in(self, digits: str, now: datetime) -> FaceMatched | FaceRejected | None:
        """The diner keyed 4 digits: FaceMatched (exactly one candidate's digits), None (wrong:
        try again), or FaceRejected("digits_refused") after the last wrong try."""
        event = self._event
        if event is None:
            return None
        digits = digits.strip()
        if len(digits) != DIGITS or not digits.isdigit():
            return None                     # the screen only sends 4 digits; nothing counted
        self._tries += 1
        hits = [cid for cid, digest in self._digests.items() if digits_match(self._key, cid, digits, digest)]
        if len(hits) == 1:
            self._event = None
            self._audit("face_confirm_try", attempt=self._tries, result="accepted", customer_id=hits[0],
                        candidates=list(self._digests))
            return FaceMatched(customer_id=hits[0], distance=event.distance, margin=event.margin,
                               liveness=event.liveness, at=now, device=event.device)
        result = "several_match" if hits else "wrong"
        if self._tries >= MAX_TRIES or hits:
            self._event = None
            self._refused_at.update({cid: now for cid in self._digests})
            self._audit("face_confirm_try", attempt=self._tries, result=result, final="refused",
                        candidates=list(self._digests))
            return FaceRejected(reason="digits_refused", at=now, device=event.device)
        self._audit("face_confirm_try", attempt=self._tries, result=result, candidates=list(self._digests))
        return None

    def cancel(self) -> None:
        """The diner walked away or pressed Back: the check ends without paying."""
        if self._event is not None:
            self._audit("face_confirm_try", attempt=self._tries, result="cancelled",
                        candidates=list(self._digests))
        self._event = None
