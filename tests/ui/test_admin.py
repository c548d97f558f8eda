"""Admin screens behind the PIN, driven against a real TerminalCore (real store file, real PIN
hash, real refunds queued in its outbox)."""
from __future__ import annotations

from hardware.events import FaceMatched
from terminal.app import TerminalCore
from core.clock import ManualClock
from tests.terminal.helpers import PIN
from tests.ui.helpers import enter_pin, unlock


def _pay(core: TerminalCore, clock: ManualClock, customer_id: int = 101):  # noqa: ANN202
    outcome = core.handle_event(FaceMatched(customer_id=customer_id, distance=0.3, margin=0.2,
                                            liveness="passed", at=clock.now()))
    assert outcome is not None and outcome.status == "approved"
    return outcome


def test_wrong_pin_is_refused_and_says_how_many_tries_are_left(qtbot, kiosk) -> None:  # noqa: ANN001
    enter_pin(qtbot, kiosk, "1111")
    qtbot.waitUntil(lambda: kiosk.pin.error.text() != "")
    assert kiosk.pin.error.text() == "密码不正确，还可以再试 4 次"
    kiosk.tr.set_language("en")
    assert kiosk.pin.error.text() == "Wrong PIN: 4 tries left before the screen locks"
    kiosk.tr.set_language("zh_CN")
    assert kiosk.stack.currentWidget() is kiosk.pin
    assert kiosk.pin.dots.text() == ""          # the wrong digits are gone
    kiosk.pin.back.click()
    assert kiosk.stack.currentWidget() is kiosk.screen_widget


def test_payments_today_with_search(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    _pay(core, clock, 101)
    unlock(qtbot, kiosk)
    rows = kiosk.admin.payments
    assert rows.rowCount() == 1
    assert [rows.item(0, c).text() for c in (0, 2, 3, 4)] == ["12:00:00", "¥12.00", "刷脸", "待上传"]
    kiosk.admin.search.setText("card")
    kiosk.admin.search_button.click()
    qtbot.waitUntil(lambda: kiosk.admin.payments.rowCount() == 0)
    kiosk.admin.search.setText("face")
    kiosk.admin.search_button.click()
    qtbot.waitUntil(lambda: kiosk.admin.payments.rowCount() == 1)


def test_refund_with_reason_goes_through_the_core_and_shows_the_result(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    paid = _pay(core, clock)
    unlock(qtbot, kiosk)
    admin = kiosk.admin
    admin.payments.selectRow(0)
    admin.refund_button.click()
    assert admin.result.text() == "请填写原因"                  # no reason, no refund
    admin.reason.setText("少打一份菜")
    admin.refund_amount.setText("99")
    admin.refund_button.click()
    assert "不超过原金额 ¥12.00" in admin.result.text()
    admin.refund_amount.setText("2")
    admin.refund_button.click()
    qtbot.waitUntil(lambda: admin.result.text().startswith("已退款"))
    assert admin.result.text() == "已退款 ¥2.00"
    qtbot.waitUntil(lambda: "(-¥2.00)" in admin.payments.item(0, 2).text())
    [row] = core.list_payments()
    assert row.payment_id == paid.payment_id and row.refunded_fen == 200
    assert [e.action for e in core.store.audit.entries(action="refund")] == ["refund"]


def test_void_takes_back_what_is_left(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    _pay(core, clock)
    unlock(qtbot, kiosk)
    admin = kiosk.admin
    admin.payments.selectRow(0)
    admin.reason.setText("收错人")
    admin.void_button.click()
    qtbot.waitUntil(lambda: admin.result.text().startswith("已撤销"))
    qtbot.waitUntil(lambda: admin.payments.item(0, 4).text() == "已撤销")


def test_offline_queue_sync_status_and_shift_close(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    _pay(core, clock, 101)
    unlock(qtbot, kiosk)
    admin = kiosk.admin
    assert admin.queue.rowCount() == 1 and admin.queue.item(0, 4).text() == "待上传"
    admin.sync_button.click()                      # no backend configured: the status says so
    qtbot.waitUntil(lambda: "待上传 1 笔" in admin.sync_detail.text())
    clock.advance(60)
    admin.shift_button.click()                     # first the running totals, and a request to confirm
    qtbot.waitUntil(lambda: "本班至今（尚未交班）" in admin.shift_text.text())
    text = admin.shift_text.text()
    assert "刷脸：1 笔，¥12.00" in text and "合计：1 笔，¥12.00" in text and "请按“确认交班”" in text
    assert admin.shift_button.text() == "确认交班"
    assert core.store.get_meta("shift_opened_at") is None          # nothing closed yet
    assert not core.store.audit.entries(action="close_shift")
    admin.shift_button.click()                     # confirmed: closed
    qtbot.waitUntil(lambda: "本班至今" not in admin.shift_text.text() and "合计" in admin.shift_text.text())
    text = admin.shift_text.text()
    assert "刷脸：1 笔，¥12.00" in text and "合计：1 笔，¥12.00" in text and "尚未上传 1 笔" in text
    assert admin.shift_button.text() == "交班结账" and core.store.audit.entries(action="close_shift")


def test_leaving_admin_forgets_the_pin(qtbot, kiosk) -> None:  # noqa: ANN001
    unlock(qtbot, kiosk)
    kiosk.admin.leave_button.click()
    assert kiosk.stack.currentWidget() is kiosk.screen_widget
    assert kiosk.admin._pin == ""   # noqa: SLF001 - the PIN must not outlive the session


def test_after_five_wrong_pins_the_screen_says_when_to_try_again(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    for attempt in range(5):
        enter_pin(qtbot, kiosk, "1111")
        qtbot.waitUntil(lambda: kiosk.pin.error.text() != "" and kiosk.bridge.idle())
        if attempt < 3:
            assert kiosk.pin.error.text() == f"密码不正确，还可以再试 {4 - attempt} 次"
        if attempt == 3:
            assert kiosk.pin.error.text() == "密码不正确，还可以再试 1 次，再错将锁定"
        if attempt < 4:
            kiosk.pin.back.click()
    until = core.pin_locked_until()
    assert until is not None
    shown = until.astimezone(kiosk.tr.zone).strftime("%H:%M")
    assert kiosk.pin.error.text() == f"密码错误次数过多，已锁定，请在 {shown} 后重试"
    kiosk.tr.set_language("en")
    assert kiosk.pin.error.text() == f"Too many wrong PINs: locked, try again at {shown}"
    kiosk.tr.set_language("zh_CN")
    kiosk.pin.back.click()
    # Even the right PIN is refused while locked; after the minute it works again.
    unlock_attempt = PIN
    enter_pin(qtbot, kiosk, unlock_attempt)
    qtbot.waitUntil(kiosk.bridge.idle)
    assert kiosk.stack.currentWidget() is kiosk.pin and "已锁定" in kiosk.pin.error.text()
    kiosk.pin.back.click()
    clock.advance(61)
    assert core.pin_locked_until() is None
    unlock(qtbot, kiosk)
