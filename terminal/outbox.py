"""The outbox: every payment, refund and event, numbered by the terminal's own sequence.

A payment row is written BEFORE any network call: its payment_id (the idempotency key) is made
once and every later send carries it. Rows move only forward through the statuses in
terminal.schema; the push loop marks an item only on the backend's answer for that item.
Request bodies are sealed at rest (they can hold a pay code).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable
from uuid import UUID

from core.wire import PaymentRequest, PaymentResult, PushItem, PushItemResult, RefundRequest, SplitLine
from core.clock import from_iso, to_iso
from terminal.schema import APPROVED_STATUSES
from terminal.state import PaymentRow

if TYPE_CHECKING:
    from terminal.store import Store

_BODY = "outbox.body"


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    kind: str
    item_id: str
    status: str
    offline: bool
    amount_fen: int
    customer_id: int | None
    masked_name: str | None
    method: str | None
    occurred_at: datetime
    booked_at: datetime | None
    reason: str | None
    attempts: int
    refunded_fen: int
    subsidy_fen: int
    own_fen: int
    meal_period: str | None
    ref_payment_id: str | None


@dataclass(frozen=True)
class PushOutcome:
    """What one push answer did to the outbox."""
    booked: int = 0
    duplicate: int = 0
    declined: int = 0
    rejected: int = 0
    unanswered: int = 0    # sent but absent from the answer: stays queued, sent again later


def _split_parts(split: Iterable[SplitLine]) -> tuple[int, int]:
    lines = list(split)
    subsidy = sum(x.amount_fen for x in lines if x.source == "subsidy")
    return subsidy, sum(x.amount_fen for x in lines) - subsidy


class Outbox:
    def __init__(self, store: "Store"):
        self._s = store

    def _seal(self, body: PaymentRequest | RefundRequest) -> bytes:
        return self._s.cipher.seal(body.model_dump_json(), _BODY)

    # --- writing ---------------------------------------------------------------------------------

    def add_payment(self, req: PaymentRequest, *, status: str, method: str, credential_key: str | None,
                    customer_id: int | None, masked_name: str | None, business_day: str,
                    split: Iterable[SplitLine] = ()) -> int:
        """Insert a payment (status 'authorising' before an online call, 'queued' for an offline
        approval). Durable when this returns. Returns its sequence number."""
        s = self._s
        lines = list(split)
        subsidy, own = _split_parts(lines)
        now = to_iso(s.clock.now())
        with s.lock, s.db.atomic():
            cur = s.db.execute(
                "INSERT INTO outbox (kind, item_id, status, offline, body, method, credential_key, "
                "customer_id, masked_name, amount_fen, subsidy_fen, own_fen, split, meal_period, "
                "business_day, occurred_at, created_at, updated_at) "
                "VALUES ('payment', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [str(req.payment_id), status, int(req.offline), self._seal(req), method, credential_key,
                 customer_id, masked_name, req.amount_fen, subsidy, own,
                 json.dumps([x.model_dump() for x in lines]), req.meal_period, business_day,
                 to_iso(req.occurred_at), now, now])
            self._spend_slice(req, customer_id, business_day)
            return cur.lastrowid

    def approve_offline(self, payment_id: UUID | str, req: PaymentRequest, split: Iterable[SplitLine],
                        customer_id: int | None, masked_name: str | None) -> None:
        """An 'authorising' payment whose online answer never came, approved offline with the
        SAME payment_id: the backend books it once whether or not it saw the first request."""
        lines = list(split)
        subsidy, own = _split_parts(lines)
        s = self._s
        with s.lock, s.db.atomic():
            self._update(payment_id, "authorising", status="queued", offline=1, body=self._seal(req),
                         subsidy_fen=subsidy, own_fen=own, split=json.dumps([x.model_dump() for x in lines]),
                         customer_id=customer_id, masked_name=masked_name)
            day = s.db.execute("SELECT business_day FROM outbox WHERE item_id = ?", [str(payment_id)]).fetchone()
            self._spend_slice(req, customer_id, day[0] if day else "")

    def _spend_slice(self, req: PaymentRequest, customer_id: int | None, business_day: str) -> None:
        """An offline discount comes out of the terminal's budget slice in the transaction that
        queues its payment (issue 17): both are on disk, or neither."""
        if req.offline and req.offline_discount_fen > 0 and req.offline_campaign_id is not None:
            self._s.cache.spend_slice_in_tx(str(req.payment_id), req.offline_campaign_id, req.offline_discount_fen,
                                            customer_id, business_day)

    def record_online_result(self, payment_id: UUID | str, result: PaymentResult) -> None:
        s = self._s
        if result.status == "approved":
            subsidy, own = _split_parts(result.split)
            fields = dict(status="booked", booked_at=to_iso(result.booked_at or s.clock.now()),
                          subsidy_fen=subsidy, own_fen=own,
                          split=json.dumps([x.model_dump() for x in result.split]),
                          result=result.model_dump_json())
            if result.customer_id is not None:
                fields["customer_id"] = result.customer_id
            if result.masked_name:
                fields["masked_name"] = result.masked_name
        else:
            fields = dict(status="refused", reason=result.reason or "declined", result=result.model_dump_json())
        with s.lock, s.db.atomic():
            self._update(payment_id, "authorising", **fields)
            if result.balances is not None:
                s.cache.put_balance_in_tx(result.balances)

    def refuse(self, payment_id: UUID | str, reason: str, compensate: RefundRequest | None = None) -> None:
        """The terminal declined a payment it had already sent online (outcome unknown). The
        compensating refund undoes it on the backend if that request was booked after all."""
        s = self._s
        with s.lock, s.db.atomic():
            self._update(payment_id, "authorising", status="refused", reason=reason)
            if compensate is not None:
                self._insert_refund(compensate, str(payment_id))

    def add_refund(self, req: RefundRequest, *, void: bool = False) -> int:
        s = self._s
        with s.lock, s.db.atomic():
            seq = self._insert_refund(req, str(req.payment_id))
            s.db.execute("UPDATE outbox SET refunded_fen = refunded_fen + ?, updated_at = ?"
                         + (", reason = 'voided'" if void else "") + " WHERE item_id = ?",
                         [req.amount_fen, to_iso(s.clock.now()), str(req.payment_id)])
            return seq

    def _insert_refund(self, req: RefundRequest, ref_payment_id: str) -> int:
        now = to_iso(self._s.clock.now())
        cur = self._s.db.execute(
            "INSERT OR IGNORE INTO outbox (kind, item_id, status, body, amount_fen, ref_payment_id, "
            "occurred_at, created_at, updated_at) VALUES ('refund', ?, 'queued', ?, ?, ?, ?, ?, ?)",
            [str(req.refund_id), self._seal(req), req.amount_fen, ref_payment_id,
             to_iso(req.occurred_at), now, now])
        return cur.lastrowid

    def add_event(self, event_id: str, event: dict[str, Any]) -> int:
        s = self._s
        now = to_iso(s.clock.now())
        with s.lock, s.db.atomic():
            cur = s.db.execute(
                "INSERT INTO outbox (kind, item_id, status, body, occurred_at, created_at, updated_at) "
                "VALUES ('event', ?, 'queued', ?, ?, ?, ?)",
                [event_id, s.cipher.seal(json.dumps(event, ensure_ascii=False, default=str), _BODY), now, now, now])
            return cur.lastrowid

    def _update(self, item_id: UUID | str, expect_status: str | None, **fields: Any) -> None:
        fields["updated_at"] = to_iso(self._s.clock.now())
        cols = ", ".join(f"{k} = ?" for k in fields)
        sql = f"UPDATE outbox SET {cols} WHERE item_id = ?"
        args = [*fields.values(), str(item_id)]
        if expect_status:
            sql += " AND status = ?"
            args.append(expect_status)
        with self._s.lock, self._s.db.atomic():
            if self._s.db.execute(sql, args).rowcount != 1:
                raise LookupError(f"outbox item {item_id} is not {expect_status or 'present'}")

    def recover_in_flight(self, make_refund) -> int:  # noqa: ANN001 - Callable[[OutboxItem], RefundRequest]
        """At start: payments left 'authorising' by a crash were never shown as approved. They are
        refused, and a compensating refund is queued in case the backend booked them."""
        items = self.items(statuses=("authorising",))
        for item in items:
            self.refuse(item.item_id, "interrupted", make_refund(item))
        return len(items)

    # --- push ----------------------------------------------------------------------------------

    def pending(self, limit: int) -> list[PushItem]:
        """The oldest queued items as push items, in sequence order."""
        s = self._s
        with s.lock:
            rows = s.db.execute("SELECT seq, kind, body FROM outbox WHERE status = 'queued' "
                                "ORDER BY seq LIMIT ?", [limit]).fetchall()
        out = []
        for seq, kind, body in rows:
            text = s.cipher.open_text(body, _BODY)
            if kind == "payment":
                req = PaymentRequest.model_validate_json(text).model_copy(update={"terminal_seq": seq})
                out.append(PushItem(seq=seq, kind="payment", payment=req))
            elif kind == "refund":
                out.append(PushItem(seq=seq, kind="refund", refund=RefundRequest.model_validate_json(text)))
            else:
                out.append(PushItem(seq=seq, kind="event", event=json.loads(text)))
        return out

    def apply_push_results(self, sent: list[PushItem], results: list[PushItemResult]) -> PushOutcome:
        """Mark each sent item by the backend's answer for THAT item (matched by seq). Items the
        answer leaves out, or answers twice, change nothing beyond the first answer."""
        s = self._s
        sent_seqs = {item.seq for item in sent}
        counts = {"booked": 0, "duplicate": 0, "declined": 0, "rejected": 0}
        seen: set[int] = set()
        now = to_iso(s.clock.now())
        with s.lock, s.db.atomic():
            for r in results:
                if r.seq not in sent_seqs or r.seq in seen:
                    continue
                seen.add(r.seq)
                status = r.status
                if status == "duplicate" and ((r.payment and r.payment.status == "declined")
                                              or (r.refund and r.refund.status == "declined")):
                    status = "declined"   # the backend had it already — and had declined it
                booked_at = r.payment.booked_at if r.payment and r.payment.booked_at else None
                reason = r.reason or (r.payment.reason if r.payment else None) or \
                    (r.refund.reason if r.refund else None)
                cur = s.db.execute(
                    "UPDATE outbox SET status = ?, booked_at = ?, reason = COALESCE(?, reason), result = ?, "
                    "attempts = attempts + 1, updated_at = ? WHERE seq = ? AND status = 'queued'",
                    [status, to_iso(booked_at) if booked_at else (now if status in ("booked", "duplicate") else None),
                     reason if status in ("declined", "rejected") else None, r.model_dump_json(), now, r.seq])
                if cur.rowcount:
                    counts[status] += 1
                    if r.payment and r.payment.balances is not None:
                        s.cache.put_balance_in_tx(r.payment.balances)
                    if status in ("declined", "rejected"):
                        s.audit.record("backend", f"push_{status}", seq=r.seq, reason=reason)
            s.db.execute(f"UPDATE outbox SET attempts = attempts + 1 WHERE status = 'queued' AND seq IN "
                         f"({','.join('?' * len(sent_seqs - seen)) or 'NULL'})", list(sent_seqs - seen))
        return PushOutcome(unanswered=len(sent_seqs - seen), **counts)

    def note_push_error(self, seqs: list[int], error: str) -> None:
        s = self._s
        if not seqs:
            return
        with s.lock, s.db.atomic():
            s.db.execute(f"UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE status = 'queued' "
                         f"AND seq IN ({','.join('?' * len(seqs))})", [error[:200], *seqs])

    # --- reading -------------------------------------------------------------------------------

    def items(self, statuses: Iterable[str] | None = None, kind: str | None = None,
              day: str | None = None, limit: int = 10_000) -> list[OutboxItem]:
        where, args = ["1 = 1"], []
        if statuses is not None:
            st = list(statuses)
            where.append(f"status IN ({','.join('?' * len(st))})")
            args += st
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if day:
            where.append("business_day = ?")
            args.append(day)
        return self._items_where(" AND ".join(where) + " ORDER BY seq LIMIT ?", [*args, limit])

    def get(self, item_id: UUID | str) -> OutboxItem | None:
        found = self._items_where("item_id = ?", [str(item_id)])
        return found[0] if found else None

    def _items_where(self, cond: str, args: list) -> list[OutboxItem]:
        sql = ("SELECT seq, kind, item_id, status, offline, amount_fen, customer_id, masked_name, method, "
               "occurred_at, booked_at, reason, attempts, refunded_fen, subsidy_fen, own_fen, meal_period, "
               f"ref_payment_id FROM outbox WHERE {cond}")
        with self._s.lock:
            rows = self._s.db.execute(sql, args).fetchall()
        return [OutboxItem(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], r[8], from_iso(r[9]),
                           from_iso(r[10]), r[11], r[12], r[13], r[14], r[15], r[16], r[17]) for r in rows]

    def queue_depth(self) -> int:
        return self._scalar("SELECT count(*) FROM outbox WHERE status = 'queued'", [])

    def _scalar(self, sql: str, args: list) -> int:
        with self._s.lock:
            return self._s.db.execute(sql, args).fetchone()[0] or 0

    # --- what this terminal already took (the offline rules and the canteen read these) ---------

    _APPROVED = f"status IN ({','.join(repr(x) for x in APPROVED_STATUSES)})"

    def offline_outstanding_fen(self) -> int:
        """Offline approvals not yet booked by the backend: the terminal's open exposure."""
        return self._scalar("SELECT SUM(amount_fen) FROM outbox WHERE kind = 'payment' AND offline = 1 "
                            "AND status = 'queued'", [])

    def customer_day_fen(self, customer_id: int, day: str, offline_only: bool = False) -> int:
        return self._scalar(f"SELECT SUM(amount_fen) FROM outbox WHERE kind = 'payment' AND {self._APPROVED} "
                            "AND customer_id = ? AND business_day = ?" + (" AND offline = 1" if offline_only else ""),
                            [customer_id, day])

    def meals_taken(self, customer_id: int, day: str, meal_period: str) -> int:
        return self._scalar(f"SELECT count(*) FROM outbox WHERE kind = 'payment' AND {self._APPROVED} "
                            "AND customer_id = ? AND business_day = ? AND meal_period = ?",
                            [customer_id, day, meal_period])

    def last_approved(self, credential_key: str | None, customer_id: int | None = None) -> OutboxItem | None:
        """The latest approval here for this credential, or for this diner by any credential."""
        found = self._items_where(f"kind = 'payment' AND {self._APPROVED} AND (credential_key = ? OR customer_id = ?) "
                                  "ORDER BY occurred_at DESC LIMIT 1", [credential_key, customer_id])
        return found[0] if found else None

    def unreflected_splits(self, customer_id: int, as_of: datetime) -> list[list[SplitLine]]:
        """Splits of this diner's approvals here that a balance snapshot taken at `as_of` does not
        include yet: still queued, or booked after the snapshot (both in backend time)."""
        return [x[0] for x in self._splits(f"customer_id = ? AND (status = 'queued' OR booked_at > ?)",
                                           [customer_id, to_iso(as_of)])]

    def day_splits(self, customer_id: int, day: str) -> list[tuple[list[SplitLine], str | None]]:
        """(split, meal_period) of this diner's approvals here on one business day."""
        return self._splits("customer_id = ? AND business_day = ?", [customer_id, day])

    def _splits(self, cond: str, args: list) -> list[tuple[list[SplitLine], str | None]]:
        with self._s.lock:
            rows = self._s.db.execute(f"SELECT split, meal_period FROM outbox WHERE kind = 'payment' "
                                      f"AND {self._APPROVED} AND {cond}", args).fetchall()
        return [([SplitLine.model_validate(x) for x in json.loads(split or "[]")], period)
                for split, period in rows]

    def payment_rows(self, items: list[OutboxItem]) -> list[PaymentRow]:
        return [PaymentRow(payment_id=i.item_id, at=i.occurred_at, amount_fen=i.amount_fen, method=i.method or "",
                           masked_name=i.masked_name, status=_row_status(i), offline=i.offline,
                           refunded_fen=i.refunded_fen) for i in items]


def _row_status(item: OutboxItem) -> str:
    if item.status == "declined":
        return "declined_after_fact"
    if item.reason == "voided":
        return "voided"
    if item.refunded_fen and item.refunded_fen >= item.amount_fen:
        return "refunded"
    return "booked" if item.status == "duplicate" else item.status
