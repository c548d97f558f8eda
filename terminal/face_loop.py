"""The face camera's own thread: frames -> hardware.face FacePipeline -> events for the core.

    loop = FaceLoop(camera, config.face_settings(), store, emit=runner.events.put).start()
    run_kiosk(core, config, frames=loop.preview_frame)      # the live picture with the face box

The pipeline encodes once per person (not per frame) and this thread is the only one that runs
dlib, so neither the core's loop nor the UI thread ever waits on a model. What reaches the core:
- FaceMatched / FaceRejected decisions (no_match, ambiguous, spoof, liveness_timeout);
- FacePrompt(code) when what the diner should do changes: "blink" while a recognised face waits
  for its liveness blink, "come_closer" / "hold_still" / "face_front" while frames fail the
  quality gate, None when the face left — so a diner walking up is coached, not refused;
- FaceRejected("bad_frame") at most once per BAD_FRAME_EVERY_S (a flaky camera must not flash
  a refusal fifteen times a second).
Signed faces come from the store's cache (sealed at rest, opened here in memory only) and are
loaded again after a sync cycle that pulled changes (`reload_gallery`).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger("gatepay.terminal.face")

QUALITY_REASONS = ("too_small", "blurry", "not_frontal")   # coached with a prompt, not refused
BAD_FRAME_EVERY_S = 10.0
BOX_COLOUR = (120, 187, 72)   # BGR green, as the preview's own boxes


@dataclass(frozen=True)
class FacePrompt:
    """What the diner in front of the camera should do now (a ui.i18n `prompt.*` code), or None."""
    code: str | None


def choose_model(store: Any, config: Any) -> Any:  # noqa: ANN401 - hardware.face.templates.ModelChoice
    """The face model this terminal runs: the configured one once every active signing has
    templates for it, else the one they all have (hardware.face.templates.choose_model)."""
    from hardware.face.templates import choose_model as choose

    return choose(store.cache.face_models(), preferred=config.encoder)


def load_gallery(store: Any, config: Any, model: str | None = None) -> Any:  # noqa: ANN401 - Gallery
    """The 1:N gallery of the site's active face signings for ONE face model (templates opened
    in memory only); people without templates of that model are not in it."""
    import numpy as np

    from hardware.face.gallery import Gallery
    from hardware.face.models import get_model
    from hardware.face.gallery import template_from_bytes

    spec = get_model(model or config.encoder)
    gallery = Gallery(spec.dimension, config.scoring, model=spec.id)
    ids, rows = [], []
    for customer_id, templates in store.cache.face_gallery(spec.id):
        for raw in templates:
            try:
                rows.append(template_from_bytes(raw, spec.dimension))
            except ValueError:
                log.error("face signing %s has a damaged %s template: skipped", customer_id, spec.id)
                continue
            ids.append(customer_id)
    if rows:
        gallery.load(np.array(ids, dtype=np.int64), np.vstack(rows))
    return gallery


class FaceLoop:
    def __init__(self, camera: Any, config: Any, store: Any, emit: Callable[[object], None],  # noqa: ANN401
                 clock: Any = None, infrared: Any = None, engine: Any = None):  # noqa: ANN401
        self.camera, self.infrared = camera, infrared
        self.config, self.store, self.emit, self.clock = config, store, emit, clock
        self.engine = engine               # built on the loop's thread when None (dlib loads there)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = threading.Condition()
        self._latest: tuple[Any, Any] | None = None   # (BGR image, FaceBox | None)
        self._serial = 0
        self._prompt: str | None = None
        self._last_bad_frame: float | None = None

    def start(self) -> FaceLoop:
        self._thread = threading.Thread(target=self._run, name="gatepay-face", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._shown:
            self._shown.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def reload_gallery(self) -> None:
        """Signings changed (a sync pulled changes): load the gallery again before the next frame."""
        self._reload.set()

    # --- the kiosk's preview -----------------------------------------------------------------------

    def preview_frame(self, timeout: float = 1.0) -> Any:  # noqa: ANN401 - BGR ndarray | None
        """The newest camera frame with the followed face's box drawn, waiting up to `timeout`
        for one newer than the last handed out. Called on the kiosk's FramePump thread."""
        import cv2

        with self._shown:
            seen = self._serial
            self._shown.wait_for(lambda: self._serial != seen or self._stop.is_set(), timeout)
            latest = self._latest
        if latest is None:
            return None
        image, box = latest
        if box is None:
            return image
        shown = image.copy()
        thickness = max(2, image.shape[0] // 160)
        cv2.rectangle(shown, (int(box.left), int(box.top)), (int(box.right), int(box.bottom)), BOX_COLOUR, thickness)
        return shown

    # --- the loop ----------------------------------------------------------------------------------

    def _build(self) -> Any:  # noqa: ANN401 - FacePipeline
        from hardware.face.engine import FaceEngine
        from hardware.face.pipeline import FacePipeline

        if self.engine is None:
            self.engine = FaceEngine(self.config)    # checks the model files: a bad one stops here
        self._load()
        return FacePipeline(self.engine, self.clock, device=getattr(self.camera, "name", "camera"))

    def _load(self) -> None:
        """Load the gallery of the model to run; switch the encoder when that model changed
        (the configured model's gallery became complete, e.g. after a retemplate sync)."""
        from hardware.face.engine import build_encoder

        choice = choose_model(self.store, self.config)
        if choice.model != self.engine.encoder.name:
            log.info("face model %s -> %s (every signed face has %s templates: %s)", self.engine.encoder.name,
                     choice.model, choice.model, choice.complete)
            self.engine.encoder = build_encoder(self.config, choice.model)
            self.engine.load_liveness_model()
        if not choice.complete:
            log.warning("face model %s: %d signed faces have no %s template and cannot pay by face",
                        choice.model, len(choice.missing), choice.model)
        self.engine.gallery = load_gallery(self.store, self.config, choice.model)
        log.info("face engine ready: model %s, %d signed faces", choice.model, self.engine.gallery.persons)

    def _run(self) -> None:
        try:
            pipeline = self._build()
        except Exception:  # noqa: BLE001 - no face payments, but cards and codes still work
            log.exception("face engine could not start: face payment is off")
            return
        while not self._stop.is_set():
            if self._reload.is_set():
                self._reload.clear()
                try:
                    self._load()
                except Exception:  # noqa: BLE001 - keep paying with the gallery we have
                    log.exception("face gallery reload failed: the previous one stays")
            try:
                frame = self.camera.read()
            except Exception:  # noqa: BLE001 - a driver error must not end face payment for good
                log.exception("camera %s failed to deliver a frame", getattr(self.camera, "name", "camera"))
                self._stop.wait(1.0)
                continue
            if frame is None:
                self._stop.wait(0.05)     # reconnecting or ended: the camera says when it is back
                continue
            ir = self.infrared.read() if self.infrared is not None else None
            try:
                events = pipeline.process(frame, ir)
            except Exception:  # noqa: BLE001 - one odd frame must not end face payment
                log.exception("face pipeline failed on a frame")
                continue
            with self._shown:
                self._latest = (frame.image, pipeline.tracked_box)
                self._serial += 1
                self._shown.notify_all()
            for event in events:
                self._forward(event, frame.monotonic)
            self._set_prompt(pipeline.waiting_for)

    def _forward(self, event: object, t: float) -> None:
        reason = getattr(event, "reason", None)
        if reason in QUALITY_REASONS:
            return                          # said as a prompt (pipeline.waiting_for) instead
        if reason == "bad_frame":
            if self._last_bad_frame is not None and t - self._last_bad_frame < BAD_FRAME_EVERY_S:
                return
            self._last_bad_frame = t
            log.warning("camera %s delivers unusable frames", getattr(self.camera, "name", "camera"))
        if self._prompt is not None:
            self._prompt = None             # the decision replaces the prompt on screen
        self.emit(event)

    def _set_prompt(self, code: str | None) -> None:
        if code != self._prompt:
            self._prompt = code
            self.emit(FacePrompt(code))
