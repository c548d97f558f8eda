"""The canteen's rules: meal periods, meals per diner, debounce, and the three ways to pay.

Face match, pay code and card all become a PaymentIntent for the one Decider. Before deciding,
the scene answers "already paid" (with the time) when the same diner is seen again within the
debounce time or has had the meals this period allows — a diner lingering in front of the
camera is never charged twice.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hardware.events import CardTapped, CodeScanned, FaceMatched, FaceRejected
from core.wire import Credential, MealPeriod
from terminal.cache import Signing
from terminal.decision import Decider, PaymentIntent, credential_key
from terminal.offline import resolve_signing
from core.reasons import message
from terminal.state import MealPeriodView, PaymentOutcome
from terminal.store import Store


def _parse_hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h) % 24, int(m))


def period_at(periods: list[MealPeriod], local: datetime) -> tuple[MealPeriod, str] | None:
    """The meal period at a local time and its meal day (start inclusive, end exclusive; a
    period whose end is not after its start runs past midnight and belongs to the day it began)."""
    t = local.time()
    for p in periods:
        start, end = _parse_hhmm(p.start), _parse_hhmm(p.end)
        if start < end and start <= t < end:
            return p, local.date().isoformat()
        if end <= start and (t >= start or t < end):
            day = local.date() - timedelta(days=1) if t < end else local.date()
            return p, day.isoformat()
    return None


def next_opening(periods: list[MealPeriod], local: datetime) -> tuple[MealPeriod, datetime] | None:
    """The period that starts next after a local time, with its start (today or tomorrow)."""
    starts = []
    for p in periods:
        start = _parse_hhmm(p.start)
        at = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        starts.append((at if at > local else at + timedelta(days=1), p))
    if not starts:
        return None
    at, period = min(starts, key=lambda pair: pair[0])
    return period, at


class MealRules:
    """The canteen's payment rules: which meal is open, its price, debounce and meals per diner."""

    def __init__(self, store: Store, decider: Decider, *, fallback_periods: list[MealPeriod] | None = None,
                 debounce_s: int = 60, liveness_required: bool = True):
        self.store = store
        self.decider = decider
        self.fallback_periods = list(fallback_periods or [])
        self.debounce = timedelta(seconds=debounce_s)
        self.liveness_required = liveness_required
        self.keyed_amount_fen: int | None = None

    # --- meal periods ---------------------------------------------------------------------------

    def periods(self) -> tuple[list[MealPeriod], ZoneInfo]:
        cached = self.store.cache.meal_periods()
        if cached and cached.periods:
            return list(cached.periods), ZoneInfo(cached.timezone)
        return self.fallback_periods, self.decider.tz

    def current(self, now: datetime) -> tuple[MealPeriod, str] | None:
        periods, tz = self.periods()
        return period_at(periods, now.astimezone(tz))

    def next_opening(self, now: datetime) -> tuple[MealPeriod, datetime] | None:
        periods, tz = self.periods()
        return next_opening(periods, now.astimezone(tz))

    @staticmethod
    def period_view(period: MealPeriod | None) -> MealPeriodView | None:
        if period is None:
            return None
        return MealPeriodView(period.code, period.name_zh, period.name_en, period.price_fen)

    def key_in_amount(self, amount_fen: int) -> None:
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= 1_000_000:
            raise ValueError("amount must be integer fen between 1 and 1,000,000")
        self.keyed_amount_fen = amount_fen

    # --- events ---------------------------------------------------------------------------------

    def handle(self, event: object) -> PaymentOutcome | None:
        """One device event -> the outcome to show (None: nothing a diner needs to see)."""
        now = self.decider.clock.now()
        if isinstance(event, FaceRejected):
            return self._refused(event.reason, "face", now)
        if isinstance(event, FaceMatched):
            if self.liveness_required and event.liveness != "passed":
                return self._refused("liveness_needed", "face", now)
            return self._pay(Credential(kind="face", customer_id=event.customer_id), now)
        if isinstance(event, CodeScanned):
            if event.kind == "unknown":
                return self._refused("unknown_code", "paycode", now)
            return self._pay(Credential(kind="paycode", paycode=event.text), now)
        if isinstance(event, CardTapped):
            return self._pay(Credential(kind="card", card_hash=event.card_hash), now)
        return None

    def _pay(self, cred: Credential, now: datetime) -> PaymentOutcome:
        found = self.current(now)
        if found is None:
            return self._refused("closed", cred.kind, now)
        period, meal_day = found
        amount = self.keyed_amount_fen or period.price_fen
        if not amount:
            return self._refused("amount_needed", cred.kind, now)
        signing = resolve_signing(self.store, cred)      # once per payment: debounce, then the decision
        repeat = self._already_paid(cred, signing, period, meal_day, now)
        if repeat is not None:
            return repeat
        outcome = self.decider.decide_for(PaymentIntent(cred, amount, meal_period=period.code, business_day=meal_day),
                                          signing)
        if outcome.status == "approved":
            self.keyed_amount_fen = None
        return outcome

    def _already_paid(self, cred: Credential, signing: Signing | None, period: MealPeriod, meal_day: str,
                      now: datetime) -> PaymentOutcome | None:
        key = credential_key(cred)
        if key is None:
            return None
        customer = signing.customer_id if signing else cred.customer_id
        last = self.store.outbox.last_approved(key, customer)   # face then card: still the same diner
        if last is not None and now - last.occurred_at < self.debounce:
            return self._paid_before(last, cred.kind, now)
        if period.max_meals and customer is not None and \
                self.store.outbox.meals_taken(customer, meal_day, period.code) >= period.max_meals:
            previous = self.store.outbox.last_approved(key, customer)
            return self._paid_before(previous, cred.kind, now, meal_limit=True)
        return None

    def _paid_before(self, last, method: str, now: datetime, meal_limit: bool = False) -> PaymentOutcome:  # noqa: ANN001
        paid_at = last.occurred_at if last else None
        when = paid_at.astimezone(self.periods()[1]).strftime("%H:%M") if paid_at else ""
        zh, en = message("meal_limit" if meal_limit else "debounce")
        if when:
            zh, en = f"{zh}（{when} 已付款）", f"{en} (paid at {when})"
        # the split of an approved payment sums to what was paid: the price less a campaign's discount
        paid = (last.subsidy_fen + last.own_fen) if last else 0
        return PaymentOutcome(payment_id=last.item_id if last else "", status="already_paid",
                              amount_fen=last.amount_fen if last else 0, method=method, at=now,
                              discount_fen=last.amount_fen - paid if last and 0 < paid < last.amount_fen else 0,
                              masked_name=last.masked_name if last else None, paid_at=paid_at,
                              reason="meal_limit" if meal_limit else "debounce", message_zh=zh, message_en=en)

    @staticmethod
    def _refused(reason: str, method: str, now: datetime) -> PaymentOutcome:
        zh, en = message(reason)
        return PaymentOutcome(payment_id="", status="declined", amount_fen=0, method=method, at=now,
                              reason=reason, message_zh=zh, message_en=en)
