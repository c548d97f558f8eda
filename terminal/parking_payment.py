"""Paying at the exit: the QR exit order, its short poll, and a scanned pay code (付款码支付).

One part of terminal.parking.ParkingScene: it holds the car waiting to pay (`pending`) and asks
the lane to show and to finish. Before a pay code is charged the car's QR order is closed at the
channel (or found paid), so one exit is never paid twice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import ValidationError

from core.clock import Clock
from core.money import format_yuan
from core.wire import ParkingOrderRequest, ParkingPaycodeRequest
from hardware.events import CodeScanned
from sync.client import SyncFailure
from sync.status import SyncTracker
from terminal.parking_config import ParkingConfig
from terminal.parking_link import ParkingClient
from terminal.parking_store import Stay
from terminal.scene import SceneResult
from terminal.state import ParkingView, PaymentOutcome

if TYPE_CHECKING:
    from terminal.parking import ParkingScene


@dataclass(frozen=True)
class PendingExit:
    """A car at the exit barrier waiting to pay."""
    plate: str
    colour: str
    at: datetime
    image_ref: str | None
    stay: Stay | None
    fee_fen: int
    order_id: UUID | None = None
    qr_text: str | None = None
    order_kind: str = "qr"          # qr | paycode (a pay code the payer must still confirm)


def fee_reason(p: PendingExit) -> str | None:
    """Why this fee, for the lane screen: no entry record -> the car park's fallback fee."""
    return "no_entry_record" if p.stay is None else None


AGGREGATE_QR_PATH = "/pay/q/"      # the backend's aggregate QR (聚合码): any app the lane names can scan it


def is_aggregate_qr(qr_text: str | None) -> bool:
    return bool(qr_text) and qr_text.startswith(("https://", "http://")) and AGGREGATE_QR_PATH in qr_text


class ExitPayments:
    """The car waiting at the exit: its QR order, the order's poll, a pay code."""

    def __init__(self, lane: "ParkingScene", client: ParkingClient | None, config: ParkingConfig,
                 tracker: SyncTracker, clock: Clock):
        self.lane, self.client, self.config, self.tracker, self.clock = lane, client, config, tracker, clock
        self.pending: PendingExit | None = None

    def ask_to_pay(self, pending: PendingExit, fallback: bool, declined: PaymentOutcome | None = None,
                    note: tuple[str, str] | None = None) -> ParkingView:
        """Show the fee with the QR code of a new exit order (when the backend can be reached)."""
        y = format_yuan(pending.fee_fen)
        now = self.clock.now()
        if self.client is not None and self.tracker.should_try_online(now):
            req = ParkingOrderRequest(order_id=uuid.uuid4(), plate=pending.plate, amount_fen=pending.fee_fen,
                                      session_id=UUID(pending.stay.session_id) if pending.stay else None,
                                      occurred_at=now)
            try:
                order = self.client.create_order(req, timeout_s=self.config.order_timeout_s)
                self.tracker.note_success(now)
                self.pending = replace(pending, order_id=order.order_id, qr_text=order.qr_text)
            except SyncFailure as failure:
                self.tracker.note_failure(failure, now)
        if self.pending is not None and is_aggregate_qr(self.pending.qr_text):    # one code every app can scan
            zh, en = (f"请缴费 {y} 元，微信、支付宝、云闪付或手机银行扫码，也可出示付款码",
                      f"Please pay {y} yuan: scan with WeChat, Alipay, UnionPay QuickPass or mobile banking, "
                      "or show a pay code")
        else:
            zh, en = f"请缴费 {y} 元，扫码或出示付款码", f"Please pay {y} yuan: scan the QR code or show a pay code"
        if fallback:
            zh, en = f"无入场记录，请缴费 {y} 元或联系管理员", f"No entry record: pay {y} yuan or call the attendant"
        if declined is not None:
            note = (declined.message_zh, declined.message_en)
        if note is not None:
            zh, en = f"{note[0]}；{zh}", f"{note[1]}; {en}"
        if self.pending is not None and self.pending.qr_text is None:
            zh, en = f"{zh}（网络中断，二维码暂不可用，请出示付款码或联系管理员）", \
                f"{en} (network down: no QR code now; show a pay code or call the attendant)"
        p = self.pending
        assert p is not None
        return self.lane.show("exit_quote", zh, en, plate=p.plate, plate_colour=p.colour, image_ref=p.image_ref,
                          entered_at=p.stay.entered_at if p.stay else None, duration_s=self.duration(p),
                          fee_fen=p.fee_fen, qr_text=p.qr_text, outcome=declined, fee_reason=fee_reason(p))

    @staticmethod
    def duration(p: PendingExit) -> int | None:
        if p.stay is None or p.stay.entered_at is None:
            return None
        return max(0, int((p.at - p.stay.entered_at).total_seconds()))

    def waiting_for_order(self) -> bool:
        """A car waits with a QR order (or a pay code the payer must still confirm) to poll."""
        return self.pending is not None and self.pending.order_id is not None

    def poll_payment(self) -> SceneResult:
        """Short poll of the QR order (the lane's loop calls this every second while a car waits)."""
        return self.lane.run(self._poll)

    def _poll(self) -> ParkingView:
        p = self.pending
        if p is None or p.order_id is None or self.client is None:
            return self.lane.current_view()
        try:
            state = self.client.order(p.order_id, timeout_s=self.config.order_timeout_s)
        except SyncFailure as failure:
            self.tracker.note_failure(failure, self.clock.now())
            return self.lane.current_view()
        if state.status != "paid":
            return self.lane.current_view()
        return self.lane.finish(p.order_kind, p.fee_fen, order_id=p.order_id, fallback=p.stay is None)

    def pay_with_code(self, scan: CodeScanned) -> ParkingView:
        """A pay code shown at the exit, charged at the payment channel (never logged or stored)."""
        p = self.pending
        if p is None or self.config.direction != "exit":
            return self.lane.current_view()
        if p.order_id is not None:
            settled = self.settle_or_close_order()   # never take a pay code for a QR order that
            if settled is not None:                  # was (or still could be) paid
                return settled
            if self.pending is not None and self.pending.order_id is not None:
                return self._again(p, "二维码订单暂无法关闭，请扫码支付或稍后再试",
                                   "The QR order cannot be closed now: scan the QR code or try again")
            p = self.pending
            assert p is not None
        try:
            req = ParkingPaycodeRequest(order_id=uuid.uuid4(), session_id=UUID(p.stay.session_id) if p.stay else None,
                                        plate=p.plate, amount_fen=p.fee_fen, paycode=scan.text.strip(),
                                        occurred_at=self.clock.now())
        except ValidationError:
            return self._again(p, "这不是付款码，请出示微信或支付宝付款码", "This is not a pay code: show a WeChat or Alipay pay code")
        state = None
        if self.client is not None:
            for _ in range(2):                       # a lost answer: the same order_id again is charged once
                try:
                    state = self.client.pay_by_code(req, timeout_s=self.config.order_timeout_s)
                    break
                except SyncFailure as failure:
                    self.tracker.note_failure(failure, self.clock.now())
                    if not failure.maybe_sent:
                        break
        if state is None:
            return self._again(p, "网络中断，付款码暂不可用，请联系管理员", "Network down: pay codes cannot be taken now, call the attendant")
        if state.status == "paid":
            return self.lane.finish("paycode", p.fee_fen, order_id=req.order_id, fallback=p.stay is None)
        if state.status == "pending":                # the payer confirms on the phone; the poll finishes it
            self.pending = replace(p, order_id=req.order_id, order_kind="paycode")
            return self._again(self.pending, "请在手机上确认付款", "Confirm the payment on your phone")
        return self.ask_to_pay(p, p.stay is None, note=(state.message_zh or "付款未成功",     # a fresh QR code
                                                         state.message_en or "Not paid"))

    def _again(self, p: PendingExit, zh: str, en: str) -> ParkingView:
        """Still waiting at the exit, with a message."""
        return self.lane.show("exit_quote", zh, en, plate=p.plate, plate_colour=p.colour, image_ref=p.image_ref,
                               fee_fen=p.fee_fen, qr_text=p.qr_text, fee_reason=fee_reason(p))

    def settle_or_close_order(self) -> ParkingView | None:
        """Before the waiting car pays another way (or is re-priced): close its QR order at the
        channel. Returns the exit view if the order turns out paid; None otherwise (the order is
        then dropped from the car, or kept when the backend could not be reached)."""
        p = self.pending
        if p is None or p.order_id is None or self.client is None:
            return None
        try:
            state = self.client.close_order(p.order_id, timeout_s=self.config.order_timeout_s)
        except SyncFailure as failure:
            self.tracker.note_failure(failure, self.clock.now())
            return None
        if state.status == "paid":
            return self.lane.finish("qr", p.fee_fen, order_id=p.order_id, fallback=p.stay is None)
        self.pending = replace(p, order_id=None, qr_text=None)
        return None
