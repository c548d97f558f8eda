"""The admin screen's service: payments of the day, refunds and voids, the offline queue, sync
now, and the shift (running, close, check again). Each action needs the PIN (terminal.pin) and
lands in the audit log; the shift's comparison with the backend is terminal.shift's job.
"""
from __future__ import annotations

import uuid
from typing import Callable

from core.clock import Clock, to_iso
from core.money import format_yuan
from core.wire import RefundRequest
from sync.status import SyncTracker
from terminal.pin import AdminError, PinGuard
from terminal.schema import APPROVED_STATUSES
from terminal.shift import ShiftReconciler
from terminal.state import PaymentOutcome, PaymentRow, ShiftTotals, SyncStatus
from terminal.store import Store
from terminal.sync_loops import SyncEngine


def read_sync_status(store: Store, tracker: SyncTracker) -> SyncStatus:
    """The sync indicators from the store and the tracker; reads only."""
    outbox = store.outbox
    declined = len(outbox.items(statuses=("declined", "rejected"), kind="payment"))
    return tracker.snapshot(queue_depth=outbox.queue_depth(), declined_after_fact=declined)


class AdminService:
    def __init__(self, store: Store, clock: Clock, pin: PinGuard, shifts: ShiftReconciler,
                 engine: SyncEngine | None, *, business_day: Callable[[], str],
                 sync_status: Callable[[], SyncStatus], publish: Callable[[object], None],
                 wake_sync: Callable[[], None]):
        self.store, self.clock, self.pin, self.shifts, self.engine = store, clock, pin, shifts, engine
        self._today, self._sync_status, self._publish, self._wake_sync = business_day, sync_status, publish, wake_sync

    # --- payments ----------------------------------------------------------------------------------

    def list_payments(self, day: str | None = None, query: str = "") -> list[PaymentRow]:
        items = self.store.outbox.items(kind="payment", day=day or self._today(),
                                        statuses=(*APPROVED_STATUSES, "declined", "rejected"))
        q = query.strip().lower()
        if q:
            items = [i for i in items if q in i.item_id.lower() or q in (i.masked_name or "").lower()
                     or q == (i.method or "")]
        return self.store.outbox.payment_rows(items)

    def refund(self, payment_id: str, amount_fen: int, reason: str, pin: str, *, void: bool = False) -> PaymentOutcome:
        self.pin.require(pin)
        item = self.store.outbox.get(payment_id)
        if item is None or item.kind != "payment" or item.status not in APPROVED_STATUSES:
            raise AdminError("找不到可退款的交易", "No approved payment with this id to refund")
        left = item.amount_fen - item.refunded_fen
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= left:
            raise AdminError(f"退款金额应在 0.01 至 {format_yuan(left)} 元之间",
                             f"The refund must be between 0.01 and {format_yuan(left)} yuan")
        now = self.clock.now()
        req = RefundRequest(refund_id=uuid.uuid4(), payment_id=uuid.UUID(payment_id), amount_fen=amount_fen,
                            reason=(reason.strip() or ("void" if void else "refund"))[:200], occurred_at=now)
        self.store.outbox.add_refund(req, void=void)
        self.store.audit.record("cashier", "void" if void else "refund", payment_id=payment_id,
                                refund_id=str(req.refund_id), amount_fen=amount_fen, reason=req.reason)
        self._wake_sync()
        y = format_yuan(amount_fen)
        zh, en = (f"已撤销，退回 {y} 元", f"Voided: {y} yuan returned") if void else \
            (f"已退款 {y} 元", f"Refunded {y} yuan")
        self._publish(self._sync_status())
        return PaymentOutcome(payment_id=payment_id, status="approved", amount_fen=amount_fen,
                              method=item.method or "", at=now, masked_name=item.masked_name,
                              message_zh=zh, message_en=en, offline=True)

    def void(self, payment_id: str, reason: str, pin: str) -> PaymentOutcome:
        item = self.store.outbox.get(payment_id)
        left = (item.amount_fen - item.refunded_fen) if item else 0
        return self.refund(payment_id, left, reason or "void", pin, void=True)

    # --- the queue ----------------------------------------------------------------------------------

    def sync_now(self) -> SyncStatus:
        if self.engine is not None and self.engine.cycle().failure is None:
            self.shifts.recheck_pending()
        status = self._sync_status()
        self._publish(status)
        return status

    def offline_queue(self) -> list[PaymentRow]:
        return self.store.outbox.payment_rows(self.store.outbox.items(statuses=("queued",), kind="payment"))

    def declined_after_fact(self) -> list[PaymentRow]:
        return self.store.outbox.payment_rows(self.store.outbox.items(statuses=("declined", "rejected"),
                                                                      kind="payment"))

    # --- the shift ----------------------------------------------------------------------------------

    def running_shift(self) -> ShiftTotals:
        """The shift so far, not closed and nothing sent: the admin screen shows these totals and
        asks the cashier to confirm before the close."""
        return self.shifts.running()

    def close_shift(self, pin: str) -> ShiftTotals:
        self.pin.require(pin)
        return self.shifts.close()

    def recheck_shift(self, pin: str) -> ShiftTotals:
        """Compare the last closed shift with the backend again (it was offline at close)."""
        self.pin.require(pin)
        last = self.shifts.last_closed()
        if last is None:
            raise AdminError("还没有交过班，无需核对", "No shift has been closed yet: nothing to check")
        self.store.audit.record("cashier", "recheck_shift", opened_at=to_iso(last[0]))
        return self.shifts.check_with_backend(self.shifts.local_totals(*last))
