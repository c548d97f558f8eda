"""How much a campaign takes off a price: the one pure rule the backend applies at payment (and the
terminal's offline budget slices will apply in part 2), so the two can never disagree.

No database and no clock: the caller passes the terms, the price, the payment id and where and
when the payment happens. Money is integer fen.

Kinds (营销活动):
- fixed       固定立减: `amount_fen` off;
- random      随机立减: an amount in [min_fen, max_fen], drawn from sha256(campaign id, payment id), so
              anyone can recompute it and a repeat of the payment gets the same amount;
- percent     打折: `percent_off` % off (1..99; 88折 = 12), rounded down, at most `cap_fen`;
- threshold   满减: `amount_fen` off when the price is at least `threshold_fen`.
A discount never takes the whole price: the payer pays at least one fen (DISCOUNT_FLOOR_FEN).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from core.wire import MAX_AMOUNT_FEN

CampaignKind = Literal["fixed", "random", "percent", "threshold"]
CAMPAIGN_KINDS: tuple[str, ...] = ("fixed", "random", "percent", "threshold")
DISCOUNT_FLOOR_FEN = 1     # what the payer pays at least: a payment of zero is no payment


@dataclass(frozen=True)
class Terms:
    """A campaign's rule and where it applies. Empty sets mean "any"."""
    campaign_id: int
    kind: CampaignKind
    amount_fen: int | None = None
    min_fen: int | None = None
    max_fen: int | None = None
    percent_off: int | None = None
    cap_fen: int | None = None
    threshold_fen: int | None = None
    merchant_ids: frozenset[int] = field(default_factory=frozenset)
    site_ids: frozenset[int] = field(default_factory=frozenset)
    scenes: frozenset[str] = field(default_factory=frozenset)
    methods: frozenset[str] = field(default_factory=frozenset)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class Place:
    """Where and how a payment happens."""
    merchant_id: int
    site_id: int | None
    scene: str | None          # canteen | parking
    method: str                # the credential kind: face | card | paycode | plate


def terms_problem(terms: Terms) -> str | None:
    """Why these terms cannot be a campaign, in words (None when they can)."""
    def fen(value: int | None) -> bool:
        return value is not None and 0 < value <= MAX_AMOUNT_FEN
    if terms.kind == "fixed" and not fen(terms.amount_fen):
        return "fixed reduction needs amount_fen between 1 and 1000000"
    if terms.kind == "random" and not (fen(terms.min_fen) and fen(terms.max_fen) and terms.min_fen <= terms.max_fen):
        return "random reduction needs 1 <= min_fen <= max_fen <= 1000000"
    if terms.kind == "percent" and not (terms.percent_off is not None and 1 <= terms.percent_off <= 99
                                        and fen(terms.cap_fen)):
        return "percentage discount needs percent_off 1..99 and cap_fen"
    if terms.kind == "threshold" and not (fen(terms.amount_fen) and fen(terms.threshold_fen)
                                          and terms.amount_fen < terms.threshold_fen):
        return "threshold reduction needs 0 < amount_fen < threshold_fen"
    if terms.kind not in CAMPAIGN_KINDS:
        return f"unknown campaign kind {terms.kind!r}"
    if terms.starts_at and terms.ends_at and terms.ends_at <= terms.starts_at:
        return "the time window ends before it starts"
    return None


def applies(terms: Terms, place: Place, at: datetime) -> bool:
    """Whether the campaign covers this place and moment (not its budget or limits)."""
    if terms.merchant_ids and place.merchant_id not in terms.merchant_ids:
        return False
    if terms.site_ids and place.site_id not in terms.site_ids:
        return False
    if terms.scenes and place.scene not in terms.scenes:
        return False
    if terms.methods and place.method not in terms.methods:
        return False
    if terms.starts_at is not None and at < terms.starts_at:
        return False
    return terms.ends_at is None or at < terms.ends_at


def random_reduction_fen(campaign_id: int, payment_id: str, min_fen: int, max_fen: int) -> int:
    """The auditable draw: sha256("<campaign id>:<payment id>") as a number, into [min, max]."""
    digest = hashlib.sha256(f"{campaign_id}:{payment_id}".encode()).digest()
    return min_fen + int.from_bytes(digest[:8], "big") % (max_fen - min_fen + 1)


def discount_fen(terms: Terms, price_fen: int, payment_id: str) -> int:
    """What the campaign takes off `price_fen` (0 when the price does not qualify)."""
    if terms.kind == "fixed":
        off = terms.amount_fen or 0
    elif terms.kind == "random":
        off = random_reduction_fen(terms.campaign_id, payment_id, terms.min_fen or 0, terms.max_fen or 0)
    elif terms.kind == "percent":
        off = min(price_fen * (terms.percent_off or 0) // 100, terms.cap_fen or 0)
    elif terms.kind == "threshold":
        off = (terms.amount_fen or 0) if price_fen >= (terms.threshold_fen or 0) else 0
    else:
        off = 0
    return max(0, min(off, price_fen - DISCOUNT_FLOOR_FEN))
