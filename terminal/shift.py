"""Shift reconciliation: the terminal's totals of a shift, compared with what the backend booked.

    shifts = ShiftReconciler(store, clock, engine, client, publish)
    shifts.close(now)             # the cashier closed the shift (AdminService checked the PIN)
    shifts.recheck_pending()      # after a good sync: a shift closed offline is compared now

The local totals always stand; the backend's comparison (POST /terminal/shift-close) is added
when it can be reached, and published like any view so the admin screen shows it.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable, get_args

from core.clock import Clock, from_iso, to_iso
from core.wire import MAX_SHIFT_PAYMENTS, PaymentMethod, ShiftCloseRequest, ShiftMethodTotal, ShiftPayment
from sync.client import SyncClient, SyncFailure
from terminal.outbox import OutboxItem
from terminal.schema import APPROVED_STATUSES
from terminal.state import ShiftDifferenceRow, ShiftTotals, SyncStatus
from terminal.store import Store
from terminal.sync_loops import SyncEngine

log = logging.getLogger("gatepay.terminal")

MAX_SHIFT_SPAN = timedelta(days=31)           # the longest shift the backend compares
SHIFT_METHODS = set(get_args(PaymentMethod))


class ShiftReconciler:
    def __init__(self, store: Store, clock: Clock, engine: SyncEngine | None, client: SyncClient | None,
                 publish: Callable[[object], None], sync_status: Callable[[], SyncStatus]):
        self.store, self.clock, self.engine, self.client = store, clock, engine, client
        self._publish, self._sync_status = publish, sync_status

    def running(self) -> ShiftTotals:
        """The shift so far, not closed and nothing sent."""
        now = self.clock.now()
        return self.local_totals(self._opened_at(now), now)

    def _opened_at(self, now: datetime) -> datetime:
        return from_iso(self.store.get_meta("shift_opened_at")) or from_iso(self.store.get_meta("registered_at")) \
            or datetime.fromtimestamp(0, tz=now.tzinfo)

    def close(self) -> ShiftTotals:
        """Close the shift locally, then have the backend compare it (pushing the queue first)."""
        now = self.clock.now()
        opened = self._opened_at(now)
        totals = self.local_totals(opened, now)
        self.store.set_meta(shift_opened_at=to_iso(now), last_shift_opened_at=to_iso(opened),
                            last_shift_closed_at=to_iso(now))
        count, fen = sum(totals.count_by_method.values()), sum(totals.fen_by_method.values())
        self.store.audit.record("cashier", "close_shift", payments=count, fen=fen, refunds=totals.refunds_count)
        self.store.outbox.add_event(str(uuid.uuid4()), {"type": "shift_closed", "at": to_iso(now),
                                                        "payments": count, "fen": fen})
        return self.check_with_backend(totals)

    def last_closed(self) -> tuple[datetime, datetime] | None:
        """(opened, closed) of the last closed shift; None: no shift closed yet."""
        opened = from_iso(self.store.get_meta("last_shift_opened_at"))
        closed = from_iso(self.store.get_meta("last_shift_closed_at"))
        return (opened, closed) if opened is not None and closed is not None else None

    def recheck_pending(self) -> ShiftTotals | None:
        """After a sync that reached the backend: if the last shift closed while it could not be
        compared, compare it now, so the cashier need not remember to press "check again". The
        result is published like any view (the admin screen shows it). None: nothing pending."""
        if self.store.get_meta("shift_check_pending") != "1":
            return None
        last = self.last_closed()
        if last is None:
            return None
        self.store.audit.record("system", "auto_recheck_shift", opened_at=to_iso(last[0]))
        return self.check_with_backend(self.local_totals(*last))

    def local_totals(self, opened: datetime, closed: datetime) -> ShiftTotals:
        payments = self._payments(opened, closed)
        refunds = [i for i in self.store.outbox.items(kind="refund", limit=1_000_000)
                   if opened <= i.occurred_at < closed and i.status not in ("declined", "rejected")]
        counts: dict[str, int] = {}
        fen: dict[str, int] = {}
        for p in payments:
            counts[p.method or ""] = counts.get(p.method or "", 0) + 1
            fen[p.method or ""] = fen.get(p.method or "", 0) + p.amount_fen
        return ShiftTotals(opened_at=opened, closed_at=closed, count_by_method=counts, fen_by_method=fen,
                           refunds_count=len(refunds), refunds_fen=sum(r.amount_fen for r in refunds),
                           queued=self.store.outbox.queue_depth())

    def _payments(self, opened: datetime, closed: datetime) -> list[OutboxItem]:
        return [i for i in self.store.outbox.items(kind="payment", statuses=APPROVED_STATUSES, limit=1_000_000)
                if opened <= i.occurred_at < closed]

    def check_with_backend(self, totals: ShiftTotals) -> ShiftTotals:
        """Push the queue, send the shift; if the backend asks for queued payments, push them and
        ask again. Offline: the local totals stand and the words say to check again later."""
        if self.engine is None or self.client is None:
            return totals
        # The backend compares 31 days at most; a clock set back must not make opened > closed.
        opened = min(max(totals.opened_at, totals.closed_at - MAX_SHIFT_SPAN), totals.closed_at)
        pushed_before = self.engine.cycle().pushed
        try:
            result = self.client.close_shift(self.request(opened, totals.closed_at))
            pushed = 0
            if result.push_payment_ids:
                self.engine.cycle()
                asked = [self.store.outbox.get(str(i)) for i in result.push_payment_ids]
                pushed = sum(1 for item in asked if item is not None and item.status != "queued")
                result = self.client.close_shift(self.request(opened, totals.closed_at))
        except (SyncFailure, ValueError) as failure:       # ValueError: the body is invalid (clock out of range)
            log.warning("shift check with the backend failed: %s", getattr(failure, "reason", "bad_request"))
            zh, en = failure.words if isinstance(failure, SyncFailure) else \
                ("终端时间不正确，请先校准时间", "the terminal's clock is wrong: set the time first")
            self.store.set_meta(shift_check_pending="1")    # re-run by itself after the next good sync
            pending = replace(totals, queued=self.store.outbox.queue_depth(),
                              backend_note_zh=f"后台核对未完成（{zh}）。本班已在终端结账；联网后将自动核对，"
                                              f"也可点“重新核对”",
                              backend_note_en=f"Not checked with the backend ({en}). The shift is closed on the "
                                              f"terminal; it is checked by itself once online, or press "
                                              f"\"Check again\"")
            self._publish(pending)
            return pending
        rows = [ShiftDifferenceRow(kind=d.kind, message_zh=d.message_zh, message_en=d.message_en,
                                   payment_id=str(d.payment_id) if d.payment_id else None, method=d.method,
                                   terminal_fen=d.terminal_fen, backend_fen=d.backend_fen)
                for d in result.differences]
        self.store.audit.record("cashier", "shift_checked", shift_id=result.shift_id, status=result.status,
                                differences=len(rows), pushed=pushed + pushed_before)
        self.store.set_meta(shift_check_pending="")
        self._publish(self._sync_status())
        checked = replace(totals, queued=self.store.outbox.queue_depth(), backend_checked=True, differences=rows,
                          pushed_for_check=pushed)
        self._publish(checked)
        return checked

    def request(self, opened: datetime, closed: datetime) -> ShiftCloseRequest:
        """The shift id is the opening time, so checking the same shift again re-compares it."""
        taken = [p for p in self._payments(opened, closed) if p.method in SHIFT_METHODS]
        sums: dict[str, list[int]] = {}
        for p in taken:
            line = sums.setdefault(p.method, [0, 0])
            line[0] += 1
            line[1] += p.amount_fen
        queued = [uuid.UUID(i.item_id) for i in self.store.outbox.items(statuses=("queued",), kind="payment",
                                                                          limit=MAX_SHIFT_PAYMENTS)]
        return ShiftCloseRequest(
            shift_id="shift-" + opened.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ"),
            opened_at=opened, closed_at=closed,
            totals=[ShiftMethodTotal(method=m, count=c, amount_fen=f) for m, (c, f) in sorted(sums.items())],
            # a shift larger than the wire allows is compared by its totals only
            payments=[ShiftPayment(payment_id=uuid.UUID(p.item_id), method=p.method, amount_fen=p.amount_fen)
                      for p in taken] if len(taken) <= MAX_SHIFT_PAYMENTS else [],
            queued_payment_ids=queued)
