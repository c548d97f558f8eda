"""The payout file for the bank's transfer system: one row per merchant closed for a day.

Columns (CSV, UTF-8 with BOM; the xlsx has the same sheet):
    reference, business_date, merchant_id, merchant_name, bank_name, account_no,
    gross_fen, refunds_fen, fees_fen, adjustments_fen, campaign_bank_fen, campaign_setoff_fen,
    net_fen, net_yuan, action
net = gross - refunds - fees + adjustments - campaign_setoff (the merchant's own campaigns'
discounts, net of refunds); campaign_bank_fen is the part of gross the bank's campaigns paid.
`action` is "pay" (net > 0), "none" (0) or "collect" (the merchant owes: refunds beyond sales).
A day closed before settlement knew campaigns (its campaign figures are NULL) keeps the columns
it was made with (HEADER_BEFORE_CAMPAIGNS), so its files stay the same bytes.
The files are built only from closed settlement rows and stamped with the business date, so a
re-run of a day gives byte-identical files; their SHA-256 is kept to prove it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.merchants import Merchant
from backend.reports.export import csv_bytes, xlsx_bytes, yuan
from backend.settlement.models import PayoutFile, SettlementDay

HEADER_BEFORE_CAMPAIGNS = ("reference", "business_date", "merchant_id", "merchant_name", "bank_name", "account_no",
                           "gross_fen", "refunds_fen", "fees_fen", "adjustments_fen", "net_fen", "net_yuan", "action")
HEADER = HEADER_BEFORE_CAMPAIGNS[:10] + ("campaign_bank_fen", "campaign_setoff_fen") + HEADER_BEFORE_CAMPAIGNS[10:]


@dataclass(frozen=True)
class PayoutFiles:
    business_date: str
    merchants: int
    csv: bytes
    xlsx: bytes

    @property
    def csv_sha256(self) -> str:
        return hashlib.sha256(self.csv).hexdigest()

    @property
    def xlsx_sha256(self) -> str:
        return hashlib.sha256(self.xlsx).hexdigest()


def payout_rows(session: Session, business_date: str, merchant_id: int | None = None) -> list[tuple]:
    """The rows in HEADER's columns when any of the days knows campaigns, else in the old ones."""
    query = (select(SettlementDay, Merchant).join(Merchant, Merchant.id == SettlementDay.merchant_id)
             .where(SettlementDay.business_date == business_date).order_by(SettlementDay.merchant_id))
    if merchant_id is not None:
        query = query.where(SettlementDay.merchant_id == merchant_id)
    found = list(session.execute(query))
    with_campaigns = any(day.campaign_setoff_fen is not None for day, _ in found)
    rows = []
    for day, merchant in found:
        action = "pay" if day.net_fen > 0 else "collect" if day.net_fen < 0 else "none"
        campaigns = (day.campaign_bank_fen or 0, day.campaign_setoff_fen or 0) if with_campaigns else ()
        rows.append((f"GP{business_date.replace('-', '')}M{merchant.id:06d}", business_date, merchant.id,
                     merchant.name, merchant.settlement_bank_name or "", merchant.settlement_account_no or "",
                     day.gross_fen, day.refunds_fen, day.fees_fen, day.adjustments_fen, *campaigns, day.net_fen,
                     yuan(day.net_fen), action))
    return rows


def build_payout_files(session: Session, business_date: str, merchant_id: int | None = None) -> PayoutFiles:
    rows = payout_rows(session, business_date, merchant_id)
    if not rows:
        raise api_error(404, "day_not_settled", f"{business_date} 尚未结算，请先运行结算",
                        f"{business_date} has not been settled yet; run the settlement first")
    stamp = datetime.combine(date.fromisoformat(business_date), datetime.min.time(), timezone.utc)
    header = HEADER if len(rows[0]) == len(HEADER) else HEADER_BEFORE_CAMPAIGNS
    return PayoutFiles(business_date, len(rows), csv_bytes(header, rows),
                       xlsx_bytes(f"payout {business_date}", header, rows, stamp))


def record_fingerprint(session: Session, files: PayoutFiles) -> PayoutFile:
    """Keep the files' hashes; a re-run that would produce other bytes is an error (never silent)."""
    found = session.scalar(select(PayoutFile).where(PayoutFile.business_date == files.business_date,
                                                    PayoutFile.merchants == files.merchants))
    if found is None:
        found = PayoutFile(business_date=files.business_date, merchants=files.merchants,
                           csv_sha256=files.csv_sha256, xlsx_sha256=files.xlsx_sha256)
        session.add(found)
        session.flush()
    elif (found.csv_sha256, found.xlsx_sha256) != (files.csv_sha256, files.xlsx_sha256):
        raise api_error(500, "payout_changed", "结算文件与上次生成的不一致，请联系技术支持",
                        "The payout file differs from the one made before for this day; call support")
    return found
