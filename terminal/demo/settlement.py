"""The T+1 settlement run of the demo's day: backend.settlement's own `settle_day` and payout
files — the library `gatepay backend settle --day D` calls — run at 02:00 the next morning on the
demo's clock (the CLI takes the wall clock, and the demo's day has not ended yet in real time).
The payout files are written as settlement-payout-<day>.csv/.xlsx."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from backend.db import make_engine, make_sessionmaker
from core.private_files import write_private


def run_settlement(database_url: str, business_date: str, now: datetime, folder: Path) -> dict:
    from backend.settlement.payout import build_payout_files, record_fingerprint
    from backend.settlement.run import settle_day

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            outcome = settle_day(session, business_date, now)
            files = build_payout_files(session, business_date)
            record_fingerprint(session, files)
            session.commit()
            merchants = [{"merchant_id": d.merchant_id, "payments": d.payments, "gross_fen": d.gross_fen,
                          "refunds_fen": d.refunds_fen, "fees_fen": d.fees_fen, "adjustments_fen": d.adjustments_fen,
                          "net_fen": d.net_fen, "wallet_fen": d.wallet_fen, "channel_fen": d.channel_fen,
                          "subsidy": d.subsidy, **_campaign_columns(d)} for d in outcome.closed]
    finally:
        engine.dispose()
    written = []
    for suffix, data in (("csv", files.csv), ("xlsx", files.xlsx)):   # account numbers: owner only
        written.append(write_private(folder / f"settlement-payout-{business_date}.{suffix}", data))
    return {"ran": True, "business_date": business_date, "run_at": now.isoformat(), "closed": len(outcome.closed),
            "not_over": outcome.not_over, "merchants": merchants, "files": [str(p) for p in written],
            "csv_sha256": files.csv_sha256}


def _campaign_columns(day) -> dict:  # noqa: ANN001 - a settlement day row
    """What the settlement day says campaigns paid (its campaign_* columns, issue 17), as it has them."""
    columns = getattr(getattr(day, "__table__", None), "columns", ())
    return {c.key: getattr(day, c.key) for c in columns if c.key.startswith("campaign")}
