"""Offline approval: what the terminal may approve on its own while the backend cannot answer.

Only within the limits the backend set (core.wire.OfflineLimits): per payment, per diner per
day, the terminal's total outstanding, and the maximum age of the cache. The split is computed
by core.funding.split_payment — the same function the backend uses — from the cached
program rules and the balance snapshot minus what this terminal already took and the backend
has not yet counted. Pure reads: nothing here writes to the store.

Campaigns offline (issue 17): only an instant campaign from a budget slice the backend gave this
terminal (terminal.cache.campaign_slices), chosen by the same rule as online (core.campaigns:
applies here and now, the largest discount wins, ties to the lowest campaign id, one per payment)
and only while the slice still covers the whole discount. The per-customer limits are counted
from this terminal's own slice uses (it cannot see other terminals'). The split is on price minus
discount; the outbox takes the discount from the slice in the transaction that queues the payment.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from core.campaigns import Place, applies, discount_fen
from core.wire import Credential, SplitLine, SubsidyProgramData
from terminal.cache import CampaignSlice, Signing
from core.funding import OwnFunds, SubsidyPot, split_payment
from terminal.store import Store


@dataclass(frozen=True)
class OfflineDecision:
    approved: bool
    reason: str | None = None
    values: dict[str, int] = field(default_factory=dict)   # fen figures for the message ({limit})
    split: tuple[SplitLine, ...] = ()
    signing: Signing | None = None
    wallet_after_fen: int | None = None
    subsidy_after_fen: int | None = None
    # An instant campaign applied from this terminal's budget slice (issue 17): split sums to the
    # price minus discount_fen.
    discount_fen: int = 0
    campaign_id: int | None = None

    @property
    def customer_id(self) -> int | None:
        return self.signing.customer_id if self.signing else None


def resolve_signing(store: Store, credential: Credential) -> Signing | None:
    """Who the credential belongs to, from the cache (None: not signed here, or a pay code)."""
    if credential.kind == "face" and credential.customer_id is not None:
        return store.cache.face_signing(credential.customer_id)
    if credential.kind == "card" and credential.card_hash:
        return store.cache.card_signing(credential.card_hash)
    if credential.kind == "plate" and credential.plate:
        return store.cache.plate_signing(credential.plate, credential.plate_colour or "blue")
    return None


def _declined(reason: str, signing: Signing | None = None, **values: int) -> OfflineDecision:
    return OfflineDecision(False, reason, values, signing=signing)


# A wall clock may step back this far (NTP slewing, two reads racing) without counting as a jump.
CLOCK_BACK_TOLERANCE_S = 60


def cache_age_problem(store: Store, max_age_s: int, now: datetime, mono: float | None) -> str | None:
    """Why the cached data is too old to approve offline (None: fresh enough). The age is the
    larger of the wall clock's and the monotonic clock's: a wall clock set back (a dead RTC
    battery, a wrong manual setting) cannot make an old cache look fresh. After a reboot the
    monotonic reading starts again, so only the wall clock counts; if it then reads earlier than
    the last pull, the clock is wrong and nothing is approved offline."""
    last_pull = store.last_pull_at()
    if last_pull is None:
        return "stale_cache"
    age = (now - last_pull).total_seconds()
    pulled_mono = store.last_pull_mono()
    if mono is not None and pulled_mono is not None and mono >= pulled_mono:
        age = max(age, mono - pulled_mono)
    if age < -CLOCK_BACK_TOLERANCE_S:
        return "clock_behind"
    return "stale_cache" if age > max_age_s else None


def decide_offline(store: Store, credential: Credential, signing: Signing | None, amount_fen: int, *,
                   merchant_id: int, meal_period: str | None, business_day: str, now: datetime,
                   mono: float | None = None, payment_id: str | None = None) -> OfflineDecision:
    """`signing`: the payer as the Decider looked them up (resolve_signing), once per payment.
    `payment_id`: seeds a random reduction; without it no campaign is applied."""
    if credential.kind == "paycode":
        return _declined("paycode_needs_network")
    limits = store.cache.offline_limits()
    if limits is None:
        return _declined("offline_not_allowed")
    merchant = store.cache.merchant_status(merchant_id)
    if merchant is not None and merchant.status != "approved":
        return _declined("merchant_suspended")
    too_old = cache_age_problem(store, limits.max_cache_age_s, now, mono)
    if too_old:
        return _declined(too_old)
    if signing is None:
        return _declined("not_signed")
    if signing.status != "active":
        return _declined("signing_revoked" if signing.status == "revoked" else "signing_suspended", signing)
    if signing.merchant_ids and merchant_id not in signing.merchant_ids:
        return _declined("merchant_not_allowed", signing)
    if 0 < signing.per_payment_limit_fen < amount_fen:
        return _declined("over_payment_limit", signing, limit=signing.per_payment_limit_fen)
    if amount_fen > limits.per_payment_fen:
        return _declined("offline_per_payment", signing, limit=limits.per_payment_fen)
    outbox = store.outbox
    cid = signing.customer_id
    if outbox.customer_day_fen(cid, business_day, offline_only=True) + amount_fen > limits.per_customer_day_fen:
        return _declined("offline_per_day", signing, limit=limits.per_customer_day_fen)
    if 0 < signing.per_day_limit_fen < outbox.customer_day_fen(cid, business_day) + amount_fen:
        return _declined("over_day_limit", signing, limit=signing.per_day_limit_fen)
    if outbox.offline_outstanding_fen() + amount_fen > limits.terminal_total_fen:
        return _declined("offline_terminal_total", signing)
    campaign_id, discount = (None, 0) if payment_id is None else _slice_offer(
        store, signing.customer_id, credential.kind, amount_fen, payment_id, merchant_id, business_day, now)
    decision = _fund(store, signing, amount_fen - discount, merchant_id=merchant_id, meal_period=meal_period,
                     business_day=business_day, now=now)
    if not decision.approved or not discount:
        return decision
    return replace(decision, discount_fen=discount, campaign_id=campaign_id)


def _slice_offer(store: Store, customer_id: int, method: str, price_fen: int, payment_id: str, merchant_id: int,
                 business_day: str, now: datetime) -> tuple[int | None, int]:
    """(campaign id, discount) of the best instant campaign this terminal's slices can pay for."""
    identity = store.identity()
    if identity is None:
        return None, 0
    place = Place(merchant_id, identity.site_id, identity.scene, method)
    ranked = []
    for found in store.cache.campaign_slices(identity.terminal_id):
        terms = found.data.terms()
        off = discount_fen(terms, price_fen, payment_id) if applies(terms, place, now) else 0
        if 0 < off <= found.left_fen and _within_limits(store, found, customer_id, business_day):
            ranked.append((-off, found.data.campaign_id))
    if not ranked:
        return None, 0
    off, campaign_id = min(ranked)
    return campaign_id, -off


def _within_limits(store: Store, found: CampaignSlice, customer_id: int, business_day: str) -> bool:
    """The campaign's per-customer limits, counted from this terminal's own offline uses."""
    data = found.data
    if data.per_customer_limit is not None and \
            store.cache.slice_uses(data.campaign_id, customer_id) >= data.per_customer_limit:
        return False
    return data.per_customer_daily_limit is None or \
        store.cache.slice_uses(data.campaign_id, customer_id, business_day) < data.per_customer_daily_limit


def _fund(store: Store, signing: Signing, amount_fen: int, *, merchant_id: int, meal_period: str | None,
          business_day: str, now: datetime) -> OfflineDecision:
    snap = store.cache.balance(signing.customer_id)
    if snap is None:
        return _declined("no_balance_data", signing)
    wallet = snap.wallet_fen
    pots_balance = {s.program_id: s.balance_fen for s in snap.subsidies}
    for lines in store.outbox.unreflected_splits(signing.customer_id, snap.as_of):
        for line in lines:
            if line.source == "subsidy" and line.program_id in pots_balance:
                pots_balance[line.program_id] -= line.amount_fen
            elif line.source == "wallet":
                wallet -= line.amount_fen
    spent_today: dict[int, int] = {}
    spent_meal: dict[int, int] = {}
    for lines, period in store.outbox.day_splits(signing.customer_id, business_day):
        for line in lines:
            if line.source == "subsidy" and line.program_id is not None:
                spent_today[line.program_id] = spent_today.get(line.program_id, 0) + line.amount_fen
                if period == meal_period:
                    spent_meal[line.program_id] = spent_meal.get(line.program_id, 0) + line.amount_fen
    programs = store.cache.subsidy_programs()
    pots = [_pot(programs[pid], bal, spent_meal.get(pid, 0), spent_today.get(pid, 0))
            for pid, bal in pots_balance.items()
            if pid in programs and programs[pid].status == "active"]  # unknown rules: not spent offline
    decision = split_payment(amount_fen, signing.funding_order, pots, OwnFunds(wallet_fen=wallet),
                             merchant_id=merchant_id, meal_period=meal_period, now=now)
    if not decision.approved:
        return _declined(decision.reason or "insufficient_funds", signing)
    subsidy_used = decision.subsidy_fen()
    wallet_used = sum(x.amount_fen for x in decision.lines if x.source == "wallet")
    return OfflineDecision(True, split=decision.lines, signing=signing,
                           wallet_after_fen=wallet - wallet_used,
                           subsidy_after_fen=sum(max(b, 0) for b in pots_balance.values()) - subsidy_used)


def _pot(program: SubsidyProgramData, balance_fen: int, spent_meal: int, spent_today: int) -> SubsidyPot:
    expires = program.valid_until
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    return SubsidyPot(program_id=program.program_id, kind=program.kind, balance_fen=balance_fen,
                      merchant_ids=frozenset(program.merchant_ids), meal_periods=frozenset(program.meal_periods),
                      per_meal_cap_fen=program.per_meal_cap_fen, per_day_cap_fen=program.per_day_cap_fen,
                      spent_this_meal_fen=spent_meal, spent_today_fen=spent_today, expires_at=expires)
