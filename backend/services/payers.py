"""Who pays: turn a payment credential into the signed customer, and check the signing allows
this payment (status, merchant, per-payment and per-day limits)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from backend.models.campaigns import CampaignUse
from backend.models.customers import Customer
from backend.models.payments import Payment
from backend.models.signings import Signing
from backend.services.paycodes import redeem
from core.wire import Credential
from core.plates import PlateError, normalise_plate
from core.reasons import find

# Run on every payment: Core columns (no ORM compile step) and built once (not per call).
# What the payer paid today, net of refunds: the price less the campaign's discount (a payment
# has at most one use, unique by payment_id), less the refunds' part that went back to the
# payer (refunded_fen is of the price; the use's returned_fen of it went to the campaign).
_P, _U = Payment.__table__.c, CampaignUse.__table__.c
_SPENT_TODAY = (select(func.coalesce(func.sum(_P.amount_fen - _P.refunded_fen
                                              - func.coalesce(_U.discount_fen - _U.returned_fen, 0)), 0))
                .select_from(Payment.__table__.outerjoin(CampaignUse.__table__, _U.payment_id == _P.id))
                .where(_P.signing_id == bindparam("signing_id"), _P.business_date == bindparam("business_date"),
                       _P.status != "declined"))

# The payer's signings, newest first (_latest picks the live one): face and card payers are found
# with prebuilt statements (building one per payment cost more CPU than running it).
_SIGNED = select(Signing, Customer).join(Customer, Customer.id == Signing.customer_id)
_BY_FACE = (_SIGNED.where(Signing.kind == "face", Signing.customer_id == bindparam("customer_id"))
            .order_by(Signing.id.desc()).limit(20))
_BY_CARD = (_SIGNED.where(Signing.kind == "card", Signing.card_hash == bindparam("card_hash"))
            .order_by(Signing.id.desc()).limit(20))


@dataclass(frozen=True)
class Payer:
    customer: Customer | None
    signing: Signing | None
    decline: str | None = None


def find_payer(session: Session, credential: Credential, paycode_key: bytes, now: datetime) -> Payer:
    """`paycode_key` (the backend's hash key) and `now` find and use up our own one-time pay codes."""
    query = _SIGNED
    if credential.kind == "face":
        if not 0 < credential.customer_id < 2**31:   # no such id; a database would refuse to compare it
            return Payer(None, None, "not_signed")
        found = _latest(session, _BY_FACE, {"customer_id": credential.customer_id})
    elif credential.kind == "card":
        found = _latest(session, _BY_CARD, {"card_hash": credential.card_hash.strip().lower()})
    elif credential.kind == "plate":
        try:
            plate = normalise_plate(credential.plate, credential.plate_colour)
        except PlateError:
            return Payer(None, None, "bad_plate")
        query = query.where(Signing.kind == "plate", Signing.plate == plate.text)
        if plate.colour is not None:
            query = query.where(Signing.plate_colour == plate.colour)
        found = _latest(session, query)
    elif credential.kind == "paycode":   # our own one-time code; wallet codes go to channel_booking
        customer_id = redeem(session, credential.paycode, paycode_key, now)
        if isinstance(customer_id, str):
            return Payer(None, None, customer_id)
        found = _latest(session, query.where(Signing.customer_id == customer_id))
    else:
        return Payer(None, None, "method_not_supported")
    if found is None:
        return Payer(None, None, "not_signed")
    signing, customer = found
    if signing.status != "active":
        return Payer(customer, signing, f"signing_{signing.status}")
    if customer.status != "active":
        return Payer(customer, signing, "customer_closed")
    return Payer(customer, signing)


def _latest(session: Session, query, params: dict | None = None) -> tuple[Signing, Customer] | None:  # noqa: ANN001
    """The live signing if there is one, else the newest (so a revoked one says 'revoked').
    With `params`, `query` is one of the prebuilt, already ordered statements above."""
    statement = query if params is not None else query.order_by(Signing.id.desc()).limit(20)
    rows = [tuple(r) for r in session.execute(statement, params).all()]
    live = [r for r in rows if r[0].status != "revoked"]
    return (live or rows or [None])[0]


def limit_decline(session: Session, signing: Signing, merchant_id: int, amount_fen: int,
                  business_date: str) -> str | None:
    """Merchant allowed, per-payment and per-day limits on what the payer pays (`amount_fen`: the
    price less any discount; the day sums what was paid, not prices). Call with the customer's
    accounts locked, so two payments cannot both pass the daily limit."""
    if signing.merchant_ids and merchant_id not in signing.merchant_ids:
        return "merchant_not_allowed"
    if amount_fen > signing.per_payment_limit_fen:
        return "over_payment_limit"
    spent = session.execute(_SPENT_TODAY, {"signing_id": signing.id, "business_date": business_date}).scalar_one()
    if int(spent) + amount_fen > signing.per_day_limit_fen:
        return "over_day_limit"
    return None


def decline_words(reason: str | None, signing: Signing | None) -> tuple[str, str]:
    """(zh, en) for a payment's decline (core/reasons); a limit decline quotes the signing's limit.
    ("", "") for no reason."""
    limits = {"over_payment_limit": signing.per_payment_limit_fen,
              "over_day_limit": signing.per_day_limit_fen} if signing is not None else {}
    values = {"limit": limits[reason]} if reason in limits else {}
    return find(reason, **values) or ("", "")
