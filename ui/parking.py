"""The parking lane screen (a lane display or an attendant's screen), entry and exit.

Left: the plate photo, the plate, and the facts (entry time, duration, fee, how it is paid).
Right: what the driver must do now: scan the exit order's QR code, or drive on.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from terminal.parking_payment import is_aggregate_qr
from terminal.state import ParkingView
from ui.i18n import Translator
from ui.widgets import ViewScreen, label, qr_pixmap, set_role, set_scaled_image

CARD_ROLE = {"entry_open": "ok_card", "exit_paid": "ok_card", "exit_free": "ok_card",
             "barrier_opening": "ok_card", "entry_refused": "bad_card", "exit_refused": "bad_card",
             "exit_quote": "warn_card"}
PLATE_COLOURS = {"blue": "#2b6cb0", "yellow": "#d69e2e", "green": "#38a169", "white": "#e2e8f0",
                 "black": "#1a202c", "yellow_green": "#9ae6b4"}


class ParkingScreen(ViewScreen):
    def __init__(self, tr: Translator, parent: QWidget | None = None):
        super().__init__(tr, parent)
        self.lane = label(role="muted")
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Ignored: the photo is scaled to the space the layout gives, never the other way round.
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.plate = label(role="headline")
        self.facts = QGridLayout()
        self._fact_labels: list[tuple[QLabel, QLabel]] = []
        self.facts.setColumnStretch(1, 1)
        for row in range(4):
            name, value = label(role="muted", wrap=False), label(role="big")
            self.facts.addWidget(name, row, 0)
            self.facts.addWidget(value, row, 1)
            self._fact_labels.append((name, value))
        left = QWidget()
        left.setObjectName("panel")
        left_column = QVBoxLayout(left)
        left_column.addWidget(self.lane)
        left_column.addWidget(self.image, 3)
        left_column.addWidget(self.plate)
        left_column.addLayout(self.facts)
        left_column.addStretch(1)

        self.card = QWidget()
        self.card.setObjectName("panel")
        self.headline = label(role="headline")
        self.amount = label(role="amount")
        self.qr = QLabel()
        self.qr.setObjectName("qr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = label(role="big")
        card_column = QVBoxLayout(self.card)
        card_column.addStretch(1)
        for widget in (self.headline, self.amount, self.qr, self.detail):
            card_column.addWidget(widget)
        card_column.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 8, 8, 8)
        row.addWidget(left, 1)
        row.addWidget(self.card, 1)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        self.rerender()   # the photo and the QR code follow the screen size

    def has_qr(self) -> bool:
        pixmap = self.qr.pixmap()
        return self.qr.isVisibleTo(self) and pixmap is not None and not pixmap.isNull()

    def visible_text(self) -> str:
        widgets = [self.lane, self.plate, self.headline, self.amount, self.detail]
        widgets += [w for pair in self._fact_labels for w in pair]
        return "\n".join(w.text() for w in widgets if w.isVisibleTo(self) and w.text())

    def render(self, view: ParkingView) -> None:
        self._view = view
        t = self._tr
        role = CARD_ROLE.get(view.phase, "panel")
        set_role(self.card, role)
        side = t.t("parking.entry" if view.direction == "entry" else "parking.exit")
        lane = view.lane_name or (t.t("parking.lane", lane=view.lane_id) if view.lane_id else "")
        self.lane.setText(f"{side} · {lane}" if lane else side)
        self._render_plate(view)
        self._render_facts(view)
        headline, amount, detail = self._card_texts(view)
        for widget, text in ((self.headline, headline), (self.amount, amount), (self.detail, detail)):
            widget.setText(text)
            widget.setVisible(bool(text))
        if view.phase == "exit_quote" and view.qr_text:
            side_px = max(96, min(self.card.width() - 32, self.card.height() // 2))
            self.qr.setPixmap(qr_pixmap(view.qr_text, side_px))
            self.qr.show()
        else:
            self.qr.clear()
            self.qr.hide()

    def _render_plate(self, view: ParkingView) -> None:
        t = self._tr
        self.plate.setText(view.plate or "")
        self.plate.setVisible(bool(view.plate))
        colour = PLATE_COLOURS.get(view.plate_colour or "")
        self.plate.setStyleSheet(f"background: {colour}; border-radius: 6px;" if colour else "")
        path = view.image_ref if view.image_ref and os.path.isfile(view.image_ref) else None
        set_scaled_image(self.image, path, self.image.width(), self.image.height(),
                         t.t("parking.no_image") if view.plate else "")

    def _render_facts(self, view: ParkingView) -> None:
        t = self._tr
        facts: list[tuple[str, str]] = []
        if view.entered_at:
            facts.append((t.t("parking.entered_at"), t.datetime(view.entered_at)))
        if view.duration_s is not None:
            facts.append((t.t("parking.duration"), t.duration(view.duration_s)))
        if view.fee_fen is not None:
            facts.append((t.t("parking.fee"), t.money(view.fee_fen)))
        if view.fee_reason:            # e.g. no entry record: the car park's fallback fee
            facts.append((t.t("parking.why_fee"), t.t(f"parking.fee_reason.{view.fee_reason}")))
        if view.pay_kind:
            facts.append((t.t("parking.how"), t.t(f"pay_short.{view.pay_kind}")))
        for index, (name, value) in enumerate(self._fact_labels):
            text = facts[index] if index < len(facts) else ("", "")
            name.setText(text[0])
            value.setText(text[1])
            name.setVisible(bool(text[0]))
            value.setVisible(bool(text[1]))

    def _card_texts(self, view: ParkingView) -> tuple[str, str, str]:
        t = self._tr
        own_words = t.pick(view.message_zh, view.message_en)
        outcome = view.outcome
        reason = t.reason(outcome.reason if outcome else None, view.message_zh, view.message_en)
        fee = t.money(view.fee_fen) if view.fee_fen is not None else ""
        kind = t.t(f"pay_kind.{view.pay_kind}") if view.pay_kind else ""
        paid_detail = kind or own_words
        if view.phase == "exit_paid" and outcome is not None and outcome.discount_fen:
            # a campaign took part: the big amount is what the driver paid, the line says the fee and the discount
            fee = t.money(outcome.paid_fen)
            paid_detail = "\n".join(x for x in (t.t("parking.discount", fee=t.money(outcome.price_fen),
                                                     discount=t.money(outcome.discount_fen)), kind) if x)
        return {
            "idle": (t.t("parking.idle"), "", own_words),
            "entry_open": (t.t("parking.entry_open"), "", own_words),
            "entry_refused": (t.t("parking.entry_refused"), "", reason),
            "exit_quote": (t.t("parking.scan_qr") if view.qr_text else t.t("parking.fee"), fee,
                           t.t(scan_hint(view.qr_text))),
            "exit_paid": (t.t("parking.paid"), fee, paid_detail),
            "exit_free": (t.t("parking.free"), "", kind or own_words),
            "exit_refused": (t.t("parking.refused"), "", reason),
            "barrier_opening": (t.t("parking.barrier"), "", kind or own_words),
        }[view.phase]


# Which apps can pay a lane's QR code, by the channel that made it (its published code URL): the
# screen names them instead of promising an app that cannot pay this code.
QR_APPS = (("weixin://", "parking.scan_with.wechat"), ("https://qr.alipay.com/", "parking.scan_with.alipay"),
           ("https://qr.95516.com/", "parking.scan_with.unionpay"))


def scan_hint(qr_text: str | None) -> str:
    if is_aggregate_qr(qr_text):               # the backend's aggregate QR: every app it offers can pay
        return "parking.scan_with.any"
    return next((key for prefix, key in QR_APPS if (qr_text or "").startswith(prefix)), "parking.or_paycode")
