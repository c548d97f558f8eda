"""The append-only audit log: decisions, admin actions (refund, void, shift close), sync events.

Rows are only ever inserted; SQLite triggers refuse UPDATE and DELETE (schema v2). Details must
never hold templates, card numbers or pay codes: callers pass ids, amounts and reasons only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.clock import from_iso, to_iso

if TYPE_CHECKING:
    from terminal.store import Store

# Keys that must never reach the audit log, whatever a caller passes.
_FORBIDDEN = {"paycode", "card_number", "card_hash", "templates", "template", "pin"}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class AuditLog:
    def __init__(self, store: "Store"):
        self._store = store

    def record(self, actor: str, action: str, **detail: Any) -> None:
        """Append one entry (joins the caller's transaction when there is one)."""
        clean = {k: v for k, v in detail.items() if k not in _FORBIDDEN}
        s = self._store
        with s.lock, s.db.atomic():
            s.db.execute("INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                         [to_iso(s.clock.now()), actor, action,
                          json.dumps(clean, ensure_ascii=False, default=str)])

    def entries(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        s = self._store
        sql = "SELECT id, at, actor, action, detail FROM audit"
        args: list[Any] = []
        if action:
            sql += " WHERE action = ?"
            args.append(action)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with s.lock:
            rows = s.db.execute(sql, args).fetchall()
        return [AuditEntry(r[0], from_iso(r[1]), r[2], r[3], json.loads(r[4])) for r in rows]
