"""A member renewal paid at the car park's counter (会员缴费续期, cash or card at the office), on the
double-entry ledger.

The merchant took this money itself: it is in its till (or its own card terminal's account), not
at the bank. So it is booked once under `counter_renewal:<renewal_id>`:
    D merchant_cash:<merchant>   (what the merchant already holds of its own revenue)
    C merchant:<merchant>        (the merchant's payable, the account every payment credits)
and settlement claims it as a `counter` item: it debits the payable and credits merchant_cash by
the same amount, so the bank pays out only what went through the bank (docs/SETTLEMENT.md).
A QR renewal is different: its money is at the channel and it is booked as a payment when the
order turns paid (channel_booking.book_order_receipt). A free renewal (amount 0) books nothing.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.models.merchants import Merchant
from backend.models.parking import ParkingMember
from backend.services.ledger import Leg, account_id, book, merchant_account_id
from backend.services.parking_rules import car_park, record_renewal
from backend.services.payments import business_date

COUNTER = "operator"      # MemberRenewal.paid_via of a renewal recorded at the counter


def merchant_cash_account_id(session: Session, merchant_id: int) -> int:
    return account_id(session, f"merchant_cash:{merchant_id}", "merchant_cash", merchant_id=merchant_id)


def renew_at_counter(session: Session, site_id: int, plate: str, plan_code: str, renewal_id: str,
                     amount_fen: int, now: datetime) -> ParkingMember:
    """Extend the pass and book the money, once per renewal_id (flushed; the caller commits).
    ParkingRuleError for an unknown plan, a wrong amount, or the id reused for another renewal."""
    site = car_park(session, site_id)
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    member, renewal, fresh = record_renewal(session, site_id, plate, plan_code, renewal_id, today, COUNTER,
                                            amount_fen=amount_fen, now=now)
    if not fresh:
        return member
    renewal.business_date = business_date(session.get(Merchant, site.merchant_id), now)
    if renewal.amount_fen > 0:
        posting = book(session, f"counter_renewal:{renewal_id}", "counter_renewal",
                       [Leg(merchant_cash_account_id(session, site.merchant_id), "D", renewal.amount_fen),
                        Leg(merchant_account_id(session, site.merchant_id), "C", renewal.amount_fen)],
                       memo=f"parking renewal {plate} ({renewal.plan}) paid at the counter of site {site_id}", now=now)
        renewal.posting_id = posting.id
    session.flush()
    return member
