"""Admin screens behind the PIN: today's payments (search, refund, void), sync, the offline queue,
shift close. Every core call goes through the bridge's thread pool; the screen shows "working"
meanwhile and the answer (or the failure in plain words) when it arrives.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLineEdit, QPushButton,
                               QScrollArea, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from core.money import parse_yuan
from terminal.state import PaymentOutcome, PaymentRow, ShiftTotals, SyncStatus
from ui.bridge import CoreBridge
from ui.i18n import Translator
from ui.lane_desk import add_lane_tabs, refusal_words
from ui.widgets import follow_language, label

COLUMNS = ("admin.col_time", "admin.col_name", "admin.col_amount", "admin.col_method",
           "admin.col_status", "admin.col_id")
SHIFT_DIFFERENCES_SHOWN = 6      # the rest are on the backend's admin page; the tab must fit the screen


class PaymentTable(QTableWidget):
    """Payments as rows a cashier can read and pick with a finger."""

    def __init__(self, tr: Translator):
        super().__init__(0, len(COLUMNS))
        self._tr = tr
        self.rows: list[PaymentRow] = []
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def show_rows(self, rows: Sequence[PaymentRow]) -> None:
        t = self._tr
        self.rows = list(rows)
        self.setHorizontalHeaderLabels([t.t(key) for key in COLUMNS])
        self.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            amount = t.money(row.amount_fen)
            if row.refunded_fen:
                amount += f" (-{t.money(row.refunded_fen)})"
            cells = (t.time(row.at), row.masked_name or "—", amount, t.method(row.method),
                     t.status(row.status), row.payment_id[:8])
            for column, text in enumerate(cells):
                self.setItem(index, column, QTableWidgetItem(text))

    def selected(self) -> PaymentRow | None:
        index = self.currentRow()
        return self.rows[index] if 0 <= index < len(self.rows) and self.selectionModel().hasSelection() else None


class AdminScreen(QWidget):
    leave = Signal()
    open_wizard = Signal()

    def __init__(self, tr: Translator, bridge: CoreBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr, self._bridge = tr, bridge
        self._pin = ""
        self._sync: SyncStatus | None = None
        self._shift: ShiftTotals | None = None
        self._shift_running = False        # _shift is the shift so far, not a closed one
        self._confirming_close = False     # the totals are shown: the next press closes the shift
        self.tabs = QTabWidget()
        self.tabs.addTab(self._payments_tab(), "")
        self.tabs.addTab(self._sync_tab(), "")
        self.tabs.addTab(self._queue_tab(), "")
        self.tabs.addTab(self._shift_tab(), "")
        self._tab_keys = ["admin.payments", "admin.sync", "admin.queue", "admin.shift"]
        self.lane_tabs = add_lane_tabs(self.tabs, self._tab_keys, tr, bridge)   # a parking lane's desk
        self.wizard_button = QPushButton()
        self.wizard_button.setObjectName("small")
        self.wizard_button.clicked.connect(self.open_wizard)
        self.leave_button = QPushButton()
        self.leave_button.setObjectName("small")
        self.leave_button.clicked.connect(self._leave)
        corner = QWidget()          # next to the tabs: no extra row on a 480-pixel screen
        buttons = QHBoxLayout(corner)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.wizard_button)
        buttons.addWidget(self.leave_button)
        self.tabs.setCornerWidget(corner)
        column = QVBoxLayout(self)
        column.addWidget(self.tabs, 1)
        bridge.sync.connect(self.show_sync)
        # e.g. the automatic check of a shift closed offline
        bridge.shift.connect(lambda totals: self._show_shift(totals, running=False))
        follow_language(self, tr, self.retranslate)
        self.retranslate()

    # --- building ----------------------------------------------------------------------------

    def _payments_tab(self) -> QWidget:
        page = QWidget()
        self.search = QLineEdit()
        self.search.returnPressed.connect(self.refresh_payments)
        self.search_button = QPushButton()
        self.search_button.clicked.connect(self.refresh_payments)
        self.payments = PaymentTable(self._tr)
        self.reason = QLineEdit()
        self.refund_amount = QLineEdit()
        self.refund_button = QPushButton()
        self.refund_button.clicked.connect(self.refund_selected)
        self.void_button = QPushButton()
        self.void_button.setObjectName("danger")
        self.void_button.clicked.connect(self.void_selected)
        self.result = label(role="big")
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.search_button)
        action_row = QHBoxLayout()
        action_row.addWidget(self.reason, 2)
        action_row.addWidget(self.refund_amount, 1)
        action_row.addWidget(self.refund_button)
        action_row.addWidget(self.void_button)
        column = QVBoxLayout(page)
        column.addLayout(search_row)
        column.addWidget(self.payments, 1)
        column.addLayout(action_row)
        column.addWidget(self.result)
        return page

    def _sync_tab(self) -> QWidget:
        page = QWidget()
        self.sync_state = label(role="title")
        self.sync_detail = label(role="big")
        self.sync_button = QPushButton()
        self.sync_button.clicked.connect(self.sync_now)
        column = QVBoxLayout(page)
        column.addWidget(self.sync_state)
        column.addWidget(self.sync_detail, 1)
        column.addWidget(self.sync_button)
        return page

    def _queue_tab(self) -> QWidget:
        page = QWidget()
        self.queue_title = label(role="big")
        self.queue = PaymentTable(self._tr)
        self.declined_title = label(role="big")
        self.declined = PaymentTable(self._tr)
        column = QVBoxLayout(page)
        for widget in (self.queue_title, self.queue, self.declined_title, self.declined):
            column.addWidget(widget)
        return page

    def _shift_tab(self) -> QWidget:
        page = QWidget()
        self.shift_text = label(role="big")
        self.shift_button = QPushButton()
        self.shift_button.clicked.connect(self.close_shift)
        self.recheck_button = QPushButton()          # shown only while the backend check is pending
        self.recheck_button.clicked.connect(self.recheck_shift)
        self.recheck_button.hide()
        scroll = QScrollArea()                       # totals + the backend's differences may be long
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.shift_text)
        column = QVBoxLayout(page)
        column.addWidget(scroll, 1)
        column.addWidget(self.recheck_button)
        column.addWidget(self.shift_button)
        return page

    def retranslate(self) -> None:
        t = self._tr
        for index, key in enumerate(self._tab_keys):
            self.tabs.setTabText(index, t.t(key))
        self.wizard_button.setText(t.t("admin.setup"))
        self.leave_button.setText(t.t("admin.exit"))
        self.search.setPlaceholderText(t.t("admin.search"))
        self.search_button.setText(t.t("admin.search_button"))
        self.reason.setPlaceholderText(t.t("admin.reason"))
        self.refund_amount.setPlaceholderText(t.t("admin.refund_amount"))
        self.refund_button.setText(t.t("admin.refund"))
        self.void_button.setText(t.t("admin.void"))
        self.sync_button.setText(t.t("admin.sync_now"))
        self.queue_title.setText(t.t("admin.queue_title"))
        self.declined_title.setText(t.t("admin.declined_title"))
        self.shift_button.setText(t.t("admin.close_shift_confirm" if self._confirming_close else "admin.close_shift"))
        self.recheck_button.setText(t.t("admin.recheck_shift"))
        for table in (self.payments, self.queue, self.declined):
            table.show_rows(table.rows)
        self.show_sync(self._sync)
        self._show_shift(self._shift)

    # --- entering and leaving ----------------------------------------------------------------

    def enter(self, pin: str) -> None:
        """Called after the PIN gate accepted `pin`: load fresh lists."""
        self._pin = pin
        self._confirming_close = False
        self.shift_button.setText(self._tr.t("admin.close_shift"))
        self.result.setText("")
        self.refresh_payments()
        self.refresh_queues()
        for tab in self.lane_tabs:
            tab.enter(pin)
        self._bridge.call(self._bridge.core.current_view,
                          done=lambda view: self.show_sync(getattr(view, "sync", view)))

    def _leave(self) -> None:
        self._pin = ""   # the PIN does not outlive the admin session
        for tab in self.lane_tabs:
            tab.leave()
        self.leave.emit()

    # --- payments, refund, void --------------------------------------------------------------

    def refresh_payments(self) -> None:
        self._bridge.call(self._bridge.core.list_payments, None, self.search.text().strip(),
                          done=self.payments.show_rows, failed=self._failed)

    def refresh_queues(self) -> None:
        self._bridge.call(self._bridge.core.offline_queue, done=self.queue.show_rows, failed=self._failed)
        self._bridge.call(self._bridge.core.declined_after_fact, done=self.declined.show_rows,
                          failed=self._failed)

    def _checked_selection(self) -> tuple[PaymentRow, str] | None:
        row = self.payments.selected()
        if row is None:
            self.result.setText(self._tr.t("admin.pick_row"))
            return None
        reason = self.reason.text().strip()
        if not reason:
            self.result.setText(self._tr.t("admin.need_reason"))
            return None
        return row, reason

    def refund_selected(self) -> None:
        checked = self._checked_selection()
        if checked is None:
            return
        row, reason = checked
        left = row.amount_fen - row.refunded_fen
        text = self.refund_amount.text().strip()
        try:
            amount = parse_yuan(text) if text else left
        except ValueError:
            amount = -1
        if not 0 < amount <= left:
            self.result.setText(self._tr.t("admin.bad_amount", max=self._tr.money(left)))
            return
        self._busy(True)
        self._bridge.call(self._bridge.core.refund, row.payment_id, amount, reason, self._pin,
                          done=lambda outcome: self._done(outcome, "admin.refunded"), failed=self._failed)

    def void_selected(self) -> None:
        checked = self._checked_selection()
        if checked is None:
            return
        row, reason = checked
        self._busy(True)
        self._bridge.call(self._bridge.core.void, row.payment_id, reason, self._pin,
                          done=lambda outcome: self._done(outcome, "admin.voided"), failed=self._failed)

    def _done(self, outcome: PaymentOutcome, key: str) -> None:
        self._busy(False)
        t = self._tr
        if outcome.status == "declined":
            words = t.reason(outcome.reason, outcome.message_zh, outcome.message_en)
            self.result.setText(t.t("admin.refund_declined", reason=words))
        else:
            self.result.setText(t.t(key, amount=t.money(outcome.amount_fen)))
            self.reason.clear()
            self.refund_amount.clear()
        self.refresh_payments()

    def _failed(self, error: Exception) -> None:
        self._busy(False)
        self.result.setText(refusal_words(self._tr, error))     # the core's AdminError words

    def _busy(self, busy: bool) -> None:
        for button in (self.refund_button, self.void_button, self.sync_button, self.shift_button,
                       self.recheck_button):
            button.setEnabled(not busy)
        if busy:
            self.result.setText(self._tr.t("admin.working"))

    # --- sync --------------------------------------------------------------------------------

    def sync_now(self) -> None:
        self._busy(True)
        self.sync_detail.setText(self._tr.t("admin.working"))

        def synced(status: SyncStatus) -> None:
            self._busy(False)
            self.result.setText("")
            self.show_sync(status)
            self.refresh_queues()

        def sync_failed(error: Exception) -> None:
            self._failed(error)
            self.sync_detail.setText(self.result.text())

        self._bridge.call(self._bridge.core.sync_now, done=synced, failed=sync_failed)

    def show_sync(self, status: SyncStatus | None) -> None:
        if not isinstance(status, SyncStatus):
            return
        self._sync = status
        t = self._tr
        if status.online:
            self.sync_state.setText(t.t("admin.online"))
        elif status.offline_since:
            self.sync_state.setText(t.t("admin.offline_since", time=t.datetime(status.offline_since)))
        else:
            self.sync_state.setText(t.t("admin.offline"))
        lines = [t.t("admin.queue_depth", n=status.queue_depth),
                 t.t("admin.last_push", time=t.datetime(status.last_push)),
                 t.t("admin.last_pull", time=t.datetime(status.last_pull))]
        if status.clock_skew_s is not None:
            lines.append(t.t("admin.skew", s=round(status.clock_skew_s, 1)))
        if status.declined_after_fact:
            lines.append(t.t("admin.declined_after", n=status.declined_after_fact))
        if status.last_error:
            lines.append(t.t("admin.last_error", error=status.last_error))
        self.sync_detail.setText("\n".join(lines))

    # --- shift close -------------------------------------------------------------------------

    def close_shift(self) -> None:
        """First press: the running totals and a request to confirm. Second press: the close."""
        if not self._confirming_close:
            self._confirming_close = True
            self.shift_button.setText(self._tr.t("admin.close_shift_confirm"))
            self._bridge.call(self._bridge.core.running_shift, done=self._show_running, failed=self._failed)
            return
        self._confirming_close = False
        self.shift_button.setText(self._tr.t("admin.close_shift"))
        self._shift_call(self._bridge.core.close_shift)

    def _show_running(self, totals: ShiftTotals) -> None:
        if self._confirming_close:       # not closed meanwhile (a quick second press)
            self._show_shift(totals, running=True)

    def recheck_shift(self) -> None:
        self._shift_call(self._bridge.core.recheck_shift)

    def _shift_call(self, call) -> None:  # noqa: ANN001 - a core method taking the PIN
        self._busy(True)

        def closed(totals: ShiftTotals) -> None:
            self._busy(False)
            self.result.setText("")
            self._show_shift(totals, running=False)

        self._bridge.call(call, self._pin, done=closed,
                          failed=lambda error: (self._failed(error), self.shift_text.setText(self.result.text())))

    def _show_shift(self, totals: ShiftTotals | None, running: bool | None = None) -> None:
        self._shift = totals
        self._shift_running = self._shift_running if running is None else running
        if totals is None:
            self.shift_text.setText("")
            return
        t = self._tr
        backend = [] if self._shift_running else self._backend_lines(totals)   # the verdict first
        lines = [t.t("admin.shift_running")] if self._shift_running else []
        lines += [t.t("admin.shift_from", start=t.datetime(totals.opened_at), end=t.datetime(totals.closed_at)),
                  *backend[:1]]
        for method in sorted(set(totals.count_by_method) | set(totals.fen_by_method)):
            lines.append(t.t("admin.shift_method", method=t.method(method),
                             count=totals.count_by_method.get(method, 0),
                             amount=t.money(totals.fen_by_method.get(method, 0))))
        lines.append(t.t("admin.shift_refunds", count=totals.refunds_count, amount=t.money(totals.refunds_fen)))
        lines.append(t.t("admin.shift_total", count=sum(totals.count_by_method.values()),
                         amount=t.money(sum(totals.fen_by_method.values()) - totals.refunds_fen)))
        if totals.queued:
            lines.append(t.t("admin.shift_queued", n=totals.queued))
        lines += backend[1:]
        if self._shift_running:
            lines.append(t.t("admin.shift_confirm_hint"))
        self.recheck_button.setVisible(not self._shift_running and bool(totals.backend_note_zh or totals.backend_note_en))
        self.shift_text.setText("\n".join(lines))

    def _backend_lines(self, totals: ShiftTotals) -> list[str]:
        """The backend's comparison, verdict first: agrees, or each difference in its own words; or
        why it was not checked."""
        t = self._tr
        if not totals.backend_checked:
            return [t.pick(totals.backend_note_zh, totals.backend_note_en)] if totals.backend_note_zh else []
        verdict = t.t("admin.shift_differences", n=len(totals.differences)) if totals.differences \
            else t.t("admin.shift_balanced")
        lines = [verdict, t.t("admin.shift_pushed", n=totals.pushed_for_check)] if totals.pushed_for_check \
            else [verdict]
        none = t.t("admin.shift_none")
        for d in totals.differences[:SHIFT_DIFFERENCES_SHOWN]:
            values = {"message": t.pick(d.message_zh, d.message_en), "method": t.method(d.method or ""),
                      "terminal": none if d.terminal_fen is None else t.money(d.terminal_fen),
                      "backend": none if d.backend_fen is None else t.money(d.backend_fen)}
            lines.append(t.t("admin.shift_diff_payment", id=d.payment_id[:8], **values) if d.payment_id
                         else t.t("admin.shift_diff_method", **values))
        if len(totals.differences) > SHIFT_DIFFERENCES_SHOWN:
            lines.append(t.t("admin.shift_diff_more", n=len(totals.differences) - SHIFT_DIFFERENCES_SHOWN))
        return lines
