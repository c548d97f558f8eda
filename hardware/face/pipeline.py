"""From camera frames to FaceMatched / FaceRejected events.

One gate lane serves one person at a time, so the pipeline follows one face: the largest one,
tracked from frame to frame by box overlap (searched for first in a window around its last
place, which costs a fraction of a full-frame detection). For that person it
- checks quality on every frame (and says why a frame is refused, once per change of reason),
- encodes and searches at most `max_encodes_per_face` quality frames, stopping at the first
  match (normally one encoding per person, not one per frame); a match counts only if no
  earlier attempt for this face came near (within the confirm band) a different person,
- collects liveness evidence (blinks, infrared presence) from all frames meanwhile,
- emits exactly one decision, then stays quiet until the face leaves the picture: FaceMatched,
  FaceRejected, or — with `digit_check` on — FaceConfirm(candidates) for a close call (the
  engine's "confirm": near someone but not near enough, or two people too close to call).

`waiting_for` says what the tracked, undecided face should do now ("blink" while a recognised
face waits for its liveness blink; "come_closer" / "hold_still" / "face_front" while its frames
fail the quality gate), so the terminal can prompt the diner instead of showing a refusal.

Time comes from the frames (`Frame.monotonic`) and the injected clock (event `at`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.clock import Clock, SystemClock
from hardware.camera import Frame
from hardware.events import FaceConfirm, FaceMatched, FaceRejected
from hardware.face.encoder import FaceBox
from hardware.face.engine import FaceEngine
from hardware.face.frames import BadFrame, to_rgb
from hardware.face.gallery import Candidate, Match
from hardware.face.models import MAX_CONFIRM_CANDIDATES
from hardware.face.liveness import BlinkDetector, eye_aspect_ratio, infrared_face_matches

FaceEvent = FaceMatched | FaceRejected | FaceConfirm
IR_MISSES_FOR_SPOOF = 3   # IR frames without the face (the IR camera may lag a frame or two)
QUALITY_PROMPTS = {"too_small": "come_closer", "blurry": "hold_still", "not_frontal": "face_front"}


@dataclass
class _Track:
    box: FaceBox
    first_seen: float
    last_seen: float
    blink: BlinkDetector
    ir_seen: bool = False
    ir_misses: int = 0
    attempts: list[Match] = field(default_factory=list)
    match: Match | None = None
    confirm: Match | None = None     # a close call waiting for liveness, then the digit check
    decided: bool = False
    last_reason: str | None = None
    quality_now: str | None = None   # this frame's quality refusal (None: the frame passed)


class FacePipeline:
    def __init__(self, engine: FaceEngine, clock: Clock | None = None, device: str = "camera",
                 lost_after_s: float = 1.0):
        self.engine = engine
        self.config = engine.config
        self.clock = clock or SystemClock()
        self.device = device
        self.lost_after_s = lost_after_s
        self._track: _Track | None = None

    def _reject(self, reason: str) -> FaceRejected:
        return FaceRejected(reason=reason, at=self.clock.now(), device=self.device)

    def process(self, frame: Frame | np.ndarray, ir_frame: Frame | np.ndarray | None = None) -> list[FaceEvent]:
        image = frame.image if isinstance(frame, Frame) else frame
        t = frame.monotonic if isinstance(frame, Frame) else self.clock.monotonic()
        try:
            rgb = to_rgb(image)
        except BadFrame:
            return [self._reject("bad_frame")]
        boxes = self._find(rgb)
        track = self._follow(boxes[0] if boxes else None, t)
        if track is None or track.decided:
            return []
        obs = self.engine.observe_box(rgb, boxes[0], len(boxes))
        self._collect_liveness(track, obs, rgb, ir_frame, t)
        events: list[FaceEvent] = []
        track.quality_now = None if obs.quality.ok else obs.quality.reason
        if not obs.quality.ok:
            if obs.quality.reason != track.last_reason:
                track.last_reason = obs.quality.reason
                events.append(self._reject(obs.quality.reason))
        elif track.match is None and track.confirm is None:
            events += self._try_identify(track, rgb, obs)
        if not track.decided:
            events += self._decide(track, t)
        return events

    @property
    def tracked_box(self) -> FaceBox | None:
        """Where the followed face was last seen (for the preview's face box)."""
        return self._track.box if self._track is not None else None

    @property
    def waiting_for(self) -> str | None:
        """What the followed face must do before a decision (a prompt code), or None."""
        track = self._track
        if track is None or track.decided:
            return None
        if track.quality_now is not None:
            return QUALITY_PROMPTS.get(track.quality_now)
        live = self.config.liveness
        if (track.match or track.confirm) is not None and live.mode == "required" and live.blink and not track.blink.blinked:
            return "blink"
        return None

    def _find(self, rgb: np.ndarray) -> list:
        """Look where the tracked face was first (cheap); the whole frame if it is not there."""
        if self._track is not None:
            near = self.engine.detect_near(rgb, self._track.box)
            if near and near[0].iou(self._track.box) >= self.config.track_iou:
                return near
        return self.engine.detect(rgb)

    def _follow(self, box, t: float) -> _Track | None:
        """Keep the current track if the face overlaps it; start a new one otherwise."""
        track = self._track
        if box is None:
            if track is not None and t - track.last_seen > self.lost_after_s:
                self._track = None
            return None
        if track is None or box.iou(track.box) < self.config.track_iou:
            track = _Track(box, t, t, BlinkDetector(self.config.liveness.blink_limits()))
            self._track = track
        track.box, track.last_seen = box, t
        return track

    def _collect_liveness(self, track: _Track, obs, rgb: np.ndarray, ir_frame, t: float) -> None:
        live = self.config.liveness
        if live.mode != "required":
            return
        if live.blink and not track.blink.blinked:
            track.blink.feed(t, eye_aspect_ratio(self.engine.eye_landmarks(rgb, obs)))
        if live.infrared and ir_frame is not None and not track.ir_seen:
            ir_image = ir_frame.image if isinstance(ir_frame, Frame) else ir_frame
            try:
                ir_rgb = to_rgb(ir_image)
            except BadFrame:
                return
            track.ir_seen = infrared_face_matches(self.engine.encoder, ir_rgb, obs.box, rgb.shape,
                                                  live.ir_min_overlap, self.engine.detect_side(ir_rgb.shape))
            track.ir_misses += 0 if track.ir_seen else 1

    def _try_identify(self, track: _Track, rgb: np.ndarray, obs) -> list[FaceEvent]:
        match = self.engine.identify(self.engine.probe_template(rgb, obs))
        # Earlier attempts that came near someone (a claim) must all name this same person;
        # a far nearest neighbour is no claim about anyone.
        # A look within the confirm band of someone is a claim about them.
        near = max(self.engine.model.confirm_threshold, self.engine.model.threshold + self.engine.model.margin)
        earlier = {m.best_person for m in track.attempts if m.best_person is not None and m.distance <= near}
        track.attempts.append(match)
        consistent = not earlier or earlier == {match.best_person}
        if match.decision == "accept" and consistent:
            track.match = match
            return []
        last_try = len(track.attempts) >= self.config.max_encodes_per_face
        close = match.decision == "confirm" or (match.decision == "accept" and not consistent)
        if close and self.config.digit_check and last_try:
            # Several looks and still a close call: the digits decide among everyone any look
            # came near (a face that turned into someone else keeps both as candidates).
            track.confirm = match
            return []
        if last_try:
            track.decided = True
            reason = match.reason if match.decision != "accept" else "ambiguous"
            return [self._reject(reason or "no_match")]
        return []

    def _liveness_state(self, track: _Track) -> str:
        """passed | not_required | pending | spoof"""
        live = self.config.liveness
        if live.mode != "required":
            return "not_required"
        if live.infrared and not track.ir_seen and track.ir_misses >= IR_MISSES_FOR_SPOOF:
            return "spoof"
        ok = (not live.blink or track.blink.blinked) and (not live.infrared or track.ir_seen)
        return "passed" if ok else "pending"

    def _decide(self, track: _Track, t: float) -> list[FaceEvent]:
        state = self._liveness_state(track)
        if state == "spoof":
            track.decided = True
            return [self._reject("spoof")]
        if state == "pending":
            if t - track.first_seen > self.config.liveness.window_s:
                track.decided = True
                return [self._reject("liveness_timeout")]
            return []
        if track.match is None and track.confirm is not None:
            track.decided = True
            c = track.confirm
            return [FaceConfirm(candidates=self._candidates(track), distance=round(c.distance, 4),
                                margin=round(min(c.margin, 9.0), 4), liveness=state,
                                at=self.clock.now(), device=self.device)]
        if track.match is None:
            return []
        track.decided = True
        m = track.match
        return [FaceMatched(customer_id=int(m.person_id), distance=round(m.distance, 4),
                            margin=round(min(m.margin, 9.0), 4), liveness=state,
                            at=self.clock.now(), device=self.device)]

    @staticmethod
    def _candidates(track: _Track) -> tuple[int, ...]:
        """Everyone this face's looks came within the confirm band of, nearest first."""
        best: dict[int, float] = {}
        for m in track.attempts:
            for c in m.candidates or ((Candidate(m.best_person, m.distance),) if m.best_person is not None else ()):
                best[c.person_id] = min(best.get(c.person_id, c.distance), c.distance)
        return tuple(p for p, _ in sorted(best.items(), key=lambda kv: kv[1]))[:MAX_CONFIRM_CANDIDATES]
