"""Fixed, realistic views of every screen state, for screenshots and for showing the kiosk without
a terminal core (`python -m ui.showcase`). Plain data built from terminal/state.py; it decides
nothing and stores nothing.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable
from uuid import UUID

from core.members import PassPlan
from core.wire import ParkingOrderState
from core.reasons import message
from terminal.parking_desk import ExitRow, WaitingCar
from terminal.state import (CanteenView, ConfirmView, MealPeriodView, OfferView, ParkingView, PaymentOutcome, PaymentRow,
                            ShiftTotals, SyncStatus)

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 12, 3, 20, tzinfo=SHANGHAI)
LUNCH = MealPeriodView("lunch", "午餐", "Lunch", 1200)
LUNCH_FULL = MealPeriodView("lunch", "午餐（套餐）", "Lunch (set meal)", 1500)
DINNER_KEYED = MealPeriodView("dinner", "晚餐（窗口计价）", "Dinner (priced at the window)", None)
ONLINE = SyncStatus(online=True, queue_depth=0, last_push=NOW - timedelta(seconds=20),
                    last_pull=NOW - timedelta(seconds=35), clock_skew_s=0.4)
OFFLINE = SyncStatus(online=False, offline_since=NOW - timedelta(minutes=12), queue_depth=7,
                     last_push=NOW - timedelta(minutes=12), last_pull=NOW - timedelta(minutes=13),
                     clock_skew_s=0.4, declined_after_fact=1,
                     last_error="连接后台超时 / backend timed out")


def _outcome(**changes: object) -> PaymentOutcome:
    base = PaymentOutcome(payment_id="5f0c2a9e-8d1b-4c7a-9a51-3f1f4b2a7c10", status="approved", amount_fen=1200,
                          method="face", at=NOW, subsidy_fen=800, own_fen=400, masked_name="张*三",
                          wallet_balance_fen=5630, subsidy_balance_fen=1600)
    return replace(base, **changes)  # type: ignore[arg-type]


def _declined(reason: str, **changes: object) -> PaymentOutcome:
    """A decline worded as the core words it (the reason catalogue, core/reasons/)."""
    zh, en = message(reason)
    fields: dict[str, object] = dict(status="declined", subsidy_fen=0, own_fen=0, wallet_balance_fen=None,
                                     subsidy_balance_fen=None, masked_name=None, reason=reason,
                                     message_zh=zh, message_en=en)
    return _outcome(**{**fields, **changes})


def canteen_views() -> dict[str, CanteenView]:
    declined = _declined("insufficient_funds", masked_name="张*三")
    return {
        "idle": CanteenView("idle", LUNCH, ONLINE),
        "idle_keyed": CanteenView("idle", DINNER_KEYED, ONLINE),
        "recognising": CanteenView("recognising", LUNCH, ONLINE, prompt="blink"),
        "paid_face": CanteenView("paid", LUNCH, ONLINE, outcome=_outcome()),
        # an instant campaign took 3.00 off a 15.00 lunch, and the backend gave a coupon with it (issue 17)
        "paid_discount": CanteenView("paid", LUNCH_FULL, ONLINE, outcome=_outcome(
            amount_fen=1500, discount_fen=300, subsidy_fen=800, own_fen=400,
            offer=OfferView(coupon_id=31, title_zh="晚餐立减 2 元", title_en="2 yuan off dinner",
                            expires_at=NOW + timedelta(days=7)))),
        "paid_card_offline": CanteenView("paid", LUNCH, OFFLINE, outcome=_outcome(
            method="card", masked_name="欧**明", offline=True, subsidy_fen=1200, own_fen=0,
            wallet_balance_fen=None, subsidy_balance_fen=400)),
        "paid_paycode": CanteenView("paid", LUNCH, ONLINE, outcome=_outcome(
            method="paycode", masked_name=None, subsidy_fen=0, own_fen=1200, wallet_balance_fen=None,
            subsidy_balance_fen=None)),
        "declined": CanteenView("declined", LUNCH, ONLINE, outcome=declined),
        "declined_offline": CanteenView("declined", LUNCH, OFFLINE, outcome=_declined("stale_cache")),
        "already_paid": CanteenView("already_paid", LUNCH, ONLINE, outcome=_outcome(
            status="already_paid", paid_at=NOW - timedelta(minutes=14))),
        "closed": CanteenView("closed", None, ONLINE, next_period=MealPeriodView("dinner", "晚餐", "Dinner", 1000),
                              opens_at=NOW.replace(hour=17, minute=0, second=0)),
        "confirm_digits": CanteenView("confirm", LUNCH, ONLINE, confirm=ConfirmView(3)),
        "confirm_wrong": CanteenView("confirm", LUNCH, ONLINE, confirm=ConfirmView(2, wrong=True)),
    }


def parking_views(plate_image: str | None = None) -> dict[str, ParkingView]:
    entered = NOW - timedelta(hours=2, minutes=17)
    car = dict(lane_id=2, direction="exit", plate="皖A195K9", plate_colour="blue", image_ref=plate_image,
               entered_at=entered, duration_s=8220)
    return {
        "idle": ParkingView("idle", 2, "exit", ONLINE),
        "entry_open": ParkingView("entry_open", 1, "entry", ONLINE, plate="皖A195K9", plate_colour="blue",
                                  image_ref=plate_image, entered_at=NOW),
        "exit_quote": ParkingView("exit_quote", sync=ONLINE, fee_fen=1500, pay_kind="qr",
                                  qr_text="https://pay.example.cn/park/o/7d2f61c4", **car),  # type: ignore[arg-type]
        # channels.qr = aggregate: the backend's one code (聚合码) that every offered app can scan
        "exit_quote_aggregate": ParkingView(
            "exit_quote", sync=ONLINE, fee_fen=1500, pay_kind="qr", **car,  # type: ignore[arg-type]
            qr_text="https://pay.example.cn/pay/q/7d2f61c4e0a84b1f9c3d5e7a2b4c6d8eQ3vX9kLm2Np7Rt5Wy8Za1B"),
        "exit_contactless": ParkingView("exit_paid", sync=ONLINE, fee_fen=1500, pay_kind="contactless",
                                        **car),  # type: ignore[arg-type]
        # signed plate, an instant parking campaign took 3.00 off the 15.00 fee (issue 17)
        "exit_discount": ParkingView("exit_paid", sync=ONLINE, fee_fen=1500, pay_kind="contactless",
                                     outcome=_outcome(method="plate", amount_fen=1500, discount_fen=300,
                                                      subsidy_fen=0, own_fen=1200, masked_name=None),
                                     message_zh="已缴费 12.00 元（优惠 3.00 元），一路顺风",
                                     message_en="Paid 12.00 yuan (3.00 yuan off): have a good trip",
                                     **car),  # type: ignore[arg-type]
        "exit_member": ParkingView("exit_free", sync=ONLINE, fee_fen=0, pay_kind="member",
                                   **car),  # type: ignore[arg-type]
        "barrier_opening": ParkingView("barrier_opening", sync=OFFLINE, fee_fen=1500, pay_kind="contactless",
                                       **car),  # type: ignore[arg-type]
        "exit_refused": ParkingView("exit_refused", sync=ONLINE, outcome=_outcome(
            status="declined", method="plate", reason="no_entry_record"), **car),  # type: ignore[arg-type]
        # no entry record: the car park's fallback fee, and the screen says so; the lane by its name
        "exit_quote_no_entry": ParkingView(
            "exit_quote", 2, "exit", ONLINE, lane_name="东门出口", plate="皖A195K9", plate_colour="blue",
            image_ref=plate_image, fee_fen=5000, fee_reason="no_entry_record",
            qr_text="https://pay.example.cn/park/o/0b9e13aa"),
    }


def lane_exits() -> list[ExitRow]:
    kinds = [("qr", 900, None), ("contactless", 700, None), ("member", 0, None), ("paycode", 1500, None),
             ("free_by_attendant", 0, "救护车 ambulance"), ("fallback", 5000, None)]
    plates = ["京A12345", "京C33333", "皖A195K9", "沪B7Q210", "京E77777", "苏E5N882"]
    return [ExitRow(at=NOW - timedelta(minutes=7 * i), plate=plates[i], fee_fen=max(fee, 500) if kind != "member" else 0,
                    paid_fen=fee, pay_kind=kind, reason=reason, sent=i > 0) for i, (kind, fee, reason) in enumerate(kinds)]


class ShowcaseDesk:
    """A lane desk (terminal.parking_desk.LaneDesk's calls) answering with fixed data."""

    def exits(self, day: str | None = None) -> list[ExitRow]:
        return lane_exits()

    def waiting(self) -> WaitingCar | None:
        return WaitingCar("皖A195K9", 5000, no_entry_record=True)

    def start_renewal(self, pin: str, plate: str, plan_code: str) -> ParkingOrderState:
        return ParkingOrderState(order_id=UUID(int=7), status="pending", amount_fen=30000, expires_at=NOW,
                                 qr_text="https://pay.example.cn/park/o/renew-0007")

    def renewal_plans(self) -> list[PassPlan]:
        return [PassPlan(code="monthly", months=1, price_fen=30000), PassPlan(code="quarterly", months=3, price_fen=80000)]


def payment_rows() -> list[PaymentRow]:
    names = ["张*三", "李*", "欧**明", None, "王*华", "陈*"]
    methods = ["face", "face", "card", "paycode", "face", "card"]
    statuses = ["booked", "booked", "queued", "booked", "refunded", "declined_after_fact"]
    return [PaymentRow(payment_id=f"{i:08x}-0000-4000-8000-{i:012x}", at=NOW - timedelta(minutes=3 * i),
                       amount_fen=1200 if i % 3 else 850, method=methods[i], masked_name=names[i],
                       status=statuses[i], offline=statuses[i] == "queued",
                       refunded_fen=1200 if statuses[i] == "refunded" else 0) for i in range(len(names))]


def shift_totals() -> ShiftTotals:
    return ShiftTotals(opened_at=NOW.replace(hour=10, minute=30), closed_at=NOW.replace(hour=13, minute=30),
                       count_by_method={"face": 212, "card": 31, "paycode": 9},
                       fen_by_method={"face": 254400, "card": 37200, "paycode": 10800},
                       refunds_count=2, refunds_fen=2400, queued=7)


class ShowcasePort:
    """A TerminalPort answering with the fixed data above (PIN 1234). Refunds and voids answer
    as the core would, without storing anything."""

    PIN = "1234"

    def __init__(self, view: object | None = None, desk: ShowcaseDesk | None = None):
        self._view = view or canteen_views()["idle"]
        self.desk = desk                 # a parking lane's desk on the admin screen
        self._callbacks: list[Callable[[object], None]] = []

    def publish(self, view: object) -> None:
        self._view = view
        for callback in self._callbacks:
            callback(view)

    def subscribe(self, callback: Callable[[object], None]) -> None:
        self._callbacks.append(callback)

    def current_view(self) -> object:
        return self._view

    def key_in_amount(self, amount_fen: int) -> None:
        return None

    def key_in_digits(self, digits: str) -> PaymentOutcome | None:
        return None

    def cancel_confirm(self) -> None:
        return None

    def verify_pin(self, pin: str) -> bool:
        return pin == self.PIN

    def list_payments(self, day: str | None = None, query: str = "") -> list[PaymentRow]:
        return [r for r in payment_rows() if query in f"{r.masked_name} {r.payment_id} {r.amount_fen}"]

    def refund(self, payment_id: str, amount_fen: int, reason: str, pin: str) -> PaymentOutcome:
        return _outcome(payment_id=payment_id, amount_fen=amount_fen, status="approved")

    def void(self, payment_id: str, reason: str, pin: str) -> PaymentOutcome:
        return _outcome(payment_id=payment_id, status="approved")

    def sync_now(self) -> SyncStatus:
        return ONLINE

    def offline_queue(self) -> list[PaymentRow]:
        return [r for r in payment_rows() if r.status == "queued"]

    def declined_after_fact(self) -> list[PaymentRow]:
        return [r for r in payment_rows() if r.status == "declined_after_fact"]

    def running_shift(self) -> ShiftTotals:
        return shift_totals()

    def close_shift(self, pin: str) -> ShiftTotals:
        return shift_totals()


def main() -> int:
    """Open the kiosk in a window with the showcase data (no core, no devices)."""
    from ui.kiosk import run_kiosk

    scene = sys.argv[1] if len(sys.argv) > 1 else "canteen"
    view = canteen_views()["paid_face"] if scene == "canteen" else parking_views()["exit_quote"]
    return run_kiosk(ShowcasePort(view), {"scene": scene}, fullscreen=False)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
