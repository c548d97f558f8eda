"""After the day: what the backend booked, checked against what every terminal approved.

Reconciliation reads each terminal's own SQLite store (its outbox: every approval it committed)
and the backend's payments table, and says for every payment id: booked once, missing on the
backend, still queued on the terminal, or declined after the fact. The ledger check is the
operator's own command, `gatepay backend check-ledger`.

Settlement is the backend's own run (terminal/demo/settlement.py). Only when it cannot run does
`settlement_totals` stand in, labelled as what it is: each merchant's totals per business date
*from the ledger's payments and refunds* — not a settlement run.

`marketing` reads the campaigns, the coupons and every discounted payment (campaign_uses) from
the backend's tables: what the day's campaign and coupon really did, not what a screen showed.
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import func, select

from backend.db import make_engine, make_sessionmaker
from backend.models.campaigns import Campaign, CampaignUse, Coupon
from backend.models.ledger import Posting
from backend.models.merchants import Merchant
from backend.models.payments import Payment, Refund
from core.clock import SystemClock
from terminal.parking_store import ParkingStore
from terminal.schema import APPROVED_STATUSES
from terminal.store import Store, load_data_key


def terminal_payments(data_dir: Path) -> list[dict]:
    """Every payment a terminal's store holds: its outbox, and at a parking lane also the exits it
    saw paid through a channel order (QR or pay code: the backend books those with the order id)."""
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    try:
        rows = [{"payment_id": i.item_id, "status": i.status, "amount_fen": i.amount_fen, "method": i.method,
                 "offline": i.offline, "reason": i.reason}
                for i in store.outbox.items(kind="payment", limit=1_000_000)]
        for event, _status in ParkingStore(store).events():
            if event.order_id is not None and event.paid_fen:
                rows.append({"payment_id": str(event.order_id), "status": "booked", "amount_fen": event.paid_fen,
                             "method": event.pay_kind, "offline": False, "reason": None})
        return rows
    finally:
        store.close()


def backend_payments(database_url: str) -> tuple[list[dict], dict]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = [{"payment_id": p.payment_uuid, "status": p.status, "amount_fen": p.amount_fen,
                     "refunded_fen": p.refunded_fen, "method": p.method, "offline": p.offline,
                     "reason": p.reason, "merchant_id": p.merchant_id, "business_date": p.business_date,
                     "posting_ref_count": 0, "posting_id": p.posting_id}
                    for p in s.scalars(select(Payment).order_by(Payment.id))]
            refs = Counter(s.scalars(select(Posting.ref).where(Posting.ref.like("payment:%"))))
            for r in rows:
                r["posting_ref_count"] = refs.get(f"payment:{r['payment_id']}", 0)
            merchants = {m.id: m.name for m in s.scalars(select(Merchant))}
            refunds = [{"payment_db_id": r.payment_id, "amount_fen": r.amount_fen}
                       for r in s.scalars(select(Refund))]
            ids = {p.id: p.payment_uuid for p in s.scalars(select(Payment))}
            extra = {"merchants": merchants,
                     "refunds": [{"payment_id": ids.get(r["payment_db_id"]), "amount_fen": r["amount_fen"]}
                                 for r in refunds],
                     "duplicate_uuids": s.scalar(select(func.count()).select_from(
                         select(Payment.payment_uuid).group_by(Payment.payment_uuid)
                         .having(func.count() > 1).subquery()))}
            return rows, extra
    finally:
        engine.dispose()


def marketing(database_url: str) -> dict:
    """The backend's campaigns (budget, spent), coupons (status) and discounted payments."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as s:
            campaigns = [{"id": c.id, "name": c.name, "funder": c.funder_kind, "mode": c.mode, "kind": c.kind,
                          "budget_fen": c.budget_fen, "spent_fen": c.spent_fen, "status": c.status}
                         for c in s.scalars(select(Campaign).order_by(Campaign.id))]
            coupons = [{"id": c.id, "campaign_id": c.campaign_id, "customer_id": c.customer_id, "status": c.status}
                       for c in s.scalars(select(Coupon).order_by(Coupon.id))]
            uses = [{"payment_id": uuid, "payment_status": status, "campaign_id": u.campaign_id,
                     "coupon_id": u.coupon_id, "customer_id": u.customer_id, "price_fen": u.price_fen,
                     "discount_fen": u.discount_fen, "paid_fen": u.price_fen - u.discount_fen,
                     "returned_fen": u.returned_fen, "status": u.status}
                    for u, uuid, status in s.execute(select(CampaignUse, Payment.payment_uuid, Payment.status)
                                                     .join(Payment, Payment.id == CampaignUse.payment_id)
                                                     .order_by(CampaignUse.id))]
            return {"campaigns": campaigns, "coupons": coupons, "uses": uses}
    finally:
        engine.dispose()


def reconcile(terminals: dict[str, list[dict]], backend: list[dict]) -> dict:
    """Every payment a terminal approved must be booked on the backend exactly once."""
    by_id = {b["payment_id"]: b for b in backend}
    differences, booked_once, declined_after = [], 0, []
    seen_on_terminals: set[str] = set()
    for name, items in terminals.items():
        for item in items:
            seen_on_terminals.add(item["payment_id"])
            if item["status"] in ("declined", "rejected"):
                declined_after.append({"terminal": name, **item})
                continue
            if item["status"] not in APPROVED_STATUSES:
                continue
            b = by_id.get(item["payment_id"])
            if item["status"] == "queued":
                differences.append({"terminal": name, "payment_id": item["payment_id"],
                                    "problem": "still queued on the terminal"})
            elif b is None:
                differences.append({"terminal": name, "payment_id": item["payment_id"],
                                    "problem": "approved by the terminal, missing on the backend"})
            elif b["status"] != "approved" or b["amount_fen"] != item["amount_fen"]:
                differences.append({"terminal": name, "payment_id": item["payment_id"],
                                    "problem": f"backend has {b['status']} {b['amount_fen']} fen"})
            elif b["posting_ref_count"] != 1:
                differences.append({"terminal": name, "payment_id": item["payment_id"],
                                    "problem": f"{b['posting_ref_count']} ledger postings"})
            else:
                booked_once += 1
    for b in backend:
        if b["status"] == "approved" and b["payment_id"] not in seen_on_terminals:
            differences.append({"terminal": "?", "payment_id": b["payment_id"],
                                "problem": "booked on the backend, unknown to every terminal"})
    return {"booked_exactly_once": booked_once, "differences": differences,
            "declined_after_the_fact": declined_after}


def settlement_totals(backend: list[dict], extra: dict, out: Path) -> list[Path]:
    """Per merchant and business date: payments, refunds, net — from the ledger's rows. Labelled
    'ledger day totals', since no settlement engine exists yet."""
    refunded = defaultdict(int)
    for r in extra["refunds"]:
        refunded[r["payment_id"]] += r["amount_fen"]
    totals: dict[tuple[int, str], dict] = {}
    for b in backend:
        if b["status"] != "approved":
            continue
        key = (b["merchant_id"], b["business_date"])
        t = totals.setdefault(key, {"payments": 0, "gross_fen": 0, "refunds_fen": 0})
        t["payments"] += 1
        t["gross_fen"] += b["amount_fen"]
        t["refunds_fen"] += refunded.get(b["payment_id"], 0)
    path = out / "settlement-ledger-day-totals.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["# NOT a settlement run: per-merchant day totals read from the backend ledger "
                    "(the backend's settlement run could not run; see summary.json)"])
        w.writerow(["merchant_id", "merchant", "business_date", "payments", "gross_fen", "refunds_fen", "net_fen"])
        for (mid, day), t in sorted(totals.items()):
            w.writerow([mid, extra["merchants"].get(mid, ""), day, t["payments"], t["gross_fen"], t["refunds_fen"],
                        t["gross_fen"] - t["refunds_fen"]])
    return [path]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        if rows:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return path
