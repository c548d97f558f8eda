"""The bank core behind linked bank cards: a small Protocol, a simulator that behaves like one, and
the stand-in for "no bank core configured" (create_app picks one from the settings).

Every call carries the caller's reference (a payment or refund id); the bank applies a reference
at most once, so asking again after a timeout can never take the money twice. A timeout means
"unknown": the money may or may not have moved, and only `status(ref)` can tell.

The simulator keeps balances in memory, answers in real time (a configurable latency), and can
be told to fail the next calls the ways a real core does: insufficient funds and frozen cards
come from the account state; `timeouts` makes the next call time out either after applying it
("applied": the answer was lost) or before ("lost": the request never arrived), and
`status_unknown` makes the next status queries still answer "unknown" (the core is catching up).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol

Outcome = Literal["ok", "insufficient_funds", "frozen", "no_account", "unknown", "not_found", "not_configured"]


@dataclass(frozen=True)
class BankAnswer:
    outcome: Outcome
    ref: str
    amount_fen: int = 0


class CoreBanking(Protocol):
    def debit(self, ref: str, account: str, amount_fen: int) -> BankAnswer: ...
    def credit(self, ref: str, account: str, amount_fen: int) -> BankAnswer: ...
    def status(self, ref: str) -> BankAnswer: ...


class CoreBankingSimulator:
    def __init__(self, latency_s: float = 0.0):
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._balances: dict[str, int] = {}
        self._frozen: set[str] = set()
        self._applied: dict[str, BankAnswer] = {}
        self._timeouts: list[str] = []
        self._status_unknown = 0

    # --- the bank's own operations (what its tellers would do) ---
    def open_account(self, account: str, balance_fen: int = 0) -> None:
        with self._lock:
            self._balances[account] = balance_fen

    def freeze(self, account: str) -> None:
        with self._lock:
            self._frozen.add(account)

    def balance(self, account: str) -> int:
        with self._lock:
            return self._balances[account]

    def fail_next(self, *modes: Literal["applied", "lost"], status_unknown: int = 0) -> None:
        """The next calls time out (one mode per call); then `status_unknown` status queries
        still answer unknown."""
        with self._lock:
            self._timeouts.extend(modes)
            self._status_unknown += status_unknown

    # --- CoreBanking ---
    def debit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return self._move(ref, account, -amount_fen)

    def credit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return self._move(ref, account, amount_fen)

    def status(self, ref: str) -> BankAnswer:
        self._wait()
        with self._lock:
            if self._status_unknown > 0:
                self._status_unknown -= 1
                return BankAnswer("unknown", ref)
            return self._applied.get(ref, BankAnswer("not_found", ref))

    def _move(self, ref: str, account: str, delta: int) -> BankAnswer:
        if delta == 0:
            raise ValueError("a bank movement needs a non-zero amount")
        self._wait()
        with self._lock:
            timeout = self._timeouts.pop(0) if self._timeouts else None
            if timeout == "lost":
                return BankAnswer("unknown", ref)
            answer = self._applied.get(ref) or self._apply(ref, account, delta)
            return BankAnswer("unknown", ref) if timeout == "applied" else answer

    def _apply(self, ref: str, account: str, delta: int) -> BankAnswer:
        if account not in self._balances:
            return BankAnswer("no_account", ref)
        if account in self._frozen:
            return BankAnswer("frozen", ref)
        if self._balances[account] + delta < 0:
            return BankAnswer("insufficient_funds", ref)
        self._balances[account] += delta
        answer = BankAnswer("ok", ref, abs(delta))
        self._applied[ref] = answer
        return answer

    def _wait(self) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)


class NoCoreBanking:
    """No bank core is configured: nothing moves, and a card debit is declined in words
    (bank_not_configured) instead of being approved by a simulator nobody chose."""

    def debit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return BankAnswer("not_configured", ref)

    def credit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return BankAnswer("not_configured", ref)

    def status(self, ref: str) -> BankAnswer:
        return BankAnswer("not_found", ref)


def corebanking_of(app_state) -> CoreBanking:  # noqa: ANN001
    """The app's bank core, built from the settings by create_app (backend/channels/compose.py)."""
    return app_state.corebanking
