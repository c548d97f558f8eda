"""The payment decision every scene uses: online first, offline within limits, commit first.

    decider.decide(PaymentIntent(credential, amount_fen, meal_period=...)) -> PaymentOutcome

1. The payment_id is made here, once, and the row is committed BEFORE any network call.
2. Online: the backend authorises within a short timeout (default 800 ms).
3. If it cannot answer, the offline rules decide with the SAME payment_id. When the request may
   have reached the backend (a timeout after sending) and the offline answer is no, a
   compensating refund is queued so the diner is never charged for a meal they did not get.
4. An approval is durable in the store when this returns; only then may the gate open.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sync.client import SyncClient, SyncFailure
from sync.status import SyncTracker
from core.wire import Credential, Offer, PaymentRequest, PaymentResult, RefundRequest
from core.clock import Clock
from core.money import format_yuan
from terminal.cache import Signing
from terminal.offline import OfflineDecision, decide_offline, resolve_signing
from core.reasons import message
from terminal.state import OfferView, PaymentOutcome
from terminal.store import Store

# Compensating refunds get an id derived from the payment, so a retry never makes a second one.
COMPENSATION_NS = uuid.UUID("6f1d7c4e-3a52-4d0e-9a51-2f0f6b1c8e21")


@dataclass(frozen=True)
class PaymentIntent:
    credential: Credential
    amount_fen: int
    meal_period: str | None = None
    parking_session_id: UUID | None = None
    business_day: str | None = None     # the scene's day (a late meal past midnight); default: local date


def credential_key(credential: Credential) -> str | None:
    """Who is paying, for debounce and per-period counts (a pay code is single-use: none)."""
    if credential.kind == "face":
        return f"face:{credential.customer_id}"
    if credential.kind == "card":
        return f"card:{credential.card_hash}"
    if credential.kind == "plate":
        return f"plate:{credential.plate}:{credential.plate_colour or ''}"
    return None


def compensating_refund(payment_id: UUID | str, amount_fen: int, now: datetime) -> RefundRequest:
    return RefundRequest(refund_id=uuid.uuid5(COMPENSATION_NS, str(payment_id)), payment_id=UUID(str(payment_id)),
                         amount_fen=amount_fen, reason="terminal declined after an unanswered request",
                         occurred_at=now)


class Decider:
    def __init__(self, store: Store, clock: Clock, tracker: SyncTracker, client: SyncClient | None, *,
                 authorise_timeout_s: float = 0.8, timezone: str = "Asia/Shanghai"):
        self.store = store
        self.clock = clock
        self.tracker = tracker
        self.client = client
        self.authorise_timeout_s = authorise_timeout_s
        self.tz = ZoneInfo(timezone)

    def business_day(self, at: datetime) -> str:
        return at.astimezone(self.tz).date().isoformat()

    def decide(self, intent: PaymentIntent) -> PaymentOutcome:
        """Look up who pays (the cached signing), then decide."""
        return self.decide_for(intent, resolve_signing(self.store, intent.credential))

    def decide_for(self, intent: PaymentIntent, signing: Signing | None) -> PaymentOutcome:
        """Decide for a payer the scene has already looked up (None: not signed here, or a pay
        code): the one lookup of a payment, passed on to the offline rules."""
        identity = self.store.identity()
        now = self.clock.now()
        cred = intent.credential
        if identity is None:
            return self._declined(uuid.uuid4(), intent, now, "not_registered")
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=intent.amount_fen, credential=cred,
                             occurred_at=now, meal_period=intent.meal_period,
                             parking_session_id=intent.parking_session_id)
        day = intent.business_day or self.business_day(now)
        row = dict(method=cred.kind, credential_key=credential_key(cred), business_day=day,
                   customer_id=signing.customer_id if signing else None,
                   masked_name=signing.masked_name if signing else None)
        if self.client is not None and self.tracker.should_try_online(now):
            self.store.outbox.add_payment(req, status="authorising", **row)   # durable before the network
            try:
                result = self.client.authorise(req, self.authorise_timeout_s)
            except SyncFailure as failure:
                self.tracker.note_failure(failure, self.clock.now())
                return self._after_failed_online(req, intent, signing, identity.merchant_id, day, failure)
            self.tracker.note_success(self.clock.now())
            self.store.outbox.record_online_result(req.payment_id, result)
            return self._from_online(result, intent, now)
        offline = decide_offline(self.store, cred, signing, intent.amount_fen, merchant_id=identity.merchant_id,
                                 meal_period=intent.meal_period, business_day=day, now=now,
                                 mono=self.clock.monotonic(), payment_id=str(req.payment_id))
        if not offline.approved:
            return self._declined(req.payment_id, intent, now, offline.reason or "declined", offline)
        queued = _queued_offline(req, offline)
        self.store.outbox.add_payment(queued, status="queued", split=offline.split, **row)
        return self._approved_offline(req.payment_id, intent, now, offline)

    def _after_failed_online(self, req: PaymentRequest, intent: PaymentIntent, signing: Signing | None,
                             merchant_id: int, day: str, failure: SyncFailure) -> PaymentOutcome:
        now = req.occurred_at
        offline = decide_offline(self.store, req.credential, signing, req.amount_fen, merchant_id=merchant_id,
                                 meal_period=req.meal_period, business_day=day, now=self.clock.now(),
                                 mono=self.clock.monotonic(), payment_id=str(req.payment_id))
        if offline.approved:
            queued = _queued_offline(req, offline)
            self.store.outbox.approve_offline(req.payment_id, queued, offline.split, offline.customer_id,
                                              offline.signing.masked_name if offline.signing else None)
            return self._approved_offline(req.payment_id, intent, now, offline)
        refund = compensating_refund(req.payment_id, req.amount_fen, self.clock.now()) if failure.maybe_sent else None
        self.store.outbox.refuse(req.payment_id, offline.reason or "declined", refund)
        return self._declined(req.payment_id, intent, now, offline.reason or "declined", offline)

    # --- outcomes ------------------------------------------------------------------------------

    def _from_online(self, result: PaymentResult, intent: PaymentIntent, at: datetime) -> PaymentOutcome:
        subsidy = sum(x.amount_fen for x in result.split if x.source == "subsidy")
        balances = result.balances
        common = dict(payment_id=str(result.payment_id), amount_fen=result.amount_fen, method=intent.credential.kind,
                      at=at, masked_name=result.masked_name,
                      wallet_balance_fen=balances.wallet_fen if balances else None,
                      subsidy_balance_fen=sum(s.balance_fen for s in balances.subsidies) if balances else None)
        if result.status == "approved":
            discount = online_discount(result)
            paid = result.amount_fen - discount
            zh, en = paid_words(paid, discount, offline=False)
            return PaymentOutcome(status="approved", subsidy_fen=subsidy, own_fen=paid - subsidy,
                                  discount_fen=discount, offer=offer_view(result.offer),
                                  message_zh=zh, message_en=en, **common)
        zh, en = (result.message_zh, result.message_en) if result.message_zh else message(result.reason or "declined")
        return PaymentOutcome(status="declined", reason=result.reason or "declined", message_zh=zh,
                              message_en=en or zh, **common)

    def _approved_offline(self, payment_id: UUID, intent: PaymentIntent, at: datetime,
                          offline: OfflineDecision) -> PaymentOutcome:
        subsidy = sum(x.amount_fen for x in offline.split if x.source == "subsidy")
        discount = offline.discount_fen if 0 < offline.discount_fen < intent.amount_fen else 0
        paid = intent.amount_fen - discount
        zh, en = paid_words(paid, discount, offline=True)
        return PaymentOutcome(payment_id=str(payment_id), status="approved", amount_fen=intent.amount_fen,
                              method=intent.credential.kind, at=at, subsidy_fen=subsidy,
                              own_fen=paid - subsidy, discount_fen=discount,
                              masked_name=offline.signing.masked_name if offline.signing else None,
                              wallet_balance_fen=offline.wallet_after_fen,
                              subsidy_balance_fen=offline.subsidy_after_fen,
                              message_zh=zh, message_en=en, offline=True)

    def _declined(self, payment_id: UUID, intent: PaymentIntent, at: datetime, reason: str,
                  offline: OfflineDecision | None = None) -> PaymentOutcome:
        zh, en = message(reason, **(offline.values if offline else {}))
        signing = offline.signing if offline else None
        return PaymentOutcome(payment_id=str(payment_id), status="declined", amount_fen=intent.amount_fen,
                              method=intent.credential.kind, at=at, reason=reason, message_zh=zh, message_en=en,
                              masked_name=signing.masked_name if signing else None,
                              offline=offline is not None)


def _queued_offline(req: PaymentRequest, offline: OfflineDecision) -> PaymentRequest:
    """The request as the push queue carries it: the offline split, and the campaign if one applied."""
    return req.model_copy(update={"offline": True, "offline_split": list(offline.split),
                                  "offline_campaign_id": offline.campaign_id,
                                  "offline_discount_fen": offline.discount_fen})


def online_discount(result: PaymentResult) -> int:
    """What a campaign or coupon took off an approved answer's price. paid_fen, when sent, is what
    was taken (the split sums to it); an answer without it had no discount. A discount that would
    leave nothing to pay is not one the backend gives: it is read as none."""
    if result.paid_fen is None:
        return 0
    discount = result.amount_fen - result.paid_fen
    return discount if 0 < discount < result.amount_fen else 0


def offer_view(offer: Offer | None) -> OfferView | None:
    if offer is None:
        return None
    return OfferView(coupon_id=offer.coupon_id, title_zh=offer.title_zh, title_en=offer.title_en or offer.title_zh,
                     expires_at=offer.expires_at)


def paid_words(paid_fen: int, discount_fen: int, offline: bool) -> tuple[str, str]:
    """"支付成功 12.00 元（优惠 3.00 元）": the amount the payer paid, and what was taken off."""
    notes_zh, notes_en = [], []
    if discount_fen:
        notes_zh.append(f"优惠 {format_yuan(discount_fen)} 元")
        notes_en.append(f"{format_yuan(discount_fen)} yuan off")
    if offline:
        notes_zh.append("离线记账")
        notes_en.append("offline, booked later")
    y = format_yuan(paid_fen)
    zh, en = f"支付成功 {y} 元", f"Paid {y} yuan"
    if notes_zh:
        zh, en = f"{zh}（{'；'.join(notes_zh)}）", f"{en} ({'; '.join(notes_en)})"
    return zh, en
