"""How a payment is funded: the one pure rule shared by the backend and the terminal's offline
decision, so the two can never disagree about a split.

`split_payment` takes the amount, the diner's funding order, the subsidy pots the diner holds and
the own money available, and returns split lines (core.wire.SplitLine) or a decline with a reason
code. No database, no clock of its own: the caller passes `now`, the merchant and the meal period.

Rules:
- A subsidy pot counts only where and when its program allows: its merchants (empty = any), its
  meal periods (empty = any), not expired at `now`. What a pot can give is the least of its
  balance, its per-meal cap less what this meal already took, and its per-day cap less what
  today already took.
- Pots are drawn in a fixed order — the one expiring soonest first (money that lapses is spent
  before money that keeps), then meal allowance, daily allowance, monthly grant, then program id —
  so the same inputs always give the same split.
- Orders: subsidy_first = subsidies, wallet, bank card; subsidy_only = subsidies;
  own_only = wallet, bank card; own_first = wallet, subsidies, bank card (the linked bank card is
  a last resort in every order: it is the diner's money outside the scheme, used so a meal is not
  refused, not in preference to money the scheme already holds).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core.reasons import find
from core.wire import MAX_AMOUNT_FEN, FundingOrder, SplitLine

SubsidyKind = Literal["monthly", "daily", "meal"]

# Allowances that lapse sooner are spent first when expiry times tie (or are unknown).
_KIND_RANK = {"meal": 0, "daily": 1, "monthly": 2}


@dataclass(frozen=True)
class SubsidyPot:
    """One subsidy program as this diner holds it right now."""
    program_id: int
    kind: SubsidyKind
    balance_fen: int
    merchant_ids: frozenset[int] = frozenset()
    meal_periods: frozenset[str] = frozenset()
    per_meal_cap_fen: int | None = None
    per_day_cap_fen: int | None = None
    spent_this_meal_fen: int = 0
    spent_today_fen: int = 0
    expires_at: datetime | None = None

    def usable_here(self, merchant_id: int, meal_period: str | None, now: datetime) -> bool:
        if self.merchant_ids and merchant_id not in self.merchant_ids:
            return False
        if self.meal_periods and meal_period not in self.meal_periods:
            return False
        return self.expires_at is None or now < self.expires_at

    def available_fen(self) -> int:
        """The most this pot may give to one payment (never below zero)."""
        room = max(self.balance_fen, 0)
        if self.per_meal_cap_fen is not None:
            room = min(room, self.per_meal_cap_fen - self.spent_this_meal_fen)
        if self.per_day_cap_fen is not None:
            room = min(room, self.per_day_cap_fen - self.spent_today_fen)
        return max(room, 0)


@dataclass(frozen=True)
class OwnFunds:
    """The diner's own money: the wallet, and optionally a linked bank card."""
    wallet_fen: int = 0
    bank_card: bool = False
    bank_card_limit_fen: int | None = None  # None = the bank decides at debit time

    def bank_card_room(self) -> int:
        if not self.bank_card:
            return 0
        return MAX_AMOUNT_FEN if self.bank_card_limit_fen is None else max(self.bank_card_limit_fen, 0)


@dataclass(frozen=True)
class FundingDecision:
    approved: bool
    lines: tuple[SplitLine, ...] = ()
    reason: str | None = None

    @property
    def message_zh(self) -> str:
        return (find(self.reason) or ("", ""))[0]     # worded by core/reasons

    @property
    def message_en(self) -> str:
        return (find(self.reason) or ("", ""))[1]

    def subsidy_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines if line.source == "subsidy")


def pot_order_key(pot: SubsidyPot) -> tuple:
    """Soonest expiry first (no expiry last), then the kind that lapses sooner, then id."""
    expiry = pot.expires_at.timestamp() if pot.expires_at is not None else float("inf")
    return (expiry, _KIND_RANK.get(pot.kind, 9), pot.program_id)


def split_payment(amount_fen: int, order: FundingOrder, pots: list[SubsidyPot] | tuple[SubsidyPot, ...],
                  own: OwnFunds, *, merchant_id: int, meal_period: str | None,
                  now: datetime) -> FundingDecision:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ValueError(f"amount must be integer fen in 1..{MAX_AMOUNT_FEN}, got {amount_fen!r}")
    here = sorted((p for p in pots if p.usable_here(merchant_id, meal_period, now)), key=pot_order_key)
    subsidy_room = [(p.program_id, p.available_fen()) for p in here]
    wallet_room = [(None, max(own.wallet_fen, 0))]
    card_room = [(None, own.bank_card_room())]
    plan = {
        "subsidy_first": [("subsidy", subsidy_room), ("wallet", wallet_room), ("bank_card", card_room)],
        "subsidy_only": [("subsidy", subsidy_room)],
        "own_only": [("wallet", wallet_room), ("bank_card", card_room)],
        "own_first": [("wallet", wallet_room), ("subsidy", subsidy_room), ("bank_card", card_room)],
    }[order]
    lines: list[SplitLine] = []
    left = amount_fen
    for source, rooms in plan:
        for program_id, room in rooms:
            take = min(left, room)
            if take > 0:
                lines.append(SplitLine(source=source, program_id=program_id, amount_fen=take))
                left -= take
    if left == 0:
        return FundingDecision(approved=True, lines=tuple(lines))
    return FundingDecision(approved=False, reason=_decline_reason(order, pots, here))


def _decline_reason(order: FundingOrder, pots, here) -> str:  # noqa: ANN001
    if order != "subsidy_only":
        return "insufficient_funds"
    if not pots:
        return "no_subsidy"
    if not here:
        return "subsidy_not_allowed_here"
    if any(p.balance_fen > p.available_fen() for p in here):
        return "subsidy_cap_reached"
    return "insufficient_funds"
