"""The marketing reports (issue 17): per campaign, per merchant and campaign, and the funder's
statement. Aggregates only: no customer appears in any of them.

A month's uses are those with a business date in it (as the sales report); coupons issued
(`coupons_issued_to_date`) and budget left are as of now; the funder's statement reads the campaign accounts' ledger entries
by the posting's local day. Figures, in fen:

- `sales_fen`: prices of the month's discounted payments (approved); `refunded_fen`: refunded of them;
- `discount_cost_fen`: what the discounts cost, net of the campaign's share of refunds (the same
  sum the budget's `spent_fen` carries);
- `payments`, `coupons_used`: discounted payments (with a coupon) not given back by a full refund;
- statement: the balance of the funder's campaign accounts is credits minus debits (the ledger's),
  so opening - discounts + given back + settled = closing; `settled_fen` is what settlement set off
  against a funding merchant's payout (the merchant paid its own discounts; 0 for the bank).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from backend.models.base import UTCDateTime

if TYPE_CHECKING:
    from backend.reports.catalog import Params

BANK_FUNDER = "银行 bank"


def _stream(session: Session, sql: str, params: dict, instants: tuple[str, ...] = ()) -> Iterator[tuple]:
    """Rows as the cursor yields them; `instants` name datetime parameters (bound as UTC, as stored)."""
    statement = text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in instants))
    for row in session.execute(statement.execution_options(yield_per=2000), params):
        yield tuple(row)


def _month(p: Params) -> dict:
    start, end = p.instants()
    return {"month": p.month, "first": p.first_day.isoformat(), "next": p.next_first_day.isoformat(),
            "m": p.merchant_id, "all": p.merchant_id is None, "start": start, "end": end}


# One month's uses, with their payments: shared by the two use reports.
_USE_FIGURES = """
    SUM(CASE WHEN p.status = 'approved' AND cu.status = 'applied' THEN 1 ELSE 0 END) AS payments,
    SUM(CASE WHEN p.status = 'approved' AND cu.status = 'applied' AND cu.coupon_id IS NOT NULL
             THEN 1 ELSE 0 END) AS coupons_used,
    SUM(CASE WHEN p.status = 'approved' THEN cu.price_fen ELSE 0 END) AS sales,
    SUM(CASE WHEN p.status = 'approved' THEN p.refunded_fen ELSE 0 END) AS refunded,
    SUM(cu.discount_fen - cu.returned_fen) AS cost
    FROM campaign_uses cu JOIN payments p ON p.id = cu.payment_id
    WHERE cu.business_date >= :first AND cu.business_date < :next"""


def per_campaign(session: Session, p: Params) -> Iterator[tuple]:
    """Every campaign (a merchant admin: those its merchant funds); the month's uses; coupons
    issued and budget left to date (coupons carry no issue day of the backend's clock)."""
    yield from _stream(session, f"""
        SELECT :month, c.id, c.name, c.funder_kind, c.funder_merchant_id, c.status, c.budget_fen,
               (SELECT COUNT(*) FROM coupons k WHERE k.campaign_id = c.id),
               COALESCE(u.coupons_used, 0), COALESCE(u.payments, 0), COALESCE(u.sales, 0),
               COALESCE(u.refunded, 0), COALESCE(u.cost, 0), c.budget_fen - c.spent_fen
        FROM campaigns c
        LEFT JOIN (SELECT cu.campaign_id AS campaign_id, {_USE_FIGURES} GROUP BY cu.campaign_id) u
               ON u.campaign_id = c.id
        WHERE :all OR c.funder_merchant_id = :m
        ORDER BY c.id""", _month(p))


def per_merchant(session: Session, p: Params) -> Iterator[tuple]:
    """Per merchant where the payments were made and campaign (the bank's too: a merchant admin
    sees its own sales with every campaign, not the campaigns' budgets)."""
    yield from _stream(session, f"""
        SELECT :month, u.merchant_id, m.name, u.campaign_id, c.name, c.funder_kind, u.payments, u.coupons_used,
               u.sales, u.refunded, u.cost
        FROM (SELECT p.merchant_id AS merchant_id, cu.campaign_id AS campaign_id, {_USE_FIGURES}
                AND (:all OR p.merchant_id = :m)
              GROUP BY p.merchant_id, cu.campaign_id) u
        JOIN merchants m ON m.id = u.merchant_id JOIN campaigns c ON c.id = u.campaign_id
        ORDER BY u.merchant_id, u.campaign_id""", _month(p))


def _day_starts(p: Params) -> list[datetime]:
    """Local midnights from the month's first day to the next month's first day."""
    tz = ZoneInfo(p.timezone)
    days = (p.next_first_day - p.first_day).days
    return [datetime.combine(p.first_day + timedelta(days=i), datetime.min.time(), tz) for i in range(days + 1)]


_CAMPAIGN_ACCOUNTS = """
    FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'campaign_funding'
    JOIN ledger_postings lp ON lp.id = e.posting_id
    JOIN campaigns c ON a.code = 'campaign:' || CAST(c.id AS VARCHAR(20))
    WHERE (:all OR c.funder_merchant_id = :m)"""


def funder_statement(session: Session, p: Params) -> Iterator[tuple]:
    """Per funder (the bank; each funding merchant) and local day with movement: the opening
    balance of its campaign accounts, the discounts they paid, what refunds gave back, what
    settlement set off against the merchant's payout, and the closing balance."""
    starts = _day_starts(p)
    params = {**_month(p), **{f"d{i}": at for i, at in enumerate(starts)}}
    names = [f"d{i}" for i in range(1, len(starts))] + ["start", "end"]
    opening: dict[tuple, int] = {}
    for kind, merchant_id, balance in _stream(session, f"""
            SELECT c.funder_kind, c.funder_merchant_id,
                   SUM(CASE WHEN e.side = 'C' THEN e.amount_fen ELSE -e.amount_fen END)
            {_CAMPAIGN_ACCOUNTS} AND lp.created_at < :start
            GROUP BY c.funder_kind, c.funder_merchant_id""", params, ("start",)):
        opening[(kind, merchant_id)] = int(balance)
    day_of = " ".join(f"WHEN lp.created_at < :d{i + 1} THEN {i}" for i in range(len(starts) - 1))
    moves = list(_stream(session, f"""
        SELECT c.funder_kind, c.funder_merchant_id, CASE {day_of} END AS day_no,
               SUM(CASE WHEN lp.kind <> 'settlement' AND e.side = 'D' THEN e.amount_fen ELSE 0 END),
               SUM(CASE WHEN lp.kind <> 'settlement' AND e.side = 'C' THEN e.amount_fen ELSE 0 END),
               SUM(CASE WHEN lp.kind <> 'settlement' THEN 0 WHEN e.side = 'C' THEN e.amount_fen
                        ELSE -e.amount_fen END)
        {_CAMPAIGN_ACCOUNTS} AND lp.created_at >= :start AND lp.created_at < :end
        GROUP BY c.funder_kind, c.funder_merchant_id, CASE {day_of} END""", params, names))
    merchant_names = dict(session.execute(text("SELECT id, name FROM merchants WHERE id IN (SELECT funder_merchant_id "
                                               "FROM campaigns WHERE funder_merchant_id IS NOT NULL)")).all())
    funders = sorted(set(opening) | {(kind, merchant_id) for kind, merchant_id, *_ in moves},
                     key=lambda f: (f[0] != "bank", f[1] or 0))
    for funder in funders:
        balance = opening.get(funder, 0)
        name = BANK_FUNDER if funder[0] == "bank" else merchant_names.get(funder[1], "")
        days = sorted((m for m in moves if (m[0], m[1]) == funder), key=lambda m: m[2])
        if not days:          # no movement this month: one line, opening = closing
            yield (p.month, funder[0], funder[1], name, "", balance, 0, 0, 0, balance)
        for _, _, day_no, discounts, given_back, settled in days:
            closing = balance - int(discounts) + int(given_back) + int(settled)
            yield (p.month, funder[0], funder[1], name, starts[day_no].date().isoformat(), balance, int(discounts),
                   int(given_back), int(settled), closing)
            balance = closing
