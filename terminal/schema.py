"""The terminal store's schema, as numbered migrations run at start.

`PRAGMA user_version` holds the version. Each migration runs in one transaction with the
version bump, so a power cut during an upgrade leaves the old schema and data untouched.
A migration must keep every outbox row: the queue is money not yet booked.
"""
from __future__ import annotations

from typing import Callable

import sqlite_utils

# Statuses an outbox row can have (payments and refunds alike).
#   authorising  an online request is (or was) in flight; nothing was shown to the diner yet
#   queued       approved offline (or a refund/event to send); waits for the push loop
#   booked       the backend booked it (online approval, or push answered booked)
#   duplicate    the backend already had it (same id pushed twice): booked exactly once
#   declined     the backend refused it after the fact (offline approval it does not honour)
#   rejected     the backend could not read the item (a bug): kept for the admin, never retried
#   refused      the terminal declined it (online decline, or offline decline after a timeout)
APPROVED_STATUSES = ("queued", "booked", "duplicate")
FINAL_STATUSES = ("booked", "duplicate", "declined", "rejected", "refused")


def _v1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["secrets"].create({"name": str, "sealed": bytes}, pk="name")
    db["face_signings"].create({
        "customer_id": int, "masked_name": str, "status": str, "templates": bytes,
        "per_payment_limit_fen": int, "per_day_limit_fen": int, "funding_order": str,
        "merchant_ids": str, "updated_at": str}, pk="customer_id")
    db["card_signings"].create({
        "card_hash": str, "customer_id": int, "masked_name": str, "status": str,
        "per_payment_limit_fen": int, "per_day_limit_fen": int, "updated_at": str}, pk="card_hash")
    db["plate_signings"].create({
        "key": str, "plate": str, "plate_colour": str, "customer_id": int, "masked_name": str,
        "status": str, "per_payment_limit_fen": int, "per_day_limit_fen": int, "updated_at": str},
        pk="key")
    db["balances"].create({"customer_id": int, "wallet_fen": int, "subsidies": str, "as_of": str},
                          pk="customer_id")
    # Everything else the backend sends (programs, meal periods, limits, groups, tariffs, ...).
    db["cache"].create({"kind": str, "key": str, "data": str, "updated_at": str}, pk=("kind", "key"))
    db.execute("""CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'event')),
        item_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        offline INTEGER NOT NULL DEFAULT 0,
        body BLOB NOT NULL,
        method TEXT, credential_key TEXT, customer_id INTEGER, masked_name TEXT,
        amount_fen INTEGER NOT NULL DEFAULT 0, subsidy_fen INTEGER NOT NULL DEFAULT 0,
        own_fen INTEGER NOT NULL DEFAULT 0, split TEXT,
        meal_period TEXT, business_day TEXT, ref_payment_id TEXT,
        occurred_at TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        booked_at TEXT, reason TEXT, result TEXT)""")
    db.execute("CREATE INDEX outbox_status ON outbox (status, seq)")
    db.execute("CREATE INDEX outbox_customer_day ON outbox (customer_id, business_day)")
    db.execute("CREATE INDEX outbox_credential ON outbox (credential_key, occurred_at)")
    db["audit"].create({"id": int, "at": str, "actor": str, "action": str, "detail": str}, pk="id")


def _v2(db: sqlite_utils.Database) -> None:
    """Push attempts and the last error per item (admin screen), refunds tracked on the payment,
    and an append-only audit log enforced by triggers."""
    outbox = db["outbox"]
    outbox.add_column("attempts", int, not_null_default=0)
    outbox.add_column("last_error", str)
    outbox.add_column("refunded_fen", int, not_null_default=0)
    db.execute("""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""")
    db.execute("""CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""")


def _v3(db: sqlite_utils.Database) -> None:
    """The 4-digit check for close face calls: each face signing's keyed digest of the phone's
    last 4 digits (core.face_digits; never the digits). Older rows have none until the next pull."""
    db["face_signings"].add_column("confirm_digits", str)


def _v4(db: sqlite_utils.Database) -> None:
    """Campaign budget slices (issue 17): one row per discount this terminal gave offline from a
    slice, written in the same transaction as the payment it belongs to. The slice's terms and
    grant are a cached change (kind campaign_slice); what is left is the grant minus these rows."""
    db.execute("""CREATE TABLE campaign_slice_uses (
        payment_id TEXT PRIMARY KEY,
        slice_id INTEGER NOT NULL, campaign_id INTEGER NOT NULL, customer_id INTEGER,
        business_day TEXT NOT NULL, discount_fen INTEGER NOT NULL CHECK (discount_fen > 0),
        created_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX campaign_slice_uses_slice ON campaign_slice_uses (slice_id)")
    db.execute("CREATE INDEX campaign_slice_uses_customer ON campaign_slice_uses (campaign_id, customer_id)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Upgrade to `target`, one migration per transaction. Returns the version reached.
    A store from a newer program is refused rather than half-read."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"terminal store has schema version {current}, this program knows "
                           f"{SCHEMA_VERSION}: install the newer program / 数据库版本比程序新，请升级程序")
    for version in range(current + 1, target + 1):
        with db.atomic():
            MIGRATIONS[version - 1](db)
            db.execute(f"PRAGMA user_version = {version}")
    return max(current, target)
