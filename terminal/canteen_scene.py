"""The canteen scene: what the diner at the gate sees, as a terminal.scene.Scene.

Events go to the meal rules (terminal.canteen.MealRules) and the close-call check (terminal.
face_confirm); the answer is the CanteenView with the outcome, and for an approval the gate
command (the payment id: the row is committed by the Decider before this returns).
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Callable

from core.reasons import message
from hardware.events import FaceConfirm
from terminal.canteen import MealRules
from terminal.face_confirm import CloseCalls
from terminal.face_loop import FacePrompt
from terminal.scene import SceneResult
from terminal.state import CanteenView, ConfirmView, PaymentOutcome, SyncStatus

log = logging.getLogger("gatepay.terminal")


class CanteenScene:
    def __init__(self, rules: MealRules, close_calls: CloseCalls, sync_status: Callable[[], SyncStatus]):
        self.rules = rules
        self.close_calls = close_calls           # the 4-digit check
        self._sync_status = sync_status
        self._clock = rules.decider.clock
        self._lock = threading.RLock()           # the event loop, the kiosk and its timers all call
        self._last_outcome: PaymentOutcome | None = None
        self._prompt: str | None = None          # what the diner at the camera should do (FacePrompt)
        # The meal period (code, meal day) tick() last showed; "not yet": the first tick shows.
        self._period_shown: tuple[str, str] | None | str = "not yet"

    # --- views -----------------------------------------------------------------------------------

    def current_view(self) -> CanteenView:
        rules, now = self.rules, self._clock.now()
        found = rules.current(now)
        period = found[0] if found else None
        outcome = self._last_outcome
        phase = "closed" if period is None else "idle"
        prompt = None
        if outcome is not None:
            phase = {"approved": "paid", "declined": "declined", "already_paid": "already_paid"}[outcome.status]
        elif period is not None and self._prompt is not None:
            phase, prompt = "recognising", self._prompt   # e.g. "blink" while liveness waits
        confirm = self.close_calls.state
        if confirm is not None and outcome is None:
            phase = "confirm"
        upcoming = rules.next_opening(now) if phase == "closed" else None   # "breakfast from 06:30"
        return CanteenView(phase=phase, meal_period=rules.period_view(period), sync=self._sync_status(),
                           outcome=outcome, keyed_amount_fen=rules.keyed_amount_fen, prompt=prompt,
                           confirm=ConfirmView(confirm.tries_left, confirm.wrong) if confirm and outcome is None
                           else None,
                           next_period=rules.period_view(upcoming[0]) if upcoming else None,
                           opens_at=upcoming[1] if upcoming else None)

    def _shown(self, changed: bool = True) -> SceneResult:
        return SceneResult(self.current_view(), changed=changed)

    def tick(self) -> SceneResult | None:
        """A meal period opened or closed (a kiosk started before breakfast must not say
        "closed" all morning)."""
        found = self.rules.current(self._clock.now())
        shown = (found[0].code, found[1]) if found else None
        if shown == self._period_shown:
            return None
        self._period_shown = shown
        return self._shown()

    def clear_outcome(self) -> SceneResult:
        with self._lock:
            self._last_outcome = None
        return self._shown()

    # --- events ----------------------------------------------------------------------------------

    def handle(self, event: object) -> SceneResult:
        if isinstance(event, FacePrompt):
            return self._prompted(event.code)
        if isinstance(event, FaceConfirm):
            with self._lock:
                self._prompt, self._last_outcome = None, None
                refused = self.close_calls.start(event)
            if refused is None:
                return self._shown()                # the digits screen
            event = refused
        with self._lock:
            self._prompt = None                 # a decision (or refusal) replaces any prompt
            try:
                outcome = self.rules.handle(event)
            except sqlite3.Error as exc:   # disk full, I/O error: nothing was committed, so decline
                log.error("payment not recorded, declined: store write failed: %s", exc)
                outcome = self._store_failed(event)
            if outcome is None:
                return self._shown(changed=False)
            self.close_calls.cancel()           # e.g. a card tapped while the digits screen showed
            self._last_outcome = outcome
        # Logged without templates, card hashes or codes: ids, amounts and reasons only.
        log.info("decision payment_id=%s status=%s method=%s amount_fen=%d offline=%s reason=%s",
                 outcome.payment_id or "-", outcome.status, outcome.method, outcome.amount_fen,
                 outcome.offline, outcome.reason or "-")
        approved = outcome.status == "approved"
        # A decline is said too when it was a payment (it has an id): a stranger's face, which is
        # refused before any payment, must not make the gate say 支付失败 to the queue.
        spoken = approved or (outcome.status == "declined" and bool(outcome.payment_id))
        return SceneResult(self.current_view(), outcome=outcome, announce=spoken,
                           open_gate=outcome.payment_id if approved else None)   # the row is durable

    def _prompted(self, code: str | None) -> SceneResult:
        """The face camera asks the diner to do something (or stops asking): "recognising"."""
        with self._lock:
            if code == self._prompt:
                return self._shown(changed=False)
            self._prompt = code
            if code is not None:
                self._last_outcome = None       # a new diner at the camera: the last outcome is done
        return self._shown()

    def _store_failed(self, event: object) -> PaymentOutcome:
        method = {"FaceMatched": "face", "CodeScanned": "paycode", "CardTapped": "card"}.get(type(event).__name__,
                                                                                           "face")
        zh, en = message("store_write_failed")
        return PaymentOutcome(payment_id="", status="declined", amount_fen=0, method=method, at=self._clock.now(),
                              reason="store_write_failed", message_zh=zh, message_en=en)

    # --- the diner and the cashier key in --------------------------------------------------------

    def key_in_digits(self, digits: str) -> SceneResult:
        with self._lock:
            decided = self.close_calls.key_in(digits, self._clock.now())
        if decided is None:
            return self._shown()               # wrong: the screen says so, tries left
        return self.handle(decided)

    def cancel_confirm(self) -> SceneResult:
        with self._lock:
            self.close_calls.cancel()
        return self._shown()

    def key_in_amount(self, amount_fen: int) -> SceneResult:
        with self._lock:
            self.rules.key_in_amount(amount_fen)
        self.rules.store.audit.record("cashier", "key_in_amount", amount_fen=amount_fen)
        return self._shown()
