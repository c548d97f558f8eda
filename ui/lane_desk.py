"""A parking lane's desk on the admin screen (behind the PIN): the lane's exits of the day with
how each was paid, the car waiting at the barrier and the attendant's actions on it (correct the
plate, let out free with a reason, send to review), and the member renewal paid at the counter.

Every call goes to terminal.parking_desk.LaneDesk through the bridge's thread pool; a refusal is
shown in its own zh/en words.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from terminal.parking_desk import ExitRow, LaneDesk, WaitingCar
from ui.bridge import CoreBridge
from ui.i18n import Translator
from ui.widgets import ScrollSafeComboBox, follow_language, label, qr_pixmap

EXIT_COLUMNS = ("lane.col_time", "lane.col_plate", "lane.col_fee", "lane.col_paid", "lane.col_how", "lane.col_sent")
RENEWAL_POLL_MS = 2000


def refusal_words(tr: Translator, error: Exception) -> str:
    """The core's zh/en words for a refused action, else the failure in plain words."""
    zh, en = getattr(error, "zh", ""), getattr(error, "en", "")
    return tr.pick(zh, en) if zh or en else tr.t("admin.failed", error=str(error) or type(error).__name__)


def how_paid(tr: Translator, pay_kind: str | None) -> str:
    return tr.t(f"pay_short.{pay_kind}") if pay_kind else "—"


class ExitTable(QTableWidget):
    def __init__(self, tr: Translator):
        super().__init__(0, len(EXIT_COLUMNS))
        self._tr = tr
        self.rows: list[ExitRow] = []
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def show_rows(self, rows: Sequence[ExitRow]) -> None:
        t = self._tr
        self.rows = list(rows)
        self.setHorizontalHeaderLabels([t.t(key) for key in EXIT_COLUMNS])
        self.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            how = how_paid(t, row.pay_kind) + (f"（{row.reason}）" if row.reason else "")
            cells = (t.time(row.at), row.plate, "—" if row.fee_fen is None else t.money(row.fee_fen),
                     t.money(row.paid_fen), how, t.t("lane.sent_yes" if row.sent else "lane.sent_no"))
            for column, text in enumerate(cells):
                self.setItem(index, column, QTableWidgetItem(text))

    def texts(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]


class LaneTab(QWidget):
    """The exits of the day and the attendant's actions on the waiting car."""

    def __init__(self, tr: Translator, bridge: CoreBridge, desk: LaneDesk):
        super().__init__()
        self._tr, self._bridge, self._desk = tr, bridge, desk
        self._pin = ""
        self._waiting: WaitingCar | None = None
        self.exits_title = label(role="muted", align=Qt.AlignmentFlag.AlignLeft)
        self.exits = ExitTable(tr)
        self.refresh_button = QPushButton()
        self.refresh_button.setObjectName("small")
        self.refresh_button.clicked.connect(self.refresh)
        self.waiting = label(role="big", align=Qt.AlignmentFlag.AlignLeft)
        self.plate = QLineEdit()
        self.plate.setProperty("keyboard", "plate")     # the on-screen keyboard offers the provinces
        self.correct_button = QPushButton()
        self.correct_button.clicked.connect(self.correct_plate)
        self.reason = QLineEdit()
        self.free_button = QPushButton()
        self.free_button.setObjectName("danger")
        self.free_button.clicked.connect(self.open_free)
        self.review_button = QPushButton()
        self.review_button.clicked.connect(self.take_to_review)
        self.result = label(role="big")
        title_row = QHBoxLayout()
        title_row.addWidget(self.exits_title, 1)
        title_row.addWidget(self.refresh_button)
        plate_row = QHBoxLayout()
        plate_row.addWidget(self.plate, 1)
        plate_row.addWidget(self.correct_button)
        reason_row = QHBoxLayout()
        reason_row.addWidget(self.reason, 1)
        reason_row.addWidget(self.free_button)
        reason_row.addWidget(self.review_button)
        column = QVBoxLayout(self)
        column.addLayout(title_row)
        column.addWidget(self.exits, 1)
        column.addWidget(self.waiting)
        column.addLayout(plate_row)
        column.addLayout(reason_row)
        column.addWidget(self.result)
        bridge.parking.connect(lambda _view: self._refresh_waiting())   # a car arrived, paid or left
        follow_language(self, tr, self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        t = self._tr
        self.exits_title.setText(t.t("lane.exits_title"))
        self.refresh_button.setText(t.t("lane.refresh"))
        self.plate.setPlaceholderText(t.t("lane.plate_hint"))
        self.correct_button.setText(t.t("lane.correct"))
        self.reason.setPlaceholderText(t.t("lane.reason_hint"))
        self.free_button.setText(t.t("lane.open_free"))
        self.review_button.setText(t.t("lane.review"))
        self.exits.show_rows(self.exits.rows)
        self._show_waiting(self._waiting)

    def enter(self, pin: str) -> None:
        self._pin = pin
        self.result.setText("")
        self.refresh()

    def leave(self) -> None:
        self._pin = ""

    def refresh(self) -> None:
        self._bridge.call(self._desk.exits, done=self.exits.show_rows, failed=self._failed)
        self._refresh_waiting()

    def _refresh_waiting(self) -> None:
        self._bridge.call(self._desk.waiting, done=self._show_waiting, failed=self._failed)

    def _show_waiting(self, car: WaitingCar | None) -> None:
        self._waiting = car
        t = self._tr
        if car is None:
            self.waiting.setText(t.t("lane.none_waiting"))
        else:
            key = "lane.waiting_no_entry" if car.no_entry_record else "lane.waiting"
            self.waiting.setText(t.t(key, plate=car.plate, fee=t.money(car.fee_fen)))
        for button in (self.correct_button, self.free_button, self.review_button):
            button.setEnabled(car is not None)

    # --- the actions ---------------------------------------------------------------------------

    def correct_plate(self) -> None:
        plate = self.plate.text().strip()
        if not plate:
            self.result.setText(self._tr.t("lane.need_plate"))
            return
        self._act(self._desk.correct_plate, plate, clear=self.plate)

    def open_free(self) -> None:
        if self._needs_reason():
            self._act(self._desk.open_free, self.reason.text().strip(), clear=self.reason)

    def take_to_review(self) -> None:
        if self._needs_reason():
            self._act(self._desk.take_to_review, self.reason.text().strip(), clear=self.reason,
                      words="lane.reviewed")

    def _needs_reason(self) -> bool:
        if self.reason.text().strip():
            return True
        self.result.setText(self._tr.t("lane.need_reason"))
        return False

    def _act(self, action, value: str, *, clear: QLineEdit, words: str | None = None) -> None:  # noqa: ANN001
        self.result.setText(self._tr.t("admin.working"))

        def done(view) -> None:  # noqa: ANN001 - the lane's ParkingView after the action
            clear.clear()
            said = self._tr.t(words) if words else self._tr.pick(view.message_zh, view.message_en)
            self.result.setText(self._tr.t("lane.done", words=said))
            self.refresh()

        self._bridge.call(action, self._pin, value, done=done, failed=self._failed)

    def _failed(self, error: Exception) -> None:
        self.result.setText(refusal_words(self._tr, error))


class RenewalTab(QWidget):
    """A member renewal paid at the counter: plate and plan -> a QR order the driver pays; the
    tab asks the backend every few seconds until it is paid."""

    def __init__(self, tr: Translator, bridge: CoreBridge, desk: LaneDesk):
        super().__init__()
        self._tr, self._bridge, self._desk = tr, bridge, desk
        self._pin = ""
        self._plans: list = []
        self._order = None
        self.plate = QLineEdit()
        self.plate.setProperty("keyboard", "plate")
        self.plan = ScrollSafeComboBox()
        self.start_button = QPushButton()
        self.start_button.clicked.connect(self.start)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state = label(role="big")
        self.check_button = QPushButton()
        self.check_button.clicked.connect(self.check)
        self.poll = QTimer(self)
        self.poll.setInterval(RENEWAL_POLL_MS)
        self.poll.timeout.connect(self.check)
        row = QHBoxLayout()
        row.addWidget(self.plate, 2)
        row.addWidget(self.plan, 1)
        row.addWidget(self.start_button)
        column = QVBoxLayout(self)
        column.addLayout(row)
        column.addWidget(self.qr, 1)
        column.addWidget(self.state)
        column.addWidget(self.check_button)
        follow_language(self, tr, self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        t = self._tr
        self.plate.setPlaceholderText(t.t("renewal.plate_hint"))
        self.start_button.setText(t.t("renewal.start"))
        self.check_button.setText(t.t("renewal.check"))
        self._show_plans(self._plans)

    def enter(self, pin: str) -> None:
        self._pin = pin
        self._bridge.call(self._desk.renewal_plans, done=self._show_plans, failed=self._failed)

    def leave(self) -> None:
        self._pin = ""
        self.poll.stop()

    def _show_plans(self, plans: list) -> None:
        self._plans = list(plans)
        current = self.plan.currentIndex()
        self.plan.clear()
        for p in self._plans:
            self.plan.addItem(self._tr.t("renewal.plan", months=p.months, price=self._tr.money(p.price_fen)), p.code)
        self.plan.setCurrentIndex(max(0, min(current, len(self._plans) - 1)))
        self.start_button.setEnabled(bool(self._plans))
        self.check_button.setVisible(self._order is not None)
        if not self._plans:
            self.state.setText(self._tr.t("renewal.no_plans"))
        elif self._order is None:
            self.state.setText("")

    def start(self) -> None:
        plate = self.plate.text().strip()
        if not plate:
            self.state.setText(self._tr.t("lane.need_plate"))
            return
        self.state.setText(self._tr.t("admin.working"))
        self._bridge.call(self._desk.start_renewal, self._pin, plate, self.plan.currentData(),
                          done=self._show_order, failed=self._failed)

    def _show_order(self, order) -> None:  # noqa: ANN001 - core.wire.ParkingOrderState
        self._order = order
        self.check_button.setVisible(True)
        if order.status == "pending":
            side = max(120, min(self.qr.width(), self.qr.height()) - 8)
            self.qr.setPixmap(qr_pixmap(order.qr_text, side))
            self.state.setText(self._tr.t("renewal.scan", amount=self._tr.money(order.amount_fen)))
            self.poll.start()
            return
        self.poll.stop()
        self.qr.clear()
        self.state.setText(self._tr.t("renewal.paid" if order.status == "paid" else "renewal.closed"))

    def check(self) -> None:
        if self._order is not None:
            self._bridge.call(self._desk.renewal_state, self._order.order_id, done=self._show_order,
                              failed=self._failed)

    def _failed(self, error: Exception) -> None:
        self.poll.stop()
        self.state.setText(refusal_words(self._tr, error))


def add_lane_tabs(tabs: QTabWidget, keys: list[str], tr: Translator, bridge: CoreBridge) -> list:
    """Put a parking lane's desk first on the admin screen (`keys`: the tabs' title keys, kept in
    step); a canteen's core has no desk and gets none."""
    desk = getattr(bridge.core, "desk", None)
    if desk is None:
        return []
    added = [(LaneTab(tr, bridge, desk), "lane.tab"), (RenewalTab(tr, bridge, desk), "lane.renewal_tab")]
    for index, (tab, key) in enumerate(added):
        tabs.insertTab(index, tab, "")
        keys.insert(index, key)
    tabs.setCurrentIndex(0)
    return [tab for tab, _key in added]
