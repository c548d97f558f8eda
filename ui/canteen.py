"""The canteen gate screen: camera preview on the left, what the diner needs to know on the right.

It renders one CanteenView at a time (idle, recognising, paid, declined, already paid, closed) and
keeps the last one, so a language switch can render it again. Face, pay code and card payments
end in the same PaymentOutcome and so look the same, apart from the method line.
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from terminal.state import CanteenView, PaymentOutcome
from ui.digits_screen import DigitsScreen
from ui.i18n import Translator
from ui.widgets import CameraPreview, ViewScreen, label, set_role

CARD_ROLE = {"paid": "ok_card", "declined": "bad_card", "already_paid": "warn_card"}


class CanteenScreen(ViewScreen):
    def __init__(self, tr: Translator, parent: QWidget | None = None):
        super().__init__(tr, parent)
        self.preview = CameraPreview()
        self.card = QWidget()
        self.card.setObjectName("panel")
        self.headline = label(role="headline")
        self.name = label(role="title")
        self.amount = label(role="amount")
        self.detail = label(role="big")
        self.hint = label(role="muted")
        column = QVBoxLayout(self.card)
        column.addStretch(1)
        for widget in (self.headline, self.name, self.amount, self.detail, self.hint):
            column.addWidget(widget)
        column.addStretch(1)
        self.digits = DigitsScreen(tr)      # phase "confirm": the 4-digit check for a close call
        self.right = QStackedWidget()
        self.right.addWidget(self.card)
        self.right.addWidget(self.digits)
        # A coupon given with this payment (issue 17), under the camera: the card beside it is full.
        self.offer = label(role="offer")
        self.offer.hide()
        self.left = QWidget()
        left_column = QVBoxLayout(self.left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.preview, 1)
        left_column.addWidget(self.offer)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 8, 8, 8)
        row.addWidget(self.left, 3)
        row.addWidget(self.right, 2)
        self.camera = True

    def set_camera(self, present: bool) -> None:
        """No face camera on this terminal: no face oval and no "look at the camera"; the diner
        is asked for a pay code or a card instead."""
        self.camera = present
        self.preview.setVisible(present)
        self.left.setVisible(present)
        self.rerender()

    def render(self, view: CanteenView) -> None:
        self._view = view
        if view.phase == "confirm" and view.confirm is not None:
            self.digits.show_state(view.confirm)
            self.right.setCurrentWidget(self.digits)
            self._show_offer("")
            return
        self.digits.show_state(None)
        self.right.setCurrentWidget(self.card)
        # An outcome phase without its outcome is a core bug: show the idle screen, not a crash.
        phase = "idle" if view.phase in CARD_ROLE and view.outcome is None else view.phase
        role = CARD_ROLE.get(phase, "panel")
        set_role(self.card, role)
        texts = {
            "idle": self._idle, "recognising": self._recognising, "paid": self._paid,
            "declined": self._declined, "already_paid": self._already_paid, "closed": self._closed,
        }[phase](view)
        for widget, text in zip((self.headline, self.name, self.amount, self.detail, self.hint), texts):
            widget.setText(text)
            widget.setVisible(bool(text))
        self._show_offer(self._offer(view) if phase == "paid" else "")

    def _show_offer(self, text: str) -> None:
        self.offer.setText(text)
        self.offer.setVisible(bool(text))
        self.left.setVisible(self.camera or bool(text))

    def visible_text(self) -> str:
        """Everything a person can read on this screen right now (tests and screen readers)."""
        if self.right.currentWidget() is self.digits:
            parts = (self.digits.title, self.digits.entry, self.digits.error)
            return "\n".join(w.text() for w in parts if w.text())
        parts = (self.headline, self.name, self.amount, self.detail, self.hint, self.offer)
        return "\n".join(w.text() for w in parts if w.isVisibleTo(self) and w.text())

    # --- one function per phase: (headline, name, amount, detail, hint) -----------------------

    def _price_lines(self, view: CanteenView) -> tuple[str, str]:
        t, period = self._tr, view.meal_period
        if period is None:
            return "", t.t("canteen.no_period")
        name = t.pick(period.name_zh, period.name_en)
        if period.price_fen is not None:
            return t.money(period.price_fen), name
        if view.keyed_amount_fen is not None:
            return t.money(view.keyed_amount_fen), name
        return "", f"{name}\n{t.t('canteen.key_wait')}"

    def _idle(self, view: CanteenView) -> tuple[str, ...]:
        amount, period = self._price_lines(view)
        if not self.camera:
            return self._tr.t("canteen.code_or_card"), period, amount, "", ""
        return self._tr.t("canteen.look"), period, amount, "", self._tr.t("canteen.or_other")

    def _recognising(self, view: CanteenView) -> tuple[str, ...]:
        prompt = self._tr.prompt(view.prompt)
        amount, _ = self._price_lines(view)
        return prompt or self._tr.t("canteen.recognising"), "", amount, "", \
            self._tr.t("canteen.recognising") if prompt else ""

    def _paid(self, view: CanteenView) -> tuple[str, ...]:
        t, o = self._tr, self._outcome(view)
        lines = [self._discount_line(o)] if o.discount_fen else []
        if o.subsidy_fen:
            lines.append(t.t("canteen.subsidy_part", amount=t.money(o.subsidy_fen)))
        if o.own_fen:
            lines.append(t.t("canteen.own_part", amount=t.money(o.own_fen)))
        balances = []
        if o.subsidy_balance_fen is not None:
            balances.append(t.t("canteen.subsidy_left", amount=t.money(o.subsidy_balance_fen)))
        if o.wallet_balance_fen is not None:
            balances.append(t.t("canteen.wallet_left", amount=t.money(o.wallet_balance_fen)))
        if balances:
            lines.extend(balances)
        hint = t.t("canteen.paid_offline") if o.offline else t.t("canteen.by", method=t.method(o.method))
        return t.t("canteen.paid"), o.masked_name or "", t.money(o.paid_fen), "\n".join(lines), hint

    def _discount_line(self, o: PaymentOutcome) -> str:
        """The price and what a campaign took off; the big amount above is what was paid."""
        t = self._tr
        return t.t("canteen.discount", price=t.money(o.price_fen), discount=t.money(o.discount_fen))

    def _offer(self, view: CanteenView) -> str:
        """A coupon the backend gave with this payment: its title and until when it is good."""
        offer = view.outcome.offer if view.outcome else None
        if offer is None:
            return ""
        t = self._tr
        text = t.t("canteen.offer", title=t.pick(offer.title_zh, offer.title_en))
        if offer.expires_at is not None:
            text += "\n" + t.t("canteen.offer_until", date=t.date(offer.expires_at))
        return text

    def _declined(self, view: CanteenView) -> tuple[str, ...]:
        t, o = self._tr, self._outcome(view)
        return (t.t("canteen.declined"), o.masked_name or "", "",
                t.reason(o.reason, o.message_zh, o.message_en), t.t("canteen.by", method=t.method(o.method)))

    def _already_paid(self, view: CanteenView) -> tuple[str, ...]:
        t, o = self._tr, self._outcome(view)
        when = o.paid_at or o.at
        return (t.t("canteen.already"), o.masked_name or "", t.money(o.paid_fen),
                t.t("canteen.already_at", time=t.time(when, seconds=False)), "")

    def _closed(self, view: CanteenView) -> tuple[str, ...]:
        t = self._tr
        opens = ""
        if view.next_period is not None and view.opens_at is not None:
            meal = t.pick(view.next_period.name_zh, view.next_period.name_en)
            opens = t.t("canteen.opens_at", meal=meal, time=t.time(view.opens_at, seconds=False))
        return t.t("canteen.closed"), "", "", opens, ""

    @staticmethod
    def _outcome(view: CanteenView) -> PaymentOutcome:
        assert view.outcome is not None   # render() routes outcome-less views to idle
        return view.outcome
