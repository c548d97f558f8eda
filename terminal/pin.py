"""The admin PIN: checked against the configured hash, with tries and a lockout.

One guard per terminal: the admin screen and a parking lane's attendant actions share its
tries, so two screens (or two threads) together never get past PIN_TRIES.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import Clock
from terminal.audit import AuditLog
from terminal.config import check_pin

PIN_TRIES = 5
PIN_LOCKOUT = timedelta(minutes=1)


class AdminError(PermissionError):
    """An admin action was refused; zh/en say why and what to do."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


class PinGuard:
    def __init__(self, pin_hash: str, audit: AuditLog, clock: Clock, tz: ZoneInfo):
        self._pin_hash, self._audit, self._clock, self._tz = pin_hash, audit, clock, tz
        self._failures: list[datetime] = []
        self._lock = threading.Lock()    # the PIN screen and the lane's attendant thread both ask

    def _recent(self, now: datetime) -> list[datetime]:
        with self._lock:
            return [t for t in self._failures if now - t < PIN_LOCKOUT]

    def locked_until(self) -> datetime | None:
        """When the PIN may be tried again after PIN_TRIES wrong tries in a row (None: not locked),
        so the PIN screen can say "locked, try again at 12:31" instead of "wrong PIN"."""
        recent = self._recent(self._clock.now())
        if len(recent) < PIN_TRIES:
            return None
        return recent[-PIN_TRIES] + PIN_LOCKOUT

    def tries_left(self) -> int:
        """How many wrong PINs may still be entered before the screen locks, so the PIN screen
        can warn the cashier before the lock rather than after it."""
        return max(0, PIN_TRIES - len(self._recent(self._clock.now())))

    def verify(self, pin: str) -> bool:
        # One check at a time, counted before the next starts: tries from two threads at once
        # must not get past PIN_TRIES together.
        with self._lock:
            now = self._clock.now()
            self._failures = [t for t in self._failures if now - t < PIN_LOCKOUT]
            if len(self._failures) >= PIN_TRIES:
                self._audit.record("admin", "pin_locked")
                return False
            ok = check_pin(pin, self._pin_hash)
            if not ok:
                self._failures.append(now)
                self._audit.record("admin", "pin_failed")
            return ok

    def require(self, pin: str) -> None:
        """verify, or raise AdminError saying whether the PIN was wrong or the screen is locked."""
        if not self.verify(pin):
            until = self.locked_until()
            if until is not None:
                at = until.astimezone(self._tz).strftime("%H:%M")
                raise AdminError(f"密码错误次数过多，已锁定，请在 {at} 后重试",
                                 f"Too many wrong PINs: locked, try again at {at}")
            raise AdminError("管理密码错误，请重试（连续错误5次将锁定1分钟）",
                             "Wrong admin PIN: try again (5 wrong tries lock the screen for a minute)")
