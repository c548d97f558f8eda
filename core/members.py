"""Parking members: monthly / quarterly / yearly passes per plate per car park. Pure, no I/O.

A pass is valid on whole local days, `valid_from` to `valid_to` inclusive, in the car park's time
zone (that is what the receipt says: "valid to 2026-12-31"). Renewal (会员缴费续期) extends from
the later of today and the day after the current end, by natural months; a pass that ends on the
last day of a month keeps ending on month ends (Jan 31 -> Feb 28 -> Mar 31).

At the exit, the time of a stay that the pass does not cover is charged with the tariff: a pass
that expired while the car was inside is charged only for the time after expiry, billed like a
stay that began at the moment of expiry (so the tariff's free minutes apply to it too).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from core.tariff import MAX_FEE_FEN, Tariff, compute_fee


class PassPlan(BaseModel):
    """A pass an operator sells: "月卡 300 元", "季卡 800 元"."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Literal["monthly", "quarterly", "yearly"] = Field(title="Plan", description="monthly | quarterly | yearly")
    months: int = Field(ge=1, le=12, title="Months", description="Natural months one payment buys")
    price_fen: int = Field(ge=0, le=MAX_FEE_FEN, title="Price (fen)", description="Price of one period")


MONTHLY = PassPlan(code="monthly", months=1, price_fen=30000)
QUARTERLY = PassPlan(code="quarterly", months=3, price_fen=80000)


@dataclass(frozen=True)
class MemberPass:
    site_id: int
    plate: str
    plan: str
    valid_from: date
    valid_to: date                 # inclusive
    status: Literal["active", "suspended"] = "active"


@dataclass(frozen=True)
class MemberCharge:
    """What a member's stay costs at the exit."""
    fee_fen: int
    covered: bool                  # the pass covered the whole stay
    charged_from: datetime | None  # start of the charged part (the expiry, for an expired pass)
    note: str                      # member | expired_inside | started_inside | not_member


def add_months(d: date, months: int) -> date:
    """Natural months; a month end stays a month end, other days are clamped (Jan 30 -> Feb 28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    month_end = d.day == calendar.monthrange(d.year, d.month)[1]
    return date(year, month, last if month_end else min(d.day, last))


def renew(current: MemberPass | None, plan: PassPlan, today: date, site_id: int, plate: str) -> MemberPass:
    """The pass after one paid renewal of `plan` on local date `today`."""
    if current is not None and (current.site_id, current.plate) != (site_id, plate):
        raise ValueError("renewal for another plate or car park")
    if current is not None and current.valid_to >= today:
        start = current.valid_to + timedelta(days=1)       # no gap: extend
        valid_from = current.valid_from
    else:
        start = today                                      # lapsed or new: from today
        valid_from = today
    valid_to = add_months(start - timedelta(days=1), plan.months)
    if current is None:
        return MemberPass(site_id, plate, plan.code, valid_from, valid_to)
    return replace(current, plan=plan.code, valid_from=valid_from, valid_to=valid_to)


def window(p: MemberPass, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The pass as instants: local midnight of valid_from to local midnight after valid_to."""
    start = datetime.combine(p.valid_from, time(0), tzinfo=zone)
    end = datetime.combine(p.valid_to + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def is_valid_at(p: MemberPass | None, instant: datetime, zone: ZoneInfo) -> bool:
    if p is None or p.status != "active":
        return False
    start, end = window(p, zone)
    return start <= instant < end


def charge_for_stay(p: MemberPass | None, tariff: Tariff, entered_at: datetime, exited_at: datetime) -> MemberCharge:
    """Fee of a stay for a plate that may hold a pass: the tariff on the parts the pass does not cover."""
    zone = ZoneInfo(tariff.timezone)
    if p is None or p.status != "active":
        return MemberCharge(compute_fee(tariff, entered_at, exited_at).fee_fen, False, entered_at, "not_member")
    start, end = window(p, zone)
    if end <= entered_at or start >= exited_at:
        return MemberCharge(compute_fee(tariff, entered_at, exited_at).fee_fen, False, entered_at, "not_member")
    fee = 0
    charged_from: datetime | None = None
    note = "member"
    if entered_at < start:          # the pass began while the car was inside
        fee += compute_fee(tariff, entered_at, start).fee_fen
        charged_from, note = entered_at, "started_inside"
    if end < exited_at:             # the pass expired while the car was inside
        fee += compute_fee(tariff, end, exited_at).fee_fen
        charged_from = charged_from or end
        note = "expired_inside"
    return MemberCharge(min(fee, MAX_FEE_FEN), note == "member", charged_from, note)
